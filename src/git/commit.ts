import fs from 'node:fs';
import path from 'node:path';

import { InvalidOptionError, StepperError } from '../errors.js';
import { GitError, UnknownRevisionError } from './errors.js';
import { readGit, runGit } from './git.js';
import { objectContext } from './repository.js';
import type { CommitInfo, Person, Repository, Trailer } from './types.js';

/** A full object id: 40 hex digits (SHA-1) or 64 (SHA-256). */
export const FULL_OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * One commit's fields, separated by NUL. `%ad` and `%cd` print `<epoch> <offset>` under
 * `--date=raw`. The trailer field puts one trailer on each line, with its key and
 * value separated by 0x1F: a key cannot contain 0x1F and an unfolded value cannot
 * contain a newline, so the split is unambiguous.
 */
export const COMMIT_FIELDS = ['%H', '%P', '%an', '%ae', '%ad', '%aI', '%cn', '%ce', '%cd', '%cI', '%s', '%b', '%(trailers:only,unfold,key_value_separator=%x1f)'];
const COMMIT_FORMAT = `format:${COMMIT_FIELDS.join('%x00')}`;

/** Reads one commit's metadata. `sha` must be a full commit id; see {@link readCommits}. */
export async function readCommit(repo: Repository, sha: string): Promise<CommitInfo> {
  const [commit] = await readCommits(repo, [sha]);
  if (!commit) {
    throw new UnknownRevisionError(sha, repo.gitDir);
  }
  return commit;
}

/**
 * Reads the metadata of many commits with one `git log` call and returns it in the
 * order of `shas`. Each entry must be a full commit id (resolve names with
 * resolveRevisions first). Raises UnknownRevisionError for an id that names no commit.
 *
 * In a shallow clone, git hides the parents of the commits at the shallow boundary.
 * Their parents are read from the commit objects instead, so that a boundary commit is
 * not mistaken for a root commit.
 */
export async function readCommits(repo: Repository, shas: readonly string[]): Promise<CommitInfo[]> {
  for (const sha of shas) {
    if (typeof sha !== 'string' || !FULL_OBJECT_ID.test(sha)) {
      throw new InvalidOptionError('commit id', 'a full commit id of 40 or 64 lowercase hex digits', sha);
    }
  }

  const unique = [...new Set(shas)];
  if (unique.length === 0) {
    return [];
  }

  let output: Buffer;
  try {
    output = await readGit(
      objectContext(repo),
      ['log', '--no-walk=unsorted', '--stdin', '--no-use-mailmap', '--no-show-signature', '-z', '--date=raw', `--format=${COMMIT_FORMAT}`],
      { input: `${unique.join('\n')}\n` },
    );
  } catch (error) {
    const missing = error instanceof GitError ? /bad object ([0-9a-f]+)/.exec(error.stderr)?.[1] : undefined;
    if (missing) {
      throw new UnknownRevisionError(missing, repo.gitDir, { cause: error });
    }
    throw error;
  }

  const bySha = new Map<string, CommitInfo>();
  for (const commit of parseLog(output.toString('utf8'))) {
    bySha.set(commit.sha, commit);
  }

  const shallow = readShallowCommits(repo);
  const result: CommitInfo[] = [];
  for (const sha of shas) {
    const commit = bySha.get(sha);
    // git log skips an id that names a blob or a tree without an error.
    if (!commit) {
      throw new UnknownRevisionError(sha, repo.gitDir);
    }
    if (shallow.has(sha) && commit.parents.length === 0) {
      commit.parents = await readRecordedParents(repo, sha);
    }
    result.push(commit);
  }

  return result;
}

function parseLog(text: string): CommitInfo[] {
  if (text === '') {
    return [];
  }

  const tokens = text.split('\0');
  if (tokens.length % COMMIT_FIELDS.length !== 0) {
    throw new StepperError(
      'GIT_FAILED',
      `git log printed ${tokens.length} fields, not a multiple of ${COMMIT_FIELDS.length}: a commit message may contain a NUL byte`,
    );
  }

  const commits: CommitInfo[] = [];
  for (let start = 0; start < tokens.length; start += COMMIT_FIELDS.length) {
    commits.push(parseCommitFields(tokens.slice(start, start + COMMIT_FIELDS.length)));
  }
  return commits;
}

/** Builds a CommitInfo from the values of {@link COMMIT_FIELDS}, in their order. */
export function parseCommitFields(record: readonly string[]): CommitInfo {
  const field = (index: number): string => record[index] ?? '';

  return {
    sha: field(0),
    parents: field(1) === '' ? [] : field(1).split(' '),
    author: parsePerson(field(2), field(3), field(4), field(5)),
    committer: parsePerson(field(6), field(7), field(8), field(9)),
    subject: field(10),
    body: stripTrailingBlankLines(field(11)),
    trailers: parseTrailers(field(12)),
  };
}

function parsePerson(name: string, email: string, raw: string, iso: string): Person {
  const [seconds = '', timezone = ''] = raw.split(' ');
  return { name, email, date: iso, timestamp: Number(seconds), timezone };
}

function parseTrailers(field: string): Trailer[] {
  const trailers: Trailer[] = [];
  for (const line of field.split('\n')) {
    const separator = line.indexOf('\x1f');
    if (separator === -1) {
      continue;
    }
    trailers.push({ key: line.slice(0, separator), value: line.slice(separator + 1) });
  }
  return trailers;
}

function stripTrailingBlankLines(body: string): string {
  const lines = body.split('\n');
  while (lines.length > 0 && (lines[lines.length - 1] ?? '').trim() === '') {
    lines.pop();
  }
  return lines.join('\n');
}

/**
 * Returns the commits listed in the repository's `shallow` file: the boundary of a
 * shallow clone, whose parents git does not show.
 */
export function readShallowCommits(repo: Repository): Set<string> {
  let text: string;
  try {
    text = fs.readFileSync(path.join(repo.gitDir, 'shallow'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return new Set();
    }
    throw error;
  }
  return new Set(text.split('\n').filter((line) => line !== ''));
}

/** Reads the `parent` headers of a commit object as written, whatever the shallow boundary hides. */
async function readRecordedParents(repo: Repository, sha: string): Promise<string[]> {
  const object = await runGit(objectContext(repo), ['cat-file', 'commit', sha]);
  const parents: string[] = [];
  for (const line of object.split('\n')) {
    if (line === '') {
      break;
    }
    if (line.startsWith('parent ')) {
      parents.push(line.slice('parent '.length));
    }
  }
  return parents;
}
