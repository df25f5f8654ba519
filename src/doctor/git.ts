import { GitNotFoundError } from '../git/errors.js';
import { runGit } from '../git/git.js';
import type { Check, CheckOutcome, DoctorContext } from './types.js';

/**
 * Oldest git stepper supports: `git rev-parse --path-format=absolute`, which finds the hooks
 * folder of a linked worktree, arrived in git 2.31.
 */
export const MIN_GIT_VERSION = [2, 31, 0] as const;

const MIN_GIT_TEXT = MIN_GIT_VERSION.join('.');

export const gitCheck: Check = {
  id: 'git',
  title: 'git version',
  run: checkGit,
};

async function checkGit(context: DoctorContext): Promise<CheckOutcome> {
  let output: string;
  try {
    output = await runGit({ cwd: context.cwd }, ['--version']);
  } catch (error) {
    if (error instanceof GitNotFoundError) {
      return { status: 'fail', detail: 'git not found on PATH', fix: `install git ${MIN_GIT_TEXT} or later and make sure it is on PATH` };
    }

    throw error;
  }

  const text = output.trim();
  const version = parseGitVersion(text);
  if (version === undefined) {
    return { status: 'warn', detail: `cannot read a version from ${JSON.stringify(text)}`, fix: `make sure git ${MIN_GIT_TEXT} or later is the first git on PATH` };
  }

  const versionText = version.join('.');
  if (compareVersions(version, MIN_GIT_VERSION) < 0) {
    return { status: 'fail', detail: `git ${versionText} is older than ${MIN_GIT_TEXT}`, fix: `upgrade git to ${MIN_GIT_TEXT} or later` };
  }

  return { status: 'pass', detail: `git ${versionText}` };
}

/** Reads the release numbers of `git version 2.43.0` and of vendor forms such as `git version 2.39.3 (Apple Git-146)`. */
export function parseGitVersion(text: string): number[] | undefined {
  const match = /^git version (\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)] : undefined;
}

function compareVersions(left: readonly number[], right: readonly number[]): number {
  for (let index = 0; index < Math.max(left.length, right.length); index += 1) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) {
      return difference;
    }
  }

  return 0;
}
