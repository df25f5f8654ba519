import type { Repository } from '../git/types.js';
import type { ExportCommit, ExportEntry } from './collect.js';
import { type ProvenanceSummary, toExportedLine } from './jsonl.js';

/**
 * The remote fields git-cliff 2.14.2 requires on every commit of a context it loads with
 * `--from-context`: a context without them fails with "missing field `github`". The values are
 * the ones git-cliff prints when no remote integration is configured.
 */
const REMOTE_NAMES = ['github', 'gitlab', 'gitea', 'bitbucket', 'azure_devops'] as const;

/** A commit's signature as git-cliff stores it: `timestamp` in seconds since the epoch. */
export interface CliffSignature {
  name: string;
  email: string;
  timestamp: number;
}

/** Everything stepper adds to a commit, under `extra.stepper`. */
export interface CliffStepperExtra {
  title: string;
  summary: string;
  changes: string[];
  rationale: string;
  impact_and_tests: string;
  next_steps: string[];
  tags: string[];
  model: string | null;
  /** When the report was stored, in ISO 8601 (UTC), or null without provenance. */
  generated_at: string | null;
  report_id: string | null;
  files: ExportEntry['report']['facts']['files'];
  totals: ExportEntry['report']['facts']['totals'];
  coverage: ReturnType<typeof toExportedLine>['coverage'];
  provenance: ProvenanceSummary | null;
}

/** A commit in git-cliff's context format, before git-cliff parses it as a conventional commit. */
export interface CliffCommit {
  id: string;
  message: string;
  group: null;
  scope: null;
  links: never[];
  author: CliffSignature;
  committer: CliffSignature;
  conventional: boolean;
  merge_commit: boolean;
  extra: { stepper: CliffStepperExtra };
  raw_message: string;
  [remote: string]: unknown;
}

/** A release in git-cliff's context format. stepper writes one release without a version, which git-cliff shows as unreleased. */
export interface CliffRelease {
  version: null;
  message: null;
  commits: CliffCommit[];
  commit_id: string | null;
  timestamp: null;
  previous: CliffRelease | null;
  repository: string | null;
  commit_range: { from: string; to: string } | null;
  submodule_commits: Record<string, never>;
  statistics: null;
  extra: { stepper: { exported: number } } | null;
  [remote: string]: unknown;
}

/**
 * Builds the context that `git cliff --from-context` reads: a JSON array of releases. All
 * exported commits go into one release without a version, newest first as git-cliff lists
 * them, and each commit's report sits under `extra.stepper`.
 */
export function buildCliffContext(repo: Repository, entries: readonly ExportEntry[]): CliffRelease[] {
  const commits = entries.map(toCliffCommit);
  const newest = commits[0];
  const oldest = commits[commits.length - 1];

  const release: CliffRelease = {
    version: null,
    message: null,
    commits,
    commit_id: newest?.id ?? null,
    timestamp: null,
    previous: emptyRelease(),
    repository: repo.worktree ?? repo.gitDir,
    commit_range: newest && oldest ? { from: oldest.id, to: newest.id } : null,
    submodule_commits: {},
    statistics: null,
    extra: { stepper: { exported: commits.length } },
    ...remoteFields({ contributors: [] }),
  };
  return [release];
}

/** Renders the context as git-cliff prints it with `--context`: JSON, here indented for reading. */
export function renderCliffContext(repo: Repository, entries: readonly ExportEntry[]): string {
  return `${JSON.stringify(buildCliffContext(repo, entries), null, 2)}\n`;
}

function toCliffCommit(entry: ExportEntry): CliffCommit {
  const { commit, report } = entry;
  const line = toExportedLine(entry);

  return {
    id: commit.sha,
    message: commit.message,
    group: null,
    scope: null,
    links: [],
    author: signature(commit.author),
    committer: signature(commit.committer),
    conventional: report.facts.conventional !== null,
    merge_commit: commit.parents.length > 1,
    extra: {
      stepper: {
        ...report.report,
        model: report.provenance?.model ?? null,
        generated_at: report.provenance?.createdAt ?? null,
        report_id: report.provenance?.reportId ?? null,
        files: report.facts.files,
        totals: report.facts.totals,
        coverage: line.coverage,
        provenance: line.provenance,
      },
    },
    ...remoteFields({ username: null, pr_author: null, pr_title: null, pr_number: null, pr_numbers: [], pr_labels: [], is_first_time: false }),
    raw_message: commit.message,
  };
}

/** Builds the release that git-cliff puts before the first one, with every field empty. */
function emptyRelease(): CliffRelease {
  return {
    version: null,
    message: null,
    commits: [],
    commit_id: null,
    timestamp: null,
    previous: null,
    repository: null,
    commit_range: null,
    submodule_commits: {},
    statistics: null,
    extra: null,
    ...remoteFields({ contributors: [] }),
  };
}

function remoteFields(value: object): Record<string, unknown> {
  return Object.fromEntries(REMOTE_NAMES.map((name) => [name, structuredClone(value)]));
}

function signature(person: ExportCommit['author']): CliffSignature {
  return { name: person.name, email: person.email, timestamp: person.timestamp };
}
