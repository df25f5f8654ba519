import fs from 'node:fs';

import { describe, expect, it } from 'vitest';

import { InvalidOptionError, JobNotFoundError, JobStateError, UnrecoverableError } from '../../src/errors.js';
import { type OpenQueueOptions, type Queue, openQueue } from '../../src/queue/queue.js';
import type { JobState, NewJob } from '../../src/queue/types.js';
import { FakeClock } from '../helpers/clock.js';
import { fakeSha } from '../helpers/commits.js';
import { makeTempDir } from '../helpers/temp.js';

const SECOND = 1000;
const DAY = 24 * 60 * 60 * SECOND;

function setup(options: OpenQueueOptions = {}): { queue: Queue; clock: FakeClock } {
  const clock = new FakeClock();
  // random() = 0 takes the top of the jitter range, so delays are exact.
  const queue = openQueue({ dataDir: makeTempDir(), clock: clock.read, random: () => 0, ...options });
  return { queue, clock };
}

function commitJob(sha: string, extra: Partial<NewJob> = {}): NewJob {
  return { kind: 'commit-report', repository: '/repos/app/.git', commitSha: fakeSha(sha), ...extra };
}

describe('Queue.add', () => {
  it('stores a waiting job with a UUID', () => {
    const { queue } = setup();

    const { job, deduplicated } = queue.add(commitJob('a1'));

    expect(deduplicated).toBe(false);
    expect(job.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(job.state).toBe('waiting');
    expect(job.attemptsMade).toBe(0);
    expect(job.maxAttempts).toBe(5);
    expect(queue.getJob(job.id)).toEqual(job);
  });

  it('deduplicates a live job for the same commit', () => {
    const { queue } = setup();
    const first = queue.add(commitJob('a1')).job;

    const second = queue.add(commitJob('a1'));

    expect(second.deduplicated).toBe(true);
    expect(second.job.id).toBe(first.id);
    expect(queue.getCounts().waiting).toBe(1);
  });

  it('deduplicates while the job is active', () => {
    const { queue } = setup();
    const first = queue.add(commitJob('a1')).job;
    queue.claim('worker-1');

    const second = queue.add(commitJob('a1'));

    expect(second.deduplicated).toBe(true);
    expect(second.job.id).toBe(first.id);
    expect(second.job.state).toBe('active');
  });

  it('raises a waiting duplicate to a higher priority', () => {
    const { queue } = setup();
    queue.add(commitJob('a1', { priority: 'normal' }));
    const other = queue.add(commitJob('b2', { priority: 'high' })).job;

    const raised = queue.add(commitJob('a1', { priority: 'high' }));
    const lowered = queue.add(commitJob('a1', { priority: 'low' }));

    expect(raised.deduplicated).toBe(true);
    expect(raised.job.priority).toBe(1);
    expect(lowered.job.priority).toBe(1);
    expect(queue.getJob(raised.job.id)?.priority).toBe(1);
    // Among equal priorities the older job is claimed first.
    expect(queue.claim('worker-1')?.id).toBe(raised.job.id);
    expect(queue.claim('worker-1')?.id).toBe(other.id);
  });

  it('keeps the priority of an active duplicate', () => {
    const { queue } = setup();
    queue.add(commitJob('a1', { priority: 'low' }));
    queue.claim('worker-1');

    const second = queue.add(commitJob('a1', { priority: 'high' }));

    expect(second.job.state).toBe('active');
    expect(second.job.priority).toBe(3);
  });

  it('adds a new job once the old one finished', () => {
    const { queue } = setup();
    const first = queue.add(commitJob('a1')).job;
    const claimed = queue.claim('worker-1');
    queue.complete(claimed!);

    const second = queue.add(commitJob('a1'));

    expect(second.deduplicated).toBe(false);
    expect(second.job.id).not.toBe(first.id);
  });

  it('returns the existing job for a known id', () => {
    const { queue } = setup();
    const first = queue.add(commitJob('a1', { id: '00000000-0000-4000-8000-000000000001' })).job;

    const again = queue.add(commitJob('b2', { id: first.id }));

    expect(again.deduplicated).toBe(true);
    expect(again.job.commitSha).toBe(fakeSha('a1'));
  });

  it('records an added event', () => {
    const { queue } = setup();
    const { job } = queue.add(commitJob('a1'));

    const events = queue.getEvents({ jobId: job.id });

    expect(events.map((event) => event.type)).toEqual(['added']);
  });

  const cyclic: Record<string, unknown> = { name: 'cycle' };
  cyclic.self = cyclic;

  it.each([
    ['an empty kind', 'kind', { kind: '' }],
    ['an empty repository', 'repository', { repository: '' }],
    ['a relative repository', 'repository', { repository: 'repos/app/.git' }],
    ['a missing commitSha', 'commitSha', { commitSha: undefined as unknown as string }],
    ['a blank commitSha', 'commitSha', { commitSha: '  ' }],
    ['a commitSha that is no hex', 'commitSha', { commitSha: 'not a sha' }],
    ['a short commitSha', 'commitSha', { commitSha: 'a1b2c3d' }],
    ['a commitSha of 39 digits', 'commitSha', { commitSha: 'a'.repeat(39) }],
    ['a commitSha of 41 digits', 'commitSha', { commitSha: 'a'.repeat(41) }],
    ['an upper-case commitSha', 'commitSha', { commitSha: 'A'.repeat(40) }],
    ['an empty dedupKey', 'dedupKey', { dedupKey: '' }],
    ['a numeric dedupKey', 'dedupKey', { dedupKey: 7 as unknown as string }],
    ['a function payload', 'payload', { payload: () => 1 }],
    ['a symbol payload', 'payload', { payload: Symbol('job') }],
    ['a BigInt in the payload', 'payload', { payload: { count: 1n } }],
    ['a cyclic payload', 'payload', { payload: cyclic }],
    ['a fractional priority', 'priority', { priority: 1.5 }],
    ['an unknown priority name', 'priority', { priority: 'urgent' as unknown as 'high' }],
    ['maxAttempts 0', 'maxAttempts', { maxAttempts: 0 }],
    ['a negative delayMs', 'delayMs', { delayMs: -1 }],
  ])('rejects %s', (_label, option, extra) => {
    const { queue } = setup();

    expect(() => queue.add(commitJob('a1', extra as Partial<NewJob>))).toThrow(InvalidOptionError);
    expect(() => queue.add(commitJob('a1', extra as Partial<NewJob>))).toThrow(`invalid ${option}:`);
    expect(queue.getCounts().waiting).toBe(0);
  });

  it('accepts a SHA-256 commit id', () => {
    const { queue } = setup();
    const sha256 = 'c0ffee'.padEnd(64, '0');

    const { job } = queue.add(commitJob('a1', { commitSha: sha256 }));

    expect(queue.getJob(job.id)?.commitSha).toBe(sha256);
  });
});

describe('Queue.claim', () => {
  it('runs higher priority first, oldest first among equals', () => {
    const { queue } = setup();
    const lowOld = queue.add(commitJob('a1', { priority: 'low' })).job;
    const normal = queue.add(commitJob('a2')).job;
    const high = queue.add(commitJob('a3', { priority: 'high' })).job;
    const lowNew = queue.add(commitJob('a4', { priority: 'low' })).job;

    const order = [1, 2, 3, 4].map(() => queue.claim('worker-1')!.id);

    expect(order).toEqual([high.id, normal.id, lowOld.id, lowNew.id]);
  });

  it('never hands one job to two owners', () => {
    const { queue } = setup();
    queue.add(commitJob('a1'));

    const first = queue.claim('worker-1');
    const second = queue.claim('worker-2');

    expect(first?.state).toBe('active');
    expect(second).toBeUndefined();
  });

  it('gives each claim a new fencing token', () => {
    const { queue, clock } = setup({ lockDurationMs: 10 * SECOND });
    queue.add(commitJob('a1'));
    const first = queue.claim('worker-1')!;
    clock.advance(11 * SECOND);
    queue.requeueStalled();

    const second = queue.claim('worker-2')!;

    expect(second.id).toBe(first.id);
    expect(second.token).not.toBe(first.token);
  });

  it('holds a delayed job until it is due', () => {
    const { queue, clock } = setup();
    const { job } = queue.add(commitJob('a1', { delayMs: 30 * SECOND }));
    expect(job.state).toBe('delayed');

    expect(queue.claim('worker-1')).toBeUndefined();
    clock.advance(30 * SECOND);
    const claimed = queue.claim('worker-1');

    expect(claimed?.id).toBe(job.id);
  });
});

describe('fenced writes', () => {
  it('ignore a stale token', () => {
    const { queue } = setup();
    queue.add(commitJob('a1'));
    const claimed = queue.claim('worker-1')!;
    const stale = { id: claimed.id, token: 'not-the-token' };

    expect(queue.updateProgress(stale, 50)).toBe(false);
    expect(queue.extendLock(stale)).toBe(false);
    expect(queue.complete(stale, { report: { content: { title: 'x' } } })).toBe(false);
    expect(queue.fail(stale, new Error('boom'))).toBe('stale');
    expect(queue.release(stale)).toBe(false);

    const job = queue.getJob(claimed.id)!;
    expect(job.state).toBe('active');
    expect(job.progress).toBeNull();
    expect(job.resultId).toBeNull();
  });

  it('stop a requeued job from completing twice', () => {
    const { queue, clock } = setup({ lockDurationMs: 10 * SECOND });
    queue.add(commitJob('a1'));
    const lost = queue.claim('worker-1')!;
    clock.advance(11 * SECOND);
    queue.requeueStalled();
    const current = queue.claim('worker-2')!;

    expect(queue.complete(current, { report: { content: { n: 2 } } })).toBe(true);
    expect(queue.complete(lost, { report: { content: { n: 1 } } })).toBe(false);

    const completed = queue.getEvents({ jobId: current.id }).filter((event) => event.type === 'completed');
    expect(completed).toHaveLength(1);
    const job = queue.getJob(current.id)!;
    expect(queue.getReport(job.resultId!)?.content).toEqual({ n: 2 });
  });

  it('store progress and its event', () => {
    const { queue } = setup();
    queue.add(commitJob('a1'));
    const claimed = queue.claim('worker-1')!;

    expect(queue.updateProgress(claimed, { phase: 'generating', tokens: 12 })).toBe(true);

    expect(queue.getJob(claimed.id)?.progress).toEqual({ phase: 'generating', tokens: 12 });
    expect(queue.getEvents({ jobId: claimed.id }).at(-1)?.type).toBe('progress');
  });
});

describe('Queue.complete', () => {
  it('stores the report apart from the job', () => {
    const { queue } = setup();
    queue.add(commitJob('a1'));
    const claimed = queue.claim('worker-1')!;

    queue.complete(claimed, { report: { content: { title: 'Fix parser' } } });

    const job = queue.getJob(claimed.id)!;
    expect(job.state).toBe('completed');
    expect(job.attemptsMade).toBe(1);
    const report = queue.getReport(job.resultId!);
    expect(report?.content).toEqual({ title: 'Fix parser' });
    expect(report?.commitSha).toBe(fakeSha('a1'));
  });
});

describe('Queue.fail', () => {
  it('retries with exponential backoff', () => {
    const { queue, clock } = setup({ backoff: { delayMs: 10 * SECOND, maxDelayMs: 60 * SECOND, jitter: 0.2 } });
    const { job } = queue.add(commitJob('a1'));
    const delays: number[] = [];

    for (let attempt = 1; attempt <= 4; attempt++) {
      const claimed = queue.claim('worker-1')!;
      expect(queue.fail(claimed, new Error(`boom ${attempt}`))).toBe('retried');
      const delayed = queue.getJob(job.id)!;
      delays.push(delayed.runAt - clock.now);
      clock.advance(delayed.runAt - clock.now);
    }

    expect(delays).toEqual([10 * SECOND, 20 * SECOND, 40 * SECOND, 60 * SECOND]);
  });

  it('applies jitter below the exponential delay', () => {
    const { queue, clock } = setup({ random: () => 0.5, backoff: { delayMs: 10 * SECOND, jitter: 0.2 } });
    queue.add(commitJob('a1'));

    queue.fail(queue.claim('worker-1')!, new Error('boom'));

    const job = queue.getJobs()[0]!;
    expect(job.runAt - clock.now).toBe(9 * SECOND);
  });

  it('marks a retry delayed with the error', () => {
    const { queue } = setup();
    const { job } = queue.add(commitJob('a1'));

    queue.fail(queue.claim('worker-1')!, Object.assign(new TypeError('socket hang up'), { code: 'ECONNRESET' }));

    const delayed = queue.getJob(job.id)!;
    expect(delayed.state).toBe('delayed');
    expect(delayed.attemptsMade).toBe(1);
    expect(delayed.lastError).toBe('socket hang up');
    expect(delayed.errorClass).toBe('TypeError');
    expect(delayed.errorCode).toBe('ECONNRESET');
    expect(queue.getEvents({ jobId: job.id }).at(-1)?.type).toBe('retried');
  });

  it('fails after maxAttempts', () => {
    const { queue, clock } = setup();
    const { job } = queue.add(commitJob('a1', { maxAttempts: 3 }));
    const outcomes: string[] = [];

    for (let attempt = 1; attempt <= 3; attempt++) {
      clock.advance(DAY);
      outcomes.push(queue.fail(queue.claim('worker-1')!, new Error('boom')));
    }

    expect(outcomes).toEqual(['retried', 'retried', 'failed']);
    const failed = queue.getJob(job.id)!;
    expect(failed.state).toBe('failed');
    expect(failed.failedReason).toBe('attempts-exhausted');
    expect(failed.attemptsMade).toBe(3);
    expect(queue.claim('worker-1')).toBeUndefined();
  });

  it('fails an UnrecoverableError at once', () => {
    const { queue } = setup();
    const { job } = queue.add(commitJob('a1'));

    const outcome = queue.fail(queue.claim('worker-1')!, new UnrecoverableError('model not found'));

    expect(outcome).toBe('failed');
    const failed = queue.getJob(job.id)!;
    expect(failed.failedReason).toBe('unrecoverable');
    expect(failed.attemptsMade).toBe(1);
  });

  it('fails at once when marked permanent', () => {
    const { queue } = setup();
    queue.add(commitJob('a1'));

    expect(queue.fail(queue.claim('worker-1')!, new Error('bad request'), { permanent: true })).toBe('failed');
  });

  it('cuts a long error message', () => {
    const { queue } = setup();
    const { job } = queue.add(commitJob('a1'));

    queue.fail(queue.claim('worker-1')!, new Error('x'.repeat(10_000)));

    expect(queue.getJob(job.id)!.lastError!.length).toBeLessThanOrEqual(2001);
  });
});

describe('Queue.release', () => {
  it('returns the job without spending an attempt', () => {
    const { queue } = setup();
    const { job } = queue.add(commitJob('a1'));

    expect(queue.release(queue.claim('worker-1')!, { reason: 'shutdown' })).toBe(true);

    const released = queue.getJob(job.id)!;
    expect(released.state).toBe('waiting');
    expect(released.attemptsMade).toBe(0);
    expect(released.stalledCount).toBe(0);
    expect(queue.getEvents({ jobId: job.id }).at(-1)?.data).toEqual({ reason: 'shutdown', delayMs: 0 });
  });

  it('delays the job when asked', () => {
    const { queue, clock } = setup();
    const { job } = queue.add(commitJob('a1'));

    queue.release(queue.claim('worker-1')!, { delayMs: 5 * SECOND, reason: 'ollama unreachable' });

    expect(queue.getJob(job.id)?.state).toBe('delayed');
    expect(queue.claim('worker-1')).toBeUndefined();
    clock.advance(5 * SECOND);
    expect(queue.claim('worker-1')?.id).toBe(job.id);
  });
});

describe('Queue.release options', () => {
  it.each([-1, 1.5, Number.NaN])('rejects delayMs %o and keeps the lock', (delayMs) => {
    const { queue } = setup();
    queue.add(commitJob('a1'));
    const claimed = queue.claim('worker-1')!;

    expect(() => queue.release(claimed, { delayMs })).toThrow(InvalidOptionError);
    expect(() => queue.release(claimed, { delayMs })).toThrow('invalid delayMs: expected an integer >= 0');
    expect(queue.getJob(claimed.id)?.state).toBe('active');
    expect(queue.holdsLock(claimed)).toBe(true);
  });
});

describe('Queue.holdsLock', () => {
  it('is true for the current claim', () => {
    const { queue } = setup();
    queue.add(commitJob('a1'));

    const claimed = queue.claim('worker-1')!;

    expect(queue.holdsLock(claimed)).toBe(true);
  });

  it('is false for a stale token', () => {
    const { queue } = setup();
    queue.add(commitJob('a1'));
    const claimed = queue.claim('worker-1')!;

    expect(queue.holdsLock({ id: claimed.id, token: 'not-the-token' })).toBe(false);
  });

  it('is false once the job is cancelled', () => {
    const { queue } = setup();
    queue.add(commitJob('a1'));
    const claimed = queue.claim('worker-1')!;

    queue.cancel(claimed.id);

    expect(queue.holdsLock(claimed)).toBe(false);
  });

  it('is false once the job completed', () => {
    const { queue } = setup();
    queue.add(commitJob('a1'));
    const claimed = queue.claim('worker-1')!;

    queue.complete(claimed);

    expect(queue.holdsLock(claimed)).toBe(false);
  });

  it('is false for the previous owner of a recovered job', () => {
    const { queue, clock } = setup({ lockDurationMs: 10 * SECOND });
    queue.add(commitJob('a1'));
    const lost = queue.claim('worker-1')!;
    clock.advance(10 * SECOND);
    queue.requeueStalled();

    const current = queue.claim('worker-2')!;

    expect(queue.holdsLock(lost)).toBe(false);
    expect(queue.holdsLock(current)).toBe(true);
  });

  it('is false for an unknown job', () => {
    const { queue } = setup();

    expect(queue.holdsLock({ id: 'no-such-job', token: 'any' })).toBe(false);
  });
});

describe('Queue.requeueStalled', () => {
  it('requeues an expired lock and counts a stall', () => {
    const { queue, clock } = setup({ lockDurationMs: 10 * SECOND });
    const { job } = queue.add(commitJob('a1'));
    queue.claim('dead-worker');

    clock.advance(9 * SECOND);
    expect(queue.requeueStalled().requeued).toEqual([]);
    clock.advance(1 * SECOND);
    const result = queue.requeueStalled();

    expect(result.requeued).toEqual([job.id]);
    const stalled = queue.getJob(job.id)!;
    expect(stalled.state).toBe('waiting');
    expect(stalled.stalledCount).toBe(1);
    expect(stalled.attemptsMade).toBe(0);
    expect(queue.getEvents({ jobId: job.id }).at(-1)?.type).toBe('stalled');
  });

  it('fails a job on its second stall', () => {
    const { queue, clock } = setup({ lockDurationMs: 10 * SECOND });
    const { job } = queue.add(commitJob('a1'));

    for (let stall = 1; stall <= 2; stall++) {
      queue.claim('dead-worker');
      clock.advance(10 * SECOND);
      queue.requeueStalled();
    }

    const failed = queue.getJob(job.id)!;
    expect(failed.state).toBe('failed');
    expect(failed.failedReason).toBe('stalled');
    expect(failed.stalledCount).toBe(2);
    expect(failed.errorClass).toBe('StalledJobError');
  });

  it('keeps remaining retries after a stall', () => {
    const { queue, clock } = setup({ lockDurationMs: 10 * SECOND, maxStalls: 3 });
    const { job } = queue.add(commitJob('a1', { maxAttempts: 2 }));
    clock.advance(1);
    queue.fail(queue.claim('worker-1')!, new Error('first attempt failed'));
    clock.advance(DAY);
    queue.claim('dead-worker');
    clock.advance(10 * SECOND);

    queue.requeueStalled();

    const requeued = queue.getJob(job.id)!;
    expect(requeued.state).toBe('waiting');
    expect(requeued.attemptsMade).toBe(1);
    const last = queue.claim('worker-2')!;
    expect(queue.fail(last, new Error('second attempt failed'))).toBe('failed');
  });

  it('recovers a job on its last attempt', () => {
    const { queue, clock } = setup({ lockDurationMs: 10 * SECOND });
    const { job } = queue.add(commitJob('a1', { maxAttempts: 1 }));
    queue.claim('dead-worker');
    clock.advance(10 * SECOND);

    queue.requeueStalled();

    expect(queue.getJob(job.id)?.state).toBe('waiting');
    expect(queue.complete(queue.claim('worker-2')!)).toBe(true);
  });

  it('leaves the live owner alone', () => {
    const { queue, clock } = setup({ lockDurationMs: 10 * SECOND });
    queue.add(commitJob('a1'));
    queue.claim('me');
    clock.advance(20 * SECOND);

    expect(queue.requeueStalled({ exceptOwner: 'me' }).requeued).toEqual([]);
  });

  it('takes unexpired orphans when told no one else lives', () => {
    const { queue } = setup({ lockDurationMs: 10 * SECOND });
    const { job } = queue.add(commitJob('a1'));
    queue.claim('previous-daemon');

    const result = queue.requeueStalled({ exceptOwner: 'new-daemon', includeUnexpired: true });

    expect(result.requeued).toEqual([job.id]);
  });
});

describe('Queue.cancel', () => {
  it('cancels a waiting job', () => {
    const { queue } = setup();
    const { job } = queue.add(commitJob('a1'));

    expect(queue.cancel(job.id).state).toBe('cancelled');
    expect(queue.claim('worker-1')).toBeUndefined();
  });

  it('takes the lock from an active job', () => {
    const { queue } = setup();
    queue.add(commitJob('a1'));
    const claimed = queue.claim('worker-1')!;

    queue.cancel(claimed.id);

    expect(queue.extendLock(claimed)).toBe(false);
    expect(queue.complete(claimed)).toBe(false);
    expect(queue.getJob(claimed.id)?.state).toBe('cancelled');
  });

  it('rejects a finished job', () => {
    const { queue } = setup();
    queue.add(commitJob('a1'));
    const claimed = queue.claim('worker-1')!;
    queue.complete(claimed);

    expect(() => queue.cancel(claimed.id)).toThrow(JobStateError);
    expect(() => queue.cancel(claimed.id)).toThrow(/already completed/);
  });

  it('rejects an unknown id', () => {
    const { queue } = setup();

    expect(() => queue.cancel('no-such-job')).toThrow(JobNotFoundError);
    expect(() => queue.cancel('no-such-job')).toThrow(/no-such-job/);
  });

  it('names no command in the not-found message', () => {
    const { queue } = setup();

    let error: unknown;
    try {
      queue.cancel('no-such-job');
    } catch (caught) {
      error = caught;
    }

    expect((error as JobNotFoundError).message).toBe(
      'job no-such-job not found: check the id; finished jobs are removed after 7 days once 1,000 newer ones exist',
    );
  });
});

describe('Queue.retry', () => {
  it('restores a failed job with all attempts', () => {
    const { queue } = setup();
    const { job } = queue.add(commitJob('a1', { maxAttempts: 1 }));
    queue.fail(queue.claim('worker-1')!, new Error('boom'));

    const { job: retried, deduplicated } = queue.retry(job.id);

    expect(deduplicated).toBe(false);
    expect(retried.state).toBe('waiting');
    expect(retried.attemptsMade).toBe(0);
    expect(retried.lastError).toBeNull();
    expect(queue.claim('worker-1')?.id).toBe(job.id);
  });

  it('restores a cancelled job', () => {
    const { queue } = setup();
    const { job } = queue.add(commitJob('a1'));
    queue.cancel(job.id);

    expect(queue.retry(job.id).job.state).toBe('waiting');
  });

  it('returns a live duplicate instead', () => {
    const { queue } = setup();
    const { job } = queue.add(commitJob('a1'));
    queue.cancel(job.id);
    const newer = queue.add(commitJob('a1')).job;

    const result = queue.retry(job.id);

    expect(result.deduplicated).toBe(true);
    expect(result.job.id).toBe(newer.id);
    expect(queue.getJob(job.id)?.state).toBe('cancelled');
  });

  it('rejects a waiting job', () => {
    const { queue } = setup();
    const { job } = queue.add(commitJob('a1'));

    expect(() => queue.retry(job.id)).toThrow(JobStateError);
  });
});

describe('Queue.clean', () => {
  function finishJobs(queue: Queue, count: number, outcome: 'complete' | 'fail', prefix: string): void {
    for (let index = 0; index < count; index++) {
      queue.add(commitJob(`${prefix}${index}`, { maxAttempts: 1 }));
      const claimed = queue.claim('worker-1')!;
      if (outcome === 'complete') {
        queue.complete(claimed, { report: { content: { index } } });
      } else {
        queue.fail(claimed, new Error('boom'));
      }
    }
  }

  it('keeps the newest completed jobs and the young ones', () => {
    const retention = { completed: { count: 3, ageMs: DAY }, failed: { count: 2, ageMs: DAY } };
    const { queue, clock } = setup({ retention });
    finishJobs(queue, 5, 'complete', 'old');
    clock.advance(2 * DAY);
    finishJobs(queue, 2, 'complete', 'young');

    const result = queue.clean();

    expect(result.completed).toBe(4);
    const kept = queue.getJobs({ states: ['completed'] }).map((job) => job.commitSha);
    expect(new Set(kept)).toEqual(new Set(['old4', 'young0', 'young1'].map(fakeSha)));
  });

  it('keeps young jobs beyond the count', () => {
    const { queue } = setup({ retention: { completed: { count: 1, ageMs: DAY } } });
    finishJobs(queue, 4, 'complete', 'c');

    expect(queue.clean().completed).toBe(0);
    expect(queue.getCounts().completed).toBe(4);
  });

  it('applies the failed limit to failed jobs', () => {
    const { queue, clock } = setup({ retention: { failed: { count: 2, ageMs: DAY } } });
    finishJobs(queue, 5, 'fail', 'f');
    clock.advance(2 * DAY);

    expect(queue.clean().failed).toBe(3);
    expect(queue.getCounts().failed).toBe(2);
  });

  it('never removes reports', () => {
    const { queue, clock } = setup({ retention: { completed: { count: 0, ageMs: DAY } } });
    finishJobs(queue, 3, 'complete', 'r');
    clock.advance(2 * DAY);

    queue.clean();

    expect(queue.getCounts().completed).toBe(0);
    const reports = queue.database.prepare('SELECT count(*) AS n FROM reports').get() as { n: number };
    expect(reports.n).toBe(3);
  });

  it('trims old events', () => {
    const { queue, clock } = setup({ retention: { maxEvents: 1000, eventAgeMs: DAY } });
    queue.add(commitJob('e1'));
    clock.advance(2 * DAY);
    const { job } = queue.add(commitJob('e2'));

    const result = queue.clean();

    expect(result.events).toBe(1);
    expect(queue.getEvents().map((event) => event.jobId)).toEqual([job.id]);
  });

  it('trims events beyond the maximum', () => {
    const { queue } = setup({ retention: { maxEvents: 10 } });
    for (let index = 0; index < 25; index++) {
      queue.add(commitJob(`m${index}`));
    }

    queue.clean();

    const events = queue.getEvents({ limit: 100 });
    expect(events).toHaveLength(10);
    expect(events.at(-1)?.type).toBe('added');
  });
});

describe('Queue reads', () => {
  it('count jobs per state', () => {
    const { queue } = setup();
    queue.add(commitJob('a1'));
    queue.add(commitJob('a2', { delayMs: SECOND }));
    queue.add(commitJob('a3'));
    queue.claim('worker-1');

    expect(queue.getCounts()).toEqual({ waiting: 1, delayed: 1, active: 1, completed: 0, failed: 0, cancelled: 0 });
  });

  it('find the oldest waiting job', () => {
    const { queue, clock } = setup();
    const first = queue.add(commitJob('a1', { priority: 'low' })).job;
    clock.advance(SECOND);
    queue.add(commitJob('a2', { priority: 'high' }));

    expect(queue.getOldestWaiting()?.id).toBe(first.id);
  });

  it('list jobs of one repository newest first', () => {
    const { queue } = setup();
    queue.add(commitJob('a1'));
    queue.add({ kind: 'commit-report', repository: '/repos/other/.git', commitSha: fakeSha('b1') });
    queue.add(commitJob('a2'));

    const shas = queue.getJobs({ repository: '/repos/app/.git' }).map((job) => job.commitSha);

    expect(shas).toEqual(['a2', 'a1'].map(fakeSha));
  });

  it.each([
    ['an unknown state', { states: ['bogus' as JobState] }, 'invalid states'],
    ['a negative limit', { limit: -1 }, 'invalid limit: expected an integer >= 1'],
    ['limit 0', { limit: 0 }, 'invalid limit'],
    ['a fractional limit', { limit: 1.5 }, 'invalid limit'],
  ])('getJobs rejects %s', (_label, options, message) => {
    const { queue } = setup();
    queue.add(commitJob('a1'));

    expect(() => queue.getJobs(options)).toThrow(InvalidOptionError);
    expect(() => queue.getJobs(options)).toThrow(message);
  });

  it.each([
    ['a negative afterSeq', { afterSeq: -1 }, 'invalid afterSeq: expected an integer >= 0'],
    ['a fractional afterSeq', { afterSeq: 1.5 }, 'invalid afterSeq'],
    ['limit 0', { limit: 0 }, 'invalid limit: expected an integer >= 1'],
    ['a negative limit', { limit: -1 }, 'invalid limit'],
  ])('getEvents rejects %s', (_label, options, message) => {
    const { queue } = setup();
    queue.add(commitJob('a1'));

    expect(() => queue.getEvents(options)).toThrow(InvalidOptionError);
    expect(() => queue.getEvents(options)).toThrow(message);
  });

  it('resume events after a sequence number', () => {
    const { queue } = setup();
    queue.add(commitJob('a1'));
    const seen = queue.getEvents();
    queue.add(commitJob('a2'));

    const fresh = queue.getEvents({ afterSeq: seen.at(-1)!.seq });

    expect(fresh).toHaveLength(1);
    expect(fresh[0]?.type).toBe('added');
  });
});

describe('openQueue options', () => {
  it.each([
    ['maxAttempts', { maxAttempts: 0 }],
    ['maxStalls', { maxStalls: -1 }],
    ['lockDurationMs', { lockDurationMs: 1.5 }],
    ['backoff.jitter', { backoff: { jitter: 2 } }],
    ['backoff.maxDelayMs', { backoff: { delayMs: 1000, maxDelayMs: 10 } }],
    ['busyTimeoutMs', { busyTimeoutMs: -1 }],
    ['retention.completed.count', { retention: { completed: { count: -1, ageMs: 0 } } }],
  ])('rejects an invalid %s', (option, options) => {
    expect(() => setup(options as OpenQueueOptions)).toThrow(InvalidOptionError);
    expect(() => setup(options as OpenQueueOptions)).toThrow(option);
  });
});

describe('openQueue dataDir', () => {
  it.each([
    ['an empty string', ''],
    ['a number', 5 as unknown as string],
  ])('rejects %s without writing to the current directory', (_label, dataDir) => {
    const cwd = makeTempDir();
    const previous = process.cwd();
    process.chdir(cwd);
    try {
      expect(() => openQueue({ dataDir })).toThrow(InvalidOptionError);
      expect(() => openQueue({ dataDir })).toThrow('invalid dataDir: expected a non-empty path');
    } finally {
      process.chdir(previous);
    }

    expect(fs.readdirSync(cwd)).toEqual([]);
  });
});

describe('Queue reports by cache key', () => {
  it('finds the newest report for a key', () => {
    const { queue, clock } = setup();
    for (const [sha, title] of [['a1', 'first'], ['a2', 'second']] as const) {
      queue.add(commitJob(sha));
      clock.advance(SECOND);
      queue.complete(queue.claim('worker-1')!, { report: { content: { title }, cacheKey: 'patch-1:model:1', provenance: { model: 'm' } } });
    }

    const found = queue.findReportByCacheKey('patch-1:model:1');

    expect(found?.content).toEqual({ title: 'second' });
    expect(found?.provenance).toEqual({ model: 'm' });
    expect(found?.commitSha).toBe(fakeSha('a2'));
  });

  it('finds nothing for an unknown key', () => {
    const { queue } = setup();

    expect(queue.findReportByCacheKey('missing')).toBeUndefined();
  });
});
