// Evidence benchmark: buildEvidence on a 2,000-file commit against `git show`.
// Usage: node bench/evidence/run.mjs [--runs 5] [--budgets 8192,32768] [--cpu-prof]
// Needs a current build (npm run build). Builds or reuses the repository from generate.mjs,
// prints markdown tables and writes bench/results/evidence-<timestamp>.json.
//
// Every measured run is its own child process, so each peak RSS belongs to one run. The
// sides of one round run back to back in an order that rotates every round.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { COMMIT_DIFF_ARGS } from '../../dist/git/commit-diff.js';
import { ensureRepository, isolatedGitEnvironment } from './generate.mjs';
import { summarizeProfile } from './profile.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const resultsDir = path.join(benchDir, '..', 'results');
const childScript = path.join(benchDir, 'stepper-child.mjs');

/** GNU time measures the peak RSS of git processes. Without it, git's RSS is not reported. */
const TIME_PROGRAM = '/usr/bin/time';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    budgets: { type: 'string', default: '8192,32768' },
    'cpu-prof': { type: 'boolean', default: false },
  },
});

const runs = Number(flags.runs);
if (!Number.isSafeInteger(runs) || runs < 1) {
  console.error(`invalid --runs ${JSON.stringify(flags.runs)}: expected an integer >= 1`);
  process.exit(2);
}

const budgets = flags.budgets.split(',').map(Number);
if (budgets.length === 0 || budgets.some((budget) => !Number.isSafeInteger(budget) || budget < 256)) {
  console.error(`invalid --budgets ${JSON.stringify(flags.budgets)}: expected comma-separated integers >= 256`);
  process.exit(2);
}

const hasTime = spawnSync(TIME_PROGRAM, ['-f', '%M', 'true'], { stdio: 'ignore' }).status === 0;

// An empty HOME keeps the user's ~/.gitconfig away from stepper's git processes too, because
// stepper drops GIT_CONFIG_GLOBAL and GIT_CONFIG_NOSYSTEM from the environment it gives git.
const homeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'stepper-bench-evidence-home-'));
process.on('exit', () => fs.rmSync(homeDir, { recursive: true, force: true }));
// Exiting on a signal, rather than dying of it, runs the 'exit' handler above.
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));
const childEnv = isolatedGitEnvironment({ HOME: homeDir, XDG_CONFIG_HOME: homeDir });

// ---------- measuring one process ----------

/**
 * Runs a command with its standard output drained through a pipe. Returns the wall time,
 * the bytes it printed, and its peak RSS in KiB when GNU time is there to measure it.
 */
function runCommand(command, args, { cwd, measureRss = hasTime, stdin = 'ignore' } = {}) {
  const rssFile = measureRss ? path.join(homeDir, `rss-${process.pid}-${performance.now()}`) : null;
  const [program, programArgs] = rssFile ? [TIME_PROGRAM, ['-f', '%M', '-o', rssFile, command, ...args]] : [command, args];

  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(program, programArgs, { cwd, env: childEnv, stdio: [stdin, 'pipe', 'pipe'] });
    let outputBytes = 0;
    const stdout = [];
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      outputBytes += chunk.length;
      if (stdout.length < 16) {
        stdout.push(chunk);
      }
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      const seconds = (performance.now() - start) / 1000;
      if (code !== 0) {
        reject(new Error(`${command} ${args.join(' ')} exited with code ${code}: ${stderr.trim()}`));
        return;
      }

      let rssKiB = null;
      if (rssFile) {
        rssKiB = Number(fs.readFileSync(rssFile, 'utf8').trim().split('\n').at(-1));
        fs.rmSync(rssFile);
      }
      resolve({ seconds, outputBytes, rssKiB, stdout: Buffer.concat(stdout).toString('utf8') });
    });
  });
}

// ---------- the measured sides ----------

/** Measures what a person runs to read the commit: its file list with line counts, then its diff. */
async function measureGitShow(repo, commit) {
  const numstat = await runCommand('git', ['show', '--numstat', '--no-color', commit.sha], { cwd: repo });
  const patch = await runCommand('git', ['show', '--no-color', commit.sha], { cwd: repo });
  check(patch.outputBytes >= commit.diffBytes, `git show printed ${patch.outputBytes} bytes, less than the ${commit.diffBytes}-byte diff`);
  return {
    seconds: numstat.seconds + patch.seconds,
    rssMiB: hasTime ? kibToMiB(Math.max(numstat.rssKiB, patch.rssKiB)) : null,
  };
}

/**
 * Measures stepper's own git work without Node: the one `git diff-tree` that buildEvidence
 * reads the commit's metadata, listing and patch from, piped straight into
 * `git patch-id --stable`. buildEvidence passes only the patch on to patch-id, so here
 * patch-id also reads the metadata and the listing, which are small next to the patch.
 * The config and attribute reads (`git config`, `git cat-file --batch`) are left out: they
 * take milliseconds, beside the diff.
 */
async function measureGitOnly(repo, commit) {
  const start = performance.now();
  const diff = spawn('git', [...COMMIT_DIFF_ARGS, commit.sha], { cwd: repo, env: childEnv, stdio: ['ignore', 'pipe', 'inherit'] });
  const diffExit = new Promise((resolve) => diff.once('close', resolve));
  const patchId = runCommand('git', ['patch-id', '--stable'], { cwd: repo, measureRss: false, stdin: diff.stdout });
  // patch-id has its own copy of the pipe; this process's copy would keep diff's stdout from closing.
  diff.stdout.destroy();
  const [diffCode] = await Promise.all([diffExit, patchId]);
  check(diffCode === 0, `git diff-tree exited with code ${diffCode}`);

  return { seconds: (performance.now() - start) / 1000, rssMiB: null };
}

async function runStepperChild(args, nodeOptions = []) {
  const result = await runCommand(process.execPath, [...nodeOptions, childScript, ...args], { measureRss: false });
  return { seconds: result.seconds, report: JSON.parse(result.stdout) };
}

async function measureStepper(repo, commit, tokenBudget) {
  const { seconds, report } = await runStepperChild(['evidence', repo, commit.sha, String(tokenBudget)]);
  check(report.files === commit.changedFiles, `stepper listed ${report.files} files, expected ${commit.changedFiles}`);
  check(report.estimatedTokens <= tokenBudget, `stepper's evidence has ${report.estimatedTokens} tokens, over the budget of ${tokenBudget}`);
  check(report.identitySource === 'patch-id', `stepper's change identity came from ${report.identitySource}, expected patch-id`);
  return { seconds, buildSeconds: report.buildMs / 1000, rssMiB: kibToMiB(report.maxRssKiB), coverage: report.coverage };
}

async function measureImportOnly() {
  const { seconds, report } = await runStepperChild(['import-only']);
  return { seconds, importSeconds: report.importMs / 1000, rssMiB: kibToMiB(report.maxRssKiB) };
}

/**
 * Runs buildEvidence once with `git` on PATH replaced by a script that runs the real git
 * under GNU time, and returns each git command stepper started with its wall time and peak RSS.
 */
async function traceGitCalls(repo, commit, tokenBudget) {
  const realGit = spawnSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).stdout.trim();
  const wrapperDir = fs.mkdtempSync(path.join(homeDir, 'git-wrapper-'));
  const logFile = path.join(wrapperDir, 'calls.log');
  fs.writeFileSync(
    path.join(wrapperDir, 'git'),
    `#!/bin/sh\nexec ${TIME_PROGRAM} -a -o '${logFile}' -f '%e %M %C' '${realGit}' "$@"\n`,
    { mode: 0o755 },
  );

  const env = { ...childEnv, PATH: `${wrapperDir}${path.delimiter}${childEnv.PATH}` };
  const start = performance.now();
  const child = spawnSync(process.execPath, [childScript, 'evidence', repo, commit.sha, String(tokenBudget)], { env, encoding: 'utf8' });
  const seconds = (performance.now() - start) / 1000;
  check(child.status === 0, `traced stepper run exited with code ${child.status}: ${child.stderr}`);

  // GNU time adds a "Command exited with non-zero status" line for `git config --get-all` of an unset key.
  const calls = fs
    .readFileSync(logFile, 'utf8')
    .split('\n')
    .map((line) => /^(\d+\.\d+) (\d+) \S+ (.*)$/.exec(line))
    .filter(Boolean)
    .map(([, wall, rss, command]) => ({ command: shortenCommand(command), seconds: Number(wall), rssMiB: kibToMiB(Number(rss)) }));
  fs.rmSync(wrapperDir, { recursive: true, force: true });
  return { seconds, calls };
}

function shortenCommand(command) {
  return command
    .replace(/--git-dir=\S+ /, '')
    .replace(/\b[0-9a-f]{40}\b/g, (sha) => sha.slice(0, 7))
    .replace(/ --src-prefix=a\/ --dst-prefix=b\//, '')
    .replace(/--format=\S+/, '--format=…');
}

async function profileStepper(repo, commit, tokenBudget) {
  const profileDir = fs.mkdtempSync(path.join(homeDir, 'cpu-prof-'));
  await runStepperChild(['evidence', repo, commit.sha, String(tokenBudget)], ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
  const [file] = fs.readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile'));
  const summary = summarizeProfile(JSON.parse(fs.readFileSync(path.join(profileDir, file), 'utf8')));
  fs.rmSync(profileDir, { recursive: true, force: true });
  return summary;
}

// ---------- statistics and output ----------

function check(condition, message) {
  if (!condition) {
    throw new Error(`benchmark check failed: ${message}`);
  }
}

/** Returns the project's HEAD commit and the files under src/ that differ from it, so a result names the code it measured. */
function sourceState() {
  const projectDir = path.join(benchDir, '..', '..');
  const run = (args) => spawnSync('git', args, { cwd: projectDir, encoding: 'utf8', env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } }).stdout?.trim() ?? '';
  return {
    head: run(['rev-parse', 'HEAD']),
    changedSourceFiles: run(['status', '--porcelain', '--', 'src']).split('\n').filter(Boolean),
  };
}

function kibToMiB(kib) {
  return kib / 1024;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function summarize(values) {
  if (values.some((value) => value === null)) {
    return null;
  }

  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

function formatSpread(stats, digits) {
  return stats ? `${stats.median.toFixed(digits)} (${stats.min.toFixed(digits)}–${stats.max.toFixed(digits)})` : 'n/a';
}

function megabytes(bytes) {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

// ---------- main ----------

const log = (line) => console.error(line);
const { dir: repo, manifest } = await ensureRepository({ log });
const sides = [
  { name: 'git show --numstat; git show', measure: (commit) => measureGitShow(repo, commit) },
  { name: "stepper's git commands only", measure: (commit) => measureGitOnly(repo, commit) },
  ...budgets.map((budget) => ({ name: `buildEvidence, ${budget} tokens`, budget, measure: (commit) => measureStepper(repo, commit, budget) })),
];

const source = sourceState();
const loadBefore = os.loadavg();
const started = performance.now();
const importOnly = [];
for (let run = 0; run < runs; run++) {
  importOnly.push(await measureImportOnly());
}

const results = [];
for (const commit of manifest.commits) {
  log(`${commit.name}: ${megabytes(commit.diffBytes)} of diff in ${commit.changedFiles} files, ${runs} rounds`);
  const samples = sides.map(() => []);
  for (let run = 0; run < runs; run++) {
    for (let step = 0; step < sides.length; step++) {
      const index = (run + step) % sides.length;
      samples[index].push(await sides[index].measure(commit));
    }
  }

  const [baselineBudget] = budgets;
  const trace = hasTime ? await traceGitCalls(repo, commit, baselineBudget) : null;
  const profile = flags['cpu-prof'] ? await profileStepper(repo, commit, baselineBudget) : null;
  results.push({ commit, sides: sides.map((side, index) => ({ name: side.name, budget: side.budget ?? null, samples: samples[index] })), trace, profile });
}
const totalSeconds = (performance.now() - started) / 1000;

// ---------- report ----------

const lines = [];
const importRss = summarize(importOnly.map((sample) => sample.rssMiB));
lines.push(
  `Runs per cell: ${runs}. Cells show the median and, in brackets, the min–max. Peak RSS of git is ${hasTime ? 'the larger of the two git processes, from GNU time' : 'not measured (no /usr/bin/time)'}; stepper's is its Node process alone.`,
  '',
  '| commit | what runs | wall s | peak RSS MiB | wall vs git show | files with diff text shown |',
  '| --- | --- | --- | --- | --- | --- |',
);
for (const { commit, sides: measured } of results) {
  const baseline = median(measured[0].samples.map((sample) => sample.seconds));
  for (const side of measured) {
    const wall = summarize(side.samples.map((sample) => sample.seconds));
    const rss = summarize(side.samples.map((sample) => sample.rssMiB));
    const diffsShown = side.budget === null ? '—' : median(side.samples.map((sample) => (sample.coverage.partial ?? 0) + (sample.coverage.full ?? 0)));
    lines.push(
      `| ${commit.name}, ${megabytes(commit.diffBytes)} | ${side.name} | ${formatSpread(wall, 2)} | ${formatSpread(rss, 0)} | ${(wall.median / baseline).toFixed(2)}x | ${diffsShown} |`,
    );
  }
}
lines.push(`| — | Node importing stepper's modules, no work | ${formatSpread(summarize(importOnly.map((sample) => sample.seconds)), 2)} | ${formatSpread(importRss, 0)} | — | — |`);

lines.push('', '| budget | stepper peak RSS MiB, small diff | large diff | growth | above the import-only process, small / large |', '| --- | --- | --- | --- | --- |');
for (const budget of budgets) {
  const rssFor = (result) => summarize(result.sides.find((side) => side.budget === budget).samples.map((sample) => sample.rssMiB)).median;
  const small = rssFor(results.find((result) => result.commit.name === 'small'));
  const large = rssFor(results.find((result) => result.commit.name === 'large'));
  lines.push(
    `| ${budget} | ${small.toFixed(0)} | ${large.toFixed(0)} | ${(((large - small) / small) * 100).toFixed(0)} % | ${(small - importRss.median).toFixed(0)} / ${(large - importRss.median).toFixed(0)} |`,
  );
}

for (const { commit, trace, profile } of results) {
  if (trace) {
    lines.push('', `Git commands of one buildEvidence run on ${commit.name} (${budgets[0]} tokens, ${trace.seconds.toFixed(2)} s in all):`, '', '| s | RSS MiB | command |', '| --- | --- | --- |');
    for (const call of trace.calls) {
      lines.push(`| ${call.seconds.toFixed(2)} | ${call.rssMiB.toFixed(0)} | \`${call.command}\` |`);
    }
  }

  if (profile) {
    lines.push('', `CPU profile of buildEvidence on ${commit.name} (${budgets[0]} tokens), ms by function, callees included:`, '');
    lines.push(...profile.map((entry) => `- ${entry.name}: ${entry.ms.toFixed(0)}`));
  }
}

console.log(lines.join('\n'));
console.log(`\nTotal time: ${totalSeconds.toFixed(0)} s`);

fs.mkdirSync(resultsDir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const resultFile = path.join(resultsDir, `evidence-${stamp}.json`);
const machine = {
  cpus: os.availableParallelism(),
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  memoryGiB: os.totalmem() / 2 ** 30,
  node: process.version,
  git: manifest.gitVersion,
  gnuTime: hasTime,
  loadAverageBefore: loadBefore,
  loadAverageAfter: os.loadavg(),
};
fs.writeFileSync(
  resultFile,
  `${JSON.stringify({ date: new Date().toISOString(), machine, source, runs, budgets, totalSeconds, importOnly, results, table: lines.join('\n') }, null, 2)}\n`,
);
console.log(`Results: ${path.relative(process.cwd(), resultFile)}`);
