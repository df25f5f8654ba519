// CLI benchmark: what stepper's commands and git hook cost beside a baseline measured in the
// same run, as ratios of medians.
// Usage: node bench/cli/run.mjs [--commits 40] [--runs 15] [--jobs 100000] [--range 1000] [--only NAME,...] [--pace-ms 0]
// Needs a current build (npm run build). Prints a markdown table and writes
// bench/results/cli-<timestamp>.json. NAME is one of commit, report, status, range.
//
// 1. commit: `git commit` in three clones of one repository of 300 files, with stepper's hook,
//    with no hook and with a hook that only exits, output captured through a pipe, the sides
//    alternating commit by commit.
// 2. report: `stepper report HEAD` with a running daemon against `node -e 0`.
// 3. status: `stepper status` with --jobs jobs in the database against `stepper --version`.
// 4. range: `stepper report A..B` of --range commits (a fresh data directory each run, so
//    every job is inserted) against `git log -p A..B`.
// Ollama is the fake server from test/fake-ollama, which responds at once, so the daemon's
// work stays small. The daemon still runs, as it would for a user.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { openQueue } from '../../dist/queue/queue.js';
import { startFakeOllama } from '../../test/fake-ollama/server.mjs';
import { isolatedGitEnvironment } from '../evidence/generate.mjs';
import { readCount } from '../lib/flags.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(benchDir, '..', '..');
const BIN = path.join(root, 'bin', 'stepper.js');
const resultsDir = path.join(benchDir, '..', 'results');

const { values: flags } = parseArgs({
  options: {
    commits: { type: 'string', default: '40' },
    runs: { type: 'string', default: '15' },
    jobs: { type: 'string', default: '100000' },
    range: { type: 'string', default: '1000' },
    only: { type: 'string', default: 'commit,report,status,range' },
    'pace-ms': { type: 'string', default: '0' },
  },
});

const commits = readCount(flags, 'commits', 3);
const runs = readCount(flags, 'runs', 3);
const jobCount = readCount(flags, 'jobs', 1);
const rangeSize = readCount(flags, 'range', 2);
const only = new Set(flags.only.split(','));
// Wait between two commit samples, so the hook's deferred node start falls between them as
// it does for a person, rather than into the next commit.
const paceMs = Number(flags['pace-ms']);
if (!Number.isSafeInteger(paceMs) || paceMs < 0) {
  console.error(`invalid --pace-ms ${JSON.stringify(flags['pace-ms'])}: expected an integer >= 0`);
  process.exit(2);
}
for (const name of only) {
  if (!['commit', 'report', 'status', 'range'].includes(name)) {
    console.error(`invalid --only ${JSON.stringify(name)}: expected commit, report, status or range`);
    process.exit(2);
  }
}

const workDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'stepper-bench-cli-')));
const dataDirs = [];
process.on('exit', () => {
  // A hook's kick starts node a second after its commit, and may start a daemon then.
  spawnSync('sleep', ['1.5']);
  for (const dataDir of dataDirs) {
    spawnSync(process.execPath, [BIN, 'daemon', 'stop'], { env: { ...baseEnv, STEPPER_HOME: dataDir }, stdio: 'ignore' });
  }
  try {
    fs.rmSync(workDir, { recursive: true, force: true, maxRetries: 5 });
  } catch (error) {
    console.error(`could not remove ${workDir}: ${error.message}`);
  }
});
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

const fake = await startFakeOllama();
const baseEnv = {
  ...isolatedGitEnvironment({ HOME: workDir, XDG_CONFIG_HOME: workDir }),
  OLLAMA_HOST: fake.url,
  NO_COLOR: '1',
  GIT_AUTHOR_NAME: 'Bench Author',
  GIT_AUTHOR_EMAIL: 'bench@example.invalid',
  GIT_COMMITTER_NAME: 'Bench Author',
  GIT_COMMITTER_EMAIL: 'bench@example.invalid',
};

function newDataDir(name) {
  const dataDir = path.join(workDir, `state-${name}-${dataDirs.length}`);
  dataDirs.push(dataDir);
  return dataDir;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function summarize(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), samples: values.length, values };
}

/** Median of the ratios of samples taken in the same round, which cancels noise that lasts longer than a round. */
function pairedRatio(side, baseline) {
  return median(side.values.map((value, index) => value / baseline.values[index]));
}

/** Runs a command with stdout and stderr as pipes read to the end, as `out=$(...)` does, and returns its wall time in ms. */
function timed(command, args, options) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const elapsed = performance.now() - start;
      if (code !== 0) {
        reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.slice(-500)}`));
        return;
      }
      resolve(elapsed);
    });
  });
}

/**
 * Measures the sides `samples` times, rotating their order each round, so that each side runs
 * first, second and last equally often. Reversing the order would keep the middle one of three
 * sides in the middle every round.
 */
async function alternate(samples, sides) {
  const names = Object.keys(sides);
  const times = Object.fromEntries(names.map((name) => [name, []]));
  for (let sample = 0; sample < samples; sample++) {
    const shift = sample % names.length;
    const order = [...names.slice(shift), ...names.slice(0, shift)];
    for (const name of order) {
      times[name].push(await sides[name](sample));
    }
  }
  return Object.fromEntries(names.map((name) => [name, summarize(times[name])]));
}

function git(cwd, args, env = baseEnv) {
  return execFileSync('git', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 512 * 1024 * 1024 }).toString();
}

/** Writes a repository of `files` source files and one commit, then returns its folder. */
function makeRepository(name, files) {
  const dir = path.join(workDir, name);
  fs.mkdirSync(dir, { recursive: true });
  git(dir, ['init', '-q', '-b', 'main']);
  for (let index = 0; index < files; index++) {
    const file = path.join(dir, 'src', `dir${index % 20}`, `module${index}.ts`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `export const value${index} = ${index};\n`.repeat(40));
  }
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', 'Initial files']);
  return dir;
}

/** Adds `count` commits with git fast-import, each changing one file, and returns the repository. */
function makeHistory(name, count) {
  const dir = path.join(workDir, name);
  fs.mkdirSync(dir, { recursive: true });
  git(dir, ['init', '-q', '-b', 'main']);
  const lines = [];
  // Each commit rewrites three files of 60 lines, so the range has a few hundred KB of
  // diff per 100 commits, like a small project's history rather than one-line changes.
  for (let index = 0; index < count; index++) {
    const message = `Change step ${index}\n\nRework the step handling in three modules.\n`;
    lines.push('commit refs/heads/main', `committer Bench Author <bench@example.invalid> ${1767225600 + index * 60} +0000`);
    lines.push(`data ${Buffer.byteLength(message)}`, message);
    for (let file = 0; file < 3; file++) {
      const content = Array.from({ length: 60 }, (_, line) => `export const step${line} = compute(${index}, ${file}, ${line});`).join('\n') + '\n';
      lines.push(`M 100644 inline src/module${(index * 3 + file) % 120}.ts`, `data ${Buffer.byteLength(content)}`, content);
    }
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, env: baseEnv, input: `${lines.join('\n')}\n` });
  git(dir, ['reset', '-q', '--hard', 'main']);
  return dir;
}

/** Returns 127.0.0.1:PORT for a port that was free a moment ago, so connections to it are refused. */
async function closedPort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

const results = {};
const stepperEnv = (dataDir) => ({ ...baseEnv, STEPPER_HOME: dataDir });

// ---------- 1. git commit with the hook ----------

if (only.has('commit')) {
  // Three clones of one repository, so the sides differ only in their post-commit hook.
  const source = makeRepository('source', 300);
  const [withHook, withoutHook, exitHook] = ['with-hook', 'without-hook', 'exit-hook'].map((name) => {
    const dir = path.join(workDir, name);
    git(workDir, ['clone', '-q', source, dir]);
    return dir;
  });
  // The floor: a post-commit hook that only exits, which costs git a shell start.
  fs.writeFileSync(path.join(exitHook, '.git', 'hooks', 'post-commit'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const dataDir = newDataDir('commit');
  await timed(process.execPath, [BIN, 'hook', 'install'], { cwd: withHook, env: stepperEnv(dataDir) });

  const commitIn = (dir) => async (sample) => {
    if (paceMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, paceMs));
    }
    fs.appendFileSync(path.join(dir, 'src', 'dir3', 'module3.ts'), `export const extra${sample} = ${sample};\n`);
    git(dir, ['add', '-A'], stepperEnv(dataDir));
    // Without -q, so git prints its summary into the pipe as it does for a person.
    return timed('git', ['commit', '-m', `Change ${sample}`], { cwd: dir, env: stepperEnv(dataDir) });
  };
  results.commit = await alternate(commits, { hook: commitIn(withHook), noHook: commitIn(withoutHook), exitHook: commitIn(exitHook) });
}

// ---------- 2. stepper report HEAD with a running daemon ----------

if (only.has('report')) {
  const repo = makeRepository('report', 20);
  const dataDir = newDataDir('report');
  // Async spawns, because the fake Ollama runs in this process and must keep responding meanwhile.
  await timed(process.execPath, [BIN, 'daemon', 'start'], { cwd: repo, env: stepperEnv(dataDir) });
  // The first report is generated; the measured ones find it stored and complete at once.
  await timed(process.execPath, [BIN, 'report', '--wait', '-q'], { cwd: repo, env: stepperEnv(dataDir) });

  results.report = await alternate(runs, {
    stepper: () => timed(process.execPath, [BIN, 'report', 'HEAD'], { cwd: repo, env: stepperEnv(dataDir) }),
    node: () => timed(process.execPath, ['-e', '0'], { cwd: repo, env: stepperEnv(dataDir) }),
  });
}

// ---------- 3. stepper status with many jobs ----------

if (only.has('status')) {
  const repo = makeRepository('status', 5);
  const dataDir = newDataDir('status');
  const head = git(repo, ['rev-parse', 'HEAD']).trim();
  const gitDir = fs.realpathSync(path.join(repo, '.git'));
  const queue = openQueue({ dataDir });
  queue.database.transaction(() => {
    for (let index = 0; index < jobCount; index++) {
      // Most jobs are other commits; a few are this repository's, so status lists them.
      const commitSha = index % 1000 === 0 ? head : index.toString(16).padStart(40, '0');
      queue.add({ kind: 'report', repository: index % 1000 === 0 ? gitDir : `/repos/r${index % 97}/.git`, commitSha, dedupKey: `k${index}`, payload: { model: 'm', subject: `Commit ${index}` } });
    }
  })();
  queue.close();

  results.status = await alternate(runs, {
    stepper: () => timed(process.execPath, [BIN, 'status'], { cwd: repo, env: stepperEnv(dataDir) }),
    version: () => timed(process.execPath, [BIN, '--version'], { cwd: repo, env: stepperEnv(dataDir) }),
  });
}

// ---------- 4. stepper report on a long range ----------

if (only.has('range')) {
  const repo = makeHistory('range', rangeSize + 1);
  const closedHost = await closedPort();
  const range = 'main~' + rangeSize + '..main';
  results.range = await alternate(Math.max(3, Math.ceil(runs / 3)), {
    // A closed port for Ollama: each run starts a daemon, which then waits for Ollama instead
    // of generating 1,000 reports while later runs are measured.
    stepper: () => timed(process.execPath, [BIN, 'report', range], { cwd: repo, env: { ...stepperEnv(newDataDir('range')), OLLAMA_HOST: closedHost } }),
    gitLog: () => timed('git', ['log', '-p', range], { cwd: repo, env: baseEnv }),
  });
}

await fake.close();

// ---------- report ----------

const rows = [];
const ratio = (a, b) => (a.median / b.median).toFixed(2);
if (results.commit) {
  const pace = paceMs > 0 ? `, ${paceMs} ms apart` : ', back to back';
  rows.push([`git commit, stepper's hook vs none (${commits} commits each${pace})`, results.commit.hook, results.commit.noHook, ratio(results.commit.hook, results.commit.noHook), '1.10']);
  rows.push([`git commit, a hook that only exits vs none (same run)`, results.commit.exitHook, results.commit.noHook, ratio(results.commit.exitHook, results.commit.noHook), '']);
}
if (results.report) {
  rows.push([`stepper report HEAD vs node -e 0 (${runs} runs)`, results.report.stepper, results.report.node, ratio(results.report.stepper, results.report.node), '1.5']);
}
if (results.status) {
  rows.push([`stepper status, ${jobCount} jobs, vs stepper --version (${runs} runs)`, results.status.stepper, results.status.version, ratio(results.status.stepper, results.status.version), '1.2']);
}
if (results.range) {
  rows.push([`stepper report of ${rangeSize} commits vs git log -p`, results.range.stepper, results.range.gitLog, ratio(results.range.stepper, results.range.gitLog), '1.5']);
}

const cell = (summary) => `${summary.median.toFixed(1)} (${summary.min.toFixed(1)}–${summary.max.toFixed(1)})`;
console.log('| measurement | stepper ms | baseline ms | ratio | goal |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const [name, stepper, baseline, value, goal] of rows) {
  console.log(`| ${name} | ${cell(stepper)} | ${cell(baseline)} | ${value}x | ${goal ? `${goal}x` : ''} |`);
}

if (results.commit) {
  const { hook, noHook, exitHook } = results.commit;
  console.log(`\nmedian of per-round ratios: stepper's hook ${pairedRatio(hook, noHook).toFixed(2)}x, a hook that only exits ${pairedRatio(exitHook, noHook).toFixed(2)}x`);
}

fs.mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, `cli-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(file, `${JSON.stringify({ machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version }, flags, results }, null, 2)}\n`);
console.log(`\nwrote ${path.relative(root, file)}`);
