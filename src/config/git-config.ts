import { GitError } from '../git/errors.js';
import { runGit } from '../git/git.js';
import { worktreeContext } from '../git/repository.js';
import type { Repository } from '../git/types.js';

/**
 * Reads the last value of a git config key as git resolves it for the repository (its own
 * config, then the global and system ones). Returns undefined when the key is not set.
 */
export async function readGitConfig(repo: Repository, key: string): Promise<string | undefined> {
  try {
    const output = await runGit(worktreeContext(repo), ['config', '--null', '--get', key]);
    return output.endsWith('\0') ? output.slice(0, -1) : output;
  } catch (error) {
    // `git config --get` exits with 1 when the key is not set.
    if (error instanceof GitError && error.exitCode === 1) {
      return undefined;
    }

    throw error;
  }
}
