import { NotARepositoryError } from './errors.js';

/**
 * Returns the process's working folder. A shell can stay in a folder that was deleted or
 * moved away, and then `process.cwd()` throws ENOENT (`uv_cwd`), which the commands would
 * otherwise print with a stack trace.
 *
 * @throws NotARepositoryError when the working folder no longer exists
 */
export function currentFolder(): string {
  try {
    return process.cwd();
  } catch (error) {
    throw new NotARepositoryError('the current folder', 'it no longer exists, because it was deleted or moved; cd to a folder that exists', { cause: error });
  }
}
