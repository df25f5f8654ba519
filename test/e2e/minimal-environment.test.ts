import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { type E2eUser, git, hookLog, initRepository, jobsOf, run, startUser, stepper, stepperJson, waitForReports } from '../helpers/e2e.js';

interface DaemonStatusJson {
  running: boolean;
  pid: number | null;
}

/**
 * Creates a repository with the hook installed and a running daemon, and stages one file.
 * The daemon runs first because a kick under `env -i` would start one without the test's
 * settings.
 */
async function prepare(user: E2eUser): Promise<{ repo: string; daemonPid: number }> {
  const repo = initRepository(user, path.join(user.root, 'repo'));
  const install = await stepper(user, repo, ['hook', 'install']);
  expect(install.code, install.stderr).toBe(0);
  const hook = fs.readFileSync(path.join(repo, '.git', 'hooks', 'post-commit'), 'utf8');
  expect(hook).toContain(`stepper_node='${process.execPath}'`);
  expect(hook).toContain(`stepper_fallback_data='${user.dataDir}'`);

  const daemon = await stepperJson<DaemonStatusJson>(user, repo, ['daemon', 'start']);
  expect(daemon.running).toBe(true);

  fs.writeFileSync(path.join(repo, 'a.txt'), 'a\n');
  git(user, repo, ['add', 'a.txt']);
  return { repo, daemonPid: daemon.pid as number };
}

/**
 * Runs `git commit` with nothing but `variables` in its environment. OLLAMA_HOST names the
 * fake, so that a daemon the kick might start talks to no other server.
 */
function commitWithEnvironment(user: E2eUser, repo: string, variables: string[]) {
  return run(user, repo, 'env', ['-i', ...variables, `OLLAMA_HOST=${user.fake.url}`, 'git', 'commit', '-q', '-m', 'feat: add a under env -i']);
}

async function expectReported(user: E2eUser, repo: string, daemonPid: number): Promise<void> {
  const sha = git(user, repo, ['rev-parse', 'HEAD']).trim();
  const status = await waitForReports(user, repo, [sha]);
  expect(jobsOf(status, sha)).toHaveLength(1);
  expect(status.counts.failed).toBe(0);
  expect(hookLog(user).filter((line) => line.includes(`info post-commit ${path.join(repo, '.git')}: enqueued 1 report job `))).toHaveLength(1);

  // The running daemon wrote the report, so the kick started no daemon of its own.
  const daemon = await stepperJson<DaemonStatusJson>(user, repo, ['daemon', 'status']);
  expect(daemon.pid).toBe(daemonPid);
  const showOutput = await stepper(user, repo, ['show', sha]);
  expect(showOutput.code, showOutput.stderr).toBe(0);
  expect(showOutput.stdout).toContain(`commit ${sha}  feat: add a under env -i`);
}

describe('commit with a minimal environment', () => {
  it('env -i with PATH and HOME gets a report', async () => {
    const user = await startUser();
    const { repo, daemonPid } = await prepare(user);

    // HOME alone leads the hook to $HOME/.local/state/stepper, the user's STEPPER_HOME.
    const commit = await commitWithEnvironment(user, repo, ['PATH=/usr/bin:/bin', `HOME=${user.home}`]);

    expect(commit.code, commit.stderr).toBe(0);
    expect(commit.stdout).toBe('');
    expect(commit.stderr).toBe('');
    await expectReported(user, repo, daemonPid);
  });

  it('env -i without HOME or node on PATH gets a report', async () => {
    const user = await startUser();
    const { repo, daemonPid } = await prepare(user);
    // A PATH with the programs the commit and the hook's shell need, but no node.
    const bin = path.join(user.root, 'bin-without-node');
    fs.mkdirSync(bin);
    for (const program of ['git', 'sleep']) {
      const found = ['/usr/bin', '/bin'].map((dir) => path.join(dir, program)).find((file) => fs.existsSync(file));
      fs.symlinkSync(found as string, path.join(bin, program));
    }

    const commit = await commitWithEnvironment(user, repo, [`PATH=${bin}`]);

    expect(commit.code, commit.stderr).toBe(0);
    expect(commit.stderr).toBe('');
    await expectReported(user, repo, daemonPid);
  });

  it('env -i without OLLAMA_HOST starts a daemon with the recorded one', async () => {
    const user = await startUser();
    const repo = initRepository(user, path.join(user.root, 'repo'));
    const install = await stepper(user, repo, ['hook', 'install']);
    expect(install.code, install.stderr).toBe(0);
    fs.writeFileSync(path.join(repo, 'b.txt'), 'b\n');
    git(user, repo, ['add', 'b.txt']);

    // No daemon runs, so the hook's kick starts one, without OLLAMA_HOST in git's environment.
    const commit = await run(user, repo, 'env', ['-i', 'PATH=/usr/bin:/bin', `HOME=${user.home}`, 'git', 'commit', '-q', '-m', 'feat: add b without OLLAMA_HOST']);
    const sha = git(user, repo, ['rev-parse', 'HEAD']).trim();
    const status = await waitForReports(user, repo, [sha]);
    const daemon = await stepperJson<{ daemon: { ollamaHost: string | null } }>(user, repo, ['status']);

    expect(commit.code, commit.stderr).toBe(0);
    expect(commit.stderr).toBe('');
    expect(jobsOf(status, sha)).toHaveLength(1);
    expect(daemon.daemon.ollamaHost).toBe(user.fake.url);
    expect(user.fake.requests.some((request) => request.path === '/api/chat')).toBe(true);
  });
});
