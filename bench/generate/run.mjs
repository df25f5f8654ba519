// Generate benchmark: stepper's time per report against a fake Ollama server that responds at
// once, beside a minimal ollama-js script that sends the same chat requests.
// Usage: node bench/generate/run.mjs [--runs 5] [--reports 30] [--warmup 3]
// Needs a current build (npm run build). Prints a markdown table and writes
// bench/results/generate-<timestamp>.json.
//
// Each side is one long-lived child process per commit. A first generateReport call in this
// process captures the exact /api/chat bodies stepper sends, from the fake's request log, and
// the minimal side replays those bodies in order: one, or one per part of a commit too large
// for one prompt and then the final one. Runs alternate which side goes first.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { generateReport } from '../../dist/report/generate.js';
import { openRepository } from '../../dist/git/repository.js';
import { createOllamaClient, resolveOllamaHost } from '../../dist/ollama/index.js';
import { startFakeOllama } from '../../test/fake-ollama/server.mjs';
import { isolatedGitEnvironment } from '../evidence/generate.mjs';
import { buildRepository, COMMITS } from './repos.mjs';
import { readCount } from '../lib/flags.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = path.join(benchDir, '..', 'results');
const sideScript = path.join(benchDir, 'side.mjs');
const MODEL = 'qwen2.5-coder:7b';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    reports: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3' },
  },
});

const runs = readCount(flags, 'runs', 1);
const reports = readCount(flags, 'reports', 1);
const warmup = readCount(flags, 'warmup', 0);

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepper-bench-generate-'));
process.on('exit', () => fs.rmSync(workDir, { recursive: true, force: true }));
// Exiting on a signal, rather than dying of it, runs the 'exit' handler above.
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
// An empty HOME keeps the user's ~/.gitconfig away from stepper's git processes.
const childEnv = isolatedGitEnvironment({ HOME: workDir, XDG_CONFIG_HOME: workDir });
Object.assign(process.env, { HOME: workDir, XDG_CONFIG_HOME: workDir });

// ---------- side processes ----------

/** Starts a side process and returns `run(count)`, which resolves with its per-report timings, and `stop()`. */
async function startSide(args) {
  const child = spawn(process.execPath, [sideScript, ...args], { env: childEnv, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise((resolve) => child.once('exit', resolve));

  async function nextLine() {
    const { value, done } = await lines.next();
    if (done) {
      throw new Error(`side process ${args[0]} exited with code ${await exited}`);
    }
    return JSON.parse(value);
  }

  await nextLine();
  return {
    async run(count) {
      child.stdin.write(`${JSON.stringify({ count })}\n`);
      return nextLine();
    },
    async stop() {
      child.stdin.end();
      await exited;
    },
  };
}

// ---------- statistics ----------

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function summarize(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

function formatSize(bytes) {
  return bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} KB` : `${(bytes / 1e6).toFixed(2)} MB`;
}

function requestLabel(result) {
  const size = formatSize(result.chatBodyBytes);
  return result.modelCalls === 1 ? `${size} request` : `${result.modelCalls} chat requests, ${size} in all`;
}

function formatSpread(stats, digits) {
  return `${stats.median.toFixed(digits)} (${stats.min.toFixed(digits)}–${stats.max.toFixed(digits)})`;
}

// ---------- main ----------

const log = (line) => console.error(line);
const fake = await startFakeOllama({ timing: { loadDelayMs: 0, promptDelayMsPerToken: 0, tokenDelayMs: 0 } });
const client = createOllamaClient({ host: resolveOllamaHost({ OLLAMA_HOST: fake.url }) });
const loadBefore = os.loadavg();
const started = performance.now();
const results = [];

try {
  for (const spec of COMMITS) {
    const commit = await buildRepository(workDir, spec);
    log(`${commit.name}: ${commit.changedFiles} files changed, ${formatSize(commit.diffBytes)} of diff; ${runs} runs of ${reports} reports per side`);

    fake.clearRequests();
    const captured = await generateReport(await openRepository(commit.dir), commit.sha, { client, model: MODEL });
    const chats = fake.requests.filter((request) => request.path === '/api/chat');
    if (chats.length === 0) {
      throw new Error('generateReport sent no /api/chat request to the fake');
    }
    const requestFile = path.join(workDir, `${commit.name}-chat.json`);
    fs.writeFileSync(requestFile, `[${chats.map((chat) => chat.rawBody).join(',')}]`);
    const requestPaths = fake.requests.map((request) => `${request.method} ${request.path}`);
    const modelCalls = captured.provenance.modelCalls;

    const stepper = await startSide(['stepper', fake.url, commit.dir, commit.sha, MODEL, String(modelCalls)]);
    const minimal = await startSide(['minimal', fake.url, requestFile]);
    const sides = [
      { name: 'stepper', process: stepper, samples: [] },
      { name: 'minimal', process: minimal, samples: [] },
    ];

    try {
      for (const side of sides) {
        await side.process.run(warmup);
      }
      for (let run = 0; run < runs; run++) {
        for (let step = 0; step < sides.length; step++) {
          const side = sides[(run + step) % sides.length];
          fake.clearRequests();
          side.samples.push(await side.process.run(reports));
        }
      }
    } finally {
      await stepper.stop();
      await minimal.stop();
    }

    // One figure per run: the median over that run's reports.
    const perRun = (side, key) => side.samples.map((sample) => median(sample[key]));
    const stepperMs = perRun(sides[0], 'reportMs');
    const evidenceMs = perRun(sides[0], 'evidenceMs');
    const readMs = perRun(sides[0], 'readMs');
    const describeMs = perRun(sides[0], 'describeMs');
    const minimalMs = perRun(sides[1], 'reportMs');
    const gitProcesses = perRun(sides[0], 'gitProcesses');
    const patchMs = perRun(sides[0], 'patchMs');
    const withoutEvidenceMs = stepperMs.map((ms, index) => ms - evidenceMs[index]);
    const withoutReadMs = stepperMs.map((ms, index) => ms - readMs[index]);
    results.push({
      commit,
      chatBodyBytes: chats.reduce((sum, chat) => sum + Buffer.byteLength(chat.rawBody), 0),
      modelCalls,
      numCtx: captured.provenance.numCtx,
      requestPaths,
      stepperMs: summarize(stepperMs),
      evidenceMs: summarize(evidenceMs),
      withoutEvidenceMs: summarize(withoutEvidenceMs),
      readMs: summarize(readMs),
      withoutReadMs: summarize(withoutReadMs),
      describeMs: summarize(describeMs),
      minimalMs: summarize(minimalMs),
      gitProcesses: summarize(gitProcesses),
      patchMs: summarize(patchMs),
      samples: { stepper: sides[0].samples, minimal: sides[1].samples },
    });
  }
} finally {
  await fake.close();
}
const totalSeconds = (performance.now() - started) / 1000;

// ---------- report ----------

const lines = [
  `Runs per side: ${runs}, each of ${reports} reports after ${warmup} warm-up reports. Cells show the median over runs of each run's median ms per report, and in brackets the min–max over runs.`,
  '',
  '| Commit | stepper ms | git processes per report | buildEvidence alone ms | stepper minus buildEvidence ms | describeModel alone ms | minimal script ms | stepper/minimal | (stepper − buildEvidence)/minimal |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const result of results) {
  const { commit } = result;
  lines.push(
    `| ${commit.name}: ${commit.changedFiles} files, ${formatSize(commit.diffBytes)} diff, ${requestLabel(result)} | ` +
      `${formatSpread(result.stepperMs, 2)} | ${result.gitProcesses.median} | ${formatSpread(result.evidenceMs, 2)} | ${formatSpread(result.withoutEvidenceMs, 2)} | ` +
      `${formatSpread(result.describeMs, 2)} | ${formatSpread(result.minimalMs, 2)} | ` +
      `${(result.stepperMs.median / result.minimalMs.median).toFixed(2)}x | ${(result.withoutEvidenceMs.median / result.minimalMs.median).toFixed(2)}x |`,
  );
}
lines.push(
  '',
  'The read is readEvidenceSource alone for the budget generateReport reads the commit for: its one pass over git, which is all of its git work.',
  '',
  '| Commit | read alone ms | stepper minus read ms | (stepper − read)/minimal |',
  '| --- | ---: | ---: | ---: |',
);
for (const result of results) {
  lines.push(
    `| ${result.commit.name} | ${formatSpread(result.readMs, 2)} | ${formatSpread(result.withoutReadMs, 2)} | ` +
      `${(result.withoutReadMs.median / result.minimalMs.median).toFixed(2)}x |`,
  );
}
lines.push(
  '',
  'The floor is `git diff-tree -p` of the commit alone, from spawn to exit with its output read: the least git work that gives any tool the patch.',
  '',
  '| Commit | git diff-tree -p alone ms | 1.2 × minimal script ms | git diff-tree -p/minimal |',
  '| --- | ---: | ---: | ---: |',
);
for (const result of results) {
  lines.push(
    `| ${result.commit.name} | ${formatSpread(result.patchMs, 2)} | ${(1.2 * result.minimalMs.median).toFixed(2)} | ` +
      `${(result.patchMs.median / result.minimalMs.median).toFixed(2)}x |`,
  );
}
for (const result of results) {
  lines.push('', `Requests of one generateReport on ${result.commit.name}: ${result.requestPaths.join(', ')}`);
}
lines.push('', `Total ${totalSeconds.toFixed(0)} s; load average ${loadBefore.map((value) => value.toFixed(2)).join(' ')} before, ${os.loadavg().map((value) => value.toFixed(2)).join(' ')} after.`);
console.log(lines.join('\n'));

fs.mkdirSync(resultsDir, { recursive: true });
const resultFile = path.join(resultsDir, `generate-${new Date().toISOString().replaceAll(':', '-').replace('.', '-')}.json`);
fs.writeFileSync(
  resultFile,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, runs, reports, warmup, loadBefore, loadAfter: os.loadavg(), totalSeconds, results }, null, 2)}\n`,
);
log(`results written to ${path.relative(process.cwd(), resultFile)}`);
