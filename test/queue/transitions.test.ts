import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterEach, describe, expect, it } from 'vitest';

import { InvalidOptionError } from '../../src/errors.js';
import { type OpenQueueOptions, type Queue, openQueue } from '../../src/queue/queue.js';
import type { NewJob } from '../../src/queue/types.js';
import { Worker } from '../../src/queue/worker.js';
import { DATABASE_FILE } from '../../src/store/data-dir.js';
import { fakeSha } from '../helpers/commits.js';
import { makeTempDir } from '../helpers/temp.js';

// SQLite reports `synchronous` as a number.
const NORMAL = 1;
const FULL = 2;

const queues: Queue[] = [];
const workers: Worker[] = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.close({ graceMs: 0 })));
  for (const queue of queues.splice(0)) {
    queue.close();
  }
});

function setup(options: OpenQueueOptions = {}): Queue {
  const queue = openQueue({ dataDir: makeTempDir(), ...options });
  queues.push(queue);
  return queue;
}

function commitJob(sha: string, extra: Partial<NewJob> = {}): NewJob {
  return { kind: 'commit-report', repository: '/repos/app/.git', commitSha: fakeSha(sha), ...extra };
}

function synchronousLevel(queue: Queue): number {
  return queue.database.pragma('synchronous', { simple: true }) as number;
}

describe('Queue.completeAndClaim', () => {
  it('completes and claims the next job by priority', () => {
    const queue = setup();
    const first = queue.add(commitJob('a1')).job;
    const low = queue.add(commitJob('a2', { priority: 'low' })).job;
    const high = queue.add(commitJob('a3', { priority: 'high' })).job;
    const claimed = queue.claim('worker-1')!;
    expect(claimed.id).toBe(high.id);

    const outcome = queue.completeAndClaim(claimed, { report: { content: { text: 'done' } } }, 'worker-1');

    expect(outcome.completed).toBe(true);
    expect(outcome.next?.id).toBe(first.id);
    expect(outcome.next?.state).toBe('active');
    expect(queue.getJob(high.id)?.state).toBe('completed');
    expect(queue.getReport(queue.getJob(high.id)!.resultId!)?.content).toEqual({ text: 'done' });
    expect(queue.getJob(low.id)?.state).toBe('waiting');
  });

  it('writes both events in one transaction', () => {
    const queue = setup();
    const first = queue.add(commitJob('a1')).job;
    const second = queue.add(commitJob('a2')).job;
    const claimed = queue.claim('worker-1')!;

    queue.completeAndClaim(claimed, {}, 'worker-1');
    const events = queue.getEvents().slice(-2);

    expect(events.map((event) => [event.jobId, event.type])).toEqual([
      [first.id, 'completed'],
      [second.id, 'started'],
    ]);
    expect(events[0]?.at).toBe(events[1]?.at);
  });

  it('claims even when the token is stale', () => {
    const queue = setup();
    const first = queue.add(commitJob('a1')).job;
    const second = queue.add(commitJob('a2')).job;
    const claimed = queue.claim('worker-1')!;
    queue.cancel(first.id);

    const outcome = queue.completeAndClaim(claimed, {}, 'worker-1');

    expect(outcome.completed).toBe(false);
    expect(outcome.next?.id).toBe(second.id);
    expect(queue.getJob(first.id)?.state).toBe('cancelled');
  });

  it('returns no next job when none is due', () => {
    const queue = setup();
    queue.add(commitJob('a1'));
    queue.add(commitJob('a2', { delayMs: 60_000 }));
    const claimed = queue.claim('worker-1')!;

    const outcome = queue.completeAndClaim(claimed, {}, 'worker-1');

    expect(outcome).toEqual({ completed: true });
  });

  it('skips excluded models', () => {
    const queue = setup();
    queue.add(commitJob('a1'));
    queue.add(commitJob('a2', { payload: { model: 'missing:7b' } }));
    const other = queue.add(commitJob('a3', { payload: { model: 'present:7b' } })).job;
    const claimed = queue.claim('worker-1')!;

    const outcome = queue.completeAndClaim(claimed, {}, 'worker-1', { excludeModels: ['missing:7b'] });

    expect(outcome.next?.id).toBe(other.id);
  });

  it('changes nothing for an unknown reportId', () => {
    const queue = setup();
    const first = queue.add(commitJob('a1')).job;
    const second = queue.add(commitJob('a2')).job;
    const claimed = queue.claim('worker-1')!;

    expect(() => queue.completeAndClaim(claimed, { reportId: 'no-such-report' }, 'worker-1')).toThrow(InvalidOptionError);
    expect(queue.getJob(first.id)?.state).toBe('active');
    expect(queue.getJob(second.id)?.state).toBe('waiting');
  });

  it('rejects a report and a reportId together', () => {
    const queue = setup();
    queue.add(commitJob('a1'));
    queue.add(commitJob('a2'));
    const claimed = queue.claim('worker-1')!;

    expect(() => queue.completeAndClaim(claimed, { report: { content: {} }, reportId: 'r' }, 'worker-1')).toThrow(
      /invalid completion: expected a new report or a stored reportId, not both/,
    );
    expect(queue.getCounts().active).toBe(1);
  });
});

describe('Queue transitionSync', () => {
  it('commits transitions at NORMAL and returns to FULL', () => {
    const queue = setup({ transitionSync: 'normal' });
    queue.add(commitJob('a1'));

    const inside = queue.transition(() => synchronousLevel(queue));
    const claimed = queue.claim('worker-1');

    expect(inside).toBe(NORMAL);
    expect(claimed).toBeDefined();
    expect(synchronousLevel(queue)).toBe(FULL);
  });

  it('keeps FULL for user work', () => {
    const queue = setup({ transitionSync: 'normal' });

    const levels = queue.batch(() => synchronousLevel(queue));

    expect(levels).toBe(FULL);
  });

  it('defaults to FULL', () => {
    const queue = setup();

    expect(queue.options.transitionSync).toBe('full');
    expect(queue.transition(() => synchronousLevel(queue))).toBe(FULL);
  });

  it('returns to FULL after a failed transition', () => {
    const queue = setup({ transitionSync: 'normal' });

    expect(() =>
      queue.transition(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(synchronousLevel(queue)).toBe(FULL);
    expect(queue.database.inTransaction).toBe(false);
  });

  it('rejects an unknown level before creating files', () => {
    const dataDir = path.join(makeTempDir(), 'data');

    const open = () => openQueue({ dataDir, transitionSync: 'off' as never });

    expect(open).toThrow(InvalidOptionError);
    expect(open).toThrow(`invalid transitionSync: expected 'full' or 'normal', received "off"`);
    expect(fs.existsSync(path.join(dataDir, DATABASE_FILE))).toBe(false);
  });

  it('keeps committed transitions for a new connection', () => {
    const dataDir = makeTempDir();
    const queue = openQueue({ dataDir, transitionSync: 'normal' });
    const { job } = queue.add(commitJob('a1'));
    const claimed = queue.claim('worker-1')!;
    queue.complete(claimed, { report: { content: { text: 'kept' } } });
    queue.close();

    const reopened = setup({ dataDir });

    expect(reopened.getJob(job.id)?.state).toBe('completed');
    expect(reopened.getReport(reopened.getJob(job.id)!.resultId!)?.content).toEqual({ text: 'kept' });
  });
});

describe('Worker completion', () => {
  it('claims the next job with the completion', async () => {
    const queue = setup({ transitionSync: 'normal' });
    const first = queue.add(commitJob('a1')).job;
    const second = queue.add(commitJob('a2')).job;
    const outcomes: Array<string | undefined> = [];
    const completeAndClaim = queue.completeAndClaim.bind(queue);
    queue.completeAndClaim = (...args) => {
      const outcome = completeAndClaim(...args);
      outcomes.push(outcome.next?.id);
      return outcome;
    };

    const worker = new Worker(queue, async () => ({ report: { content: { ok: true } } }), { pollIntervalMs: 10 });
    worker.on('error', (error) => {
      throw error;
    });
    workers.push(worker);
    void worker.run();
    for (let waited = 0; queue.getCounts().completed < 2; waited += 5) {
      if (waited > 10_000) {
        throw new Error('the jobs did not complete within 10 s');
      }
      await sleep(5);
    }

    expect(outcomes).toEqual([second.id, undefined]);
    expect(queue.getJob(first.id)?.state).toBe('completed');
    expect(queue.getJob(second.id)?.state).toBe('completed');
  });

  it('leaves the next job waiting while paused', async () => {
    const queue = setup();
    const first = queue.add(commitJob('a1')).job;
    const second = queue.add(commitJob('a2')).job;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });

    const worker = new Worker(queue, async () => {
      await finished;
    }, { pollIntervalMs: 10 });
    workers.push(worker);
    void worker.run();
    for (let waited = 0; queue.getJob(first.id)?.state !== 'active'; waited += 5) {
      if (waited > 10_000) {
        throw new Error('the first job was not claimed within 10 s');
      }
      await sleep(5);
    }
    worker.pause();
    finish();
    for (let waited = 0; queue.getJob(first.id)?.state !== 'completed'; waited += 5) {
      if (waited > 10_000) {
        throw new Error('the first job did not complete within 10 s');
      }
      await sleep(5);
    }
    await sleep(50);

    expect(queue.getJob(second.id)?.state).toBe('waiting');
  });
});
