import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';

import { enqueueJob, ensureDataDir, openQueue, SCHEMA_VERSION } from '../../src/index.js';
import { fakeSha } from '../helpers/commits.js';
import { makeTempDir } from '../helpers/temp.js';
import { closedPort, diagnose, doctorEnvironment } from './helpers.js';

/** Creates a real queue database with a few jobs in a new data directory, and returns its file. */
async function createDatabase(): Promise<{ env: NodeJS.ProcessEnv; file: string }> {
  const env = doctorEnvironment(`127.0.0.1:${await closedPort()}`);
  const dataDir = env.STEPPER_HOME as string;
  ensureDataDir(dataDir);
  for (const label of ['one', 'two', 'three']) {
    enqueueJob({ kind: 'report', repository: '/repos/demo', commitSha: fakeSha(label), payload: { note: 'x'.repeat(3000) } }, { dataDir });
  }

  // Closing the last connection checkpoints the WAL into the main file.
  openQueue({ dataDir }).close();
  return { env, file: path.join(dataDir, 'stepper.db') };
}

function digest(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function setPragma(file: string, pragma: string): void {
  const db = new Database(file);
  db.pragma(pragma);
  db.close();
}

describe('database checks', () => {
  test('healthy database passes', async () => {
    const { env, file } = await createDatabase();
    const results = await diagnose(env);

    expect(results['database-integrity']?.status).toBe('pass');
    expect(results['database-integrity']?.detail).toBe(`${file}: quick_check ok, schema version ${SCHEMA_VERSION}`);
    expect(results['database-journal']?.status).toBe('pass');
    expect(results['database-journal']?.detail).toBe(`${file} is in WAL mode`);
  });

  test('data directory that is a file skips', async () => {
    const file = path.join(makeTempDir(), 'stepper');
    fs.writeFileSync(file, 'not a folder\n');
    const env = doctorEnvironment(`127.0.0.1:${await closedPort()}`, { STEPPER_HOME: file });

    const results = await diagnose(env);

    for (const id of ['database-integrity', 'database-journal', 'daemon']) {
      expect(results[id]?.status, id).toBe('skip');
      expect(results[id]?.detail, id).toBe(`${file} is not a directory, see the data directory check`);
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('not a folder\n');
  });

  test('data directory under a file skips', async () => {
    const file = path.join(makeTempDir(), 'plain-file');
    fs.writeFileSync(file, 'not a folder\n');
    const env = doctorEnvironment(`127.0.0.1:${await closedPort()}`, { STEPPER_HOME: path.join(file, 'stepper') });

    const results = await diagnose(env);

    expect(results['database-integrity']?.status).toBe('skip');
    expect(results['database-integrity']?.detail).toBe(`${file} is not a directory, see the data directory check`);
  });

  test('missing database passes', async () => {
    const env = doctorEnvironment(`127.0.0.1:${await closedPort()}`);
    const results = await diagnose(env);
    const file = path.join(env.STEPPER_HOME as string, 'stepper.db');

    expect(results['database-integrity']?.status).toBe('pass');
    expect(results['database-integrity']?.detail).toBe(`${file} does not exist yet; the first report creates it`);
    expect(fs.existsSync(file)).toBe(false);
  });

  test('corrupt page fails', async () => {
    const { env, file } = await createDatabase();
    const pageSize = 4096;
    const fd = fs.openSync(file, 'r+');
    // Page 2 is the root of the first table: garbage over its b-tree header breaks it.
    fs.writeSync(fd, Buffer.alloc(512, 0xa5), 0, 512, pageSize);
    fs.closeSync(fd);
    const before = digest(file);

    const results = await diagnose(env);
    const check = results['database-integrity'];

    expect(check?.status).toBe('fail');
    expect(check?.detail).toContain(`database ${file} is corrupted`);
    expect(check?.detail).toContain('Tree 2 page 2: btreeInitPage() returns error code 11');
    expect(check?.detail.endsWith(')')).toBe(true);
    expect(check?.fix?.startsWith("stop stepper's worker, then move the file with its -wal and -shm files aside")).toBe(true);
    expect(digest(file)).toBe(before);
  });

  test('newer schema fails untouched', async () => {
    const { env, file } = await createDatabase();
    setPragma(file, `user_version = ${SCHEMA_VERSION + 1}`);
    const before = digest(file);

    const results = await diagnose(env);
    const check = results['database-integrity'];

    expect(check?.status).toBe('fail');
    expect(check?.detail).toBe(`database ${file} has schema version ${SCHEMA_VERSION + 1}, newer than this stepper's ${SCHEMA_VERSION}`);
    expect(check?.fix).toBe('upgrade stepper to the version that wrote it, or newer; the file was left untouched');
    expect(results['database-journal']?.status).toBe('fail');
    expect(digest(file)).toBe(before);
  });

  test('older schema warns', async () => {
    const { env, file } = await createDatabase();
    setPragma(file, `user_version = ${SCHEMA_VERSION - 1}`);

    const results = await diagnose(env);
    const check = results['database-integrity'];

    expect(check?.status).toBe('warn');
    expect(check?.detail).toBe(`${file} has schema version ${SCHEMA_VERSION - 1}, older than this stepper's ${SCHEMA_VERSION}`);
    expect(check?.fix).toBe('run stepper daemon start (or any stepper report), which migrates it');
    expect(new Database(file, { readonly: true }).pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION - 1);
  });

  test('text file fails as not SQLite', async () => {
    const env = doctorEnvironment(`127.0.0.1:${await closedPort()}`);
    ensureDataDir(env.STEPPER_HOME as string);
    const file = path.join(env.STEPPER_HOME as string, 'stepper.db');
    fs.writeFileSync(file, 'this is not a database, but it is long enough to have a header of one hundred bytes or more....\n', { mode: 0o600 });

    const results = await diagnose(env);

    expect(results['database-integrity']?.status).toBe('fail');
    expect(results['database-integrity']?.detail).toContain(`${file} is not a SQLite database`);
    expect(results['database-integrity']?.fix).toContain(`mkdir "${file}.bad"`);
    expect(fs.readFileSync(file, 'utf8')).toContain('this is not a database');
  });

  test('rollback journal mode warns', async () => {
    const { env, file } = await createDatabase();
    setPragma(file, 'journal_mode = DELETE');

    const results = await diagnose(env);

    expect(results['database-journal']?.status).toBe('warn');
    expect(results['database-journal']?.detail).toBe(`${file} has journal_mode delete, not wal, so the daemon and the hook block each other`);
    expect(results['database-journal']?.fix).toContain('run stepper daemon start');
    expect(results['database-integrity']?.status).toBe('pass');
  });
});
