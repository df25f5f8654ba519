import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';

import { buildProgram } from '../../src/cli/main.js';
import { openQueue } from '../../src/queue/queue.js';
import { type CommandSpec, parseQuick, REPORT_SPEC, STATUS_SPEC } from '../../src/cli/specs.js';
import { type FakeOllama, startFakeOllama } from '../fake-ollama/server.mjs';
import { FIXTURES, waitForExit } from '../helpers/processes.js';
import { ALICE, RepoBuilder } from '../helpers/repo-builder.js';
import { cliEnvironment } from '../helpers/cli-env.js';
import { makeTempDir } from '../helpers/temp.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'stepper.js');

/** Parses `args` with the commander command built from `spec`, its action replaced by one that records what it gets. */
async function parseWithCommander(spec: CommandSpec, args: string[]): Promise<{ operands: unknown; options: unknown } | 'error'> {
  const program = buildProgram();
  program.configureOutput({ writeOut: () => {}, writeErr: () => {} });
  const command = program.commands.find((candidate) => candidate.name() === spec.name) as Command;
  let parsed: { operands: unknown; options: unknown } | undefined;
  command.exitOverride().action((operand: unknown, options: Record<string, unknown>) => {
    parsed = { operands: operand === undefined ? [] : Array.isArray(operand) ? operand : [operand], options: { ...options } };
  });

  try {
    await program.parseAsync(['node', 'stepper', spec.name, ...args]);
  } catch {
    return 'error';
  }
  return parsed ?? 'error';
}

describe('the shared specs', () => {
  it.each([REPORT_SPEC, STATUS_SPEC])('build the $name command of commander with the same options', (spec) => {
    const command = buildProgram().commands.find((candidate) => candidate.name() === spec.name) as Command;

    expect(command.options.map((option) => option.flags)).toEqual(spec.options.map((option) => option.flags));
    expect(command.description()).toBe(spec.description);
    expect(command.registeredArguments.map((argument) => argument.name())).toEqual([spec.argument.name.replace(/[[\].]/g, '')]);
  });
});

describe('parseQuick', () => {
  // Plain forms: the quick parser must take them, and must read them as commander does.
  const plain: Array<[CommandSpec, string[]]> = [
    [REPORT_SPEC, []],
    [REPORT_SPEC, ['HEAD']],
    [REPORT_SPEC, ['HEAD~3..HEAD', 'main', '--json']],
    [REPORT_SPEC, ['--model', 'llama3.2:3b', 'HEAD', '-q']],
    [REPORT_SPEC, ['--model=llama3.2:3b', '--priority', 'low', '--force']],
    [REPORT_SPEC, ['HEAD~9..', '--max-count', '5', '--since', '2 weeks ago', '--author=Ada|Grace']],
    [REPORT_SPEC, ['--until', '2026-01-01', '--wait', '-']],
    [STATUS_SPEC, []],
    [STATUS_SPEC, ['--json']],
    [STATUS_SPEC, ['--all', '--limit', '3']],
    [STATUS_SPEC, ['--limit=1', 'HEAD~1']],
    [STATUS_SPEC, ['ed550d3d-bbe5-49f3-bdab-994cfbe822de', '--json']],
  ];

  it.each(plain)('%# reads %s %j as commander does', async (spec, args) => {
    const quick = parseQuick(spec, args);

    expect(quick).toBeDefined();
    expect(await parseWithCommander(spec, args)).toEqual(quick);
  });

  // Forms left to commander: its help, its errors, and what the quick parser does not model.
  const odd: Array<[CommandSpec, string[]]> = [
    [REPORT_SPEC, ['--help']],
    [REPORT_SPEC, ['-h']],
    [REPORT_SPEC, ['--no-such-option']],
    [REPORT_SPEC, ['--model']],
    [REPORT_SPEC, ['--model', '--json']],
    [REPORT_SPEC, ['--model=']],
    [REPORT_SPEC, ['--json=yes']],
    [REPORT_SPEC, ['--json', '--json']],
    [REPORT_SPEC, ['--max-count', 'ten', 'HEAD~9..']],
    [REPORT_SPEC, ['--max-count', '-1', 'HEAD~9..']],
    [REPORT_SPEC, ['--', '-HEAD']],
    [REPORT_SPEC, ['-qj']],
    [STATUS_SPEC, ['one', 'two']],
    [STATUS_SPEC, ['--limit', '1.5']],
    [STATUS_SPEC, ['--limit=0', 'HEAD~1']],
    [REPORT_SPEC, ['--max-count', '0', 'HEAD~9..']],
    [STATUS_SPEC, ['--limit', '99999999999999999999']],
    [STATUS_SPEC, ['--limit']],
    [STATUS_SPEC, ['--verbose']],
  ];

  it.each(odd)('%# leaves %s %j to commander', (spec, args) => {
    expect(parseQuick(spec, args)).toBeUndefined();
  });

  it('gives status its default limit and report its default revision', () => {
    expect(parseQuick(STATUS_SPEC, [])).toEqual({ operands: [], options: { limit: 10 } });
    expect(parseQuick(REPORT_SPEC, ['--json'])).toEqual({ operands: ['HEAD'], options: { json: true } });
  });
});

describe('stepper report and status without commander', () => {
  const cleanups: Array<() => Promise<unknown>> = [];

  afterEach(async () => {
    while (cleanups.length > 0) {
      await cleanups.pop()?.();
    }
  });

  async function setup(): Promise<{ repo: RepoBuilder; head: string; env: NodeJS.ProcessEnv; fake: FakeOllama }> {
    const repo = RepoBuilder.init(makeTempDir('stepper-quick-repo-'));
    repo.write('src/a.ts', 'export const a = 1;\n');
    const head = repo.commit('Add a', { author: ALICE });
    const fake = await startFakeOllama();
    const home = makeTempDir('stepper-quick-home-');
    const env = cliEnvironment(home, fake.url);
    cleanups.push(() => fake.close());
    cleanups.push(() => run(['daemon', 'stop'], repo.dir, env));
    return { repo, head, env, fake };
  }

  function run(args: string[], cwd: string, env: NodeJS.ProcessEnv, nodeOptions: string[] = []) {
    const child = spawn(process.execPath, [...nodeOptions, BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    return waitForExit(child);
  }

  async function loadedModules(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
    const log = path.join(makeTempDir(), 'imports.log');
    fs.writeFileSync(log, '');
    const result = await run(args, cwd, { ...env, STEPPER_TEST_IMPORT_LOG: log }, ['--import', path.join(FIXTURES, 'cli', 'record-imports.mjs')]);
    expect(result.code, result.stderr).toBe(0);
    return fs.readFileSync(log, 'utf8');
  }

  it('report and status load only the bundle', async () => {
    const { repo, env } = await setup();

    for (const args of [['report', 'HEAD'], ['status'], ['status', '--json', '--limit', '2']]) {
      const loaded = await loadedModules(args, repo.dir, env);
      const stepperFiles = loaded
        .split('\n')
        .map((entry) => (entry.startsWith('file://') ? fileURLToPath(entry) : entry.replace(/^require:/, '')))
        .filter((file) => file.startsWith(`${ROOT}/`) && !file.includes('/node_modules/'))
        .map((file) => path.relative(ROOT, file));

      // No ES module but the entry, which --import makes Node load through the ES module
      // loader. Nothing from dist/ outside the bundle, and not the chunk that renders with chalk.
      expect(loaded.match(/^file:.*$/gm), args.join(' ')).toEqual([`file://${BIN}`]);
      expect([...new Set(stepperFiles)].sort(), args.join(' ')).toEqual([
        'bin/stepper.js',
        expect.stringMatching(/^dist\/quick\/commands-[\w-]+\.cjs$/),
        'dist/quick/quick.cjs',
        expect.stringMatching(/^dist\/quick\/rolldown-runtime-[\w-]+\.cjs$/),
      ]);
      for (const heavy of ['commander', 'ora', 'simple-git', 'chalk', 'ollama/dist']) {
        expect(loaded, `${heavy} loaded by ${args.join(' ')}`).not.toContain(`/node_modules/${heavy}`);
      }
      // better-sqlite3's JavaScript is in the bundle; only its addon loads from node_modules.
      expect(loaded, args.join(' ')).toContain('/node_modules/better-sqlite3/build/Release/better_sqlite3.node');
      expect(loaded, args.join(' ')).not.toContain('/node_modules/better-sqlite3/lib/');
      // Status probes Ollama over a plain socket, and report reads job ids from /dev/urandom.
      for (const builtin of ['crypto', 'http', 'https']) {
        expect(loaded.split('\n'), `node:${builtin} loaded by ${args.join(' ')}`).not.toContain(`builtin:${builtin}`);
      }
    }
  });

  it('status takes Ollama from a busy daemon', async () => {
    const { repo, env, fake } = await setup();
    const wait = await run(['report', '--wait', '-q'], repo.dir, env);
    expect(wait.code, wait.stderr).toBe(0);
    const versionRequests = () => fake.requests.filter((request) => request.path === '/api/version').length;
    const before = versionRequests();

    const loaded = await loadedModules(['status'], repo.dir, env);
    const json = await run(['status', '--json'], repo.dir, env);

    expect(loaded).toContain('/dist/quick/quick.cjs');
    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { ollama: { reachable: boolean } }).ollama.reachable).toBe(true);
    expect(versionRequests()).toBe(before);
  });

  // The shell enters the folder and removes it, so node starts in a folder that no longer exists.
  function runInDeletedFolder(args: string[], env: NodeJS.ProcessEnv) {
    const folder = path.join(makeTempDir('stepper-quick-gone-'), 'gone');
    fs.mkdirSync(folder);
    const script = 'cd "$1" && rmdir "$1" && shift && exec "$@"';
    const child = spawn('sh', ['-c', script, 'sh', folder, process.execPath, BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    return waitForExit(child);
  }

  it('status and report in a deleted folder say so in one line', async () => {
    const { env } = await setup();

    for (const args of [['status'], ['status', '--json'], ['report'], ['report', '--', 'HEAD']]) {
      const result = await runInDeletedFolder(args, env);

      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(/^stepper: not a git repository: the current folder \(it no longer exists, because it was deleted or moved; cd to a folder that exists\); [^\n]*\n$/);
      expect(result.stdout, args.join(' ')).toBe('');
    }
  });

  it('report in a repository without commits says so', async () => {
    const { env } = await setup();
    const empty = RepoBuilder.init(makeTempDir('stepper-quick-empty-'));

    const result = await run(['report'], empty.dir, env);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^stepper: unknown revision "HEAD": the repository \S+ has no commits yet; make a first commit, then name it\n$/);
  });

  it('status of a commit without a job', async () => {
    const { repo, head, env } = await setup();
    const short = head.slice(0, 12);

    const before = await run(['status', 'HEAD'], repo.dir, env);
    await run(['report', 'HEAD~0', '--quiet'], repo.dir, env);
    repo.write('src/b.ts', 'export const b = 2;\n');
    const next = repo.commit('Add b', { author: ALICE });
    const after = await run(['status', next], repo.dir, env);

    expect(before.code).toBe(1);
    expect(before.stderr).toBe(
      `stepper: no job for HEAD (commit ${short}) in ${path.join(repo.dir, '.git')}: run \`stepper report ${short}\` to queue one; finished jobs are removed after 7 days once 1,000 newer ones exist\n`,
    );
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(new RegExp(`^stepper: no job for commit ${next.slice(0, 12)} in `));
  });

  it.each([['ed550d3d'], ['ed550d3d-bbe5']])('status of short job id %s', async (target) => {
    const { repo, env } = await setup();

    const result = await run(['status', target], repo.dir, env);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^stepper: unknown revision "${target}": .*; a job id has all 36 characters that \`stepper report\` prints, such as [0-9a-f-]{36}\n$`));
  });

  it('status finds a job by the start of its id', async () => {
    const { repo, env } = await setup();
    const report = await run(['report', '--json'], repo.dir, env);
    const [entry] = JSON.parse(report.stdout) as Array<{ jobId: string }>;
    const jobId = entry?.jobId as string;

    const byPrefix = await run(['status', jobId.slice(0, 8), '--json'], repo.dir, env);
    const byLongerPrefix = await run(['status', jobId.slice(0, 13)], repo.dir, env);

    expect(byPrefix.code, byPrefix.stderr).toBe(0);
    expect((JSON.parse(byPrefix.stdout) as { id: string }).id).toBe(jobId);
    expect(byLongerPrefix.code, byLongerPrefix.stderr).toBe(0);
    expect(byLongerPrefix.stdout).toMatch(new RegExp(`^job +${jobId}$`, 'm'));
  });

  it('status of an ambiguous job id prefix', async () => {
    const { repo, env } = await setup();
    const queue = openQueue({ dataDir: env.STEPPER_HOME as string });
    for (const [suffix, sha] of [['1', 'a'], ['2', 'b']] as const) {
      queue.add({ id: `12345678-0000-4000-8000-00000000000${suffix}`, kind: 'commit-report', repository: path.join(repo.dir, '.git'), commitSha: sha.repeat(40) });
    }
    queue.close();

    const result = await run(['status', '12345678'], repo.dir, env);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'stepper: job id 12345678 is ambiguous: 12345678-0000-4000-8000-000000000001, 12345678-0000-4000-8000-000000000002 start with it; give more of the id\n',
    );
  });

  it('status of an unknown revision', async () => {
    const { repo, env } = await setup();

    const result = await run(['status', 'no-such-branch'], repo.dir, env);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^stepper: unknown revision "no-such-branch": it names no commit in /);
    expect(result.stderr).not.toContain('job id');
  });

  it('commands reject a file as data directory', async () => {
    const { repo, env } = await setup();
    const file = path.join(makeTempDir(), 'not-a-folder');
    fs.writeFileSync(file, 'user data\n');
    const fileEnv = { ...env, STEPPER_HOME: file };

    const status = await run(['status'], repo.dir, fileEnv);
    const report = await run(['report'], repo.dir, fileEnv);
    const readers = await Promise.all([['show'], ['watch'], ['status', 'HEAD']].map((args) => run(args, repo.dir, fileEnv)));

    for (const reader of readers) {
      expect(reader.code).toBe(1);
      expect(reader.stderr).toContain(`data directory ${file} is a file`);
    }
    expect(status.code).toBe(1);
    expect(status.stderr).toBe(`stepper: data directory ${file} is a file, not a folder: move the file aside or set STEPPER_HOME to a folder\n`);
    expect(report.code).toBe(1);
    expect(report.stderr).toMatch(/^stepper: cannot enqueue job [0-9a-f-]{36}: cannot create data directory .* \(EEXIST\): the path or one of its parents is a file/);
    expect(report.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(fs.readFileSync(file, 'utf8')).toBe('user data\n');
  });

  it('status --all works in a deleted folder', async () => {
    const { env } = await setup();

    const result = await runInDeletedFolder(['status', '--all', '--json'], env);

    expect(result.code, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as { counts: { waiting: number } }).counts.waiting).toBe(0);
  });

  it('status probes Ollama without a daemon', async () => {
    const { repo, env, fake } = await setup();

    const json = await run(['status', '--json'], repo.dir, env);

    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as { ollama: { reachable: boolean } }).ollama.reachable).toBe(true);
    expect(fake.requests.filter((request) => request.path === '/api/version')).toHaveLength(1);
  });

  it('a form the quick path does not take goes through commander', async () => {
    const { repo, env } = await setup();

    const loaded = await loadedModules(['report', '--help'], repo.dir, env);

    expect(loaded).toContain('/node_modules/commander/');
  });

  it('report prints the commit line and status lists its job', async () => {
    const { repo, head, env } = await setup();

    const report = await run(['report', '--model=qwen2.5-coder:7b'], repo.dir, env);
    const status = await run(['status', '--limit=1'], path.join(repo.dir, 'src'), env);

    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toMatch(new RegExp(`^waiting +${head.slice(0, 7)}  Add a  job [0-9a-f-]{36}\\n$`));
    const jobId = /job ([0-9a-f-]{36})/.exec(report.stdout)?.[1];
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`${head.slice(0, 7)}  Add a  job ${jobId}`);
    expect(status.stdout).toMatch(/^queue +\d+ waiting/m);
  });

  it('status reads the running daemon row', async () => {
    const { repo, env } = await setup();
    const started = await run(['daemon', 'start', '--json'], repo.dir, env);
    expect(started.code, started.stderr).toBe(0);

    const result = await run(['status', '--json'], repo.dir, env);

    expect(result.code, result.stderr).toBe(0);
    const { daemon } = JSON.parse(result.stdout) as { daemon: { state: string; pid: number | null; version: string | null } };
    expect(daemon.state).toBe('running');
    expect(daemon.pid).toBe((JSON.parse(started.stdout) as { pid: number }).pid);
    expect(daemon.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('status warns when the daemon uses another Ollama', async () => {
    const { repo, env, fake } = await setup();
    const started = await run(['daemon', 'start', '--json'], repo.dir, env);
    expect(started.code, started.stderr).toBe(0);
    const otherHostEnv = { ...env, OLLAMA_HOST: '127.0.0.1:9' };

    const text = await run(['status'], repo.dir, otherHostEnv);
    const json = await run(['status', '--json'], repo.dir, otherHostEnv);
    const same = await run(['status'], repo.dir, env);

    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(
      `warning   the daemon uses Ollama at ${fake.url}, not http://127.0.0.1:9; run \`stepper daemon stop\`, then \`stepper daemon start\` in this shell to switch it\n`,
    );
    expect((JSON.parse(json.stdout) as { daemon: { ollamaHost: string } }).daemon.ollamaHost).toBe(fake.url);
    expect(same.stdout).not.toContain('warning');
  });

  it('report --help prints commander help for report', async () => {
    const { repo, env } = await setup();

    const result = await run(['report', '--help'], repo.dir, env);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: stepper report [options] [revisions...]');
    expect(result.stdout).toContain('--max-count <n>');
  });

  // Bad input: a one-line error naming the value, exit 2, and nothing queued.
  it.each([
    [['report', '--priority', 'urgent'], /^stepper: .*--priority.*"urgent"/],
    [['report', '--max-count', 'ten', 'HEAD~1..'], /^stepper: invalid --max-count: expected a whole number >= 1, received "ten" \(run/],
    [['report', '--max-count', '0'], /^stepper: invalid --max-count: expected a whole number >= 1, received "0" \(run/],
    [['report', 'no-such-branch'], /^stepper: unknown revision "no-such-branch"/],
    [['report', '--model', 'bad name!'], /^stepper: .*--model.*"bad name!"/],
    [['status', '--limit', 'x'], /^stepper: invalid --limit: expected a whole number >= 1, received "x" \(run/],
    [['status', '--limit', '0'], /^stepper: invalid --limit: expected a whole number >= 1, received "0" \(run/],
    [['status', '--limit', '-1'], /^stepper: invalid --limit: expected a whole number >= 1, received "-1" \(run/],
    [['status', '--limit=99999999999999999999'], /^stepper: invalid --limit: expected a whole number below 2\^53, received "99999999999999999999" \(run/],
    [['status', 'one', 'two'], /^stepper: too many arguments for 'status'/],
    [['report', '--bogus'], /^stepper: unknown option '--bogus' \(run `stepper report --help` for usage\)$/],
  ])('%j exits 2 with one line', async (args, message) => {
    const { repo, env } = await setup();

    const result = await run(args, repo.dir, env);

    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr.trimEnd()).toMatch(message);
    expect(result.stdout).toBe('');
    expect(fs.existsSync(path.join(env.STEPPER_HOME as string, 'stepper.db'))).toBe(false);
  });

  it('report outside a repository exits 2 naming the folder', async () => {
    const { env } = await setup();
    const folder = makeTempDir('stepper-quick-none-');

    const result = await run(['report'], folder, env);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(folder);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
