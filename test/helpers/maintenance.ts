import path from 'node:path';

import Database from 'better-sqlite3';
import { expect } from 'vitest';

import { StepperError, UnrecoverableError } from '../../src/errors.js';
import { openQueue, type Queue } from '../../src/queue/queue.js';
import { PROMPT_VERSION } from '../../src/report/prompt.js';
import { reportJob } from '../../src/report/job.js';
import { REPORT_SCHEMA_VERSION } from '../../src/report/schema.js';
import { DATABASE_FILE } from '../../src/store/data-dir.js';
import { captureError, captureThrown } from './errors.js';

export const DAY_MS = 86_400_000;
export const MODEL = 'qwen2.5-coder:7b';

/** A queue whose clock the test sets, so jobs can be made to have finished days ago. */
export interface SeededQueue {
  queue: Queue;
  /** Sets the queue's clock to `daysAgo` days before the real time. */
  at(daysAgo: number): void;
}

export function openSeededQueue(dataDir: string): SeededQueue {
  let offsetMs = 0;
  const queue = openQueue({ dataDir, clock: () => Date.now() - offsetMs });
  return {
    queue,
    at(daysAgo: number) {
      offsetMs = daysAgo * DAY_MS;
    },
  };
}

export interface SeedJob {
  repository: string;
  sha: string;
  model?: string;
  subject?: string;
}

/** Adds a report job and leaves it waiting. */
export function addWaiting(queue: Queue, job: SeedJob): string {
  return queue.add(reportJob({ repository: job.repository, commitSha: job.sha, model: job.model ?? MODEL, subject: job.subject ?? 'Subject' })).job.id;
}

/** Adds a report job, claims it and fails it for good. */
export function addFailed(queue: Queue, job: SeedJob): string {
  const id = addWaiting(queue, job);
  const claimed = claimOnly(queue, id);
  queue.fail(claimed, new UnrecoverableError('model not installed'));
  return id;
}

/** Adds a report job, claims it and leaves it active. */
export function addActive(queue: Queue, job: SeedJob): string {
  const id = addWaiting(queue, job);
  claimOnly(queue, id);
  return id;
}

export interface ReportVersions {
  model?: string;
  promptVersion?: number;
  schemaVersion?: number;
  mergePolicy?: string;
}

/** Adds a report job and completes it with a new stored report; returns both ids. */
export function addCompleted(queue: Queue, job: SeedJob, versions: ReportVersions = {}): { jobId: string; reportId: string } {
  const model = versions.model ?? job.model ?? MODEL;
  const jobId = addWaiting(queue, { ...job, model });
  const claimed = claimOnly(queue, jobId);
  const provenance = {
    model,
    promptVersion: versions.promptVersion ?? PROMPT_VERSION,
    schemaVersion: versions.schemaVersion ?? REPORT_SCHEMA_VERSION,
    mergePolicy: versions.mergePolicy ?? 'first-parent',
  };
  const content = { report: { title: `Report of ${job.sha.slice(0, 7)}` }, facts: { subject: job.subject ?? 'Subject' } };
  queue.complete(claimed, { report: { content, cacheKey: `key-${jobId}`, provenance } });
  const reportId = queue.getJob(jobId)?.resultId;
  if (typeof reportId !== 'string') {
    throw new Error(`job ${jobId} completed without a report id`);
  }

  return { jobId, reportId };
}

function claimOnly(queue: Queue, id: string) {
  // Other waiting jobs may exist, so claim until this one is claimed and put the rest back.
  const others = [];
  for (;;) {
    const claimed = queue.claim('seed-worker');
    if (!claimed) {
      throw new Error(`job ${id} could not be claimed`);
    }

    if (claimed.id === id) {
      for (const other of others) {
        queue.release(other);
      }
      return claimed;
    }

    others.push(claimed);
  }
}

/** Reads every row of the tables stepper writes, for asserting that a rejected command changed nothing. */
export function snapshotDatabase(dataDir: string): Record<string, unknown[]> {
  const db = new Database(path.join(dataDir, DATABASE_FILE), { readonly: true });
  try {
    const tables = ['jobs', 'reports', 'job_events', 'summaries'];
    return Object.fromEntries(tables.map((table) => [table, db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all()]));
  } finally {
    db.close();
  }
}

/** Reads one job's state straight from the file. */
export function jobState(dataDir: string, id: string): string | undefined {
  const db = new Database(path.join(dataDir, DATABASE_FILE), { readonly: true });
  try {
    return (db.prepare('SELECT state FROM jobs WHERE id = ?').get(id) as { state: string } | undefined)?.state;
  } finally {
    db.close();
  }
}

/**
 * Checks that `target` (a promise, or a function that throws) fails with a StepperError of
 * `code` whose one-line message matches `message`. Returns a promise for a promise target.
 */
export function expectStepperError(target: Promise<unknown> | (() => unknown), code: string, message: RegExp): Promise<void> | void {
  const check = (error: unknown): void => {
    expect(error).toBeInstanceOf(StepperError);
    expect((error as StepperError).code).toBe(code);
    expect((error as StepperError).message).toMatch(message);
    expect((error as StepperError).message).not.toContain('\n');
  };

  if (typeof target === 'function') {
    check(captureThrown(target));
    return;
  }

  return captureError(target).then(check);
}
