import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Readable, Writable } from 'node:stream';

import { GIT_ENVIRONMENT_OVERRIDES, gitEnvironment } from './environment.js';
import { GitError, GitNotFoundError } from './errors.js';

/**
 * Working folder and repository of a git command. `gitDir`, when set, is passed as
 * `--git-dir`. Without it, git finds the repository from `cwd`, which is how a linked
 * worktree's own HEAD is read.
 */
export interface GitContext {
  cwd: string;
  gitDir?: string;
}

/** Bytes of a command's error output kept for its GitError; the end is kept because git prints `fatal:` last. */
const STDERR_LIMIT_BYTES = 16 * 1024;

function contextArgs(context: GitContext, args: readonly string[]): string[] {
  return context.gitDir === undefined ? [...args] : [`--git-dir=${context.gitDir}`, ...args];
}

/**
 * Runs one git command with the environment from {@link gitEnvironment} and returns its
 * standard output decoded as UTF-8. Any non-zero exit raises a GitError, including the
 * quiet failures such as `rev-parse --verify --quiet`.
 */
export async function runGit(context: GitContext, args: readonly string[]): Promise<string> {
  // child_process directly rather than simple-git 4.1, which waits 50 ms after a command
  // that printed nothing (such as `git config --get-all` of an unset key) before it returns.
  return (await readGit(context, args)).toString('utf8');
}

/**
 * Variables that simple-git 4 rejects in an explicit environment unless named in
 * `allowEnvironment`. PREFIX is one of them although git does not read it, and it is
 * kept rather than dropped so the user's environment reaches git unchanged.
 */
const SIMPLE_GIT_ALLOWED_ENVIRONMENT = [
  ...Object.keys(GIT_ENVIRONMENT_OVERRIDES).filter((name) => name.startsWith('GIT_')),
  'PREFIX',
];

/**
 * Runs one git command through simple-git, with the environment from {@link gitEnvironment},
 * and returns its standard output decoded as UTF-8. It serves the commands that name and list
 * commits (rev-parse, rev-list), which always print. Any non-zero exit raises a GitError.
 * NOTE: simple-git 4.1 waits 50 ms before it returns from a command that printed nothing,
 * so commands that may print nothing, and the evidence path, use runGit instead.
 */
export async function queryGit(context: GitContext, args: readonly string[]): Promise<string> {
  const fullArgs = contextArgs(context, args);
  let failure: { exitCode: number; stderr: string } | undefined;

  // Loaded on first use: the import costs about as much as starting node, and most
  // commands that read one commit never need it.
  const { simpleGit } = await import('simple-git');
  try {
    const git = simpleGit({
      baseDir: context.cwd,
      allowEnvironment: SIMPLE_GIT_ALLOWED_ENVIRONMENT,
      // `--git-dir` is in simple-git's "config paths" category; stepper builds that argument itself.
      unsafe: { allowUnsafeConfigPaths: true },
      errors(error, result) {
        // A negative exit code is the errno of a failed spawn, which the catch below reports.
        if (result.exitCode > 0) {
          failure = { exitCode: result.exitCode, stderr: tail(Buffer.concat(result.stdErr)).toString('utf8') };
          return new Error(failure.stderr);
        }
        return error;
      },
    }).env(gitEnvironment());

    return await git.raw(fullArgs);
  } catch (error) {
    if (failure) {
      throw new GitError({ args: fullArgs, cwd: context.cwd, exitCode: failure.exitCode, stderr: failure.stderr }, { cause: error });
    }
    if (isSpawnNotFound(error)) {
      throw new GitNotFoundError({ cause: error });
    }

    // simple-git rejected the command before starting it, or the folder does not exist.
    const message = error instanceof Error ? error.message : String(error);
    throw new GitError({ args: fullArgs, cwd: context.cwd, exitCode: null, stderr: message }, { cause: error });
  }
}

/** A running git command started by {@link spawnGit}. */
export interface GitProcess {
  readonly child: ChildProcess;
  readonly stdout: Readable;
  /** Present when the process was started with `stdin: 'pipe'`. */
  readonly stdin: Writable | null;
  /**
   * Settles after the process has exited and its streams have closed: fulfilled on exit
   * code 0, rejected with a GitError (or GitNotFoundError) otherwise. A rejection is
   * marked handled, so a caller that stops early need not await it.
   */
  readonly finished: Promise<void>;
}

/**
 * Starts git without a shell, with the environment from {@link gitEnvironment}. Use it
 * for output too large to buffer whole (a diff can be tens of megabytes) and for
 * piping one git command into another.
 */
export function spawnGit(context: GitContext, args: readonly string[], options: { stdin?: 'pipe' | 'ignore' } = {}): GitProcess {
  const fullArgs = contextArgs(context, args);
  const child = spawn('git', fullArgs, {
    cwd: context.cwd,
    env: gitEnvironment(),
    stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
    shell: false,
    windowsHide: true,
  });

  let stderr: Buffer = Buffer.alloc(0);
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = tail(Buffer.concat([stderr, chunk]));
  });

  const finished = new Promise<void>((resolve, reject) => {
    child.once('error', (error) => {
      // Node reports a missing working folder as ENOENT too, so only an existing folder means git is missing.
      if (isSpawnNotFound(error) && fs.existsSync(context.cwd)) {
        reject(new GitNotFoundError({ cause: error }));
        return;
      }
      reject(new GitError({ args: fullArgs, cwd: context.cwd, exitCode: null, stderr: error.message }, { cause: error }));
    });
    child.once('close', (exitCode, signal) => {
      if (exitCode === 0) {
        resolve();
        return;
      }
      reject(new GitError({ args: fullArgs, cwd: context.cwd, exitCode, signal, stderr: stderr.toString('utf8') }));
    });
  });
  finished.catch(() => undefined);

  if (!child.stdout) {
    throw new Error('git was spawned without a stdout pipe');
  }
  return { child, stdout: child.stdout, stdin: child.stdin, finished };
}

/**
 * Runs git and yields its standard output as Buffers while it arrives. After the last
 * chunk it waits for git to exit and throws a GitError naming the command when the exit
 * code is not 0. Stopping the iteration early kills git. `input` is written to git's
 * standard input.
 */
export async function* streamGit(
  context: GitContext,
  args: readonly string[],
  options: { input?: string | Buffer } = {},
): AsyncGenerator<Buffer, void, undefined> {
  const git = spawnGit(context, args, { stdin: options.input === undefined ? 'ignore' : 'pipe' });
  if (git.stdin) {
    // git may exit before reading all of its input; `finished` reports why.
    git.stdin.on('error', () => undefined);
    git.stdin.end(options.input);
  }

  let exited = false;
  try {
    for await (const chunk of git.stdout) {
      yield chunk as Buffer;
    }
    await git.finished;
    exited = true;
  } finally {
    if (!exited) {
      git.child.kill();
      await git.finished.catch(() => undefined);
    }
  }
}

/** Runs git and returns its whole standard output as bytes, for output that must not be decoded as a whole. */
export async function readGit(context: GitContext, args: readonly string[], options: { input?: string | Buffer } = {}): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of streamGit(context, args, options)) {
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function tail(buffer: Buffer): Buffer {
  return buffer.length > STDERR_LIMIT_BYTES ? buffer.subarray(buffer.length - STDERR_LIMIT_BYTES) : buffer;
}

function isSpawnNotFound(error: unknown): boolean {
  if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
    return true;
  }
  // simple-git reports a failed spawn as an error whose message contains the errno name.
  return error instanceof Error && /\bspawn git ENOENT\b/.test(error.message);
}
