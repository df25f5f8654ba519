import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

import { openQueue } from '../../src/queue/queue.js';
import { type FakeOllama, startFakeOllama } from '../fake-ollama/server.mjs';
import { waitForExit } from '../helpers/processes.js';
import { ALICE, BOB, RepoBuilder } from '../helpers/repo-builder.js';
import { cliEnvironment } from '../helpers/cli-env.js';
import { makeTempDir } from '../helpers/temp.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'stepper.js');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// script(1) comes with util-linux (Debian's bsdutils, an essential package).
const HAS_SCRIPT = spawnSync('script', ['--version']).status === 0;

interface Setup {
  repo: RepoBuilder;
  commits: string[];
  home: string;
  fake: FakeOllama;
  env: NodeJS.ProcessEnv;
}

const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  while (cleanups.length > 0) {
    await cleanups.pop()?.();
  }
});

async function setup(): Promise<Setup> {
  const repo = RepoBuilder.init(makeTempDir('stepper-cli-repo-'));
  const commits: string[] = [];
  repo.write('src/a.ts', 'export const a = 1;\n');
  commits.push(repo.commit('Add a', { author: ALICE }));
  repo.write('src/a.ts', 'export const a = 2;\n');
  commits.push(repo.commit('fix: correct a', { author: BOB }));
  repo.write('src/b.ts', 'export const b = 3;\n');
  commits.push(repo.commit('feat: add b', { author: ALICE }));

  const fake = await startFakeOllama();
  const home = makeTempDir('stepper-cli-home-');
  const env = cliEnvironment(home, fake.url);

  cleanups.push(() => fake.close());
  cleanups.push(() => stepper(['daemon', 'stop'], { repo, env } as Setup));
  return { repo, commits, home, fake, env };
}

function stepper(args: string[], context: Pick<Setup, 'repo' | 'env'>, cwd = context.repo.dir) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: context.env, stdio: ['ignore', 'pipe', 'pipe'] });
  return waitForExit(child);
}

function chatRequests(fake: FakeOllama): number {
  return fake.requests.filter((request) => request.path === '/api/chat').length;
}

describe('stepper report', () => {
  it('prints one line per commit with its job id', async () => {
    const context = await setup();

    const result = await stepper(['report'], context);

    expect(result.code).toBe(0);
    const [line, ...rest] = result.stdout.trimEnd().split('\n');
    expect(rest).toEqual([]);
    expect(line).toMatch(new RegExp(`^waiting +${context.commits[2]?.slice(0, 7)}  feat: add b  job [0-9a-f-]{36}$`));
  });

  it('--json prints the documented keys', async () => {
    const context = await setup();

    const result = await stepper(['report', '--json', 'HEAD~2..HEAD'], context);

    expect(result.code).toBe(0);
    const entries = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(entries.map((entry) => Object.keys(entry))).toEqual([
      ['jobId', 'sha', 'subject', 'state', 'deduplicated', 'cached'],
      ['jobId', 'sha', 'subject', 'state', 'deduplicated', 'cached'],
    ]);
    expect(entries.map((entry) => entry.sha)).toEqual(context.commits.slice(1));
    expect(entries.every((entry) => UUID.test(entry.jobId as string))).toBe(true);
  });

  it('--wait prints the reports of a range', async () => {
    const context = await setup();

    const result = await stepper(['report', '--wait', 'HEAD~2..HEAD'], context);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`commit ${context.commits[1]}  fix: correct a`);
    expect(result.stdout).toContain(`commit ${context.commits[2]}  feat: add b`);
    expect(chatRequests(context.fake)).toBe(2);
  });

  it('--wait --json adds each report', async () => {
    const context = await setup();

    const result = await stepper(['report', '--wait', '--json'], context);

    expect(result.code).toBe(0);
    const [entry] = JSON.parse(result.stdout) as Array<{ state: string; report: Record<string, unknown> }>;
    expect(entry?.state).toBe('completed');
    expect(Object.keys(entry?.report ?? {})).toEqual(['title', 'summary', 'changes', 'rationale', 'impact_and_tests', 'next_steps', 'tags']);
  });

  it('a reported commit completes at once from its stored report', async () => {
    const context = await setup();
    await stepper(['report', '--wait'], context);
    const before = chatRequests(context.fake);

    const result = await stepper(['report', '--json'], context);

    const [entry] = JSON.parse(result.stdout) as Array<{ state: string; cached: boolean }>;
    expect(entry).toMatchObject({ state: 'completed', cached: true });
    expect(chatRequests(context.fake)).toBe(before);
  });

  it('--force generates a new report', async () => {
    const context = await setup();
    await stepper(['report', '--wait'], context);
    const before = chatRequests(context.fake);

    const result = await stepper(['report', '--wait', '--force', '--json'], context);

    const [entry] = JSON.parse(result.stdout) as Array<{ state: string; cached: boolean }>;
    expect(entry).toMatchObject({ state: 'completed', cached: false });
    expect(chatRequests(context.fake)).toBe(before + 1);
  });

  it('--wait exits 1 with the pull command when the model is missing', async () => {
    const context = await setup();

    const result = await stepper(['report', '--wait', '--model', 'no-such-model:1b'], context);

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^waiting /);
    expect(result.stdout).toContain('run "ollama pull no-such-model:1b"; the job stays queued');
    expect(result.stderr).toMatch(/^stepper: job [0-9a-f-]{36} for commit [0-9a-f]{12} is waiting: model "no-such-model:1b" is not installed in Ollama: run "ollama pull no-such-model:1b"/);
  });

  it('--wait names a failed job on stderr', async () => {
    const context = await setup();
    context.fake.enqueue({ fault: { kind: 'http_error', status: 400, message: 'invalid request' }, times: 'always' });

    const result = await stepper(['report', '--wait'], context);

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^failed /);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^stepper: job [0-9a-f-]{36} for commit [0-9a-f]{12} is failed: .*invalid request.*; run stepper retry [0-9a-f-]{36} once the cause is fixed$/);
  });

  it('--wait --json gives the held job its reason', async () => {
    const context = await setup();

    const result = await stepper(['report', '--wait', '--json', '--model', 'no-such-model:1b'], context);

    const [entry] = JSON.parse(result.stdout) as Array<{ state: string; error: string }>;
    expect(result.code).toBe(1);
    expect(entry?.state).toBe('waiting');
    expect(entry?.error).toContain('ollama pull no-such-model:1b');
  });

  it('a second request while the job runs is deduplicated', async () => {
    const context = await setup();
    context.fake.enqueue({ fault: { kind: 'slow_headers', delayMs: 3000 } });
    const first = JSON.parse((await stepper(['report', '--json'], context)).stdout) as Array<{ jobId: string }>;

    const second = JSON.parse((await stepper(['report', '--json'], context)).stdout) as Array<{ jobId: string; deduplicated: boolean }>;

    expect(second[0]?.deduplicated).toBe(true);
    expect(second[0]?.jobId).toBe(first[0]?.jobId);
  });

  it.skipIf(!HAS_SCRIPT)('--wait in a 0-column terminal ends', async () => {
    const context = await setup();
    // script(1) from util-linux gives the command a terminal, which stty sets to 0 columns,
    // as some terminals without a real screen report. ora divided by that width once.
    const command = `stty cols 0 rows 0; exec ${[process.execPath, BIN, 'report', '--wait', 'HEAD'].map(shellQuote).join(' ')}`;
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: context.repo.dir, env: context.env, stdio: ['ignore', 'pipe', 'pipe'] });
    // A guard, not a time check. The old spinner cleared lines without end, and closing the
    // terminal did not stop node, so the guard kills script and every process under it.
    const guard = setTimeout(() => killTree(child.pid as number), 30_000);
    const result = await waitForExit(child).finally(() => clearTimeout(guard));

    expect(result.signal).toBe(null);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`commit ${context.commits[2]}  feat: add b`);
    expect(result.stdout.length).toBeLessThan(100_000);
  });

  it.skipIf(!HAS_SCRIPT)('--wait spinner honours NO_COLOR', async () => {
    const context = await setup();
    // Slow tokens, so the spinner draws frames while the report is generated.
    context.fake.enqueue({ fault: { kind: 'latency', tokenDelayMs: 20 }, match: { path: '/api/chat' }, times: 'always' });
    const command = `stty cols 80 rows 24; exec ${[process.execPath, BIN, 'report', '--wait', 'HEAD'].map(shellQuote).join(' ')}`;
    // ora draws nothing when CI is set or TERM is dumb, so the test sets both itself.
    const env: NodeJS.ProcessEnv = { ...context.env, TERM: 'xterm', NO_COLOR: '1' };
    delete env.CI;
    const child = spawn('script', ['-qec', command, '/dev/null'], { cwd: context.repo.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const guard = setTimeout(() => killTree(child.pid as number), 30_000);
    const result = await waitForExit(child).finally(() => clearTimeout(guard));

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('generating');
    expect(result.stdout).not.toContain('\u001b[36m');
  });

  it('SIGINT stops --wait with 130 and leaves the job queued', async () => {
    const context = await setup();
    context.fake.enqueue({ fault: { kind: 'slow_headers', delayMs: 5000 } });
    const child = spawn(process.execPath, [BIN, 'report', '--wait', '--json'], { cwd: context.repo.dir, env: context.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = waitForExit(child);
    // The chat request arrives once the job is claimed, so the wait is under way by then.
    while (!context.fake.requests.some((request) => request.path === '/api/chat')) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    child.kill('SIGINT');
    const result = await exited;

    expect(result.code).toBe(130);
    expect(result.stderr).toBe('stepper: stopped waiting; the jobs go on in the background (see `stepper status`)\n');
    const status = JSON.parse((await stepper(['status', '--json'], context)).stdout) as { counts: Record<string, number> };
    expect(status.counts.failed).toBe(0);
  });

  it('--author and --max-count filter a range', async () => {
    const context = await setup();

    const byAuthor = JSON.parse((await stepper(['report', '--json', '--author', 'Bob', `${context.commits[0]}..HEAD`], context)).stdout) as Array<{ sha: string }>;
    const capped = JSON.parse((await stepper(['report', '--json', '--max-count', '1', `${context.commits[0]}..HEAD`], context)).stdout) as Array<{ sha: string }>;

    expect(byAuthor.map((entry) => entry.sha)).toEqual([context.commits[1]]);
    expect(capped.map((entry) => entry.sha)).toEqual([context.commits[2]]);
  });

  it('a range gets low priority and a single commit high', async () => {
    const context = await setup();
    const range = JSON.parse((await stepper(['report', '--json', 'HEAD~2..HEAD~1'], context)).stdout) as Array<{ jobId: string }>;
    const single = JSON.parse((await stepper(['report', '--json', 'HEAD'], context)).stdout) as Array<{ jobId: string }>;

    const queue = openQueue({ dataDir: context.env.STEPPER_HOME as string, readonly: true });
    try {
      expect(queue.getJob(range[0]?.jobId as string)?.priority).toBe(3);
      expect(queue.getJob(single[0]?.jobId as string)?.priority).toBe(1);
    } finally {
      queue.close();
    }
  });

  it('-q prints nothing', async () => {
    const context = await setup();

    const result = await stepper(['report', '-q'], context);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
  });

  it('returns while the daemon it started keeps running', async () => {
    const context = await setup();

    // stdout is a pipe, as in out=$(stepper report HEAD): the call ends only when every
    // process holding the pipe closed it, so a daemon that inherited it would hold this up.
    const result = await stepper(['report'], context);
    // The daemon takes its lock a moment after it was spawned.
    let state = 'stopped';
    for (let tries = 0; tries < 100 && state !== 'running'; tries += 1) {
      state = (JSON.parse((await stepper(['status', '--json'], context)).stdout) as { daemon: { state: string } }).daemon.state;
    }

    expect(result.code).toBe(0);
    expect(state).toBe('running');
  });

  it.each([
    [['report', 'no-such-revision'], 2, /^stepper: unknown revision "no-such-revision"/],
    [['report', '--priority', 'urgent'], 2, /^stepper: invalid --priority: expected high, normal, low, received "urgent"/],
    [['report', '--max-count', 'x'], 2, /^stepper: invalid --max-count: expected a whole number >= 1, received "x"/],
    [['report', '--model', 'bad name!'], 2, /^stepper: invalid --model/],
    [['report', '--author', '[', 'HEAD~2..HEAD'], 2, /^stepper: invalid --author: expected a regular expression git accepts/],
    [['report', '--max-count', '0', 'HEAD~2..HEAD'], 2, /^stepper: invalid --max-count: expected a whole number >= 1, received "0"/],
    [['report', '--max-count', '5', 'HEAD'], 2, /^stepper: --max-count limits ranges, but "HEAD" names one commit: give a range/],
    [['report', '--until', 'notadate', 'HEAD~2..HEAD'], 2, /^stepper: invalid --until: expected a date git reads, such as "2026-03-01".*, received "notadate"/],
    [['report', '--since', 'yesterdayish', 'HEAD~2..HEAD'], 2, /^stepper: invalid --since: expected a date git reads/],
    [['report', '--since', '', 'HEAD~2..HEAD'], 2, /^stepper: invalid --since: expected a date git reads/],
  ])('%j exits %i with a clear error', async (args, code, message) => {
    const context = await setup();

    const result = await stepper(args, context);

    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('outside a repository exits 2 and names the folder', async () => {
    const context = await setup();
    const outside = makeTempDir('stepper-not-a-repo-');

    const result = await stepper(['report'], context, outside);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(outside);
  });

  it.each([
    ['OLLAMA_HOST', 'http://[::1', /^stepper: invalid OLLAMA_HOST/],
    ['STEPPER_OLLAMA_FIRST_TOKEN_MS', '15min', /^stepper: invalid STEPPER_OLLAMA_FIRST_TOKEN_MS: expected a whole number of milliseconds/],
    ['STEPPER_DAEMON_IDLE_MS', 'soon', /^stepper: invalid STEPPER_DAEMON_IDLE_MS: expected a whole number of milliseconds from 1 to 2147483647, received "soon"; unset it/],
    ['STEPPER_DAEMON_POLL_MS', '99999999999', /^stepper: invalid STEPPER_DAEMON_POLL_MS: expected a whole number of milliseconds from 1 to 2147483647, received "99999999999"; unset it/],
    [
      'STEPPER_OLLAMA_TOTAL_MS',
      '0',
      /^stepper: invalid STEPPER_OLLAMA_TOTAL_MS: expected a whole number of milliseconds from 1 to 2147483647, received "0"; unset it to use the default 3600000, or change it to a value in that range\n$/,
    ],
    [
      'STEPPER_DAEMON_PROBE_MAX_MS',
      '500',
      /^stepper: invalid STEPPER_DAEMON_PROBE_MAX_MS: expected a whole number of milliseconds from 1000 to 2147483647, received "500"; unset it to use the default 60000, or change it to a value in that range, or set STEPPER_DAEMON_PROBE_MS to 500 or less\n$/,
    ],
  ])('invalid %s exits 2 and queues nothing', async (variable, value, message) => {
    const context = await setup();
    context.env[variable] = value;

    const result = await stepper(['report'], context);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(fs.existsSync(path.join(context.env.STEPPER_HOME as string, 'stepper.db'))).toBe(false);
  });

  it('daemon takes Ollama time limits from the environment', async () => {
    const context = await setup();
    context.env.STEPPER_OLLAMA_FIRST_TOKEN_MS = '300';
    context.fake.enqueue({ fault: { kind: 'slow_headers', delayMs: 5000 }, match: { path: '/api/chat' } });
    const [entry] = JSON.parse((await stepper(['report', '--json'], context)).stdout) as Array<{ jobId: string }>;

    let detail: { state: string; error: string | null } = { state: 'waiting', error: null };
    for (let tries = 0; tries < 200 && detail.error === null; tries += 1) {
      detail = JSON.parse((await stepper(['status', entry?.jobId as string, '--json'], context)).stdout) as typeof detail;
    }

    const text = await stepper(['status', entry?.jobId as string], context);

    // The first chat request waits 5 s for its headers, so only the 300 ms limit explains an error now.
    expect(detail.state).toBe('delayed');
    expect(detail.error).toMatch(/300 ms/);
    expect(typeof (detail as { nextAttemptAt?: unknown }).nextAttemptAt).toBe('number');
    expect(text.stdout).toMatch(/^next try +\d{4}-\d\d-\d\dT[\d:.]+Z \((in \d+s|due now)\)$/m);
    expect(text.stdout).toMatch(/^error +from attempt 1: .*300 ms/m);
  });

  it('warns when jobs go to the spool', async () => {
    const context = await setup();
    const dataDir = context.env.STEPPER_HOME as string;
    openQueue({ dataDir }).close();
    // A writer that holds the lock past the enqueue's busy timeout sends the job to the spool.
    const blocker = new Database(path.join(dataDir, 'stepper.db'));
    blocker.exec('BEGIN IMMEDIATE');

    let entry: { jobId: string; state: string } | undefined;
    try {
      const result = await stepper(['report', '--json'], context);
      [entry] = JSON.parse(result.stdout) as Array<{ jobId: string; state: string }>;
      const status = await stepper(['status', '--json'], context);
      const detail = await stepper(['status', entry?.jobId.toUpperCase() as string], context);

      expect(result.code).toBe(0);
      expect(entry?.state).toBe('waiting');
      expect(result.stderr).toMatch(/^stepper: warning: 1 job went to the spool because the database did not take them \(.+\); .*`stepper doctor`/);
      expect((JSON.parse(status.stdout) as { spooled: number }).spooled).toBe(1);
      expect(detail.code).toBe(1);
      expect(detail.stderr).toContain(`job ${entry?.jobId.toUpperCase()} is in the spool folder, because the database did not take it`);
    } finally {
      blocker.exec('ROLLBACK');
      blocker.close();
    }

    // Nothing is lost: the daemon adds the spooled job and writes its report.
    let state = '';
    for (let tries = 0; tries < 200 && state !== 'completed'; tries += 1) {
      const detail = await stepper(['status', entry?.jobId as string, '--json'], context);
      state = detail.code === 0 ? (JSON.parse(detail.stdout) as { state: string }).state : '';
    }
    expect(state).toBe('completed');
  });

  it('a bad request leaves stored jobs unchanged', async () => {
    const context = await setup();
    await stepper(['report', '--wait'], context);
    const queue = () => openQueue({ dataDir: context.env.STEPPER_HOME as string, readonly: true });
    const before = queue();
    const jobs = before.getJobs();
    before.close();

    await stepper(['report', 'no-such-revision'], context);

    const after = queue();
    expect(after.getJobs()).toEqual(jobs);
    after.close();
  });
});

describe('stepper status', () => {
  it('shows the daemon, Ollama, counts and the jobs of the repository', async () => {
    const context = await setup();
    await stepper(['report', '--wait'], context);

    const result = await stepper(['status'], context);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^daemon +running/m);
    expect(result.stdout).toMatch(new RegExp(`^ollama +reachable at ${context.fake.url.replace(/[.]/g, '\\.')}`, 'm'));
    expect(result.stdout).toMatch(/^queue +0 waiting, 0 delayed, 0 active, 1 completed, 0 failed, 0 cancelled$/m);
    expect(result.stdout).toMatch(new RegExp(`completed +${context.commits[2]?.slice(0, 7)}  feat: add b  job `));
  });

  it('--json prints the documented keys', async () => {
    const context = await setup();
    await stepper(['report', '--wait'], context);

    const status = JSON.parse((await stepper(['status', '--json'], context)).stdout) as Record<string, Record<string, unknown>>;

    expect(Object.keys(status)).toEqual(['daemon', 'ollama', 'counts', 'spooled', 'oldestWaitingAgeMs', 'held', 'jobs']);
    expect(Object.keys(status.daemon ?? {})).toEqual(['state', 'pid', 'startedAt', 'version', 'currentJobId', 'waitingForOllama', 'ollamaHost']);
    expect(status.ollama).toMatchObject({ host: context.fake.url, reachable: true, model: 'qwen2.5-coder:7b' });
    expect(status.ollama?.hostSource).toBe(`${context.fake.url} (OLLAMA_HOST=${JSON.stringify(context.fake.url)})`);
    expect(status.counts).toEqual({ waiting: 0, delayed: 0, active: 0, completed: 1, failed: 0, cancelled: 0 });
  });

  it('shows an invalid configured model instead of failing', async () => {
    const context = await setup();
    context.repo.git(['config', 'stepper.model', 'not valid!!']);

    const json = await stepper(['status', '--json'], context);
    const text = await stepper(['status'], context);

    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { ollama: Record<string, unknown> }).ollama).toMatchObject({
      model: 'not valid!!',
      modelError: expect.stringContaining('invalid git config stepper.model'),
    });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^ollama +reachable at .*invalid git config stepper\.model: expected an Ollama model name/m);
  });

  it('outside a repository suggests --all', async () => {
    const context = await setup();
    const outside = makeTempDir('stepper-not-a-repo-');

    const result = await stepper(['status'], context, outside);
    const all = await stepper(['status', '--all'], context, outside);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^stepper: not a git repository: .*, or add --all for the jobs of every repository\n$/);
    expect(all.code, all.stderr).toBe(0);
  });

  it('a job id shows its detail and report', async () => {
    const context = await setup();
    const [entry] = JSON.parse((await stepper(['report', '--wait', '--json'], context)).stdout) as Array<{ jobId: string }>;

    const detail = JSON.parse((await stepper(['status', entry?.jobId as string, '--json'], context)).stdout) as Record<string, unknown>;

    expect(Object.keys(detail)).toEqual([
      'id', 'repo', 'sha', 'subject', 'state', 'priority', 'attempts', 'maxAttempts', 'progress', 'error', 'createdAt', 'startedAt', 'finishedAt', 'report',
    ]);
    expect(detail).toMatchObject({ id: entry?.jobId, subject: 'feat: add b', state: 'completed', attempts: 1 });
  });

  it('keeps the wait for the model out of the report time', async () => {
    const context = await setup();
    // The first chat request keeps the model busy for 1.5 s, so the other job's request waits behind it.
    context.fake.enqueue({ fault: { kind: 'slow_headers', delayMs: 1500 }, match: { path: '/api/chat' } });

    const result = await stepper(['report', 'HEAD~2..HEAD', '--wait', '--quiet'], context);
    const texts = await Promise.all(context.commits.slice(1).map((sha) => stepper(['show', sha], context)));
    const waits = await Promise.all(
      context.commits.slice(1).map(async (sha) => (JSON.parse((await stepper(['show', sha, '--format', 'json'], context)).stdout) as { provenance: { waitMs: number } }).provenance.waitMs),
    );

    expect(result.code, result.stderr).toBe(0);
    expect(waits.every((waitMs) => typeof waitMs === 'number')).toBe(true);
    expect(Math.max(...waits)).toBeGreaterThanOrEqual(1000);
    expect(texts.filter((show) => /^Made by \S+ in [^,]+, after [\d.]+ s waiting for the model: /m.test(show.stdout))).toHaveLength(1);
  });

  it('numbers the running attempt from 1', async () => {
    const context = await setup();
    context.fake.enqueue({ fault: { kind: 'slow_headers', delayMs: 4000 }, match: { path: '/api/chat' } });
    const [entry] = JSON.parse((await stepper(['report', '--json'], context)).stdout) as Array<{ jobId: string }>;

    let state = '';
    for (let tries = 0; tries < 200 && state !== 'active'; tries += 1) {
      state = (JSON.parse((await stepper(['status', entry?.jobId as string, '--json'], context)).stdout) as { state: string }).state;
    }
    const active = await stepper(['status', entry?.jobId as string], context);

    expect(state).toBe('active');
    expect(active.stdout).toMatch(/^state +active \(attempt 1 of 5\)$/m);
  });

  it('a revision shows the newest job of that commit', async () => {
    const context = await setup();
    await stepper(['report', '--wait'], context);

    const result = await stepper(['status', 'HEAD'], context);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(context.commits[2]);
    expect(result.stdout).toContain('example title');
  });

  it('a range exits 2 naming one commit', async () => {
    const context = await setup();
    await stepper(['report', '--wait'], context);

    const result = await stepper(['status', 'HEAD~1..HEAD'], context);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('stepper: invalid revision: expected a job id or one commit, not a range, received "HEAD~1..HEAD"\n');
    expect(result.stdout).toBe('');
  });

  it('an unknown job exits 1', async () => {
    const context = await setup();
    await stepper(['report', '--wait'], context);

    const result = await stepper(['status', '00000000-0000-0000-0000-000000000000'], context);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^stepper: job 00000000-0000-0000-0000-000000000000 not found/);
  });

  it('an invalid OLLAMA_HOST is one usage error', async () => {
    const context = await setup();

    const result = await stepper(['status'], { ...context, env: { ...context.env, OLLAMA_HOST: 'http://[::1' } });

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^stepper: invalid OLLAMA_HOST "http:\/\/\[::1": [^\n]*\n$/);
  });

  it('shows a daemon waiting for Ollama', async () => {
    const context = await setup();
    await context.fake.close();
    const queued = await stepper(['report', 'HEAD'], context);
    expect(queued.code, queued.stderr).toBe(0);

    // The daemon records Ollama's state once its first probe fails.
    let status: { daemon: { state: string; waitingForOllama: boolean; currentJobId: string | null } } | undefined;
    for (let attempt = 0; attempt < 300 && status?.daemon.waitingForOllama !== true; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = JSON.parse((await stepper(['status', '--json'], context)).stdout) as typeof status;
    }
    const text = await stepper(['status'], context);

    expect(status?.daemon.state).toBe('running');
    expect(status?.daemon.waitingForOllama).toBe(true);
    expect(text.stdout).toMatch(/^daemon +running, waiting for Ollama \(pid \d+/m);
  });

  it('reports a stopped daemon and unreachable Ollama', async () => {
    const context = await setup();
    await context.fake.close();

    const status = JSON.parse((await stepper(['status', '--json'], context)).stdout) as { daemon: { state: string }; ollama: { reachable: boolean } };

    expect(status.daemon.state).toBe('stopped');
    expect(status.ollama.reachable).toBe(false);
  });
});

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/** Sends SIGKILL to `pid` and to every process under it, read from /proc. */
function killTree(pid: number): void {
  let children: number[] = [];
  try {
    children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    // Already gone.
  }

  for (const child of children) {
    killTree(child);
  }

  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}
