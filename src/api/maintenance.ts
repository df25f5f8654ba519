// Housekeeping of the queue: retry failed jobs, cancel jobs, prune old rows and files, and
// regenerate reports made with another model or an older prompt.
import fs from 'node:fs';
import path from 'node:path';

import { readGitConfig } from '../config/git-config.js';
import { MODEL_KEY } from '../config/keys.js';
import { ensureDaemon, type EnsureDaemonResult } from '../daemon/start.js';
import { InvalidOptionError, JobNotFoundError, StepperError } from '../errors.js';
import { GitError } from '../git/errors.js';
import { readGit } from '../git/git.js';
import { findRepository } from '../git/repository.js';
import type { MergePolicy, Repository } from '../git/types.js';
import { chooseModel, type ModelChoice } from '../ollama/model.js';
import { enqueueJobs } from '../queue/enqueue.js';
import { findStaleReports, type PruneCounts, pruneQueue, type StaleReport } from '../queue/maintenance.js';
import { openQueue, type Queue } from '../queue/queue.js';
import type { AddResult, Job, JobState } from '../queue/types.js';
import { MERGE_POLICIES, reportJob } from '../report/job.js';
import { PROMPT_VERSION } from '../report/prompt.js';
import { REPORT_SCHEMA_VERSION } from '../report/schema.js';
import { DATABASE_FILE, resolveDataDir, SPOOL_DIR } from '../store/data-dir.js';
import { currentFolder } from '../git/current-folder.js';

export interface MaintenanceOptions {
  /** A folder of the repository whose jobs are meant. @default process.cwd() */
  cwd?: string;
  /** @default resolveDataDir(env) */
  dataDir?: string;
  /** Environment read for STEPPER_HOME and STEPPER_MODEL and passed to a daemon this call starts. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** A job that retry or cancel changed, or the live job that stood in for it. */
export interface ChangedJob {
  jobId: string;
  repository: string;
  sha: string;
  subject: string | null;
  /** The state before the command. */
  previousState: JobState;
  /** The state after the command. */
  state: JobState;
  /**
   * Set when retry found a live job for the same commit and model: that job's id is `jobId`,
   * and the failed job stays failed.
   */
  deduplicated: boolean;
}

export interface RetryJobsOptions extends MaintenanceOptions {
  /** The job to retry; exclusive with `failed`. */
  jobId?: string;
  /** Retry every failed job of the current repository, or of every repository with `all`. */
  failed?: boolean;
  all?: boolean;
  /** Start the daemon when a job waits and none runs. @default true */
  startDaemon?: boolean;
}

export interface RetryJobsResult {
  jobs: ChangedJob[];
  /** Set when the daemon was checked or started; undefined when no job waits or `startDaemon` is false. */
  daemon: EnsureDaemonResult | undefined;
}

export interface CancelJobsOptions extends MaintenanceOptions {
  /** The job to cancel, which may be active; exclusive with `waiting`. */
  jobId?: string;
  /** Cancel every waiting and delayed job of the current repository, or of every repository with `all`. */
  waiting?: boolean;
  all?: boolean;
}

export interface PruneOptions extends MaintenanceOptions {
  /** Age of the data to remove, such as `30d`, `12h` or `2w`. @default '30d' */
  olderThan?: string;
  /** Also remove superseded reports older than the duration. @default false */
  reports?: boolean;
  /** Count what would go and change nothing. @default false */
  dryRun?: boolean;
}

export interface PruneResult extends PruneCounts {
  olderThanMs: number;
  dryRun: boolean;
  /** Spool records whose job is in the database already, left by an ingest that stopped between insert and delete. */
  spoolIngested: number;
  /** Files in `spool/rejected/` older than the duration. */
  spoolRejected: number;
  /** Database and WAL size in bytes before the command, read from the files. */
  bytesBefore: number;
  /**
   * Database and WAL size in bytes after the checkpoint, or null in a dry run. A dry run
   * deletes inside a transaction and rolls it back, which appends to the WAL, so the files
   * then tell nothing about the size a real run leaves.
   */
  bytesAfter: number | null;
}

export interface RedoStaleOptions extends MaintenanceOptions {
  /** Every repository's reports, not only the current one's. @default false */
  all?: boolean;
  /** Model of the new reports. Without it, STEPPER_MODEL, git config stepper.model, then the default model decide. */
  model?: string;
  /** List the stale reports and queue nothing. @default false */
  dryRun?: boolean;
  /** Start the daemon when a job waits and none runs. @default true */
  startDaemon?: boolean;
}

/** A stale report and what redo did about its commit. */
export interface RedoEntry extends StaleReport {
  /** Id of the queued job; null in a dry run or when the commit was skipped. */
  jobId: string | null;
  /** Why no job was queued, or in a dry run would be: the repository or the commit is gone. Null otherwise. */
  skipped: string | null;
  /** Set when a job for this commit and model was waiting or running already, and it is the one returned. */
  deduplicated: boolean;
}

export interface RedoStaleResult {
  model: ModelChoice;
  promptVersion: number;
  schemaVersion: number;
  dryRun: boolean;
  reports: RedoEntry[];
  daemon: EnsureDaemonResult | undefined;
}

export const DEFAULT_PRUNE_AGE = '30d';

// Job ids are UUIDs, as `stepper report` prints them.
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/**
 * Parses a duration such as `30d`: a positive whole number and one unit of s, m, h, d or w
 * (seconds, minutes, hours, days, weeks). Returns milliseconds.
 *
 * @throws InvalidOptionError for anything else
 */
export function parseDuration(option: string, text: string): number {
  const match = /^(\d+)([smhdw])$/.exec(text.trim());
  const amount = match ? Number(match[1]) : Number.NaN;
  if (!match || amount <= 0) {
    throw new InvalidOptionError(option, 'a positive whole number with a unit of s, m, h, d or w, such as 30d, 12h or 2w', text);
  }

  // Durations are milliseconds in a JavaScript number, which is exact up to Number.MAX_SAFE_INTEGER.
  const unit = match[2] as string;
  const unitMs = DURATION_UNITS_MS[unit] as number;
  const milliseconds = amount * unitMs;
  if (!Number.isSafeInteger(amount) || !Number.isSafeInteger(milliseconds)) {
    throw new StepperError('INVALID_OPTION', `invalid ${option}: ${JSON.stringify(text)} is too large; the maximum is ${Math.floor(Number.MAX_SAFE_INTEGER / unitMs)}${unit}`);
  }

  return milliseconds;
}

/**
 * Puts a failed or cancelled job, or every failed job of the repository, back to `waiting`
 * with all its attempts, and starts the daemon when none runs. Jobs retried together are
 * retried in one transaction.
 *
 * @throws InvalidOptionError for a missing or malformed id, or an id with `failed`;
 *   JobNotFoundError; JobStateError for a job that is not failed or cancelled
 */
export async function retryJobs(options: RetryJobsOptions): Promise<RetryJobsResult> {
  const jobId = checkTarget('retry', options.jobId, options.failed === true, '--failed', options.all === true);
  const dataDir = options.dataDir ?? resolveDataDir(options.env);
  const repository = jobId === undefined ? await currentRepository(options) : undefined;

  const jobs = withQueue(dataDir, jobId, (queue) =>
    queue.batch(() => {
      const targets = jobId === undefined ? listJobs(queue, ['failed'], repository) : [requireJob(queue, jobId)];
      return targets.map((job) => describeRetry(job, queue.retry(job.id)));
    }),
  );

  const waiting = jobs.some((job) => job.state === 'waiting');
  const daemon = waiting && options.startDaemon !== false ? ensureDaemon({ dataDir, env: options.env }) : undefined;
  return { jobs, daemon };
}

/**
 * Cancels one job, an active one included, or every waiting and delayed job of the
 * repository. The daemon notices an active job's lock vanish within one poll and aborts its
 * Ollama request.
 *
 * @throws InvalidOptionError for a missing or malformed id, or an id with `waiting`;
 *   JobNotFoundError; JobStateError for a finished job
 */
export async function cancelJobs(options: CancelJobsOptions): Promise<ChangedJob[]> {
  const jobId = checkTarget('cancel', options.jobId, options.waiting === true, '--waiting', options.all === true);
  const dataDir = options.dataDir ?? resolveDataDir(options.env);
  const repository = jobId === undefined ? await currentRepository(options) : undefined;

  return withQueue(dataDir, jobId, (queue) =>
    queue.batch(() => {
      const targets = jobId === undefined ? listJobs(queue, ['waiting', 'delayed'], repository) : [requireJob(queue, jobId)];
      return targets.map((job) => toChangedJob(job, queue.cancel(job.id), false));
    }),
  );
}

/**
 * Removes finished jobs older than the duration with their events, part summaries unused
 * as long, spool records already ingested and old rejected spool files, and with `reports`
 * the superseded reports older than the duration (see pruneQueue for which reports stay).
 * Then checkpoints the WAL. Waiting, delayed and active jobs are never touched.
 *
 * @throws InvalidOptionError for an invalid duration
 */
export function pruneData(options: PruneOptions = {}): PruneResult {
  const olderThanMs = parseDuration('--older-than', options.olderThan ?? DEFAULT_PRUNE_AGE);
  const dataDir = options.dataDir ?? resolveDataDir(options.env);
  const dryRun = options.dryRun === true;
  const file = path.join(dataDir, DATABASE_FILE);
  const result: PruneResult = {
    olderThanMs,
    dryRun,
    completed: 0,
    failed: 0,
    cancelled: 0,
    events: 0,
    summaries: 0,
    reports: 0,
    spoolIngested: 0,
    spoolRejected: 0,
    bytesBefore: databaseBytes(file),
    bytesAfter: dryRun ? null : 0,
  };

  if (!fs.existsSync(file)) {
    return result;
  }

  const queue = openQueue({ dataDir });
  try {
    const now = queue.options.clock();
    Object.assign(result, queue.batch(() => pruneQueue(queue.database, { olderThanMs, reports: options.reports, dryRun }, now)));
    const spool = pruneSpool(queue, dataDir, now - olderThanMs, dryRun);
    result.spoolIngested = spool.ingested;
    result.spoolRejected = spool.rejected;

    if (!dryRun) {
      queue.checkpoint();
    }
  } finally {
    queue.close();
  }

  if (!dryRun) {
    result.bytesAfter = databaseBytes(file);
  }

  return result;
}

/**
 * Queues a forced report job for each commit of the repository (or every repository with
 * `all`) whose reports were all made with another model or an older prompt or schema
 * version. The old report stays until the new one is stored. A commit whose repository or
 * object is gone is skipped, because its job could only fail.
 *
 * @throws NotARepositoryError outside a repository without `all`; InvalidOptionError for a bad model name
 */
export async function redoStale(options: RedoStaleOptions = {}): Promise<RedoStaleResult> {
  const dataDir = options.dataDir ?? resolveDataDir(options.env);
  const cwd = options.cwd ?? currentFolder();
  // With --all the current repository, when there is one, still supplies git config stepper.model.
  const repo = options.all === true ? await findRepository(cwd) : await requireRepository(cwd);
  const model = chooseModel({ flag: options.model, env: options.env, gitConfig: repo ? await readGitConfig(repo, MODEL_KEY) : undefined });
  const dryRun = options.dryRun === true;
  const result: RedoStaleResult = { model, promptVersion: PROMPT_VERSION, schemaVersion: REPORT_SCHEMA_VERSION, dryRun, reports: [], daemon: undefined };

  const file = path.join(dataDir, DATABASE_FILE);
  if (!fs.existsSync(file)) {
    return result;
  }

  const queue = openQueue({ dataDir });
  let stale: StaleReport[];
  try {
    const query = { repository: options.all === true ? undefined : repo?.gitDir, model: model.name, promptVersion: PROMPT_VERSION, schemaVersion: REPORT_SCHEMA_VERSION };
    stale = findStaleReports(queue.database, query);
  } finally {
    queue.close();
  }

  result.reports = stale.map((report) => ({ ...report, jobId: null, skipped: null, deduplicated: false }));
  if (stale.length === 0) {
    return result;
  }

  // The dry run skips the same commits as the real run, so its count matches what a real run queues.
  const missing = await findMissingCommits(stale);
  const queued = result.reports.filter((entry) => {
    entry.skipped = missing.get(`${entry.repository}\0${entry.commitSha}`) ?? null;
    return entry.skipped === null;
  });
  if (dryRun) {
    return result;
  }

  const jobs = queued.map((entry) =>
    reportJob({
      repository: entry.repository,
      commitSha: entry.commitSha,
      subject: entry.subject ?? undefined,
      model: model.name,
      force: true,
      mergePolicy: MERGE_POLICIES.includes(entry.mergePolicy as MergePolicy) ? (entry.mergePolicy as MergePolicy) : undefined,
      priority: 'low',
    }),
  );
  const enqueued = enqueueJobs(jobs, { dataDir });
  enqueued.forEach((outcome, index) => {
    const entry = queued[index] as RedoEntry;
    entry.jobId = outcome.spooled ? outcome.jobId : outcome.job.id;
    entry.deduplicated = !outcome.spooled && outcome.deduplicated;
  });

  if (queued.length > 0 && options.startDaemon !== false) {
    result.daemon = ensureDaemon({ dataDir, env: options.env });
  }

  return result;
}

/**
 * Checks the target options of retry or cancel and returns the job id in lower case, the
 * form the queue stores UUIDs in, or undefined for a bulk command.
 */
function checkTarget(command: string, jobId: string | undefined, bulk: boolean, bulkOption: string, all: boolean): string | undefined {
  if (all && !bulk) {
    throw new StepperError('INVALID_OPTION', `stepper ${command} --all only goes with ${bulkOption}: run stepper ${command} ${bulkOption} --all, or give a job id without --all`);
  }

  if (jobId !== undefined && bulk) {
    throw new StepperError('INVALID_OPTION', `stepper ${command} takes a job id or ${bulkOption}, not both: drop ${jobId} or ${bulkOption}`);
  }

  if (jobId === undefined && !bulk) {
    throw new StepperError('INVALID_OPTION', `stepper ${command} needs a job id or ${bulkOption}: see stepper status for job ids`);
  }

  if (jobId !== undefined && !JOB_ID.test(jobId)) {
    throw new InvalidOptionError('job id', 'a job id as stepper report and status print it, such as ed550d3d-bbe5-49f3-bdab-994cfbe822de', jobId);
  }

  return jobId?.toLowerCase();
}

/** Returns the repository's identity, or undefined with `all`. */
async function currentRepository(options: { cwd?: string; all?: boolean }): Promise<string | undefined> {
  if (options.all === true) {
    return undefined;
  }

  return (await requireRepository(options.cwd ?? currentFolder())).gitDir;
}

async function requireRepository(cwd: string): Promise<Repository> {
  const repo = await findRepository(cwd);
  if (!repo) {
    throw new StepperError('NOT_A_REPOSITORY', `${cwd} is not in a git repository: run the command inside one, or add --all for every repository`);
  }

  return repo;
}

/**
 * Opens the queue and runs `work`. Without a database no job exists: a named job is not
 * found and a bulk command finds nothing, and no database is created.
 */
function withQueue(dataDir: string, jobId: string | undefined, work: (queue: Queue) => ChangedJob[]): ChangedJob[] {
  if (!fs.existsSync(path.join(dataDir, DATABASE_FILE))) {
    if (jobId !== undefined) {
      throw new JobNotFoundError(jobId);
    }

    return [];
  }

  const queue = openQueue({ dataDir });
  try {
    return work(queue);
  } finally {
    queue.close();
  }
}

function requireJob(queue: Queue, id: string): Job {
  const job = queue.getJob(id);
  if (!job) {
    throw new JobNotFoundError(id);
  }

  return job;
}

function listJobs(queue: Queue, states: JobState[], repository: string | undefined): Job[] {
  // Oldest first, so the retried or cancelled jobs are listed in the order they were added.
  return queue.getJobs({ states, repository, limit: Number.MAX_SAFE_INTEGER }).reverse();
}

function describeRetry(job: Job, outcome: AddResult): ChangedJob {
  return toChangedJob(job, outcome.job, outcome.deduplicated);
}

function toChangedJob(before: Job, after: Job, deduplicated: boolean): ChangedJob {
  const subject = (after.payload as { subject?: unknown } | null)?.subject;
  return {
    jobId: after.id,
    repository: after.repository,
    sha: after.commitSha,
    subject: typeof subject === 'string' ? subject : null,
    previousState: before.state,
    state: after.state,
    deduplicated,
  };
}

/**
 * Removes spool records whose job id is in the database already, which an ingest that
 * stopped between its insert and its delete leaves, and rejected records older than the
 * cutoff. A record whose job is not in the database is pending work and stays.
 */
function pruneSpool(queue: Queue, dataDir: string, cutoff: number, dryRun: boolean): { ingested: number; rejected: number } {
  const dir = path.join(dataDir, SPOOL_DIR);
  const counts = { ingested: 0, rejected: 0 };

  for (const name of readDirectory(dir)) {
    if (!name.endsWith('.json') || name.startsWith('.')) {
      continue;
    }

    const jobId = spoolJobId(path.join(dir, name));
    if (jobId !== undefined && queue.getJob(jobId) !== undefined) {
      counts.ingested += 1;
      removeUnlessDryRun(path.join(dir, name), dryRun);
    }
  }

  const rejectedDir = path.join(dir, 'rejected');
  for (const name of readDirectory(rejectedDir)) {
    const file = path.join(rejectedDir, name);
    if (modifiedAt(file) < cutoff) {
      counts.rejected += 1;
      removeUnlessDryRun(file, dryRun);
    }
  }

  return counts;
}

function spoolJobId(file: string): string | undefined {
  try {
    const record = JSON.parse(fs.readFileSync(file, 'utf8')) as { job?: { id?: unknown } } | null;
    return typeof record?.job?.id === 'string' ? record.job.id : undefined;
  } catch {
    // A record being renamed into place, taken by an ingest, or invalid: the ingest deals with it.
    return undefined;
  }
}

function readDirectory(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

function modifiedAt(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function removeUnlessDryRun(file: string, dryRun: boolean): void {
  if (!dryRun) {
    fs.rmSync(file, { force: true });
  }
}

function databaseBytes(file: string): number {
  let total = 0;
  for (const suffix of ['', '-wal']) {
    try {
      total += fs.statSync(`${file}${suffix}`).size;
    } catch {
      // A missing file counts as empty.
    }
  }

  return total;
}

/**
 * Returns, keyed by repository and commit, why each commit cannot be reported again: its
 * repository folder is gone, or the commit is not in it any more. One `git cat-file
 * --batch-check` runs per repository.
 */
async function findMissingCommits(reports: readonly StaleReport[]): Promise<Map<string, string>> {
  const byRepository = new Map<string, string[]>();
  for (const report of reports) {
    const shas = byRepository.get(report.repository) ?? [];
    shas.push(report.commitSha);
    byRepository.set(report.repository, shas);
  }

  const missing = new Map<string, string>();
  for (const [repository, shas] of byRepository) {
    const unique = [...new Set(shas)];
    if (!fs.existsSync(repository)) {
      unique.forEach((sha) => missing.set(`${repository}\0${sha}`, `repository ${repository} not found`));
      continue;
    }

    let output: string;
    try {
      output = (await readGit({ cwd: repository, gitDir: repository }, ['cat-file', '--batch-check'], { input: `${unique.join('\n')}\n` })).toString('utf8');
    } catch (error) {
      if (!(error instanceof GitError)) {
        throw error;
      }

      unique.forEach((sha) => missing.set(`${repository}\0${sha}`, `repository ${repository} cannot be read: ${error.message}`));
      continue;
    }

    for (const line of output.split('\n')) {
      const [sha, type] = line.split(' ');
      if (sha !== undefined && type !== undefined && type !== 'commit') {
        missing.set(`${repository}\0${sha}`, `commit ${sha} not found in ${repository}`);
      }
    }
  }

  return missing;
}
