import { cancelJobs, pruneData, redoStale, retryJobs } from '../../api/maintenance.js';
import { StepperError } from '../../errors.js';
import { paintFor } from '../render/paint.js';
import { renderChangedJobs, renderDaemonStart, renderPrune, renderRedo } from '../render/maintenance.js';

export interface RetryCommandOptions {
  failed?: boolean;
  all?: boolean;
  json?: boolean;
}

export interface CancelCommandOptions {
  waiting?: boolean;
  all?: boolean;
  json?: boolean;
}

export interface PruneCommandOptions {
  olderThan?: string;
  reports?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

export interface RedoCommandOptions {
  stale?: boolean;
  all?: boolean;
  model?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** Moves a failed job, or every failed job of the repository, back to waiting and prints each. */
export async function runRetry(jobId: string | undefined, options: RetryCommandOptions): Promise<void> {
  const result = await retryJobs({ jobId, failed: options.failed, all: options.all });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }

  if (result.jobs.length === 0) {
    // Finding nothing is not an error, so the notice goes to stdout without the error prefix.
    process.stdout.write(`no failed jobs${options.all ? '' : ' in this repository'}; nothing to retry\n`);
    return;
  }

  const paint = await paintFor(process.stdout);
  process.stdout.write(renderChangedJobs(result.jobs, paint) + renderDaemonStart(result.daemon));
}

/** Cancels one job, or every waiting and delayed job of the repository, and prints each. */
export async function runCancel(jobId: string | undefined, options: CancelCommandOptions): Promise<void> {
  const jobs = await cancelJobs({ jobId, waiting: options.waiting, all: options.all });
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ jobs }, null, 2)}\n`);
    return;
  }

  if (jobs.length === 0) {
    process.stdout.write(`no waiting or delayed jobs${options.all ? '' : ' in this repository'}; nothing to cancel\n`);
    return;
  }

  const paint = await paintFor(process.stdout);
  process.stdout.write(renderChangedJobs(jobs, paint));
}

/** Removes old finished jobs and unused data, and prints the counts. */
export function runPrune(options: PruneCommandOptions): void {
  const result = pruneData({ olderThan: options.olderThan, reports: options.reports, dryRun: options.dryRun });
  process.stdout.write(options.json ? `${JSON.stringify(result, null, 2)}\n` : renderPrune(result));
}

/** Queues new reports for commits whose reports are stale, or lists them with --dry-run. */
export async function runRedo(options: RedoCommandOptions): Promise<void> {
  if (options.stale !== true) {
    throw new StepperError('INVALID_OPTION', 'stepper redo needs --stale, the only selection it supports: run stepper redo --stale --dry-run to list the stale reports');
  }

  const result = await redoStale({ all: options.all, model: options.model, dryRun: options.dryRun });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }

  const paint = await paintFor(process.stdout);
  process.stdout.write(renderRedo(result, paint) + renderDaemonStart(result.daemon));
}
