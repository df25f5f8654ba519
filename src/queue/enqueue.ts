import { DatabaseError, StepperError, checkDataDir, checkPositiveInteger } from '../errors.js';
import { ensureDataDir, resolveDataDir } from '../store/data-dir.js';
import { newJobId } from './ids.js';
import { normalizeNewJob } from './new-job.js';
import { DEFAULT_MAX_ATTEMPTS } from './options.js';
import { type OpenQueueOptions, type Queue, openQueue } from './queue.js';
import { writeSpool } from './spool.js';
import type { Job, NewJob } from './types.js';

export interface EnqueueOptions {
  /** @default resolveDataDir() */
  dataDir?: string;
  /**
   * How long to wait for another process's write lock before spooling, in milliseconds.
   * Short, because a git hook waits for this call.
   * @default 1500
   */
  busyTimeoutMs?: number;
  /** Opens the queue. Tests pass one that limits the database size. @default openQueue */
  open?: (options: OpenQueueOptions) => Queue;
  /**
   * Finds a stored report that already fulfils `job`. A job it returns a report id for is
   * added as completed with that report, and its result has `cached: true`.
   */
  reuse?: (queue: Queue, job: NewJob) => string | undefined;
}

export type EnqueueResult =
  | { spooled: false; job: Job; deduplicated: boolean; cached: boolean }
  | {
      spooled: true;
      /** The id the job keeps once the spool is ingested, unless a live duplicate absorbs it. */
      jobId: string;
      file: string;
      /** The database error that sent the job to the spool. */
      reason: StepperError;
    };

export const ENQUEUE_BUSY_TIMEOUT_MS = 1500;

/**
 * Enqueues jobs from a short-lived process, such as a git hook, without ever losing one
 * or blocking long. Each job gets its id first. When the database is busy past the
 * timeout, full, corrupted, read-only or newer than this stepper, that job and every
 * later one are written to the spool folder instead, for the worker to ingest.
 * Throws only when the spool cannot be written either.
 */
export function enqueueJobs(inputs: readonly NewJob[], options: EnqueueOptions = {}): EnqueueResult[] {
  const dataDir = options.dataDir === undefined ? resolveDataDir() : checkDataDir(options.dataDir);
  const open = options.open ?? openQueue;
  const busyTimeoutMs = checkPositiveInteger('busyTimeoutMs', options.busyTimeoutMs ?? ENQUEUE_BUSY_TIMEOUT_MS, 0);
  const jobs = inputs.map((input) => ({ ...input, id: input.id ?? newJobId() }));

  // Checked here as well as in Queue.add, because a job that goes to the spool skips add.
  for (const job of jobs) {
    normalizeNewJob(job, DEFAULT_MAX_ATTEMPTS, Date.now());
  }
  const results: EnqueueResult[] = [];

  let queue: Queue | undefined;
  let failure: StepperError | undefined;
  try {
    ensureDataDir(dataDir);
    queue = open({ dataDir, busyTimeoutMs });
  } catch (error) {
    failure = asDatabaseFailure(error);
  }

  const add = (target: Queue, job: NewJob): EnqueueResult => {
    const reportId = options.reuse?.(target, job);
    const { job: stored, deduplicated } = reportId === undefined ? target.add(job) : target.addCompleted(job, reportId);
    return { spooled: false, job: stored, deduplicated, cached: reportId !== undefined && !deduplicated };
  };

  try {
    // All jobs are added in one transaction first, because each commit waits for an fsync. When
    // that fails, the jobs go one by one, so those that fit are stored and the rest are spooled.
    if (queue && !failure && jobs.length > 1) {
      const target = queue;
      try {
        return target.batch(() => jobs.map((job) => add(target, job)));
      } catch (error) {
        asDatabaseFailure(error);
      }
    }

    for (const job of jobs) {
      if (queue && !failure) {
        try {
          results.push(add(queue, job));
          continue;
        } catch (error) {
          failure = asDatabaseFailure(error);
        }
      }

      const reason = failure as StepperError;
      results.push({ spooled: true, jobId: job.id, file: spoolOrThrow(dataDir, job, reason), reason });
    }
  } finally {
    queue?.close();
  }

  return results;
}

/** Enqueues one job; see enqueueJobs. */
export function enqueueJob(input: NewJob, options: EnqueueOptions = {}): EnqueueResult {
  return enqueueJobs([input], options)[0] as EnqueueResult;
}

/** Returns the error as a reason to spool, or rethrows it when it is not about the database. */
function asDatabaseFailure(error: unknown): StepperError {
  if (error instanceof DatabaseError) {
    return error;
  }

  throw error;
}

function spoolOrThrow(dataDir: string, job: NewJob & { id: string }, reason: StepperError): string {
  try {
    return writeSpool(dataDir, job);
  } catch (error) {
    throw new StepperError(
      'SPOOL_FAILED',
      `cannot enqueue job ${job.id}: ${reason.message}; writing it to the spool failed too (${(error as Error).message})`,
      { cause: error },
    );
  }
}
