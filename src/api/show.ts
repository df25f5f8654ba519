import { InvalidOptionError, StepperError, checkDataDir } from '../errors.js';
import type { Coverage } from '../evidence/types.js';
import { openRepository } from '../git/repository.js';
import { resolveCommit } from '../git/revisions.js';
import { openExistingQueue } from '../queue/queue.js';
import { type ReportRow, toReport } from '../queue/rows.js';
import type { Job, Report as StoredReport } from '../queue/types.js';
import type { GitFacts } from '../report/generate.js';
import type { ReportContent, StoredProvenance } from '../report/processor.js';
import { REPORT_FIELD_NAMES, REPORT_FIELDS, type Report } from '../report/schema.js';
import { resolveDataDir } from '../store/data-dir.js';
import type { SqliteDatabase } from '../store/database.js';
import { currentFolder } from '../git/current-folder.js';

export interface ReadCommitReportOptions {
  /** The commit, as git rev-parse accepts it. */
  revision: string;
  /** Folder inside the repository. @default process.cwd() */
  cwd?: string;
  /** Data directory holding the database. @default resolveDataDir() */
  dataDir?: string;
  /** Only a report that this model wrote. @default the newest report of any model */
  model?: string;
}

/** Files of a report counted by coverage mark, and each file's mark. */
export interface ReportCoverage {
  files: Record<string, Coverage>;
  counts: { full: number; partial: number; statsOnly: number; excluded: number };
  /** Set when Ollama probably cut the prompt without an error, so the model saw less than the marks show. */
  promptTruncated: boolean;
}

/** A stored report of one commit, with what is needed to show it. */
export interface CommitReport {
  sha: string;
  /** Real path of the repository's common git directory, under which reports are stored. */
  repo: string;
  subject: string;
  report: Report;
  facts: GitFacts;
  coverage: ReportCoverage;
  /** Null for a report stored without provenance. */
  provenance: ShownProvenance | null;
}

/** The stored provenance, plus the id and time of the stored report. */
export type ShownProvenance = StoredProvenance & { reportId: string; createdAt: string };

/** The outcome of looking for a commit's report: the report, the live job that will make one, or the job that failed to. */
export interface ReportLookup {
  sha: string;
  repo: string;
  report: CommitReport | null;
  /** A waiting, delayed or active report job of the commit, when no report exists yet. */
  liveJob: Job | null;
  /** The newest failed report job of the commit, when there is neither a report nor a live job. */
  failedJob: Job | null;
  /** False when the data directory has no database yet. */
  databaseExists: boolean;
}

/** Raised by the command line when a commit has no stored report. */
export class ReportNotFoundError extends StepperError {
  override name = 'ReportNotFoundError';
  readonly sha: string;

  constructor(sha: string, message: string) {
    super('REPORT_NOT_FOUND', message);
    this.sha = sha;
  }
}

/**
 * Reads the newest stored report of a commit of the repository in `cwd`, or returns null when
 * there is none. Raises UnknownRevisionError, AmbiguousRevisionError or NotARepositoryError for
 * the revision and folder, and a StepperError with code REPORT_INVALID for a stored report of
 * another shape.
 */
export async function readCommitReport(options: ReadCommitReportOptions): Promise<CommitReport | null> {
  return (await lookupCommitReport(options)).report;
}

/**
 * Looks up a commit's report like readCommitReport. When none exists, it also returns the
 * commit's live report job, or when there is none, its newest failed report job.
 */
export async function lookupCommitReport(options: ReadCommitReportOptions): Promise<ReportLookup> {
  if (options.revision.includes('..')) {
    throw new InvalidOptionError('revision', 'one commit, not a range', options.revision);
  }

  const model = options.model;
  if (model !== undefined && model.trim() === '') {
    throw new InvalidOptionError('--model', 'a model name such as "qwen2.5-coder:7b"', model);
  }

  const dataDir = options.dataDir === undefined ? resolveDataDir() : checkDataDir(options.dataDir);
  const repo = await openRepository(options.cwd ?? currentFolder());
  const sha = await resolveCommit(repo, options.revision);
  const lookup: ReportLookup = { sha, repo: repo.gitDir, report: null, liveJob: null, failedJob: null, databaseExists: false };

  // Opening read-only creates nothing, so a missing database means no report has been made yet.
  const queue = openExistingQueue({ dataDir });
  if (!queue) {
    return lookup;
  }

  lookup.databaseExists = true;
  try {
    const stored = model === undefined ? queue.findReportForCommit(repo.gitDir, sha) : findReportOfModel(queue.database, repo.gitDir, sha, model);
    if (stored) {
      lookup.report = toCommitReport(stored);
      return lookup;
    }

    const isReportJob = (job: Job) => job.kind === 'report' && (model === undefined || modelOfJob(job) === model);
    const live = queue.getJobs({ states: ['active', 'waiting', 'delayed'], repository: repo.gitDir, commitSha: sha, limit: 10 }).filter(isReportJob);
    lookup.liveJob = live[0] ?? null;
    if (lookup.liveJob !== null) {
      return lookup;
    }

    // getJobs lists the newest first. NOTE: with a model filter, a failed job behind 50 newer failed jobs of other models is missed.
    const failed = queue.getJobs({ states: ['failed'], repository: repo.gitDir, commitSha: sha, limit: 50 }).filter(isReportJob);
    lookup.failedJob = failed[0] ?? null;
    return lookup;
  } finally {
    queue.close();
  }
}

/** Builds the shown form of a stored report row, checking the fields the views read. */
export function toCommitReport(stored: StoredReport): CommitReport {
  const content = checkContent(stored);
  const provenance = stored.provenance as StoredProvenance | null;

  return {
    sha: stored.commitSha,
    repo: stored.repository,
    subject: content.facts.subject,
    report: content.report,
    facts: content.facts,
    coverage: summarizeCoverage(provenance),
    provenance: provenance === null ? null : { ...provenance, reportId: stored.id, createdAt: new Date(stored.createdAt).toISOString() },
  };
}

/** Counts coverage marks; a report without provenance has no marks to count. */
export function summarizeCoverage(provenance: StoredProvenance | null): ReportCoverage {
  const files = provenance?.coverage ?? {};
  const counts = { full: 0, partial: 0, statsOnly: 0, excluded: 0 };
  for (const mark of Object.values(files)) {
    if (mark === 'full') {
      counts.full++;
    } else if (mark === 'partial') {
      counts.partial++;
    } else if (mark === 'stats only') {
      counts.statsOnly++;
    } else {
      counts.excluded++;
    }
  }

  return { files, counts, promptTruncated: provenance?.truncated === true };
}

function findReportOfModel(db: SqliteDatabase, repository: string, sha: string, model: string): StoredReport | undefined {
  const row = db
    .prepare(
      `SELECT * FROM reports
        WHERE repository = ? AND commit_sha = ? AND kind = 'report' AND json_extract(provenance, '$.model') = ?
        ORDER BY created_at DESC, rowid DESC LIMIT 1`,
    )
    .get(repository, sha, model) as ReportRow | undefined;
  return row ? toReport(row) : undefined;
}

function modelOfJob(job: Job): string | undefined {
  const model = (job.payload as { model?: unknown } | null)?.model;
  return typeof model === 'string' ? model : undefined;
}

/**
 * Checks that a stored report has the fields the views read. Reports are validated before
 * they are stored, so a failure here means a row of an older or foreign shape.
 */
function checkContent(stored: StoredReport): ReportContent {
  const content = stored.content as Partial<ReportContent> | null;
  const report = content?.report as Record<string, unknown> | undefined;
  const facts = content?.facts as Partial<GitFacts> | undefined;

  const problems: string[] = [];
  if (typeof report !== 'object' || report === null) {
    problems.push('no report object');
  } else {
    for (const field of REPORT_FIELD_NAMES) {
      const value = report[field];
      const valid = REPORT_FIELDS[field].kind === 'list' ? Array.isArray(value) && value.every((item) => typeof item === 'string') : typeof value === 'string';
      if (!valid) {
        problems.push(`field ${field} is missing or of the wrong type`);
      }
    }
  }
  if (typeof facts !== 'object' || facts === null || typeof facts.subject !== 'string' || !Array.isArray(facts.files) || typeof facts.totals !== 'object') {
    problems.push('no git facts');
  }

  if (problems.length > 0) {
    throw new StepperError(
      'REPORT_INVALID',
      `stored report ${stored.id} of commit ${stored.commitSha} cannot be shown (${problems.join('; ')}): ` +
        'make a new one with `stepper report --force <revision>`',
    );
  }

  return content as ReportContent;
}
