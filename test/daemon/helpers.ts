import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach } from 'vitest';

import { type Job, type NewJob, enqueueJob, ensureDaemon, openQueue, readDaemonStatus } from '../../src/index.js';
import { isProcessAlive } from '../../src/daemon/lock.js';
import { fakeSha } from '../helpers/commits.js';
import { FIXTURES } from '../helpers/processes.js';

export const DAEMON_FIXTURE = path.join(FIXTURES, 'daemon', 'daemon.mjs');

/**
 * Environment of a test daemon: the data directory, the fake Ollama, and short intervals so
 * that idle exit, heartbeats and probes happen within a test. Idle exit is a minute unless
 * a test sets it, so a daemon does not leave in the middle of a test by accident.
 */
export function daemonEnvironment(dataDir: string, ollamaUrl: string, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    STEPPER_HOME: dataDir,
    OLLAMA_HOST: ollamaUrl,
    STEPPER_DAEMON_IDLE_MS: '60000',
    STEPPER_DAEMON_HEARTBEAT_MS: '200',
    STEPPER_DAEMON_POLL_MS: '50',
    STEPPER_DAEMON_PROBE_MS: '50',
    STEPPER_DAEMON_PROBE_MAX_MS: '400',
    STEPPER_DAEMON_GRACE_MS: '10000',
    ...overrides,
  };
}

const pids: number[] = [];
const children: ChildProcess[] = [];

/**
 * After each test, kills with SIGKILL every daemon a test started and that still runs, so
 * a failed assertion cannot leave a daemon behind for the next test.
 */
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
  }

  for (const pid of pids.splice(0)) {
    if (isAlive(pid)) {
      process.kill(pid, 'SIGKILL');
    }
  }
});

/** Tracks a pid for the cleanup after the test. */
export function trackPid(pid: number | undefined): void {
  if (pid !== undefined) {
    pids.push(pid);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts the test daemon as a hook would, and returns the spawned pid. */
export function autoStart(dataDir: string, env: NodeJS.ProcessEnv): number | undefined {
  const result = ensureDaemon({ dataDir, env, entry: DAEMON_FIXTURE });
  trackPid(result.pid);
  return result.pid;
}

export interface SpawnedDaemon {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns the test daemon as a child of the test, to read its exit status. */
export function spawnDaemon(dataDir: string, env: NodeJS.ProcessEnv): SpawnedDaemon {
  const child = spawn(process.execPath, [DAEMON_FIXTURE, dataDir], { env, stdio: 'ignore' });
  children.push(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, exited };
}

/** Polls `check` until it returns a value other than undefined or false; fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) {
      return value;
    }

    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }

    await sleep(25);
  }
}

/** Waits until a daemon holds the lock and reports `running`; returns its pid. */
export function waitForRunning(dataDir: string): Promise<number> {
  return waitFor(() => {
    const status = readDaemonStatus({ dataDir });
    return status.running && status.row?.state === 'running' ? status.row.pid : undefined;
  }, 'a running daemon');
}

/**
 * Waits until `pid` has exited. A killed daemon frees its lock while it closes its files,
 * a moment before the kernel marks it exited, so the lock alone does not show that.
 */
export function waitForProcessGone(pid: number): Promise<true> {
  return waitFor(() => !isProcessAlive(pid), `process ${pid} to exit`);
}

export function waitForNoDaemon(dataDir: string, timeoutMs?: number): Promise<true> {
  return waitFor(() => !readDaemonStatus({ dataDir }).running, 'the daemon lock to be free', timeoutMs);
}

/** Enqueues a test job through the hook path; `label` names its commit. */
export function enqueue(dataDir: string, label: string, payload: Record<string, unknown> = {}, extra: Partial<NewJob> = {}): string {
  const result = enqueueJob({ kind: 'report', repository: '/repos/demo', commitSha: fakeSha(label), payload, ...extra }, { dataDir });
  return result.spooled ? result.jobId : result.job.id;
}

/** Reads jobs by id through a short-lived connection. */
export function readJobs(dataDir: string, ids: readonly string[]): Job[] {
  const queue = openQueue({ dataDir });
  try {
    return ids.map((id) => {
      const job = queue.getJob(id);
      if (!job) {
        throw new Error(`job ${id} not found`);
      }
      return job;
    });
  } finally {
    queue.close();
  }
}

/** Waits until every job is completed or failed, and returns them. */
export function waitForFinished(dataDir: string, ids: readonly string[], timeoutMs?: number): Promise<Job[]> {
  return waitFor(() => {
    const jobs = readJobs(dataDir, ids);
    return jobs.every((job) => job.state === 'completed' || job.state === 'failed') ? jobs : undefined;
  }, `jobs ${ids.join(', ')} to finish`, timeoutMs);
}

/** Counts stored reports per commit. */
export function reportCount(dataDir: string, commitSha: string): number {
  const queue = openQueue({ dataDir });
  try {
    const row = queue.database.prepare('SELECT count(*) AS n FROM reports WHERE commit_sha = ?').get(commitSha) as { n: number };
    return row.n;
  } finally {
    queue.close();
  }
}

export function readLog(dataDir: string): string {
  try {
    return fs.readFileSync(path.join(dataDir, 'daemon.log'), 'utf8');
  } catch {
    return '';
  }
}
