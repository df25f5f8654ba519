// The daemon's parts in one process: settings, lock, log rotation, the generation gate,
// auto-start decisions, and the claim filter and pause that the daemon added to the queue.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { describe, expect, test } from 'vitest';

import { InvalidOptionError, openQueue, resolveDaemonSettings, scrubEnvironment, VERSION, Worker } from '../../src/index.js';
import { DAEMON_ENV_VARIABLES } from '../../src/daemon/config.js';
import { GenerationGate } from '../../src/daemon/generation-gate.js';
import { acquireDaemonLock, probeDaemonLock } from '../../src/daemon/lock.js';
import { FileLogger } from '../../src/daemon/log.js';
import { DAEMON_ENTRY, ensureDaemon } from '../../src/daemon/start.js';
import { DaemonRowWriter } from '../../src/daemon/state.js';
import { MAX_TIMER_MS, resolveTimeouts } from '../../src/ollama/timeouts.js';
import { fakeSha } from '../helpers/commits.js';
import { captureError } from '../helpers/errors.js';
import { waitForExit } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';
import { waitFor } from './helpers.js';

describe('resolveDaemonSettings', () => {
  test('defaults', () => {
    const settings = resolveDaemonSettings({}, {});

    expect(settings.concurrency).toBe(1);
    expect(settings.idleMs).toBe(600_000);
    expect(settings.graceMs).toBe(30_000);
    expect(settings.probeMaxMs).toBe(60_000);
    expect(settings.lockDurationMs).toBeUndefined();
  });

  test('environment variables', () => {
    const settings = resolveDaemonSettings({}, { STEPPER_DAEMON_IDLE_MS: '250', STEPPER_DAEMON_CONCURRENCY: '3' });

    expect(settings.idleMs).toBe(250);
    expect(settings.concurrency).toBe(3);
  });

  test('empty variable counts as unset', () => {
    expect(resolveDaemonSettings({}, { STEPPER_DAEMON_GRACE_MS: '' }).graceMs).toBe(30_000);
  });

  test('option wins over variable', () => {
    expect(resolveDaemonSettings({ graceMs: 5 }, { STEPPER_DAEMON_GRACE_MS: '9' }).graceMs).toBe(5);
  });

  test('invalid variable names itself', () => {
    const error = captureSync(() => resolveDaemonSettings({}, { STEPPER_DAEMON_CONCURRENCY: '0' }));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).code).toBe('INVALID_OPTION');
    expect((error as Error).message).toBe(
      'invalid STEPPER_DAEMON_CONCURRENCY: expected a whole number from 1 to 64, received "0"; ' +
        'unset it to use the default 1, or change it to a value in that range',
    );
  });

  test('variable above the timer limit', () => {
    const error = captureSync(() => resolveDaemonSettings({}, { STEPPER_DAEMON_GRACE_MS: '99999999999999' }));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as Error).message).toBe(
      'invalid STEPPER_DAEMON_GRACE_MS: expected a whole number of milliseconds from 0 to 2147483647, ' +
        'received "99999999999999"; unset it to use the default 30000, or change it to a value in that range',
    );
  });

  // Each millisecond setting with its minimum; the timer limit is the same for all of them.
  const durations: Array<[keyof typeof DAEMON_ENV_VARIABLES, string, number]> = [
    ['idleMs', 'STEPPER_DAEMON_IDLE_MS', 1],
    ['graceMs', 'STEPPER_DAEMON_GRACE_MS', 0],
    ['heartbeatMs', 'STEPPER_DAEMON_HEARTBEAT_MS', 10],
    ['pollMs', 'STEPPER_DAEMON_POLL_MS', 1],
    ['probeMs', 'STEPPER_DAEMON_PROBE_MS', 1],
    ['probeMaxMs', 'STEPPER_DAEMON_PROBE_MAX_MS', 1],
    ['lockDurationMs', 'STEPPER_DAEMON_LOCK_MS', 100],
  ];

  test.each(durations)('%s accepts both ends of its range', (key, variable, minimum) => {
    // probeMaxMs may not be below probeMs, so the probe pair is checked at their own ends.
    const lowest = key === 'probeMs' ? { STEPPER_DAEMON_PROBE_MAX_MS: '1' } : key === 'probeMaxMs' ? { STEPPER_DAEMON_PROBE_MS: '1' } : {};
    const highest = key === 'probeMs' ? { STEPPER_DAEMON_PROBE_MAX_MS: String(MAX_TIMER_MS) } : {};

    expect(resolveDaemonSettings({}, { ...lowest, [variable]: String(minimum) })[key]).toBe(minimum);
    expect(resolveDaemonSettings({}, { ...highest, [variable]: String(MAX_TIMER_MS) })[key]).toBe(MAX_TIMER_MS);
  });

  test.each(durations)('%s rejects one past either end', (key, variable, minimum) => {
    const expected = `expected a whole number of milliseconds from ${minimum} to 2147483647`;

    const above = captureSync(() => resolveDaemonSettings({}, { [variable]: '2147483648' }));
    expect(above).toBeInstanceOf(InvalidOptionError);
    expect((above as Error).message).toContain(`invalid ${variable}: ${expected}, received "2147483648"; unset it`);

    const aboveOption = captureSync(() => resolveDaemonSettings({ [key]: MAX_TIMER_MS + 1 }, {}));
    expect(aboveOption).toBeInstanceOf(InvalidOptionError);
    expect((aboveOption as Error).message).toBe(
      `invalid ${key}: expected an integer of milliseconds from ${minimum} to 2147483647, received 2147483648 (number)`,
    );

    if (minimum > 0) {
      const below = captureSync(() => resolveDaemonSettings({}, { [variable]: String(minimum - 1) }));
      expect(below).toBeInstanceOf(InvalidOptionError);
      expect((below as Error).message).toContain(`invalid ${variable}: ${expected}, received "${minimum - 1}"`);
    }
  });

  test('timer limit is shared with Ollama timeouts', () => {
    expect(MAX_TIMER_MS).toBe(2_147_483_647);
    expect(() => resolveTimeouts({ idleTimeoutMs: MAX_TIMER_MS })).not.toThrow();
    expect(() => resolveTimeouts({ idleTimeoutMs: MAX_TIMER_MS + 1 })).toThrow(InvalidOptionError);
  });

  test('concurrency from 1 to 64', () => {
    expect(resolveDaemonSettings({}, { STEPPER_DAEMON_CONCURRENCY: '1' }).concurrency).toBe(1);
    expect(resolveDaemonSettings({}, { STEPPER_DAEMON_CONCURRENCY: '64' }).concurrency).toBe(64);
    expect(resolveDaemonSettings({ concurrency: 64 }, {}).concurrency).toBe(64);

    for (const value of ['65', '99999']) {
      const error = captureSync(() => resolveDaemonSettings({}, { STEPPER_DAEMON_CONCURRENCY: value }));
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect((error as Error).message).toContain(`invalid STEPPER_DAEMON_CONCURRENCY: expected a whole number from 1 to 64, received "${value}"`);
    }

    const option = captureSync(() => resolveDaemonSettings({ concurrency: 65 }, {}));
    expect(option).toBeInstanceOf(InvalidOptionError);
    expect((option as Error).message).toBe('invalid concurrency: expected an integer from 1 to 64, received 65 (number)');
  });

  test('log settings keep their ranges', () => {
    expect(resolveDaemonSettings({}, { STEPPER_DAEMON_LOG_FILES: '0' }).logFilesKept).toBe(0);
    expect(resolveDaemonSettings({}, { STEPPER_DAEMON_LOG_FILES: '100' }).logFilesKept).toBe(100);
    expect(resolveDaemonSettings({}, { STEPPER_DAEMON_LOG_MAX_BYTES: '1024' }).logMaxBytes).toBe(1024);

    const files = captureSync(() => resolveDaemonSettings({}, { STEPPER_DAEMON_LOG_FILES: '101' }));
    expect((files as Error).message).toContain('invalid STEPPER_DAEMON_LOG_FILES: expected a whole number from 0 to 100, received "101"');

    const bytes = captureSync(() => resolveDaemonSettings({}, { STEPPER_DAEMON_LOG_MAX_BYTES: '1023' }));
    expect((bytes as Error).message).toContain('invalid STEPPER_DAEMON_LOG_MAX_BYTES: expected a whole number of bytes from 1024 to');
  });

  test.each([' 2', '2 ', ' ', '+2', '-2', '2.0', '2.5', '1e3', '0x10', '2ms', '１'])('variable %j is not plain digits', (value) => {
    const error = captureSync(() => resolveDaemonSettings({}, { STEPPER_DAEMON_CONCURRENCY: value }));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as Error).message).toBe(
      `invalid STEPPER_DAEMON_CONCURRENCY: expected a whole number from 1 to 64, received ${JSON.stringify(value)}; ` +
        'unset it to use the default 1, or change it to a value in that range',
    );
  });

  test('lock variable names the queue default', () => {
    const error = captureSync(() => resolveDaemonSettings({}, { STEPPER_DAEMON_LOCK_MS: '99' }));

    expect((error as Error).message).toContain('unset it to use the default 60000');
  });

  test('option that is not an integer', () => {
    const error = captureSync(() => resolveDaemonSettings({ pollMs: 1.5 }, {}));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as Error).message).toBe('invalid pollMs: expected an integer of milliseconds from 1 to 2147483647, received 1.5 (number)');
  });

  test('probe maximum below the first wait', () => {
    const error = captureSync(() => resolveDaemonSettings({ probeMs: 500, probeMaxMs: 100 }, {}));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as Error).message).toBe(
      'invalid probeMaxMs: expected an integer of milliseconds from probeMs (500) to 2147483647, received 100 (number)',
    );
  });

  test('probe maximum variable below the default first wait', () => {
    const error = captureSync(() => resolveDaemonSettings({}, { STEPPER_DAEMON_PROBE_MAX_MS: '500' }));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as InvalidOptionError).code).toBe('INVALID_OPTION');
    expect((error as Error).message).toBe(
      'invalid STEPPER_DAEMON_PROBE_MAX_MS: expected a whole number of milliseconds from 1000 to 2147483647, received "500"; ' +
        'unset it to use the default 60000, or change it to a value in that range, or set STEPPER_DAEMON_PROBE_MS to 500 or less',
    );
  });

  test('probe maximum variable below the first wait variable', () => {
    const error = captureSync(() => resolveDaemonSettings({}, { STEPPER_DAEMON_PROBE_MS: '5000', STEPPER_DAEMON_PROBE_MAX_MS: '0500' }));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as Error).message).toBe(
      'invalid STEPPER_DAEMON_PROBE_MAX_MS: expected a whole number of milliseconds from STEPPER_DAEMON_PROBE_MS (5000) to 2147483647, ' +
        'received "0500"; unset it to use the default 60000, or change it to a value in that range, ' +
        'or lower STEPPER_DAEMON_PROBE_MS to 500 or less',
    );
  });

  test('probe maximum default below the first wait variable', () => {
    const error = captureSync(() => resolveDaemonSettings({}, { STEPPER_DAEMON_PROBE_MS: '100000' }));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as Error).message).toBe(
      'invalid STEPPER_DAEMON_PROBE_MS: expected a whole number of milliseconds from 1 to 60000, received "100000"; ' +
        'unset it to use the default 1000, or change it to a value in that range, or set STEPPER_DAEMON_PROBE_MAX_MS to 100000 or more',
    );
  });

  test('probe variables where the default does not fit', () => {
    const env = { STEPPER_DAEMON_PROBE_MS: '100000', STEPPER_DAEMON_PROBE_MAX_MS: '70000' };

    const error = captureSync(() => resolveDaemonSettings({}, env));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as Error).message).toBe(
      'invalid STEPPER_DAEMON_PROBE_MAX_MS: expected a whole number of milliseconds from STEPPER_DAEMON_PROBE_MS (100000) to 2147483647, ' +
        'received "70000"; change it to a value in that range, or lower STEPPER_DAEMON_PROBE_MS to 70000 or less',
    );
  });

  test('probe maximum variable below the first wait option', () => {
    const error = captureSync(() => resolveDaemonSettings({ probeMs: 5000 }, { STEPPER_DAEMON_PROBE_MAX_MS: '500' }));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as Error).message).toBe(
      'invalid STEPPER_DAEMON_PROBE_MAX_MS: expected a whole number of milliseconds from probeMs (5000) to 2147483647, ' +
        'received "500"; unset it to use the default 60000, or change it to a value in that range, or lower probeMs to 500 or less',
    );
  });

  test('probe maximum option below the first wait variable', () => {
    const error = captureSync(() => resolveDaemonSettings({ probeMaxMs: 500 }, { STEPPER_DAEMON_PROBE_MS: '5000' }));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as Error).message).toBe(
      'invalid probeMaxMs: expected an integer of milliseconds from STEPPER_DAEMON_PROBE_MS (5000) to 2147483647, received 500 (number)',
    );
  });

  test('probe first wait option above the default maximum', () => {
    const error = captureSync(() => resolveDaemonSettings({ probeMs: 100_000 }, {}));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as Error).message).toBe('invalid probeMs: expected an integer of milliseconds from 1 to 60000, received 100000 (number)');
  });
});

describe('daemon lock', () => {
  test('one holder at a time', () => {
    const dataDir = makeTempDir();
    const lock = acquireDaemonLock(dataDir, 0);

    expect(lock).toBeDefined();
    expect(probeDaemonLock(dataDir)).toBe('held');
    expect(acquireDaemonLock(dataDir, 0)).toBeUndefined();

    lock?.release();
    expect(probeDaemonLock(dataDir)).toBe('free');
    acquireDaemonLock(dataDir, 0)?.release();
  });

  test('lock file is private', () => {
    const dataDir = makeTempDir();
    acquireDaemonLock(dataDir, 0)?.release();

    expect(fs.statSync(path.join(dataDir, 'daemon.lock')).mode & 0o777).toBe(0o600);
  });

  test('damaged lock file is reused', () => {
    const dataDir = makeTempDir();
    fs.writeFileSync(path.join(dataDir, 'daemon.lock'), 'not a database, '.repeat(200));

    const lock = acquireDaemonLock(dataDir, 0);

    expect(lock).toBeDefined();
    expect(probeDaemonLock(dataDir)).toBe('held');
    lock?.release();
  });

  test('missing lock file probes free', () => {
    const dataDir = makeTempDir();

    expect(probeDaemonLock(dataDir)).toBe('free');
    expect(fs.existsSync(path.join(dataDir, 'daemon.lock'))).toBe(false);
  });
});

describe('FileLogger', () => {
  test('rotation bounds the files', () => {
    const dir = makeTempDir();
    const file = path.join(dir, 'daemon.log');
    const logger = new FileLogger(file, { maxBytes: 1024, filesKept: 2 });
    for (let n = 0; n < 200; n++) {
      logger.info(`line ${n} ${'x'.repeat(40)}`);
    }
    logger.close();

    const names = fs.readdirSync(dir).sort();
    expect(names).toEqual(['daemon.log', 'daemon.log.1', 'daemon.log.2']);
    for (const name of names) {
      expect(fs.statSync(path.join(dir, name)).size).toBeLessThanOrEqual(1024);
    }
    expect(fs.readFileSync(file, 'utf8')).toContain('line 199');
  });

  test('log file mode is 0600', () => {
    const file = path.join(makeTempDir(), 'daemon.log');
    const logger = new FileLogger(file, { maxBytes: 1024, filesKept: 1 });
    logger.info('started');
    logger.close();

    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  test('newlines stay on one line', () => {
    const file = path.join(makeTempDir(), 'daemon.log');
    const logger = new FileLogger(file, { maxBytes: 4096, filesKept: 1 });
    logger.error('first\nsecond');
    logger.close();

    expect(fs.readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  test('removed folder does not throw', () => {
    const dir = makeTempDir();
    const logger = new FileLogger(path.join(dir, 'daemon.log'), { maxBytes: 64, filesKept: 1 });
    fs.rmSync(dir, { recursive: true });

    expect(() => logger.info('a line long enough to rotate the file that is gone')).not.toThrow();
    logger.close();
  });
});

describe('GenerationGate', () => {
  test('second job waits for the first', async () => {
    const gate = new GenerationGate(1);
    const first = gate.ticket('a');
    const second = gate.ticket('b');
    const order: string[] = [];

    await first.hold();
    const waiting = second.hold().then(() => order.push('b holds'));
    await sleep(10);
    order.push('a releases');
    first.release();
    await waiting;

    expect(order).toEqual(['a releases', 'b holds']);
    expect(gate.holders).toEqual(['b']);
  });

  test('repeated hold keeps one slot', async () => {
    const gate = new GenerationGate(1);
    const ticket = gate.ticket('a');

    await ticket.hold();
    await ticket.hold();

    expect(gate.holders).toEqual(['a']);
  });

  test('close rejects waiting jobs', async () => {
    const gate = new GenerationGate(1);
    await gate.ticket('a').hold();
    const waiting = gate.ticket('b').hold();
    const reason = new Error('stopping');

    gate.close(reason);

    expect(await captureError(waiting)).toBe(reason);
  });

  test('abort rejects a waiting job', async () => {
    const gate = new GenerationGate(1);
    await gate.ticket('a').hold();
    const controller = new AbortController();
    const waiting = gate.ticket('b').hold(controller.signal);

    controller.abort(new Error('cancelled'));

    expect(((await captureError(waiting)) as Error).message).toBe('cancelled');
    expect(gate.holders).toEqual(['a']);
  });
});

describe('ensureDaemon', () => {
  test('running daemon: no spawn', () => {
    const dataDir = makeTempDir();
    const lock = acquireDaemonLock(dataDir, 0);
    writeRow(dataDir, 'running');

    const result = ensureDaemon({ dataDir, env: {}, entry: path.join(dataDir, 'missing-entry.mjs') });
    lock?.release();

    expect(result).toEqual({ started: false, pid: process.pid });
  });

  test.each(['stopping', 'stopped'] as const)('%s daemon: spawns a successor', async (state) => {
    const dataDir = makeTempDir();
    const lock = acquireDaemonLock(dataDir, 0);
    writeRow(dataDir, state);

    const result = ensureDaemon({ dataDir, env: { PATH: process.env.PATH }, entry: path.join(dataDir, 'missing-entry.mjs') });
    lock?.release();

    expect(result.started).toBe(true);
    // The spawned node cannot find its script; what it prints lands in the crash log.
    const crashLog = path.join(dataDir, 'daemon.crash.log');
    await waitFor(() => fs.readFileSync(crashLog, 'utf8').includes('missing-entry.mjs'), 'the crash log');
    expect(fs.statSync(crashLog).mode & 0o777).toBe(0o600);
  });

  test('invalid setting: ensureDaemon raises and spawns nothing', () => {
    const dataDir = makeTempDir();

    const start = () => ensureDaemon({ dataDir, env: { PATH: process.env.PATH, STEPPER_DAEMON_GRACE_MS: 'soon' } });

    expect(start).toThrow(InvalidOptionError);
    expect(start).toThrow('invalid STEPPER_DAEMON_GRACE_MS: expected a whole number of milliseconds from 0 to 2147483647, received "soon"');
    expect(fs.existsSync(path.join(dataDir, 'daemon.crash.log'))).toBe(false);
    expect(probeDaemonLock(dataDir)).toBe('free');
  });

  test('invalid setting: a daemon started anyway names it', async () => {
    // A daemon started without ensureDaemon, as a service manager would, checks again.
    const dataDir = makeTempDir();
    const child = spawn(process.execPath, [DAEMON_ENTRY, dataDir], {
      env: { PATH: process.env.PATH, STEPPER_DAEMON_GRACE_MS: 'soon' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });

    const result = await waitForExit(child);

    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('stepper daemon failed to start: invalid STEPPER_DAEMON_GRACE_MS');
    expect(probeDaemonLock(dataDir)).toBe('free');
  });

  test('scrubEnvironment drops every GIT_ variable', () => {
    const env = scrubEnvironment({ GIT_DIR: '/x/.git/worktrees/wt', GIT_INDEX_FILE: 'i', git_work_tree: 'w', GITHUB_TOKEN: 't', PATH: '/bin' });

    expect(env).toEqual({ GITHUB_TOKEN: 't', PATH: '/bin' });
  });
});

describe('queue additions for the daemon', () => {
  test('claim skips excluded models', () => {
    const queue = openQueue({ dataDir: makeTempDir() });
    const held = queue.add({ kind: 'report', repository: '/r', commitSha: fakeSha('held'), payload: { model: 'missing:1b' } }).job;
    const other = queue.add({ kind: 'report', repository: '/r', commitSha: fakeSha('other'), payload: { model: 'present:7b' } }).job;
    const plain = queue.add({ kind: 'report', repository: '/r', commitSha: fakeSha('plain') }).job;

    expect(queue.claim('w', { excludeModels: ['missing:1b'] })?.id).toBe(other.id);
    expect(queue.claim('w', { excludeModels: ['missing:1b'] })?.id).toBe(plain.id);
    expect(queue.claim('w', { excludeModels: ['missing:1b'] })).toBeUndefined();
    expect(queue.claim('w')?.id).toBe(held.id);
    queue.close();
  });

  test('paused worker claims nothing until resumed', async () => {
    const queue = openQueue({ dataDir: makeTempDir() });
    const worker = new Worker(queue, async () => ({}), { pollIntervalMs: 5 });
    worker.pause();
    const running = worker.run();
    const { job } = queue.add({ kind: 'report', repository: '/r', commitSha: fakeSha('paused') });

    // Many polls pass while paused.
    worker.wake();
    await sleep(50);
    expect(queue.getJob(job.id)?.state).toBe('waiting');
    expect(worker.paused).toBe(true);

    worker.resume();
    await waitFor(() => queue.getJob(job.id)?.state === 'completed', 'the job to complete');
    await worker.close();
    await running;
    queue.close();
  });
});

function writeRow(dataDir: string, state: 'running' | 'stopping' | 'stopped'): void {
  const queue = openQueue({ dataDir });
  const now = Date.now();
  new DaemonRowWriter(queue.database).insert({
    pid: process.pid,
    instance: 'test',
    version: VERSION,
    state,
    startedAt: now,
    heartbeatAt: now,
    concurrency: 1,
    jobsDone: 0,
    currentJobId: null,
    ollamaHost: null,
    ollamaState: null,
    ollamaDetail: null,
  });
  queue.close();
}

function captureSync(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }

  throw new Error('expected an exception');
}
