import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { DatabaseError, InvalidOptionError } from '../errors.js';

/** File names inside the data directory. */
export const DATABASE_FILE = 'stepper.db';
export const SPOOL_DIR = 'spool';

/**
 * Resolves the data directory: `$STEPPER_HOME`, else `$XDG_STATE_HOME/stepper`,
 * else `~/.local/state/stepper`. Empty values are ignored. A relative STEPPER_HOME is
 * rejected, because git hooks run in each repository's folder and would each get a
 * queue of their own.
 */
export function resolveDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STEPPER_HOME) {
    if (!path.isAbsolute(env.STEPPER_HOME)) {
      throw new InvalidOptionError(
        'STEPPER_HOME',
        'an absolute path, because git hooks run in each repository and would resolve a relative one there',
        env.STEPPER_HOME,
      );
    }

    return path.normalize(env.STEPPER_HOME);
  }

  // The XDG Base Directory spec says a relative XDG_STATE_HOME is invalid and must be ignored.
  if (env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME)) {
    return path.join(env.XDG_STATE_HOME, 'stepper');
  }

  return path.join(env.HOME || os.homedir(), '.local', 'state', 'stepper');
}

/**
 * Creates `dir` (and its spool folder) with mode 0700 when missing, and
 * raises a DatabaseError naming the folder when it cannot be created or written.
 * An existing directory keeps its owner's mode: stepper only tightens what it creates.
 */
export function ensureDataDir(dir: string): void {
  // The common case, checked first because a hook calls this on every commit.
  if (fs.existsSync(path.join(dir, SPOOL_DIR))) {
    return;
  }

  try {
    const created = fs.mkdirSync(dir, { recursive: true, mode: 0o700 });

    // mkdir applies the umask, which can only tighten 0700, but chmod makes the mode exact.
    if (created !== undefined) {
      fs.chmodSync(dir, 0o700);
    }

    makeFolder(path.join(dir, SPOOL_DIR));
  } catch (error) {
    throw dataDirError(dir, error);
  }
}

/**
 * Raises a DatabaseError when `dir`, or its nearest parent that exists, is not a folder, so
 * that readers of a missing database do not report an empty queue for a path no writer can use.
 */
export function checkDataDirUsable(dir: string): void {
  let current = dir;
  for (;;) {
    let stats: fs.Stats | undefined;
    try {
      stats = fs.statSync(current);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // ENOTDIR means a parent is a file, which the loop reaches next.
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        return;
      }
    }

    if (stats !== undefined) {
      if (stats.isDirectory()) {
        return;
      }

      const problem = current === dir ? 'is a file' : `cannot be made, because ${current} is a file`;
      throw new DatabaseError(
        'DATA_DIR_UNUSABLE',
        dir,
        `data directory ${dir} ${problem}, not a folder: move the file aside or set STEPPER_HOME to a folder`,
      );
    }

    const parent = path.dirname(current);
    if (parent === current) {
      return;
    }
    current = parent;
  }
}

function makeFolder(folder: string): void {
  try {
    fs.mkdirSync(folder, { mode: 0o700 });
    fs.chmodSync(folder, 0o700);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw error;
    }
  }
}

function dataDirError(dir: string, error: unknown): DatabaseError {
  const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
  let fix = 'set STEPPER_HOME to a folder on a local disk';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    fix = 'make it writable by your user or set STEPPER_HOME to a writable folder';
  } else if (code === 'EEXIST' || code === 'ENOTDIR') {
    fix = 'the path or one of its parents is a file, so move that file aside or set STEPPER_HOME to another folder';
  }

  return new DatabaseError(
    'DATA_DIR_UNUSABLE',
    dir,
    `cannot create data directory ${dir} (${code}): ${fix}`,
    { cause: error },
  );
}
