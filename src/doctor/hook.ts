import { NotARepositoryError } from '../git/errors.js';
import { hookStatus } from '../hook/install.js';
import { VERSION } from '../version.js';
import type { Check, CheckOutcome, DoctorContext } from './types.js';

export const hookCheck: Check = {
  id: 'hook',
  title: 'git hooks',
  run: checkHooks,
};

/**
 * Checks the post-commit and post-rewrite hooks of the repository around `cwd` with
 * hookStatus: installed, written by this stepper version, and recording a node binary and
 * kick script that still exist. A missing hook is a warning, because `stepper report` works
 * without it.
 */
async function checkHooks(context: DoctorContext): Promise<CheckOutcome> {
  let status;
  try {
    status = await hookStatus({ cwd: context.cwd, env: context.env });
  } catch (error) {
    if (error instanceof NotARepositoryError) {
      return { status: 'skip', detail: 'not inside a git repository' };
    }

    throw error;
  }

  const missing = status.hooks.filter((hook) => !hook.installed).map((hook) => hook.hook);
  if (missing.length === status.hooks.length) {
    return {
      status: 'warn',
      detail: `not installed in ${status.hooksDir}, so commits are reported only when you run stepper report`,
      fix: 'run stepper hook install in this repository',
    };
  }

  if (status.warnings.length > 0) {
    return { status: 'warn', detail: status.warnings.join('; '), fix: 'run stepper hook install in this repository' };
  }

  return { status: 'pass', detail: `${status.hooks.map((hook) => hook.hook).join(' and ')} installed in ${status.hooksDir} by stepper ${VERSION}` };
}
