// One of the concurrent enqueuing processes of run.mjs. Usage:
//   node enqueue-worker.mjs <stepper|raw> <dataDir> <jobCount> <workerIndex>
// Prints "ready" once loaded, waits for a "go" line on stdin so that all processes
// start together, then enqueues jobCount jobs and prints one JSON line of results.
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';

import { enqueueOnce } from './enqueue-once.mjs';

const [side, dataDir, countText, workerText] = process.argv.slice(2);
const jobCount = Number(countText);
const workerIndex = Number(workerText);

if ((side !== 'stepper' && side !== 'raw') || !dataDir || !Number.isSafeInteger(jobCount) || !Number.isSafeInteger(workerIndex)) {
  process.stderr.write('usage: node enqueue-worker.mjs <stepper|raw> <dataDir> <jobCount> <workerIndex>\n');
  process.exit(2);
}

function jobInput(index) {
  return {
    kind: 'diary',
    repository: '/home/dev/project/.git',
    commitSha: (workerIndex * 1_000_000 + index).toString(16).padStart(40, '0'),
    payload: { branch: 'main' },
  };
}

function run() {
  const latenciesMs = [];
  let spooled = 0;
  const errors = [];

  for (let index = 0; index < jobCount; index++) {
    const job = jobInput(index);
    const start = performance.now();
    try {
      if (enqueueOnce(side, dataDir, job) === 'spooled') {
        spooled += 1;
      }
    } catch (error) {
      errors.push(String(error?.message ?? error));
    }

    latenciesMs.push(performance.now() - start);
  }

  process.stdout.write(`${JSON.stringify({ side, workerIndex, latenciesMs, spooled, errors })}\n`);
}

const input = readline.createInterface({ input: process.stdin });
input.on('line', (line) => {
  if (line.trim() === 'go') {
    input.close();
    run();
  }
});

process.stdout.write('ready\n');
