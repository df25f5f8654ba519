import path from 'node:path';

import { InvalidOptionError } from '../errors.js';
import { GitError } from '../git/errors.js';
import { runGit } from '../git/git.js';
import { parseConventionalSubject } from '../report/conventional.js';

/** A commit as `git log` lists it, before its report is joined. */
export interface LoggedCommit {
  sha: string;
  merge: boolean;
  authorName: string;
  authorEmail: string;
  authoredAt: string;
  authoredAtMs: number;
  subject: string;
  type: string | null;
  additions: number;
  deletions: number;
  files: number;
}

export interface LogOptions {
  /** Extended regular expression matched against the author, as `git log -E --author` matches it. */
  author?: string;
  /** Only commits authored at or after this instant, in epoch seconds. */
  sinceSeconds?: number;
  /** Only commits authored at or before this instant, in epoch seconds. */
  untilSeconds?: number;
}

const FIELDS = ['%H', '%P', '%an', '%ae', '%at', '%aI', '%s'];
// A numstat entry: added and deleted lines (`-` for a binary file), then the path, which is empty for a rename or copy.
const NUMSTAT_ENTRY = /^(\d+|-)\t(\d+|-)\t([^]*)$/;

/**
 * Lists the commits of the local branches and HEAD of the repository at `gitDir` (the real
 * path of a common git directory) with one `git log`, newest first. Lines are counted as
 * `git log --numstat` counts them, a merge against its first parent. `sinceSeconds` and
 * `untilSeconds` compare the author date, which places a commit in the diary, so they are
 * applied here rather than by git, which compares the committer date.
 *
 * Raises InvalidOptionError when git cannot compile the `author` pattern, and GitError when
 * the repository cannot be read.
 */
export async function logCommits(gitDir: string, options: LogOptions = {}): Promise<LoggedCommit[]> {
  if (options.author !== undefined && options.author.trim() === '') {
    throw new InvalidOptionError('--author', 'a regular expression git accepts, such as "Ada|Grace"', options.author);
  }

  const args = [
    'log',
    '-z',
    '--numstat',
    '--diff-merges=first-parent',
    '--no-use-mailmap',
    '--no-show-signature',
    `--format=${FIELDS.join('%x00')}`,
    ...(options.author === undefined ? [] : [`--author=${options.author}`, '--extended-regexp']),
    '--branches',
  ];

  let output: string;
  try {
    output = await runGit({ cwd: gitDir, gitDir }, [...args, 'HEAD', '--']);
  } catch (error) {
    rethrowAuthorError(error, options.author);
    // HEAD is unborn in a new repository, or on a branch without commits: list the branches only.
    if (!(error instanceof GitError) || !/bad revision 'HEAD'|unknown revision/.test(error.stderr)) {
      throw error;
    }
    try {
      output = await runGit({ cwd: gitDir, gitDir }, [...args, '--']);
    } catch (retryError) {
      rethrowAuthorError(retryError, options.author);
      throw retryError;
    }
  }

  const since = options.sinceSeconds ?? -Infinity;
  const until = options.untilSeconds ?? Infinity;
  return parseLog(output).filter((commit) => commit.authoredAtMs >= since * 1000 && commit.authoredAtMs <= until * 1000);
}

function rethrowAuthorError(error: unknown, author: string | undefined): void {
  // git reports a pattern it cannot compile as "header, '<pattern>': <reason>", or with "command line" in place of "header".
  if (error instanceof GitError && author !== undefined && /(command line|header), '.*': /.test(error.stderr)) {
    throw new InvalidOptionError('--author', 'a regular expression git accepts, such as "Ada|Grace"', author);
  }
}

/**
 * Parses `git log -z --numstat` output. Each commit is its NUL-separated fields, then, when it
 * changed files, a newline and one NUL-terminated numstat entry per file. The first field is a
 * hex id without tabs, so it can never be taken for a numstat entry.
 */
export function parseLog(output: string): LoggedCommit[] {
  const tokens = output.split('\0');
  const commits: LoggedCommit[] = [];
  let index = 0;

  while (index + FIELDS.length <= tokens.length) {
    const sha = tokens[index] ?? '';
    if (!/^[0-9a-f]{40,64}$/.test(sha)) {
      break;
    }

    const [, parents = '', authorName = '', authorEmail = '', authoredAt = '', authorIso = '', subject = ''] = tokens.slice(index, index + FIELDS.length);
    index += FIELDS.length;
    const commit: LoggedCommit = {
      sha,
      merge: parents.split(' ').filter((parent) => parent !== '').length > 1,
      authorName,
      authorEmail,
      authoredAt: authorIso,
      authoredAtMs: Number(authoredAt) * 1000,
      subject,
      type: parseConventionalSubject(subject)?.type ?? null,
      additions: 0,
      deletions: 0,
      files: 0,
    };

    // git puts a newline before the first entry of the file list.
    if (tokens[index]?.startsWith('\n')) {
      tokens[index] = (tokens[index] as string).slice(1);
    }
    for (let match = NUMSTAT_ENTRY.exec(tokens[index] ?? ''); match !== null; match = NUMSTAT_ENTRY.exec(tokens[index] ?? '')) {
      commit.files += 1;
      commit.additions += match[1] === '-' ? 0 : Number(match[1]);
      commit.deletions += match[2] === '-' ? 0 : Number(match[2]);
      // An empty path means the old and new paths follow as two more entries.
      index += match[3] === '' ? 3 : 1;
    }

    commits.push(commit);
  }

  return commits;
}

/** Returns the name of the work tree folder of a common git directory: `app` for `/src/app/.git` and `app` for a bare `/srv/app.git`. */
export function repositoryName(gitDir: string): string {
  const base = path.basename(gitDir);
  if (base === '.git') {
    return path.basename(path.dirname(gitDir));
  }
  return base.endsWith('.git') && base.length > 4 ? base.slice(0, -4) : base;
}
