import { checkPositiveInteger, InvalidOptionError, StepperError } from '../errors.js';
import { AmbiguousRevisionError, GitError, UnknownRevisionError } from './errors.js';
import { queryGit, readGit, runGit } from './git.js';
import { objectContext, worktreeContext } from './repository.js';
import type { Repository } from './types.js';

/** Filters applied as `git rev-list` applies them. */
export interface RevisionLimits {
  /** A date git understands (`2024-01-31`, `2 weeks ago`), compared with the committer date. */
  since?: string;
  /** A date in the same forms as `since`. */
  until?: string;
  /** An extended regular expression matched against the author's name and email, as `git log -E --author` does. */
  author?: string;
  /** Keeps the newest `maxCount` commits of each range. Commits named one by one do not count. */
  maxCount?: number;
}

type ParsedSpec =
  | { kind: 'commit'; revision: string }
  | { kind: 'range'; from: string; to: string; symmetric: boolean }
  | { kind: 'parent-shorthand'; revision: string; suffix: string };

/** `A^!` (A alone), `A^@` (A's ancestors without A), `A^-` and `A^-2` (A's commits not reachable from its first or second parent). */
const PARENT_SHORTHAND = /^(.+)(\^(?:!|@|-\d*))$/s;

/**
 * Resolves revision specs to full commit ids, without duplicates.
 *
 * - A spec without `..` is one commit: anything `git rev-parse` accepts (a full or short
 *   id, `HEAD~3`, a tag, a branch). A tag is peeled to its commit.
 * - `A..B`, `A...B`, `A^!`, `A^@` and `A^-` are ranges expanded by `git rev-list`, oldest
 *   first and parents before children (`--topo-order --reverse`). An empty side of `..`
 *   means HEAD, as in git.
 *
 * Specs keep their order: the result lists the first spec's commits, then the second's,
 * and a commit already listed is not repeated. `since`, `until` and `author` filter
 * commits named one by one too, because a caller that sets them means every commit;
 * `maxCount` caps ranges only, so without a range it raises a StepperError coded INVALID_OPTION.
 *
 * Raises UnknownRevisionError or AmbiguousRevisionError naming the failing spec or side, and
 * InvalidOptionError when git cannot compile the `author` pattern. A spec starting with `-` is read as a revision, never as an option.
 */
export async function resolveRevisions(repo: Repository, specs: readonly string[], limits: RevisionLimits = {}): Promise<string[]> {
  try {
    return await resolveSpecs(repo, specs, limits);
  } catch (error) {
    // git reports a pattern it cannot compile as "header, '<pattern>': <reason>", or with "command line" in place of "header".
    if (error instanceof GitError && limits.author !== undefined && /(command line|header), '.*': /.test(error.stderr)) {
      throw new InvalidOptionError('--author', 'a regular expression git accepts, such as "Ada|Grace"', limits.author);
    }
    throw error;
  }
}

async function resolveSpecs(repo: Repository, specs: readonly string[], limits: RevisionLimits): Promise<string[]> {
  const limitArgs = buildLimitArgs(limits);
  const parsedSpecs = specs.map(parseSpec);

  // A count that caps nothing would hand back every named commit as if it had worked.
  if (limits.maxCount !== undefined && specs.length > 0 && parsedSpecs.every((parsed) => parsed.kind === 'commit')) {
    throw new StepperError(
      'INVALID_OPTION',
      `--max-count limits ranges, but ${specs.map((spec) => JSON.stringify(spec)).join(', ')} ${specs.length === 1 ? 'names one commit' : 'name single commits'}: ` +
        'give a range such as HEAD~50..HEAD, or drop --max-count',
    );
  }

  const perSpec: Array<{ single: boolean; shas: string[] }> = [];
  const singles: string[] = [];

  for (const parsed of parsedSpecs) {
    if (parsed.kind === 'commit') {
      const sha = await resolveCommit(repo, parsed.revision);
      singles.push(sha);
      perSpec.push({ single: true, shas: [sha] });
      continue;
    }

    if (parsed.kind === 'range') {
      const from = await resolveCommit(repo, parsed.from || 'HEAD');
      const to = await resolveCommit(repo, parsed.to || 'HEAD');
      const range = `${from}${parsed.symmetric ? '...' : '..'}${to}`;
      perSpec.push({ single: false, shas: await listRange(repo, range, limitArgs) });
      continue;
    }

    const sha = await resolveCommit(repo, parsed.revision);
    perSpec.push({ single: false, shas: await listRange(repo, `${sha}${parsed.suffix}`, limitArgs) });
  }

  const keptSingles = await filterCommits(repo, singles, limits);
  const result: string[] = [];
  const seen = new Set<string>();
  for (const { single, shas } of perSpec) {
    for (const sha of shas) {
      if (seen.has(sha) || (single && !keptSingles.has(sha))) {
        continue;
      }
      seen.add(sha);
      result.push(sha);
    }
  }

  return result;
}

/**
 * Resolves one revision to the id of the commit it names, peeling tags. Raises
 * UnknownRevisionError or AmbiguousRevisionError naming `revision`.
 */
export async function resolveCommit(repo: Repository, revision: string): Promise<string> {
  if (revision === '') {
    throw new UnknownRevisionError(revision, repo.gitDir);
  }

  // `:/text` (the newest commit whose message matches) reads the rest as a pattern, so a
  // `^{commit}` suffix would become part of it. It always names a commit anyway.
  const peeled = revision.startsWith(':/') ? revision : `${revision}^{commit}`;
  try {
    // runGit, not simple-git: naming one commit is the path of every `stepper report HEAD`,
    // which the simple-git import would slow by a fifth.
    const output = (await runGit(worktreeContext(repo), ['rev-parse', '--verify', '--end-of-options', peeled])).trim();
    // rev-parse prints a negated revision such as `^HEAD` as `^<id>`: it excludes commits and names none.
    if (output.startsWith('^')) {
      throw new StepperError(
        'INVALID_OPTION',
        `revision ${JSON.stringify(revision)} excludes commits and names none to report: give a commit, or a range such as HEAD~3..HEAD`,
      );
    }
    return output;
  } catch (error) {
    if (!(error instanceof GitError) || error.exitCode === null) {
      throw error;
    }
    // LC_ALL=C keeps these messages in English.
    if (/short object ID \S+ is ambiguous/.test(error.stderr)) {
      throw new AmbiguousRevisionError(revision, repo.gitDir, { cause: error });
    }
    if (/Needed a single revision/.test(error.stderr)) {
      throw new UnknownRevisionError(revision, repo.gitDir, { cause: error, noCommits: await hasNoCommits(repo) });
    }
    throw error;
  }
}

/** Returns true for a repository without any commit, which the error message then names. */
async function hasNoCommits(repo: Repository): Promise<boolean> {
  try {
    return (await runGit(worktreeContext(repo), ['rev-list', '-n', '1', '--all'])).trim() === '';
  } catch {
    return false;
  }
}

function parseSpec(spec: string): ParsedSpec {
  // git splits at the first `..` too, and a third dot makes the range symmetric.
  const dots = spec.indexOf('..');
  if (dots !== -1) {
    const symmetric = spec[dots + 2] === '.';
    return { kind: 'range', from: spec.slice(0, dots), to: spec.slice(dots + (symmetric ? 3 : 2)), symmetric };
  }

  const shorthand = PARENT_SHORTHAND.exec(spec);
  if (shorthand?.[1] && shorthand[2]) {
    return { kind: 'parent-shorthand', revision: shorthand[1], suffix: shorthand[2] };
  }

  return { kind: 'commit', revision: spec };
}

async function listRange(repo: Repository, range: string, limitArgs: string[]): Promise<string[]> {
  const output = await queryGit(worktreeContext(repo), ['rev-list', '--topo-order', '--reverse', ...limitArgs, '--end-of-options', range, '--']);
  return splitLines(output);
}

/** Returns the commits of `shas` that pass `since`, `until` and `author`. */
async function filterCommits(repo: Repository, shas: string[], limits: RevisionLimits): Promise<Set<string>> {
  const filterArgs = buildLimitArgs({ since: limits.since, until: limits.until, author: limits.author });
  if (filterArgs.length === 0 || shas.length === 0) {
    return new Set(shas);
  }

  // The ids go through standard input, so any number of them fits.
  const output = await readGit(objectContext(repo), ['rev-list', '--no-walk=unsorted', ...filterArgs, '--stdin'], {
    input: `${shas.join('\n')}\n`,
  });
  return new Set(splitLines(output.toString('utf8')));
}

function buildLimitArgs(limits: RevisionLimits): string[] {
  const args: string[] = [];
  for (const option of ['since', 'until', 'author'] as const) {
    const value = limits[option];
    if (value === undefined) {
      continue;
    }
    if (typeof value !== 'string' || value.trim() === '') {
      throw new InvalidOptionError(`--${option}`, 'a non-empty string', value);
    }
    args.push(`--${option}=${value}`);
    // Extended syntax, so `Ada|Grace` means either name, as users of most regex engines expect.
    if (option === 'author') {
      args.push('--extended-regexp');
    }
  }

  if (limits.maxCount !== undefined) {
    args.push(`--max-count=${checkPositiveInteger('--max-count', limits.maxCount)}`);
  }
  return args;
}

function splitLines(output: string): string[] {
  return output.split('\n').filter((line) => line !== '');
}
