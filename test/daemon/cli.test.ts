// `stepper daemon start|stop|status|run` as a user runs them, with the real daemon entry and
// the real report processor against the fake Ollama. Run `npm run build` first.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, test } from 'vitest';

import { enqueueJob, openRepository, reportJob, VERSION } from '../../src/index.js';
import { startFake } from '../fake-ollama/helpers.js';
import { type ProcessResult, waitForExit } from '../helpers/processes.js';
import { RepoBuilder } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';
import { daemonEnvironment, trackPid, waitForFinished, waitForNoDaemon, waitForRunning } from './helpers.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'stepper.js');

function stepper(args: string[], env: NodeJS.ProcessEnv): Promise<ProcessResult> {
  return waitForExit(spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
}

describe('stepper daemon', () => {
  test('start, status and stop around a report', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    const env = daemonEnvironment(dataDir, fake.url);
    const repo = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
    repo.write('greeting.txt', 'hello\n');
    const sha = repo.commit('Add a greeting');

    const started = await stepper(['daemon', 'start'], env);
    const pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
    trackPid(pid);

    expect(started.code).toBe(0);
    expect(started.stdout).toMatch(/^daemon started \(pid \d+\)\n$/);

    const repository = (await openRepository(repo.dir)).gitDir;
    const result = enqueueJob(reportJob({ repository, commitSha: sha, model: 'qwen2.5-coder:7b' }), { dataDir });
    const jobId = result.spooled ? result.jobId : result.job.id;
    const [job] = await waitForFinished(dataDir, [jobId]);
    expect(job?.state).toBe('completed');

    const again = await stepper(['daemon', 'start'], env);
    expect(again.stdout).toBe(`daemon already running (pid ${pid})\n`);

    // The row is written just after the job's completion, so the count is polled.
    const json = await waitForJson(env, (value) => value.jobsDone === 1);

    expect(json.running).toBe(true);
    expect(json.pid).toBe(pid);
    expect(json.version).toBe(VERSION);
    expect(json.concurrency).toBe(1);
    expect(json.currentJobId).toBe(null);
    expect(json.ollama).toEqual({ host: fake.url, state: 'ok', detail: null });

    const text = await stepper(['daemon', 'status'], env);
    expect(text.stdout).toContain(`daemon: running (pid ${pid}, version ${VERSION}, up `);
    expect(text.stdout).toContain('jobs done: 1');
    expect(text.stdout).toContain(`ollama: reachable at ${fake.url}`);

    const stopped = await stepper(['daemon', 'stop'], env);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toBe(`daemon stopped (pid ${pid})\n`);

    const after = await stepper(['daemon', 'status', '--json'], env);
    expect(JSON.parse(after.stdout).running).toBe(false);
  });

  test('stop without a daemon says so', async () => {
    const dataDir = makeTempDir();
    const result = await stepper(['daemon', 'stop'], daemonEnvironment(dataDir, 'http://127.0.0.1:9'));

    expect(result.code).toBe(0);
    expect(result.stdout).toBe('daemon not running\n');
  });

  test('status shows the wait for Ollama', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    await fake.refuseConnections();
    const env = daemonEnvironment(dataDir, fake.url);
    const repo = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
    repo.write('waiting.txt', 'waits\n');
    const sha = repo.commit('Wait for Ollama');
    const repository = (await openRepository(repo.dir)).gitDir;
    enqueueJob(reportJob({ repository, commitSha: sha, model: 'qwen2.5-coder:7b' }), { dataDir });

    const started = await stepper(['daemon', 'start'], env);
    trackPid(Number(/pid (\d+)/.exec(started.stdout)?.[1]));
    await waitForJson(env, (value) => (value.ollama as { state?: string } | null)?.state === 'unreachable');
    const text = await stepper(['daemon', 'status'], env);

    expect(text.stdout).toContain(`ollama: waiting for Ollama at ${fake.url}`);

    await stepper(['daemon', 'stop'], env);
  });

  test('run stays in the foreground and logs to stderr', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    const env = daemonEnvironment(dataDir, fake.url);
    const foreground = spawn(process.execPath, [BIN, 'daemon', 'run', '--concurrency', '2'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    trackPid(foreground.pid);
    const exited = waitForExit(foreground);
    // A foreground daemon that exits early fails the test with its output instead of a timeout.
    let running = false;
    const early = exited.then((exit) => {
      if (!running) {
        throw new Error(`daemon run exited early: ${JSON.stringify(exit)}`);
      }
    });
    await Promise.race([waitForRunning(dataDir).then(() => (running = true)), early]);

    const second = await stepper(['daemon', 'run'], env);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`another daemon (pid ${foreground.pid}) is running for ${dataDir}`);

    foreground.kill('SIGINT');
    const result = await exited;

    expect(result.code).toBe(0);
    expect(result.stderr).toContain('daemon started: version');
    expect(result.stderr).toContain('concurrency 2');
    expect(result.stderr).toContain('SIGINT received');
    expect(result.stdout).toBe('');
    await waitForNoDaemon(dataDir);
  });

  test('stop rejects a timeout below 1 s', async () => {
    const dataDir = makeTempDir();
    const env = daemonEnvironment(dataDir, 'http://127.0.0.1:9');

    const zero = await stepper(['daemon', 'stop', '--timeout', '0'], env);

    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('invalid --timeout: expected a whole number of seconds >= 1, received 0');
    expect(zero.stdout).toBe('');

    for (const value of ['1.5', 'ten', '-1']) {
      const result = await stepper(['daemon', 'stop', '--timeout', value], env);

      expect(result.code, value).toBe(2);
      expect(result.stderr, value).toContain('--timeout');
      expect(result.stdout, value).toBe('');
    }
  });

  test('stop accepts a whole --timeout', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    const env = daemonEnvironment(dataDir, fake.url);
    const started = await stepper(['daemon', 'start'], env);
    const pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
    trackPid(pid);

    const stopped = await stepper(['daemon', 'stop', '--timeout', '30'], env);

    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toBe(`daemon stopped (pid ${pid})\n`);
  });

  test.each([
    ['--concurrency', '65', 'invalid --concurrency: expected a whole number from 1 to 64, received 65'],
    ['--concurrency', '0', 'invalid --concurrency: expected a whole number from 1 to 64, received 0'],
    ['--idle-timeout', '2147484', 'invalid --idle-timeout: expected a whole number of seconds from 1 to 2147483, received 2147484'],
    ['--idle-timeout', '0', 'invalid --idle-timeout: expected a whole number of seconds from 1 to 2147483, received 0'],
  ])('run %s %s names the flag', async (flag, value, message) => {
    const dataDir = makeTempDir();

    const result = await stepper(['daemon', 'run', flag, value], daemonEnvironment(dataDir, 'http://127.0.0.1:9'));

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`stepper: ${message}\n`);
    expect(result.stdout).toBe('');
    expect(fs.existsSync(path.join(dataDir, 'stepper.db'))).toBe(false);
  });

  test('run with STEPPER_DAEMON_PROBE_MS above the probe maximum', async () => {
    const dataDir = makeTempDir();
    const env = daemonEnvironment(dataDir, 'http://127.0.0.1:9', { STEPPER_DAEMON_PROBE_MS: '5000', STEPPER_DAEMON_PROBE_MAX_MS: '500' });

    const result = await stepper(['daemon', 'run'], env);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'stepper: invalid STEPPER_DAEMON_PROBE_MAX_MS: expected a whole number of milliseconds from STEPPER_DAEMON_PROBE_MS (5000) to 2147483647, ' +
        'received "500"; unset it to use the default 60000, or change it to a value in that range, or lower STEPPER_DAEMON_PROBE_MS to 500 or less\n',
    );
  });

  test('invalid setting is rejected with its variable', async () => {
    const dataDir = makeTempDir();
    const result = await stepper(['daemon', 'run'], daemonEnvironment(dataDir, 'http://127.0.0.1:9', { STEPPER_DAEMON_IDLE_MS: '10m' }));

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('invalid STEPPER_DAEMON_IDLE_MS: expected a whole number of milliseconds from 1 to 2147483647, received "10m"');
  });

  test.each([
    ['STEPPER_DAEMON_GRACE_MS', '99999999999999'],
    ['STEPPER_DAEMON_HEARTBEAT_MS', '99999999999'],
    ['STEPPER_DAEMON_CONCURRENCY', ' 2'],
  ])('%s=%j is rejected before the daemon starts', async (variable, value) => {
    const dataDir = makeTempDir();
    const result = await stepper(['daemon', 'run'], daemonEnvironment(dataDir, 'http://127.0.0.1:9', { [variable]: value }));

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`invalid ${variable}: expected a whole number`);
    expect(result.stderr).toContain(`received ${JSON.stringify(value)}; unset it`);
    expect(result.stderr).not.toContain('TimeoutOverflowWarning');
    expect(result.stderr).not.toContain('daemon started');
  });
});

/** Runs `stepper daemon status --json` until `accept` holds for its output. */
async function waitForJson(env: NodeJS.ProcessEnv, accept: (value: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  for (let tries = 0; tries < 100; tries++) {
    const result = await stepper(['daemon', 'status', '--json'], env);
    const value = JSON.parse(result.stdout) as Record<string, unknown>;
    if (accept(value)) {
      return value;
    }
  }

  throw new Error('stepper daemon status --json never returned the expected status');
}
