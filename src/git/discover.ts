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
    device = fs.statSync(current).dev;
  } catch {
    return undefined;
  }

  for (;;) {
    const dotGit = path.join(current, '.git');
    const stat = statOrUndefined(dotGit);

    // git skips a `.git` directory that is not a repository and looks further up.
    if (stat?.isDirectory() && looksLikeGitDirectory(dotGit)) {
      return describe(current, dotGit, stat);
    }

    // A `.git` file points elsewhere, and a folder that is itself a git directory is a bare
    // repository or lies inside one: git handles both.
    if (stat?.isFile() || looksLikeGitDirectory(current)) {
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
  // git refuses a repository owned by someone else (safe.directory), with a message to show.
  if (typeof process.getuid === 'function' && stat.uid !== process.getuid()) {
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

/** git's own test (is_git_directory): a HEAD, an objects folder and a refs folder. */
function looksLikeGitDirectory(folder: string): boolean {
  return (
    statOrUndefined(path.join(folder, 'HEAD'))?.isFile() === true &&
    statOrUndefined(path.join(folder, 'objects'))?.isDirectory() === true &&
    statOrUndefined(path.join(folder, 'refs'))?.isDirectory() === true
  );
}

function statOrUndefined(file: string): fs.Stats | undefined {
  return fs.statSync(file, { throwIfNoEntry: false });
}
