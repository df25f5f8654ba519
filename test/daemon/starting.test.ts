// The time between ensureDaemon's spawn and the new daemon taking its lock: the starting
// marker lets `stopDaemon` and `daemon status` see that daemon. The fixtures import the
// built dist/, so run `npm run build` first.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, test } from 'vitest';

import { STARTING_FILE, readStartingMarker, removeStartingMarker, writeStartingMarker } from '../../src/daemon/lock.js';
import { readDaemonStatus, stopDaemon } from '../../src/index.js';
import { startFake } from '../fake-ollama/helpers.js';
import { waitForExit } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';
import { autoStart, daemonEnvironment, enqueue, isAlive, readLog, spawnDaemon, waitFor, waitForRunning } from './helpers.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'stepper.js');

/** Returns the pid of a process that has exited. */
function deadPid(): number {
  const result = spawnSync(process.execPath, ['-e', '']);
  return result.pid as number;
}

describe('starting marker', () => {
  test('marker is private and names the pid', () => {
    const dataDir = makeTempDir();
    writeStartingMarker(dataDir, process.pid);
    const file = path.join(dataDir, STARTING_FILE);

    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${process.pid}\n`);
    expect(readStartingMarker(dataDir)).toBe(process.pid);
    expect(fs.readdirSync(dataDir)).toEqual([STARTING_FILE]);
  });

  test('dead pid is ignored', () => {
    const dataDir = makeTempDir();
    writeStartingMarker(dataDir, deadPid());

    expect(readStartingMarker(dataDir)).toBeUndefined();
    expect(readDaemonStatus({ dataDir }).startingPid).toBeUndefined();
  });

  test('old marker is ignored', () => {
    const dataDir = makeTempDir();
    writeStartingMarker(dataDir, process.pid);
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(path.join(dataDir, STARTING_FILE), old, old);

    expect(readStartingMarker(dataDir)).toBeUndefined();
  });

  test('damaged marker is ignored', () => {
    const dataDir = makeTempDir();
    fs.writeFileSync(path.join(dataDir, STARTING_FILE), 'not a pid\n');

    expect(readStartingMarker(dataDir)).toBeUndefined();
  });

  test('removal keeps another pid marker', () => {
    const dataDir = makeTempDir();
    writeStartingMarker(dataDir, process.pid);
    removeStartingMarker(dataDir, process.pid + 1);

    expect(fs.existsSync(path.join(dataDir, STARTING_FILE))).toBe(true);

    removeStartingMarker(dataDir, process.pid);

    expect(fs.existsSync(path.join(dataDir, STARTING_FILE))).toBe(false);
  });

  test('stop ignores stale markers', async () => {
    const dataDir = makeTempDir();
    writeStartingMarker(dataDir, deadPid());

    const result = await stopDaemon({ dataDir, timeoutMs: 5000 });

    expect(result).toEqual({ wasRunning: false, pid: undefined, stopped: true });
  });
});

describe('daemon that is starting', () => {
  test('stop right after ensureDaemon stops it', async () => {
    const fake = await startFake();
    for (let round = 0; round < 4; round += 1) {
      const dataDir = makeTempDir();
      const pid = autoStart(dataDir, daemonEnvironment(dataDir, fake.url)) as number;

      const result = await stopDaemon({ dataDir, timeoutMs: 30_000 });

      expect(result).toEqual({ wasRunning: true, pid, stopped: true });
      await waitFor(() => !isAlive(pid), `daemon ${pid} to exit`);
      expect(readDaemonStatus({ dataDir }).running).toBe(false);
      expect(readDaemonStatus({ dataDir }).row?.state).toBe('stopped');
      expect(readLog(dataDir)).toContain('SIGTERM received: stopping');
      expect(fs.existsSync(path.join(dataDir, STARTING_FILE))).toBe(false);
    }
  }, 120_000);

  test('status right after ensureDaemon shows it', async () => {
    const fake = await startFake();
    const dataDir = makeTempDir();
    const env = daemonEnvironment(dataDir, fake.url);
    const pid = autoStart(dataDir, env) as number;

    const status = readDaemonStatus({ dataDir });
    const text = await waitForExit(spawn(process.execPath, [BIN, 'daemon', 'status'], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    const json = await waitForExit(spawn(process.execPath, [BIN, 'daemon', 'status', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    const parsed = JSON.parse(json.stdout) as { running: boolean; starting: boolean; pid: number };

    expect(status.running || status.startingPid === pid).toBe(true);
    expect(text.stdout).not.toContain('not running');
    expect(text.stdout).toMatch(new RegExp(`^daemon: (starting|running) \\(pid ${pid}, `));
    expect(parsed.running || parsed.starting).toBe(true);
    expect(parsed.pid).toBe(pid);

    expect((await stopDaemon({ dataDir, timeoutMs: 30_000 })).stopped).toBe(true);
  });

  test('starting status text and json', async () => {
    // In that window, status reads a marker that names a live process holding no lock.
    const dataDir = makeTempDir();
    const env = { ...process.env, STEPPER_HOME: dataDir };
    writeStartingMarker(dataDir, process.pid);

    const text = await waitForExit(spawn(process.execPath, [BIN, 'daemon', 'status'], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    const json = await waitForExit(spawn(process.execPath, [BIN, 'daemon', 'status', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>;

    expect(text.stdout).toBe(`daemon: starting (pid ${process.pid}, waiting for the lock; data directory ${dataDir})\nlog: ${path.join(dataDir, 'daemon.log')}\n`);
    expect(parsed.running).toBe(false);
    expect(parsed.starting).toBe(true);
    expect(parsed.state).toBe('starting');
    expect(parsed.pid).toBe(process.pid);
  });

  test('stepper status shows it starting', async () => {
    const dataDir = makeTempDir();
    const env = { ...process.env, STEPPER_HOME: dataDir, OLLAMA_HOST: 'http://127.0.0.1:9', NO_COLOR: '1' };
    writeStartingMarker(dataDir, process.pid);

    const text = await waitForExit(spawn(process.execPath, [BIN, 'status', '--all'], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    const json = await waitForExit(spawn(process.execPath, [BIN, 'status', '--all', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    const daemon = (JSON.parse(json.stdout) as { daemon: Record<string, unknown> }).daemon;

    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^daemon +starting \\(pid ${process.pid}\\)$`, 'm'));
    expect(daemon).toEqual({ state: 'starting', pid: process.pid, startedAt: null, version: null, currentJobId: null, waitingForOllama: false, ollamaHost: null });
  });

  test('a running daemon shows beside a marker of another process', async () => {
    const fake = await startFake();
    const dataDir = makeTempDir();
    const env = daemonEnvironment(dataDir, fake.url);
    const daemon = spawnDaemon(dataDir, env);
    const pid = await waitForRunning(dataDir);
    // A successor that another stepper version spawned writes such a marker while it waits for the lock.
    writeStartingMarker(dataDir, process.pid);

    const status = readDaemonStatus({ dataDir });
    const json = await waitForExit(spawn(process.execPath, [BIN, 'status', '--all', '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] }));

    expect(status.running).toBe(true);
    expect(status.startingPid).toBeUndefined();
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { daemon: { state: string; pid: number } }).daemon).toMatchObject({ state: 'running', pid });

    removeStartingMarker(dataDir, process.pid);
    await stopDaemon({ dataDir, timeoutMs: 30_000 });
    await daemon.exited;
  });

  test('stop also stops the successor that takes the lock meanwhile', async () => {
    const fake = await startFake();
    // The first chat request stalls for 3 s, so the first daemon stays stopping that long.
    fake.enqueue({ fault: { kind: 'stall', afterLines: 1, stallMs: 3000 }, match: { path: '/api/chat' } });
    const dataDir = makeTempDir();
    const env = daemonEnvironment(dataDir, fake.url);
    enqueue(dataDir, 'keeps the first daemon busy');
    const first = spawnDaemon(dataDir, env);
    const firstPid = await waitForRunning(dataDir);
    await fake.waitForRequest((request) => request.path === '/api/chat', { timeoutMs: 30_000 });
    first.child.kill('SIGTERM');
    await waitFor(() => readLog(dataDir).includes('SIGTERM received: stopping'), 'the first daemon to be stopping');

    // A daemon started now waits for the stopping one's lock and takes over.
    const successor = spawnDaemon(dataDir, env);
    writeStartingMarker(dataDir, successor.child.pid as number);
    const result = await stopDaemon({ dataDir, timeoutMs: 30_000 });

    expect(result).toEqual({ wasRunning: true, pid: successor.child.pid, stopped: true });
    expect((await first.exited).code).toBe(0);
    expect((await successor.exited).code).toBe(0);
    expect(readLog(dataDir)).toContain(`[${firstPid}] daemon stopped`);
  });

  test('surplus daemon removes its marker', async () => {
    const fake = await startFake();
    const dataDir = makeTempDir();
    const env = daemonEnvironment(dataDir, fake.url);
    const first = spawnDaemon(dataDir, env);
    const firstPid = await waitForRunning(dataDir);

    // A second spawn, as from ensureDaemon racing with the first, finds the lock taken.
    const surplus = spawnDaemon(dataDir, env);
    writeStartingMarker(dataDir, surplus.child.pid as number);
    const exit = await surplus.exited;

    expect(exit.code).toBe(0);
    expect(fs.existsSync(path.join(dataDir, STARTING_FILE))).toBe(false);

    const result = await stopDaemon({ dataDir, timeoutMs: 30_000 });

    expect(result).toEqual({ wasRunning: true, pid: firstPid, stopped: true });
    expect((await first.exited).code).toBe(0);
  });

  test('starter that dies before the lock ends the wait', async () => {
    const dataDir = makeTempDir();
    const starter = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 300)'], { stdio: 'ignore' });
    const exited = waitForExit(starter);
    writeStartingMarker(dataDir, starter.pid as number);

    const result = await stopDaemon({ dataDir, timeoutMs: 30_000 });
    await exited;

    expect(result).toEqual({ wasRunning: true, pid: starter.pid, stopped: true });
  });
});
