// Diary benchmark: `stepper diary` over a repository whose commits all have stored reports,
// beside `git log --numstat` over the same repository, measured in the same run.
// Usage: node bench/diary/run.mjs [--commits 5000] [--runs 7]
// Needs a current build (npm run build) and GNU time at /usr/bin/time, which reports each
// process's peak resident memory. Prints a markdown table and writes bench/results/diary-<timestamp>.json.
//
// The repository is written with git fast-import: each commit has a conventional subject and
// rewrites two files of 40 lines, 3 hours after the previous one. Each commit's report is stored
// through the queue API, as the daemon stores it. Every command runs with its standard output
// as a pipe read to the end, and the sides alternate sample by sample.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { openQueue } from '../../dist/queue/queue.js';
import { reportJob } from '../../dist/report/job.js';
import { isolatedGitEnvironment } from '../evidence/generate.mjs';
import { readCount } from '../lib/flags.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(benchDir, '..', '..');
const BIN = path.join(root, 'bin', 'stepper.js');
const TIME = '/usr/bin/time';
const resultsDir = path.join(benchDir, '..', 'results');

const { values: flags } = parseArgs({
  options: {
    commits: { type: 'string', default: '5000' },
    runs: { type: 'string', default: '7' },
  },
});
const commitCount = readCount(flags, 'commits', 1);
const runs = readCount(flags, 'runs', 3);

if (!fs.existsSync(TIME)) {
  console.error(`${TIME} not found: install GNU time (the Debian package "time") to measure peak memory`);
  process.exit(1);
}

const workDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'stepper-bench-diary-')));
process.on('exit', () => fs.rmSync(workDir, { recursive: true, force: true, maxRetries: 5 }));
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

const dataDir = path.join(workDir, 'state');
const env = { ...isolatedGitEnvironment({ HOME: workDir, XDG_CONFIG_HOME: workDir }), STEPPER_HOME: dataDir, NO_COLOR: '1', TZ: 'Europe/Berlin' };
const TYPES = ['feat', 'fix', 'docs', 'chore', 'refactor', 'test'];
const MODEL = 'qwen2.5-coder:7b';

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function summarize(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), samples: values };
}

/**
 * Runs a command under GNU time with stdout and stderr as pipes read to the end, and returns
 * its wall time in ms and its peak resident memory in MiB. The wall time includes starting GNU time, on both sides.
 */
function measured(command, args, cwd) {
  const memoryFile = path.join(workDir, `rss-${process.hrtime.bigint()}`);
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(TIME, ['-f', '%M', '-o', memoryFile, command, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let bytes = 0;
    child.stdout.on('data', (chunk) => {
      bytes += chunk.length;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - start;
      if (code !== 0) {
        reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.slice(-500)}`));
        return;
      }
      const kib = Number(fs.readFileSync(memoryFile, 'utf8').trim().split('\n').pop());
      fs.rmSync(memoryFile);
      resolve({ ms, mib: kib / 1024, bytes });
    });
  });
}

/** Measures every side `runs` times, reversing the order on every other sample. */
async function alternate(sides) {
  const names = Object.keys(sides);
  const samples = Object.fromEntries(names.map((name) => [name, []]));
  for (let sample = 0; sample < runs; sample++) {
    for (const name of sample % 2 === 0 ? names : [...names].reverse()) {
      samples[name].push(await sides[name]());
    }
  }
  return Object.fromEntries(
    names.map((name) => [
      name,
      { ms: summarize(samples[name].map((run) => run.ms)), mib: summarize(samples[name].map((run) => run.mib)), bytes: samples[name][0].bytes },
    ]),
  );
}

// ---------- the repository and its reports ----------

const repo = path.join(workDir, 'repo');
fs.mkdirSync(repo);
execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: repo, env });
const stream = [];
for (let index = 0; index < commitCount; index++) {
  const message = `${TYPES[index % TYPES.length]}: change step ${index}\n`;
  const signature = `Bench Author <bench@example.invalid> ${1767225600 + index * 3 * 3600} +0100`;
  stream.push('commit refs/heads/main', `author ${signature}`, `committer ${signature}`, `data ${Buffer.byteLength(message)}`, message);
  for (let file = 0; file < 2; file++) {
    const content = Array.from({ length: 40 }, (_, line) => `export const step${line} = compute(${index}, ${file}, ${line});`).join('\n') + '\n';
    stream.push(`M 100644 inline src/module${(index * 2 + file) % 80}.ts`, `data ${Buffer.byteLength(content)}`, content);
  }
}
execFileSync('git', ['fast-import', '--quiet'], { cwd: repo, env, input: `${stream.join('\n')}\n`, maxBuffer: 64 * 1024 * 1024 });
execFileSync('git', ['reset', '-q', '--hard', 'main'], { cwd: repo, env });
const gitDir = fs.realpathSync(path.join(repo, '.git'));
const shas = execFileSync('git', ['rev-list', '--reverse', 'main'], { cwd: repo, env, maxBuffer: 64 * 1024 * 1024 }).toString().trim().split('\n');

const queue = openQueue({ dataDir });
queue.batch(() => {
  for (const [index, sha] of shas.entries()) {
    queue.add(reportJob({ repository: gitDir, commitSha: sha, model: MODEL }));
    const claimed = queue.claim('bench');
    const report = {
      title: `Rework step ${index} in two modules`,
      summary: `The commit recomputes step ${index} in two modules, so that later steps read the new values. No tests changed.`,
      changes: [`Rework module ${index % 80}`],
      rationale: 'The message gives none.',
      impact_and_tests: 'No tests changed.',
      next_steps: [],
      tags: ['steps'],
    };
    queue.complete(claimed, { report: { content: { report, facts: { subject: `change step ${index}`, files: [], totals: { files: 2, additions: 80, deletions: 80 }, conventional: null } }, provenance: { model: MODEL } } });
  }
});
queue.close();

// ---------- measurements ----------

const stepperArgs = (format) => [BIN, 'diary', '--by', 'week', '--format', format];
const results = await alternate({
  text: () => measured(process.execPath, stepperArgs('text'), repo),
  json: () => measured(process.execPath, stepperArgs('json'), repo),
  html: () => measured(process.execPath, stepperArgs('html'), repo),
  gitLog: () => measured('git', ['log', '--numstat'], repo),
});

const check = JSON.parse(execFileSync(process.execPath, stepperArgs('json'), { cwd: repo, env, maxBuffer: 512 * 1024 * 1024 }).toString());
if (check.totals.commits !== commitCount || check.totals.reported !== commitCount) {
  console.error(`the diary lists ${check.totals.commits} commits and ${check.totals.reported} reports, expected ${commitCount} of each`);
  process.exit(1);
}

// ---------- report ----------

const cell = (summary, digits) => `${summary.median.toFixed(digits)} (${summary.min.toFixed(digits)}–${summary.max.toFixed(digits)})`;
const baseline = results.gitLog;
console.log(`| Command (${commitCount} reported commits, ${runs} runs) | time ms | vs git log | peak RSS MiB | vs git log | output KiB |`);
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const [name, label] of [['text', 'stepper diary --by week'], ['json', 'stepper diary --by week --format json'], ['html', 'stepper diary --by week --format html'], ['gitLog', 'git log --numstat']]) {
  const side = results[name];
  console.log(
    `| ${label} | ${cell(side.ms, 1)} | ${(side.ms.median / baseline.ms.median).toFixed(2)}x | ${cell(side.mib, 1)} | ${(side.mib.median / baseline.mib.median).toFixed(2)}x | ${(side.bytes / 1024).toFixed(0)} |`,
  );
}

fs.mkdirSync(resultsDir, { recursive: true });
const file = path.join(resultsDir, `diary-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, git: execFileSync('git', ['--version']).toString().trim(), loadavg: os.loadavg() };
fs.writeFileSync(file, `${JSON.stringify({ machine, flags, results }, null, 2)}\n`);
console.log(`\nwrote ${path.relative(root, file)}`);
