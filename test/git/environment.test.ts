import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { readCommit } from '../../src/git/commit.js';
import { gitEnvironment } from '../../src/git/environment.js';
import { runGit } from '../../src/git/git.js';
import { openRepository, worktreeContext } from '../../src/git/repository.js';
import { resolveRevisions } from '../../src/git/revisions.js';
import { buildRepo } from '../helpers/repos.js';

afterEach(() => {
  vi.unstubAllEnvs();
});

/** The variables a post-commit hook in a linked worktree runs with, pointing at `other`. */
function stubHookEnvironment(other: { gitDir: string; dir: string }): void {
  vi.stubEnv('GIT_DIR', other.gitDir);
  vi.stubEnv('GIT_INDEX_FILE', path.join(other.gitDir, 'index'));
  vi.stubEnv('GIT_WORK_TREE', other.dir);
  vi.stubEnv('GIT_PREFIX', '');
}

describe('gitEnvironment', () => {
  it('removes every GIT_ variable', () => {
    const env = gitEnvironment({
      PATH: '/usr/bin',
      GIT_DIR: '/elsewhere/.git',
      GIT_INDEX_FILE: '/elsewhere/.git/index',
      GIT_WORK_TREE: '/elsewhere',
      GIT_PREFIX: 'sub/',
      GIT_AUTHOR_NAME: 'Hook',
      GIT_CONFIG_PARAMETERS: "'core.pager'='less'",
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'core.fsmonitor',
      GIT_CONFIG_VALUE_0: 'true',
      git_lowercase: 'x',
    });

    for (const name of ['GIT_DIR', 'GIT_INDEX_FILE', 'GIT_WORK_TREE', 'GIT_PREFIX', 'GIT_AUTHOR_NAME', 'GIT_CONFIG_PARAMETERS']) {
      expect(env, name).not.toHaveProperty(name);
    }
    for (const name of ['GIT_CONFIG_COUNT', 'GIT_CONFIG_KEY_0', 'GIT_CONFIG_VALUE_0', 'git_lowercase']) {
      expect(env, name).not.toHaveProperty(name);
    }
  });

  it('sets the overrides', () => {
    const env = gitEnvironment({ GIT_OPTIONAL_LOCKS: '1', LC_ALL: 'de_DE.UTF-8' });

    expect(env.GIT_OPTIONAL_LOCKS).toBe('0');
    expect(env.GIT_TERMINAL_PROMPT).toBe('0');
    expect(env.GIT_PAGER).toBe('cat');
    expect(env.LC_ALL).toBe('C');
  });

  it('keeps other variables', () => {
    const env = gitEnvironment({ PATH: '/usr/bin:/bin', HOME: '/home/user', LANG: 'fr_FR.UTF-8', SSH_AUTH_SOCK: '/tmp/agent' });

    expect(env.PATH).toBe('/usr/bin:/bin');
    expect(env.HOME).toBe('/home/user');
    expect(env.LANG).toBe('fr_FR.UTF-8');
    expect(env.SSH_AUTH_SOCK).toBe('/tmp/agent');
  });

  it('removes interactive programs', () => {
    const env = gitEnvironment({ EDITOR: 'vim', VISUAL: 'code -w', PAGER: 'less', SSH_ASKPASS: '/usr/bin/askpass' });

    for (const name of ['EDITOR', 'VISUAL', 'PAGER', 'SSH_ASKPASS']) {
      expect(env, name).not.toHaveProperty(name);
    }
  });

  it('copies instead of changing the input', () => {
    const input = { GIT_DIR: '/x', PATH: '/bin' };
    gitEnvironment(input);

    expect(input).toEqual({ GIT_DIR: '/x', PATH: '/bin' });
  });

  it('defaults to process.env', () => {
    vi.stubEnv('GIT_DIR', '/from/a/hook/.git');
    vi.stubEnv('STEPPER_TEST_MARKER', 'kept');

    const env = gitEnvironment();

    expect(env).not.toHaveProperty('GIT_DIR');
    expect(env.STEPPER_TEST_MARKER).toBe('kept');
  });
});

describe('git commands under a hook environment', () => {
  it('plain git reads the hook repository', () => {
    // Shows the hazard the next tests guard against: without cleaning, GIT_DIR wins over the folder.
    const target = buildRepo('modify');
    const other = buildRepo('history');
    stubHookEnvironment(other);

    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: target.dir, env: process.env }).toString('utf8').trim();

    expect(head).toBe(other.commits.c5);
  });

  it('openRepository ignores GIT_DIR', async () => {
    const target = buildRepo('modify');
    const other = buildRepo('history');
    stubHookEnvironment(other);

    const repo = await openRepository(target.dir);

    expect(repo.gitDir).toBe(fs.realpathSync(target.gitDir));
    expect(repo.worktree).toBe(fs.realpathSync(target.dir));
  });

  it('revisions and commits come from the opened repository', async () => {
    const target = buildRepo('modify');
    const other = buildRepo('history');
    const repo = await openRepository(target.dir);
    stubHookEnvironment(other);

    const [head] = await resolveRevisions(repo, ['HEAD']);
    const commit = await readCommit(repo, target.commits.modify as string);

    expect(head).toBe(target.commits.modify);
    expect(commit.subject).toBe('Change the app values');
  });

  it('linked worktree hook variables are ignored', async () => {
    const worktreeState = buildRepo('worktree');
    const target = buildRepo('modify');
    const linkedGitDir = path.join(worktreeState.gitDir, 'worktrees', path.basename(worktreeState.dirs.worktree as string));
    vi.stubEnv('GIT_DIR', linkedGitDir);
    vi.stubEnv('GIT_INDEX_FILE', path.join(linkedGitDir, 'index'));

    const repo = await openRepository(target.dir);
    const [head] = await resolveRevisions(repo, ['HEAD']);

    expect(fs.existsSync(linkedGitDir)).toBe(true);
    expect(head).toBe(target.commits.modify);
  });
});

describe('optional locks', () => {
  it('git status leaves the index unwritten', async () => {
    const state = buildRepo('root');
    const repo = await openRepository(state.dir);
    const indexPath = path.join(state.gitDir, 'index');
    // A new modification time makes the index's cached stat data stale, so a status that
    // may take optional locks refreshes and rewrites the index.
    fs.utimesSync(path.join(state.dir, 'README.md'), new Date('2020-01-01'), new Date('2020-01-01'));
    const before = fs.readFileSync(indexPath);

    await runGit(worktreeContext(repo), ['status', '--porcelain']);

    expect(fs.readFileSync(indexPath).equals(before)).toBe(true);
  });

  it('git status with locks rewrites the index', () => {
    // The control for the test above: the same status without GIT_OPTIONAL_LOCKS=0 writes.
    const state = buildRepo('modify');
    const indexPath = path.join(state.gitDir, 'index');
    fs.utimesSync(path.join(state.dir, 'README.md'), new Date('2020-01-01'), new Date('2020-01-01'));
    const before = fs.readFileSync(indexPath);
    const env = { ...gitEnvironment(), GIT_OPTIONAL_LOCKS: '1' };

    execFileSync('git', ['status', '--porcelain'], { cwd: state.dir, env });

    expect(fs.readFileSync(indexPath).equals(before)).toBe(false);
  });

});
