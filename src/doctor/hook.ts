import { execFile } from 'node:child_process';
import fs from 'node:fs';

import { NotARepositoryError } from '../git/errors.js';
import { interpreterOf, isShellHook } from '../hook/block.js';
import { chmodCommand, type HookFileStatus, hookStatus, notExecutableWarning } from '../hook/install.js';
import { VERSION } from '../version.js';
import { combine } from './outcome.js';
import type { Check, CheckOutcome, DoctorContext } from './types.js';

export const hookCheck: Check = {
  id: 'hook',
  title: 'git hooks',
  run: checkHooks,
};

const INSTALL_FIX = 'run stepper hook install in this repository';

// The shells whose `-n` option parses a script without running it.
const SYNTAX_CHECKERS = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh']);

/**
 * Checks the post-commit and post-rewrite hooks of the repository around `cwd` with
 * hookStatus: installed, written by this stepper version, and recording a node binary and
 * kick script that still exist. It also parses each shell hook with `<shell> -n`. A missing
 * hook is a warning, because `stepper report` works without it. A damaged block or a hook
 * that does not parse fails, because git then runs stepper twice or not at all.
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

  const failures: CheckOutcome[] = [];
  for (const hook of status.hooks) {
    if (hook.damaged !== undefined) {
      failures.push({ status: 'fail', detail: hook.damaged, fix: hook.damageFix ?? INSTALL_FIX });
    }

    const syntax = await checkSyntax(hook.standalone ?? hook.file, context);
    if (syntax !== undefined) {
      failures.push(syntax);
    }
  }
  if (failures.length > 0) {
    return combine(failures, { status: 'pass', detail: '' });
  }

  const missing = status.hooks.filter((hook) => !hook.installed).map((hook) => hook.hook);
  if (missing.length === status.hooks.length) {
    return {
      status: 'warn',
      detail: `not installed in ${status.hooksDir}, so commits are reported only when you run stepper report`,
      fix: INSTALL_FIX,
    };
  }

  const warnings = status.hooks.flatMap((hook) => hook.warnings.map((warning) => ({ status: 'warn' as const, detail: warning, fix: fixFor(hook, warning) })));
  if (warnings.length > 0) {
    // Two warnings with the same fix, such as two outdated blocks, name it once.
    const fixes = [...new Set(warnings.map((warning) => warning.fix))];
    return { status: 'warn', detail: warnings.map((warning) => warning.detail).join('; '), fix: fixes.join('; then ') };
  }

  return { status: 'pass', detail: `${status.hooks.map((hook) => hook.hook).join(' and ')} installed in ${status.hooksDir} by stepper ${VERSION}` };
}

/** Returns the command that resolves one of hookStatus's warnings. */
function fixFor(hook: HookFileStatus, warning: string): string {
  return warning === notExecutableWarning(hook.file) ? `run ${chmodCommand(hook.file)}` : INSTALL_FIX;
}

/**
 * Parses a shell hook with `-n` of the shell its `#!` line names, or sh without one, as git
 * runs it. Returns a failure with the shell's first error line, or undefined when the file
 * parses, is missing, is not a shell script, or the shell is not installed.
 */
async function checkSyntax(file: string, context: DoctorContext): Promise<CheckOutcome | undefined> {
  let content: string;
  try {
    content = fs.readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
  if (!isShellHook(content)) {
    return undefined;
  }

  const interpreter = interpreterOf(content);
  const shell = interpreter !== undefined && SYNTAX_CHECKERS.has(interpreter) ? interpreter : 'sh';
  const error = await new Promise<(Error & { code?: unknown; stderr?: string }) | undefined>((resolve) => {
    // An argument array and no shell option, so the file name reaches the shell as one argument.
    execFile(shell, ['-n', file], { env: context.env, timeout: context.timeoutMs, encoding: 'utf8' }, (failure, _stdout, stderr) => {
      resolve(failure ? Object.assign(failure, { stderr }) : undefined);
    });
  });

  if (error === undefined || error.code === 'ENOENT') {
    return undefined;
  }

  const message = (error.stderr ?? '').trim().split('\n')[0] || error.message;
  return {
    status: 'fail',
    detail: `${file} does not parse as a ${shell} script, so git stops it with an error: ${message}`,
    fix: `fix the syntax error in ${file}; check it with ${shell} -n ${file}`,
  };
}
