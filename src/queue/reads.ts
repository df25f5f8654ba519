import { InvalidOptionError, checkPositiveInteger } from '../errors.js';
import type { JobStore } from './job-store.js';
import { type EventRow, type JobRow, type ReportRow, toJob, toJobEvent, toReport } from './rows.js';
import { JOB_STATES, type Job, type JobEvent, type JobState, type Report } from './types.js';

export interface ListJobsOptions {
  states?: readonly JobState[];
  repository?: string;
  commitSha?: string;
  /** @default 50 */
  limit?: number;
}

export interface ListEventsOptions {
  /** Only events after this sequence number. @default 0 */
  afterSeq?: number;
  jobId?: string;
  /** @default 500 */
  limit?: number;
}

export function findJobRow(store: JobStore, id: string): JobRow | undefined {
  return store.statement('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
}

/** Returns the waiting, delayed or active job with `dedupKey`; there is at most one. */
export function findLiveDuplicate(store: JobStore, dedupKey: string): JobRow | undefined {
  return store
    .statement(`SELECT * FROM jobs WHERE dedup_key = ? AND state IN ('waiting', 'delayed', 'active')`)
    .get(dedupKey) as JobRow | undefined;
}

export function readJob(store: JobStore, id: string): Job | undefined {
  const row = store.read(() => findJobRow(store, id));
  return row ? toJob(row) : undefined;
}

/** Lists jobs, newest first. */
export function listJobs(store: JobStore, options: ListJobsOptions = {}): Job[] {
  const states = options.states ?? JOB_STATES;
  for (const state of states) {
    if (!JOB_STATES.includes(state)) {
      throw new InvalidOptionError('states', `a list of ${JOB_STATES.join(', ')}`, state);
    }
  }

  const limit = checkPositiveInteger('limit', options.limit ?? 50);
  const conditions = [`state IN (${states.map(() => '?').join(', ')})`];
  const parameters: unknown[] = [...states];

  if (options.repository !== undefined) {
    conditions.push('repository = ?');
    parameters.push(options.repository);
  }

  if (options.commitSha !== undefined) {
    conditions.push('commit_sha = ?');
    parameters.push(options.commitSha);
  }

  parameters.push(limit);
  const sql = `SELECT * FROM jobs WHERE ${conditions.join(' AND ')} ORDER BY seq DESC LIMIT ?`;
  const rows = store.read(() => store.statement(sql).all(...parameters) as JobRow[]);
  return rows.map(toJob);
}

/** Counts jobs per state from job_counts, which triggers on the jobs table keep equal to a GROUP BY of it. */
export function countJobs(store: JobStore): Record<JobState, number> {
  const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
  const rows = store.read(() => store.statement('SELECT state, n FROM job_counts').all() as Array<{ state: JobState; n: number }>);

  for (const row of rows) {
    counts[row.state] = row.n;
  }

  return counts;
}

/** Returns the waiting or delayed job that was added first. */
export function readOldestWaiting(store: JobStore): Job | undefined {
  // One query per state: each is the first entry of an index range, where a single query
  // over both states would sort every waiting job.
  const rows = store.read(() =>
    (['waiting', 'delayed'] as const).map(
      (state) =>
        store.statement('SELECT * FROM jobs WHERE state = ? ORDER BY created_at, seq LIMIT 1').get(state) as JobRow | undefined,
    ),
  );
  const found = rows.filter((row): row is JobRow => row !== undefined);
  found.sort((a, b) => a.created_at - b.created_at || a.seq - b.seq);
  return found[0] ? toJob(found[0]) : undefined;
}

export function readReport(store: JobStore, id: string): Report | undefined {
  const row = store.read(() => store.statement('SELECT * FROM reports WHERE id = ?').get(id) as ReportRow | undefined);
  return row ? toReport(row) : undefined;
}

export function readReportByCacheKey(store: JobStore, cacheKey: string): Report | undefined {
  const row = store.read(
    () =>
      store.statement('SELECT * FROM reports WHERE cache_key = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(cacheKey) as
        | ReportRow
        | undefined,
  );
  return row ? toReport(row) : undefined;
}

export function readReportForCommit(store: JobStore, repository: string, commitSha: string, kind: string): Report | undefined {
  const row = store.read(
    () =>
      store
        .statement(
          'SELECT * FROM reports WHERE repository = ? AND commit_sha = ? AND kind = ? ORDER BY created_at DESC, rowid DESC LIMIT 1',
        )
        .get(repository, commitSha, kind) as ReportRow | undefined,
  );
  return row ? toReport(row) : undefined;
}

/** Returns events in the order they happened. */
export function listEvents(store: JobStore, options: ListEventsOptions = {}): JobEvent[] {
  const afterSeq = checkPositiveInteger('afterSeq', options.afterSeq ?? 0, 0);
  const limit = checkPositiveInteger('limit', options.limit ?? 500);
  const rows = store.read(() =>
    options.jobId === undefined
      ? (store.statement('SELECT * FROM job_events WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, limit) as EventRow[])
      : (store
          .statement('SELECT * FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?')
          .all(options.jobId, afterSeq, limit) as EventRow[]),
  );
  return rows.map(toJobEvent);
}
