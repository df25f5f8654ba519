import { afterEach, describe, expect, it } from 'vitest';

import { findStaleReports, pruneQueue } from '../../src/queue/maintenance.js';
import type { Queue } from '../../src/queue/queue.js';
import { PROMPT_VERSION } from '../../src/report/prompt.js';
import { REPORT_SCHEMA_VERSION } from '../../src/report/schema.js';
import { addActive, addCompleted, addFailed, addWaiting, DAY_MS, MODEL, openSeededQueue, snapshotDatabase } from '../helpers/maintenance.js';
import { makeTempDir } from '../helpers/temp.js';

const REPO = '/repos/shop/.git';
const SHA = (n: number): string => n.toString(16).padStart(40, '0');

const queues: Queue[] = [];
afterEach(() => {
  for (const queue of queues.splice(0)) {
    queue.close();
  }
});

function setUp() {
  const dataDir = makeTempDir('stepper-prune-');
  const seeded = openSeededQueue(dataDir);
  queues.push(seeded.queue);
  return { dataDir, ...seeded };
}

function prune(queue: Queue, olderThanDays: number, options: { reports?: boolean; dryRun?: boolean } = {}) {
  return queue.batch(() => pruneQueue(queue.database, { olderThanMs: olderThanDays * DAY_MS, ...options }, Date.now()));
}

function ids(queue: Queue): string[] {
  return queue.getJobs({ limit: 1000 }).map((job) => job.id).sort();
}

describe('pruneQueue', () => {
  it('removes finished jobs past cutoff', () => {
    const { queue, at } = setUp();
    at(40);
    const oldCompleted = addCompleted(queue, { repository: REPO, sha: SHA(1) }).jobId;
    const oldFailed = addFailed(queue, { repository: REPO, sha: SHA(2) });
    const oldWaiting = addWaiting(queue, { repository: REPO, sha: SHA(3) });
    const oldActive = addActive(queue, { repository: REPO, sha: SHA(4) });
    const oldCancelled = addWaiting(queue, { repository: REPO, sha: SHA(5) });
    queue.cancel(oldCancelled);
    at(2);
    const youngFailed = addFailed(queue, { repository: REPO, sha: SHA(6) });

    const counts = prune(queue, 30);

    expect(counts).toMatchObject({ completed: 1, failed: 1, cancelled: 1 });
    expect(ids(queue)).toEqual([oldWaiting, oldActive, youngFailed].sort());
    expect(queue.getJob(oldCompleted)).toBeUndefined();
    expect(queue.getJob(oldFailed)).toBeUndefined();
  });

  it('removes events of removed jobs', () => {
    const { queue, at } = setUp();
    at(40);
    const old = addFailed(queue, { repository: REPO, sha: SHA(1) });
    const waiting = addWaiting(queue, { repository: REPO, sha: SHA(2) });
    const oldEvents = queue.getEvents({ jobId: old }).length;

    const counts = prune(queue, 30);

    expect(oldEvents).toBeGreaterThan(0);
    expect(counts.events).toBe(oldEvents);
    expect(queue.getEvents({ jobId: old })).toEqual([]);
    expect(queue.getEvents({ jobId: waiting }).length).toBe(1);
  });

  it('dry run changes nothing', () => {
    const { dataDir, queue, at } = setUp();
    at(40);
    addCompleted(queue, { repository: REPO, sha: SHA(1) });
    addCompleted(queue, { repository: REPO, sha: SHA(1) });
    addFailed(queue, { repository: REPO, sha: SHA(2) });
    queue.putSummary('part-a', { title: 'a' });
    const before = snapshotDatabase(dataDir);

    const dry = prune(queue, 30, { reports: true, dryRun: true });
    const after = snapshotDatabase(dataDir);
    const real = prune(queue, 30, { reports: true });

    expect(after).toEqual(before);
    expect(dry).toEqual(real);
    expect(real).toMatchObject({ completed: 2, failed: 1, reports: 1, summaries: 1 });
  });

  it('keeps summaries of live jobs', () => {
    const { queue, at } = setUp();
    at(50);
    addWaiting(queue, { repository: REPO, sha: SHA(1) });
    at(40);
    queue.putSummary('used-after-live-job', { title: 'kept' });
    at(0);

    expect(prune(queue, 30).summaries).toBe(0);
    expect(queue.getSummary('used-after-live-job')).toEqual({ title: 'kept' });
  });

  it('removes summaries unused since the cutoff', () => {
    const { queue, at } = setUp();
    at(40);
    queue.putSummary('stale', { title: 'old' });
    at(1);
    queue.putSummary('fresh', { title: 'new' });

    expect(prune(queue, 30).summaries).toBe(1);
    expect(queue.getSummary('stale')).toBeUndefined();
    expect(queue.getSummary('fresh')).toEqual({ title: 'new' });
  });

  it('keeps reports by default', () => {
    const { queue, at } = setUp();
    at(40);
    const first = addCompleted(queue, { repository: REPO, sha: SHA(1) });
    addCompleted(queue, { repository: REPO, sha: SHA(1) });

    expect(prune(queue, 30).reports).toBe(0);
    expect(queue.getReport(first.reportId)).toBeDefined();
  });

  it('removes superseded reports', () => {
    const { queue, at } = setUp();
    at(60);
    const superseded = addCompleted(queue, { repository: REPO, sha: SHA(1) });
    const otherModel = addCompleted(queue, { repository: REPO, sha: SHA(1) }, { model: 'llama3:8b' });
    at(50);
    const newest = addCompleted(queue, { repository: REPO, sha: SHA(1) });
    const onlyOne = addCompleted(queue, { repository: REPO, sha: SHA(2) });

    const counts = prune(queue, 30, { reports: true });

    expect(counts.reports).toBe(1);
    expect(queue.getReport(superseded.reportId)).toBeUndefined();
    expect(queue.getReport(otherModel.reportId)).toBeDefined();
    expect(queue.getReport(newest.reportId)).toBeDefined();
    expect(queue.getReport(onlyOne.reportId)).toBeDefined();
  });

  it('keeps report a job names', () => {
    const { queue, at } = setUp();
    at(60);
    const old = addCompleted(queue, { repository: REPO, sha: SHA(1) });
    addCompleted(queue, { repository: REPO, sha: SHA(1) });

    // A job that finished 10 days ago stays, and so does its report.
    at(10);
    const job = queue.addCompleted({ kind: 'report', repository: REPO, commitSha: SHA(1), dedupKey: 'k', payload: { model: MODEL } }, old.reportId);

    expect(prune(queue, 30, { reports: true }).reports).toBe(0);
    expect(queue.getJob(job.job.id)?.resultId).toBe(old.reportId);
    expect(queue.getReport(old.reportId)).toBeDefined();
  });

  it('keeps young superseded reports', () => {
    const { queue, at } = setUp();
    at(10);
    const old = addCompleted(queue, { repository: REPO, sha: SHA(1) });
    addCompleted(queue, { repository: REPO, sha: SHA(1) });

    expect(prune(queue, 30, { reports: true }).reports).toBe(0);
    expect(queue.getReport(old.reportId)).toBeDefined();
  });
});

describe('findStaleReports', () => {
  const current = { model: MODEL, promptVersion: PROMPT_VERSION, schemaVersion: REPORT_SCHEMA_VERSION };

  it('lists commits without a current report', () => {
    const { queue } = setUp();
    addCompleted(queue, { repository: REPO, sha: SHA(1) });
    addCompleted(queue, { repository: REPO, sha: SHA(2) }, { model: 'llama3:8b' });
    addCompleted(queue, { repository: REPO, sha: SHA(3) }, { promptVersion: PROMPT_VERSION - 1 });
    addCompleted(queue, { repository: REPO, sha: SHA(4) }, { schemaVersion: REPORT_SCHEMA_VERSION + 1 });

    const stale = findStaleReports(queue.database, current);

    expect(stale.map((report) => report.commitSha)).toEqual([SHA(2), SHA(3), SHA(4)]);
    expect(stale[0]).toMatchObject({ model: 'llama3:8b', promptVersion: PROMPT_VERSION, mergePolicy: 'first-parent', subject: 'Subject' });
  });

  it('skips commit with current report', () => {
    const { queue } = setUp();
    addCompleted(queue, { repository: REPO, sha: SHA(1) });
    addCompleted(queue, { repository: REPO, sha: SHA(1) }, { model: 'llama3:8b' });

    expect(findStaleReports(queue.database, current)).toEqual([]);
  });

  it('returns newest stale report', () => {
    const { queue } = setUp();
    addCompleted(queue, { repository: REPO, sha: SHA(1) }, { model: 'a:1' });
    const newest = addCompleted(queue, { repository: REPO, sha: SHA(1) }, { model: 'b:1' });

    const stale = findStaleReports(queue.database, current);

    expect(stale).toHaveLength(1);
    expect(stale[0]?.reportId).toBe(newest.reportId);
  });

  it('filters by repository', () => {
    const { queue } = setUp();
    addCompleted(queue, { repository: REPO, sha: SHA(1) }, { model: 'a:1' });
    addCompleted(queue, { repository: '/repos/other/.git', sha: SHA(2) }, { model: 'a:1' });

    expect(findStaleReports(queue.database, { ...current, repository: REPO }).map((report) => report.commitSha)).toEqual([SHA(1)]);
    expect(findStaleReports(queue.database, current)).toHaveLength(2);
  });
});
