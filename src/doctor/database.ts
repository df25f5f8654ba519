import fs from 'node:fs';
import path from 'node:path';

import { DatabaseError } from '../errors.js';
import { DATABASE_FILE } from '../store/data-dir.js';
import { openDatabase, type SqliteDatabase } from '../store/database.js';
import { SCHEMA_VERSION } from '../store/migrations.js';
import { openSqlite } from '../store/sqlite.js';
import { unusableDataDir } from './data-dir.js';
import type { Check, CheckOutcome, DoctorContext } from './types.js';

export const databaseIntegrityCheck: Check = {
  id: 'database-integrity',
  title: 'database integrity',
  run: (context) => withDatabase(context, true, integrityOutcome),
};

export const databaseJournalCheck: Check = {
  id: 'database-journal',
  title: 'database journal mode',
  run: (context) => withDatabase(context, false, journalOutcome),
};

/**
 * Opens the database read-only with openDatabase, which checks that it is a stepper database
 * of this schema version (and runs `PRAGMA quick_check` when `verify` is set), then passes it
 * to `inspect`. Nothing is written, migrated or chmodded.
 */
function withDatabase(context: DoctorContext, verify: boolean, inspect: (db: SqliteDatabase, file: string) => CheckOutcome): CheckOutcome {
  const unusable = unusableDataDir(context);
  if (unusable !== undefined || context.dataDir.error) {
    return { status: 'skip', detail: unusable ?? 'the data directory is invalid, see the data directory check' };
  }

  const file = path.join(context.dataDir.path, DATABASE_FILE);
  if (!fs.existsSync(file)) {
    return { status: 'pass', detail: `${file} does not exist yet; the first report creates it` };
  }

  let db: SqliteDatabase;
  try {
    // NOTE: quick_check runs synchronously and reads every page, so the check's timeout
    // cannot interrupt it on a large database.
    db = openDatabase(file, { readonly: true, verifyIntegrity: verify, busyTimeoutMs: Math.min(context.timeoutMs, 5000) }).db;
  } catch (error) {
    if (error instanceof DatabaseError) {
      return openFailure(file, error);
    }

    throw error;
  }

  try {
    return inspect(db, file);
  } finally {
    db.close();
  }
}

function integrityOutcome(db: SqliteDatabase, file: string): CheckOutcome {
  const version = db.pragma('user_version', { simple: true }) as number;
  return { status: 'pass', detail: `${file}: quick_check ok, schema version ${version}` };
}

function journalOutcome(db: SqliteDatabase, file: string): CheckOutcome {
  const mode = String(db.pragma('journal_mode', { simple: true }));
  if (mode === 'wal') {
    return { status: 'pass', detail: `${file} is in WAL mode` };
  }

  // Every connection that writes switches the file to WAL, so another mode means that the last
  // writer could not, or that a program other than stepper changed it.
  return {
    status: 'warn',
    detail: `${file} has journal_mode ${mode}, not wal, so the daemon and the hook block each other`,
    fix: 'run stepper daemon start, which switches it to WAL; if the mode stays, set STEPPER_HOME to a folder on a local disk',
  };
}

/**
 * Turns the DatabaseError of a read-only open into an outcome. A database of an older schema
 * is a warning, because the next enqueue migrates it. Every other error fails with the fix
 * that openDatabase's message names.
 */
function openFailure(file: string, error: DatabaseError): CheckOutcome {
  const version = readUserVersion(file);
  if (error.code === 'DATABASE_UNAVAILABLE' && version !== undefined && version < SCHEMA_VERSION) {
    return {
      status: 'warn',
      detail: `${file} has schema version ${version}, older than this stepper's ${SCHEMA_VERSION}`,
      fix: 'run stepper daemon start (or any stepper report), which migrates it',
    };
  }

  return { status: 'fail', ...splitFix(error.message, file) };
}

/** Reads `user_version` through a read-only connection, or undefined when the file cannot be read as a database. */
function readUserVersion(file: string): number | undefined {
  try {
    const db = openSqlite(file, { readonly: true, fileMustExist: true, timeout: 1000 });
    try {
      return db.pragma('user_version', { simple: true }) as number;
    } finally {
      db.close();
    }
  } catch {
    return undefined;
  }
}

/**
 * Splits a DatabaseError message of the form `<problem with FILE (detail)>: <fix>` at the first
 * ": " after the file name that is outside parentheses, because the SQLite detail in
 * parentheses may contain ": " itself. Returns the whole message as the detail when there is none.
 */
export function splitFix(message: string, file: string): { detail: string; fix?: string } {
  const start = message.indexOf(file);
  let depth = 0;
  for (let index = start < 0 ? 0 : start + file.length; index < message.length - 1; index += 1) {
    const char = message[index];
    if (char === '(') {
      depth += 1;
    } else if (char === ')') {
      depth = Math.max(0, depth - 1);
    } else if (depth === 0 && char === ':' && message[index + 1] === ' ') {
      return { detail: message.slice(0, index), fix: message.slice(index + 2) };
    }
  }

  return { detail: message };
}
