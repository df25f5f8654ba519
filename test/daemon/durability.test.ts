// The daemon commits its job transitions with synchronous=NORMAL. These tests kill it with
// SIGKILL and check that nothing it committed is lost, because a dead process leaves its
// committed WAL frames in the OS page cache. The fixtures import the built dist/, so run
// `npm run build` first.
import { setTimeout as sleep } from 'node:timers/promises';

import { describe, expect, test } from 'vitest';

import { openQueue } from '../../src/index.js';
import { startFake } from '../fake-ollama/helpers.js';
import { fakeSha } from '../helpers/commits.js';
import { makeTempDir } from '../helpers/temp.js';
import { autoStart, daemonEnvironment, enqueue, readJobs, reportCount, waitForFinished, waitForNoDaemon } from './helpers.js';

describe('daemon durability', () => {
  test('SIGKILL right after a completion keeps the report', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    // The second job streams slowly, so the daemon is still running when the first completes.
    fake.enqueue({ fault: { kind: 'latency', tokenDelayMs: 500 }, match: { path: '/api/chat', bodyIncludes: fakeSha('slow') }, times: 'always' });
    const env = daemonEnvironment(dataDir, fake.url);
    const fastId = enqueue(dataDir, 'fast');
    const slowId = enqueue(dataDir, 'slow');

    const pid = autoStart(dataDir, env) as number;
    const queue = openQueue({ dataDir });
    try {
      // A tight poll through a connection of the test, so the kill follows the commit closely.
      const deadline = Date.now() + 30_000;
      while (queue.getJob(fastId)?.state !== 'completed') {
        if (Date.now() > deadline) {
          throw new Error(`job ${fastId} did not complete within 30 s`);
        }
        await sleep(1);
      }
      process.kill(pid, 'SIGKILL');
    } finally {
      queue.close();
    }
    await waitForNoDaemon(dataDir);

    const [fast, slow] = readJobs(dataDir, [fastId, slowId]);
    expect(fast?.state).toBe('completed');
    expect(fast?.resultId).toEqual(expect.any(String));
    expect(reportCount(dataDir, fakeSha('fast'))).toBe(1);
    expect(slow?.state).toBe('active');
  });

  test('restart after SIGKILL completes the claimed job', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake({ timing: { tokenDelayMs: 20 } });
    const env = daemonEnvironment(dataDir, fake.url);
    const ids = ['first', 'second', 'third'].map((label) => enqueue(dataDir, label));

    const first = autoStart(dataDir, env) as number;
    await waitForFinished(dataDir, ids.slice(0, 1));
    process.kill(first, 'SIGKILL');
    await waitForNoDaemon(dataDir);
    autoStart(dataDir, env);
    const jobs = await waitForFinished(dataDir, ids);

    expect(jobs.map((job) => job.state)).toEqual(['completed', 'completed', 'completed']);
    for (const label of ['first', 'second', 'third']) {
      expect(reportCount(dataDir, fakeSha(label))).toBe(1);
    }
  });
});
