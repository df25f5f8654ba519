import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { type DaemonEvent, type QueueSnapshot, type WatchUpdate, watchQueue } from '../../src/api/watch.js';
import { estimateJob } from '../../src/cli/render/watch-view.js';
import { stopDaemon } from '../../src/daemon/start.js';
import { openQueue } from '../../src/queue/queue.js';
import type { Job } from '../../src/queue/types.js';
import { Worker } from '../../src/queue/worker.js';
import { createReportProcessor } from '../../src/report/processor.js';
import { autoStart, daemonEnvironment, enqueue } from '../daemon/helpers.js';
import { startFake } from '../fake-ollama/helpers.js';
import { addReportJob, newRepo, startStand, waitForFinished, waitForJob } from '../helpers/report-queue.js';
import { makeTempDir } from '../helpers/temp.js';
import { closedPort } from '../helpers/ports.js';

const ANSWER = {
  title: 'Add the greeting module',
  summary: 'The commit adds a greeting function.',
  changes: ['Add greet() to src/greet.ts'],
  rationale: 'Not stated in the message.',
  impact_and_tests: 'No tests changed.',
  next_steps: [],
  tags: ['greeting'],
};

/** Collects updates until one is idle and carries events, or until `limit` updates. */
async function collectUntilDrained(updates: AsyncGenerator<WatchUpdate>, limit = 400): Promise<WatchUpdate[]> {
  const seen: WatchUpdate[] = [];
  for await (const update of updates) {
    seen.push(update);
    if ((update.idle && seen.some((item) => item.events.length > 0)) || seen.length >= limit) {
      break;
    }
  }

  return seen;
}

/**
 * Reads updates until one matches `predicate`, and returns it with the daemon events of every
 * update read; fails after `limit` updates.
 */
async function readUntil(updates: AsyncGenerator<WatchUpdate>, predicate: (update: WatchUpdate) => boolean, limit = 800): Promise<{ update: WatchUpdate; daemonEvents: DaemonEvent[] }> {
  const daemonEvents: DaemonEvent[] = [];
  for (let count = 0; count < limit; count++) {
    const next = await updates.next();
    if (next.done) {
      break;
    }

    daemonEvents.push(...next.value.daemonEvents);
    if (predicate(next.value)) {
      return { update: next.value, daemonEvents };
    }
  }

  throw new Error(`no update matched within ${limit} updates`);
}

describe('watchQueue', () => {
  it('yields events with the job commit until idle', async () => {
    const stand = await startStand({ fake: { answer: ANSWER, timing: { tokenDelayMs: 2 } } });
    await stand.worker.close({ graceMs: 0 });
    const builder = newRepo();
    builder.write('a.txt', 'a\n');
    const sha = builder.commit('Add a\n');
    const id = await addReportJob(stand, builder, sha);
    const updates = watchQueue({ dataDir: stand.dataDir, intervalMs: 20 });

    const first = await updates.next();
    const worker = new Worker(stand.queue, createReportProcessor({ queue: stand.queue, client: stand.client }), { pollIntervalMs: 20, progressIntervalMs: 20 });
    void worker.run();
    const rest = await collectUntilDrained(updates);
    await worker.close({ graceMs: 0 });

    expect(first.value?.events.map((event: { type: string }) => event.type)).toEqual(['added']);
    expect(first.value?.idle).toBe(false);
    const events = [first.value as WatchUpdate, ...rest].flatMap((update) => update.events);
    expect(events.every((event) => event.jobId === id && event.sha === sha)).toBe(true);
    expect(events.at(-1)?.type).toBe('completed');
    expect(rest.at(-1)?.idle).toBe(true);
    expect(rest.at(-1)?.snapshot?.counts.completed).toBe(1);
    expect(rest.at(-1)?.snapshot?.recent[0]?.id).toBe(id);
    expect(rest.at(-1)?.snapshot?.averageOver).toBe(1);
    expect(rest.some((update) => update.snapshot?.active[0]?.id === id)).toBe(true);
  });

  it('skips events of jobs finished before the start', async () => {
    const stand = await startStand({ fake: { answer: ANSWER } });
    const builder = newRepo();
    builder.write('a.txt', 'a\n');
    const sha = builder.commit('Add a\n');
    await waitForFinished(stand, await addReportJob(stand, builder, sha));

    const updates = watchQueue({ dataDir: stand.dataDir, intervalMs: 20 });
    const first = await updates.next();
    await updates.return(undefined);

    expect(first.value?.events).toEqual([]);
    expect(first.value?.idle).toBe(true);
  });

  it('waits for a missing database and reads it whole', async () => {
    const dataDir = path.join(makeTempDir(), 'data');
    const updates = watchQueue({ dataDir, intervalMs: 20 });

    const before = await updates.next();
    const queue = openQueue({ dataDir });
    queue.add({ kind: 'report', repository: '/src/app/.git', commitSha: 'c'.repeat(40), payload: { model: 'm' } });
    let after: WatchUpdate | undefined;
    for await (const update of updates) {
      if (update.snapshot !== null) {
        after = update;
        break;
      }
    }
    queue.close();

    expect(before.value?.snapshot).toBeNull();
    expect(before.value?.idle).toBe(true);
    expect(after?.events.map((event) => event.type)).toEqual(['added']);
    expect(after?.events[0]?.sha).toBe('c'.repeat(40));
    expect(after?.idle).toBe(false);
  });

  it('ends when its signal aborts', async () => {
    const controller = new AbortController();
    const updates = watchQueue({ dataDir: makeTempDir(), intervalMs: 20, signal: controller.signal });

    await updates.next();
    controller.abort();
    const next = await updates.next();

    expect(next.done).toBe(true);
  });

  it('lists a delayed job with its last error', async () => {
    const stand = await startStand({ fake: { answer: ANSWER }, queue: { backoff: { delayMs: 60_000, jitter: 0 } } });
    stand.fake.enqueue({ fault: { kind: 'http_error', preset: 'runner_crash' } });
    const builder = newRepo();
    builder.write('a.txt', 'a\n');
    const id = await addReportJob(stand, builder, builder.commit('Add a\n'));
    const delayed = await waitForJob(stand, id, (job) => job.state === 'delayed', 'the job to be delayed');

    const updates = watchQueue({ dataDir: stand.dataDir, intervalMs: 20 });
    const first = await updates.next();
    await updates.return(undefined);

    const snapshot = first.value?.snapshot as QueueSnapshot;
    expect(snapshot.delayed).toHaveLength(1);
    expect(snapshot.delayed[0]?.job.id).toBe(id);
    expect(snapshot.delayed[0]?.job.runAt).toBe(delayed.runAt);
    expect(snapshot.delayed[0]?.reason).toMatch(/failed with HTTP 500: model runner has unexpectedly stopped/);
    expect(first.value?.idle).toBe(false);
  });

  it('gives the reason of a delayed release', async () => {
    // A busy Ollama makes the worker release the job with a delay, which stores no error in the job.
    const stand = await startStand({ fake: { answer: ANSWER } });
    stand.fake.enqueue({ fault: { kind: 'busy_n', count: 1 } });
    const builder = newRepo();
    builder.write('a.txt', 'a\n');
    const id = await addReportJob(stand, builder, builder.commit('Add a\n'));
    const delayed = await waitForJob(stand, id, (job) => job.state === 'delayed', 'the job to be delayed');

    const updates = watchQueue({ dataDir: stand.dataDir, intervalMs: 20 });
    const first = await updates.next();
    await updates.return(undefined);

    expect(delayed.lastError).toBeNull();
    expect(first.value?.snapshot?.delayed[0]?.reason).toMatch(/is busy \(HTTP 503: server busy/);
  });

  it('rejects a zero interval', async () => {
    const updates = watchQueue({ dataDir: makeTempDir(), intervalMs: 0 });

    await expect(updates.next()).rejects.toThrow(/invalid intervalMs: expected an integer >= 1, received 0/);
  });
});

describe('watchQueue and the daemon', () => {
  it('sees no daemon while jobs wait', async () => {
    const dataDir = makeTempDir();
    enqueue(dataDir, 'no daemon');

    const updates = watchQueue({ dataDir, intervalMs: 20 });
    const first = await updates.next();
    await updates.return(undefined);

    expect(first.value?.snapshot?.daemon).toEqual({ state: 'stopped', ollamaWait: null });
    expect(first.value?.daemonEvents).toEqual([]);
  });

  it('follows a wait for Ollama until Ollama listens', async () => {
    const dataDir = makeTempDir();
    const port = await closedPort();
    const host = `http://127.0.0.1:${port}`;
    enqueue(dataDir, 'outage');
    autoStart(dataDir, daemonEnvironment(dataDir, host));
    const updates = watchQueue({ dataDir, intervalMs: 20 });

    const waiting = await readUntil(updates, (update) => update.snapshot?.daemon.ollamaWait != null);
    await startFake({ port });
    const reachable = await readUntil(updates, (update) => update.idle);
    await updates.return(undefined);

    expect(waiting.update.snapshot?.daemon).toEqual({ state: 'running', ollamaWait: { host, error: 'ECONNREFUSED' } });
    expect(waiting.daemonEvents).toEqual([{ type: 'ollama-wait-started', at: expect.any(Number), host, error: 'ECONNREFUSED' }]);
    expect(reachable.daemonEvents).toEqual([{ type: 'ollama-wait-ended', at: expect.any(Number), host, reachable: true }]);
    expect(reachable.update.snapshot?.counts.completed).toBe(1);
    await stopDaemon({ dataDir, timeoutMs: 15_000 });
  });

  it('ends the wait when the daemon stops', async () => {
    const dataDir = makeTempDir();
    const host = `http://127.0.0.1:${await closedPort()}`;
    enqueue(dataDir, 'outage');
    autoStart(dataDir, daemonEnvironment(dataDir, host));
    const updates = watchQueue({ dataDir, intervalMs: 20 });
    await readUntil(updates, (update) => update.snapshot?.daemon.ollamaWait != null);

    await stopDaemon({ dataDir, timeoutMs: 15_000 });
    const stopped = await readUntil(updates, (update) => update.snapshot?.daemon.state === 'stopped');
    await updates.return(undefined);

    expect(stopped.daemonEvents).toEqual([{ type: 'ollama-wait-ended', at: expect.any(Number), host, reachable: false }]);
    expect(stopped.update.snapshot?.daemon.ollamaWait).toBeNull();
    expect(stopped.update.idle).toBe(false);
  });

  it('reports a wait that began before watching', async () => {
    const dataDir = makeTempDir();
    const host = `http://127.0.0.1:${await closedPort()}`;
    enqueue(dataDir, 'outage');
    autoStart(dataDir, daemonEnvironment(dataDir, host));
    const before = watchQueue({ dataDir, intervalMs: 20 });
    await readUntil(before, (update) => update.snapshot?.daemon.ollamaWait != null);
    await before.return(undefined);

    const updates = watchQueue({ dataDir, intervalMs: 20 });
    const first = await updates.next();
    await updates.return(undefined);

    expect(first.value?.daemonEvents).toEqual([{ type: 'ollama-wait-started', at: expect.any(Number), host, error: 'ECONNREFUSED' }]);
    await stopDaemon({ dataDir, timeoutMs: 15_000 });
  });
});

function activeJob(progress: Job['progress'], startedAt = 1_000): Job {
  return { startedAt, progress, commitSha: 'a'.repeat(40), repository: '/src/app/.git' } as Job;
}

function snapshotWith(averageDurationMs: number | null, averageOver = 0): QueueSnapshot {
  const counts = { waiting: 0, delayed: 0, active: 1, completed: averageOver, failed: 0, cancelled: 0 };
  return { counts, active: [], delayed: [], recent: [], averageDurationMs, averageOver, held: [], daemon: { state: 'running', ollamaWait: null } };
}

describe('estimateJob', () => {
  it('uses the rate and output budget while generating', () => {
    const estimate = estimateJob(activeJob({ phase: 'generating', tokens: 256, tokensPerSecond: 32 }), snapshotWith(9_000, 3), 5_000, 1024);

    expect(estimate.fraction).toBe(0.25);
    expect(estimate.remainingMs).toBe(24_000);
    expect(estimate.atMost).toBe(true);
    expect(estimate.basis).toBe('rate, 1,024-token budget');
  });

  it('uses the mean duration before the first tokens', () => {
    const estimate = estimateJob(activeJob({ phase: 'loading/prompt' }), snapshotWith(9_000, 3), 4_000, 1024);

    expect(estimate.remainingMs).toBe(6_000);
    expect(estimate.atMost).toBe(false);
    expect(estimate.basis).toBe('mean of 3 recent jobs');
  });

  it('is unknown past the mean', () => {
    const estimate = estimateJob(activeJob(null), snapshotWith(2_000, 1), 10_000, 1024);

    expect(estimate.remainingMs).toBeNull();
    expect(estimate.fraction).toBe(0.99);
    expect(estimate.basis).toBe('running longer than the mean of 1 recent job');
  });

  it('is unknown without a rate or history', () => {
    const estimate = estimateJob(activeJob({ phase: 'reading commit' }), snapshotWith(null), 4_000, 1024);

    expect(estimate.remainingMs).toBeNull();
    expect(estimate.fraction).toBeNull();
  });

  it('shows an empty bar while the request waits', () => {
    // Claimed ahead of the generation limit long ago, so the mean alone would call it nearly done.
    const estimate = estimateJob(activeJob({ phase: 'waiting' }), snapshotWith(2_000, 1), 10_000, 1024);

    expect(estimate.fraction).toBe(0);
    expect(estimate.remainingMs).toBeNull();
    expect(estimate.basis).toBe('its request waits for the model');
  });
});
