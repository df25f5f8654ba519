import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { DatabaseError, InvalidOptionError } from '../../src/errors.js';
import { SPOOL_DIR, checkDataDirUsable, ensureDataDir, resolveDataDir } from '../../src/store/data-dir.js';
import { makeTempDir } from '../helpers/temp.js';

function modeOf(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }

  throw new Error('expected the call to throw');
}

describe('resolveDataDir', () => {
  it('prefers STEPPER_HOME', () => {
    const dir = resolveDataDir({ STEPPER_HOME: '/srv/stepper', XDG_STATE_HOME: '/state', HOME: '/home/ann' });

    expect(dir).toBe('/srv/stepper');
  });

  // Git hooks run in each repository's folder, where a relative path would give every repository its own queue.
  it.each(['data', './data', '~/stepper'])('rejects the relative STEPPER_HOME %s', (value) => {
    const error = catchError(() => resolveDataDir({ STEPPER_HOME: value, XDG_STATE_HOME: '/state', HOME: '/home/ann' }));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).code).toBe('INVALID_OPTION');
    expect((error as InvalidOptionError).message).toContain('invalid STEPPER_HOME: expected an absolute path');
    expect((error as InvalidOptionError).message).toContain(`received ${JSON.stringify(value)}`);
  });

  it('uses an absolute XDG_STATE_HOME next', () => {
    const dir = resolveDataDir({ XDG_STATE_HOME: '/state', HOME: '/home/ann' });

    expect(dir).toBe('/state/stepper');
  });

  it('ignores a relative XDG_STATE_HOME', () => {
    const dir = resolveDataDir({ XDG_STATE_HOME: 'state', HOME: '/home/ann' });

    expect(dir).toBe('/home/ann/.local/state/stepper');
  });

  it('ignores an empty STEPPER_HOME and XDG_STATE_HOME', () => {
    const dir = resolveDataDir({ STEPPER_HOME: '', XDG_STATE_HOME: '', HOME: '/home/ann' });

    expect(dir).toBe('/home/ann/.local/state/stepper');
  });

  it('falls back to HOME/.local/state/stepper', () => {
    const dir = resolveDataDir({ HOME: '/home/ann' });

    expect(dir).toBe('/home/ann/.local/state/stepper');
  });

  it('uses the account home when HOME is unset', () => {
    const dir = resolveDataDir({});

    expect(dir).toBe(path.join(os.homedir(), '.local', 'state', 'stepper'));
  });
});

describe('ensureDataDir', () => {
  let savedUmask: number;

  // Under umask 0 a folder keeps exactly the mode passed to mkdir, so a missing mode shows as 0777.
  beforeEach(() => {
    savedUmask = process.umask(0);
  });

  afterEach(() => {
    process.umask(savedUmask);
  });

  it('creates the folder and spool with mode 0700', () => {
    const dir = path.join(makeTempDir(), 'state', 'stepper');

    ensureDataDir(dir);

    expect(fs.statSync(dir).isDirectory()).toBe(true);
    expect(modeOf(dir)).toBe(0o700);
    expect(fs.statSync(path.join(dir, SPOOL_DIR)).isDirectory()).toBe(true);
    expect(modeOf(path.join(dir, SPOOL_DIR))).toBe(0o700);
  });

  it('creates a missing spool in an existing folder', () => {
    const dir = makeTempDir();

    ensureDataDir(dir);

    expect(modeOf(path.join(dir, SPOOL_DIR))).toBe(0o700);
  });

  it('keeps the mode of an existing folder', () => {
    const dir = makeTempDir();
    fs.chmodSync(dir, 0o750);

    ensureDataDir(dir);

    expect(modeOf(dir)).toBe(0o750);
  });

  it('runs twice without error', () => {
    const dir = path.join(makeTempDir(), 'stepper');

    ensureDataDir(dir);
    ensureDataDir(dir);

    expect(modeOf(dir)).toBe(0o700);
  });

  it('rejects a path that is a regular file', () => {
    const file = path.join(makeTempDir(), 'stepper');
    fs.writeFileSync(file, 'not a folder\n');

    const error = catchError(() => ensureDataDir(file));

    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe('DATA_DIR_UNUSABLE');
    expect((error as DatabaseError).path).toBe(file);
    expect((error as DatabaseError).message).toContain(file);
    expect((error as DatabaseError).message).toMatch(/is a file, so move that file aside or set STEPPER_HOME/);
    expect(fs.readFileSync(file, 'utf8')).toBe('not a folder\n');
  });

  it('rejects a path below a regular file', () => {
    const file = path.join(makeTempDir(), 'blocker');
    fs.writeFileSync(file, '');
    const dir = path.join(file, 'stepper');

    const error = catchError(() => ensureDataDir(dir));

    expect(error).toBeInstanceOf(DatabaseError);
    expect((error as DatabaseError).code).toBe('DATA_DIR_UNUSABLE');
    expect((error as DatabaseError).message).toContain(dir);
    expect((error as DatabaseError).message).toMatch(/is a file, so move that file aside or set STEPPER_HOME/);
  });
});

describe('checkDataDirUsable', () => {
  it('accepts a folder and a missing path under one', () => {
    const root = makeTempDir();

    expect(() => checkDataDirUsable(root)).not.toThrow();
    expect(() => checkDataDirUsable(path.join(root, 'not', 'yet'))).not.toThrow();
  });

  it('rejects a file as the data directory', () => {
    const file = path.join(makeTempDir(), 'file');
    fs.writeFileSync(file, '');

    expect(() => checkDataDirUsable(file)).toThrow(DatabaseError);
    expect(() => checkDataDirUsable(file)).toThrow(`data directory ${file} is a file, not a folder: move the file aside or set STEPPER_HOME to a folder`);
  });

  it('rejects a path under a file', () => {
    const file = path.join(makeTempDir(), 'file');
    fs.writeFileSync(file, '');
    const dir = path.join(file, 'stepper');

    expect(() => checkDataDirUsable(dir)).toThrow(`data directory ${dir} cannot be made, because ${file} is a file, not a folder`);
  });
});
