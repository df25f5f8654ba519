import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { DEFAULT_MODEL } from '../../src/ollama/model.js';
import { openQueue } from '../../src/queue/queue.js';
import type { Job } from '../../src/queue/types.js';
import { type Sandbox, commitFile, eventually, git, head, makeSandbox, runKick, stepper, stubKick } from './sandbox.js';

function readJobs(sandbox: Sandbox): Job[] {
  const queue = openQueue({ dataDir: sandbox.dataDir });
  try {
    return queue.getJobs();
  } finally {
    queue.close();
  }
}

function hintFiles(sandbox: Sandbox): string[] {
  return fs.readdirSync(sandbox.hintsDir).filter((name) => name.endsWith('.hint'));
}

function hookLog(sandbox: Sandbox): string {
  return fs.readFileSync(path.join(sandbox.dataDir, 'hook.log'), 'utf8');
}

function writeHint(sandbox: Sandbox, name: string, lines: string[]): string {
  fs.mkdirSync(sandbox.hintsDir, { recursive: true });
  const file = path.join(sandbox.hintsDir, name);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

async function installStubbed(sandbox: Sandbox): Promise<void> {
  const result = await stepper(sandbox, sandbox.repo, ['hook', 'install']);
  expect(result.code, result.stderr).toBe(0);
  stubKick(sandbox, path.join(sandbox.repo, '.git', 'hooks'));
}

describe('hook kick', () => {
  it('turns a commit hint into a report job', async () => {
    const sandbox = makeSandbox();
    await installStubbed(sandbox);
    const sha = commitFile(sandbox, sandbox.repo, 'a.txt', 'a\n', 'Add a');
    fs.writeFileSync(path.join(sandbox.hintsDir, 'kick.pending'), '1\n');

    const result = await runKick(sandbox);

    expect(result.code, result.stderr).toBe(0);
    const jobs = readJobs(sandbox);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      kind: 'report',
      repository: fs.realpathSync(path.join(sandbox.repo, '.git')),
      commitSha: sha,
      priority: 2,
      payload: { model: DEFAULT_MODEL },
    });
    expect(hintFiles(sandbox)).toEqual([]);
    expect(fs.existsSync(path.join(sandbox.hintsDir, 'kick.pending'))).toBe(false);
    expect(hookLog(sandbox)).toMatch(/^\S+Z info post-commit .*: enqueued 1 report job \([0-9a-f]{12}\)\n$/);
  });

  it('enqueues a rewrite at low priority, once per commit', async () => {
    const sandbox = makeSandbox();
    const sha = head(sandbox, sandbox.repo);
    writeHint(sandbox, '1-0.hint', ['stepper-hint 1', 'event post-rewrite rebase', `gitdir ${sandbox.repo}/.git`, `commit ${sha}`, `commit ${sha}`, 'end']);

    await runKick(sandbox);

    const jobs = readJobs(sandbox);
    expect(jobs.map((job) => [job.commitSha, job.priority])).toEqual([[sha, 3]]);
  });

  it('reads the model from git config', async () => {
    const sandbox = makeSandbox();
    git(sandbox, sandbox.repo, ['config', 'stepper.model', 'llama3.2:3b']);
    writeHint(sandbox, '1-0.hint', ['stepper-hint 1', 'event post-commit', `gitdir ${sandbox.repo}/.git`, `commit ${head(sandbox, sandbox.repo)}`, 'end']);

    await runKick(sandbox);

    expect(readJobs(sandbox)[0]?.payload).toEqual({ model: 'llama3.2:3b', subject: git(sandbox, sandbox.repo, ['log', '-1', '--format=%s']).trim() });
  });

  it('names the common git directory for a worktree commit', async () => {
    const sandbox = makeSandbox();
    await installStubbed(sandbox);
    const worktree = path.join(sandbox.root, 'wt');
    git(sandbox, sandbox.repo, ['worktree', 'add', '-q', '-b', 'feature', worktree]);
    for (const name of hintFiles(sandbox)) {
      fs.rmSync(path.join(sandbox.hintsDir, name));
    }
    const sha = commitFile(sandbox, worktree, 'b.txt', 'b\n', 'Add b');

    await runKick(sandbox, { GIT_DIR: path.join(sandbox.repo, '.git', 'worktrees', 'wt') });

    expect(readJobs(sandbox).map((job) => [job.repository, job.commitSha])).toEqual([[fs.realpathSync(path.join(sandbox.repo, '.git')), sha]]);
  });

  it('keeps a hint still being written', async () => {
    const sandbox = makeSandbox();
    const file = writeHint(sandbox, '1-0.hint', ['stepper-hint 1', 'event post-commit', `gitdir ${sandbox.repo}/.git`]);

    await runKick(sandbox);

    expect(fs.existsSync(file)).toBe(true);
    expect(fs.existsSync(path.join(sandbox.dataDir, 'stepper.db'))).toBe(false);
  });

  it('removes and logs a hint left incomplete', async () => {
    const sandbox = makeSandbox();
    const file = writeHint(sandbox, '1-0.hint', ['stepper-hint 1', 'event post-commit']);
    const old = new Date(Date.now() - 30 * 60_000);
    fs.utimesSync(file, old, old);

    await runKick(sandbox);

    expect(fs.existsSync(file)).toBe(false);
    expect(hookLog(sandbox)).toMatch(/ error hint 1-0\.hint removed: incomplete for 30 minutes/);
  });

  it('removes and logs an invalid hint', async () => {
    const sandbox = makeSandbox();
    const file = writeHint(sandbox, '1-0.hint', ['stepper-hint 1', 'event post-commit', `gitdir ${sandbox.repo}/.git`, 'commit not-an-id', 'end']);

    await runKick(sandbox);

    expect(fs.existsSync(file)).toBe(false);
    expect(hookLog(sandbox)).toContain('error hint 1-0.hint removed: invalid line "commit not-an-id"');
  });

  it('removes and logs a hint of a deleted repository', async () => {
    const sandbox = makeSandbox();
    const sha = head(sandbox, sandbox.repo);
    const file = writeHint(sandbox, '1-0.hint', ['stepper-hint 1', 'event post-commit', `gitdir ${sandbox.root}/gone/.git`, `commit ${sha}`, 'end']);

    await runKick(sandbox);

    expect(fs.existsSync(file)).toBe(false);
    expect(hookLog(sandbox)).toContain('error hint 1-0.hint removed: not a git repository');
  });

  it('enqueues from a real commit without help', async () => {
    const sandbox = makeSandbox();
    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    expect(result.code, result.stderr).toBe(0);

    const sha = commitFile(sandbox, sandbox.repo, 'c.txt', 'c\n', 'Add c');

    // The kick starts a second after the commit; STEPPER_NO_DAEMON keeps it from starting a daemon.
    // A read that meets the kick's write lock is tried again at the next poll.
    const hasOneJob = () => {
      try {
        return fs.existsSync(path.join(sandbox.dataDir, 'stepper.db')) && readJobs(sandbox).length === 1;
      } catch {
        return false;
      }
    };
    await eventually(hasOneJob, 600);
    expect(readJobs(sandbox)[0]?.commitSha).toBe(sha);
    await eventually(() => hintFiles(sandbox).length === 0 && !fs.existsSync(path.join(sandbox.hintsDir, 'kick.pending')), 600);
  });
});
