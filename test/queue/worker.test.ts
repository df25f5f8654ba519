import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, describe, expect, it } from 'vitest';

import { RetryLaterError, UnrecoverableError } from '../../src/errors.js';
import { type OpenQueueOptions, type Queue, openQueue } from '../../src/queue/queue.js';
import { writeSpool } from '../../src/queue/spool.js';
import type { ClaimedJob, JobState, NewJob } from '../../src/queue/types.js';
import { type Processor, Worker, type WorkerOptions } from '../../src/queue/worker.js';
import { makeTempDir } from '../helpers/temp.js';

const workers: Worker[] = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.close({ graceMs: 0 })));
});

function setup(queueOptions: OpenQueueOptions = {}): { queue: Queue; dataDir: string } {
  const dataDir = makeTempDir();
  const queue = openQueue({ dataDir, backoff: { delayMs: 20, jitter: 0 }, ...queueOptions });
  return { queue, dataDir };
}

/** Starts a worker; `listen` subscribes before the first claim, which happens inside run(). */
function startWorker(
  queue: Queue,
  processor: Processor,
  options: WorkerOptions = {},
  listen: (worker: Worker) => void = () => undefined,
): Worker {
  const worker = new Worker(queue, processor, { pollIntervalMs: 10, ...options });
  worker.on('error', (error) => {
    throw error;
  });
  listen(worker);
  workers.push(worker);
  void worker.run();
  return worker;
}

function job(sha: string, extra: Partial<NewJob> = {}): NewJob {
  return { kind: 'commit-report', repository: '/repos/app/.git', commitSha: sha, ...extra };
}

/** Polls until the job reaches `state`, failing the test after `timeoutMs`. */
async function waitForState(queue: Queue, id: string, state: JobState, timeoutMs = 10_000): Promise<void> {
  for (let waited = 0; waited < timeoutMs; waited += 10) {
    if (queue.getJob(id)?.state === state) {
      return;
    }

    await sleep(10);
  }

  throw new Error(`job ${id} did not reach ${state}; it is ${queue.getJob(id)?.state}`);
}

/** A promise with its resolve function, to hold a processor until the test lets it go. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('Worker', () => {
  it('completes a job with its report', async () => {
    const { queue } = setup();
    const { job: added } = queue.add(job('a1'));
    const seen: string[] = [];
    startWorker(queue, async (claimed) => ({ report: { content: { sha: claimed.commitSha } } }), {}, (worker) => {
      worker.on('active', () => seen.push('active'));
      worker.on('completed', () => seen.push('completed'));
    });

    await waitForState(queue, added.id, 'completed');

    const stored = queue.getJob(added.id)!;
    expect(queue.getReport(stored.resultId!)?.content).toEqual({ sha: 'a1' });
    expect(seen).toEqual(['active', 'completed']);
  });

  it('runs up to concurrency jobs at once', async () => {
    const { queue } = setup();
    const ids = ['a1', 'a2', 'a3'].map((sha) => queue.add(job(sha)).job.id);
    const release = gate();
    let running = 0;
    let maxRunning = 0;
    startWorker(
      queue,
      async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await release.promise;
        running -= 1;
      },
      { concurrency: 2 },
    );

    await waitForState(queue, ids[1]!, 'active');
    expect(queue.getCounts().active).toBe(2);
    release.open();
    await waitForState(queue, ids[2]!, 'completed');

    expect(maxRunning).toBe(2);
  });

  it('retries a failed attempt, then completes', async () => {
    const { queue } = setup();
    const { job: added } = queue.add(job('a1'));
    let calls = 0;
    const retried: string[] = [];
    startWorker(
      queue,
      async () => {
        calls += 1;
        if (calls === 1) {
          throw new Error('Ollama returned 503');
        }
      },
      {},
      (worker) => worker.on('retried', (claimed: ClaimedJob) => retried.push(claimed.id)),
    );

    await waitForState(queue, added.id, 'completed');

    expect(retried).toEqual([added.id]);
    expect(queue.getJob(added.id)?.attemptsMade).toBe(2);
  });

  it('fails an unrecoverable job at once', async () => {
    const { queue } = setup();
    const { job: added } = queue.add(job('a1'));
    let calls = 0;
    startWorker(queue, async () => {
      calls += 1;
      throw new UnrecoverableError('model not found: run `ollama pull qwen2.5-coder`');
    });

    await waitForState(queue, added.id, 'failed');

    expect(calls).toBe(1);
    expect(queue.getJob(added.id)?.failedReason).toBe('unrecoverable');
  });

  it('releases a RetryLaterError without an attempt', async () => {
    const { queue } = setup();
    const { job: added } = queue.add(job('a1'));
    let calls = 0;
    startWorker(queue, async () => {
      calls += 1;
      if (calls < 3) {
        throw new RetryLaterError('Ollama is not running', 10);
      }
    });

    await waitForState(queue, added.id, 'completed');

    const done = queue.getJob(added.id)!;
    expect(done.attemptsMade).toBe(1);
    expect(done.attemptsStarted).toBe(3);
    const released = queue.getEvents({ jobId: added.id }).filter((event) => event.type === 'released');
    expect(released).toHaveLength(2);
  });

  it('throttles progress writes', async () => {
    const { queue } = setup();
    const { job: added } = queue.add(job('a1'));
    const finish = gate();
    startWorker(
      queue,
      async (_claimed, context) => {
        for (let tokens = 1; tokens <= 200; tokens++) {
          context.updateProgress({ tokens });
        }

        await sleep(150);
        await finish.promise;
      },
      { progressIntervalMs: 1000 },
    );

    await waitForState(queue, added.id, 'active');
    await sleep(300);
    const progressEvents = queue.getEvents({ jobId: added.id }).filter((event) => event.type === 'progress');
    finish.open();

    expect(progressEvents).toHaveLength(1);
    expect(progressEvents[0]?.data).toEqual({ tokens: 200 });
  });

  it('aborts a cancelled job', async () => {
    const { queue } = setup();
    const { job: added } = queue.add(job('a1'));
    let aborted = false;
    const worker = startWorker(
      queue,
      (_claimed, context) =>
        new Promise((_resolve, reject) => {
          context.signal.addEventListener('abort', () => {
            aborted = true;
            reject(context.signal.reason);
          });
        }),
      { lockRenewMs: 20 },
    );
    const lost = new Promise((resolve) => worker.once('lockLost', resolve));

    await waitForState(queue, added.id, 'active');
    queue.cancel(added.id);
    await lost;

    expect(aborted).toBe(true);
    expect(queue.getJob(added.id)?.state).toBe('cancelled');
  });

  it('counts a timed-out job as a failed attempt', async () => {
    const { queue } = setup();
    const { job: added } = queue.add(job('a1', { maxAttempts: 1 }));
    startWorker(
      queue,
      (_claimed, context) =>
        new Promise((_resolve, reject) => {
          context.signal.addEventListener('abort', () => reject(context.signal.reason));
        }),
      { jobTimeoutMs: 50 },
    );

    await waitForState(queue, added.id, 'failed');

    const failed = queue.getJob(added.id)!;
    expect(failed.errorClass).toBe('JobTimeoutError');
    expect(failed.lastError).toMatch(/timed out after 50 ms/);
  });

  it('recovers a dead worker’s job', async () => {
    const { queue } = setup({ lockDurationMs: 100 });
    const { job: added } = queue.add(job('a1'));
    queue.claim('dead-worker');
    const stalls: string[][] = [];
    startWorker(queue, async () => undefined, { stalledIntervalMs: 20 }, (worker) =>
      worker.on('stalled', (result) => stalls.push(result.requeued)),
    );

    await waitForState(queue, added.id, 'completed');

    expect(stalls).toEqual([[added.id]]);
    expect(queue.getJob(added.id)?.stalledCount).toBe(1);
  });

  it('ingests the spool', async () => {
    const { queue, dataDir } = setup();
    const id = '00000000-0000-4000-8000-0000000000aa';
    writeSpool(dataDir, { ...job('s1'), id });

    startWorker(queue, async () => undefined);
    await waitForState(queue, id, 'completed');

    expect(queue.getJob(id)?.commitSha).toBe('s1');
  });
});

describe('Worker.close', () => {
  it('lets a running job finish within the grace period', async () => {
    const { queue } = setup();
    const { job: added } = queue.add(job('a1'));
    const worker = startWorker(queue, async () => {
      await sleep(100);
    });
    await waitForState(queue, added.id, 'active');

    await worker.close({ graceMs: 5000 });

    expect(queue.getJob(added.id)?.state).toBe('completed');
  });

  it('releases a job still running after the grace period', async () => {
    const { queue } = setup();
    const { job: added } = queue.add(job('a1'));
    const worker = startWorker(
      queue,
      (_claimed, context) =>
        new Promise((_resolve, reject) => {
          context.signal.addEventListener('abort', () => reject(context.signal.reason));
        }),
    );
    await waitForState(queue, added.id, 'active');

    await worker.close({ graceMs: 50 });

    const released = queue.getJob(added.id)!;
    expect(released.state).toBe('waiting');
    expect(released.attemptsMade).toBe(0);
    expect(released.stalledCount).toBe(0);
  });

  it('releases a job whose processor ignores the signal', async () => {
    const { queue } = setup();
    const { job: added } = queue.add(job('a1'));
    const never = gate();
    const worker = startWorker(queue, () => never.promise);
    await waitForState(queue, added.id, 'active');

    await worker.close({ graceMs: 10 });

    expect(queue.getJob(added.id)?.state).toBe('waiting');
    never.open();
    await sleep(20);
    expect(queue.getJob(added.id)?.state).toBe('waiting');
  });

  it('stops claiming and shares one promise', async () => {
    const { queue } = setup();
    const worker = startWorker(queue, async () => undefined);

    const first = worker.close();
    const second = worker.close();
    await first;
    const { job: late } = queue.add(job('late'));
    await sleep(50);

    expect(second).toBe(first);
    expect(queue.getJob(late.id)?.state).toBe('waiting');
  });
});
