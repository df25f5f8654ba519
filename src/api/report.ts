import { InvalidOptionError } from '../errors.js';
import { readGitConfig } from '../config/git-config.js';
import { MODEL_KEY } from '../config/keys.js';
import { checkDaemonEnvironment, ensureDaemon } from '../daemon/start.js';
import { ingestHookHints } from '../hook/hints.js';
import { resolveDataDir } from '../store/data-dir.js';
import { readCommits } from '../git/commit.js';
import { openRepository } from '../git/repository.js';
import { resolveRevisions, type RevisionLimits } from '../git/revisions.js';
import { chooseModel, type ModelChoice } from '../ollama/model.js';
import { enqueueJobs } from '../queue/enqueue.js';
import type { Queue } from '../queue/queue.js';
import { JOB_PRIORITY, type JobPriorityName, type JobState, type NewJob } from '../queue/types.js';
import { PROMPT_VERSION } from '../report/prompt.js';
import { reportJob, type ReportJobPayload } from '../report/job.js';
import type { StoredProvenance } from '../report/processor.js';
import { REPORT_SCHEMA_VERSION } from '../report/schema.js';

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

  // A daemon could not start with an invalid setting, so nothing is queued for it.
  if (options.startDaemon !== false) {
    checkDaemonEnvironment(options.env);
  }

  const repo = await openRepository(options.cwd ?? process.cwd());
  // The model's git config and the commits are read side by side, because each is a git process.
  const [configured, commits] = await Promise.all([
    readGitConfig(repo, MODEL_KEY),
    resolveRevisions(repo, revisions, options).then((shas) => readCommits(repo, shas)),
  ]);
  const model = chooseModel({ flag: options.model, env: options.env, gitConfig: configured });

  const jobs = commits.map((commit) =>
    reportJob({ repository: repo.gitDir, commitSha: commit.sha, subject: commit.subject, model: model.name, force: options.force === true, priority }),
  );
  // Hints a git hook left behind are turned into jobs first, so they keep their order.
  const dataDir = options.dataDir ?? resolveDataDir(options.env);
  await ingestHookHints(dataDir, { env: options.env });
  const results = enqueueJobs(jobs, { dataDir, reuse: options.force === true ? undefined : findStoredReport });

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

  if (options.startDaemon !== false && reports.some((report) => report.state === 'waiting' || report.state === 'delayed')) {
    ensureDaemon({ dataDir, env: options.env });
  }

  return { repository: repo.gitDir, model, reports };
}

/**
 * Returns the id of the commit's newest report when it was made with the job's model, the
 * current prompt and schema versions and the same merge policy, so it is the report a new
 * job would produce. Rebased commits with other ids are found by the daemon, which computes
 * their patch-id, because reading it here would cost a git process per commit.
 */
function findStoredReport(queue: Queue, job: NewJob): string | undefined {
  const payload = job.payload as ReportJobPayload;
  const stored = queue.findReportForCommit(job.repository, job.commitSha);
  if (!stored) {
    return undefined;
  }

  const provenance = stored.provenance as Partial<StoredProvenance> | null;
  const matches =
    provenance?.model === payload.model &&
    provenance.promptVersion === PROMPT_VERSION &&
    provenance.schemaVersion === REPORT_SCHEMA_VERSION &&
    provenance.mergePolicy === (payload.mergePolicy ?? 'first-parent');
  return matches ? stored.id : undefined;
}
