import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, test } from 'vitest';

import { ensureDataDir, openDatabase } from '../../src/index.js';
import { makeTempDir } from '../helpers/temp.js';
import { closedPort, diagnose, doctorEnvironment } from './helpers.js';

async function environment(overrides: NodeJS.ProcessEnv = {}): Promise<NodeJS.ProcessEnv> {
  return doctorEnvironment(`127.0.0.1:${await closedPort()}`, overrides);
}

describe('data directory check', () => {
  test('missing directory passes', async () => {
    const env = await environment();
    const results = await diagnose(env);

    expect(results['data-dir']?.status).toBe('pass');
    expect(results['data-dir']?.detail).toBe(`${env.STEPPER_HOME} does not exist yet; the first report creates it with mode 0700`);
    expect(fs.existsSync(env.STEPPER_HOME as string)).toBe(false);
  });

  test('private directory passes', async () => {
    const env = await environment();
    const dir = env.STEPPER_HOME as string;
    ensureDataDir(dir);
    openDatabase(path.join(dir, 'stepper.db')).db.close();

    const results = await diagnose(env);

    expect(results['data-dir']).toEqual({ id: 'data-dir', title: 'data directory', status: 'pass', detail: `${dir} (mode 0700, files 0600)` });
  });

  test('open modes warn with chmod', async () => {
    const env = await environment();
    const dir = env.STEPPER_HOME as string;
    ensureDataDir(dir);
    openDatabase(path.join(dir, 'stepper.db')).db.close();
    fs.writeFileSync(path.join(dir, 'daemon.log'), 'a line\n', { mode: 0o600 });
    fs.chmodSync(dir, 0o755);
    fs.chmodSync(path.join(dir, 'stepper.db'), 0o644);
    fs.chmodSync(path.join(dir, 'daemon.log'), 0o666);

    const results = await diagnose(env);
    const check = results['data-dir'];

    expect(check?.status).toBe('warn');
    expect(check?.detail).toContain(`${dir} (mode 0755) should be 0700`);
    expect(check?.detail).toContain(`${path.join(dir, 'stepper.db')} (mode 0644)`);
    expect(check?.detail).toContain(`${path.join(dir, 'daemon.log')} (mode 0666)`);
    expect(check?.fix).toBe(`run chmod 700 '${dir}'; then run chmod 600 '${path.join(dir, 'daemon.log')}' '${path.join(dir, 'stepper.db')}'`);
  });

  test('modes left unchanged', async () => {
    const env = await environment();
    const dir = env.STEPPER_HOME as string;
    ensureDataDir(dir);
    fs.chmodSync(dir, 0o755);

    await diagnose(env);

    expect(fs.statSync(dir).mode & 0o777).toBe(0o755);
  });

  test('relative STEPPER_HOME fails', async () => {
    const env = await environment({ STEPPER_HOME: 'relative/stepper' });
    const results = await diagnose(env);

    expect(results['data-dir']?.status).toBe('fail');
    expect(results['data-dir']?.detail).toContain('invalid STEPPER_HOME');
    expect(results['data-dir']?.detail).toContain('"relative/stepper"');
    expect(results['data-dir']?.fix).toContain('set STEPPER_HOME to an absolute path');
  });

  test('relative STEPPER_HOME skips dependent checks', async () => {
    const env = await environment({ STEPPER_HOME: 'relative/stepper' });
    const results = await diagnose(env);

    for (const id of ['free-space', 'database-integrity', 'database-journal', 'daemon']) {
      expect(results[id]?.status, id).toBe('skip');
    }
    expect(results.git?.status).toBe('pass');
  });

  test('file in place of directory fails', async () => {
    const file = path.join(makeTempDir(), 'stepper');
    fs.writeFileSync(file, 'not a folder\n');
    const env = await environment({ STEPPER_HOME: file });

    const results = await diagnose(env);

    expect(results['data-dir']?.status).toBe('fail');
    expect(results['data-dir']?.detail).toBe(`${file} is not a directory`);
    expect(results['data-dir']?.fix).toBe('move that file aside, or set STEPPER_HOME to another folder');
  });
});

describe('free space check', () => {
  test('reports free bytes of the filesystem', async () => {
    const env = await environment();
    const results = await diagnose(env);
    const parent = path.dirname(env.STEPPER_HOME as string);
    const stats = fs.statfsSync(parent);

    // The machine running the tests has more than the 256 MiB warning threshold free.
    expect(stats.bavail * stats.bsize).toBeGreaterThan(256 * 1024 * 1024);
    expect(results['free-space']?.status).toBe('pass');
    expect(results['free-space']?.detail).toMatch(new RegExp(`^\\d+(\\.\\d)? [GMT]iB free on the filesystem of ${parent.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  });
});
