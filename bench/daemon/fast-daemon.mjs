// The daemon of the benchmark's fast variant, started by ensureDaemon in place of
// dist/daemon/entry.js: `node fast-daemon.mjs DATA_DIR`. It runs the real runDaemon (lock,
// queue, worker, generation gate, log, status row), but its processor reads no git. Each job
// sends one prepared chat request through stepper's streamChat. So its time beside a direct
// ollama-js loop is the cost of the daemon, the queue and stepper's chat client. The request
// body is the first element of the JSON array in the file named by STEPPER_BENCH_CHAT_REQUEST.
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';

import { runDaemon, streamChat } from '../../dist/index.js';

const [dataDir] = process.argv.slice(2);
const requestFile = process.env.STEPPER_BENCH_CHAT_REQUEST;
if (!dataDir || !requestFile) {
  process.stderr.write('usage: STEPPER_BENCH_CHAT_REQUEST=FILE node fast-daemon.mjs DATA_DIR\n');
  process.exit(2);
}

const [{ stream: _stream, ...request }] = JSON.parse(fs.readFileSync(requestFile, 'utf8'));

// With STEPPER_BENCH_MEMORY_FILE set, every 1,000th job first runs a full garbage collection
// and appends process.memoryUsage() as a JSON line, which shows the live heap without garbage.
const memoryFile = process.env.STEPPER_BENCH_MEMORY_FILE;
let collectGarbage;
if (memoryFile) {
  v8.setFlagsFromString('--expose-gc');
  collectGarbage = vm.runInNewContext('gc');
}
let jobsStarted = 0;

function recordMemory() {
  jobsStarted += 1;
  if (collectGarbage && jobsStarted % 1000 === 0) {
    collectGarbage();
    fs.appendFileSync(memoryFile, `${JSON.stringify({ jobsStarted, ...process.memoryUsage() })}\n`);
  }
}

function createProcessor({ client }) {
  return async (job, { signal }) => {
    recordMemory();
    const result = await streamChat(client, request, { signal });
    // Stored like a report, so each completion writes a report row as the real processor does.
    return { report: { content: { commit: job.commitSha, answer: result.content }, cacheKey: job.id } };
  };
}

const exit = await runDaemon({ dataDir, detached: true, createProcessor });
process.exit(exit.code);
