import fs from 'node:fs';
import path from 'node:path';

import { GitError, NotARepositoryError } from './errors.js';
import { type GitContext, runGit } from './git.js';
import type { Repository } from './types.js';

/** Opens the repository that contains `folder` like openRepository, or returns undefined outside one. */
export async function findRepository(folder: string): Promise<Repository | undefined> {
  try {
    return await openRepository(folder);
  } catch (error) {
    if (error instanceof NotARepositoryError) {
      return undefined;
    }

    throw error;
  }
}

/**
 * Opens the repository that contains `folder`: a worktree folder (main or linked), a
 * bare repository or a folder inside a git directory. Raises NotARepositoryError
 * naming the folder when it does not exist or git finds no repository there.
 */
export async function openRepository(folder: string): Promise<Repository> {
  const absolute = path.resolve(folder);

  let stat: fs.Stats;
  try {
    stat = fs.statSync(absolute);
  } catch (error) {
    throw new NotARepositoryError(absolute, 'the folder does not exist', { cause: error });
  }
  if (!stat.isDirectory()) {
    throw new NotARepositoryError(absolute, 'it is not a folder');
  }

  const context: GitContext = { cwd: absolute };
  // Started beside the first call, which reports whether the folder is in a worktree. It
  // fails outside one, and its output is then not used.
  const toplevel = runGit(context, ['rev-parse', '--show-toplevel']);
  toplevel.catch(() => {});

  let output: string;
  try {
    // The path comes last and is read to the end, so a newline inside it survives.
    output = await runGit(context, [
      'rev-parse',
      '--is-inside-work-tree',
      '--is-shallow-repository',
      '--path-format=absolute',
      '--git-common-dir',
    ]);
  } catch (error) {
    if (error instanceof GitError && error.exitCode !== null) {
      throw new NotARepositoryError(absolute, firstLine(error.stderr) || `git exited with code ${error.exitCode}`, { cause: error });
    }
    throw error;
  }

  const [insideWorktree, shallow, ...rest] = output.split('\n');
  const commonDir = stripFinalNewline(rest.join('\n'));
  const gitDir = fs.realpathSync(commonDir);

  let worktree: string | null = null;
  if (insideWorktree === 'true') {
    const top = stripFinalNewline(await toplevel);
    worktree = fs.realpathSync(top);
  }

  return { gitDir, worktree, shallow: shallow === 'true' };
}

/**
 * Context for commands that read objects only (commits, trees, blobs): the common git
 * directory, which every linked worktree shares. It works after the worktree the
 * repository was opened from has been removed.
 */
export function objectContext(repo: Repository): GitContext {
  return { cwd: repo.gitDir, gitDir: repo.gitDir };
}

/**
 * Context for commands whose output depends on the worktree, such as resolving HEAD.
 * A linked worktree has its own HEAD, which the common directory does not show.
 */
export function worktreeContext(repo: Repository): GitContext {
  return repo.worktree === null ? objectContext(repo) : { cwd: repo.worktree };
}

function stripFinalNewline(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '';
}
