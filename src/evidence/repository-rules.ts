import path from 'node:path/posix';

import { GitError } from '../git/errors.js';
import { readGit, runGit } from '../git/git.js';
import { objectContext, worktreeContext } from '../git/repository.js';
import type { Repository } from '../git/types.js';
import { type ParsedAttributes, parseGitAttributes } from './gitattributes.js';

/**
 * Reads the user's `stepper.exclude` patterns: every value of the multi-valued key from
 * the repository's config and the global one, in git's order. None set gives [].
 */
export async function readExcludePatterns(repo: Repository): Promise<string[]> {
  try {
    const output = await runGit(worktreeContext(repo), ['config', '--null', '--get-all', 'stepper.exclude']);
    return output.split('\0').filter((pattern) => pattern.trim().length > 0);
  } catch (error) {
    // `git config --get-all` exits with 1 when the key is not set.
    if (error instanceof GitError && error.exitCode === 1) {
      return [];
    }

    throw error;
  }
}

/**
 * Reads the `.gitattributes` files of `commit` that can apply to `paths`: the one at the top
 * and those in each directory above a changed path. They are read as stored in that commit,
 * not from the worktree, so an old commit is judged by the rules it was made under.
 */
export async function readAttributes(repo: Repository, commit: string, paths: readonly string[]): Promise<ParsedAttributes[]> {
  const directories = new Set<string>(['']);
  for (const file of paths) {
    for (let directory = path.dirname(file); directory !== '.' && directory !== '/'; directory = path.dirname(directory)) {
      directories.add(directory);
    }
  }

  const listing = await readGit(objectContext(repo), ['ls-tree', '-r', '-z', '--full-tree', commit]);
  const found: Array<{ directory: string; object: string }> = [];
  for (const entry of listing.toString('utf8').split('\0')) {
    const tab = entry.indexOf('\t');
    if (tab === -1) {
      continue;
    }

    const file = entry.slice(tab + 1);
    const [, type, object] = entry.slice(0, tab).split(' ');
    const directory = path.dirname(file) === '.' ? '' : path.dirname(file);
    if (type === 'blob' && object && path.basename(file) === '.gitattributes' && directories.has(directory)) {
      found.push({ directory, object });
    }
  }

  // Shallower files first: deeper ones override them.
  found.sort((a, b) => depth(a.directory) - depth(b.directory));
  const parsed: ParsedAttributes[] = [];
  for (const { directory, object } of found) {
    const text = (await readGit(objectContext(repo), ['cat-file', 'blob', object])).toString('utf8');
    parsed.push(parseGitAttributes(text, directory));
  }

  return parsed;
}

function depth(directory: string): number {
  return directory === '' ? 0 : directory.split('/').length;
}
