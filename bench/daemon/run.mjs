// Daemon benchmark: report jobs through the real daemon process against a fake Ollama server,
// beside a minimal ollama-js loop that sends the same chat requests one after another.
// Usage: node bench/daemon/run.mjs [--runs 3] [--jobs 1000] [--memory-jobs 10000]
//                                  [--idle-jobs 30] [--token-ms 5,20] [--skip-heap]
// Needs a current build (npm run build). Prints a markdown table and writes
// bench/results/daemon-<timestamp>.json.
//
// The fake Ollama server runs in this process. Each daemon run gets a new data directory, so
// no report is reused from an earlier run, and the jobs are enqueued before the daemon starts,
// outside the timing (bench/queue measures enqueueing). Each daemon run has two timings, both
// ending at the finished_at of the last job the daemon completed. One starts at
// ensureDaemon(), so it includes the daemon's start (node, imports, lock, status row, stall
// recovery). The other starts when its first chat request arrives at the fake. The direct
// loop's timing runs from its first request to its last `done` and leaves out node's start
// and its imports. So the "from the first chat request" rows compare like with like, and the
// rows from ensureDaemon() show what a user waits for when a daemon has to start first.
//
// - End to end: `--jobs` report jobs for the commits of a generated repository, processed by
//   dist/daemon/entry.js with the report processor (git, evidence, generateReport). The
//   baseline replays the chat bodies the daemon sent in the first run, in order.
// - Fast: bench/daemon/fast-daemon.mjs, the real runDaemon with a processor that sends one
//   prepared chat request (the first captured body) and reads no git. The baseline sends that
//   body `--jobs` times with ollama-js. A third side sends it with stepper's own client
//   (streamChat), which splits the daemon's cost from the chat client's.
// - Idle fraction: `--idle-jobs` report jobs end to end, with the fake waiting `--token-ms`
//   before each generated token, once for each value of that comma-separated list. From the fake's request log, the share of the time from the
//   first chat request's start to the last one's end in which no chat request was in flight.
// - Memory: the fast daemon with `--memory-jobs` jobs; its VmRSS is read from /proc after 100
//   jobs and after every 1,000. A second such run, skipped with `--skip-heap`, separates a
//   leak from heap growth: there the daemon runs a full garbage collection every 1,000 jobs and
//   records process.memoryUsage(). The collections change its RSS, so its RSS is not reported.
// The order of the sides rotates every run.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { ensureDaemon, openQueue, openRepository, reportJob, stopDaemon } from '../../dist/index.js';
import { startFakeOllama } from '../../test/fake-ollama/server.mjs';
import { isolatedGitEnvironment } from '../evidence/generate.mjs';
import { buildHistory } from './repo.mjs';
import { readCount } from '../lib/flags.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = path.join(benchDir, '..', 'results');
const directScript = path.join(benchDir, 'direct.mjs');
const fastDaemonScript = path.join(benchDir, 'fast-daemon.mjs');
const MODEL = 'qwen2.5-coder:7b';
// A daemon run that has not finished after this long is reported as failed.
const RUN_TIMEOUT_MS = 15 * 60_000;
const POLL_MS = 20;

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    jobs: { type: 'string', default: '1000' },
    'memory-jobs': { type: 'string', default: '10000' },
    'idle-jobs': { type: 'string', default: '30' },
    'token-ms': { type: 'string', default: '5,20' },
    'skip-heap': { type: 'boolean', default: false },
  },
});

const runs = readCount(flags, 'runs', 1);
const jobCount = readCount(flags, 'jobs', 1);
const memoryJobs = readCount(flags, 'memory-jobs', 1);
const idleJobs = readCount(flags, 'idle-jobs', 2);
const tokenRates = flags['token-ms'].split(',').map((value) => readCount({ 'token-ms': value.trim() }, 'token-ms', 1));
if (idleJobs > jobCount) {
  console.error(`invalid --idle-jobs ${idleJobs}: at most --jobs (${jobCount}), since it uses the same commits`);
  process.exit(2);
}

const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepper-bench-daemon-'));
const daemonDirs = new Set();
process.on('exit', () => {
  // A daemon left by a failed run would keep its data directory open; SIGKILL it before removal.
  for (const dataDir of daemonDirs) {
    killDaemon(dataDir);
  }
  fs.rmSync(workDir, { recursive: true, force: true });
});
// Exiting on a signal, rather than dying of it, runs the 'exit' handler above.
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
// An empty HOME keeps the user's ~/.gitconfig away from stepper's git processes.
Object.assign(process.env, { HOME: workDir, XDG_CONFIG_HOME: workDir });
const childEnv = isolatedGitEnvironment({ HOME: workDir, XDG_CONFIG_HOME: workDir });

const log = (line) => console.error(line);

// ---------- processes ----------

/** Reads VmRSS and its parts (RssAnon, RssFile, RssShmem) of a process, in MiB. */
function readRss(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
    if (!match) {
      throw new Error(`/proc/${pid}/status has no ${name} line`);
    }
    return Number(match[1]) / 1024;
  };
  return { rssMiB: field('VmRSS'), anonMiB: field('RssAnon'), fileMiB: field('RssFile'), shmemMiB: field('RssShmem') };
}

function killDaemon(dataDir) {
  try {
    const row = openQueue({ dataDir }).database.prepare('SELECT pid FROM daemon WHERE id = 1').get();
    if (row?.pid) {
      process.kill(row.pid, 'SIGKILL');
    }
  } catch {
    // Already gone, or never started.
  }
}

/** Runs direct.mjs with `client` (ollama or stepper) and resolves with its `{ ms, requests }`. */
function runDirect(fakeUrl, requestFile, count, client = 'ollama') {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [directScript, fakeUrl, requestFile, String(count), client], { env: childEnv, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text) => {
      output += text;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`direct.mjs exited with code ${code}`));
        return;
      }
      resolve(JSON.parse(output));
    });
  });
}

/**
 * Enqueues `jobs` in a new data directory, starts a daemon with ensureDaemon, waits until
 * every job completed and stops the daemon. Returns the wall time from the start to the last
 * completion, the time to the first chat request, the time from its arrival at the fake to the
 * last completion, and the daemon's RSS at `checkpoints`
 * (numbers of completed jobs).
 */
async function runThroughDaemon(fake, { jobs, entry, env = {}, checkpoints = [], clearLog = false }) {
  const dataDir = fs.mkdtempSync(path.join(workDir, 'data-'));
  const queue = openQueue({ dataDir });
  daemonDirs.add(dataDir);
  try {
    for (const job of jobs) {
      queue.add(job);
    }

    fake.clearRequests();
    const daemonEnv = { ...childEnv, OLLAMA_HOST: fake.url, ...env };
    const startedAt = Date.now();
    const { pid } = ensureDaemon({ dataDir, env: daemonEnv, ...(entry ? { entry } : {}) });
    let firstChatAt;
    const rss = [];
    const pending = [...checkpoints].sort((a, b) => a - b);
    const countDone = queue.database.prepare("SELECT COUNT(*) AS done, SUM(state = 'failed') AS failed FROM jobs WHERE state IN ('completed', 'failed')");

    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      firstChatAt ??= fake.requests.find((request) => request.path === '/api/chat')?.receivedAt;
      const { done, failed } = countDone.get();
      while (pending.length > 0 && done >= pending[0]) {
        rss.push({ completed: done, checkpoint: pending.shift(), ...readRss(pid) });
      }
      if (failed > 0) {
        const job = queue.database.prepare("SELECT id, last_error FROM jobs WHERE state = 'failed' LIMIT 1").get();
        throw new Error(`job ${job.id} failed in the daemon: ${job.last_error}`);
      }
      if (done >= jobs.length) {
        break;
      }
      if (Date.now() - startedAt > RUN_TIMEOUT_MS) {
        throw new Error(`the daemon completed ${done} of ${jobs.length} jobs in ${RUN_TIMEOUT_MS / 1000} s; see ${dataDir}/daemon.log`);
      }
      if (clearLog && fake.requests.length > 2000) {
        fake.clearRequests();
      }
    }

    const { last } = queue.database.prepare('SELECT MAX(finished_at) AS last FROM jobs').get();
    const rssAtEnd = readRss(pid).rssMiB;
    const stopped = await stopDaemon({ dataDir, timeoutMs: 60_000 });
    if (!stopped.stopped) {
      throw new Error(`the daemon (pid ${pid}) did not stop within 60 s after SIGTERM`);
    }
    daemonDirs.delete(dataDir);

    const daemonLog = fs.readFileSync(path.join(dataDir, 'daemon.log'), 'utf8');
    const errorLines = daemonLog.split('\n').filter((line) => / (error|warn) \[/.test(line));
    const crashLog = fs.readFileSync(path.join(dataDir, 'daemon.crash.log'), 'utf8');
    if (crashLog.trim() !== '') {
      log(`daemon.crash.log of pid ${pid} is not empty:\n${crashLog}`);
    }

    return {
      wallMs: last - startedAt,
      toFirstChatMs: firstChatAt === undefined ? null : firstChatAt - startedAt,
      fromFirstChatMs: firstChatAt === undefined ? null : last - firstChatAt,
      rss,
      rssAtEndMiB: rssAtEnd,
      logErrors: errorLines.slice(0, 5),
      logErrorCount: errorLines.length,
    };
  } finally {
    queue.close();
    if (!daemonDirs.has(dataDir)) {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
}

// ---------- statistics ----------

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function summarize(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), values };
}

/**
 * Returns the share of the time from the first chat request's start to the last one's end
 * in which no chat request was in flight. It also returns the request count, the mean
 * duration, and each request's start and end in milliseconds from the first start.
 * NOTE: the fake logs Date.now(), so each start and end is rounded down to a millisecond.
 */
function idleFraction(requests) {
  const chats = requests.filter((request) => request.path === '/api/chat' && request.finishedAt !== undefined).sort((a, b) => a.receivedAt - b.receivedAt);
  let busyMs = 0;
  let coveredUntil = -Infinity;
  for (const chat of chats) {
    const start = Math.max(chat.receivedAt, coveredUntil);
    if (chat.finishedAt > start) {
      busyMs += chat.finishedAt - start;
      coveredUntil = chat.finishedAt;
    }
  }
  const spanMs = Math.max(...chats.map((chat) => chat.finishedAt)) - chats[0].receivedAt;
  const meanRequestMs = chats.reduce((sum, chat) => sum + chat.finishedAt - chat.receivedAt, 0) / chats.length;
  const intervals = chats.map((chat) => [chat.receivedAt - chats[0].receivedAt, chat.finishedAt - chats[0].receivedAt]);
  return { fraction: (spanMs - busyMs) / spanMs, spanMs, busyMs, requests: chats.length, meanRequestMs, meanGapMs: (spanMs - busyMs) / (chats.length - 1), intervals };
}

// ---------- jobs ----------

function reportJobs(repository, shas) {
  return shas.map((sha, index) => reportJob({ repository, commitSha: sha, model: MODEL, subject: `step ${index + 1}` }));
}

/** Report jobs for commit ids that exist nowhere: the fast daemon's processor reads no git. */
function syntheticJobs(repository, count) {
  return Array.from({ length: count }, (_, index) =>
    reportJob({ repository, commitSha: createHash('sha1').update(`bench job ${index}`).digest('hex'), model: MODEL }),
  );
}

// ---------- main ----------

const fake = await startFakeOllama({ timing: { loadDelayMs: 0, promptDelayMsPerToken: 0, tokenDelayMs: 0 } });
const loadBefore = os.loadavg();
const started = performance.now();
const results = { endToEnd: [], fast: [] };

try {
  const history = await buildHistory(workDir, jobCount);
  const repository = (await openRepository(history.dir)).gitDir;
  const endToEndJobs = reportJobs(repository, history.shas);
  log(`repository: ${history.shas.length} commits; ${runs} runs per side of ${jobCount} jobs`);

  // The first daemon run also records the chat bodies the report processor sends, which the
  // baselines replay, so it runs before any other side.
  const chatFile = path.join(workDir, 'chats.json');
  const fixedFile = path.join(workDir, 'fixed-chat.json');
  let setup;
  const captureChats = () => {
    const chats = fake.requests.filter((request) => request.path === '/api/chat').sort((a, b) => a.id - b.id);
    if (chats.length !== jobCount) {
      throw new Error(`the first daemon run sent ${chats.length} chat requests for ${jobCount} jobs; the baseline needs one per job`);
    }
    fs.writeFileSync(chatFile, `[${chats.map((chat) => chat.rawBody).join(',')}]`);
    fs.writeFileSync(fixedFile, `[${chats[0].rawBody}]`);
    const chatBytes = chats.map((chat) => Buffer.byteLength(chat.rawBody));
    const otherRequests = fake.requests.filter((request) => request.path !== '/api/chat').map((request) => `${request.method} ${request.path}`);
    setup = { chatBodyBytes: summarize(chatBytes), otherRequests };
    log(`chat bodies ${Math.min(...chatBytes)}–${Math.max(...chatBytes)} bytes; other requests: ${otherRequests.join(', ')}`);
  };

  const fastEnv = { STEPPER_BENCH_CHAT_REQUEST: fixedFile };
  const fastJobs = syntheticJobs(repository, jobCount);
  for (let run = 0; run < runs; run++) {
    const sides = [
      ['endToEnd', 'daemon', () => runThroughDaemon(fake, { jobs: endToEndJobs })],
      ['endToEnd', 'direct', () => runDirect(fake.url, chatFile, jobCount)],
      ['fast', 'daemon', () => runThroughDaemon(fake, { jobs: fastJobs, entry: fastDaemonScript, env: fastEnv })],
      ['fast', 'direct', () => runDirect(fake.url, fixedFile, jobCount)],
      ['fast', 'stepperClient', () => runDirect(fake.url, fixedFile, jobCount, 'stepper')],
    ];
    // The order rotates every run, with the end-to-end daemon first in the first run.
    const order = [[0, 1, 2, 3, 4], [1, 0, 4, 3, 2], [0, 1, 3, 2, 4], [1, 0, 2, 4, 3]][run % 4];
    const record = { endToEnd: {}, fast: {} };
    for (const index of order) {
      const [variant, side, measure] = sides[index];
      const result = await measure();
      record[variant][side] = side === 'daemon' ? result : { wallMs: result.ms };
      log(`run ${run + 1}: ${variant} ${side} ${(record[variant][side].wallMs / 1000).toFixed(2)} s`);
      if (!setup) {
        captureChats();
        // The baselines' first run in a fresh process is slower, so each client sends 100 requests first.
        await runDirect(fake.url, chatFile, Math.min(jobCount, 100));
        await runDirect(fake.url, chatFile, Math.min(jobCount, 100), 'stepper');
      }
    }
    results.endToEnd.push(record.endToEnd);
    results.fast.push(record.fast);
  }

  // Idle fraction, with every generated token taking each --token-ms value on both sides.
  results.idle = [];
  for (const tokenMs of tokenRates) {
    fake.clearRequests();
    fake.enqueue({ fault: { kind: 'latency', tokenDelayMs: tokenMs }, match: { path: '/api/chat' }, times: 'always' });
    const idleDaemon = await runThroughDaemon(fake, { jobs: endToEndJobs.slice(0, idleJobs) });
    const idle = { tokenMs, daemon: { ...idleFraction(fake.requests), wallMs: idleDaemon.wallMs } };
    fake.clearRequests();
    await runDirect(fake.url, chatFile, idleJobs);
    idle.direct = idleFraction(fake.requests);
    idle.tokensPerAnswer = fake.requests.find((request) => request.path === '/api/chat')?.linesWritten;
    fake.clearFaults();
    results.idle.push(idle);
    log(`idle at ${tokenMs} ms per token: daemon ${(idle.daemon.fraction * 100).toFixed(2)}%, direct ${(idle.direct.fraction * 100).toFixed(2)}%`);
  }

  // Memory over many jobs of the fast daemon.
  const checkpoints = [100, ...Array.from({ length: Math.floor(memoryJobs / 1000) }, (_, index) => (index + 1) * 1000)].filter((count) => count <= memoryJobs);
  const memoryRunJobs = syntheticJobs(repository, memoryJobs);
  const memory = await runThroughDaemon(fake, { jobs: memoryRunJobs, entry: fastDaemonScript, env: fastEnv, checkpoints, clearLog: true });
  let heap = [];
  if (!flags['skip-heap']) {
    const memoryFile = path.join(workDir, 'memory.jsonl');
    await runThroughDaemon(fake, { jobs: memoryRunJobs, entry: fastDaemonScript, env: { ...fastEnv, STEPPER_BENCH_MEMORY_FILE: memoryFile }, clearLog: true });
    heap = fs.readFileSync(memoryFile, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
  }
  results.memory = { jobs: memoryJobs, wallMs: memory.wallMs, rss: memory.rss, heapAfterGc: heap, rssAtEndMiB: memory.rssAtEndMiB, logErrorCount: memory.logErrorCount };
  log(`memory: ${memory.rss.map((sample) => `${sample.checkpoint}: ${sample.rssMiB.toFixed(1)} MiB`).join(', ')}`);

  results.setup = setup;
} finally {
  await fake.close();
}
const totalSeconds = (performance.now() - started) / 1000;

// ---------- report ----------

function pairStats(samples) {
  const daemonMs = summarize(samples.map((sample) => sample.daemon.wallMs));
  const directMs = summarize(samples.map((sample) => sample.direct.wallMs));
  const overheadMs = summarize(samples.map((sample) => (sample.daemon.wallMs - sample.direct.wallMs) / jobCount));
  const toFirstChatMs = summarize(samples.map((sample) => sample.daemon.toFirstChatMs ?? Number.NaN));
  const fromChatMs = summarize(samples.map((sample) => sample.daemon.fromFirstChatMs ?? Number.NaN));
  const fromChatOverheadMs = summarize(samples.map((sample) => ((sample.daemon.fromFirstChatMs ?? Number.NaN) - sample.direct.wallMs) / jobCount));
  const rssMiB = summarize(samples.map((sample) => sample.daemon.rssAtEndMiB));
  const stepperClientMs = samples[0].stepperClient ? summarize(samples.map((sample) => sample.stepperClient.wallMs)) : undefined;
  return {
    daemonMs,
    directMs,
    stepperClientMs,
    overheadMs,
    toFirstChatMs,
    fromChatMs,
    fromChatOverheadMs,
    rssMiB,
    ratio: daemonMs.median / directMs.median,
    fromChatRatio: fromChatMs.median / directMs.median,
  };
}

const endToEnd = pairStats(results.endToEnd);
const fast = pairStats(results.fast);
const rate = (ms) => (jobCount / ms) * 1000;
const integer = (value) => Math.round(value).toLocaleString('en-US');
const rateCell = (stats) => `${integer(rate(stats.median))} | ${integer(rate(stats.max))}–${integer(rate(stats.min))}`;
const msCell = (stats, digits = 2) => `${stats.median.toFixed(digits)} | ${stats.min.toFixed(digits)}–${stats.max.toFixed(digits)}`;
const perJob = (stats) => ({ median: stats.median / jobCount, min: stats.min / jobCount, max: stats.max / jobCount });
const rssAt = (count) => results.memory.rss.find((sample) => sample.checkpoint === count)?.rssMiB;
const idleRows = results.idle.flatMap((idle) => [
  `| Idle fraction, ${idleJobs} report jobs, ${idle.tokenMs} ms per token | ${(idle.daemon.fraction * 100).toFixed(2)}% | | ${(idle.direct.fraction * 100).toFixed(2)}% | | |`,
  `| Idle gap between chat requests at ${idle.tokenMs} ms per token (ms, mean) | ${idle.daemon.meanGapMs.toFixed(2)} | | ${idle.direct.meanGapMs.toFixed(2)} | | |`,
]);
const idleNotes = results.idle.map(
  (idle) => `at ${idle.tokenMs} ms per token they take ${idle.daemon.meanRequestMs.toFixed(0)} ms on average (${idle.tokensPerAnswer} response lines), and the daemon's span was ${(idle.daemon.spanMs / 1000).toFixed(1)} s`,
);

const lines = [
  `Runs per side: ${runs}, ${jobCount} jobs each. Cells show the median over runs and the min–max.`,
  '',
  '| Measurement | daemon median | daemon min–max | direct loop median | direct loop min–max | daemon/direct |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  `| End to end: report jobs (jobs/s) | ${rateCell(endToEnd.daemonMs)} | ${rateCell(endToEnd.directMs)} | ${endToEnd.ratio.toFixed(2)}x |`,
  `| End to end: wall time per job (ms) | ${msCell(perJob(endToEnd.daemonMs))} | ${msCell(perJob(endToEnd.directMs))} | ${endToEnd.ratio.toFixed(2)}x |`,
  `| End to end: overhead per job (ms) | ${msCell(endToEnd.overheadMs)} | | | |`,
  `| End to end: start to first chat request (ms) | ${msCell(endToEnd.toFirstChatMs, 0)} | | | |`,
  `| End to end, from the first chat request: report jobs (jobs/s) | ${rateCell(endToEnd.fromChatMs)} | ${rateCell(endToEnd.directMs)} | ${endToEnd.fromChatRatio.toFixed(2)}x |`,
  `| End to end, from the first chat request: wall time per job (ms) | ${msCell(perJob(endToEnd.fromChatMs))} | ${msCell(perJob(endToEnd.directMs))} | ${endToEnd.fromChatRatio.toFixed(2)}x |`,
  `| End to end, from the first chat request: overhead per job (ms) | ${msCell(endToEnd.fromChatOverheadMs)} | | | |`,
  `| Fast: fixed chat request (jobs/s) | ${rateCell(fast.daemonMs)} | ${rateCell(fast.directMs)} | ${fast.ratio.toFixed(2)}x |`,
  `| Fast: wall time per job (ms) | ${msCell(perJob(fast.daemonMs))} | ${msCell(perJob(fast.directMs))} | ${fast.ratio.toFixed(2)}x |`,
  `| Fast: overhead per job (ms) | ${msCell(fast.overheadMs)} | | | |`,
  `| Fast: stepper's client in a loop, no daemon (jobs/s) | ${rateCell(fast.stepperClientMs)} | ${rateCell(fast.directMs)} | ${(fast.stepperClientMs.median / fast.directMs.median).toFixed(2)}x |`,
  `| Fast: daemon against stepper's client loop | ${rateCell(fast.daemonMs)} | ${rateCell(fast.stepperClientMs)} | ${(fast.daemonMs.median / fast.stepperClientMs.median).toFixed(2)}x |`,
  `| Fast: start to first chat request (ms) | ${msCell(fast.toFirstChatMs, 0)} | | | |`,
  `| Fast, from the first chat request: fixed chat request (jobs/s) | ${rateCell(fast.fromChatMs)} | ${rateCell(fast.directMs)} | ${fast.fromChatRatio.toFixed(2)}x |`,
  `| Fast, from the first chat request: wall time per job (ms) | ${msCell(perJob(fast.fromChatMs))} | ${msCell(perJob(fast.directMs))} | ${fast.fromChatRatio.toFixed(2)}x |`,
  `| Fast, from the first chat request: overhead per job (ms) | ${msCell(fast.fromChatOverheadMs)} | | | |`,
  ...idleRows,
  `| Daemon RSS after ${integer(jobCount)} report jobs (MiB) | ${msCell(endToEnd.rssMiB, 1)} | | | |`,
  `| Fast daemon RSS after 1,000 / ${integer(memoryJobs)} jobs (MiB) | ${rssAt(1000)?.toFixed(1) ?? 'n/a'} / ${rssAt(Math.floor(memoryJobs / 1000) * 1000)?.toFixed(1) ?? 'n/a'} | | | | |`,
  '',
  `Idle-fraction requests: ${idleNotes.join('; ')}.`,
  `RSS of the fast daemon by completed jobs (anonymous + file + shared): ${results.memory.rss.map((sample) => `${integer(sample.checkpoint)}: ${sample.rssMiB.toFixed(1)} (${sample.anonMiB.toFixed(1)} + ${sample.fileMiB.toFixed(1)} + ${sample.shmemMiB.toFixed(1)})`).join(', ')} MiB; ${(results.memory.wallMs / 1000).toFixed(1)} s for ${integer(memoryJobs)} jobs.`,
  results.memory.heapAfterGc.length === 0 ? 'Heap check skipped.' : `Heap used after a full garbage collection, in a second run, by jobs started: ${results.memory.heapAfterGc.map((sample) => `${integer(sample.jobsStarted)}: ${(sample.heapUsed / 2 ** 20).toFixed(1)}`).join(', ')} MiB; heap total at the end ${((results.memory.heapAfterGc.at(-1)?.heapTotal ?? 0) / 2 ** 20).toFixed(1)} MiB, external ${((results.memory.heapAfterGc.at(-1)?.external ?? 0) / 2 ** 20).toFixed(1)} MiB.`,
  `Chat bodies: ${results.setup.chatBodyBytes.min}–${results.setup.chatBodyBytes.max} bytes. Other requests of a daemon run: ${results.setup.otherRequests.join(', ') || 'none'}.`,
  `Total ${totalSeconds.toFixed(0)} s; load average ${loadBefore.map((value) => value.toFixed(2)).join(' ')} before, ${os.loadavg().map((value) => value.toFixed(2)).join(' ')} after.`,
];
console.log(lines.join('\n'));

fs.mkdirSync(resultsDir, { recursive: true });
const resultFile = path.join(resultsDir, `daemon-${new Date().toISOString().replaceAll(':', '-').replace('.', '-')}.json`);
fs.writeFileSync(
  resultFile,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      cpus: os.cpus().length,
      runs,
      jobs: jobCount,
      memoryJobs,
      idleJobs,
      tokenMs: tokenRates,
      loadBefore,
      loadAfter: os.loadavg(),
      totalSeconds,
      summary: { endToEnd, fast },
      results,
    },
    null,
    2,
  )}\n`,
);
log(`results written to ${path.relative(process.cwd(), resultFile)}`);
