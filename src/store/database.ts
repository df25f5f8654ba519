import fs from 'node:fs';
import path from 'node:path';

import { DatabaseError, StepperError, checkPositiveInteger } from '../errors.js';
import { detectNetworkFilesystem } from './filesystem.js';
import { openSqlite, type SqliteDatabase, type SqliteOptions } from './sqlite.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations.js';

export type { SqliteDatabase };

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
  /**
   * Memory this connection's page cache may take, in KiB (SQLite's `cache_size`). The cache
   * fills up to it as more pages are read, so a long-running process stays smaller with
   * less. @default 16000, better-sqlite3's build setting
   */
  pageCacheKiB?: number;
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
  const busyTimeoutMs = checkPositiveInteger('busyTimeoutMs', options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS, 0);
  const readonly = options.readonly ?? false;
  const pageCacheKiB = options.pageCacheKiB === undefined ? undefined : checkPositiveInteger('pageCacheKiB', options.pageCacheKiB);
  const warnings: string[] = [];

  if (!readonly) {
    createIfMissing(file);
  }

  // A file whose header already says it is this stepper's database (or a file created just
  // now) opens directly. Any other file is identified through a read-only connection
  // first: one that closes never checkpoints or deletes a -wal, so a foreign, damaged or
  // newer file keeps its -wal as it was.
  const known = !readonly && !options.verifyIntegrity && isCurrentStepperFile(file);
  if (!known) {
    const probe = openConnection(file, { timeout: busyTimeoutMs, readonly: true, fileMustExist: true });
    try {
      checkIdentity(probe, file, options.verifyIntegrity ?? false, readonly);
    } catch (error) {
      probe.close();
      throw translateSqliteError(file, error);
    }

    if (readonly) {
      setPageCache(probe, pageCacheKiB);
      return { db: track(file, probe), warnings };
    }

    probe.close();
  }

  // Modes change only now, on a file that proved to be a stepper database or a new one.
  tightenModes(file);
  const db = openConnection(file, { timeout: busyTimeoutMs });
  try {
    initialize(db, file, warnings, busyTimeoutMs);
    setPageCache(db, pageCacheKiB);
    return { db: track(file, db), warnings };
  } catch (error) {
    db.close();
    throw translateSqliteError(file, error);
  }
}

function setPageCache(db: SqliteDatabase, pageCacheKiB: number | undefined): void {
  if (pageCacheKiB !== undefined) {
    // A negative cache_size is a size in KiB, and a positive one a number of pages.
    db.pragma(`cache_size = -${pageCacheKiB}`);
  }
}

/**
 * Switches to WAL and migrates, retrying while another process does the same. On a new
 * file SQLite can return SQLITE_BUSY at once, without waiting in its busy handler, when two
 * connections would otherwise deadlock changing the journal mode or upgrading a lock.
 */
function initialize(db: SqliteDatabase, file: string, warnings: string[], busyTimeoutMs: number): void {
  const deadline = Date.now() + busyTimeoutMs;

  for (let attempt = 1; ; attempt++) {
    const attemptWarnings: string[] = [];
    try {
      configureWal(db, file, attemptWarnings);
      migrate(db, file);
      warnings.push(...attemptWarnings);
      return;
    } catch (error) {
      const code = String((error as { code?: unknown }).code ?? '');
      if (!code.startsWith('SQLITE_BUSY') || Date.now() >= deadline) {
        throw error;
      }

      sleepSync(Math.min(5 * attempt, 50));
    }
  }
}

/** Blocks the thread for `ms` milliseconds; opening is synchronous, like better-sqlite3 itself. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Connections this process opened, by file. Reading a database's header through an fd of
 * our own is safe only while none is open, because closing any fd on a database file
 * drops every POSIX lock this process holds on it.
 */
const openConnections = new Map<string, Set<SqliteDatabase>>();

function track(file: string, db: SqliteDatabase): SqliteDatabase {
  const connections = openConnections.get(file) ?? new Set<SqliteDatabase>();
  connections.add(db);
  openConnections.set(file, connections);
  return db;
}

function hasOpenConnection(file: string): boolean {
  const connections = openConnections.get(file);
  if (!connections) {
    return false;
  }

  for (const db of connections) {
    if (!db.open) {
      connections.delete(db);
    }
  }

  return connections.size > 0;
}

/** The 16 bytes every SQLite 3 database file starts with. */
const SQLITE_MAGIC = 'SQLite format 3\0';

/** Offset of `user_version` in the database header, a big-endian 32-bit integer. */
const USER_VERSION_OFFSET = 60;

/**
 * Tells from the file's first 100 bytes whether it is empty or a database of this
 * schema version. Returns false whenever it cannot tell, which sends the caller the
 * careful way.
 */
function isCurrentStepperFile(file: string): boolean {
  if (hasOpenConnection(file)) {
    return false;
  }

  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const header = Buffer.alloc(100);
    const length = fs.readSync(fd, header, 0, header.length, 0);
    if (length === 0) {
      return true;
    }

    return (
      length === header.length &&
      header.toString('latin1', 0, SQLITE_MAGIC.length) === SQLITE_MAGIC &&
      header.readUInt32BE(USER_VERSION_OFFSET) === SCHEMA_VERSION
    );
  } catch {
    return false;
  } finally {
    if (fd !== undefined) {
      fs.closeSync(fd);
    }
  }
}

function openConnection(file: string, options: SqliteOptions): SqliteDatabase {
  try {
    return openSqlite(file, options);
  } catch (error) {
    throw translateSqliteError(file, error);
  }
}

/**
 * Checks that `db` is a stepper database this build can use, or an empty file. A reader
 * needs the current schema, because it cannot migrate.
 */
function checkIdentity(db: SqliteDatabase, file: string, verifyIntegrity: boolean, reader: boolean): void {
  // One statement reads both from one snapshot. Two would race a process that creates the
  // schema in between, and a half-seen migration would look like another program's tables.
  const { version, tables } = db
    .prepare(
      `SELECT (SELECT user_version FROM pragma_user_version) AS version,
              (SELECT count(*) FROM sqlite_schema WHERE type = 'table') AS tables`,
    )
    .get() as { version: number; tables: number };
  if (version > SCHEMA_VERSION) {
    throw schemaTooNewError(file, version);
  }

  if (version === 0 && tables > 0) {
    throw foreignDatabaseError(file);
  }

  if (verifyIntegrity) {
    checkIntegrity(db, file);
  }

  // A file without tables is one that an enqueue has created and not yet migrated, or
  // whose creation stopped half way. Readers treat it like a missing file.
  if (reader && version === 0) {
    throw new DatabaseError(
      'DATABASE_EMPTY',
      file,
      `database ${file} has no stepper schema yet: the first enqueue creates it`,
    );
  }

  if (reader && version < SCHEMA_VERSION) {
    throw new DatabaseError(
      'DATABASE_UNAVAILABLE',
      file,
      `database ${file} has schema version ${version}, older than this stepper's ${SCHEMA_VERSION}: ` +
        'open it once for writing, as every enqueue does, to migrate it',
    );
  }
}

/**
 * Creates the database file before SQLite does, so that it is 0600 from the start; SQLite
 * gives the -wal and -shm files the same mode.
 */
function createIfMissing(file: string): void {
  // NOTE: only a file this process creates is opened here. Opening and closing an fd on a
  // database another connection in this process holds would drop its POSIX locks.
  if (fs.existsSync(file)) {
    return;
  }

  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw translateSqliteError(file, error);
    }
  }
}

/**
 * Removes group and other bits from an existing database, so a file its owner made
 * read-only stays read-only, and gives leftover -wal and -shm files the same mode.
 * Returns true when the mode of a -wal or -shm file changed.
 */
function tightenModes(file: string): void {
  try {
    const mode = fs.statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      fs.chmodSync(file, mode & 0o700);
    }

    matchSidecarModes(file, mode & 0o700);
  } catch (error) {
    // A file of another owner cannot be chmodded but may still be usable; SQLite reports what it cannot do.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') {
      throw error;
    }
  }
}

function foreignDatabaseError(file: string): DatabaseError {
  return new DatabaseError(
    'DATABASE_NOT_SQLITE',
    file,
    `${file} is a SQLite database that stepper did not create (it has tables but no stepper schema version): ` +
      `move it aside with ${moveAsideCommand(file, 'foreign')}, and stepper creates a new one; the file was left untouched`,
  );
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
  // Read again on this connection: a header can lag behind a WAL that a newer stepper wrote.
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw schemaTooNewError(file, current);
  }

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

/**
 * Returns a shell command that moves the database and its -wal and -shm files into one
 * folder. The WAL contains committed jobs not yet copied into the main file, so moving the
 * main file alone would lose them.
 */
function moveAsideCommand(file: string, label: string): string {
  const folder = `${file}.${label}`;
  return `\`mkdir "${folder}" && mv "${file}" "${file}-wal" "${file}-shm" "${folder}/"\` (a missing -wal or -shm file is fine)`;
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
    `database ${file} is corrupted (${detail}): stop stepper's worker, then move the file with its -wal and -shm ` +
      `files aside with ${moveAsideCommand(file, 'corrupt')}; stepper creates a new one, and jobs enqueued meanwhile wait in the spool folder`,
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
      `${file} is not a SQLite database (${detail}): move it aside with ${moveAsideCommand(file, 'bad')}, ` +
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
