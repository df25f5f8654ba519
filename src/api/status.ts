import { readGitConfig } from '../config/git-config.js';
import { MODEL_KEY } from '../config/keys.js';
import { readDaemonStatus } from '../daemon/start.js';
import { checkPositiveInteger, InvalidOptionError, JobNotFoundError, StepperError } from '../errors.js';
import { NotARepositoryError } from '../git/errors.js';
import { openRepository } from '../git/repository.js';
import { resolveCommit } from '../git/revisions.js';
import type { Repository } from '../git/types.js';
import { describeOllamaHost, resolveOllamaHost } from '../ollama/host.js';
import { probeOllama } from '../ollama/probe.js';
import { chooseModel } from '../ollama/model.js';
import { openExistingQueue, type Queue } from '../queue/queue.js';
import { countSpooled, isSpooled } from '../queue/spool.js';
import { JOB_PRIORITY, type Job, type JobState } from '../queue/types.js';
import type { Report } from '../report/schema.js';
import { type CommitReport, toCommitReport } from './show.js';
import { readJobSubjects, subjectKey } from './subjects.js';
import { resolveDataDir } from '../store/data-dir.js';

export interface StatusOptions {
  /** A folder of the repository whose jobs are listed. @default process.cwd() */
  cwd?: string;
  /** List the jobs of every repository, not only the current one. @default false */
  all?: boolean;
  /** Maximum number of jobs listed. @default 10 */
  limit?: number;
  /** @default resolveDataDir() */
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Timeout of the Ollama probe, in milliseconds. @default 1500 */
  probeTimeoutMs?: number;
}

/** Job as `stepper status` shows it. The keys are part of the JSON contract. */
export interface JobStatus {
  id: string;
  repo: string;
  sha: string;
  /** Commit subject, or null when its repository or commit cannot be read any more. */
  subject: string | null;
  state: JobState;
  priority: 'high' | 'normal' | 'low' | number;
  attempts: number;
  maxAttempts: number;
  progress: unknown;
  error: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface QueueStatus {
  daemon: { state: 'running' | 'stopped'; pid: number | null; startedAt: number | null; version: string | null; currentJobId: string | null };
  /**
   * `model` is the model new jobs get. When the configured name is invalid, `model` is that
   * name as configured and `modelError` describes the problem; otherwise `modelError` is null.
   */
  ollama: { host: string; reachable: boolean; model: string; modelError: string | null; detail: string | null };
  counts: Record<JobState, number>;
  /** Jobs written to the spool folder because the database did not take them, which the daemon has not added yet. */
  spooled: number;
  /** Age of the job that has waited longest, or null when none waits. */
  oldestWaitingAgeMs: number | null;
  jobs: JobStatus[];
}

export interface JobDetail extends JobStatus {
  /** Report of a completed job, with the schema's field names. */
  report?: Report;
}

/** A job's detail with its report in the form the views render. */
export interface JobDescription {
  detail: JobDetail;
  commitReport?: CommitReport;
}

// Job ids are UUIDs, so anything else is read as a revision.
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const EMPTY_COUNTS: Record<JobState, number> = { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0, cancelled: 0 };

/**
 * Reads the daemon's state, probes Ollama, counts jobs per state and lists the latest
 * jobs of the current repository (or of all with `all`). Nothing is started or written:
 * the database is opened read-only, and a missing one means an empty queue.
 */
export async function getQueueStatus(options: StatusOptions = {}): Promise<QueueStatus> {
  const dataDir = options.dataDir ?? resolveDataDir(options.env);
  const limit = checkPositiveInteger('--limit', options.limit ?? 10);
  // The probe waits on the network and the rest on git, so they run side by side.
  const probing = checkOllama(options.env, options.probeTimeoutMs ?? 1500);
  const repo = await openCurrentRepository(options.cwd, options.all === true);
  const daemon = readDaemonStatus({ dataDir, env: options.env });
  const model = chooseModelForStatus(options.env, repo ? await readGitConfig(repo, MODEL_KEY) : undefined);
  const ollama = await probing;

  const row = daemon.running ? daemon.row : undefined;
  const status: QueueStatus = {
    daemon: {
      state: daemon.running ? 'running' : 'stopped',
      pid: row?.pid ?? null,
      startedAt: row?.startedAt ?? null,
      version: row?.version ?? null,
      currentJobId: row?.currentJobId ?? null,
    },
    ollama: { ...ollama, model: model.name, modelError: model.error },
    counts: { ...EMPTY_COUNTS },
    spooled: countSpooled(dataDir),
    oldestWaitingAgeMs: null,
    jobs: [],
  };

  const queue = openExisting(dataDir);
  if (!queue) {
    return status;
  }

  try {
    status.counts = queue.getCounts();
    const oldest = queue.getOldestWaiting();
    status.oldestWaitingAgeMs = oldest ? Math.max(0, Date.now() - oldest.createdAt) : null;
    const jobs = queue.getJobs({ limit, repository: repo && !options.all ? repo.gitDir : undefined });
    status.jobs = await describeJobs(jobs);
  } finally {
    queue.close();
  }

  return status;
}

/**
 * Reads one job's detail, with its report when completed. `target` is a job id, or a
 * revision of the current repository whose newest job is shown.
 *
 * @throws JobNotFoundError when no job matches
 */
export async function getJobStatus(target: string, options: Pick<StatusOptions, 'cwd' | 'dataDir' | 'env'> = {}): Promise<JobDetail> {
  return (await describeJob(target, options)).detail;
}

/**
 * Reads one job like getJobStatus, and also its report in the form `stepper show` renders.
 *
 * @throws JobNotFoundError when no job matches
 */
export async function describeJob(target: string, options: Pick<StatusOptions, 'cwd' | 'dataDir' | 'env'> = {}): Promise<JobDescription> {
  const dataDir = options.dataDir ?? resolveDataDir(options.env);
  const queue = openExisting(dataDir);
  if (!queue) {
    throw jobNotFound(dataDir, target);
  }

  try {
    const job = JOB_ID.test(target) ? queue.getJob(target.toLowerCase()) : await findJobByRevision(queue, target, options.cwd);
    if (!job) {
      throw jobNotFound(dataDir, target);
    }

    const [detail] = (await describeJobs([job])) as [JobDetail];
    const stored = job.state === 'completed' && job.resultId !== null ? queue.getReport(job.resultId) : undefined;
    if (!stored) {
      return { detail };
    }

    const commitReport = toCommitReport(stored);
    detail.report = commitReport.report;
    return { detail, commitReport };
  } finally {
    queue.close();
  }
}

/** Names the spool when the job waits there, because "not found" would send the user the wrong way. */
function jobNotFound(dataDir: string, target: string): StepperError {
  if (JOB_ID.test(target) && isSpooled(dataDir, target.toLowerCase())) {
    return new StepperError(
      'JOB_NOT_FOUND',
      `job ${target} is in the spool folder, because the database did not take it; the daemon adds it once it can write to the database. Run \`stepper doctor\` to check it`,
    );
  }

  return new JobNotFoundError(target);
}

async function findJobByRevision(queue: Queue, revision: string, cwd: string | undefined): Promise<Job | undefined> {
  const repo = await openRepository(cwd ?? process.cwd());
  const sha = await resolveCommit(repo, revision);
  return queue.getJobs({ repository: repo.gitDir, commitSha: sha, limit: 1 })[0];
}

/**
 * Chooses the model as every command does, but returns an invalid name with the reason
 * instead of raising, because status is where a user looks when reports do not appear.
 */
function chooseModelForStatus(env: NodeJS.ProcessEnv | undefined, gitConfig: string | undefined): { name: string; error: string | null } {
  try {
    return { name: chooseModel({ env, gitConfig }).name, error: null };
  } catch (error) {
    if (!(error instanceof InvalidOptionError)) {
      throw error;
    }

    const configured = (env ?? process.env).STEPPER_MODEL?.trim() || gitConfig?.trim() || '';
    return { name: configured, error: error.message };
  }
}

function openExisting(dataDir: string): Queue | undefined {
  return openExistingQueue({ dataDir });
}

async function openCurrentRepository(cwd: string | undefined, optional: boolean): Promise<Repository | undefined> {
  try {
    return await openRepository(cwd ?? process.cwd());
  } catch (error) {
    if (!(error instanceof NotARepositoryError)) {
      throw error;
    }

    if (optional) {
      return undefined;
    }
    throw error.withAlternative('add --all for the jobs of every repository');
  }
}

/**
 * Probes Ollama at OLLAMA_HOST (or the default). Any failure to connect counts as not
 * reachable, with the reason. An invalid OLLAMA_HOST throws at once, before anything waits.
 */
function checkOllama(env: NodeJS.ProcessEnv | undefined, timeoutMs: number): Promise<{ host: string; reachable: boolean; detail: string | null }> {
  const host = resolveOllamaHost(env);
  return probeOllama(host, timeoutMs).then((probe) => ({ host: describeOllamaHost(host), reachable: probe.reachable, detail: probe.detail }));
}

/** Converts jobs to their status shape, reading subjects with one git call per repository. */
async function describeJobs(jobs: readonly Job[]): Promise<JobStatus[]> {
  const subjects = await readJobSubjects(jobs);

  return jobs.map((job) => ({
    id: job.id,
    repo: job.repository,
    sha: job.commitSha,
    subject: subjects.get(subjectKey(job.repository, job.commitSha)) ?? null,
    state: job.state,
    priority: priorityName(job.priority),
    attempts: job.attemptsMade,
    maxAttempts: job.maxAttempts,
    progress: job.progress,
    error: job.lastError,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
  }));
}

function priorityName(priority: number): JobStatus['priority'] {
  const entry = Object.entries(JOB_PRIORITY).find(([, value]) => value === priority);
  return entry ? (entry[0] as keyof typeof JOB_PRIORITY) : priority;
}
