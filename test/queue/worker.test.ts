import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, describe, expect, it } from 'vitest';

import { InvalidOptionError, RetryLaterError, UnrecoverableError } from '../../src/errors.js';
import { type OpenQueueOptions, type Queue, openQueue } from '../../src/queue/queue.js';
import { writeSpool } from '../../src/queue/spool.js';
import type { ClaimedJob, JobState, NewJob } from '../../src/queue/types.js';
import { LockLostError, type Processor, Worker, WorkerClosingError, type WorkerOptions } from '../../src/queue/worker.js';
import { fakeSha } from '../helpers/commits.js';
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
  return { kind: 'commit-report', repository: '/repos/app/.git', commitSha: fakeSha(sha), ...extra };
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

/** Polls until `condition` holds, failing the test after `timeoutMs`. */
async function waitUntil(condition: () => boolean, description: string, timeoutMs = 10_000): Promise<void> {
  for (let waited = 0; waited < timeoutMs; waited += 5) {
    if (condition()) {
      return;
    }

    await sleep(5);
  }

  throw new Error(`${description} did not happen within ${timeoutMs} ms`);
}

/** Resolves with the promise's value, or fails the test when it has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, description: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${description} did not happen within ${ms} ms`)), ms);
  });

  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Returns a processor that waits for its signal, records the abort reason in `reasons` and rejects with it. */
function abortable(reasons: unknown[]): Processor {
  return (_claimed, context) =>
    new Promise((_resolve, reject) => {
      context.signal.addEventListener('abort', () => {
        reasons.push(context.signal.reason);
        reject(context.signal.reason);
      });
    });
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
    expect(queue.getReport(stored.resultId!)?.content).toEqual({ sha: fakeSha('a1') });
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

  it('aborts a job cancelled by another connection before the lock renewal', async () => {
    const renewMs = 20_000;
    const { queue, dataDir } = setup();
    const other = openQueue({ dataDir });
    try {
      const { job: added } = queue.add(job('a1'));
      const reasons: unknown[] = [];
      const worker = startWorker(queue, abortable(reasons), { lockRenewMs: renewMs, pollIntervalMs: 10 });
      const lost = new Promise<unknown[]>((resolve) => worker.once('lockLost', (...args: unknown[]) => resolve(args)));

      await waitForState(queue, added.id, 'active');
      other.cancel(added.id);
      // The lock renewal would notice the cancel only after renewMs, so the poll must have noticed it.
      const args = await within(lost, renewMs / 2, 'lockLost');

      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toBeInstanceOf(LockLostError);
      expect(args).toHaveLength(1);
      expect((args[0] as ClaimedJob).id).toBe(added.id);
      expect(queue.getJob(added.id)?.state).toBe('cancelled');
    } finally {
      other.close();
    }
  });

  it('emits lockLost with the job alone when closing finds it cancelled', async () => {
    const { queue } = setup();
    const { job: added } = queue.add(job('a1'));
    const reasons: unknown[] = [];
    const lostArgs: unknown[][] = [];
    // The claim happens in the first poll, and the next poll, with its lock check, never comes.
    const options = { lockRenewMs: 20_000, pollIntervalMs: 60_000 };
    const worker = startWorker(queue, abortable(reasons), options, (started) =>
      started.on('lockLost', (...args: unknown[]) => lostArgs.push(args)),
    );
    await waitForState(queue, added.id, 'active');
    queue.cancel(added.id);

    await worker.close({ graceMs: 0 });

    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(WorkerClosingError);
    expect(lostArgs).toHaveLength(1);
    expect(lostArgs[0]).toHaveLength(1);
    expect((lostArgs[0]?.[0] as ClaimedJob).id).toBe(added.id);
    expect(queue.getJob(added.id)?.state).toBe('cancelled');
  });

  it('writes pending progress before completing', async () => {
    const { queue } = setup();
    const { job: added } = queue.add(job('a1'));
    startWorker(
      queue,
      async (_claimed, context) => {
        context.updateProgress({ step: 1 });
      },
      { progressIntervalMs: 60_000 },
    );

    await waitForState(queue, added.id, 'completed');

    expect(queue.getJob(added.id)?.progress).toEqual({ step: 1 });
  });

  it('writes the last throttled progress before completing', async () => {
    const { queue } = setup();
    const { job: added } = queue.add(job('a1'));
    const progressEvents = () => queue.getEvents({ jobId: added.id }).filter((event) => event.type === 'progress');
    startWorker(
      queue,
      async (_claimed, context) => {
        context.updateProgress({ step: 1 });
        await waitUntil(() => progressEvents().length === 1, 'the first progress write');
        // Both fall inside the throttle interval, so only the completion can write the last one.
        context.updateProgress({ step: 2 });
        context.updateProgress({ step: 3 });
      },
      { progressIntervalMs: 60_000 },
    );

    await waitForState(queue, added.id, 'completed');

    expect(queue.getJob(added.id)?.progress).toEqual({ step: 3 });
    expect(progressEvents().map((event) => event.data)).toEqual([{ step: 1 }, { step: 3 }]);
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

    expect(queue.getJob(id)?.commitSha).toBe(fakeSha('s1'));
  });
});

describe('Worker errors', () => {
  it('emits a repeated loop error once', async () => {
    const { queue } = setup();
    const worker = new Worker(queue, async () => undefined, { pollIntervalMs: 5 });
    workers.push(worker);
    const errors: unknown[][] = [];
    worker.on('error', (...args: unknown[]) => errors.push(args));
    let claims = 0;
    const claim = queue.claim.bind(queue);
    queue.claim = (owner) => {
      claims += 1;
      return claim(owner);
    };
    // Every claim, stall check and clean now fails with the same message, as on a broken database.
    queue.database.close();

    void worker.run();
    await waitUntil(() => claims >= 10, 'ten claims');

    expect(errors).toHaveLength(1);
    expect(errors[0]?.[0]).toBeInstanceOf(Error);
    expect((errors[0]?.[0] as Error).message).toMatch(/not open/);
    expect(errors[0]?.[1]).toBeUndefined();
    expect(errors[0]?.[2]).toBe(0);
  });
});

describe('Worker options', () => {
  it('rejects a processor that is not a function', () => {
    const { queue } = setup();

    expect(() => new Worker(queue, 'nope' as unknown as Processor)).toThrow(InvalidOptionError);
    expect(() => new Worker(queue, 'nope' as unknown as Processor)).toThrow(
      'invalid processor: expected a function, received "nope"',
    );
  });

  // A lock renewed no sooner than it expires lets another worker recover the live job and run it twice.
  it.each([1000, 5000])('rejects lockRenewMs %i with a 1000 ms lock', (lockRenewMs) => {
    const { queue } = setup({ lockDurationMs: 1000 });

    expect(() => new Worker(queue, async () => undefined, { lockRenewMs })).toThrow(InvalidOptionError);
    expect(() => new Worker(queue, async () => undefined, { lockRenewMs })).toThrow(
      "invalid lockRenewMs: expected less than the queue's lockDurationMs (1000)",
    );
  });

  it('accepts lockRenewMs just below the lock duration', () => {
    const { queue } = setup({ lockDurationMs: 1000 });

    const worker = new Worker(queue, async () => undefined, { lockRenewMs: 999 });

    expect(worker.activeJobIds).toEqual([]);
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

describe('Worker queue actions', () => {
  it('releases an error asking for release', async () => {
    const { queue } = setup();
    const { job: added } = queue.add(job('a1'));
    let calls = 0;
    startWorker(queue, async () => {
      calls += 1;
      if (calls === 1) {
        throw Object.assign(new Error('Ollama is busy'), { queueAction: 'release', retryDelayMs: 10 });
      }
    });

    await waitForState(queue, added.id, 'completed');

    const done = queue.getJob(added.id)!;
    expect(done.attemptsMade).toBe(1);
    expect(done.attemptsStarted).toBe(2);
  });

  it('fails an error asking to fail', async () => {
    const { queue } = setup();
    const { job: added } = queue.add(job('a1'));
    startWorker(queue, async () => {
      throw Object.assign(new Error('model not found: run `ollama pull x`'), { queueAction: 'fail' });
    });

    await waitForState(queue, added.id, 'failed');

    const failed = queue.getJob(added.id)!;
    expect(failed.failedReason).toBe('unrecoverable');
    expect(failed.attemptsMade).toBe(1);
  });
});

describe('Worker aborted processors', () => {
  it('completes a job whose processor still returned', async () => {
    const { queue } = setup();
    const { job: added } = queue.add(job('a1'));
    const worker = startWorker(
      queue,
      (_claimed, context) =>
        new Promise((resolve) => {
          context.signal.addEventListener('abort', () => resolve({ report: { content: { finished: true } } }));
        }),
    );
    await waitForState(queue, added.id, 'active');

    await worker.close({ graceMs: 10 });

    const done = queue.getJob(added.id)!;
    expect(done.state).toBe('completed');
    expect(queue.getReport(done.resultId!)?.content).toEqual({ finished: true });
  });
});
