import { StepperError } from '../errors.js';

/** Maximum length of the command line in an error message; a longer one is cut and ends in an ellipsis. */
const MAX_COMMAND_CHARS = 300;
/** Maximum length of git's error output in an error message; the end is kept. */
const MAX_MESSAGE_STDERR_CHARS = 1000;

/** A git command that exited with a non-zero code or was killed by a signal. */
export class GitError extends StepperError {
  override name = 'GitError';
  /** The command as a readable line, for messages and logs only: it is never run through a shell. */
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The end of git's error output, at most the bound the runner keeps. */
  readonly stderr: string;

  constructor(
    details: {
      args: readonly string[];
      cwd: string;
      exitCode: number | null;
      signal?: NodeJS.Signals | null;
      stderr: string;
    },
    options?: { cause?: unknown },
  ) {
    const command = formatCommand(details.args);
    const outcome = details.signal ? `was killed by ${details.signal}` : `failed with exit code ${details.exitCode}`;
    const output = details.stderr.trim();
    const excerpt = output.length > MAX_MESSAGE_STDERR_CHARS ? `…${output.slice(-MAX_MESSAGE_STDERR_CHARS)}` : output;
    const message = excerpt
      ? `${command} ${outcome} in ${details.cwd}: ${excerpt}`
      : `${command} ${outcome} in ${details.cwd} without an error message: run it there to see its output`;

    super('GIT_FAILED', message, options);
    this.command = command;
    this.args = [...details.args];
    this.cwd = details.cwd;
    this.exitCode = details.exitCode;
    this.signal = details.signal ?? null;
    this.stderr = details.stderr;
  }
}

/** The git program could not be started. */
export class GitNotFoundError extends StepperError {
  override name = 'GitNotFoundError';

  constructor(options?: { cause?: unknown }) {
    super('GIT_NOT_FOUND', 'git not found: install git 2.31 or later and make sure it is on PATH', options);
  }
}

/** A path that is not inside a git repository, or a repository git cannot open. */
export class NotARepositoryError extends StepperError {
  override name = 'NotARepositoryError';
  readonly path: string;
  readonly reason: string;

  /** `alternative` names another way out, such as an option that reads every repository. */
  constructor(path: string, reason: string, options?: { cause?: unknown; alternative?: string }) {
    const alternative = options?.alternative === undefined ? '' : `, or ${options.alternative}`;
    super(
      'NOT_A_REPOSITORY',
      `not a git repository: ${path} (${reason}); run stepper inside a git worktree or a bare repository${alternative}`,
      { cause: options?.cause },
    );
    this.path = path;
    this.reason = reason;
  }

  /** Returns the same error with `alternative` added to its message. */
  withAlternative(alternative: string): NotARepositoryError {
    return new NotARepositoryError(this.path, this.reason, { cause: this.cause, alternative });
  }
}

/** A revision that names no commit. */
export class UnknownRevisionError extends StepperError {
  override name = 'UnknownRevisionError';
  readonly revision: string;

  /** With `noCommits`, the message states that the repository has no commit at all, as right after `git init`. */
  constructor(revision: string, gitDir: string, options?: { cause?: unknown; noCommits?: boolean }) {
    super(
      'UNKNOWN_REVISION',
      options?.noCommits
        ? `unknown revision ${JSON.stringify(revision)}: the repository ${gitDir} has no commits yet; make a first commit, then name it`
        : `unknown revision ${JSON.stringify(revision)}: it names no commit in ${gitDir}; ` +
            'check it with `git log --oneline` (a commit id, branch, tag or expression such as HEAD~3)',
      { cause: options?.cause },
    );
    this.revision = revision;
  }
}

/** A short commit id that more than one object starts with. */
export class AmbiguousRevisionError extends StepperError {
  override name = 'AmbiguousRevisionError';
  readonly revision: string;

  constructor(revision: string, gitDir: string, options?: { cause?: unknown }) {
    super(
      'AMBIGUOUS_REVISION',
      `ambiguous revision ${JSON.stringify(revision)}: more than one object in ${gitDir} starts with it; ` +
        'give more hex digits of the commit id',
      options,
    );
    this.revision = revision;
  }
}

/** Formats `git` and its arguments as one line, quoting arguments that contain spaces or control characters. */
export function formatCommand(args: readonly string[]): string {
  const words = ['git', ...args.map((arg) => (/^[\w@%+=:,./^{}~-]+$/.test(arg) ? arg : JSON.stringify(arg)))];
  const line = words.join(' ');
  return line.length > MAX_COMMAND_CHARS ? `${line.slice(0, MAX_COMMAND_CHARS)}…` : line;
}
