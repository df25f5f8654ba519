import fs from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';

import { DatabaseError, StepperError } from '../errors.js';
import { detectNetworkFilesystem } from './filesystem.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

export type SqliteDatabase = Database.Database;

export interface OpenDatabaseOptions {
  /**
   * How long a statement waits for another process's write lock, in milliseconds.
   * Keep it well under any lease, because better-sqlite3 blocks the event loop while it waits.
   * @default 5000
   */
  busyTimeoutMs?: number;
  /** Open without writing anything: no migration, no pragma changes. @default false */
  readonly?: boolean;
  /** Run `PRAGMA quick_check` after opening, which reads every page. @default false */
  verifyIntegrity?: boolean;
}

export interface OpenedDatabase {
  db: SqliteDatabase;
  /** Conditions that allow work but deserve the user's attention, such as a network filesystem. */
  warnings: string[];
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/** Bounds the WAL file left after a checkpoint; the 1,000-page auto-checkpoint bounds it while running. */
const JOURNAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

// SQLite reports `synchronous` as a number: 2 is FULL.
const SYNCHRONOUS_FULL = 2;

/**
 * Opens the stepper database at `file`, creating it with mode 0600 when missing,
 * switches it to WAL with `synchronous=FULL`, and migrates an older schema.
 * Every failure is a DatabaseError that names the file and the fix, and a
 * database written by a newer stepper is left untouched.
 */
export function openDatabase(file: string, options: OpenDatabaseOptions = {}): OpenedDatabase {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  const readonly = options.readonly ?? false;
  const warnings: string[] = [];

  if (!readonly) {
    createOwnerOnlyFile(file);
  }

  let db: SqliteDatabase;
  try {
    db = new Database(file, { timeout: busyTimeoutMs, readonly, fileMustExist: readonly });
  } catch (error) {
    throw translateSqliteError(file, error);
  }

  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw schemaTooNewError(file, version);
    }

    if (options.verifyIntegrity) {
      checkIntegrity(db, file);
    }

    if (readonly) {
      if (version < SCHEMA_VERSION) {
        throw new DatabaseError(
          'DATABASE_UNAVAILABLE',
          file,
          `database ${file} has schema version ${version}, older than this stepper's ${SCHEMA_VERSION}: ` +
            'run any command that enqueues, such as `stepper report`, to migrate it',
        );
      }

      return { db, warnings };
    }

    configureWal(db, file, warnings);
    migrate(db, file);
    return { db, warnings };
  } catch (error) {
    db.close();
    throw translateSqliteError(file, error);
  }
}

/**
 * Creates the database file before SQLite does, so that it is 0600 from the start; SQLite
 * gives the -wal and -shm files the same mode. An existing file only loses group and
 * other bits, so a file its owner made read-only stays read-only.
 */
function createOwnerOnlyFile(file: string): void {
  try {
    // NOTE: only a file this process creates is opened here. Opening and closing an fd on a
    // database another connection in this process holds would drop its POSIX locks.
    if (!fs.existsSync(file)) {
      fs.closeSync(fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o600));
      return;
    }

    const mode = fs.statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      fs.chmodSync(file, mode & 0o700);
    }

    matchSidecarModes(file, mode & 0o700);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      return;
    }

    // A file we cannot chmod (another owner) is still usable; SQLite reports what it cannot do.
    if (code === 'EPERM' && fs.existsSync(file)) {
      return;
    }

    throw translateSqliteError(file, error);
  }
}

/**
 * Gives leftover -wal and -shm files the database file's mode. SQLite creates them with the
 * mode the database file had, so a read-only open leaves read-only ones behind, and those
 * would keep the database read-only after its owner made the file writable again.
 */
function matchSidecarModes(file: string, mode: number): void {
  for (const sidecar of [`${file}-wal`, `${file}-shm`]) {
    let current: number;
    try {
      current = fs.statSync(sidecar).mode & 0o777;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        continue;
      }

      throw error;
    }

    if (current !== mode) {
      fs.chmodSync(sidecar, mode);
    }
  }
}

function configureWal(db: SqliteDatabase, file: string, warnings: string[]): void {
  const network = detectNetworkFilesystem(path.dirname(file));
  if (network) {
    warnings.push(
      `database ${file} is on a ${network} filesystem, where SQLite's WAL locking is unreliable: ` +
        'set STEPPER_HOME to a folder on a local disk',
    );
  }

  const mode = db.pragma('journal_mode = WAL', { simple: true });
  if (mode !== 'wal') {
    throw new DatabaseError(
      'WAL_UNAVAILABLE',
      file,
      `cannot switch database ${file} to WAL mode (journal_mode is ${String(mode)}); ` +
        'the filesystem may not support shared memory: set STEPPER_HOME to a folder on a local disk',
    );
  }

  // FULL syncs the WAL on every commit, so an acknowledged job survives power loss, not
  // only a crash. better-sqlite3 builds default WAL databases to NORMAL.
  db.pragma('synchronous = FULL');
  const synchronous = db.pragma('synchronous', { simple: true });
  if (synchronous !== SYNCHRONOUS_FULL) {
    warnings.push(`database ${file} did not accept synchronous=FULL (it reports ${String(synchronous)})`);
  }

  db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
  db.pragma('foreign_keys = ON');
}

/**
 * Applies the missing migrations in one IMMEDIATE transaction. The version is read again
 * under the write lock, so when several processes open a new file at once exactly one
 * migrates and the others find the work done.
 */
function migrate(db: SqliteDatabase, file: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current === SCHEMA_VERSION) {
    return;
  }

  const apply = db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw schemaTooNewError(file, version);
    }

    for (let next = version; next < SCHEMA_VERSION; next++) {
      db.exec(MIGRATIONS[next] as string);
    }

    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  });

  apply.immediate();
}

function checkIntegrity(db: SqliteDatabase, file: string): void {
  const rows = db.pragma('quick_check(5)') as Array<{ quick_check: string }>;
  const problems = rows.map((row) => row.quick_check).filter((line) => line !== 'ok');
  if (problems.length > 0) {
    throw corruptError(file, problems.join('; '));
  }
}

function schemaTooNewError(file: string, version: number): DatabaseError {
  return new DatabaseError(
    'SCHEMA_TOO_NEW',
    file,
    `database ${file} has schema version ${version}, newer than this stepper's ${SCHEMA_VERSION}: ` +
      'upgrade stepper to the version that wrote it, or newer; the file was left untouched',
  );
}

function corruptError(file: string, detail: string, cause?: unknown): DatabaseError {
  return new DatabaseError(
    'DATABASE_CORRUPT',
    file,
    `database ${file} is corrupted (${detail}): move it aside with \`mv "${file}" "${file}.corrupt"\`; ` +
      'stepper creates a new one, and jobs enqueued meanwhile wait in the spool folder',
    { cause },
  );
}

/**
 * Turns a better-sqlite3 or file-system error about `file` into a DatabaseError whose
 * message names the file and the fix. StepperErrors pass through, and errors that come
 * from neither SQLite nor the file system are programming errors, rethrown unchanged.
 */
export function translateSqliteError(file: string, error: unknown): StepperError {
  if (error instanceof StepperError) {
    return error;
  }

  const code = String((error as { code?: unknown }).code ?? '');
  const detail = error instanceof Error ? error.message : String(error);

  if (code === 'SQLITE_NOTADB') {
    return new DatabaseError(
      'DATABASE_NOT_SQLITE',
      file,
      `${file} is not a SQLite database (${detail}): move it aside with \`mv "${file}" "${file}.bad"\` ` +
        'and stepper creates a new one; the file was left untouched',
      { cause: error },
    );
  }

  if (code.startsWith('SQLITE_CORRUPT')) {
    return corruptError(file, detail, error);
  }

  if (code.startsWith('SQLITE_READONLY') || code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new DatabaseError(
      'DATABASE_READONLY',
      file,
      `database ${file} is read-only (${detail}): make the file, its -wal and -shm files and its folder writable by your user, ` +
        'or set STEPPER_HOME to a writable folder',
      { cause: error },
    );
  }

  if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
    return new DatabaseError(
      'DATABASE_FULL',
      file,
      `database ${file} is full (${detail}): free disk space on its filesystem; jobs already stored are kept`,
      { cause: error },
    );
  }

  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new DatabaseError(
      'DATABASE_BUSY',
      file,
      `database ${file} stayed locked by another process past the busy timeout (${detail}): try again`,
      { cause: error },
    );
  }

  if (code.startsWith('SQLITE_CANTOPEN') || code === 'ENOENT' || code === 'ENOTDIR') {
    return new DatabaseError(
      'DATABASE_UNAVAILABLE',
      file,
      `cannot open database ${file} (${detail}): check that its folder exists and is writable, or set STEPPER_HOME`,
      { cause: error },
    );
  }

  if (code.startsWith('SQLITE_')) {
    return new DatabaseError('DATABASE_UNAVAILABLE', file, `database ${file} failed: ${detail} (${code})`, {
      cause: error,
    });
  }

  throw error;
}
