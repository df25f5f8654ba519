// Queue benchmark: stepper's Queue against the same SQL run straight through better-sqlite3.
// Usage: node bench/queue/run.mjs [--runs 7] [--enqueue-jobs N] [--cycle-jobs N]
//                                 [--open-calls N] [--processes 20] [--jobs-per-process 25]
// Needs a current build (npm run build). Prints a markdown table and writes
// bench/results/queue-<timestamp>.json.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import Database from 'better-sqlite3';

import { DATABASE_FILE, openQueue } from '../../dist/index.js';
import { ENQUEUE_BUSY_TIMEOUT_MS } from '../../dist/queue/enqueue.js';
import { enqueueOnce } from './enqueue-once.mjs';
import { RawQueue, SQL, createRawSchema, newJobParameters, openRawDatabase } from './raw-queue.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = path.join(benchDir, '..', 'results');
const workerScript = path.join(benchDir, 'enqueue-worker.mjs');

const USAGE =
  'usage: node bench/queue/run.mjs [--runs N] [--enqueue-jobs N] [--cycle-jobs N] [--open-calls N] [--processes N] [--jobs-per-process N]';

const { values: flags } = parseArguments({
  options: {
    runs: { type: 'string', default: '7' },
    'enqueue-jobs': { type: 'string', default: '3000' },
    'cycle-jobs': { type: 'string', default: '1500' },
    'open-calls': { type: 'string', default: '500' },
    processes: { type: 'string', default: '20' },
    'jobs-per-process': { type: 'string', default: '25' },
  },
});

const config = {
  runs: positiveInteger('runs'),
  enqueueJobs: positiveInteger('enqueue-jobs'),
  cycleJobs: positiveInteger('cycle-jobs'),
  openCalls: positiveInteger('open-calls'),
  processes: positiveInteger('processes'),
  jobsPerProcess: positiveInteger('jobs-per-process'),
};

function parseArguments(definition) {
  try {
    return parseArgs(definition);
  } catch (error) {
    console.error(`${error.message}\n${USAGE}`);
    process.exit(2);
  }
}

function positiveInteger(name) {
  const value = Number(flags[name]);
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`invalid --${name} ${JSON.stringify(flags[name])}: expected an integer >= 1`);
    process.exit(2);
  }

  return value;
}

const SIDES = ['stepper', 'raw'];

// ---------- helpers ----------

function makeTempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'stepper-bench-queue-'));
}

function removeDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
}

function jobInputs(count, prefix) {
  return Array.from({ length: count }, (_, index) => ({
    kind: 'diary',
    repository: '/home/dev/project/.git',
    commitSha: `${prefix}${index.toString(16).padStart(40 - prefix.length, '0')}`,
    payload: { branch: 'main' },
  }));
}

/** Creates the database of one side: stepper's through openQueue, the raw one from the same migrations. */
function createDatabase(side, dataDir) {
  if (side === 'stepper') {
    openQueue({ dataDir }).close();
  } else {
    createRawSchema(path.join(dataDir, DATABASE_FILE));
  }
}

function countJobs(file, state) {
  const db = new Database(file, { readonly: true });
  try {
    const sql = state ? 'SELECT count(*) AS n FROM jobs WHERE state = ?' : 'SELECT count(*) AS n FROM jobs';
    return (state ? db.prepare(sql).get(state) : db.prepare(sql).get()).n;
  } finally {
    db.close();
  }
}

function check(condition, message) {
  if (!condition) {
    throw new Error(`benchmark check failed: ${message}`);
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Nearest-rank percentile: the smallest sample with at least p% of the samples at or below it. */
function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

function summarize(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), runs: values };
}

/** Runs `measure` for both sides `runs` times, swapping which side goes first on every run. */
async function alternate(runs, measure) {
  const results = { stepper: [], raw: [] };
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? SIDES : [...SIDES].reverse();
    for (const side of order) {
      results[side].push(await measure(side, run));
    }
  }

  return results;
}

// ---------- 1. enqueue rate in one process ----------

function measureEnqueue(side, jobCount) {
  const dataDir = makeTempDir();
  const file = path.join(dataDir, DATABASE_FILE);
  try {
    createDatabase(side, dataDir);
    const queue = side === 'stepper' ? openQueue({ dataDir }) : new RawQueue(openRawDatabase(file, 5000));
    const jobs = jobInputs(jobCount, 'e');

    const start = performance.now();
    const cpuStart = process.cpuUsage();
    for (const job of jobs) {
      queue.add(job);
    }
    const cpu = process.cpuUsage(cpuStart);
    const seconds = (performance.now() - start) / 1000;

    queue.close();
    check(countJobs(file) === jobCount, `${side} enqueue stored ${countJobs(file)} of ${jobCount} jobs`);
    return { perSecond: jobCount / seconds, cpuMicrosPerOp: (cpu.user + cpu.system) / jobCount };
  } finally {
    removeDir(dataDir);
  }
}

// ---------- 2. claim-and-complete cycle rate ----------

/** Fills the queue with waiting jobs and their 'added' events in one transaction, the same way for both sides. */
function prefill(file, jobCount) {
  const db = openRawDatabase(file, 5000);
  try {
    const insertJob = db.prepare(SQL.insertJob);
    const insertEvent = db.prepare(SQL.insertEvent);
    const fill = db.transaction(() => {
      for (const job of jobInputs(jobCount, 'c')) {
        const now = Date.now();
        const row = insertJob.get({ ...newJobParameters(job, now), now });
        insertEvent.run(row.id, 'added', now, JSON.stringify({ state: row.state, priority: row.priority }));
      }
    });
    fill.immediate();
  } finally {
    db.close();
  }
}

function measureCycle(side, jobCount) {
  const dataDir = makeTempDir();
  const file = path.join(dataDir, DATABASE_FILE);
  try {
    createDatabase(side, dataDir);
    prefill(file, jobCount);
    const queue = side === 'stepper' ? openQueue({ dataDir }) : new RawQueue(openRawDatabase(file, 5000));

    let completed = 0;
    const start = performance.now();
    const cpuStart = process.cpuUsage();
    for (let cycle = 0; cycle < jobCount; cycle++) {
      const job = queue.claim('bench-worker');
      if (job && queue.complete(job)) {
        completed += 1;
      }
    }
    const cpu = process.cpuUsage(cpuStart);
    const seconds = (performance.now() - start) / 1000;

    queue.close();
    check(completed === jobCount, `${side} completed ${completed} of ${jobCount} claimed jobs`);
    check(countJobs(file, 'completed') === jobCount, `${side} database shows ${countJobs(file, 'completed')} completed jobs`);
    return { perSecond: jobCount / seconds, cpuMicrosPerOp: (cpu.user + cpu.system) / jobCount };
  } finally {
    removeDir(dataDir);
  }
}

// ---------- 3. enqueue opening the database per call, in one process ----------

function measureOpenPerCall(side, callCount) {
  const dataDir = makeTempDir();
  const file = path.join(dataDir, DATABASE_FILE);
  try {
    createDatabase(side, dataDir);
    // A running worker keeps the database open. Without this connection every close would be
    // the last one and checkpoint the WAL, which is a different cost from the one measured here.
    // A connection keeps the WAL open only from its first read on.
    const holder = new Database(file, { readonly: true });
    holder.prepare('SELECT count(*) FROM jobs').get();
    const jobs = jobInputs(callCount, 'a');

    let stored = 0;
    const start = performance.now();
    for (const job of jobs) {
      if (enqueueOnce(side, dataDir, job) === 'stored') {
        stored += 1;
      }
    }
    const milliseconds = performance.now() - start;

    holder.close();
    check(stored === callCount, `${side} stored ${stored} of ${callCount} jobs without contention`);
    return milliseconds / callCount;
  } finally {
    removeDir(dataDir);
  }
}

/** Times opening and closing the database alone: openQueue on the stepper side, the pragmas alone on the raw side. */
function measureOpenOnly(side, callCount) {
  const dataDir = makeTempDir();
  const file = path.join(dataDir, DATABASE_FILE);
  try {
    createDatabase(side, dataDir);
    const holder = new Database(file, { readonly: true });
    holder.prepare('SELECT count(*) FROM jobs').get();

    const start = performance.now();
    for (let call = 0; call < callCount; call++) {
      const connection =
        side === 'stepper' ? openQueue({ dataDir, busyTimeoutMs: ENQUEUE_BUSY_TIMEOUT_MS }) : openRawDatabase(file, ENQUEUE_BUSY_TIMEOUT_MS);
      connection.close();
    }
    const milliseconds = performance.now() - start;

    holder.close();
    return milliseconds / callCount;
  } finally {
    removeDir(dataDir);
  }
}

// ---------- 4. enqueue latency with concurrent processes ----------

/** Upper bounds in milliseconds of the latency histogram in the JSON results; the last bucket is open. */
const HISTOGRAM_BOUNDS_MS = [1, 2, 5, 10, 50, 200, 1000];

function histogram(latencies) {
  const counts = new Array(HISTOGRAM_BOUNDS_MS.length + 1).fill(0);
  for (const latency of latencies) {
    const bucket = HISTOGRAM_BOUNDS_MS.findIndex((bound) => latency < bound);
    counts[bucket === -1 ? HISTOGRAM_BOUNDS_MS.length : bucket] += 1;
  }

  return counts;
}

function startWorker(side, dataDir, workerIndex) {
  const child = spawn(process.execPath, [workerScript, side, dataDir, String(config.jobsPerProcess), String(workerIndex)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');

  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.startsWith('ready\n')) {
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`worker ${workerIndex} exited with code ${code} before it was ready: ${stderr}`)));
  });

  const finished = new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`worker ${workerIndex} exited with code ${code}: ${stderr}`));
        return;
      }

      const line = stdout.split('\n').find((text) => text.startsWith('{'));
      if (!line) {
        reject(new Error(`worker ${workerIndex} printed no result: ${stdout} ${stderr}`));
        return;
      }

      resolve(JSON.parse(line));
    });
  });
  // A worker that dies before "ready" rejects both promises; `ready` reports it.
  finished.catch(() => {});

  return { child, ready, finished };
}

async function measureConcurrent(side) {
  const dataDir = makeTempDir();
  const file = path.join(dataDir, DATABASE_FILE);
  try {
    createDatabase(side, dataDir);
    // As in measureOpenPerCall: a worker would hold the database open while hooks enqueue.
    const holder = new Database(file, { readonly: true });
    holder.prepare('SELECT count(*) FROM jobs').get();
    const workers = Array.from({ length: config.processes }, (_, index) => startWorker(side, dataDir, index));
    await Promise.all(workers.map((worker) => worker.ready));

    const start = performance.now();
    for (const worker of workers) {
      worker.child.stdin.end('go\n');
    }
    const results = await Promise.all(workers.map((worker) => worker.finished));
    const wallSeconds = (performance.now() - start) / 1000;
    holder.close();

    const latencies = results.flatMap((result) => result.latenciesMs);
    const spooled = results.reduce((sum, result) => sum + result.spooled, 0);
    const errors = results.flatMap((result) => result.errors);
    const calls = config.processes * config.jobsPerProcess;
    check(latencies.length === calls, `${side} reported ${latencies.length} latencies for ${calls} calls`);
    check(countJobs(file) === calls - spooled - errors.length, `${side} stored ${countJobs(file)} jobs for ${calls} calls`);

    return {
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: Math.max(...latencies),
      histogram: histogram(latencies),
      jobsPerSecond: calls / wallSeconds,
      spooled,
      errors: errors.length,
      firstError: errors[0] ?? null,
    };
  } finally {
    removeDir(dataDir);
  }
}

// ---------- environment ----------

function environment() {
  const require = createRequire(import.meta.url);
  const db = new Database(':memory:');
  const sqliteVersion = db.prepare('SELECT sqlite_version() AS version').get().version;
  db.close();

  return {
    node: process.version,
    betterSqlite3: require('better-sqlite3/package.json').version,
    sqlite: sqliteVersion,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    tmpdir: os.tmpdir(),
    // Other processes on the machine slow both sides; a high figure here marks a noisy run.
    loadAverageAtStart: os.loadavg(),
  };
}

// ---------- report ----------

function format(value, digits) {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function range(summary, digits) {
  return `${format(summary.min, digits)}–${format(summary.max, digits)}`;
}

// Every ratio is stepper's time per operation over raw's, so above 1 means stepper is slower.
function row(label, stepper, raw, digits, ratio) {
  return `| ${label} | ${format(stepper.median, digits)} | ${range(stepper, digits)} | ${format(raw.median, digits)} | ${range(raw, digits)} | ${ratio.toFixed(2)}x |`;
}

function rateRow(label, stepper, raw) {
  return row(label, stepper, raw, 0, raw.median / stepper.median);
}

function timeRow(label, stepper, raw, digits) {
  return row(label, stepper, raw, digits, stepper.median / raw.median);
}

function markdownTable(summary) {
  const { enqueue, cycle, openPerCall, openOnly, concurrent } = summary;
  return [
    '| Measurement | stepper median | stepper min–max | raw median | raw min–max | stepper/raw |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    rateRow('Enqueue, 1 process (jobs/s)', enqueue.stepper.perSecond, enqueue.raw.perSecond),
    timeRow('Enqueue CPU time per job (µs)', enqueue.stepper.cpuMicrosPerOp, enqueue.raw.cpuMicrosPerOp, 0),
    rateRow('Claim + complete, 1 process (cycles/s)', cycle.stepper.perSecond, cycle.raw.perSecond),
    timeRow('Claim + complete CPU time per cycle (µs)', cycle.stepper.cpuMicrosPerOp, cycle.raw.cpuMicrosPerOp, 0),
    timeRow('Enqueue opening the database per call, 1 process (ms per call)', openPerCall.stepper, openPerCall.raw, 2),
    timeRow('Open + close alone, 1 process (ms per call)', openOnly.stepper, openOnly.raw, 2),
    timeRow(`Enqueue p50, ${config.processes} processes (ms)`, concurrent.stepper.p50Ms, concurrent.raw.p50Ms, 2),
    timeRow(`Enqueue p99, ${config.processes} processes (ms)`, concurrent.stepper.p99Ms, concurrent.raw.p99Ms, 2),
    rateRow(`Enqueue, ${config.processes} processes together (jobs/s)`, concurrent.stepper.jobsPerSecond, concurrent.raw.jobsPerSecond),
    `| Spooled calls, ${config.processes} processes (all runs) | ${concurrent.stepper.spooled} | | no spool | | |`,
    `| Failed calls, ${config.processes} processes (all runs) | ${concurrent.stepper.errors} | | ${concurrent.raw.errors} | | |`,
  ].join('\n');
}

// ---------- main ----------

async function main() {
  const startedAt = new Date();
  const env = environment();
  if (env.loadAverageAtStart[0] > 1) {
    console.error(`note: the 1-minute load average is ${env.loadAverageAtStart[0]}, so other processes may skew the numbers`);
  }
  console.error(`queue benchmark: ${config.runs} runs per side, node ${env.node}, SQLite ${env.sqlite}, ${env.cores} cores`);

  // One unmeasured pass of each side first, so JIT warm-up and cold file caches hit neither side's numbers.
  console.error('warming up');
  for (const side of SIDES) {
    measureEnqueue(side, Math.min(200, config.enqueueJobs));
    measureCycle(side, Math.min(200, config.cycleJobs));
    measureOpenPerCall(side, Math.min(100, config.openCalls));
    measureOpenOnly(side, Math.min(100, config.openCalls));
    await measureConcurrent(side);
  }

  console.error(`enqueue: ${config.enqueueJobs} jobs per run`);
  const enqueueRuns = await alternate(config.runs, (side) => measureEnqueue(side, config.enqueueJobs));

  console.error(`claim + complete: ${config.cycleJobs} cycles per run`);
  const cycleRuns = await alternate(config.runs, (side) => measureCycle(side, config.cycleJobs));

  console.error(`enqueue opening the database per call, and open + close alone: ${config.openCalls} calls per run`);
  const openRuns = await alternate(config.runs, (side) => measureOpenPerCall(side, config.openCalls));
  const openOnlyRuns = await alternate(config.runs, (side) => measureOpenOnly(side, config.openCalls));

  console.error(`concurrent enqueue: ${config.processes} processes x ${config.jobsPerProcess} jobs per run`);
  const concurrentRuns = await alternate(config.runs, (side) => measureConcurrent(side));

  const summarizeConcurrent = (runs) => ({
    p50Ms: summarize(runs.map((run) => run.p50Ms)),
    p99Ms: summarize(runs.map((run) => run.p99Ms)),
    maxMs: summarize(runs.map((run) => run.maxMs)),
    jobsPerSecond: summarize(runs.map((run) => run.jobsPerSecond)),
    spooled: runs.reduce((sum, run) => sum + run.spooled, 0),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
    histogramBoundsMs: HISTOGRAM_BOUNDS_MS,
    histogram: runs.reduce((sums, run) => sums.map((sum, bucket) => sum + run.histogram[bucket]), new Array(HISTOGRAM_BOUNDS_MS.length + 1).fill(0)),
    firstError: runs.find((run) => run.firstError)?.firstError ?? null,
  });

  const summarizeRates = (runs) => ({
    perSecond: summarize(runs.map((run) => run.perSecond)),
    cpuMicrosPerOp: summarize(runs.map((run) => run.cpuMicrosPerOp)),
  });

  const summary = {
    enqueue: { stepper: summarizeRates(enqueueRuns.stepper), raw: summarizeRates(enqueueRuns.raw) },
    cycle: { stepper: summarizeRates(cycleRuns.stepper), raw: summarizeRates(cycleRuns.raw) },
    openPerCall: { stepper: summarize(openRuns.stepper), raw: summarize(openRuns.raw) },
    openOnly: { stepper: summarize(openOnlyRuns.stepper), raw: summarize(openOnlyRuns.raw) },
    concurrent: { stepper: summarizeConcurrent(concurrentRuns.stepper), raw: summarizeConcurrent(concurrentRuns.raw) },
  };

  const durationSeconds = (Date.now() - startedAt.getTime()) / 1000;
  env.loadAverageAtEnd = os.loadavg();
  const table = markdownTable(summary);
  console.log(table);
  console.log(`\n${config.runs} runs per side, ${durationSeconds.toFixed(0)} s in total.`);

  fs.mkdirSync(resultsDir, { recursive: true });
  const resultFile = path.join(resultsDir, `queue-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(
    resultFile,
    `${JSON.stringify({ startedAt: startedAt.toISOString(), durationSeconds, environment: env, config, summary, table }, null, 2)}\n`,
  );
  console.log(`Results written to ${path.relative(process.cwd(), resultFile)}`);
}

await main();
