// The daemon's status row while many jobs finish quickly: its writes are throttled, but the
// last job count reaches the row while the daemon runs and when it stops.
// The fixture imports the built dist/, so run `npm run build` first.
import path from 'node:path';

import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';

import { getQueueStatus, readDaemonStatus } from '../../src/index.js';
import { describeHeldModel, describeUnreachable, unreachableReasonOf } from '../../src/daemon/state.js';
import { startFake } from '../fake-ollama/helpers.js';
import { makeTempDir } from '../helpers/temp.js';
import { daemonEnvironment, enqueue, spawnDaemon, waitFor, waitForFinished } from './helpers.js';

const JOBS = 30;
const INSTANT = { timing: { loadDelayMs: 0, promptDelayMsPerToken: 0, tokenDelayMs: 0 } };

function enqueueJobs(dataDir: string, prefix: string): string[] {
  return Array.from({ length: JOBS }, (_, index) => enqueue(dataDir, `${prefix}-${index}`));
}

describe('daemon status row', () => {
  test('jobs done catches up after a burst', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake(INSTANT);
    const ids = enqueueJobs(dataDir, 'burst');
    const daemon = spawnDaemon(dataDir, daemonEnvironment(dataDir, fake.url));

    const jobs = await waitForFinished(dataDir, ids);
    // The throttled write comes after the last job, while the daemon keeps running.
    const row = await waitFor(() => {
      const status = readDaemonStatus({ dataDir });
      return status.row?.jobsDone === JOBS ? status.row : undefined;
    }, `jobs done to reach ${JOBS}`, 10_000);

    expect(jobs.every((job) => job.state === 'completed')).toBe(true);
    expect(row.state).toBe('running');
    expect(row.currentJobId).toBe(null);

    daemon.child.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
  });

  test('stop right after a burst keeps the count', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake(INSTANT);
    const ids = enqueueJobs(dataDir, 'stop');
    const daemon = spawnDaemon(dataDir, daemonEnvironment(dataDir, fake.url));

    // SIGTERM at once, so the status write held back by the throttle is still pending.
    await waitForFinished(dataDir, ids);
    daemon.child.kill('SIGTERM');
    const exit = await daemon.exited;
    const row = readDaemonStatus({ dataDir }).row;

    expect(exit.code).toBe(0);
    expect(row?.state).toBe('stopped');
    expect(row?.jobsDone).toBe(JOBS);
    expect(row?.currentJobId).toBe(null);
  });

  test('stale current job shows idle', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake(INSTANT);
    const ids = enqueueJobs(dataDir, 'named');
    const id = ids[0] as string;
    // A long heartbeat, so that the row written below stays as it is while status reads it.
    const daemon = spawnDaemon(dataDir, daemonEnvironment(dataDir, fake.url, { STEPPER_DAEMON_HEARTBEAT_MS: '600000' }));
    await waitForFinished(dataDir, ids);
    await waitFor(() => readDaemonStatus({ dataDir }).row?.jobsDone === JOBS || undefined, 'the row to count every job', 10_000);

    // As a throttled write leaves it: the row names a job that has completed since.
    const db = new Database(path.join(dataDir, 'stepper.db'), { timeout: 5000 });
    db.prepare('UPDATE daemon SET current_job_id = ? WHERE id = 1').run(id);
    db.close();
    const status = await getQueueStatus({ dataDir, all: true, env: daemonEnvironment(dataDir, fake.url) });

    expect(readDaemonStatus({ dataDir }).row?.currentJobId).toBe(id);
    expect(status.daemon.state).toBe('running');
    expect(status.counts.active).toBe(0);
    expect(status.daemon.currentJobId).toBe(null);

    daemon.child.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
  });
});

describe('the row detail of a wait for Ollama', () => {
  test('gives back the reason without held models', () => {
    const host = 'http://127.0.0.1:11434';
    const detail = [
      describeUnreachable(host, 'connection refused (ECONNREFUSED); retry in 5 s'),
      describeHeldModel({ model: 'tinyllama:1b', pullCommand: 'ollama pull tinyllama:1b' }),
    ].join('; ');

    expect(unreachableReasonOf(host, detail)).toBe('connection refused (ECONNREFUSED); retry in 5 s');
    expect(unreachableReasonOf(host, describeUnreachable(host, 'ECONNRESET'))).toBe('ECONNRESET');
  });

  test('returns another form whole', () => {
    expect(unreachableReasonOf('http://127.0.0.1:11434', 'waiting for Ollama at http://other:1: ECONNREFUSED')).toBe(
      'waiting for Ollama at http://other:1: ECONNREFUSED',
    );
    expect(unreachableReasonOf('http://127.0.0.1:11434', null)).toBe('no reason recorded');
  });
});
