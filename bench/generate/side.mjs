// One side of the generate benchmark, kept alive across runs so that every run after the
// warm-up measures a warm Node process. run.mjs starts it.
// Usage: node bench/generate/side.mjs stepper <host> <repository> <commit> <model> <model calls>
//        node bench/generate/side.mjs minimal <host> <chat requests JSON file>
// Each stdin line `{"count": N}` runs N reports and prints one JSON line with the per-report
// milliseconds. After each report the stepper side also times buildEvidence alone and
// readEvidenceSource alone, which is generateReport's one read of the commit and all of its git
// work. It times describeModel alone (the /api/show, /api/version and /api/tags requests) and
// counts the git processes each report started. It also times `git diff-tree -p` of the commit,
// read to its end: the least git work that gives any tool the commit's patch.
import childProcess from 'node:child_process';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';

const [side, host, ...rest] = process.argv.slice(2);

/**
 * Counts the git processes started through child_process.spawn, which is how stepper starts
 * git. syncBuiltinESMExports makes the `spawn` that ES modules import see the wrapper too,
 * so it must run before stepper's modules load.
 */
function countGitProcesses() {
  const counter = { git: 0 };
  const spawn = childProcess.spawn;
  childProcess.spawn = function countedSpawn(command, ...args) {
    if (command === 'git') {
      counter.git += 1;
    }
    return spawn.call(this, command, ...args);
  };
  syncBuiltinESMExports();
  return counter;
}

async function createStepperSide(repositoryDir, sha, model, modelCallsText) {
  const counter = countGitProcesses();
  const expectedCalls = Number(modelCallsText);
  const { generateReport } = await import('../../dist/report/generate.js');
  const { chooseContext } = await import('../../dist/report/context.js');
  const { buildEvidence, readEvidenceSource } = await import('../../dist/evidence/build.js');
  const { evidenceReadBudget } = await import('../../dist/report/generate.js');
  const { openRepository } = await import('../../dist/git/repository.js');
  const { createOllamaClient, describeModel, resolveOllamaHost } = await import('../../dist/ollama/index.js');

  const client = createOllamaClient({ host: resolveOllamaHost({ OLLAMA_HOST: host }) });
  const repo = await openRepository(repositoryDir);
  // The same budget generateReport passes to buildEvidence (prepareEvidence in src/report/generate.ts).
  const description = await describeModel(client, model);
  const tokenBudget = chooseContext({ contextLength: description.contextLength, evidenceTokens: Number.MAX_SAFE_INTEGER }).evidenceTokenBudget;
  // The budget generateReport reads the commit for (prepareEvidence in src/report/generate.ts).
  const readBudget = evidenceReadBudget(description.contextLength);

  return async (count) => {
    const reportMs = [];
    const evidenceMs = [];
    const readMs = [];
    const describeMs = [];
    const gitProcesses = [];
    const patchMs = [];
    for (let i = 0; i < count; i++) {
      const gitBefore = counter.git;
      const reportStart = performance.now();
      const generated = await generateReport(repo, sha, { client, model });
      reportMs.push(performance.now() - reportStart);
      gitProcesses.push(counter.git - gitBefore);
      if (generated.provenance.modelCalls !== expectedCalls) {
        throw new Error(`generateReport made ${generated.provenance.modelCalls} model calls, expected ${expectedCalls} as on the first report`);
      }

      const evidenceStart = performance.now();
      await buildEvidence(repo, sha, { tokenBudget });
      evidenceMs.push(performance.now() - evidenceStart);

      const readStart = performance.now();
      await readEvidenceSource(repo, sha, { maxTokenBudget: readBudget });
      readMs.push(performance.now() - readStart);

      const describeStart = performance.now();
      await describeModel(client, model);
      describeMs.push(performance.now() - describeStart);

      const patchStart = performance.now();
      await readPatch(repositoryDir, sha);
      patchMs.push(performance.now() - patchStart);
    }
    return { reportMs, evidenceMs, readMs, describeMs, gitProcesses, patchMs };
  };
}

/** Runs `git diff-tree -p <sha>` with its output read to the end, and resolves when git has exited. */
function readPatch(repositoryDir, sha) {
  return new Promise((resolve, reject) => {
    const git = childProcess.spawn('git', ['diff-tree', '-p', '--no-color', sha], { cwd: repositoryDir, stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    git.stdout.on('data', (chunk) => {
      bytes += chunk.length;
    });
    git.on('error', reject);
    git.on('close', (code) => {
      if (code !== 0 || bytes === 0) {
        reject(new Error(`git diff-tree -p ${sha} exited with code ${code} after ${bytes} bytes`));
        return;
      }
      resolve(bytes);
    });
  });
}

async function createMinimalSide(requestFile) {
  const { Ollama } = await import('ollama');
  const requests = JSON.parse(fs.readFileSync(requestFile, 'utf8'));
  const ollama = new Ollama({ host });

  return async (count) => {
    const reportMs = [];
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      // The requests one generateReport sent, in order: one, or one per part and the final one.
      for (const request of requests) {
        const stream = await ollama.chat({ ...request, stream: true });
        let content = '';
        let done = false;
        for await (const part of stream) {
          content += part.message.content;
          done = part.done;
        }
        if (!done || content === '') {
          throw new Error('the minimal chat stream ended without a done message or content');
        }
      }
      reportMs.push(performance.now() - start);
    }
    return { reportMs };
  };
}

let runReports;
if (side === 'stepper') {
  runReports = await createStepperSide(...rest);
} else if (side === 'minimal') {
  runReports = await createMinimalSide(...rest);
} else {
  console.error(`unknown side ${JSON.stringify(side)}: expected stepper or minimal`);
  process.exit(2);
}

console.log(JSON.stringify({ ready: true }));
for await (const line of readline.createInterface({ input: process.stdin })) {
  const { count } = JSON.parse(line);
  console.log(JSON.stringify(await runReports(count)));
}
