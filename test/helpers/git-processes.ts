import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterEach } from 'vitest';

import { makeTempDir } from './temp.js';

/** Git processes started since a wrapper script named git was put first on PATH. */
export interface GitProcessLog {
  /** Number of git processes logged so far. */
  count(): number;
  /** Subcommands (`diff-tree`, `patch-id`, …) of the processes logged after the first `from`. */
  subcommands(from?: number): string[];
}

let restorePath: (() => void) | undefined;

afterEach(() => {
  restorePath?.();
  restorePath = undefined;
});

/**
 * Puts a script named git first on this process's PATH until the current test ends. It
 * appends its arguments to a log and runs the real git, so a test counts the git processes
 * that code in this process starts, because stepper spawns git by name with this PATH.
 */
export function logGitProcesses(): GitProcessLog {
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  const dir = makeTempDir('stepper-git-log-');
  const logFile = path.join(dir, 'git.log');
  fs.writeFileSync(logFile, '');
  fs.writeFileSync(path.join(dir, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> ${shellQuote(logFile)}\nexec ${shellQuote(realGit)} "$@"\n`, { mode: 0o755 });

  const previous = process.env.PATH;
  process.env.PATH = `${dir}${path.delimiter}${previous ?? ''}`;
  restorePath = () => {
    process.env.PATH = previous;
  };

  const lines = (): string[] => fs.readFileSync(logFile, 'utf8').split('\n').filter((line) => line !== '');
  return {
    count: () => lines().length,
    subcommands: (from = 0) => lines().slice(from).map(subcommandOf),
  };
}

/** Returns the first argument that is no option, skipping the value of `-c`. */
function subcommandOf(line: string): string {
  const args = line.split(' ');
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    if (arg === '-c') {
      index += 1;
      continue;
    }
    if (!arg.startsWith('-')) {
      return arg;
    }
  }
  return '';
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
