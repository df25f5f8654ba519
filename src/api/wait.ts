import { setTimeout as sleep } from 'node:timers/promises';

import { checkPositiveInteger, JobNotFoundError } from '../errors.js';
import { type HeldModel, heldModelOfJob, readHeldModels } from '../daemon/state.js';
import { openQueue, type Queue } from '../queue/queue.js';
import { FINISHED_STATES, type Job, type Report } from '../queue/types.js';
import { countSpooled } from '../queue/spool.js';
import { resolveDataDir } from '../store/data-dir.js';

export interface WaitOptions {
  /** @default resolveDataDir() */
  dataDir?: string;
  /** Interval between two polls of the database, in milliseconds. @default 250 */
  pollIntervalMs?: number;
  /** Called after each poll that reads the jobs, with the jobs found in the order of the ids. */
  onPoll?: (jobs: ReadonlyArray<Job | undefined>) => void;
  /** Stops the wait; waitForJobs then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface FinishedJob {
  job: Job;
  /** Stored report of a completed job. */
  report: Report | undefined;
  /**
   * Held model, set for a job that still waits because the daemon holds jobs of a model that
   * Ollama does not have. The job runs once the model is pulled, so waiting longer would not change that.
   */
  held?: HeldModel;
}

/**
 * Waits until every job of `jobIds` is completed, failed, cancelled or held for a missing
 * model, and returns them with their reports, in the order of the ids. A job still in the
 * spool (not yet in the database) is waited for too. The jobs are read again only when
 * SQLite's data_version shows that another connection wrote to the database.
 *
 * @throws JobNotFoundError when an id is neither in the database nor in the spool
 */
export async function waitForJobs(jobIds: readonly string[], options: WaitOptions = {}): Promise<FinishedJob[]> {
  const pollIntervalMs = checkPositiveInteger('pollIntervalMs', options.pollIntervalMs ?? 250);
  const dataDir = options.dataDir ?? resolveDataDir();
  const queue = openQueue({ dataDir });

  try {
    let seenVersion: number | undefined;
    for (;;) {
      options.signal?.throwIfAborted();

      const version = queue.dataVersion();
      if (version !== seenVersion) {
        seenVersion = version;
        const jobs = jobIds.map((id) => queue.getJob(id));
        options.onPoll?.(jobs);

        const held = readHeldModels(queue.database);
        if (jobs.every((job) => job !== undefined && (FINISHED_STATES.includes(job.state) || heldModelOfJob(job, held)))) {
          return jobs.map((job) => finished(queue, job as Job, held));
        }

        // A spooled job appears once the daemon ingests it. An empty spool with a missing
        // job means the id is unknown, which waiting would not fix.
        // The jobs are read again after the spool is counted, because the daemon may have
        // moved one from the spool to the database in between.
        if (jobs.some((job) => job === undefined) && countSpooled(dataDir) === 0) {
          const missing = jobIds.find((id) => queue.getJob(id) === undefined);
          if (missing !== undefined) {
            throw new JobNotFoundError(missing);
          }
        }
      }

      await sleep(pollIntervalMs, undefined, { signal: options.signal });
    }
  } finally {
    queue.close();
  }
}

function finished(queue: Queue, job: Job, held: readonly HeldModel[]): FinishedJob {
  const result: FinishedJob = { job, report: job.resultId === null ? undefined : queue.getReport(job.resultId) };
  const model = heldModelOfJob(job, held);
  if (model) {
    result.held = model;
  }

  return result;
}

