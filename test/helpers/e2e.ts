import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { afterEach } from 'vitest';

import { type FakeOllama, type FakeOllamaOptions, startFakeOllama } from '../fake-ollama/server.mjs';
import { type ProcessResult, waitForExit } from './processes.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'stepper.js');

/** Fixed author and committer of every commit the end-to-end tests make, so a twin repository gets the same ids. */
const IDENTITY = { name: 'E2E Tester', email: 'e2e@example.com' };
/** 2025-01-01T00:00:00Z, the date of the first commit made with {@link commitAll}. */
const FIRST_COMMIT_EPOCH = 1_735_689_600;

/**
 * One isolated user: a home folder, a data directory, the fake Ollama and the environment
 * every git and stepper call of the test gets. The real daemon starts on demand.
 */
export interface E2eUser {
  root: string;
  home: string;
  /** `$HOME/.local/state/stepper`, so a hook whose environment has only HOME resolves the same directory as STEPPER_HOME. */
  dataDir: string;
  fake: FakeOllama;
  env: NodeJS.ProcessEnv;
}

const started: E2eUser[] = [];

/**
 * After each test, waits for a pending hook kick, because it could start a daemon after the
 * stop. Then it stops each user's daemon with the CLI, closes the fakes and removes the
 * folders. The daemon stops first, because one whose folder vanished logs errors until its
 * next heartbeat.
 */
afterEach(async () => {
  for (const user of started.splice(0)) {
    await waitForQuietHooks(user);
    let stop = await stepper(user, user.root, ['daemon', 'stop', '--timeout', '20']);
    await user.fake.close();
    try {
      fs.rmSync(user.root, { recursive: true, force: true, maxRetries: 3, retryDelay: 100 });
    } catch {
      // A daemon that a command spawned just before the stop takes its lock only after the
      // stop found none, then writes into the folder while it is removed. Stop that one too.
      stop = await stepper(user, user.root, ['daemon', 'stop', '--timeout', '20']);
      fs.rmSync(user.root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    }
    if (stop.code !== 0) {
      throw new Error(`stepper daemon stop exited with ${stop.code}: ${stop.stderr}`);
    }
  }
});

/** Starts a fake Ollama and builds the environment of one user. Both are cleaned up after the test. */
export async function startUser(fakeOptions: FakeOllamaOptions = {}): Promise<E2eUser> {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'stepper-e2e-')));
  const home = path.join(root, 'home');
  fs.mkdirSync(home);
  const dataDir = path.join(home, '.local', 'state', 'stepper');
  const fake = await startFakeOllama(fakeOptions);

  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    const upper = name.toUpperCase();
    if (!['GIT_', 'STEPPER_', 'XDG_', 'OLLAMA_'].some((prefix) => upper.startsWith(prefix))) {
      env[name] = value;
    }
  }
  Object.assign(env, {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    STEPPER_HOME: dataDir,
    OLLAMA_HOST: fake.url,
    NO_COLOR: '1',
    LC_ALL: 'C',
    // Short intervals, so claims, Ollama probes and heartbeats happen within a test. The idle
    // exit is a minute, so the daemon a test started stays for the whole test.
    STEPPER_DAEMON_POLL_MS: '20',
    STEPPER_DAEMON_IDLE_MS: '60000',
    STEPPER_DAEMON_HEARTBEAT_MS: '500',
    STEPPER_DAEMON_PROBE_MS: '100',
    STEPPER_DAEMON_PROBE_MAX_MS: '300',
    STEPPER_DAEMON_GRACE_MS: '5000',
  });

  const user = { root, home, dataDir, fake, env };
  started.push(user);
  return user;
}

/** Runs any program with the user's environment, collecting its output. */
export function run(user: E2eUser, cwd: string, file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ProcessResult> {
  const child = spawn(file, args, { cwd, env: { ...user.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return waitForExit(child);
}

/** Runs the built command line as the user would. */
export function stepper(user: E2eUser, cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ProcessResult> {
  return run(user, cwd, process.execPath, [BIN, ...args], env);
}

/** Runs the command line with --json and parses its output. Throws with stderr when it exits non-zero. */
export async function stepperJson<T>(user: E2eUser, cwd: string, args: string[]): Promise<T> {
  const result = await stepper(user, cwd, [...args, '--json']);
  if (result.code !== 0) {
    throw new Error(`stepper ${args.join(' ')} exited with ${result.code}: ${result.stderr}`);
  }

  return JSON.parse(result.stdout) as T;
}

/** Runs git synchronously with the user's environment and returns its output. */
export function git(user: E2eUser, cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync('git', args, { cwd, env: { ...user.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
}

/** Creates a repository with a local identity, so a commit under `env -i` finds one too. */
export function initRepository(user: E2eUser, dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  git(user, dir, ['init', '-q', '-b', 'main']);
  git(user, dir, ['config', 'user.name', IDENTITY.name]);
  git(user, dir, ['config', 'user.email', IDENTITY.email]);
  git(user, dir, ['config', 'commit.gpgsign', 'false']);
  return dir;
}

/**
 * Environment of a commit with a fixed date, `index` days after FIRST_COMMIT_EPOCH. Two
 * repositories with the same content and index get the same commit ids, which lets a test
 * compare git's output with and without the hook.
 */
export function commitDateEnv(index: number): NodeJS.ProcessEnv {
  const date = `${FIRST_COMMIT_EPOCH + index * 86_400} +0000`;
  return { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
}

/** Writes and stages files, then commits them with git's own output. Returns git's result and the new commit id. */
export async function commitAll(
  user: E2eUser,
  dir: string,
  files: Record<string, string>,
  message: string,
  options: { index?: number; args?: string[] } = {},
): Promise<{ result: ProcessResult; sha: string }> {
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  git(user, dir, ['add', '--', ...Object.keys(files)]);
  const env = options.index === undefined ? {} : commitDateEnv(options.index);
  const result = await run(user, dir, 'git', ['commit', ...(options.args ?? []), '-m', message], env);
  return { result, sha: git(user, dir, ['rev-parse', 'HEAD']).trim() };
}

/** Number of /api/chat requests the fake has received: one per model call of a report. */
export function chatRequests(user: E2eUser): number {
  return user.fake.requests.filter((request) => request.path === '/api/chat').length;
}

/** A job as `stepper status --json` lists it. */
export interface ListedJob {
  id: string;
  sha: string;
  state: string;
  attempts: number;
  error: string | null;
}

export interface StatusJson {
  daemon: { state: string; pid: number | null };
  ollama: { reachable: boolean };
  counts: Record<string, number>;
  jobs: ListedJob[];
}

/** Reads `stepper status --json` with room for every job of the repository. */
export function readStatus(user: E2eUser, cwd: string): Promise<StatusJson> {
  return stepperJson<StatusJson>(user, cwd, ['status', '--limit', '1000']);
}

/**
 * Polls `stepper status --json` until every commit in `shas` has a completed job and no
 * job of the repository is waiting, delayed or active, and returns that status. Fails with
 * the last counts after `timeoutMs`.
 */
export async function waitForReports(user: E2eUser, cwd: string, shas: readonly string[], timeoutMs = 40_000): Promise<StatusJson> {
  const deadline = Date.now() + timeoutMs;
  let status = await readStatus(user, cwd);
  while (!allReported(status, shas)) {
    if (Date.now() > deadline) {
      const missing = shas.filter((sha) => !status.jobs.some((job) => job.sha === sha && job.state === 'completed'));
      throw new Error(`no completed report after ${timeoutMs} ms for ${missing.join(', ')}; status: ${JSON.stringify(status.counts)}`);
    }
    await sleep(200);
    status = await readStatus(user, cwd);
  }

  return status;
}

function allReported(status: StatusJson, shas: readonly string[]): boolean {
  const live = status.jobs.some((job) => ['waiting', 'delayed', 'active'].includes(job.state));
  return !live && shas.every((sha) => status.jobs.some((job) => job.sha === sha && job.state === 'completed'));
}

/** Returns the jobs of one commit in a status listing. */
export function jobsOf(status: StatusJson, sha: string): ListedJob[] {
  return status.jobs.filter((job) => job.sha === sha);
}

/** Hint files and the kick marker in the data directory's hook spool. */
export function hookSpool(user: E2eUser): string[] {
  try {
    return fs.readdirSync(path.join(user.dataDir, 'spool', 'hooks')).filter((name) => name.endsWith('.hint') || name === 'kick.pending');
  } catch {
    return [];
  }
}

/**
 * Waits until no hint and no pending kick is left, so no kick starts a daemon after the
 * test stopped it. A hook sleeps one second before its kick starts node.
 */
export async function waitForQuietHooks(user: E2eUser, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (hookSpool(user).length > 0 && Date.now() < deadline) {
    await sleep(100);
  }
}

/** Lines of the hook log: one per hint the kick handled. */
export function hookLog(user: E2eUser): string[] {
  try {
    return fs.readFileSync(path.join(user.dataDir, 'hook.log'), 'utf8').split('\n').filter((line) => line !== '');
  } catch {
    return [];
  }
}
