// The single-instance lock: a small SQLite file that the daemon opens with
// `locking_mode=EXCLUSIVE` and writes once, so it holds SQLite's exclusive file lock until
// its connection closes. SQLite's default unix VFS uses POSIX advisory (fcntl) locks,
// which the kernel releases when the process dies in any way, SIGKILL included. A dead
// daemon therefore never blocks a new one, and no PID is trusted.
import fs from 'node:fs';
import path from 'node:path';

import { openSqlite, type SqliteDatabase } from '../store/sqlite.js';
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
  const db = openSqlite(file, { timeout: waitMs });
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
  let db: SqliteDatabase;
  try {
    db = openSqlite(file, { readonly: true, fileMustExist: true, timeout: 0 });
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

/**
 * Marker that ensureDaemon writes after it spawned a daemon, containing the child's pid. It
 * covers the time between the spawn and the moment the child holds the lock (0.3 to 1 s on
 * a busy machine). In that time the lock alone shows no daemon, and `stepper daemon stop`
 * and `status` would miss the daemon that is about to run.
 */
export const STARTING_FILE = 'daemon.starting';

/**
 * Age after which a marker is ignored, in milliseconds. Spawned daemons usually take the lock or
 * exit within a second or two, and a daemon that waits for a leaving holder refreshes its
 * marker on each attempt. The bound keeps a marker left by a killed starter from making a
 * later process that reuses its pid look like a starting daemon for longer than this.
 */
export const STARTING_MARKER_MAX_AGE_MS = 30_000;

/**
 * Writes the starting marker for `pid`, mode 0600, through a temporary file and a rename,
 * so a reader never sees a partial pid.
 */
export function writeStartingMarker(dataDir: string, pid: number): void {
  const file = path.join(dataDir, STARTING_FILE);
  const temporary = `${file}.${Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(temporary, `${pid}\n`, { mode: 0o600, flag: 'wx' });
    fs.renameSync(temporary, file);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * Returns the pid in the starting marker when that process is alive and the marker is
 * younger than STARTING_MARKER_MAX_AGE_MS, else undefined. A stale marker stays in place,
 * because the next spawn replaces it.
 */
export function readStartingMarker(dataDir: string, now = Date.now()): number | undefined {
  const pid = readMarkerPid(dataDir);
  if (pid === undefined) {
    return undefined;
  }

  try {
    if (now - fs.statSync(path.join(dataDir, STARTING_FILE)).mtimeMs > STARTING_MARKER_MAX_AGE_MS) {
      return undefined;
    }
  } catch {
    return undefined;
  }

  return isProcessAlive(pid) ? pid : undefined;
}

/** Removes the starting marker when it contains `pid`, so a marker of a later spawn stays. */
export function removeStartingMarker(dataDir: string, pid: number): void {
  // NOTE: a spawn that replaces the marker between this read and the unlink loses its
  // marker, so in that rare case stop and status miss its daemon until it holds the lock.
  if (readMarkerPid(dataDir) === pid) {
    fs.rmSync(path.join(dataDir, STARTING_FILE), { force: true });
  }
}

/** Sets the marker's modification time to now when it contains `pid`, so it does not age out while its daemon waits for the lock. */
export function refreshStartingMarker(dataDir: string, pid: number): void {
  if (readMarkerPid(dataDir) === pid) {
    const now = new Date();
    try {
      fs.utimesSync(path.join(dataDir, STARTING_FILE), now, now);
    } catch (error) {
      // A marker removed or replaced since the read needs no refresh.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw error;
      }
    }
  }
}

function readMarkerPid(dataDir: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dataDir, STARTING_FILE), 'utf8');
  } catch {
    return undefined;
  }

  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Returns true when a process with `pid` runs, including one of another user (EPERM). A
 * process that has exited but is not reaped yet, which signal 0 still reaches, counts as dead.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    return false;
  }

  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }

  return !isZombie(pid);
}

/**
 * Tells whether `pid` has exited but not been reaped, as a daemon killed a moment ago may be
 * while its parent, or a container's init, has not collected it. Reads /proc, so it is false
 * where /proc is missing.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The state follows the command name, which is in brackets and may itself contain spaces.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
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
