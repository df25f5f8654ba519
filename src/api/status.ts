import { checkPositiveInteger, FINISHED_JOBS_REMOVED, InvalidOptionError, JobNotFoundError, StepperError } from '../errors.js';
import { NotARepositoryError, UnknownRevisionError } from '../git/errors.js';
import { openRepository } from '../git/repository.js';
import type { Repository } from '../git/types.js';
import type { DaemonStatus } from '../daemon/start.js';
import type { HeldModel } from '../daemon/state.js';
import { describeOllamaHost, type OllamaHost, resolveOllamaHost } from '../ollama/host.js';
import { probeOllama } from '../ollama/probe.js';
import { chooseModel } from '../ollama/model.js';
import type { Queue } from '../queue/queue.js';
import { JOB_PRIORITY, type Job, type JobState } from '../queue/types.js';
import type { Report } from '../report/schema.js';
import type { CommitReport } from './show.js';
import { type RepositoryReads, startRepositoryReads } from './quick-git.js';
import { readJobSubjects, subjectKey } from './subjects.js';
import { resolveDataDir } from '../store/data-dir.js';
import { currentFolder } from '../git/current-folder.js';

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
  /** `waitingForOllama` is true while a running daemon claims no jobs because Ollama does not respond. */
  daemon: {
    /** `starting` until a daemon that was just spawned holds the lock and has written its row. */
    state: 'running' | 'starting' | 'stopped';
    pid: number | null;
    startedAt: number | null;
    version: string | null;
    currentJobId: string | null;
    waitingForOllama: boolean;
    /** Ollama URL the running daemon uses, which differs from `ollama.host` when it was started with another OLLAMA_HOST. */
    ollamaHost: string | null;
  };
  /**
   * `model` is the model new jobs get. When the configured name is invalid, `model` is that
   * name as configured and `modelError` describes the problem; otherwise `modelError` is null.
   */
  /** `host` is the URL alone, for scripts; `hostSource` adds where it came from, for people. */
  ollama: { host: string; hostSource: string; reachable: boolean; model: string; modelError: string | null; detail: string | null };
  counts: Record<JobState, number>;
  /** Jobs written to the spool folder because the database did not take them, which the daemon has not added yet. */
  spooled: number;
  /** Age of the job that has waited longest, or null when none waits. */
  oldestWaitingAgeMs: number | null;
  /** Models Ollama did not have when the daemon last checked, for which jobs still wait. */
  held: HeldModel[];
  jobs: JobStatus[];
}

export interface JobDetail extends JobStatus {
  /** Report of a completed job, with the schema's field names. */
  report?: Report;
  /** Set when the running daemon keeps this job waiting because Ollama does not have its model. */
  held?: HeldModel;
  /** Set for a delayed job: when its backoff ends and it may be claimed again, in ms since the epoch. */
  nextAttemptAt?: number;
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
  // An invalid OLLAMA_HOST throws here, before anything waits.
  const host = resolveOllamaHost(options.env);
  // The reads wait on git, so they start before better-sqlite3 and the queue load, and run meanwhile.
  const modelFromEnvironment = Boolean((options.env ?? process.env).STEPPER_MODEL?.trim());
  let reads: RepositoryReads;
  try {
    reads = startRepositoryReads(options.cwd ?? currentFolder(), { modelConfig: !modelFromEnvironment });
  } catch (error) {
    // A working folder that was deleted has no repository, and with --all none is needed.
    reads = { repository: Promise.reject(error), modelConfig: Promise.resolve(undefined) };
    reads.repository.catch(() => {});
  }
  const modules = loadQueueModules();
  // Marked handled, because a repository error below is thrown before the modules are awaited.
  modules.catch(() => {});

  const repo = await openCurrentRepository(reads.repository, options.all === true);
  const { readDaemonStatus, openExistingQueue, countSpooled, heldModelsOf } = await modules;
  const queue = openExistingQueue({ dataDir });

  try {
    // The daemon's row is read through the queue's connection, when there is a database.
    const daemon = readDaemonStatus({ dataDir, env: options.env, database: queue?.database });
    const recorded = queue ? readRecordedOllama(daemon, host, queue, Date.now()) : undefined;
    // The probe runs while the jobs and their subjects are read.
    const probing = recorded ? Promise.resolve(recorded) : checkOllama(host, options.probeTimeoutMs ?? 1500);
    probing.catch(() => {});
    const model = chooseModelForStatus(options.env, repo ? await reads.modelConfig : undefined);

    // Until a starting daemon has written its row, the row is an earlier daemon's.
    const starting = daemon.startingPid !== undefined;
    const row = daemon.running && !starting ? daemon.row : undefined;
    let state: QueueStatus['daemon']['state'] = daemon.running ? 'running' : 'stopped';
    if (starting) {
      state = 'starting';
    }

    const status: QueueStatus = {
      daemon: {
        state,
        pid: starting ? (daemon.startingPid ?? null) : (row?.pid ?? null),
        startedAt: row?.startedAt ?? null,
        version: row?.version ?? null,
        currentJobId: row?.currentJobId ?? null,
        waitingForOllama: row?.ollamaState === 'unreachable',
        ollamaHost: row?.ollamaHost ?? null,
      },
      ollama: { host: host.url, hostSource: describeOllamaHost(host), reachable: false, detail: null, model: model.name, modelError: model.error },
      counts: { ...EMPTY_COUNTS },
      spooled: countSpooled(dataDir),
      oldestWaitingAgeMs: null,
      held: [],
      jobs: [],
    };

    if (queue) {
      status.counts = queue.getCounts();
      // The daemon writes its row at most every 250 ms while busy, so the row may still name
      // a job that has finished. With no job active, the daemon is idle.
      if (status.counts.active === 0) {
        status.daemon.currentJobId = null;
      }
      const oldest = queue.getOldestWaiting();
      status.oldestWaitingAgeMs = oldest ? Math.max(0, Date.now() - oldest.createdAt) : null;
      // A daemon that exited idle keeps its last row, and its jobs wait on for the model it
      // did not find, so that row still explains them.
      const lastRow = starting ? undefined : daemon.row;
      status.held = lastRow ? heldModelsOf(lastRow).filter((held) => countWaitingFor(queue, held.model) > 0) : [];
      const jobs = queue.getJobs({ limit, repository: repo && !options.all ? repo.gitDir : undefined });
      status.jobs = await describeJobs(jobs);
    }

    Object.assign(status.ollama, await probing);
    return status;
  } finally {
    queue?.close();
  }
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
  // A revision is resolved first, so that an unknown one is a usage error even before any job exists.
  let commit: TargetCommit | undefined;
  let unknownRevision: UnknownRevisionError | undefined;
  try {
    commit = JOB_ID.test(target) ? undefined : await resolveTargetCommit(target, options.cwd);
  } catch (error) {
    // The start of a job id, as git names a commit by the start of its id, when no commit has it.
    if (!(error instanceof UnknownRevisionError && PARTIAL_JOB_ID.test(target))) {
      throw error;
    }
    unknownRevision = error;
  }

  const { openExistingQueue, isSpooled } = await loadQueueModules();
  const queue = openExistingQueue({ dataDir });
  if (!queue) {
    throw unknownRevision ?? (commit ? noJobForCommit(target, commit) : jobNotFound(dataDir, target, isSpooled));
  }

  try {
    let job: Job | undefined;
    if (commit) {
      job = queue.getJobs({ repository: commit.gitDir, commitSha: commit.sha, limit: 1 })[0];
    } else if (unknownRevision) {
      job = findJobByPrefix(queue, target.toLowerCase(), unknownRevision);
    } else {
      job = queue.getJob(target.toLowerCase());
    }
    if (!job) {
      throw commit ? noJobForCommit(target, commit) : jobNotFound(dataDir, target, isSpooled);
    }

    const [detail] = (await describeJobs([job])) as [JobDetail];
    // Imported here, so a plain `status` still starts git before better-sqlite3 loads.
    const { heldModelOfJob, readHeldModels } = await import('../daemon/state.js');
    const held = heldModelOfJob(job, readHeldModels(queue.database));
    if (held) {
      detail.held = held;
    }
    if (job.state === 'delayed') {
      detail.nextAttemptAt = job.runAt;
    }

    const stored = job.state === 'completed' && job.resultId !== null ? queue.getReport(job.resultId) : undefined;
    if (!stored) {
      return { detail };
    }

    const { toCommitReport } = await import('./show.js');
    const commitReport = toCommitReport(stored);
    detail.report = commitReport.report;
    return { detail, commitReport };
  } finally {
    queue.close();
  }
}

/** Names the spool when the job waits there, because "not found" would send the user the wrong way. */
function jobNotFound(dataDir: string, target: string, isSpooled: (dataDir: string, jobId: string) => boolean): StepperError {
  if (JOB_ID.test(target) && isSpooled(dataDir, target.toLowerCase())) {
    return new StepperError(
      'JOB_NOT_FOUND',
      `job ${target} is in the spool folder, because the database did not take it; the daemon adds it once it can write to the database. Run \`stepper doctor\` to check it`,
    );
  }

  return new JobNotFoundError(target);
}

/** A commit that a status target names, in the repository of the current folder. */
interface TargetCommit {
  gitDir: string;
  sha: string;
}

// The first part of a job id or more, which a user may have copied short.
const PARTIAL_JOB_ID = /^[0-9a-f]{8}(?:-[0-9a-f]{0,12})*$/i;

async function resolveTargetCommit(revision: string, cwd: string | undefined): Promise<TargetCommit> {
  if (revision.includes('..')) {
    throw new InvalidOptionError('revision', 'a job id or one commit, not a range', revision);
  }

  // Imported here, because only a revision needs git/revisions.js and its commit reader.
  const [{ resolveCommit }, repo] = await Promise.all([import('../git/revisions.js'), openRepository(cwd ?? currentFolder())]);
  try {
    return { gitDir: repo.gitDir, sha: await resolveCommit(repo, revision) };
  } catch (error) {
    if (error instanceof UnknownRevisionError && PARTIAL_JOB_ID.test(revision)) {
      error.message += '; a job id has all 36 characters that `stepper report` prints, such as ed550d3d-bbe5-49f3-bdab-994cfbe822de';
    }

    throw error;
  }
}

/**
 * Returns the one job whose id starts with `prefix`. Raises `unknownRevision` when none does,
 * and an error that lists the ids when several do.
 */
function findJobByPrefix(queue: Queue, prefix: string, unknownRevision: UnknownRevisionError): Job {
  const ids = queue.database
    .prepare(`SELECT id FROM jobs WHERE id >= ? AND id < ? ORDER BY id LIMIT 6`)
    .pluck()
    .all(prefix, `${prefix}\uffff`) as string[];
  if (ids.length === 0) {
    throw unknownRevision;
  }
  if (ids.length > 1) {
    const listed = ids.length > 5 ? `${ids.slice(0, 5).join(', ')} and more` : ids.join(', ');
    throw new StepperError('AMBIGUOUS_REVISION', `job id ${prefix} is ambiguous: ${listed} start with it; give more of the id`);
  }

  return queue.getJob(ids[0] as string) as Job;
}

function noJobForCommit(target: string, commit: TargetCommit): JobNotFoundError {
  const named = target === commit.sha ? `commit ${commit.sha.slice(0, 12)}` : `${target} (commit ${commit.sha.slice(0, 12)})`;
  return new JobNotFoundError(
    target,
    `no job for ${named} in ${commit.gitDir}: run \`stepper report ${commit.sha.slice(0, 12)}\` to queue one; ${FINISHED_JOBS_REMOVED}`,
  );
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

/** Loads the modules that read the daemon and the queue, and better-sqlite3 with them. */
function countWaitingFor(queue: Queue, model: string): number {
  const row = queue.database
    .prepare(`SELECT count(*) AS n FROM jobs WHERE state IN ('waiting', 'delayed') AND json_extract(payload, '$.model') = ?`)
    .get(model) as { n: number };
  return row.n;
}

async function loadQueueModules() {
  const [start, state, queue, spool] = await Promise.all([
    import('../daemon/start.js'),
    import('../daemon/state.js'),
    import('../queue/queue.js'),
    import('../queue/spool.js'),
  ]);
  return {
    readDaemonStatus: start.readDaemonStatus,
    heldModelsOf: state.heldModelsOf,
    openExistingQueue: queue.openExistingQueue,
    countSpooled: spool.countSpooled,
    isSpooled: spool.isSpooled,
  };
}

async function openCurrentRepository(opening: Promise<Repository>, optional: boolean): Promise<Repository | undefined> {
  try {
    return await opening;
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

/** Ollama's state as status shows it. */
interface OllamaReachability {
  reachable: boolean;
  detail: string | null;
}

/** Maximum age of a daemon heartbeat that status trusts, in milliseconds: two heartbeats at the default 10 s interval and 5 s more. */
export const FRESH_HEARTBEAT_MS = 25_000;

/** Maximum age of the last completed job, in milliseconds, for the daemon's `ok` to count as a recent response from Ollama. */
export const RECENT_RESPONSE_MS = 60_000;

/**
 * Returns Ollama as reachable, without a probe, when the running daemon uses the same host and
 * saw a response lately. Its row must be `running` with a fresh heartbeat and Ollama `ok`, and
 * a job must be running or have completed within RECENT_RESPONSE_MS. Returns undefined
 * otherwise, and always for `unreachable`: the daemon probes then only every minute at most,
 * so a probe here notices at once that Ollama is back.
 * NOTE: the row has no time of the daemon's last request to Ollama, so a job completed from a
 * stored report also counts, although it sent Ollama nothing.
 */
export function readRecordedOllama(daemon: DaemonStatus, host: OllamaHost, queue: Queue, now: number): OllamaReachability | undefined {
  const row = daemon.row;
  if (!daemon.running || row === undefined || row.state !== 'running' || row.ollamaState !== 'ok' || row.ollamaHost !== host.url) {
    return undefined;
  }

  if (now - row.heartbeatAt > FRESH_HEARTBEAT_MS) {
    return undefined;
  }

  if (row.currentJobId === null) {
    const { finishedAt } = queue.database
      .prepare(`SELECT max(finished_at) AS finishedAt FROM jobs WHERE state = 'completed'`)
      .get() as { finishedAt: number | null };
    if (finishedAt === null || now - finishedAt > RECENT_RESPONSE_MS) {
      return undefined;
    }
  }

  return { reachable: true, detail: null };
}

/** Probes Ollama at `host`. Any failure to connect counts as not reachable, with the reason. */
async function checkOllama(host: OllamaHost, timeoutMs: number): Promise<OllamaReachability> {
  const probe = await probeOllama(host, timeoutMs);
  return { reachable: probe.reachable, detail: probe.detail };
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
