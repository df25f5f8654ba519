// Starting, finding and stopping the daemon from other processes. This module is on the
// git hook's path, so it loads only better-sqlite3 and node's own modules.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { checkDataDir } from '../errors.js';
import { DATABASE_FILE, ensureDataDir, resolveDataDir } from '../store/data-dir.js';
import type { SqliteDatabase } from '../store/database.js';
import { VERSION } from '../version.js';
import { CRASH_LOG_FILE, LOCK_FILE, LOG_FILE } from './config.js';
import { checkDaemonEnvironment } from './environment-check.js';
import { isProcessAlive, probeDaemonLock, readStartingMarker, writeStartingMarker } from './lock.js';
import { type DaemonRow, isLeaving, readDaemonRow, readDaemonRowFromFile } from './state.js';

export { checkDaemonEnvironment };

/** The script a detached daemon runs: `node entry.js DATA_DIR`. */
export const DAEMON_ENTRY = resolveEntry();

function resolveEntry(): string {
  const sibling = fileURLToPath(new URL('./entry.js', import.meta.url));
  if (fs.existsSync(sibling)) {
    return sibling;
  }

  // Code loaded from the TypeScript sources, as in the tests, starts the compiled entry in dist/.
  return fileURLToPath(new URL('../../dist/daemon/entry.js', import.meta.url));
}

/**
 * Node options of the detached daemon, which keep its heap close to what its jobs keep alive
 * (about 13 MiB after a full garbage collection). By default V8 grows each young-generation
 * semi-space to 16 MiB and, under a heap limit of 2 GiB or more (64-bit, no pointer
 * compression), lets the old generation grow to 4 times the live heap before it collects.
 * A 1 GiB limit lowers that factor to about 1.6 (MaxGrowingFactor in V8's
 * src/heap/heap-controller.cc). Measured with bench/daemon/fast-daemon.mjs, Node 20 on 2
 * shared cores: the resident set after 1,000 / 10,000 jobs fell from 132-135 / 165-175 MiB
 * to 88-98 / 101-108 MiB. The more frequent collections cost about 0.2 ms of CPU time per
 * job (1.3-1.7 ms before), under 0.01% of a report that takes seconds.
 * NOTE: a job that needs more than 1 GiB of heap crashes the daemon, and the next daemon
 * recovers it as stalled. `stepper daemon run` keeps V8's defaults, because its heap was
 * sized when the CLI process started, unless NODE_OPTIONS sets these flags.
 */
export const DAEMON_NODE_OPTIONS: readonly string[] = ['--max-semi-space-size=1', '--max-old-space-size=1024'];

/** The crash log is emptied at the next start once it is larger than this, in bytes. */
const CRASH_LOG_MAX_BYTES = 256 * 1024;

export interface EnsureDaemonOptions {
  /** @default resolveDataDir(env) */
  dataDir?: string;
  /** Environment the daemon inherits, without its GIT_* variables. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Script node runs with the data directory as its one argument. @default DAEMON_ENTRY */
  entry?: string;
}

export interface EnsureDaemonResult {
  /** True when a new daemon process was spawned, which may still find another daemon and exit. */
  started: boolean;
  /** Pid of the running daemon, or of the spawned process. */
  pid: number | undefined;
}

/**
 * Starts a daemon for the data directory unless a live one holds the lock and is not
 * leaving, and returns without waiting for it. The daemon runs detached in its own session,
 * with DAEMON_NODE_OPTIONS, no stdin, its output in daemon.crash.log, its working folder in
 * the data directory and no GIT_* variables, so a hook's GIT_DIR cannot point its later jobs
 * at the hook's repository. Spawning when in doubt is safe: a surplus daemon finds the lock taken and exits.
 */
export function ensureDaemon(options: EnsureDaemonOptions = {}): EnsureDaemonResult {
  const env = options.env ?? process.env;
  const dataDir = options.dataDir === undefined ? resolveDataDir(env) : checkDataDir(options.dataDir);
  checkDaemonEnvironment(env);

  if (probeDaemonLock(dataDir) === 'held') {
    const row = readDaemonRowFromFile(path.join(dataDir, DATABASE_FILE));
    // A holder that is about to leave gets a successor, which waits for the lock.
    if (!row || !isLeaving(row, VERSION)) {
      return { started: false, pid: row?.pid };
    }
  }

  ensureDataDir(dataDir);
  const output = openCrashLog(dataDir);
  try {
    const child = spawn(process.execPath, [...DAEMON_NODE_OPTIONS, options.entry ?? DAEMON_ENTRY, dataDir], {
      detached: true,
      stdio: ['ignore', output, output],
      cwd: dataDir,
      env: scrubEnvironment(env),
      windowsHide: true,
    });
    // A failed spawn is reported after the caller has returned, and the next enqueue tries
    // again. The listener only keeps the error from crashing the caller.
    child.on('error', () => {});
    child.unref();
    if (child.pid !== undefined) {
      markStarting(dataDir, child.pid);
    }

    return { started: true, pid: child.pid };
  } finally {
    fs.closeSync(output);
  }
}

/**
 * Writes the starting marker, which lets `stepper daemon stop` and `status` see the child
 * before it holds the lock. A failed write only costs that, so it does not fail the caller,
 * which may be a git hook.
 */
function markStarting(dataDir: string, pid: number): void {
  try {
    writeStartingMarker(dataDir, pid);
  } catch {
    // Without the marker, stop and status see the daemon once it holds the lock.
  }
}

/** Returns a copy of `env` without the variables git sets for hooks and commands (every GIT_* name). */
export function scrubEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const scrubbed: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.toUpperCase().startsWith('GIT_')) {
      scrubbed[name] = value;
    }
  }

  return scrubbed;
}

function openCrashLog(dataDir: string): number {
  const file = path.join(dataDir, CRASH_LOG_FILE);
  try {
    if (fs.statSync(file).size > CRASH_LOG_MAX_BYTES) {
      fs.truncateSync(file, 0);
    }
  } catch {
    // A missing file is created below.
  }

  return fs.openSync(file, 'a', 0o600);
}

export interface DaemonStatus {
  dataDir: string;
  /** True while a daemon holds the lock. */
  running: boolean;
  /**
   * Pid of a daemon that ensureDaemon spawned and that has not taken the lock, or has not
   * written its row yet. Such a process may still exit without running, as a surplus daemon
   * does, and while it waits for a leaving daemon, `running` is true and the row is the
   * leaving daemon's.
   */
  startingPid: number | undefined;
  /** Row that the current or last daemon wrote. Its fields are stale when `running` is false. */
  row: DaemonRow | undefined;
  logFile: string;
  lockFile: string;
}

/**
 * Reads whether a daemon is running, and its row, without starting anything. `database`, a
 * connection to the data directory's database that the caller has open, saves opening another.
 */
export function readDaemonStatus(options: { dataDir?: string; env?: NodeJS.ProcessEnv; database?: SqliteDatabase } = {}): DaemonStatus {
  const dataDir = options.dataDir === undefined ? resolveDataDir(options.env) : checkDataDir(options.dataDir);
  // The marker is read before the lock, because a daemon removes it only after it has taken
  // the lock and written its row. Read in the other order, a daemon that did both in between
  // would be seen neither starting nor holding the lock.
  const marker = readStartingMarker(dataDir);
  const running = probeDaemonLock(dataDir) === 'held';
  const row = options.database === undefined ? readDaemonRowFromFile(path.join(dataDir, DATABASE_FILE)) : readDaemonRowQuietly(options.database);
  // A live daemon whose row has the state running holds the lock, whatever process a marker
  // names: that process is a successor waiting for it, or a surplus one about to exit.
  const holderRuns = running && row?.state === 'running' && row.pid !== marker && isProcessAlive(row.pid);
  return {
    dataDir,
    running,
    startingPid: marker !== undefined && (!running || (row?.pid !== marker && !holderRuns)) ? marker : undefined,
    row,
    logFile: path.join(dataDir, LOG_FILE),
    lockFile: path.join(dataDir, LOCK_FILE),
  };
}

/** Reads the row like readDaemonRowFromFile does: a database that cannot be read has none. */
function readDaemonRowQuietly(database: SqliteDatabase): DaemonRow | undefined {
  try {
    return readDaemonRow(database);
  } catch {
    return undefined;
  }
}

/**
 * Waits until a daemon holds the lock and reports `running`, or `timeoutMs` passes.
 * Returns the last status read.
 */
export async function waitForDaemon(options: { dataDir?: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<DaemonStatus> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const status = readDaemonStatus(options);
    if ((status.running && status.row?.state === 'running') || Date.now() >= deadline) {
      return status;
    }

    await sleep(50);
  }
}

export interface StopDaemonResult {
  /** False when no daemon held the lock or was starting. */
  wasRunning: boolean;
  /** Pid of the last daemon signalled or waited for. */
  pid: number | undefined;
  /** True once the lock was free and no daemon was starting within the timeout. */
  stopped: boolean;
}

/**
 * Sends SIGTERM to the daemon and waits until its lock is free, which happens when the
 * process has exited. Only the pid in the row of the lock holder is signalled, not the pid of
 * a dead daemon, which the system may have given to another process.
 *
 * A daemon that ensureDaemon spawned and that has not taken the lock yet is waited for
 * until it holds the lock and is then stopped the same way, or until its process is gone.
 * The same goes for a successor spawned while the signalled daemon was leaving.
 */
export async function stopDaemon(options: { dataDir?: string; env?: NodeJS.ProcessEnv; timeoutMs: number }): Promise<StopDaemonResult> {
  const deadline = Date.now() + options.timeoutMs;
  let wasRunning = false;
  let pid: number | undefined;
  let startingPid: number | undefined;
  const signalled = new Set<number>();

  for (;;) {
    let status = readDaemonStatus(options);
    if (!status.running && status.startingPid === undefined) {
      return { wasRunning, pid, stopped: true };
    }

    wasRunning = true;
    if (Date.now() >= deadline) {
      return { wasRunning, pid: status.running ? status.row?.pid : status.startingPid, stopped: false };
    }

    // A starting daemon installs its signal handlers only after it took the lock, so it is not
    // signalled before. Waiting is safe because it either takes the lock or exits.
    if (!status.running) {
      startingPid = status.startingPid;
      pid = startingPid;
      await sleep(50);
      continue;
    }

    // A daemon that has just taken the lock writes its row a moment later, and until then the
    // row still names the previous daemon. The wait lasts until the row's state is not
    // stopped and, when the starting daemon's pid is known and alive, until the row names it.
    // NOTE: a previous daemon that crashed left its last state, such as `running`, in its
    // row, so a new daemon that no marker announced has its predecessor's pid signalled in
    // that moment.
    while (status.running && !rowNamesHolder(status.row, startingPid) && Date.now() < deadline) {
      await sleep(50);
      status = readDaemonStatus(options);
    }

    startingPid = undefined;
    if (!status.running) {
      continue;
    }

    pid = status.row?.pid;
    if (pid === undefined || status.row?.state === 'stopped') {
      return { wasRunning, pid, stopped: false };
    }

    // The row still names the daemon signalled before, which is gone: the successor holding
    // the lock has not written its row yet.
    if (signalled.has(pid) && !isProcessAlive(pid)) {
      await sleep(50);
      continue;
    }

    // A daemon already stopping, after an earlier stop or its idle time, is only waited for:
    // a second SIGTERM would make it exit at once without its grace period.
    if (status.row?.state !== 'stopping') {
      signalDaemon(pid);
    }
    signalled.add(pid);

    while (readDaemonStatus(options).running) {
      // With the signalled daemon gone, the holder is a successor that waited for the lock,
      // which the next round stops the same way.
      if (!isProcessAlive(pid)) {
        break;
      }
      if (Date.now() >= deadline) {
        return { wasRunning, pid, stopped: false };
      }

      await sleep(100);
    }
  }
}

function signalDaemon(pid: number): void {
  try {
    process.kill(pid, 'SIGTERM');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') {
      throw error;
    }
  }
}

/**
 * Returns true when `row` is the lock holder's: written by a daemon that has not stopped, and
 * by `startingPid` while that process, the one that was starting, is alive.
 */
function rowNamesHolder(row: DaemonRow | undefined, startingPid: number | undefined): boolean {
  if (!row || row.state === 'stopped') {
    return false;
  }

  return startingPid === undefined || row.pid === startingPid || !isProcessAlive(startingPid);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
