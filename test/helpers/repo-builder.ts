import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** 2024-01-01T00:00:00Z: the date of the first commit of every built repository. */
export const BASE_EPOCH = 1_704_067_200;
export const DAY_SECONDS = 86_400;

export interface Identity {
  name: string;
  email: string;
}

export const DEFAULT_IDENTITY: Identity = { name: 'Test Author', email: 'author@example.com' };

/**
 * Options passed to every git command the builder runs: a fixed branch name, no
 * signing, no line-ending conversion, and local `file` transport for submodules.
 */
const CONFIG_ARGS = [
  '-c', 'init.defaultBranch=main',
  '-c', 'commit.gpgsign=false',
  '-c', 'tag.gpgsign=false',
  '-c', 'core.autocrlf=false',
  '-c', 'protocol.file.allow=always',
  '-c', 'advice.detachedHead=false',
];

/**
 * Builds the environment of the builder's git commands. Inherited GIT_ variables are
 * removed, because a test run from a hook would otherwise write into the wrong
 * repository. User and system configuration is ignored. The identity and date are
 * fixed, so commit ids are the same on every run. GIT_EDITOR ":" means "no editor".
 */
export function builderEnvironment(date: string, author: Identity, committer: Identity): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.toUpperCase().startsWith('GIT_')) {
      env[name] = value;
    }
  }

  return {
    ...env,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_EDITOR: ':',
    LC_ALL: 'C',
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_NAME: committer.name,
    GIT_COMMITTER_EMAIL: committer.email,
    GIT_COMMITTER_DATE: date,
  };
}

export interface CommitOptions {
  author?: Identity;
  committer?: Identity;
  /** Offset recorded with the dates, such as `+0530`. */
  timezone?: string;
  allowEmpty?: boolean;
}

/**
 * Writes files and runs git in one repository folder. Every commit is dated one day
 * after the previous one, from {@link BASE_EPOCH}.
 */
export class RepoBuilder {
  readonly dir: string;
  private day = 0;

  constructor(dir: string) {
    this.dir = dir;
    fs.mkdirSync(dir, { recursive: true });
  }

  /** Creates a folder and runs `git init` in it. */
  static init(dir: string, extraArgs: string[] = []): RepoBuilder {
    const builder = new RepoBuilder(dir);
    builder.git(['init', '-q', ...extraArgs]);
    return builder;
  }

  /** Returns the date the next commit gets, in git's internal format `<epoch> <offset>`. */
  date(timezone = '+0000'): string {
    return `${BASE_EPOCH + this.day * DAY_SECONDS} ${timezone}`;
  }

  /** Runs git with an argument array (never a shell) and returns its standard output. */
  git(args: string[], options: { input?: string | Buffer; cwd?: string } & CommitOptions = {}): string {
    const author = options.author ?? DEFAULT_IDENTITY;
    const env = builderEnvironment(this.date(options.timezone), author, options.committer ?? author);
    try {
      return execFileSync('git', [...CONFIG_ARGS, ...args], {
        cwd: options.cwd ?? this.dir,
        env,
        input: options.input,
        stdio: ['pipe', 'pipe', 'pipe'],
        maxBuffer: 256 * 1024 * 1024,
      }).toString('utf8');
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString('utf8') ?? '';
      throw new Error(`test repository command failed: git ${args.join(' ')} in ${options.cwd ?? this.dir}: ${stderr}`, {
        cause: error,
      });
    }
  }

  /** Writes a file below the repository; a Buffer name is used byte for byte. */
  write(name: string | Buffer, content: string | Buffer, mode?: number): void {
    const target = typeof name === 'string' ? path.join(this.dir, name) : Buffer.concat([Buffer.from(`${this.dir}/`), name]);
    if (typeof name === 'string') {
      fs.mkdirSync(path.dirname(target as string), { recursive: true });
    }
    fs.writeFileSync(target, content);
    if (mode !== undefined) {
      fs.chmodSync(target, mode);
    }
  }

  /** Stages every change in the worktree and commits it; returns the new commit id. */
  commit(message: string, options: CommitOptions = {}): string {
    this.git(['add', '-A'], options);
    this.git(['commit', '-q', ...(options.allowEmpty ? ['--allow-empty'] : []), '-F', '-'], { ...options, input: message });
    return this.advance();
  }

  /** Returns the id of HEAD and moves the clock to the next day. */
  advance(): string {
    this.day += 1;
    return this.head();
  }

  head(revision = 'HEAD'): string {
    return this.git(['rev-parse', '--verify', `${revision}^{commit}`]).trim();
  }
}

export interface BuiltRepo {
  /** The worktree folder, or the repository folder itself when it is bare. */
  dir: string;
  /** The repository's git directory as built (`<dir>/.git`, or `dir` when bare). */
  gitDir: string;
  /** Commit ids by role, such as `root` or `clean-merge`. */
  commits: Record<string, string>;
  /** Other folders the state created: a linked worktree, a submodule's source, a clone's source. */
  dirs: Record<string, string>;
}

export interface BuildOptions {
  /** Minimum size of the file the `huge-diff` state adds; 3 MiB unless set. */
  hugeDiffBytes?: number;
}

/** Builds one named state in the empty folder `dir`. */
export type Recipe = (dir: string, options: BuildOptions) => BuiltRepo;

export const ALICE: Identity = { name: 'Alice Example', email: 'alice@example.com' };
export const BOB: Identity = { name: 'Bob Example', email: 'bob@example.com' };
export const CID: Identity = { name: 'Cid Committer', email: 'cid@example.com' };

export function builtRepo(builder: RepoBuilder, commits: Record<string, string>, dirs: Record<string, string> = {}): BuiltRepo {
  return { dir: builder.dir, gitDir: path.join(builder.dir, '.git'), commits, dirs };
}

/** Lines `<prefix> 1` to `<prefix> <count>`, each ending in a newline. */
export function numberedLines(count: number, prefix = 'line'): string {
  return Array.from({ length: count }, (_, index) => `${prefix} ${index + 1}\n`).join('');
}

/**
 * Creates a repository whose root commit adds a README and `src/app.ts`. Alice authors
 * it and Cid commits it, in the +0530 zone, so tests can tell the two people apart.
 */
export function initWithRoot(dir: string): { builder: RepoBuilder; root: string } {
  const builder = RepoBuilder.init(dir);
  builder.write('README.md', '# Project\n\nFirst line.\nSecond line.\nThird line.\n');
  builder.write('src/app.ts', numberedLines(12, 'const value'));
  const root = builder.commit('Initial commit\n', { author: ALICE, committer: CID, timezone: '+0530' });
  return { builder, root };
}

/** Builds a `git fast-import` command that adds one commit to main, dated `day` days after BASE_EPOCH. */
export function fastImportCommit(message: string, day: number, fileCommands = ''): string {
  const signature = `${DEFAULT_IDENTITY.name} <${DEFAULT_IDENTITY.email}> ${BASE_EPOCH + day * DAY_SECONDS} +0000`;
  return `commit refs/heads/main\nauthor ${signature}\ncommitter ${signature}\ndata ${Buffer.byteLength(message)}\n${message}\n${fileCommands}`;
}

/** Builds a `git fast-import` file command with the content inline. */
export function fastImportFile(filePath: string, content: string): string {
  return `M 100644 inline ${filePath}\ndata ${Buffer.byteLength(content)}\n${content}\n`;
}
