import fs from 'node:fs';
import path from 'node:path';

import { InvalidOptionError } from '../errors.js';
import type { RevisionLimits } from '../git/revisions.js';
import type { Repository } from '../git/types.js';
import { chooseModel, type ModelChoice } from '../ollama/model.js';
import type { Queue } from '../queue/queue.js';
import { JOB_PRIORITY, type JobPriorityName, type JobState, type NewJob } from '../queue/types.js';
import type { ReportJobPayload } from '../report/job.js';
import type { StoredProvenance } from '../report/processor.js';
import { type NamedCommit, readCommitQuickly, startRepositoryReads } from './quick-git.js';
import { currentFolder } from '../git/current-folder.js';

export interface RequestReportsOptions extends RevisionLimits {
  /** A folder of the repository. @default process.cwd() */
  cwd?: string;
  /** Revisions and ranges, as git accepts them. @default ['HEAD'] */
  revisions?: readonly string[];
  /** Model name. Without it, STEPPER_MODEL, git config stepper.model, then the default model decide. */
  model?: string;
  /** Make a new report even when one exists. The old one stays until the new one is stored. @default false */
  force?: boolean;
  /** @default 'high' when every revision names one commit, 'low' when any is a range */
  priority?: JobPriorityName;
  /** @default resolveDataDir() */
  dataDir?: string;
  /** Environment read for STEPPER_MODEL and passed to a daemon this call starts. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Start the daemon when a job waits and none runs. @default true */
  startDaemon?: boolean;
}

/** One commit's job, as `stepper report` prints it. */
export interface RequestedReport {
  jobId: string;
  sha: string;
  subject: string;
  /** Job state. A job written to the spool is `waiting` until the daemon ingests it. */
  state: JobState;
  /** Set when a job for this commit and model was waiting or running already, and it is the one returned. */
  deduplicated: boolean;
  /** Set when the commit's report exists, so the job completed at once without the model. */
  cached: boolean;
  /** Set when the database was busy or unusable, so the job was written to the spool for the daemon to ingest. */
  spooled: boolean;
  /** Why the job went to the spool: the database error's message. Set only with `spooled`. */
  spoolReason?: string;
}

export interface RequestReportsResult {
  /** Real path of the repository's common git directory, which identifies it in the queue. */
  repository: string;
  model: ModelChoice;
  reports: RequestedReport[];
}

// A revision that lists many commits rather than naming one: `A..B`, `A...B`, `A^!`, `A^@`, `A^-`.
const RANGE_SPEC = /\.\.|\^[!@]$|\^-\d*$/;

/**
 * Turns revisions into report jobs, one per commit, without waiting for any report. A
 * commit whose report for the same model and prompt version exists gets a job completed at
 * once (`cached`), and a job already waiting or running is returned as it is
 * (`deduplicated`). When the database is busy past a short timeout, jobs go to the spool,
 * which the daemon ingests, so a busy database does not lose the request.
 *
 * @throws NotARepositoryError, UnknownRevisionError, AmbiguousRevisionError, InvalidOptionError
 */
export async function requestReports(options: RequestReportsOptions = {}): Promise<RequestReportsResult> {
  const revisions = options.revisions && options.revisions.length > 0 ? [...options.revisions] : ['HEAD'];
  const priority = options.priority ?? (revisions.some((spec) => RANGE_SPEC.test(spec)) ? 'low' : 'high');
  if (!Object.hasOwn(JOB_PRIORITY, priority)) {
    throw new InvalidOptionError('priority', 'high, normal or low', priority);
  }

  // git starts first and runs on another core while better-sqlite3 and the queue load.
  const folder = options.cwd ?? currentFolder();
  const modelFromSettings = options.model !== undefined || Boolean((options.env ?? process.env).STEPPER_MODEL?.trim());
  const reads = startRepositoryReads(folder, { modelConfig: !modelFromSettings });
  const [single] = revisions;
  const namesOneCommit = revisions.length === 1 && single !== undefined && !RANGE_SPEC.test(single) && !hasLimits(options);
  const quickCommit = namesOneCommit ? readCommitQuickly(folder, single) : undefined;
  const { checkDaemonEnvironment, resolveDataDir, enqueueJobs, reportJob, versions, HINTS_DIR } = await loadQueueModules();

  // A daemon could not start with an invalid setting, so nothing is queued for it.
  if (options.startDaemon !== false) {
    checkDaemonEnvironment(options.env);
  }

  const repo = await reads.repository;
  await checkDates(options);
  const [configured, commits] = await Promise.all([reads.modelConfig, readRequestedCommits(repo, revisions, options, quickCommit)]);
  const model = chooseModel({ flag: options.model, env: options.env, gitConfig: configured });

  const jobs = commits.map((commit) =>
    reportJob({ repository: repo.gitDir, commitSha: commit.sha, subject: commit.subject, model: model.name, force: options.force === true, priority }),
  );
  // Hints a git hook left behind are turned into jobs first, so they keep their order.
  const dataDir = options.dataDir ?? resolveDataDir(options.env);
  if (mayHoldHints(path.join(dataDir, HINTS_DIR))) {
    const { ingestHookHints } = await import('../hook/hints.js');
    await ingestHookHints(dataDir, { env: options.env });
  }
  const results = enqueueJobs(jobs, { dataDir, reuse: options.force === true ? undefined : (queue, job) => findStoredReport(queue, job, versions) });

  const reports = results.map((result, index): RequestedReport => {
    const commit = commits[index] as (typeof commits)[number];
    if (result.spooled) {
      return {
        jobId: result.jobId,
        sha: commit.sha,
        subject: commit.subject,
        state: 'waiting',
        deduplicated: false,
        cached: false,
        spooled: true,
        spoolReason: result.reason.message,
      };
    }

    return {
      jobId: result.job.id,
      sha: commit.sha,
      subject: commit.subject,
      state: result.job.state,
      deduplicated: result.deduplicated,
      cached: result.cached,
      spooled: false,
    };
  });

  // An active job counts too: when its daemon died, only a new daemon's stall recovery
  // returns it to waiting, and nothing else would start one.
  if (options.startDaemon !== false && reports.some((report) => report.state === 'waiting' || report.state === 'delayed' || report.state === 'active')) {
    const { ensureDaemon } = await import('../daemon/start.js');
    ensureDaemon({ dataDir, env: options.env });
  }

  return { repository: repo.gitDir, model, reports };
}

/**
 * Rejects --since and --until text that git's date parser cannot read. `git log` would read
 * it as the current time and quietly select the wrong commits.
 */
async function checkDates(limits: RevisionLimits): Promise<void> {
  const dates = (['since', 'until'] as const).filter((option) => limits[option] !== undefined);
  if (dates.length === 0) {
    return;
  }

  const { parseGitDate } = await import('../diary/dates.js');
  await Promise.all(dates.map((option) => parseGitDate(`--${option}`, String(limits[option]), 'UTC')));
}

/**
 * Loads the modules that enqueue jobs, and better-sqlite3 with them, while git runs. The
 * modules that ingest hook hints and start the daemon load only when there is such work.
 */
async function loadQueueModules() {
  const [check, dataDir, enqueue, job, versions, hookLog] = await Promise.all([
    import('../daemon/environment-check.js'),
    import('../store/data-dir.js'),
    import('../queue/enqueue.js'),
    import('../report/job.js'),
    import('../report/versions.js'),
    import('../hook/log.js'),
  ]);

  return {
    checkDaemonEnvironment: check.checkDaemonEnvironment,
    resolveDataDir: dataDir.resolveDataDir,
    enqueueJobs: enqueue.enqueueJobs,
    reportJob: job.reportJob,
    versions: { prompt: versions.PROMPT_VERSION, schema: versions.REPORT_SCHEMA_VERSION },
    HINTS_DIR: hookLog.HINTS_DIR,
  };
}

/** Returns false only when the hints folder is missing or contains no hint, so ingesting them would do nothing. */
function mayHoldHints(dir: string): boolean {
  try {
    return fs.readdirSync(dir).some((name) => name.endsWith('.hint'));
  } catch (error) {
    // Any other failure is left to ingestHookHints, which reports it.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

function hasLimits(limits: RevisionLimits): boolean {
  return limits.since !== undefined || limits.until !== undefined || limits.author !== undefined || limits.maxCount !== undefined;
}

/** Returns the commits of `revisions`: the quick read when it found one, else those resolved and read the general way. */
async function readRequestedCommits(
  repo: Repository,
  revisions: readonly string[],
  limits: RevisionLimits,
  quickCommit: Promise<NamedCommit | undefined> | undefined,
): Promise<NamedCommit[]> {
  const quick = await quickCommit;
  if (quick) {
    return [quick];
  }

  const [{ readCommits }, { resolveRevisions }] = await Promise.all([import('../git/commit.js'), import('../git/revisions.js')]);
  return readCommits(repo, await resolveRevisions(repo, revisions, limits));
}

/**
 * Returns the id of the commit's newest report when it was made with the job's model, the
 * current prompt and schema versions and the same merge policy, so it is the report a new
 * job would produce. Rebased commits with other ids are found by the daemon, which computes
 * their patch-id, because reading it here would cost a git process per commit.
 */
function findStoredReport(queue: Queue, job: NewJob, versions: { prompt: number; schema: number }): string | undefined {
  const payload = job.payload as ReportJobPayload;
  const stored = queue.findReportForCommit(job.repository, job.commitSha);
  if (!stored) {
    return undefined;
  }

  const provenance = stored.provenance as Partial<StoredProvenance> | null;
  const matches =
    provenance?.model === payload.model &&
    provenance.promptVersion === versions.prompt &&
    provenance.schemaVersion === versions.schema &&
    provenance.mergePolicy === (payload.mergePolicy ?? 'first-parent');
  return matches ? stored.id : undefined;
}
