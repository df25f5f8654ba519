import { describe, expect, it } from 'vitest';

import { InvalidOptionError } from '../../src/errors.js';
import { type Queue, openQueue } from '../../src/queue/queue.js';
import type { ClaimedJob, NewJob } from '../../src/queue/types.js';
import { FakeClock } from '../helpers/clock.js';
import { fakeSha } from '../helpers/commits.js';
import { captureThrown } from '../helpers/errors.js';
import { makeTempDir } from '../helpers/temp.js';

function setup(): { queue: Queue; clock: FakeClock } {
  const clock = new FakeClock();
  return { queue: openQueue({ dataDir: makeTempDir(), clock: clock.read }), clock };
}

function commitJob(sha: string, extra: Partial<NewJob> = {}): NewJob {
  return { kind: 'report', repository: '/repos/app/.git', commitSha: fakeSha(sha), ...extra };
}

function claimOne(queue: Queue, sha: string): ClaimedJob {
  queue.add(commitJob(sha));
  const claimed = queue.claim('worker-1');
  if (!claimed) {
    throw new Error('no job claimed');
  }
  return claimed;
}

describe('Queue.complete with a stored report', () => {
  it('links the stored report', () => {
    const { queue } = setup();
    const first = claimOne(queue, 'a1');
    queue.complete(first, { report: { content: { title: 'Fix parser' }, cacheKey: 'k1' } });
    const reportId = queue.getJob(first.id)?.resultId as string;

    const second = claimOne(queue, 'a1');
    queue.complete(second, { reportId });

    expect(queue.getJob(second.id)).toMatchObject({ state: 'completed', resultId: reportId });
  });

  it('adds no report row', () => {
    const { queue } = setup();
    const first = claimOne(queue, 'a1');
    queue.complete(first, { report: { content: { title: 'Fix parser' } } });
    const reportId = queue.getJob(first.id)?.resultId as string;

    const second = claimOne(queue, 'a1');
    queue.complete(second, { reportId });

    expect(queue.database.prepare('SELECT count(*) AS n FROM reports').get()).toEqual({ n: 1 });
  });

  it('rejects an unknown report id and leaves the job active', () => {
    const { queue } = setup();
    const job = claimOne(queue, 'a1');

    const error = captureThrown(() => queue.complete(job, { reportId: 'no-such-report' }));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as Error).message).toContain('"no-such-report"');
    expect(queue.getJob(job.id)?.state).toBe('active');
  });

  it('rejects a report and a report id together', () => {
    const { queue } = setup();
    const job = claimOne(queue, 'a1');

    const error = captureThrown(() => queue.complete(job, { report: { content: {} }, reportId: 'x' }));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect(queue.getJob(job.id)?.state).toBe('active');
  });
});

describe('Queue.findReportForCommit', () => {
  it('returns the newest report of the commit', () => {
    const { queue, clock } = setup();
    const first = claimOne(queue, 'a1');
    queue.complete(first, { report: { content: { n: 1 } } });
    clock.advance(1000);
    const second = claimOne(queue, 'a1');
    queue.complete(second, { report: { content: { n: 2 } } });

    expect(queue.findReportForCommit('/repos/app/.git', fakeSha('a1'))?.content).toEqual({ n: 2 });
  });

  it('keeps the newest by insertion order within one millisecond', () => {
    const { queue } = setup();
    const first = claimOne(queue, 'a1');
    queue.complete(first, { report: { content: { n: 1 } } });
    const second = claimOne(queue, 'a1');
    queue.complete(second, { report: { content: { n: 2 } } });

    expect(queue.findReportForCommit('/repos/app/.git', fakeSha('a1'))?.content).toEqual({ n: 2 });
  });

  it('returns undefined for another repository', () => {
    const { queue } = setup();
    const job = claimOne(queue, 'a1');
    queue.complete(job, { report: { content: { n: 1 } } });

    expect(queue.findReportForCommit('/repos/other/.git', fakeSha('a1'))).toBeUndefined();
  });

  it('returns undefined for another kind', () => {
    const { queue } = setup();
    const job = claimOne(queue, 'a1');
    queue.complete(job, { report: { content: { n: 1 } } });

    expect(queue.findReportForCommit('/repos/app/.git', fakeSha('a1'), 'other-kind')).toBeUndefined();
  });
});

describe('Queue summaries', () => {
  it('returns undefined for an unknown key', () => {
    const { queue } = setup();

    expect(queue.getSummary('missing')).toBeUndefined();
  });

  it('reads back what was put', () => {
    const { queue } = setup();
    queue.putSummary('k', { title: 'Part one', changes: ['a'] });

    expect(queue.getSummary('k')).toEqual({ title: 'Part one', changes: ['a'] });
  });

  it('put replaces an older summary', () => {
    const { queue } = setup();
    queue.putSummary('k', { n: 1 });
    queue.putSummary('k', { n: 2 });

    expect(queue.getSummary('k')).toEqual({ n: 2 });
  });

  it('get records when the summary was used', () => {
    const { queue, clock } = setup();
    queue.putSummary('k', { n: 1 });
    clock.advance(5000);
    queue.getSummary('k');

    const row = queue.database.prepare('SELECT created_at, used_at FROM summaries').get() as { created_at: number; used_at: number };
    expect(row.used_at - row.created_at).toBe(5000);
  });

  it('summaries survive reopening the file', () => {
    const dataDir = makeTempDir();
    const first = openQueue({ dataDir });
    first.putSummary('k', { n: 1 });
    first.close();

    const second = openQueue({ dataDir });
    expect(second.getSummary('k')).toEqual({ n: 1 });
    second.close();
  });
});
