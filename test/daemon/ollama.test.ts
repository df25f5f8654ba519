// The daemon against the fake Ollama: outages, a missing model, generation one job at a
// time with the next job prepared, and a start from a hook in a linked worktree. The
// fixtures import the built dist/, so run `npm run build` first.
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { describe, expect, test } from 'vitest';

import { heldModelsOf, openQueue, readDaemonStatus } from '../../src/index.js';
import { startFake } from '../fake-ollama/helpers.js';
import { FIXTURES, type ProcessResult, waitForExit } from '../helpers/processes.js';
import { RepoBuilder } from '../helpers/repo-builder.js';
import { buildRepo } from '../helpers/repos.js';
import { makeTempDir } from '../helpers/temp.js';
import {
  DAEMON_FIXTURE,
  autoStart,
  daemonEnvironment,
  enqueue,
  readJobs,
  readLog,
  trackPid,
  waitFor,
  waitForFinished,
  waitForRunning,
} from './helpers.js';

function isChat(request: { path: string }): boolean {
  return request.path === '/api/chat';
}

describe('daemon and Ollama', () => {
  test('Ollama down, then up: no job fails', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    await fake.refuseConnections();
    const ids = [enqueue(dataDir, 'outage 1'), enqueue(dataDir, 'outage 2'), enqueue(dataDir, 'outage 3')];
    autoStart(dataDir, daemonEnvironment(dataDir, fake.url));

    const row = await waitFor(() => {
      const status = readDaemonStatus({ dataDir });
      return status.row?.ollamaState === 'unreachable' ? status.row : undefined;
    }, 'the daemon to find Ollama unreachable');
    // Several probes fail meanwhile.
    await sleep(500);
    const waiting = readJobs(dataDir, ids);

    expect(row.ollamaDetail).toContain(`waiting for Ollama at ${fake.url}`);
    expect(waiting.every((job) => job.state === 'waiting')).toBe(true);
    expect(waiting.every((job) => job.attemptsMade === 0)).toBe(true);

    await fake.acceptConnections();
    const jobs = await waitForFinished(dataDir, ids);

    expect(jobs.map((job) => job.state)).toEqual(['completed', 'completed', 'completed']);
    expect(jobs.map((job) => job.attemptsMade)).toEqual([1, 1, 1]);
    expect(readLog(dataDir)).toContain('reachable again; claiming resumes');
    expect(readDaemonStatus({ dataDir }).row?.ollamaState).toBe('ok');
  });

  test('OLLAMA_HOST credentials stay out of the log', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    // A server error's message names the host as OLLAMA_HOST sets it, with the password masked.
    fake.enqueue({ fault: { kind: 'http_error', preset: 'runner_crash' } });
    const host = fake.url.replace('http://', 'http://stepper:hunter2@');
    const jobId = enqueue(dataDir, 'with credentials');
    autoStart(dataDir, daemonEnvironment(dataDir, host));

    const log = await waitFor(() => {
      const text = readLog(dataDir);
      return text.includes(`retry: job ${jobId}`) ? text : undefined;
    }, 'the retry line');

    expect(log).toContain('OLLAMA_HOST="http://stepper:***@');
    expect(log).not.toContain('hunter2');
    expect(readDaemonStatus({ dataDir }).row?.ollamaHost).toBe(fake.url);
  });

  test('missing model holds only its own jobs', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    const held = enqueue(dataDir, 'needs a pull', { model: 'tinyllama:1b' });
    const other = enqueue(dataDir, 'installed model');
    autoStart(dataDir, daemonEnvironment(dataDir, fake.url));

    const [otherJob] = await waitForFinished(dataDir, [other]);
    const detail = await waitFor(() => readDaemonStatus({ dataDir }).row?.ollamaDetail ?? undefined, 'the held model in the status');
    const [heldJob] = readJobs(dataDir, [held]);

    expect(otherJob?.state).toBe('completed');
    expect(heldJob?.state).toBe('waiting');
    expect(heldJob?.attemptsMade).toBe(0);
    expect(detail).toContain('run "ollama pull tinyllama:1b"');
    expect(heldModelsOf({ ollamaDetail: detail })).toEqual([{ model: 'tinyllama:1b', pullCommand: 'ollama pull tinyllama:1b' }]);

    fake.addModel({ name: 'tinyllama:1b' });
    const [pulled] = await waitForFinished(dataDir, [held]);

    expect(pulled?.state).toBe('completed');
  });

  test('next job is prepared while one generates', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake({ timing: { tokenDelayMs: 100 } });
    const ids = [enqueue(dataDir, 'generates first'), enqueue(dataDir, 'prepared next')];
    autoStart(dataDir, daemonEnvironment(dataDir, fake.url));

    await fake.waitForRequest(isChat, { timeoutMs: 30_000 });
    await waitFor(() => readJobs(dataDir, ids).every((job) => job.state === 'active'), 'both jobs to be claimed');

    expect(fake.requests.filter(isChat)).toHaveLength(1);

    await waitForFinished(dataDir, ids);
    const [first, second] = fake.requests.filter(isChat);

    expect(second!.receivedAt).toBeGreaterThanOrEqual(first!.finishedAt!);
  });

  test('concurrency 2 generates two jobs at once', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake({ timing: { tokenDelayMs: 100 } });
    const ids = [enqueue(dataDir, 'parallel 1'), enqueue(dataDir, 'parallel 2')];
    autoStart(dataDir, daemonEnvironment(dataDir, fake.url, { STEPPER_DAEMON_CONCURRENCY: '2' }));

    await waitForFinished(dataDir, ids);
    const [first, second] = fake.requests.filter(isChat);

    expect(second!.receivedAt).toBeLessThan(first!.finishedAt!);
    expect(readDaemonStatus({ dataDir }).row?.concurrency).toBe(2);
  });

  test('linked worktree hook, then another repository', async () => {
    const dataDir = makeTempDir();
    const fake = await startFake();
    const env = daemonEnvironment(dataDir, fake.url);
    const worktreeRepo = buildRepo('worktree');
    const linked = worktreeRepo.dirs.worktree as string;
    const other = RepoBuilder.init(path.join(makeTempDir(), 'other'));
    other.write('other.txt', 'other\n');
    const otherSha = other.commit('Commit in another repository');

    // What git exports to a post-commit hook in a linked worktree: absolute GIT_DIR and GIT_INDEX_FILE.
    const gitDir = execFileSync('git', ['rev-parse', '--absolute-git-dir'], { cwd: linked }).toString().trim();
    const hookEnv = { ...env, GIT_DIR: gitDir, GIT_INDEX_FILE: path.join(gitDir, 'index'), GIT_PREFIX: '' };
    const hook = await runFixtureIn(linked, hookEnv, [dataDir, linked, worktreeRepo.commits['worktree-commit'] as string, DAEMON_FIXTURE]);
    const { jobId: hookJob, daemon } = JSON.parse(hook.stdout) as { jobId: string; daemon: { pid?: number } };
    trackPid(daemon.pid);

    // The hook's output closed while the daemon runs on: the daemon did not keep its pipes.
    expect(hook.code).toBe(0);
    expect(await waitForRunning(dataDir)).toBe(daemon.pid);

    const otherJob = enqueue(dataDir, 'unused', { readCommit: true }, { repository: other.dir, commitSha: otherSha });
    const jobs = await waitForFinished(dataDir, [hookJob, otherJob]);
    const contents = readReportContents(dataDir, jobs.map((job) => job.resultId as string));

    expect(jobs.map((job) => job.state)).toEqual(['completed', 'completed']);
    expect(contents[0]?.subject).toBe('Commit in the linked worktree');
    expect(contents[1]?.subject).toBe('Commit in another repository');
    expect(contents[1]?.gitDirSet).toBe(false);
  });
});

/** Runs hook.mjs with `cwd` as its working folder, as git runs a hook. */
function runFixtureIn(cwd: string, env: NodeJS.ProcessEnv, args: string[]): Promise<ProcessResult> {
  const child = spawn(process.execPath, [path.join(FIXTURES, 'daemon', 'hook.mjs'), ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return waitForExit(child);
}

function readReportContents(dataDir: string, ids: string[]): Array<{ subject?: string; gitDirSet?: boolean } | undefined> {
  const queue = openQueue({ dataDir });
  try {
    return ids.map((id) => queue.getReport(id)?.content as { subject?: string; gitDirSet?: boolean } | undefined);
  } finally {
    queue.close();
  }
}

