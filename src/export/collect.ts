import { type CommitReport, toCommitReport } from '../api/show.js';
import { StepperError } from '../errors.js';
import { readGit } from '../git/git.js';
import { objectContext } from '../git/repository.js';
import { resolveRevisions } from '../git/revisions.js';
import type { Person, Repository } from '../git/types.js';
import { openExistingQueue, type Queue } from '../queue/queue.js';
import { type ReportRow, toReport } from '../queue/rows.js';

/** A commit as the export formats show it, read from the repository. */
export interface ExportCommit {
  sha: string;
  /** Parent ids in order; more than one means a merge commit. */
  parents: string[];
  author: Person;
  committer: Person;
  /** The whole message as stored (`%B`), without trailing newlines. */
  message: string;
}

/** One exported commit: the commit as git stores it and its newest stored report. */
export interface ExportEntry {
  commit: ExportCommit;
  report: CommitReport;
}

/** A stored report that could not be exported, with the reason. */
export interface SkippedReport {
  sha: string;
  reason: string;
}

export interface ExportCollection {
  repo: Repository;
  /** False when the data directory has no database, so no report exists at all. */
  databaseExists: boolean;
  /** Exported commits, newest committer date first. */
  entries: ExportEntry[];
  /** Commits with a report whose object is no longer in the repository, for example after `git gc` pruned an amended commit. */
  missing: string[];
  /** Reports stored in a shape this version cannot read. */
  invalid: SkippedReport[];
  /** Commits named by the revisions that have no stored report; 0 without revisions. */
  withoutReport: number;
}

/**
 * Collects the newest stored report of each commit of `repo`, limited to the commits that
 * `revisions` name when any are given. Reports of every model count, and the newest wins, as
 * in `stepper show`. The database is opened read-only, and a missing one yields nothing.
 */
export async function collectExport(repo: Repository, dataDir: string, revisions: readonly string[]): Promise<ExportCollection> {
  const requested = revisions.length === 0 ? undefined : await resolveRevisions(repo, revisions);
  const collection: ExportCollection = { repo, databaseExists: false, entries: [], missing: [], invalid: [], withoutReport: 0 };

  const queue = openExistingQueue({ dataDir });
  if (!queue) {
    collection.withoutReport = requested?.length ?? 0;
    return collection;
  }

  collection.databaseExists = true;
  const reports = readNewestReports(queue, repo.gitDir, requested === undefined ? undefined : new Set(requested));
  if (requested !== undefined) {
    collection.withoutReport = requested.filter((sha) => !reports.has(sha)).length;
  }

  const readable = new Map<string, CommitReport>();
  for (const [sha, stored] of reports) {
    try {
      readable.set(sha, toCommitReport(stored));
    } catch (error) {
      if (!(error instanceof StepperError) || error.code !== 'REPORT_INVALID') {
        throw error;
      }
      collection.invalid.push({ sha, reason: error.message });
    }
  }

  // NOTE: an amended or rebased commit whose old object git has not pruned yet is still present, so it is exported too.
  const present = await findPresentCommits(repo, [...readable.keys()]);
  collection.missing = [...readable.keys()].filter((sha) => !present.has(sha));

  const commits = await readExportCommits(repo, [...present]);
  for (const commit of commits) {
    const report = readable.get(commit.sha);
    if (report) {
      collection.entries.push({ commit, report });
    }
  }

  collection.entries.sort((a, b) => b.commit.committer.timestamp - a.commit.committer.timestamp || compareText(a.commit.sha, b.commit.sha));
  collection.missing.sort(compareText);
  return collection;
}

/** Reads the newest report of each commit of `repository` in one query, keyed by commit id, and closes `queue`. */
function readNewestReports(queue: Queue, repository: string, only: Set<string> | undefined): Map<string, ReturnType<typeof toReport>> {
  try {
    const rows = queue.database
      .prepare(`SELECT * FROM reports WHERE repository = ? AND kind = 'report' ORDER BY commit_sha, created_at DESC, rowid DESC`)
      .all(repository) as ReportRow[];

    const newest = new Map<string, ReturnType<typeof toReport>>();
    for (const row of rows) {
      if (newest.has(row.commit_sha) || (only !== undefined && !only.has(row.commit_sha))) {
        continue;
      }
      newest.set(row.commit_sha, toReport(row));
    }
    return newest;
  } finally {
    queue.close();
  }
}

/** Returns the ids of `shas` that name a commit object in the repository, with one `git cat-file` call. */
async function findPresentCommits(repo: Repository, shas: readonly string[]): Promise<Set<string>> {
  if (shas.length === 0) {
    return new Set();
  }

  const output = await readGit(objectContext(repo), ['cat-file', '--batch-check=%(objectname) %(objecttype)'], { input: `${shas.join('\n')}\n` });
  const present = new Set<string>();
  for (const line of output.toString('utf8').split('\n')) {
    const [name, type] = line.split(' ');
    if (name !== undefined && type === 'commit') {
      present.add(name);
    }
  }
  return present;
}

/** Fields read per commit, separated by NUL; `%B` comes last because it may contain anything but NUL. */
const EXPORT_FIELDS = ['%H', '%P', '%an', '%ae', '%aI', '%at', '%ad', '%cn', '%ce', '%cI', '%ct', '%cd', '%B'];

/** Reads the commits with one `git log` call. Every id must name a commit that exists. */
async function readExportCommits(repo: Repository, shas: readonly string[]): Promise<ExportCommit[]> {
  if (shas.length === 0) {
    return [];
  }

  const output = await readGit(
    objectContext(repo),
    ['log', '--no-walk=unsorted', '--stdin', '--no-use-mailmap', '--no-show-signature', '-z', '--date=format:%z', `--format=format:${EXPORT_FIELDS.join('%x00')}`],
    { input: `${shas.join('\n')}\n` },
  );

  const tokens = output.toString('utf8').split('\0');
  if (tokens.length % EXPORT_FIELDS.length !== 0) {
    throw new StepperError(
      'GIT_FAILED',
      `git log printed ${tokens.length} fields, not a multiple of ${EXPORT_FIELDS.length}: a commit message may contain a NUL byte`,
    );
  }

  const commits: ExportCommit[] = [];
  for (let start = 0; start < tokens.length; start += EXPORT_FIELDS.length) {
    const field = (index: number): string => tokens[start + index] ?? '';
    commits.push({
      sha: field(0),
      parents: field(1) === '' ? [] : field(1).split(' '),
      author: { name: field(2), email: field(3), date: field(4), timestamp: Number(field(5)), timezone: field(6) },
      committer: { name: field(7), email: field(8), date: field(9), timestamp: Number(field(10)), timezone: field(11) },
      message: field(12).replace(/\n+$/, ''),
    });
  }
  return commits;
}

function compareText(a: string, b: string): number {
  if (a === b) {
    return 0;
  }
  return a < b ? -1 : 1;
}
