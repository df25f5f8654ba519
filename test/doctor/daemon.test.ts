import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';

import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';

import { stopDaemon, VERSION } from '../../src/index.js';
import { autoStart, daemonEnvironment, waitForNoDaemon, waitForProcessGone, waitForRunning } from '../daemon/helpers.js';
import { startFake } from '../fake-ollama/helpers.js';
import { makeTempDir } from '../helpers/temp.js';
import { closedPort, diagnose, doctorEnvironment } from './helpers.js';

/** Starts a test daemon (the real runDaemon) against the fake Ollama, and returns its environment and pid. */
async function startDaemon(overrides: Record<string, string> = {}): Promise<{ env: NodeJS.ProcessEnv; dataDir: string; pid: number }> {
  const fake = await startFake();
  const dataDir = path.join(makeTempDir(), 'stepper');
  const env = daemonEnvironment(dataDir, fake.url, overrides);
  autoStart(dataDir, env);
  const pid = await waitForRunning(dataDir);
  return { env, dataDir, pid };
}

function readLog(dataDir: string): string {
  try {
    return fs.readFileSync(path.join(dataDir, 'daemon.log'), 'utf8');
  } catch {
    return '(no daemon.log)';
  }
}

function updateDaemonRow(dataDir: string, assignments: string): void {
  const db = new Database(path.join(dataDir, 'stepper.db'), { timeout: 5000 });
  db.exec(`UPDATE daemon SET ${assignments} WHERE id = 1`);
  db.close();
}

describe('daemon check', () => {
  test('running daemon passes', async () => {
    const { env, dataDir, pid } = await startDaemon();

    const results = await diagnose(env);
    await stopDaemon({ dataDir, timeoutMs: 20_000 });

    expect(results.daemon?.status).toBe('pass');
    expect(results.daemon?.detail).toBe(`running (pid ${pid}, stepper ${VERSION})`);
  });

  test('killed daemon warns as stale', async () => {
    const { env, dataDir, pid } = await startDaemon();
    process.kill(pid, 'SIGKILL');
    await waitForNoDaemon(dataDir);
    await waitForProcessGone(pid);

    const results = await diagnose(env);
    const check = results.daemon;

    expect(check?.status).toBe('warn');
    expect(check?.detail).toContain(`the last daemon (pid ${pid}, stepper ${VERSION}) ended without a clean exit while running`);
    expect(check?.fix).toContain(path.join(dataDir, 'daemon.crash.log'));
  });

  test('cleanly stopped daemon passes', async () => {
    const { env, dataDir } = await startDaemon();
    const stopped = await stopDaemon({ dataDir, timeoutMs: 20_000 });

    const results = await diagnose(env);

    expect(stopped.stopped).toBe(true);
    // The detail and the log say which warning it was, should this ever fail again.
    expect(results.daemon?.status, `${results.daemon?.detail}\n${readLog(dataDir)}`).toBe('pass');
    expect(results.daemon?.detail).toBe('not running; the next report or commit starts it');
  });

  test('daemon of another version warns', async () => {
    const { env, dataDir, pid } = await startDaemon();
    updateDaemonRow(dataDir, "version = '0.0.1-old'");

    const results = await diagnose(env);
    await stopDaemon({ dataDir, timeoutMs: 20_000 });

    expect(results.daemon?.status).toBe('warn');
    expect(results.daemon?.detail).toBe(`running (pid ${pid}, stepper 0.0.1-old), but this is stepper ${VERSION}`);
    expect(results.daemon?.fix).toBe('run stepper daemon stop, then stepper daemon start, so the daemon runs this version');
  });

  test('daemon with another Ollama address warns', async () => {
    const { env, dataDir, pid } = await startDaemon();
    const daemonHost = `http://${env.OLLAMA_HOST?.replace(/^http:\/\//, '')}`;

    const results = await diagnose({ ...env, OLLAMA_HOST: '127.0.0.1:9' });
    const same = await diagnose(env);
    await stopDaemon({ dataDir, timeoutMs: 20_000 });

    expect(results.daemon?.status).toBe('warn');
    expect(results.daemon?.detail).toBe(`running (pid ${pid}, stepper ${VERSION}), using Ollama at ${daemonHost}, not at http://127.0.0.1:9 as OLLAMA_HOST here says`);
    expect(results.daemon?.fix).toContain('run stepper daemon stop, then stepper daemon start in this shell');
    expect(same.daemon?.status).toBe('pass');
  });

  test('silent heartbeat warns', async () => {
    // The daemon beats every 10 minutes, so the heartbeat written below stays; the check expects one every second.
    const { env, dataDir } = await startDaemon({ STEPPER_DAEMON_HEARTBEAT_MS: '600000' });
    updateDaemonRow(dataDir, `heartbeat_at = ${Date.now() - 60_000}`);

    const results = await diagnose({ ...env, STEPPER_DAEMON_HEARTBEAT_MS: '1000' });
    await stopDaemon({ dataDir, timeoutMs: 20_000 });

    expect(results.daemon?.status).toBe('warn');
    expect(results.daemon?.detail).toMatch(/, but its last heartbeat was 6\d s ago$/);
  });

  test('row copied from another data directory warns', async () => {
    const { dataDir, pid } = await startDaemon();
    const copy = path.join(makeTempDir(), 'stepper');
    fs.mkdirSync(copy, { mode: 0o700 });
    const source = new Database(path.join(dataDir, 'stepper.db'), { readonly: true, timeout: 5000 });
    source.exec(`VACUUM INTO '${path.join(copy, 'stepper.db').replace(/'/g, "''")}'`);
    source.close();

    const results = await diagnose(doctorEnvironment(`127.0.0.1:${await closedPort()}`, { STEPPER_HOME: copy }));
    await stopDaemon({ dataDir, timeoutMs: 20_000 });

    expect(results.daemon?.status).toBe('warn');
    expect(results.daemon?.detail).toBe(
      `not running; the daemon row names pid ${pid} (stepper ${VERSION}, running), which is alive but does not hold the lock of ${copy}, so the database was probably copied from another data directory`,
    );
    expect(results.daemon?.fix).not.toContain('daemon.log');
    expect(results.daemon?.detail).not.toContain('without a clean exit');
  });

  test('row naming a zombie process counts as dead', async () => {
    const { dataDir, pid } = await startDaemon();
    process.kill(pid, 'SIGKILL');
    await waitForNoDaemon(dataDir);
    await waitForProcessGone(pid);
    // `sleep 0.05` exits under a parent that never reaps it, so it stays a zombie for 5 s.
    const parent = spawn('sh', ['-c', 'sleep 0.05 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const zombie = Number((await once(parent.stdout, 'data'))[0].toString().trim());
    try {
      await expect.poll(() => fs.readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1]?.charAt(0), { timeout: 3000 }).toBe('Z');
      updateDaemonRow(dataDir, `pid = ${zombie}`);

      const results = await diagnose(doctorEnvironment(`127.0.0.1:${await closedPort()}`, { STEPPER_HOME: dataDir }));

      expect(results.daemon?.status).toBe('warn');
      expect(results.daemon?.detail).toContain(`the last daemon (pid ${zombie}, stepper ${VERSION}) ended without a clean exit`);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  test('stale row without logs names no log', async () => {
    const { dataDir, pid } = await startDaemon();
    process.kill(pid, 'SIGKILL');
    await waitForNoDaemon(dataDir);
    await waitForProcessGone(pid);
    fs.rmSync(path.join(dataDir, 'daemon.log'), { force: true });
    fs.rmSync(path.join(dataDir, 'daemon.crash.log'), { force: true });

    const results = await diagnose(doctorEnvironment(`127.0.0.1:${await closedPort()}`, { STEPPER_HOME: dataDir }));

    expect(results.daemon?.status).toBe('warn');
    expect(results.daemon?.fix).toBe('the next report starts a new daemon, and jobs it left active are recovered');
  });
});
