import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { openQueue, type Queue } from '../../src/queue/queue.js';
import { reportJob } from '../../src/report/job.js';
import { builderEnvironment, DEFAULT_IDENTITY, type Identity, RepoBuilder } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';

export const MODEL = 'qwen2.5-coder:7b';

/** Creates an empty repository in a temporary folder named `name`, removed after the test. */
export function newDiaryRepo(name = 'app'): RepoBuilder {
  return RepoBuilder.init(path.join(makeTempDir('stepper-diary-repo-'), name));
}

/**
 * Commits the worktree's changes with author and committer date `date` (any form
 * GIT_AUTHOR_DATE takes, such as `2026-03-29T01:30:00+09:00`) and returns the commit id.
 */
export function commitAt(builder: RepoBuilder, message: string, date: string, options: { author?: Identity } = {}): string {
  const author = options.author ?? DEFAULT_IDENTITY;
  const env = builderEnvironment(date, author, author);
  const run = (args: string[], input?: string) =>
    execFileSync('git', ['-c', 'commit.gpgsign=false', ...args], { cwd: builder.dir, env, input, stdio: ['pipe', 'pipe', 'pipe'] }).toString('utf8');

  run(['add', '-A']);
  run(['commit', '-q', '-F', '-'], message);
  return run(['rev-parse', 'HEAD']).trim();
}

/** Runs git in the repository with a fixed date, for branch and merge steps. */
export function gitAt(builder: RepoBuilder, args: string[], date: string): string {
  const env = builderEnvironment(date, DEFAULT_IDENTITY, DEFAULT_IDENTITY);
  return execFileSync('git', ['-c', 'commit.gpgsign=false', ...args], { cwd: builder.dir, env, stdio: ['pipe', 'pipe', 'pipe'] }).toString('utf8');
}

export interface StoredReportFields {
  title: string;
  summary: string;
  tags?: string[];
}

/** Opens a writable queue in a new data directory; the caller closes it. */
export function newQueue(): { queue: Queue; dataDir: string } {
  const dataDir = makeTempDir('stepper-diary-data-');
  return { queue: openQueue({ dataDir }), dataDir };
}

/**
 * Adds a report job for the commit, claims it and completes it with a report, as the daemon
 * would. The job has high priority, so it is claimed before any waiting job of normal priority.
 */
export function storeReport(queue: Queue, repository: string, sha: string, fields: StoredReportFields): void {
  queue.add(reportJob({ repository, commitSha: sha, model: MODEL, priority: 'high' }));
  const claimed = claimJob(queue, sha);
  const report = { title: fields.title, summary: fields.summary, changes: [], rationale: '', impact_and_tests: '', next_steps: [], tags: fields.tags ?? [] };
  const facts = { subject: '', files: [], totals: { files: 0, additions: 0, deletions: 0 }, conventional: null };
  queue.complete(claimed, { report: { content: { report, facts }, provenance: { model: MODEL, commit: sha, repository } } });
}

/** Adds a report job for the commit with high priority, claims it and fails it for good. */
export function storeFailure(queue: Queue, repository: string, sha: string): void {
  queue.add(reportJob({ repository, commitSha: sha, model: MODEL, priority: 'high' }));
  queue.fail(claimJob(queue, sha), new Error('the model returned no JSON'), { permanent: true });
}

/** Adds a report job for the commit and leaves it waiting. */
export function storePending(queue: Queue, repository: string, sha: string): string {
  return queue.add(reportJob({ repository, commitSha: sha, model: MODEL })).job.id;
}

function claimJob(queue: Queue, sha: string) {
  const claimed = queue.claim('diary-test');
  if (claimed === undefined || claimed.commitSha !== sha) {
    throw new Error(`expected to claim the job of ${sha}, claimed ${claimed?.commitSha ?? 'nothing'}; leave no other high-priority job waiting`);
  }
  return claimed;
}
