// The node options a detached daemon starts with, read back from the running process, and
// whether this node applies them. The fixture imports the built dist/, so run `npm run build` first.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

import { describe, expect, test } from 'vitest';

import { stopDaemon } from '../../src/index.js';
import { DAEMON_NODE_OPTIONS } from '../../src/daemon/start.js';
import { startFake } from '../fake-ollama/helpers.js';
import { makeTempDir } from '../helpers/temp.js';
import { autoStart, DAEMON_FIXTURE, daemonEnvironment, waitForNoDaemon, waitForRunning } from './helpers.js';

/** Reads a process's arguments from /proc, which separates them with NUL bytes. */
function readCommandLine(pid: number): string[] {
  return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((argument) => argument !== '');
}

describe('daemon node options', () => {
  test('options cap semi-space and old space', () => {
    expect(DAEMON_NODE_OPTIONS).toContain('--max-semi-space-size=1');
    expect(DAEMON_NODE_OPTIONS).toContain('--max-old-space-size=1024');
  });

  test.skipIf(process.platform !== 'linux')('spawned daemon runs with them', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    const env = daemonEnvironment(dataDir, fake.url);

    const spawned = autoStart(dataDir, env);
    const pid = await waitForRunning(dataDir);
    const argv = readCommandLine(pid);

    expect(pid).toBe(spawned);
    expect(argv[0]).toBe(process.execPath);
    expect(argv).toContain('--max-semi-space-size=1');
    expect(argv).toContain('--max-old-space-size=1024');
    expect(argv.slice(1, 1 + DAEMON_NODE_OPTIONS.length)).toEqual(DAEMON_NODE_OPTIONS);
    expect(argv.slice(1 + DAEMON_NODE_OPTIONS.length)).toEqual([DAEMON_FIXTURE, dataDir]);

    const stopped = await stopDaemon({ dataDir, timeoutMs: 30_000 });
    expect(stopped.stopped).toBe(true);
    await waitForNoDaemon(dataDir);
  }, 60_000);

  test('node applies them to its heap', () => {
    // Three million short-lived objects make V8 grow the young generation, two semi-spaces,
    // to its maximum.
    const script = `
      const v8 = require('node:v8');
      let batch = [];
      for (let i = 0; i < 3e6; i++) {
        batch.push({ i });
        if (batch.length > 1e5) batch = [];
      }
      const space = v8.getHeapSpaceStatistics().find((entry) => entry.space_name === 'new_space');
      process.stdout.write(JSON.stringify({ newSpace: space.space_size, heapLimit: v8.getHeapStatistics().heap_size_limit }));
    `;
    const run = (options: readonly string[]): { newSpace: number; heapLimit: number } => {
      const result = spawnSync(process.execPath, [...options, '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
      expect(result.status, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as { newSpace: number; heapLimit: number };
    };

    const withOptions = run(DAEMON_NODE_OPTIONS);
    const withDefaults = run([]);

    expect(withOptions.newSpace).toBeLessThanOrEqual(2 * 2 ** 20);
    expect(withDefaults.newSpace).toBeGreaterThan(withOptions.newSpace);
    // The limit covers the old generation and the young one, so it lies a little above 1 GiB.
    expect(withOptions.heapLimit).toBeGreaterThanOrEqual(1024 * 2 ** 20);
    expect(withOptions.heapLimit).toBeLessThan(1100 * 2 ** 20);
  }, 60_000);
});
