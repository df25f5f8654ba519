import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { trackPid } from '../daemon/helpers.js';
import { createOllamaClient } from '../../src/ollama/client.js';
import { resolveOllamaHost } from '../../src/ollama/host.js';
import { openQueue, type Queue } from '../../src/queue/queue.js';
import { Worker } from '../../src/queue/worker.js';
import { createReportProcessor, reportJob } from '../../src/report/processor.js';
import { startFake } from '../fake-ollama/helpers.js';
import type { FakeOllama } from '../fake-ollama/server.mjs';
import { killLeftoversAfterEach, waitForExit, waitForLine } from '../helpers/processes.js';
import { gitDirOf, newRepo } from '../helpers/report-queue.js';
import type { RepoBuilder } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';
import { closedPort } from '../helpers/ports.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'stepper.js');
const MODEL = 'qwen2.5-coder:7b';

const ANSWER = {
  title: 'Add the greeting module',
  summary: 'The commit adds a greeting function.',
  changes: ['Add greet() to src/greet.ts'],
  rationale: 'Not stated in the message.',
  impact_and_tests: 'No tests changed.',
  next_steps: [],
  tags: ['greeting'],
};

const children = killLeftoversAfterEach();
const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) {
    await cleanup();
  }
});

/** A queue with report jobs and no worker yet, so jobs wait until the test starts one. */
interface Scene {
  fake: FakeOllama;
  queue: Queue;
  dataDir: string;
  builder: RepoBuilder;
  sha: string;
  home: string;
}

/**
 * Builds a repository, a queue in a temporary data directory and a fake Ollama whose tokens
 * arrive `tokenDelayMs` apart, so a report takes long enough for progress events.
 */
async function setUp(tokenDelayMs = 10): Promise<Scene> {
  const fake = await startFake({ answer: ANSWER, timing: { tokenDelayMs } });
  const dataDir = makeTempDir('stepper-watch-data-');
  const queue = openQueue({ dataDir });
  cleanups.push(() => queue.close());

  const builder = newRepo();
  builder.write('src/greet.ts', 'export function greet(name: string) {\n  return `Hello, ${name}`;\n}\n');
  const sha = builder.commit('feat: add the greeting module\n');
  return { fake, queue, dataDir, builder, sha, home: makeTempDir('stepper-home-') };
}

async function addJob(scene: Scene, sha = scene.sha): Promise<string> {
  return scene.queue.add(reportJob({ repository: await gitDirOf(scene.builder), commitSha: sha, model: MODEL, subject: `subject of ${sha.slice(0, 7)}` })).job.id;
}

/** Starts a worker in this process that runs report jobs against the fake, reached through `ollamaHost` as OLLAMA_HOST. */
function startWorker(scene: Scene, ollamaHost = scene.fake.url): Worker {
  const client = createOllamaClient({ host: resolveOllamaHost({ OLLAMA_HOST: ollamaHost }) });
  const worker = new Worker(scene.queue, createReportProcessor({ queue: scene.queue, client }), { pollIntervalMs: 20, progressIntervalMs: 50 });
  void worker.run();
  cleanups.push(() => worker.close({ graceMs: 0 }));
  return worker;
}

/** Polls the job until it is in `state`. */
async function waitForState(scene: Scene, jobId: string, state: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (scene.queue.getJob(jobId)?.state !== state) {
    if (Date.now() > deadline) {
      throw new Error(`job ${jobId} did not become ${state}; it is ${scene.queue.getJob(jobId)?.state}`);
    }
    await sleep(20);
  }
}

function cliEnv(scene: Pick<Scene, 'dataDir' | 'home'>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, STEPPER_HOME: scene.dataDir, HOME: scene.home, NO_COLOR: '1' };
  delete env.XDG_STATE_HOME;
  delete env.FORCE_COLOR;
  return env;
}

function startWatch(scene: Pick<Scene, 'dataDir' | 'home'>, args: string[], cwd: string): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'watch', ...args], { cwd, env: cliEnv(scene), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return child;
}

/**
 * Starts the real daemon through the CLI, with OLLAMA_HOST set to `ollamaUrl` and probes a
 * few hundred milliseconds apart, and stops it after the test.
 */
function startDaemon(scene: Pick<Scene, 'dataDir' | 'home'>, ollamaUrl: string): void {
  const env = { ...cliEnv(scene), OLLAMA_HOST: ollamaUrl, STEPPER_DAEMON_PROBE_MS: '50', STEPPER_DAEMON_PROBE_MAX_MS: '400' };
  const output = execFileSync(process.execPath, [BIN, 'daemon', 'start'], { env, encoding: 'utf8' });
  const pid = Number(/pid (\d+)/.exec(output)?.[1]);
  trackPid(pid);
  cleanups.push(() => {
    execFileSync(process.execPath, [BIN, 'daemon', 'stop'], { env: cliEnv(scene), encoding: 'utf8' });
  });
}

function parseLines(stdout: string): Array<Record<string, any>> {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, any>);
}

describe('stepper watch without a terminal', () => {
  it('prints NDJSON events until the queue drains', async () => {
    const scene = await setUp();
    const jobId = await addJob(scene);
    const child = startWatch(scene, [], scene.builder.dir);
    const exited = waitForExit(child);
    await waitForLine(child, /"type":"added"/);

    startWorker(scene);
    const result = await exited;

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const events = parseLines(result.stdout);
    const types = events.map((event) => event.type);
    expect(types[0]).toBe('added');
    expect(types[1]).toBe('started');
    expect(types.at(-1)).toBe('completed');
    expect(types.slice(2, -1).every((type) => type === 'progress')).toBe(true);
    for (const event of events) {
      expect(Object.keys(event).slice(0, 4)).toEqual(['at', 'type', 'jobId', 'sha']);
      expect(event.jobId).toBe(jobId);
      expect(event.sha).toBe(scene.sha);
      expect(new Date(event.at).toISOString()).toBe(event.at);
    }
    const generating = events.filter((event) => event.type === 'progress' && event.data.phase === 'generating');
    expect(generating.length).toBeGreaterThan(0);
    expect(typeof generating.at(-1)?.data.tokens).toBe('number');
    expect(events.map((event) => event.seq)).toEqual([...events.map((event) => event.seq)].sort((a, b) => a - b));
  });

  it('prints the same lines with --json', async () => {
    const scene = await setUp(0);
    await addJob(scene);
    const child = startWatch(scene, ['--json'], scene.builder.dir);
    const exited = waitForExit(child);
    await waitForLine(child, /"type":"added"/);

    startWorker(scene);
    const result = await exited;

    expect(result.code).toBe(0);
    expect(parseLines(result.stdout).at(-1)?.type).toBe('completed');
  });

  it('reports a failed job and drains', async () => {
    const scene = await setUp(0);
    await scene.queue.add({ ...reportJob({ repository: await gitDirOf(scene.builder), commitSha: scene.sha, model: 'missing-model:1b' }), maxAttempts: 1 });
    const child = startWatch(scene, ['--json'], scene.builder.dir);
    const exited = waitForExit(child);
    await waitForLine(child, /"type":"added"/);

    startWorker(scene);
    const result = await exited;

    expect(result.code).toBe(0);
    const last = parseLines(result.stdout).at(-1);
    expect(last?.type).toBe('failed');
    expect(last?.data.reason).toBe('unrecoverable');
  });

  it('exits at once without a database', async () => {
    const scene = { dataDir: path.join(makeTempDir(), 'never-made'), home: makeTempDir() };

    const result = await waitForExit(startWatch(scene, [], makeTempDir()));

    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('');
    expect(fs.existsSync(scene.dataDir)).toBe(false);
  });

  it('exits at once when nothing is waiting or active', async () => {
    const scene = await setUp(0);
    await addJob(scene);
    scene.queue.cancel(scene.queue.getJobs()[0]?.id ?? '');

    const result = await waitForExit(startWatch(scene, ['--json'], scene.builder.dir));

    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
  });

  it('keeps following after the queue drains', async () => {
    const scene = await setUp(0);
    await addJob(scene);
    const child = startWatch(scene, ['--follow'], scene.builder.dir);
    const exited = waitForExit(child);
    await waitForLine(child, /"type":"added"/);
    startWorker(scene);
    await waitForLine(child, /"type":"completed"/);

    scene.builder.write('README.md', 'Greeting\n');
    const next = scene.builder.commit('Add a readme\n');
    const nextId = await addJob(scene, next);
    const added = await waitForLine(child, new RegExp(`"type":"added","jobId":"${nextId}"`));
    child.kill('SIGINT');
    const result = await exited;

    expect(JSON.parse(added).sha).toBe(next);
    expect(result.signal).toBe('SIGINT');
    expect(result.stderr).toBe('');
  });

  it('prints when the daemon waits for Ollama', async () => {
    const scene = await setUp(0);
    const jobId = await addJob(scene);
    await scene.fake.refuseConnections();
    startDaemon(scene, scene.fake.url);
    const child = startWatch(scene, [], scene.builder.dir);
    const exited = waitForExit(child);
    const started = JSON.parse(await waitForLine(child, /"type":"ollama-wait-started"/));

    await scene.fake.acceptConnections();
    const result = await exited;

    expect(started).toEqual({
      at: expect.any(String),
      type: 'ollama-wait-started',
      jobId: null,
      sha: null,
      repository: null,
      seq: null,
      data: { host: scene.fake.url, error: 'ECONNREFUSED' },
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const events = parseLines(result.stdout);
    const ended = events.findIndex((event) => event.type === 'ollama-wait-ended');
    expect(events[ended]?.data).toEqual({ host: scene.fake.url, reachable: true });
    expect(events.findIndex((event) => event.type === 'ollama-wait-started')).toBeLessThan(ended);
    expect(events.at(-1)).toMatchObject({ type: 'completed', jobId });
  });

  it('prints the end of a wait when the daemon stops', async () => {
    const scene = await setUp(0);
    await addJob(scene);
    const url = `http://127.0.0.1:${await closedPort()}`;
    startDaemon(scene, url);
    const child = startWatch(scene, ['--json'], scene.builder.dir);
    const exited = waitForExit(child);
    await waitForLine(child, /"type":"ollama-wait-started"/);

    execFileSync(process.execPath, [BIN, 'daemon', 'stop'], { env: cliEnv(scene), encoding: 'utf8' });
    const ended = JSON.parse(await waitForLine(child, /"type":"ollama-wait-ended"/));
    child.kill('SIGINT');
    const result = await exited;

    expect(ended.data).toEqual({ host: url, reachable: false });
    expect(result.signal).toBe('SIGINT');
  });

  it('rejects an unknown option with exit 2', async () => {
    const scene = { dataDir: makeTempDir(), home: makeTempDir() };

    const result = await waitForExit(startWatch(scene, ['--interval', '5'], makeTempDir()));

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^stepper: unknown option '--interval'/);
  });

  it('rejects a relative STEPPER_HOME with exit 2', async () => {
    const scene = { dataDir: 'relative/data', home: makeTempDir() };

    const result = await waitForExit(startWatch(scene, [], makeTempDir()));

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^stepper: invalid STEPPER_HOME: expected an absolute path/);
  });
});

const TMUX_AVAILABLE = hasTmux();

function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A tmux server of its own on a socket in a temporary folder, killed after the test. */
class Terminal {
  readonly dir: string;
  readonly socket: string;

  constructor() {
    this.dir = makeTempDir('stepper-tmux-');
    this.socket = path.join(this.dir, 'tmux.sock');
    cleanups.push(() => {
      try {
        this.tmux(['kill-server']);
      } catch {
        // The server is gone already.
      }
    });
  }

  tmux(args: string[]): string {
    return execFileSync('tmux', ['-S', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  }

  /**
   * Runs `command` in a bash script in a 100x30 pane, prints its exit status, and keeps the
   * pane open. The script ignores SIGINT, as an interactive shell does, so Ctrl-C reaches
   * only the command and the script lives on to print the status.
   */
  start(command: string): void {
    const script = path.join(this.dir, 'run.sh');
    fs.writeFileSync(script, `trap '' INT\n${command}\necho "watch exited with $?"\nsleep 600\n`);
    this.tmux(['new-session', '-d', '-x', '100', '-y', '30', `bash ${shellQuote(script)}`]);
  }

  /** Waits for the command to end and returns its exit status. */
  async waitForExit(): Promise<number> {
    const screen = await this.waitFor(/watch exited with \d+/);
    return Number(/watch exited with (\d+)/.exec(screen)?.[1]);
  }

  /** The pane's text; with `escapes`, its colours and attributes as escape sequences. */
  capture(escapes = false): string {
    return this.tmux(['capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', '0']);
  }

  cursorVisible(): boolean {
    return this.tmux(['display-message', '-p', '-t', '0', '#{cursor_flag}']).trim() === '1';
  }

  /** Polls the pane until `pattern` shows, and fails with the pane's text after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.capture();
      if (pattern.test(screen)) {
        return screen;
      }
      if (Date.now() > deadline) {
        throw new Error(`the pane did not show ${pattern} within ${timeoutMs} ms; it shows:\n${screen}`);
      }
      await sleep(50);
    }
  }
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function watchCommand(scene: Scene, args: string[], env: Record<string, string> = {}): string {
  const variables = Object.entries({ STEPPER_HOME: scene.dataDir, HOME: scene.home, ...env }).map(([name, value]) => `${name}=${shellQuote(value)}`);
  // CI is unset as in a person's terminal: chalk turns colour off when it is set.
  return `cd ${shellQuote(scene.builder.dir)} && env -u XDG_STATE_HOME -u FORCE_COLOR -u NO_COLOR -u CI ${variables.join(' ')} ${shellQuote(process.execPath)} ${shellQuote(BIN)} watch ${args.join(' ')}`;
}

const tmuxTitle = TMUX_AVAILABLE ? 'stepper watch in a terminal (tmux)' : 'stepper watch in a terminal (skipped: tmux is not installed; apt-get install -y tmux)';

describe.skipIf(!TMUX_AVAILABLE)(tmuxTitle, () => {
  it('redraws the active job with a progress bar and exits when drained', async () => {
    const scene = await setUp(40);
    await addJob(scene);
    const terminal = new Terminal();
    terminal.start(watchCommand(scene, [], { NO_COLOR: '1' }));
    await terminal.waitFor(/stepper watch {2}0 active · 1 waiting/);
    const hiddenWhileRunning = !terminal.cursorVisible();

    startWorker(scene);
    const active = await terminal.waitFor(/\[█+░*\] +\d+ tokens +[\d.]+ tokens\/s +ETA ≤ /);
    const colours = terminal.capture(true);
    const status = await terminal.waitForExit();
    const done = terminal.capture();

    expect(active).toContain('1 active · 0 waiting');
    expect(active).toMatch(new RegExp(`${scene.sha.slice(0, 12)} {2}repo {2}generating {2}[\\d.]+ (ms|s) {2}subject of ${scene.sha.slice(0, 7)}`));
    expect(active).toContain('(rate, 1,024-token budget)');
    expect(colours).not.toMatch(/\u001b\[(3\d|1)m/);
    expect(status).toBe(0);
    expect(done).toMatch(new RegExp(`✓ completed ${scene.sha.slice(0, 12)}`));
    // One frame is left on screen: the redraws replaced each other instead of scrolling.
    expect(done.match(/^stepper watch/gm)).toHaveLength(1);
    expect(hiddenWhileRunning).toBe(true);
    expect(terminal.cursorVisible()).toBe(true);
  });

  it('reads subjects from git for jobs without one', async () => {
    // The git hook queues jobs without a subject, because it reads no commit.
    const scene = await setUp(0);
    await scene.queue.add(reportJob({ repository: await gitDirOf(scene.builder), commitSha: scene.sha, model: MODEL }));
    const terminal = new Terminal();
    terminal.start(watchCommand(scene, ['--follow'], { NO_COLOR: '1' }));
    await terminal.waitFor(/stepper watch/);

    startWorker(scene);
    const done = await terminal.waitFor(/✓ completed .*feat: add the greeting module/);
    terminal.tmux(['send-keys', '-t', '0', 'C-c']);
    await terminal.waitForExit();

    expect(done).toMatch(new RegExp(`✓ completed ${scene.sha.slice(0, 12)} {2}repo {2}in [\\d.]+ (ms|s) {2}feat: add the greeting module`));
  });

  it('shows subjects from git in the last frame', async () => {
    // Without --follow, watch ends right after the job completes, before a read started then would finish.
    const scene = await setUp(0);
    await scene.queue.add(reportJob({ repository: await gitDirOf(scene.builder), commitSha: scene.sha, model: MODEL }));
    const terminal = new Terminal();
    terminal.start(watchCommand(scene, [], { NO_COLOR: '1' }));
    await terminal.waitFor(/stepper watch/);

    startWorker(scene);
    const status = await terminal.waitForExit();
    const done = terminal.capture();

    expect(status).toBe(0);
    expect(done).toMatch(new RegExp(`✓ completed ${scene.sha.slice(0, 12)} {2}repo {2}in [\\d.]+ (ms|s) {2}feat: add the greeting module`));
  });

  it('shows a daemon waiting for Ollama', async () => {
    const scene = await setUp(0);
    await addJob(scene);
    const url = `http://127.0.0.1:${await closedPort()}`;
    startDaemon(scene, url);
    const terminal = new Terminal();
    terminal.start(watchCommand(scene, [], { NO_COLOR: '1' }));

    const screen = await terminal.waitFor(/daemon waiting for Ollama/);
    terminal.tmux(['send-keys', '-t', '0', 'C-c']);
    const status = await terminal.waitForExit();

    expect(screen).toContain(`daemon waiting for Ollama at ${url}: ECONNREFUSED\n`);
    expect(screen).toContain('  start Ollama with "ollama serve", or set OLLAMA_HOST to where it listens and restart the daemon\n');
    expect(screen).not.toContain('no daemon runs');
    expect(status).toBe(130);
  });

  it('says when no daemon runs', async () => {
    const scene = await setUp(0);
    await addJob(scene);
    const terminal = new Terminal();
    terminal.start(watchCommand(scene, [], { NO_COLOR: '1' }));

    const screen = await terminal.waitFor(/no daemon runs/);
    terminal.tmux(['send-keys', '-t', '0', 'C-c']);
    await terminal.waitForExit();

    expect(screen).toContain('no daemon runs, so 1 job waits: start it with "stepper daemon start"\n');
    expect(screen).toContain('the next "stepper report", or a commit in a repository with the git hook, starts it too');
  });

  it('lists a delayed job with its error and next attempt', async () => {
    const scene = await setUp(0);
    scene.fake.enqueue({ fault: { kind: 'http_error', preset: 'runner_crash' } });
    const jobId = await addJob(scene);
    startWorker(scene, `127.0.0.1:${scene.fake.port}`);
    await waitForState(scene, jobId, 'delayed');
    const terminal = new Terminal();
    terminal.start(watchCommand(scene, [], { NO_COLOR: '1' }));

    const screen = await terminal.waitFor(/Delayed/);
    terminal.tmux(['send-keys', '-t', '0', 'C-c']);
    await terminal.waitForExit();

    const lines = screen.split('\n');
    const at = lines.indexOf('Delayed');
    expect(at).toBeGreaterThan(0);
    expect(lines[at + 1]).toMatch(new RegExp(`^  ${scene.sha.slice(0, 12)} {2}repo {2}attempt 2 of 5 in [\\d.]+ s \\(\\d\\d:\\d\\d:\\d\\d\\) {2}subject of ${scene.sha.slice(0, 7)}$`));
    expect(lines[at + 2]).toMatch(new RegExp(`^ {4}Ollama at ${scene.fake.url} failed with HTTP 500: model runner has unexpectedly stopped`));
    expect(screen).not.toContain('OLLAMA_HOST=');
  });

  it('keeps the cause of a long error', async () => {
    const scene = await setUp(0);
    scene.fake.enqueue({ fault: { kind: 'http_error', status: 500, message: 'the GPU ran out of memory while loading the model weights' } });
    const subject = `fix: ${'a long subject that fills most of the line '.repeat(2)}`;
    const jobId = (await scene.queue.add({ ...reportJob({ repository: await gitDirOf(scene.builder), commitSha: scene.sha, model: MODEL, subject }), maxAttempts: 1 })).job.id;
    startWorker(scene, `127.0.0.1:${scene.fake.port}`);
    await waitForState(scene, jobId, 'failed');
    const terminal = new Terminal();
    terminal.start(watchCommand(scene, ['--follow'], { NO_COLOR: '1' }));

    const screen = await terminal.waitFor(/✗ failed/);
    terminal.tmux(['send-keys', '-t', '0', 'C-c']);
    await terminal.waitForExit();

    const lines = screen.split('\n');
    const failed = lines.findIndex((line) => line.includes('✗ failed'));
    expect(lines[failed]).toMatch(/fix: a long subject/);
    const error = `${lines[failed + 1]?.trim()} ${lines[failed + 2]?.trim()}`;
    expect(error).toContain(`Ollama at ${scene.fake.url} failed with HTTP 500: the GPU ran out of memory while loading the model weights`);
    expect(screen).not.toContain('OLLAMA_HOST=');
  });

  it('restores the cursor and exits 130 on Ctrl-C', async () => {
    const scene = await setUp(0);
    await addJob(scene);
    const terminal = new Terminal();
    terminal.start(watchCommand(scene, ['--follow']));
    const first = await terminal.waitFor(/stepper watch/);
    const colours = terminal.capture(true);

    terminal.tmux(['send-keys', '-t', '0', 'C-c']);
    const status = await terminal.waitForExit();

    expect(first).toContain('following; Ctrl-C to stop');
    expect(colours).toMatch(/\u001b\[1mstepper watch/);
    expect(status).toBe(130);
    expect(terminal.cursorVisible()).toBe(true);
  });
});
