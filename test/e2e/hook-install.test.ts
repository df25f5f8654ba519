import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { type E2eUser, ROOT, chatRequests, commitAll, git, hookLog, initRepository, jobsOf, run, startUser, stepper, waitForReports } from '../helpers/e2e.js';

/** A user's own post-commit hook: it prints a line and records each commit it saw. */
const USER_HOOK = '#!/bin/sh\necho "user hook saw $(git rev-parse --short HEAD)"\ngit rev-parse HEAD >> "$(git rev-parse --git-dir)/user-hook.log"\n';

/**
 * Creates the repository and a twin without stepper: the same user hook, identity, contents
 * and dates give both the same commit ids, so git's output of the twin is what git prints
 * without stepper.
 */
function makeRepositories(user: E2eUser, hooksPath: string | undefined): { repo: string; twin: string } {
  const dirs = { repo: path.join(user.root, 'repo'), twin: path.join(user.root, 'twin') };
  for (const dir of Object.values(dirs)) {
    initRepository(user, dir);
    const hooksDir = hooksPath === undefined ? path.join(dir, '.git', 'hooks') : path.join(dir, hooksPath);
    if (hooksPath !== undefined) {
      git(user, dir, ['config', 'core.hooksPath', hooksPath]);
    }
    fs.mkdirSync(hooksDir, { recursive: true });
    fs.writeFileSync(path.join(hooksDir, 'post-commit'), USER_HOOK, { mode: 0o755 });
  }

  return dirs;
}

function userHookLog(dir: string): string[] {
  return fs.readFileSync(path.join(dir, '.git', 'user-hook.log'), 'utf8').trim().split('\n');
}

/** Makes three commits in both repositories, checks git's output, and returns the new ids. */
async function commitThree(user: E2eUser, dirs: { repo: string; twin: string }): Promise<string[]> {
  const shas: string[] = [];
  for (let index = 0; index < 3; index += 1) {
    const files = { [`src/file-${index}.ts`]: `export const value${index} = ${index};\n` };
    const message = `feat: add value ${index}`;
    const withStepper = await commitAll(user, dirs.repo, files, message, { index });
    const without = await commitAll(user, dirs.twin, files, message, { index });

    expect(withStepper.sha).toBe(without.sha);
    expect(withStepper.result.code).toBe(0);
    expect(withStepper.result.stdout).toBe(without.result.stdout);
    expect(withStepper.result.stderr).toBe(without.result.stderr);
    expect(withStepper.result.stdout).toContain(`[main `);
    // git sends a post-commit hook's output to its stderr.
    expect(withStepper.result.stderr).toContain(`user hook saw ${withStepper.sha.slice(0, 7)}`);
    shas.push(withStepper.sha);
  }

  return shas;
}

describe('hook beside a user hook', () => {
  it('keeps the user hook in .git/hooks and reports each commit', async () => {
    const user = await startUser();
    const dirs = makeRepositories(user, undefined);

    const install = await stepper(user, dirs.repo, ['hook', 'install']);
    expect(install.code, install.stderr).toBe(0);
    const hookFile = fs.readFileSync(path.join(dirs.repo, '.git', 'hooks', 'post-commit'), 'utf8');
    expect(hookFile.startsWith(USER_HOOK)).toBe(true);
    expect(hookFile).toContain('# >>> stepper hook >>>');

    const shas = await commitThree(user, dirs);

    expect(userHookLog(dirs.repo)).toEqual(shas);
    const status = await waitForReports(user, dirs.repo, shas);
    expect(shas.map((sha) => jobsOf(status, sha).length)).toEqual([1, 1, 1]);
    expect(status.counts.failed).toBe(0);
    expect(chatRequests(user)).toBe(3);
    const showOutput = await stepper(user, dirs.repo, ['show', shas[2] as string]);
    expect(showOutput.code, showOutput.stderr).toBe(0);
    expect(showOutput.stdout).toContain(`commit ${shas[2]}  feat: add value 2`);
  });

  it('installs into a relative core.hooksPath and reports each commit', async () => {
    const user = await startUser();
    const dirs = makeRepositories(user, '.githooks');

    const install = await stepper(user, dirs.repo, ['hook', 'install']);
    expect(install.code, install.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dirs.repo, '.githooks', 'post-commit'), 'utf8')).toContain('# >>> stepper hook >>>');
    expect(fs.existsSync(path.join(dirs.repo, '.githooks', 'post-rewrite'))).toBe(true);
    expect(fs.existsSync(path.join(dirs.repo, '.git', 'hooks', 'post-commit'))).toBe(false);

    const shas = await commitThree(user, dirs);

    expect(userHookLog(dirs.repo)).toEqual(shas);
    const status = await waitForReports(user, dirs.repo, shas);
    expect(shas.map((sha) => jobsOf(status, sha).length)).toEqual([1, 1, 1]);
    expect(status.counts.failed).toBe(0);
    const hookStatus = await stepper(user, dirs.repo, ['hook', 'status', '--json']);
    expect(hookStatus.code, hookStatus.stderr).toBe(0);
    expect(hookStatus.stdout).toContain(path.join(dirs.repo, '.githooks', 'post-commit'));
  });
});

/**
 * Copies the built stepper into `dir`, as a user who installs the hook from a second copy
 * does. The copy loads its packages from this checkout's node_modules.
 */
function copyStepper(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const name of ['bin', 'dist', 'package.json']) {
    fs.cpSync(path.join(ROOT, name), path.join(dir, name), { recursive: true });
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  return path.join(dir, 'bin', 'stepper.js');
}

interface HookStatusJson {
  pendingHints: number;
  kickPending: boolean;
  hintReader: string;
  ok: boolean;
  failures: Array<{ message: string }>;
  warnings: string[];
}

describe('hook installed from a deleted stepper copy', () => {
  it('stuck hint fails status, install recovers', async () => {
    const user = await startUser();
    const repo = initRepository(user, path.join(user.root, 'repo'));
    const copy = path.join(user.root, 'stepper-copy');
    const install = await run(user, repo, process.execPath, [copyStepper(copy), 'hook', 'install']);
    expect(install.code, install.stderr).toBe(0);
    fs.rmSync(copy, { recursive: true });

    const { sha } = await commitAll(user, repo, { 'a.txt': 'a\n' }, 'feat: add a');
    const kickFailed = () => hookLog(user).some((line) => line.includes(`${copy}/dist/hook/kick.js is missing`));
    for (let attempt = 0; attempt < 100 && !kickFailed(); attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const before = await stepper(user, repo, ['hook', 'status', '--json']);
    const stuck = JSON.parse(before.stdout) as HookStatusJson;
    expect(kickFailed()).toBe(true);
    expect(before.code).toBe(1);
    expect(stuck).toMatchObject({ pendingHints: 1, kickPending: false, hintReader: 'none', ok: false });
    expect(stuck.warnings).toContain(
      `1 hint waits in ${path.join(user.dataDir, 'spool', 'hooks')}, but no kick will run and no daemon runs to read it: run stepper daemon start, which reads it`,
    );

    const reinstall = await stepper(user, repo, ['hook', 'install']);
    expect(reinstall.code, reinstall.stderr).toBe(0);
    expect(reinstall.stdout).toMatch(/^read 1 hint that was waiting with no kick or daemon to read it: queued 1 report job; the daemon \(pid \d+\) runs it$/m);

    const status = await waitForReports(user, repo, [sha]);
    expect(jobsOf(status, sha).map((job) => job.state)).toEqual(['completed']);
    const after = await stepper(user, repo, ['hook', 'status', '--json']);
    expect(after.code, after.stdout).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ pendingHints: 0, ok: true, failures: [], warnings: [] });
  });
});
