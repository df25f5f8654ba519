// Git reads that `report` and `status` start before they load better-sqlite3 and the queue,
// so the git processes run on another core while node loads modules. Each read has a quick
// form for the common case, a folder inside a worktree, and falls back to the general
// functions for anything else, which also raise the errors shown to the user.
import { spawn } from 'node:child_process';
import fs from 'node:fs';

import { readGitConfig } from '../config/git-config.js';
import { MODEL_KEY } from '../config/keys.js';
import { discoverRepository } from '../git/discover.js';
import { gitEnvironment } from '../git/environment.js';
import { openRepository } from '../git/repository.js';
import type { Repository } from '../git/types.js';

/** The reads of one command, already running. Each promise is marked handled, so an early throw leaves none unhandled. */
export interface RepositoryReads {
  repository: Promise<Repository>;
  /** `git config stepper.model`, or undefined when not set or not asked for. */
  modelConfig: Promise<string | undefined>;
}

/**
 * Starts opening the repository of `folder` and, with `modelConfig`, reading its
 * stepper.model, side by side. In the worktree of a repository whose `.git` is a folder,
 * that takes one git process, for the config. Elsewhere one more opens the repository, where
 * openRepository and readGitConfig would start three one after the other.
 */
export function startRepositoryReads(folder: string, options: { modelConfig: boolean }): RepositoryReads {
  // The config read starts first, so that git runs while node looks for the repository.
  const quickConfig = options.modelConfig ? readGitQuickly(folder, ['config', '--null', '--get', MODEL_KEY]) : undefined;

  const discovered = discoverRepository(folder);
  const quickRepository = discovered ? Promise.resolve(discovered) : openWorktreeQuickly(folder);
  const repository = quickRepository.then((repo) => repo ?? openRepository(folder));
  let modelConfig: Promise<string | undefined> = Promise.resolve(undefined);
  if (quickConfig) {
    modelConfig = Promise.all([quickRepository, quickConfig, repository]).then(([quick, { code, output }, repo]) => {
      // The quick read is the repository's only when git ran in its worktree. `git config
      // --get` exits with 1 when the key is not set, and another failure is repeated to raise its error.
      if (quick === undefined || code > 1) {
        return readGitConfig(repo, MODEL_KEY);
      }
      return code === 1 ? undefined : output.replace(/\0$/, '');
    });
  }

  repository.catch(() => {});
  modelConfig.catch(() => {});
  return { repository, modelConfig };
}

/** One commit as `stepper report` names it: its full id and subject. */
export interface NamedCommit {
  sha: string;
  subject: string;
}

/**
 * Resolves one revision to its commit's id and subject with one `git log`, run from
 * `folder` beside the repository's own reads. Returns undefined whenever the quick form
 * does not apply or git fails, so the caller resolves the revision the general way, which
 * names the error.
 */
export async function readCommitQuickly(folder: string, revision: string): Promise<NamedCommit | undefined> {
  // `:/text` reads the rest as a pattern, and options and ranges (`A..B`, `A^!`, `A^@`, `A^-`) take the general path.
  if (revision === '' || revision.startsWith(':/') || revision.startsWith('-') || /\.\.|\^[!@-]/.test(revision)) {
    return undefined;
  }

  const { code, output } = await readGitQuickly(folder, [
    'log',
    '-1',
    '--no-walk',
    '--no-use-mailmap',
    '--no-show-signature',
    '-z',
    '--format=%H%x00%s',
    '--end-of-options',
    `${revision}^{commit}`,
    '--',
  ]);

  // A negated revision such as `^HEAD` lists no commit and prints nothing.
  const [sha, subject, end, ...rest] = output.split('\0');
  if (code !== 0 || sha === undefined || !/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(sha) || subject === undefined || end !== '' || rest.length > 0) {
    return undefined;
  }

  return { sha, subject };
}

/**
 * Opens the repository with one git process when `folder` is inside a worktree, and
 * returns undefined otherwise (a bare repository, a git directory, no repository, a path
 * with a newline), for openRepository to handle.
 */
async function openWorktreeQuickly(folder: string): Promise<Repository | undefined> {
  const { code, output } = await readGitQuickly(folder, [
    'rev-parse',
    '--is-inside-work-tree',
    '--is-shallow-repository',
    '--path-format=absolute',
    '--show-toplevel',
    '--git-common-dir',
  ]);

  const lines = output.split('\n');
  if (code !== 0 || lines.length !== 5 || lines[0] !== 'true' || lines[4] !== '') {
    return undefined;
  }

  const [, shallow, toplevel, commonDir] = lines as [string, string, string, string];
  try {
    return { gitDir: fs.realpathSync(commonDir), worktree: fs.realpathSync(toplevel), shallow: shallow === 'true' };
  } catch {
    return undefined;
  }
}

/**
 * Runs git without a shell, in the environment runGit gives it, and returns its exit code
 * (-1 when it did not start) and output. Its error output is not read, because a quick read
 * that fails is repeated the general way, which reports the error.
 */
function readGitQuickly(folder: string, args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn('git', args, { cwd: folder, env: gitEnvironment(), stdio: ['ignore', 'pipe', 'ignore'], shell: false, windowsHide: true });
    } catch {
      // spawn throws at once for some bad folders, such as a file (ENOTDIR).
      resolve({ code: -1, output: '' });
      return;
    }
    child.stdout?.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.once('error', () => resolve({ code: -1, output: '' }));
    child.once('close', (code) => resolve({ code: code ?? -1, output: Buffer.concat(chunks).toString('utf8') }));
  });
}
