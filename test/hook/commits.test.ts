import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { waitForExit } from '../helpers/processes.js';
import { KICK, type Sandbox, clearHints, commitFile, git, head, makeSandbox, readHints, stepper, stubKick } from './sandbox.js';

/** Installs the hooks with the CLI and replaces node by a recorder, so hints stay for the test. */
async function installStubbed(sandbox: Sandbox, hooksDir = path.join(sandbox.repo, '.git', 'hooks')): Promise<string> {
  const result = await stepper(sandbox, sandbox.repo, ['hook', 'install']);
  expect(result.code, result.stderr).toBe(0);
  return stubKick(sandbox, hooksDir);
}

/** Targets of a process's open file descriptors, from Linux's /proc. */
function openDescriptors(pid: string): string[] {
  return fs.readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      return 'closed';
    }
  });
}

describe('hook on commit', () => {
  it('records a commit in one hint', async () => {
    const sandbox = makeSandbox();
    const record = await installStubbed(sandbox);

    const sha = commitFile(sandbox, sandbox.repo, 'a.txt', 'a\n', 'Add a');

    expect(readHints(sandbox)).toEqual([
      expect.objectContaining({ event: 'post-commit', gitDir: path.join(sandbox.repo, '.git'), commits: [sha], complete: true }),
    ]);
    await expect.poll(() => fs.existsSync(record), { timeout: 15_000 }).toBe(true);
    expect(fs.readFileSync(record, 'utf8')).toBe(`${KICK} ${sandbox.dataDir}\n`);
  });

  it('prints nothing and exits 0', async () => {
    const sandbox = makeSandbox();
    await installStubbed(sandbox);
    fs.writeFileSync(path.join(sandbox.repo, 'b.txt'), 'b\n');
    git(sandbox, sandbox.repo, ['add', 'b.txt']);

    const child = spawn('git', ['commit', '-q', '-m', 'Add b'], { cwd: sandbox.repo, env: sandbox.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const result = await waitForExit(child);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('');
  });

  it('leaves no descriptor of git to the kick', async () => {
    const sandbox = makeSandbox();
    await installStubbed(sandbox);
    // A stand-in that stays alive, so the process named in kick.pending still exists when
    // a loaded machine gets to the check only after the hook's one-second sleep.
    fs.writeFileSync(path.join(sandbox.root, 'fake-node'), '#!/bin/sh\nexec sleep 5\n');
    fs.writeFileSync(path.join(sandbox.repo, 'c.txt'), 'c\n');
    git(sandbox, sandbox.repo, ['add', 'c.txt']);

    const child = spawn('git', ['commit', '-q', '-m', 'Add c'], { cwd: sandbox.repo, env: sandbox.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const closed = waitForExit(child);
    await new Promise((resolve) => child.once('exit', resolve));

    // The subshell that waits to start the kick is still sleeping here: it must hold no
    // pipe, or a caller reading git's output would wait for it.
    // Pipes that this test process has open itself were inherited from its parent and do not count.
    const pid = fs.readFileSync(path.join(sandbox.hintsDir, 'kick.pending'), 'utf8').trim();
    const own = new Set(openDescriptors('self'));
    const leakedDescriptors = () => openDescriptors(pid).filter((target) => /^(pipe|socket):/.test(target) && !own.has(target));
    // The hook may exit before its forked subshell has applied `</dev/null >/dev/null 2>&1`,
    // so the check allows it a moment. A real leak lasts through the sleep and the 5 s stand-in.
    let leaked = leakedDescriptors();
    for (let tries = 0; tries < 150 && leaked.length > 0; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      leaked = leakedDescriptors();
    }
    expect(leaked).toEqual([]);
    expect((await closed).code).toBe(0);
  });

  it('records nothing during a rebase of 30 commits, then one hint', async () => {
    const sandbox = makeSandbox();
    const base = head(sandbox, sandbox.repo);
    git(sandbox, sandbox.repo, ['checkout', '-q', '-b', 'topic']);
    for (let index = 0; index < 30; index += 1) {
      commitFile(sandbox, sandbox.repo, `topic-${index}.txt`, `${index}\n`, `Topic commit ${index}`);
    }
    git(sandbox, sandbox.repo, ['checkout', '-q', 'main']);
    commitFile(sandbox, sandbox.repo, 'main.txt', 'main\n', 'Main moves on');
    git(sandbox, sandbox.repo, ['checkout', '-q', 'topic']);
    const record = await installStubbed(sandbox);
    const counts = path.join(sandbox.root, 'hint-counts.txt');

    // The exec line runs after each picked commit, while the rebase is in progress.
    git(sandbox, sandbox.repo, ['rebase', '-q', '--exec', `ls "$HINTS" | grep -c hint >> "$COUNTS" || true`, 'main'], {
      HINTS: sandbox.hintsDir,
      COUNTS: counts,
    });

    const during = fs.readFileSync(counts, 'utf8').trim().split('\n');
    expect(during).toHaveLength(30);
    expect(new Set(during)).toEqual(new Set(['0']));
    const rewritten = git(sandbox, sandbox.repo, ['rev-list', '--reverse', 'main..topic']).trim().split('\n');
    expect(rewritten).toHaveLength(30);
    const hints = readHints(sandbox);
    expect(hints).toHaveLength(1);
    expect(hints[0]?.event).toBe('post-rewrite rebase');
    expect(hints[0]?.commits).toEqual(rewritten);
    expect(git(sandbox, sandbox.repo, ['merge-base', 'main', 'topic']).trim()).not.toBe(base);
    await expect.poll(() => fs.existsSync(record), { timeout: 15_000 }).toBe(true);
    expect(fs.readFileSync(record, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('records an amend once, as the new commit', async () => {
    const sandbox = makeSandbox();
    await installStubbed(sandbox);
    commitFile(sandbox, sandbox.repo, 'd.txt', 'd\n', 'Add d');
    clearHints(sandbox);

    git(sandbox, sandbox.repo, ['commit', '-q', '--amend', '-m', 'Add d, reworded']);

    expect(readHints(sandbox)).toEqual([expect.objectContaining({ event: 'post-commit', commits: [head(sandbox, sandbox.repo)] })]);
  });

  it('records each commit of a cherry-pick range', async () => {
    const sandbox = makeSandbox();
    git(sandbox, sandbox.repo, ['checkout', '-q', '-b', 'side']);
    for (let index = 0; index < 3; index += 1) {
      commitFile(sandbox, sandbox.repo, `side-${index}.txt`, `${index}\n`, `Side ${index}`);
    }
    git(sandbox, sandbox.repo, ['checkout', '-q', 'main']);
    await installStubbed(sandbox);

    git(sandbox, sandbox.repo, ['cherry-pick', 'main..side']);

    const picked = git(sandbox, sandbox.repo, ['rev-list', '--reverse', 'HEAD~3..HEAD']).trim().split('\n');
    expect(readHints(sandbox).flatMap((hint) => hint.commits).sort()).toEqual([...picked].sort());
  });

  it('works under env -i with a minimal PATH', async () => {
    const sandbox = makeSandbox();
    const record = await installStubbed(sandbox);
    fs.writeFileSync(path.join(sandbox.repo, 'e.txt'), 'e\n');
    git(sandbox, sandbox.repo, ['add', 'e.txt']);

    execFileSync('env', ['-i', 'PATH=/usr/bin:/bin', 'git', 'commit', '-q', '-m', 'Add e'], { cwd: sandbox.repo, stdio: 'ignore' });

    // Without HOME or STEPPER_HOME, the hook uses the data directory resolved at install time.
    expect(readHints(sandbox)).toEqual([expect.objectContaining({ event: 'post-commit', commits: [head(sandbox, sandbox.repo)] })]);
    await expect.poll(() => fs.existsSync(record), { timeout: 15_000 }).toBe(true);
    expect(fs.readFileSync(record, 'utf8')).toContain(sandbox.dataDir);
  });

  it('uses the install STEPPER_HOME under env -i with HOME', async () => {
    const sandbox = makeSandbox();
    const record = await installStubbed(sandbox);
    fs.writeFileSync(path.join(sandbox.repo, 'g.txt'), 'g\n');
    git(sandbox, sandbox.repo, ['add', 'g.txt']);

    execFileSync('env', ['-i', 'PATH=/usr/bin:/bin', `HOME=${sandbox.env.HOME}`, 'git', 'commit', '-q', '-m', 'Add g'], { cwd: sandbox.repo, stdio: 'ignore' });

    // HOME alone would lead to $HOME/.local/state/stepper, a second queue that status does not show.
    expect(readHints(sandbox)).toEqual([expect.objectContaining({ event: 'post-commit', commits: [head(sandbox, sandbox.repo)] })]);
    expect(fs.existsSync(path.join(sandbox.env.HOME as string, '.local', 'state', 'stepper'))).toBe(false);
    await expect.poll(() => fs.existsSync(record), { timeout: 15_000 }).toBe(true);
    expect(fs.readFileSync(record, 'utf8')).toContain(sandbox.dataDir);
  });

  it('records a commit in a linked worktree', async () => {
    const sandbox = makeSandbox();
    await installStubbed(sandbox);
    const worktree = path.join(sandbox.root, 'wt');
    git(sandbox, sandbox.repo, ['worktree', 'add', '-q', '-b', 'feature', worktree]);
    clearHints(sandbox);

    const sha = commitFile(sandbox, worktree, 'f.txt', 'f\n', 'Add f');

    expect(readHints(sandbox)).toEqual([
      expect.objectContaining({ event: 'post-commit', gitDir: path.join(sandbox.repo, '.git', 'worktrees', 'wt'), commits: [sha] }),
    ]);
    expect(head(sandbox, sandbox.repo)).not.toBe(sha);
  });

  it('reads the id with git for a symbolic-link HEAD', async () => {
    const sandbox = makeSandbox();
    await installStubbed(sandbox);
    // Git still accepts HEAD as a symbolic link, which the hook does not follow itself.
    const headFile = path.join(sandbox.repo, '.git', 'HEAD');
    fs.rmSync(headFile);
    fs.symlinkSync('refs/heads/main', headFile);

    const sha = commitFile(sandbox, sandbox.repo, 'g.txt', 'g\n', 'Add g');

    expect(fs.lstatSync(headFile).isSymbolicLink()).toBe(true);
    expect(readHints(sandbox)).toEqual([expect.objectContaining({ commits: [sha] })]);
  });

  it('records a detached HEAD commit', async () => {
    const sandbox = makeSandbox();
    await installStubbed(sandbox);
    git(sandbox, sandbox.repo, ['checkout', '-q', '--detach']);

    const sha = commitFile(sandbox, sandbox.repo, 'i.txt', 'i\n', 'Add i');

    expect(readHints(sandbox)).toEqual([expect.objectContaining({ commits: [sha] })]);
  });

  it.each(['/bin/dash', '/bin/bash'])('runs the block under %s', async (shell) => {
    const sandbox = makeSandbox();
    await installStubbed(sandbox);
    const file = path.join(sandbox.repo, '.git', 'hooks', 'post-commit');
    // set -eu as a strict user hook would have it: the block must neither stop nor fail.
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^#!\/bin\/sh\n/, `#!${shell}\nset -eu\n`));

    const sha = commitFile(sandbox, sandbox.repo, 'j.txt', 'j\n', 'Add j');

    expect(readHints(sandbox)).toEqual([expect.objectContaining({ commits: [sha], complete: true })]);
  });

  it('creates a missing data directory', async () => {
    const sandbox = makeSandbox();
    await installStubbed(sandbox);
    const elsewhere = path.join(sandbox.root, 'new-data');

    const sha = commitFile(sandbox, sandbox.repo, 'k.txt', 'k\n', 'Add k');
    fs.writeFileSync(path.join(sandbox.repo, 'l.txt'), 'l\n');
    git(sandbox, sandbox.repo, ['add', 'l.txt']);
    git(sandbox, sandbox.repo, ['commit', '-q', '-m', 'Add l'], { STEPPER_HOME: elsewhere });

    expect(readHints(sandbox)[0]?.commits).toEqual([sha]);
    expect(fs.readdirSync(path.join(elsewhere, 'spool', 'hooks')).filter((name) => name.endsWith('.hint'))).toHaveLength(1);
    expect(fs.statSync(elsewhere).mode & 0o777).toBe(0o700);
  });

  it('commits when the data directory cannot be written', async () => {
    const sandbox = makeSandbox();
    await installStubbed(sandbox);
    // A path below a regular file fails for every user, root included.
    const blocker = path.join(sandbox.root, 'a-file');
    fs.writeFileSync(blocker, '');
    fs.writeFileSync(path.join(sandbox.repo, 'm.txt'), 'm\n');
    git(sandbox, sandbox.repo, ['add', 'm.txt']);

    const child = spawn('git', ['commit', '-q', '-m', 'Add m'], {
      cwd: sandbox.repo,
      env: { ...sandbox.env, STEPPER_HOME: path.join(blocker, 'data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result = await waitForExit(child);

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(git(sandbox, sandbox.repo, ['log', '-1', '--format=%s']).trim()).toBe('Add m');
  });

  it('ignores a relative STEPPER_HOME', async () => {
    const sandbox = makeSandbox();
    await installStubbed(sandbox);
    fs.writeFileSync(path.join(sandbox.repo, 'n.txt'), 'n\n');
    git(sandbox, sandbox.repo, ['add', 'n.txt']);

    git(sandbox, sandbox.repo, ['commit', '-q', '-m', 'Add n'], { STEPPER_HOME: 'relative-data' });

    expect(fs.existsSync(path.join(sandbox.repo, 'relative-data'))).toBe(false);
    expect(readHints(sandbox)).toEqual([]);
  });
});
