// Finds the repository of a folder without starting git, for the common layout only: a
// worktree whose `.git` is a directory. `stepper status` and `stepper report` run often, and
// starting git costs them about 3 ms of their main thread (docs/benchmarks.md, CLI). Any
// layout this module does not fully understand is left to `git rev-parse`.
import fs from 'node:fs';
import path from 'node:path';

import type { Repository } from './types.js';

// Keys that make git read the layout differently from what the folders show: core.bare,
// core.worktree and extensions.worktreeConfig. `bare = false`, which git init writes, is fine.
const LAYOUT_KEY = /^\s*(bare|worktree|worktreeconfig)\s*(?:=\s*(.*))?$/i;
const FALSE_VALUE = /^(?:false|no|off|0)\s*(?:[#;].*)?$/i;
// HEAD contents that git's validate_headref accepts: a symbolic ref into refs/, or a SHA-1 or SHA-256 commit id.
const VALID_HEAD = /^(?:ref:\s*refs\/|[0-9a-f]{40}(?:[0-9a-f]{24})?(?:\s|$))/;

/**
 * Returns the repository of `folder` as `git rev-parse --show-toplevel --git-common-dir`
 * finds it, when `folder` lies in the worktree of a repository whose `.git` is a directory,
 * on the same filesystem and owned by this user. Returns undefined for anything else (no
 * repository, a bare repository, a folder inside a git directory, a `.git` file of a linked
 * worktree or submodule, a layout set in the repository's config), for git to decide.
 *
 * Stepper runs git without the GIT_* environment variables (see gitEnvironment), so
 * GIT_DIR, GIT_CEILING_DIRECTORIES and GIT_DISCOVERY_ACROSS_FILESYSTEM do not apply here
 * either.
 */
export function discoverRepository(folder: string): Repository | undefined {
  let current: string;
  let device: number;
  try {
    current = fs.realpathSync(folder);
    const stat = fs.statSync(current);
    // git cannot run in a file, so openRepository names that error.
    if (!stat.isDirectory()) {
      return undefined;
    }
    device = stat.dev;
  } catch {
    return undefined;
  }

  for (;;) {
    const dotGit = path.join(current, '.git');
    const stat = statOrUndefined(dotGit);

    // git skips a `.git` directory that is not a repository and looks further up.
    const verdict = stat?.isDirectory() ? judgeGitDirectory(dotGit) : 'not';
    if (verdict === 'repository') {
      return describe(current, dotGit, stat!);
    }

    // A `.git` file points elsewhere, and a folder that is itself a git directory is a bare
    // repository or lies inside one: git handles these, and any `.git` this module cannot judge.
    if (verdict === 'ask git' || stat?.isFile() || judgeGitDirectory(current) !== 'not') {
      return undefined;
    }

    const parent = path.dirname(current);
    // git stops at the root and, by default, where another filesystem begins.
    if (parent === current || statOrUndefined(parent)?.dev !== device) {
      return undefined;
    }
    current = parent;
  }
}

function describe(worktree: string, dotGit: string, stat: fs.Stats): Repository | undefined {
  // git refuses a repository whose worktree or git directory someone else owns
  // (safe.directory), with a message to show.
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (uid !== undefined && (stat.uid !== uid || statOrUndefined(worktree)?.uid !== uid)) {
    return undefined;
  }

  let config: string;
  try {
    config = fs.readFileSync(path.join(dotGit, 'config'), 'utf8');
  } catch {
    return undefined;
  }
  if (setsLayout(config) || fs.existsSync(path.join(dotGit, 'commondir'))) {
    return undefined;
  }

  try {
    return { gitDir: fs.realpathSync(dotGit), worktree, shallow: fs.existsSync(path.join(dotGit, 'shallow')) };
  } catch {
    return undefined;
  }
}

/** Reads config text line by line, in every section, so it errs toward asking git. */
function setsLayout(config: string): boolean {
  for (const line of config.split(/\r?\n/)) {
    const match = LAYOUT_KEY.exec(line);
    if (match && !(match[1]?.toLowerCase() === 'bare' && FALSE_VALUE.test(match[2] ?? ''))) {
      return true;
    }
  }

  return false;
}

/**
 * Applies git's own test (is_git_directory): an objects folder, a refs folder and a HEAD
 * that contains `ref: refs/...` or a commit id. A HEAD that is a symbolic link is left to git.
 */
function judgeGitDirectory(folder: string): 'repository' | 'not' | 'ask git' {
  if (statOrUndefined(path.join(folder, 'objects'))?.isDirectory() !== true || statOrUndefined(path.join(folder, 'refs'))?.isDirectory() !== true) {
    return 'not';
  }

  const head = path.join(folder, 'HEAD');
  let headStat: fs.Stats | undefined;
  try {
    headStat = fs.lstatSync(head);
  } catch {
    return 'not';
  }
  if (headStat.isSymbolicLink()) {
    return 'ask git';
  }
  if (!headStat.isFile()) {
    return 'not';
  }

  return VALID_HEAD.test(readStart(head)) ? 'repository' : 'not';
}

/** Reads the first bytes of a small file, or returns '' when it cannot be read. */
function readStart(file: string): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(256);
      return buffer.toString('latin1', 0, fs.readSync(fd, buffer, 0, buffer.length, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** Returns undefined for a path that is missing or cannot be read, such as one under a file (ENOTDIR). */
function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}
