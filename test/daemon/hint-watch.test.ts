// The daemon's hint watch with real processes: the built CLI and daemon, a repository with
// stepper's hook, and the fake Ollama. The hook's node is a recorder (as stubKick does), so
// a kick would leave a record instead of ingesting the hint itself.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { describe, expect, it } from 'vitest';

import {
  type E2eUser,
  commitAll,
  git,
  initRepository,
  jobsOf,
  readStatus,
  startUser,
  stepper,
  waitForReports,
} from '../helpers/e2e.js';
import { waitFor } from './helpers.js';

interface Setup {
  user: E2eUser;
  repo: string;
  hintsDir: string;
  liveFile: string;
  /** File the recorder appends to whenever a hook starts its kick. */
  kickRecord: string;
}

/**
 * Installs the hook with its node replaced by a recorder, and starts the daemon. Its heartbeat
 * is 10 minutes, so within a test only the watcher and the last read before an exit read hints.
 */
async function setUp(): Promise<Setup> {
  const user = await startUser();
  const repo = initRepository(user, path.join(user.root, 'repo'));
  await commitAll(user, repo, { 'README.md': 'first\n' }, 'First commit');

  const install = await stepper(user, repo, ['hook', 'install']);
  expect(install.code, install.stderr).toBe(0);
  const kickRecord = path.join(user.root, 'kick-calls.txt');
  const recorder = path.join(user.root, 'fake-node');
  fs.writeFileSync(recorder, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${kickRecord}'\n`, { mode: 0o755 });
  for (const name of ['post-commit', 'post-rewrite']) {
    const file = path.join(repo, '.git', 'hooks', name);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^stepper_node=.*$/m, `stepper_node='${recorder}'`));
  }

  const start = await stepper(user, repo, ['daemon', 'start'], { STEPPER_DAEMON_HEARTBEAT_MS: '600000' });
  expect(start.code, start.stderr).toBe(0);
  const hintsDir = path.join(user.dataDir, 'spool', 'hooks');
  const liveFile = path.join(user.dataDir, 'daemon.live');
  await waitFor(() => fs.existsSync(liveFile), 'daemon.live');
  return { user, repo, hintsDir, liveFile, kickRecord };
}

function daemonPid(setup: Setup): number {
  return Number(fs.readFileSync(setup.liveFile, 'utf8').split(' ')[0]);
}

function daemonLog(setup: Setup): string {
  return fs.readFileSync(path.join(setup.user.dataDir, 'daemon.log'), 'utf8');
}

function kickPending(setup: Setup): boolean {
  return fs.existsSync(path.join(setup.hintsDir, 'kick.pending'));
}

/** Waits for the recorder to run, then clears what the recorded kick left, which no real kick removes here. */
async function waitForRecordedKick(setup: Setup): Promise<string> {
  await waitFor(() => fs.existsSync(setup.kickRecord), 'the kick');
  fs.rmSync(path.join(setup.hintsDir, 'kick.pending'), { force: true });
  for (const name of fs.readdirSync(setup.hintsDir).filter((entry) => entry.endsWith('.hint'))) {
    fs.rmSync(path.join(setup.hintsDir, name));
  }
  return fs.readFileSync(setup.kickRecord, 'utf8');
}

/** True once `pid` has exited, also when no parent has reaped it yet. */
function hasExited(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return true;
  }
}

describe('daemon hint watch', () => {
  it('daemon.live names the daemon and a descriptor of itself', async () => {
    const setup = await setUp();

    const [pid, fd] = fs.readFileSync(setup.liveFile, 'utf8').trim().split(' ');

    expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('daemon');
    expect(fs.statSync(`/proc/${pid}/fd/${fd}`).ino).toBe(fs.statSync(setup.liveFile).ino);
    expect(fs.statSync(setup.liveFile).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(setup.user.dataDir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(fs.readdirSync(setup.hintsDir)).toEqual([]);
  });

  it('commit becomes a report without a kick', async () => {
    const setup = await setUp();

    const { result, sha } = await commitAll(setup.user, setup.repo, { 'a.txt': 'a\n' }, 'Add a');

    expect(result.code, result.stderr).toBe(0);
    expect(kickPending(setup)).toBe(false);
    const status = await waitForReports(setup.user, setup.repo, [sha]);
    expect(jobsOf(status, sha).map((job) => job.state)).toEqual(['completed']);
    const [job] = jobsOf(status, sha);
    expect(daemonLog(setup)).toContain(`hook hints: 1 read, 1 job queued (${job?.id})`);
    // A kick starts a second after its commit, so by now it would have left a record.
    await sleep(1500);
    expect(fs.existsSync(setup.kickRecord)).toBe(false);
    expect(kickPending(setup)).toBe(false);
  });

  it('five quick commits: five reports, no kick', async () => {
    const setup = await setUp();
    const shas: string[] = [];

    for (let index = 0; index < 5; index += 1) {
      const { result, sha } = await commitAll(setup.user, setup.repo, { [`file-${index}.txt`]: `${index}\n` }, `Add file ${index}`);
      expect(result.code, result.stderr).toBe(0);
      shas.push(sha);
    }

    const status = await waitForReports(setup.user, setup.repo, shas);
    for (const sha of shas) {
      expect(jobsOf(status, sha).map((job) => job.state)).toEqual(['completed']);
    }
    expect(fs.existsSync(setup.kickRecord)).toBe(false);
  });

  it('half-written hint is read once complete', async () => {
    const setup = await setUp();
    // A commit made without the hook, whose hint the test writes in two steps.
    git(setup.user, setup.repo, ['-c', 'core.hooksPath=/dev/null', 'commit', '-q', '--allow-empty', '-m', 'Empty']);
    const sha = git(setup.user, setup.repo, ['rev-parse', 'HEAD']).trim();
    const hint = path.join(setup.hintsDir, '99999-0.hint');

    fs.writeFileSync(hint, `stepper-hint 1\nevent post-commit\ngitdir ${path.join(setup.repo, '.git')}\n`);
    // Long enough for the scan after the watch events to have seen the half.
    await sleep(500);
    const whileHalf = jobsOf(await readStatus(setup.user, setup.repo), sha);
    const keptWhileHalf = fs.existsSync(hint);
    fs.appendFileSync(hint, `commit ${sha}\nend\n`);

    expect(whileHalf).toEqual([]);
    expect(keptWhileHalf).toBe(true);
    const status = await waitForReports(setup.user, setup.repo, [sha]);
    expect(jobsOf(status, sha).map((job) => job.state)).toEqual(['completed']);
    expect(fs.existsSync(hint)).toBe(false);
  });

  it('commit while the daemon exits is reported', async () => {
    const setup = await setUp();
    const pid = daemonPid(setup);

    // A stopped daemon is still alive for the hook, which therefore starts no kick. The
    // SIGTERM is handled on SIGCONT, before the watcher's debounced scan.
    process.kill(pid, 'SIGSTOP');
    let sha: string;
    try {
      const commit = await commitAll(setup.user, setup.repo, { 'e.txt': 'e\n' }, 'Add e');
      expect(commit.result.code, commit.result.stderr).toBe(0);
      sha = commit.sha;
      expect(kickPending(setup)).toBe(false);
      process.kill(pid, 'SIGTERM');
    } finally {
      process.kill(pid, 'SIGCONT');
    }

    const status = await waitForReports(setup.user, setup.repo, [sha]);
    expect(jobsOf(status, sha).map((job) => job.state)).toEqual(['completed']);
    expect(daemonLog(setup)).toContain('for the jobs enqueued while exiting');
    expect(fs.existsSync(setup.kickRecord)).toBe(false);
  });

  it('orderly stop removes daemon.live', async () => {
    const setup = await setUp();

    const stop = await stepper(setup.user, setup.repo, ['daemon', 'stop']);

    expect(stop.code, stop.stderr).toBe(0);
    expect(fs.existsSync(setup.liveFile)).toBe(false);
    const { sha } = await commitAll(setup.user, setup.repo, { 'f.txt': 'f\n' }, 'Add f');
    expect(kickPending(setup)).toBe(true);
    expect(await waitForRecordedKick(setup)).toContain(setup.user.dataDir);
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
  });

  it('SIGKILLed daemon: the next commit kicks', async () => {
    const setup = await setUp();
    const pid = daemonPid(setup);

    process.kill(pid, 'SIGKILL');
    await waitFor(() => hasExited(pid), 'the daemon to exit');
    await commitAll(setup.user, setup.repo, { 'g.txt': 'g\n' }, 'Add g');

    expect(fs.existsSync(setup.liveFile)).toBe(true);
    expect(kickPending(setup)).toBe(true);
    expect(await waitForRecordedKick(setup)).toContain(setup.user.dataDir);
  });
});
