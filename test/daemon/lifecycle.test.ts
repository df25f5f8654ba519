// The daemon as real processes: single instance, crash recovery, signals, idle exit and a
// deleted database. The fixtures import the built dist/, so run `npm run build` first.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';

import { enqueueJob, openQueue, readDaemonStatus, SCHEMA_VERSION } from '../../src/index.js';
import { startFake } from '../fake-ollama/helpers.js';
import { fakeSha } from '../helpers/commits.js';
import { makeTempDir } from '../helpers/temp.js';
import {
  autoStart,
  daemonEnvironment,
  enqueue,
  isAlive,
  readJobs,
  readLog,
  reportCount,
  spawnDaemon,
  waitFor,
  waitForFinished,
  waitForNoDaemon,
  waitForRunning,
} from './helpers.js';

const STARTERS = 50;

describe('daemon lifecycle', () => {
  test('50 simultaneous starts leave one daemon', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    const env = daemonEnvironment(dataDir, fake.url);

    const daemons = Array.from({ length: STARTERS }, () => spawnDaemon(dataDir, env));
    const exits: Array<number | null> = [];
    for (const daemon of daemons) {
      void daemon.exited.then(({ code }) => exits.push(code));
    }

    // Every starter but the lock holder exits on its own; generous, because 50 node
    // processes start on two cores.
    await waitFor(() => exits.length === STARTERS - 1, `${STARTERS - 1} starters to exit`, 120_000);
    const survivors = daemons.filter(({ child }) => child.exitCode === null && child.signalCode === null);

    expect(survivors).toHaveLength(1);
    expect(exits.every((code) => code === 0)).toBe(true);
    const survivor = survivors[0]!.child;
    expect(await waitForRunning(dataDir)).toBe(survivor.pid);

    survivor.kill('SIGTERM');
    expect((await survivors[0]!.exited).code).toBe(0);
  }, 180_000);

  test('SIGKILL during a job: the restart completes it once', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake({ timing: { tokenDelayMs: 200 } });
    const env = daemonEnvironment(dataDir, fake.url);
    const jobId = enqueue(dataDir, 'killed');

    const first = autoStart(dataDir, env) as number;
    await fake.waitForRequest((request) => request.path === '/api/chat', { timeoutMs: 30_000 });
    process.kill(first, 'SIGKILL');
    await waitForNoDaemon(dataDir);
    expect(readJobs(dataDir, [jobId])[0]?.state).toBe('active');

    const second = autoStart(dataDir, env);
    const [job] = await waitForFinished(dataDir, [jobId]);

    expect(job?.state).toBe('completed');
    expect(job?.stalledCount).toBe(1);
    expect(reportCount(dataDir, fakeSha('killed'))).toBe(1);
    expect(readLog(dataDir)).toContain(`stall: job ${jobId} was active when the previous daemon died`);
    expect(second).not.toBe(first);
  });

  test('SIGTERM during a job: it finishes and the exit is 0', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake({ timing: { tokenDelayMs: 50 } });
    const jobId = enqueue(dataDir, 'finishes');
    const daemon = spawnDaemon(dataDir, daemonEnvironment(dataDir, fake.url));

    await fake.waitForRequest((request) => request.path === '/api/chat', { timeoutMs: 30_000 });
    daemon.child.kill('SIGTERM');
    const exit = await daemon.exited;
    const [job] = readJobs(dataDir, [jobId]);

    expect(exit.code).toBe(0);
    expect(job?.state).toBe('completed');
    expect(reportCount(dataDir, fakeSha('finishes'))).toBe(1);
  });

  test('SIGTERM at the first row: clean stop', async () => {
    // `stepper daemon stop` signals the pid in the row at once, so the handlers must be in
    // place before the row is written. A few rounds, because the window was milliseconds.
    for (let round = 0; round < 5; round += 1) {
      const dataDir = makeTempDir();
      const fake = await startFake();
      const daemon = spawnDaemon(dataDir, daemonEnvironment(dataDir, fake.url));
      const pid = daemon.child.pid;

      const deadline = Date.now() + 30_000;
      while (readDaemonStatus({ dataDir }).row?.pid !== pid && Date.now() < deadline) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      daemon.child.kill('SIGTERM');
      const exit = await daemon.exited;

      expect(exit, readLog(dataDir)).toEqual({ code: 0, signal: null });
      expect(readDaemonStatus({ dataDir }).row?.state).toBe('stopped');
      expect(readLog(dataDir)).toContain('SIGTERM received: stopping');
    }
  });

  test('SIGTERM past the grace period: the job is released, not stalled', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake({ timing: { tokenDelayMs: 5000 } });
    const jobId = enqueue(dataDir, 'released');
    const daemon = spawnDaemon(dataDir, daemonEnvironment(dataDir, fake.url, { STEPPER_DAEMON_GRACE_MS: '100' }));

    await fake.waitForRequest((request) => request.path === '/api/chat', { timeoutMs: 30_000 });
    daemon.child.kill('SIGTERM');
    const exit = await daemon.exited;
    const [job] = readJobs(dataDir, [jobId]);

    expect(exit.code).toBe(0);
    expect(job?.state).toBe('waiting');
    expect(job?.stalledCount).toBe(0);
    expect(job?.attemptsMade).toBe(0);
    expect(readLog(dataDir)).toContain(`released: job ${jobId}`);
  });

  test('second SIGTERM while stopping: exit 1, then recovery', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    // Only the first chat request hangs, so the next daemon completes the job.
    fake.enqueue({ fault: { kind: 'stall', afterLines: 1, stallMs: 60_000 }, match: { path: '/api/chat' } });
    const env = daemonEnvironment(dataDir, fake.url);
    const jobId = enqueue(dataDir, 'signalled twice');
    const daemon = spawnDaemon(dataDir, env);

    await fake.waitForRequest((request) => request.path === '/api/chat', { timeoutMs: 30_000 });
    daemon.child.kill('SIGTERM');
    await waitFor(() => readLog(dataDir).includes('SIGTERM received: stopping'), 'the first SIGTERM to be handled');
    daemon.child.kill('SIGTERM');
    const exit = await daemon.exited;

    expect(exit).toEqual({ code: 1, signal: null });
    expect(readLog(dataDir)).toContain(`SIGTERM received while stopping: exiting at once without waiting for active jobs (active jobs: ${jobId})`);
    expect(readJobs(dataDir, [jobId])[0]?.state).toBe('active');

    autoStart(dataDir, env);
    const [job] = await waitForFinished(dataDir, [jobId]);

    expect(job?.state).toBe('completed');
    expect(job?.stalledCount).toBe(1);
    expect(readLog(dataDir)).toContain(`stall: job ${jobId} was active when the previous daemon died`);
  });

  test('second SIGINT while stopping: exit 1', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    fake.enqueue({ fault: { kind: 'stall', afterLines: 1, stallMs: 60_000 }, match: { path: '/api/chat' } });
    enqueue(dataDir, 'interrupted twice');
    const daemon = spawnDaemon(dataDir, daemonEnvironment(dataDir, fake.url));

    await fake.waitForRequest((request) => request.path === '/api/chat', { timeoutMs: 30_000 });
    daemon.child.kill('SIGINT');
    await waitFor(() => readLog(dataDir).includes('SIGINT received: stopping'), 'the first SIGINT to be handled');
    daemon.child.kill('SIGINT');
    const exit = await daemon.exited;

    expect(exit).toEqual({ code: 1, signal: null });
    expect(readLog(dataDir)).toContain('SIGINT received while stopping: exiting at once');
  });

  test('jobs enqueued around idle exits are all processed', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    const env = daemonEnvironment(dataDir, fake.url, { STEPPER_DAEMON_IDLE_MS: '150' });
    const ids: string[] = [];

    // Jobs arrive at random moments around the idle time, so some come while a daemon is
    // deciding to exit. Each enqueue starts a daemon as a hook does.
    for (let n = 0; n < 12; n++) {
      ids.push(enqueue(dataDir, `idle race ${n}`));
      autoStart(dataDir, env);
      await sleep(Math.floor(Math.random() * 400));
    }

    const jobs = await waitForFinished(dataDir, ids, 60_000);
    const starts = readLog(dataDir).match(/daemon started/g) ?? [];

    expect(jobs.every((job) => job.state === 'completed')).toBe(true);
    expect(starts.length).toBeGreaterThan(1);
    expect(readLog(dataDir)).toContain('with no work left: exiting');
  });

  test('exit checkpoint does not block enqueues', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    const env = daemonEnvironment(dataDir, fake.url, { STEPPER_DAEMON_IDLE_MS: '200' });
    const first = spawnDaemon(dataDir, env);
    await waitForRunning(dataDir);

    // A reader on an old snapshot, as `stepper watch` keeps one, stops the exiting daemon's
    // final WAL checkpoint from truncating the WAL. The checkpoint must give up at once
    // instead of holding the write lock while it waits, which would send hooks to the spool.
    const reader = new Database(path.join(dataDir, 'stepper.db'), { readonly: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM jobs').get();
    await waitFor(() => readDaemonStatus({ dataDir }).row?.state === 'stopped', 'the daemon to write stopped');

    const result = enqueueJob({ kind: 'report', repository: '/repos/demo', commitSha: fakeSha('during exit') }, { dataDir });
    autoStart(dataDir, env);
    reader.exec('COMMIT');
    reader.close();

    expect(result.spooled).toBe(false);
    const [job] = await waitForFinished(dataDir, [result.spooled ? result.jobId : result.job.id]);
    expect(job?.state).toBe('completed');
    expect((await first.exited).code).toBe(0);
  });

  test('idle daemon exits with status 0', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    const daemon = spawnDaemon(dataDir, daemonEnvironment(dataDir, fake.url, { STEPPER_DAEMON_IDLE_MS: '100' }));

    const exit = await daemon.exited;

    expect(exit.code).toBe(0);
    expect(readDaemonStatus({ dataDir }).row?.state).toBe('stopped');
  });

  test('database removed: the daemon exits and the next enqueue works', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    const env = daemonEnvironment(dataDir, fake.url);
    const daemon = spawnDaemon(dataDir, env);
    await waitForRunning(dataDir);

    for (const suffix of ['', '-wal', '-shm']) {
      fs.rmSync(path.join(dataDir, `stepper.db${suffix}`), { force: true });
    }
    const exit = await daemon.exited;

    expect(exit.code).toBe(0);
    expect(readLog(dataDir)).toContain('was deleted or replaced');

    const jobId = enqueue(dataDir, 'after removal');
    autoStart(dataDir, env);
    const [job] = await waitForFinished(dataDir, [jobId]);
    expect(job?.state).toBe('completed');
  });

  test('newer schema: the daemon exits for the upgrade', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    const daemon = spawnDaemon(dataDir, daemonEnvironment(dataDir, fake.url));
    await waitForRunning(dataDir);

    const queue = openQueue({ dataDir });
    queue.database.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    queue.close();
    const exit = await daemon.exited;

    expect(exit.code).toBe(0);
    expect(readLog(dataDir)).toContain('exiting for the upgrade');
  });

  test('poison job fails after two stalls; other jobs complete', async () => {
    const dataDir = makeTempDir();
    // Slow enough that the healthy job, claimed next to the poison job, is still active when the daemon dies.
    const fake = await startFake({ timing: { tokenDelayMs: 100 } });
    const env = daemonEnvironment(dataDir, fake.url);
    const poison = enqueue(dataDir, 'poison', { crash: true }, { priority: 'high' });
    const healthy = enqueue(dataDir, 'healthy');

    // Each start claims the poison job first and dies with it.
    for (let start = 0; start < 2; start++) {
      const pid = autoStart(dataDir, env) as number;
      await waitFor(() => !isAlive(pid), `daemon ${pid} to die`);
      await waitForNoDaemon(dataDir);
    }

    autoStart(dataDir, env);
    const [poisonJob, healthyJob] = await waitForFinished(dataDir, [poison, healthy]);

    expect(poisonJob?.state).toBe('failed');
    expect(poisonJob?.failedReason).toBe('stalled');
    expect(healthyJob?.state).toBe('completed');
    expect(await waitForRunning(dataDir)).toBeGreaterThan(0);
  });

  test('SIGSTOP then SIGCONT: the job completes once', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake({ timing: { tokenDelayMs: 100 } });
    const env = daemonEnvironment(dataDir, fake.url, { STEPPER_DAEMON_LOCK_MS: '300' });
    const jobId = enqueue(dataDir, 'sleeper');
    const daemon = spawnDaemon(dataDir, env);

    await fake.waitForRequest((request) => request.path === '/api/chat', { timeoutMs: 30_000 });
    daemon.child.kill('SIGSTOP');
    // Several lock lifetimes and heartbeats pass while the daemon is stopped, as in a laptop's sleep.
    await sleep(1500);
    daemon.child.kill('SIGCONT');
    const [job] = await waitForFinished(dataDir, [jobId]);

    expect(job?.state).toBe('completed');
    expect(job?.stalledCount).toBe(0);
    expect(job?.attemptsMade).toBe(1);
    expect(reportCount(dataDir, fakeSha('sleeper'))).toBe(1);
    expect(readLog(dataDir)).toContain('resumed after a pause');
  });
});
