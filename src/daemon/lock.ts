// The single-instance lock: a small SQLite file that the daemon opens with
// `locking_mode=EXCLUSIVE` and writes once, so it holds SQLite's exclusive file lock until
// its connection closes. SQLite's default unix VFS uses POSIX advisory (fcntl) locks,
// which the kernel releases when the process dies in any way, SIGKILL included. A dead
// daemon therefore never blocks a new one, and no PID is trusted.
import fs from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';

import { LOCK_FILE } from './config.js';

/** A lock this process holds. Releasing it closes the connection and lets the next daemon start. */
export interface DaemonLock {
  readonly file: string;
  /** Device and inode of the lock file when it was taken, to notice a deleted or replaced file. */
  readonly identity: FileIdentity;
  release(): void;
}

export interface FileIdentity {
  dev: number;
  ino: number;
}

/** Result of a probe: `held` by a live daemon, or `free`. */
export type LockProbe = 'held' | 'free';

/**
 * Takes the lock in `dataDir`, waiting up to `waitMs` for a holder to let go. Returns
 * undefined when another process holds it past that wait.
 */
export function acquireDaemonLock(dataDir: string, waitMs: number): DaemonLock | undefined {
  const file = path.join(dataDir, LOCK_FILE);
  createPrivateFile(file);

  try {
    return tryLock(file, waitMs);
  } catch (error) {
    if (!isDamaged(error)) {
      throw error;
    }

    // Reading a live holder's file fails with BUSY, never NOTADB or CORRUPT, so no process
    // holds this one. Emptying it in place keeps its inode, so a starter that took it
    // meanwhile keeps its lock, and an empty file is a valid empty database.
    fs.truncateSync(file, 0);
    return tryLock(file, waitMs);
  }
}

function tryLock(file: string, waitMs: number): DaemonLock | undefined {
  const db = new Database(file, { timeout: waitMs });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first write takes the exclusive lock, and EXCLUSIVE locking mode keeps it after COMMIT.
    db.exec('BEGIN EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS owner (pid INTEGER NOT NULL, acquired_at INTEGER NOT NULL); DELETE FROM owner;');
    db.prepare('INSERT INTO owner (pid, acquired_at) VALUES (?, ?)').run(process.pid, Date.now());
    db.exec('COMMIT');
  } catch (error) {
    db.close();
    if (isBusy(error)) {
      return undefined;
    }

    throw error;
  }

  const stat = fs.statSync(file);
  return {
    file,
    identity: { dev: stat.dev, ino: stat.ino },
    release: () => db.close(),
  };
}

/**
 * Probes whether a daemon holds the lock in `dataDir`, without waiting and without creating

 * anything. A read needs a shared lock, which SQLite refuses at once while another
 * connection keeps its exclusive lock.
 */
export function probeDaemonLock(dataDir: string): LockProbe {
  const file = path.join(dataDir, LOCK_FILE);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: 0 });
  } catch {
    // No process can hold a missing or unreadable lock file, and the starter creates a new one.
    return 'free';
  }

  try {
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    return 'free';
  } catch (error) {
    return isBusy(error) ? 'held' : 'free';
  } finally {
    db.close();
  }
}

/** Reads the device and inode of `file`, or undefined when it does not exist. */
export function fileIdentity(file: string): FileIdentity | undefined {
  try {
    const stat = fs.statSync(file);
    return { dev: stat.dev, ino: stat.ino };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }

    throw error;
  }
}

export function sameFile(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

function isDamaged(error: unknown): boolean {
  const code = String((error as { code?: unknown }).code ?? '');
  return code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT');
}

function isBusy(error: unknown): boolean {
  const code = String((error as { code?: unknown }).code ?? '');
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

/** Creates `file` with mode 0600 when missing, before SQLite creates it with the umask's mode. */
function createPrivateFile(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw error;
    }
  }
}
