// Hints that no kick or daemon will read: `hook status` reports them and exits with 1, and
// `hook install` reads them. The hooks run for real; a missing kick script replaces a
// deleted stepper copy, and a program that sleeps in place of node keeps a kick pending.
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { acquireDaemonLock } from '../../src/daemon/lock.js';
import { openQueue } from '../../src/queue/queue.js';
import { type Sandbox, commitFile, eventually, git, makeSandbox, readHints, stepper } from './sandbox.js';

const pendingKicks: number[] = [];

afterEach(() => {
  for (const pid of pendingKicks.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // The kick stand-in has exited already.
    }
  }
});

interface StatusJson {
  pendingHints: number;
  kickPending: boolean;
  kickPid?: number;
  hintReader: string;
  ok: boolean;
  hooks: Array<{ working: boolean }>;
  failures: Array<{ message: string }>;
  warnings: string[];
}

function hooksDir(repo: string): string {
  return path.join(repo, '.git', 'hooks');
}

/** Points the installed hooks at `kick`, as an install from a stepper copy that was deleted since leaves them. */
function recordKick(repo: string, kick: string): void {
  for (const name of ['post-commit', 'post-rewrite']) {
    const file = path.join(hooksDir(repo), name);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^stepper_kick=.*$/m, `stepper_kick='${kick}'`));
  }
}

function hookLog(sandbox: Sandbox): string {
  try {
    return fs.readFileSync(path.join(sandbox.dataDir, 'hook.log'), 'utf8');
  } catch {
    return '';
  }
}

/** Installs the hooks, deletes the kick script they run, commits, and waits until the kick has failed. */
async function commitWithMissingKick(sandbox: Sandbox, repo: string, name: string): Promise<string> {
  const install = await stepper(sandbox, repo, ['hook', 'install']);
  expect(install.code, install.stderr).toBe(0);
  const missing = path.join(sandbox.root, `deleted-copy-of-${path.basename(repo)}`, 'kick.js');
  recordKick(repo, missing);

  const sha = commitFile(sandbox, repo, name, `${name}\n`, `Add ${name}`);
  await eventually(() => hookLog(sandbox).includes(`${missing} is missing`), 200);
  return sha;
}

async function readStatus(sandbox: Sandbox, repo: string): Promise<{ code: number | null; status: StatusJson }> {
  const result = await stepper(sandbox, repo, ['hook', 'status', '--json']);
  return { code: result.code, status: JSON.parse(result.stdout) as StatusJson };
}

function readJobs(sandbox: Sandbox): Array<{ commitSha: string }> {
  const queue = openQueue({ dataDir: sandbox.dataDir });
  try {
    return queue.getJobs();
  } finally {
    queue.close();
  }
}

/** Installs the hooks with a stand-in for node that sleeps, commits, and returns the pid of the pending kick. */
async function commitWithPendingKick(sandbox: Sandbox): Promise<number> {
  const install = await stepper(sandbox, sandbox.repo, ['hook', 'install']);
  expect(install.code, install.stderr).toBe(0);
  const slowNode = path.join(sandbox.root, 'slow-node');
  fs.writeFileSync(slowNode, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
  for (const name of ['post-commit', 'post-rewrite']) {
    const file = path.join(hooksDir(sandbox.repo), name);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^stepper_node=.*$/m, `stepper_node='${slowNode}'`));
  }

  commitFile(sandbox, sandbox.repo, 'slow.txt', 'slow\n', 'Add slow');
  const pid = Number(fs.readFileSync(path.join(sandbox.hintsDir, 'kick.pending'), 'utf8').trim());
  pendingKicks.push(pid);
  return pid;
}

describe('hook status with waiting hints', () => {
  it('says no kick will run after a failed kick', async () => {
    const sandbox = makeSandbox();
    await commitWithMissingKick(sandbox, sandbox.repo, 'a.txt');
    const marker = Number(fs.readFileSync(path.join(sandbox.hintsDir, 'kick.pending'), 'utf8').trim());

    const { code, status } = await readStatus(sandbox, sandbox.repo);
    const text = await stepper(sandbox, sandbox.repo, ['hook', 'status']);

    expect(marker).toBeGreaterThan(0);
    expect(code).toBe(1);
    expect(status.pendingHints).toBe(1);
    expect(status.kickPending).toBe(false);
    expect(status.hintReader).toBe('none');
    expect(status.ok).toBe(false);
    expect(status.hooks.map((hook) => hook.working)).toEqual([false, false]);
    expect(status.warnings).toContain(
      `1 hint waits in ${sandbox.hintsDir}, but no kick will run and no daemon runs to read it: run stepper daemon start, which reads it`,
    );
    expect(status.failures.map((failure) => failure.message)).toEqual([expect.stringMatching(/^kick cannot start: .* is missing; run stepper hook install again$/)]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('hints waiting: 1 (no kick or daemon will read them, see the warning below)\n');
    expect(text.stdout).not.toContain('a kick is pending');
  });

  it('names a kick whose process runs', async () => {
    const sandbox = makeSandbox();
    const pid = await commitWithPendingKick(sandbox);

    const { code, status } = await readStatus(sandbox, sandbox.repo);
    const text = await stepper(sandbox, sandbox.repo, ['hook', 'status']);

    expect(code).toBe(0);
    expect(status).toMatchObject({ pendingHints: 1, kickPending: true, kickPid: pid, hintReader: 'kick', ok: true });
    expect(status.warnings).toEqual([]);
    expect(text.stdout).toContain(`hints waiting: 1 (a kick is pending, pid ${pid})\n`);
  });

  it('counts a daemon holding its lock as the reader', async () => {
    const sandbox = makeSandbox();
    await commitWithMissingKick(sandbox, sandbox.repo, 'a.txt');
    const lock = acquireDaemonLock(sandbox.dataDir, 0);
    expect(lock).toBeDefined();

    try {
      const { status } = await readStatus(sandbox, sandbox.repo);
      const text = await stepper(sandbox, sandbox.repo, ['hook', 'status']);

      expect(status.hintReader).toBe('daemon');
      expect(status.kickPending).toBe(false);
      expect(status.warnings.some((warning) => warning.includes('no kick will run'))).toBe(false);
      expect(text.stdout).toContain('hints waiting: 1 (the daemon reads them)\n');
    } finally {
      lock?.release();
    }
  });
});

describe('hook install with waiting hints', () => {
  it('reads hints no kick would read', async () => {
    const sandbox = makeSandbox();
    const sha = await commitWithMissingKick(sandbox, sandbox.repo, 'a.txt');

    // STEPPER_NO_DAEMON=1 in the sandbox: the hints become jobs and no daemon starts.
    const json = await stepper(sandbox, sandbox.repo, ['hook', 'install', '--json']);

    expect(json.code, json.stderr).toBe(0);
    const result = JSON.parse(json.stdout) as { waitingHints?: Record<string, unknown>; warnings: string[] };
    expect(result.waitingHints).toEqual({ enqueued: 1, jobs: 1, dropped: 0, remaining: 0 });
    expect(result.warnings).toEqual([]);
    expect(readHints(sandbox)).toEqual([]);
    expect(fs.existsSync(path.join(sandbox.hintsDir, 'kick.pending'))).toBe(false);
    expect(readJobs(sandbox).map((job) => job.commitSha)).toEqual([sha]);

    const { code, status } = await readStatus(sandbox, sandbox.repo);
    expect(code).toBe(0);
    expect(status.ok).toBe(true);
    expect(status.pendingHints).toBe(0);
    // The failure named the kick path that the reinstalled hooks no longer run.
    expect(status.failures).toEqual([]);
  });

  it('prints what it did with the hints', async () => {
    const sandbox = makeSandbox();
    await commitWithMissingKick(sandbox, sandbox.repo, 'a.txt');

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install']);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('read 1 hint that was waiting with no kick or daemon to read it: queued 1 report job\n');
  });

  it('leaves hints to a pending kick', async () => {
    const sandbox = makeSandbox();
    await commitWithPendingKick(sandbox);

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install', '--json']);

    expect(result.code, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as { waitingHints?: unknown }).waitingHints).toBeUndefined();
    expect(readHints(sandbox)).toHaveLength(1);
  });
});

describe('hook status failures from hook.log', () => {
  it("hides another repository's kick failure", async () => {
    const sandbox = makeSandbox();
    const other = path.join(sandbox.root, 'other');
    fs.mkdirSync(other);
    git(sandbox, other, ['init', '-q', '-b', 'main']);
    git(sandbox, other, ['config', 'user.name', 'Hook Tester']);
    git(sandbox, other, ['config', 'user.email', 'hook@example.com']);
    await commitWithMissingKick(sandbox, other, 'o.txt');
    const install = await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    expect(install.code, install.stderr).toBe(0);

    const thisRepository = await readStatus(sandbox, sandbox.repo);
    const otherRepository = await readStatus(sandbox, other);

    expect(thisRepository.status.failures).toEqual([]);
    expect(otherRepository.status.failures).toEqual([{ time: undefined, message: expect.stringContaining('deleted-copy-of-other') }]);
  });

  it('filters hint failures by git directory', async () => {
    const sandbox = makeSandbox();
    const worktree = path.join(sandbox.root, 'wt');
    git(sandbox, sandbox.repo, ['worktree', 'add', '-q', '-b', 'feature', worktree]);
    const own = path.join(sandbox.repo, '.git');
    const spool = path.join(sandbox.dataDir, 'spool', 'hooks');
    fs.mkdirSync(sandbox.dataDir, { recursive: true });
    // The lines the shell block writes when it cannot create a hint file.
    fs.writeFileSync(
      path.join(sandbox.dataDir, 'hook.log'),
      [
        `- error post-commit cannot write a hint file into ${spool} for ${sandbox.root}/elsewhere/.git`,
        `- error post-commit cannot write a hint file into ${spool} for ${own}`,
        `- error post-rewrite cannot write a hint file into ${spool} for ${own}/worktrees/wt`,
        '2026-01-01T00:00:00.000Z error hint 1-0.hint removed: no commit ids',
        '',
      ].join('\n'),
    );

    const { status } = await readStatus(sandbox, worktree);

    expect(status.failures.map((failure) => failure.message)).toEqual([
      `post-commit cannot write a hint file into ${spool} for ${own}`,
      `post-rewrite cannot write a hint file into ${spool} for ${own}/worktrees/wt`,
      'hint 1-0.hint removed: no commit ids',
    ]);
  });
});

describe('hook status exit status', () => {
  it('exits 0 when hooks are not installed', async () => {
    const sandbox = makeSandbox();

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'status']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('post-commit: not installed');
  });

  it('exits 1 for a missing node binary', async () => {
    const sandbox = makeSandbox();
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const file = path.join(hooksDir(sandbox.repo), 'post-commit');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^stepper_node=.*$/m, "stepper_node='/nonexistent/node'"));

    const { code, status } = await readStatus(sandbox, sandbox.repo);

    expect(code).toBe(1);
    expect(status.ok).toBe(false);
    expect(status.hooks.map((hook) => hook.working)).toEqual([false, true]);
  });

  it('exits 1 for a hook git does not run', async () => {
    const sandbox = makeSandbox();
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    fs.chmodSync(path.join(hooksDir(sandbox.repo), 'post-rewrite'), 0o644);

    const { code, status } = await readStatus(sandbox, sandbox.repo);

    expect(code).toBe(1);
    expect(status.hooks.map((hook) => hook.working)).toEqual([true, false]);
  });
});
