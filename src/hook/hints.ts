import fs from 'node:fs';
import path from 'node:path';

import { MODEL_KEY } from '../config/keys.js';
import { StepperError } from '../errors.js';
import { readCommits } from '../git/commit.js';
import { GitError } from '../git/errors.js';
import { runGit } from '../git/git.js';
import { openRepository } from '../git/repository.js';
import type { Repository } from '../git/types.js';
import { chooseModel } from '../ollama/model.js';
import { type EnqueueResult, enqueueJobs } from '../queue/enqueue.js';
import type { NewJob } from '../queue/types.js';
import { reportJob } from '../report/job.js';
import { HINTS_DIR, appendHookLog } from './log.js';

/** First line of a hint file of the format this stepper reads. */
const HINT_HEADER = 'stepper-hint 1';
/** Last line of a complete hint file. */
const HINT_END = 'end';
/** A hint without its last line that is older than this was left by a hook that died while writing. */
export const INCOMPLETE_HINT_AGE_MS = 10 * 60_000;

/** A hint file as the shell hook writes it. */
export interface Hint {
  file: string;
  /** `post-commit`, `post-rewrite rebase` or `post-rewrite amend`. */
  event: string;
  /** Git directory the hook ran in, which is the worktree's own git directory for a commit in a linked worktree. */
  gitDir: string;
  commits: string[];
}

/** Outcome of one hint file. */
export type HintOutcome =
  | { file: string; status: 'enqueued'; hint: Hint; repository: string; results: EnqueueResult[] }
  | { file: string; status: 'waiting'; reason: string }
  | { file: string; status: 'dropped'; reason: string }
  | { file: string; status: 'failed'; reason: string };

export interface IngestHintsOptions {
  /** Environment that STEPPER_MODEL is read from. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** @default Date.now() */
  now?: number;
}

/**
 * Turns every complete hint file in `<dataDir>/spool/hooks` into report jobs and deletes
 * it. A hint still being written is left alone. A hint that stayed incomplete for
 * INCOMPLETE_HINT_AGE_MS is logged and deleted, and so is an invalid one or one whose
 * repository is gone. When enqueueing fails (the database and the spool both unusable) the
 * hint stays for the next call. Each outcome is appended to hook.log.
 *
 * Two callers at once may both enqueue a hint's commits. That is harmless, because the
 * queue deduplicates live jobs per commit and model and reuses a finished report by its
 * cache key.
 */
export async function ingestHookHints(dataDir: string, options: IngestHintsOptions = {}): Promise<HintOutcome[]> {
  const dir = path.join(dataDir, HINTS_DIR);
  const now = options.now ?? Date.now();

  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((name) => name.endsWith('.hint')).sort();
  } catch (error) {
    // ENOTDIR: the data directory is a file, which opening the queue then reports.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return [];
    }

    throw error;
  }

  const outcomes: HintOutcome[] = [];
  for (const name of names) {
    const outcome = await ingestHint(dataDir, path.join(dir, name), now, options.env ?? process.env);
    if (outcome) {
      outcomes.push(outcome);
      logOutcome(dataDir, outcome);
    }
  }

  return outcomes;
}

async function ingestHint(dataDir: string, file: string, now: number, env: NodeJS.ProcessEnv): Promise<HintOutcome | undefined> {
  let text: string;
  let mtimeMs: number;
  try {
    text = fs.readFileSync(file, 'utf8');
    mtimeMs = fs.statSync(file).mtimeMs;
  } catch (error) {
    // Another ingester handled the file between readdir and read.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }

    return { file, status: 'failed', reason: `cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})` };
  }

  const parsed = parseHint(file, text);
  if (parsed === 'incomplete') {
    if (now - mtimeMs < INCOMPLETE_HINT_AGE_MS) {
      return { file, status: 'waiting', reason: 'the hook is still writing it' };
    }

    removeFile(file);
    return { file, status: 'dropped', reason: `incomplete for ${Math.round((now - mtimeMs) / 60_000)} minutes, so the hook that wrote it died` };
  }
  if (typeof parsed === 'string') {
    removeFile(file);
    return { file, status: 'dropped', reason: parsed };
  }

  let jobs: NewJob[];
  let repository: string;
  try {
    const repo = await openRepository(parsed.gitDir);
    repository = repo.gitDir;
    const model = chooseModel({ env, gitConfig: await readModelConfig(repository) }).name;
    const priority = parsed.event === 'post-commit' ? 'normal' : 'low';
    const commits = [...new Set(parsed.commits)];
    const subjects = await readSubjects(repo, commits);
    jobs = commits.map((commitSha) => reportJob({ repository, commitSha, model, priority, subject: subjects.get(commitSha) }));
  } catch (error) {
    // A deleted repository or an invalid stepper.model does not get better by waiting.
    if (error instanceof StepperError && error.code !== 'GIT_NOT_FOUND') {
      removeFile(file);
      return { file, status: 'dropped', reason: error.message };
    }

    return { file, status: 'failed', reason: (error as Error).message };
  }

  let results: EnqueueResult[];
  try {
    results = enqueueJobs(jobs, { dataDir });
  } catch (error) {
    return { file, status: 'failed', reason: (error as Error).message };
  }

  removeFile(file);
  return { file, status: 'enqueued', hint: parsed, repository, results };
}

/** Parses a hint file. Returns 'incomplete' when its last line is missing, or the reason it is invalid. */
export function parseHint(file: string, text: string): Hint | 'incomplete' | string {
  const lines = text.split('\n');
  if (lines.at(-1) === '') {
    lines.pop();
  }

  if (lines.at(-1) !== HINT_END) {
    return 'incomplete';
  }

  if (lines[0] !== HINT_HEADER) {
    return `invalid first line ${JSON.stringify(lines[0] ?? '')}: expected ${JSON.stringify(HINT_HEADER)}`;
  }

  let event: string | undefined;
  let gitDir: string | undefined;
  const commits: string[] = [];
  for (const line of lines.slice(1, -1)) {
    const space = line.indexOf(' ');
    const key = space === -1 ? line : line.slice(0, space);
    const value = space === -1 ? '' : line.slice(space + 1);
    if (key === 'event') {
      event = value;
    } else if (key === 'gitdir') {
      gitDir = value;
    } else if (key === 'commit' && /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(value)) {
      commits.push(value);
    } else {
      return `invalid line ${JSON.stringify(line)}`;
    }
  }

  if (event === undefined || !/^post-(commit|rewrite( \S+)?)$/.test(event)) {
    return `invalid or missing event ${JSON.stringify(event ?? '')}`;
  }
  if (gitDir === undefined || !path.isAbsolute(gitDir)) {
    return `invalid or missing gitdir ${JSON.stringify(gitDir ?? '')}: expected an absolute path`;
  }
  if (commits.length === 0) {
    return 'no commit ids';
  }

  return { file, event, gitDir, commits };
}

/** Reads `git config stepper.model` of the repository, or undefined when the key is unset. */
async function readModelConfig(gitDir: string): Promise<string | undefined> {
  try {
    const value = await runGit({ cwd: gitDir, gitDir }, ['config', '--get', MODEL_KEY]);
    return value.trim() || undefined;
  } catch (error) {
    // git config exits with 1 for an unset key.
    if (error instanceof GitError && error.exitCode === 1) {
      return undefined;
    }

    throw error;
  }
}

function removeFile(file: string): void {
  try {
    fs.rmSync(file, { force: true });
  } catch {
    // NOTE: a hint that cannot be deleted is read again, and the queue deduplicates its jobs.

  }
}

function logOutcome(dataDir: string, outcome: HintOutcome): void {
  const name = path.basename(outcome.file);
  switch (outcome.status) {
    case 'enqueued': {
      const spooled = outcome.results.filter((result) => result.spooled).length;
      const short = outcome.hint.commits.map((sha) => sha.slice(0, 12)).join(' ');
      const where = spooled > 0 ? `, ${spooled} of them into the spool because the database was unavailable` : '';
      appendHookLog(dataDir, 'info', `${outcome.hint.event} ${outcome.repository}: enqueued ${outcome.results.length} report job${outcome.results.length === 1 ? '' : 's'}${where} (${short})`);
      return;
    }
    case 'waiting':
      return;
    case 'dropped':
      appendHookLog(dataDir, 'error', `hint ${name} removed: ${outcome.reason}`);
      return;
    case 'failed':
      appendHookLog(dataDir, 'error', `hint ${name} kept for a later run: ${outcome.reason}`);
      return;
  }
}

/**
 * Reads the subjects of a hint's commits with one git call, so that watch and status show them
 * without reading git. A commit git cannot read leaves all subjects out: the job is still queued,
 * and its report job names the problem.
 */
async function readSubjects(repo: Repository, commits: readonly string[]): Promise<Map<string, string>> {
  try {
    return new Map((await readCommits(repo, commits)).map((commit) => [commit.sha, commit.subject]));
  } catch {
    return new Map();
  }
}
