import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { readCommit } from '../../src/git/commit.js';
import { gitEnvironment } from '../../src/git/environment.js';
import { changeIdentity } from '../../src/git/patch-id.js';
import { openRepository } from '../../src/git/repository.js';
import type { ChangeIdentity } from '../../src/git/types.js';
import { buildRepo, type RepoName } from '../helpers/repos.js';

async function identityOf(name: RepoName, role: string, options = {}): Promise<ChangeIdentity> {
  const state = buildRepo(name, options);
  const repo = await openRepository(state.dir);
  return changeIdentity(repo, await readCommit(repo, state.commits[role] as string));
}

/** Computes the patch id with the git command line, independently of the code under test. */
function patchIdByHand(name: RepoName, parent: string, sha: string, options = {}): string {
  const state = buildRepo(name, options);
  const env = gitEnvironment();
  const diff = execFileSync('git', [`--git-dir=${state.gitDir}`, 'diff-tree', '-p', '--binary', parent, sha], { env, maxBuffer: 64 * 1024 * 1024 });
  const output = execFileSync('git', [`--git-dir=${state.gitDir}`, 'patch-id', '--stable'], { env, input: diff });
  return output.toString('utf8').split(' ')[0] as string;
}

describe('changeIdentity rewrites', () => {
  it('ordinary commit uses patch-id', async () => {
    const identity = await identityOf('rewrites', 'original');

    expect(identity.source).toBe('patch-id');
    expect(identity.id).toMatch(/^[0-9a-f]{40}$/);
  });

  it('matches git patch-id run by hand', async () => {
    const state = buildRepo('rewrites');
    const identity = await identityOf('rewrites', 'original');

    expect(identity.id).toBe(patchIdByHand('rewrites', state.commits.base as string, state.commits.original as string));
  });

  it.each(['rebased', 'cherry-picked', 'amended'])('%s commit keeps the id', async (role) => {
    const state = buildRepo('rewrites');
    const original = await identityOf('rewrites', 'original');
    const copy = await identityOf('rewrites', role);

    expect(state.commits[role]).not.toBe(state.commits.original);
    expect(copy).toEqual(original);
  });

  it('different change gets another id', async () => {
    const original = await identityOf('rewrites', 'original');
    const other = await identityOf('rewrites', 'other');

    expect(other.id).not.toBe(original.id);
  });

  it('empty commit uses its author', async () => {
    const identity = await identityOf('rewrites', 'empty-original');

    expect(identity.source).toBe('empty-commit');
    expect(identity.id).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each(['empty-rebased', 'empty-picked', 'empty-amended'])('%s empty commit keeps the id', async (role) => {
    const state = buildRepo('rewrites');
    const original = await identityOf('rewrites', 'empty-original');
    const copy = await identityOf('rewrites', role);

    expect(state.commits[role]).not.toBe(state.commits['empty-original']);
    expect(copy).toEqual(original);
  });

  it('empty commits by other authors differ', async () => {
    const rewritten = await identityOf('rewrites', 'empty-original');
    const other = await identityOf('empty', 'empty');

    expect(other.source).toBe('empty-commit');
    expect(other.id).not.toBe(rewritten.id);
  });
});

describe('changeIdentity kinds', () => {
  it('root commit diffs against the empty tree', async () => {
    const identity = await identityOf('root', 'root');

    expect(identity.source).toBe('patch-id');
    expect(identity.id).toMatch(/^[0-9a-f]{40}$/);
  });

  it('merge uses its first-parent diff', async () => {
    const state = buildRepo('merge');
    const identity = await identityOf('merge', 'evil-merge');

    expect(identity.source).toBe('first-parent-patch-id');
    expect(identity.id).toBe(patchIdByHand('merge', `${state.commits['evil-merge']}^1`, state.commits['evil-merge'] as string));
  });

  it('merge with an empty first-parent diff is an empty commit', async () => {
    const identity = await identityOf('empty', 'ours-merge');

    expect(identity.source).toBe('empty-commit');
  });

  it('missing parent falls back to the commit id', async () => {
    const state = buildRepo('shallow');
    const identity = await identityOf('shallow', 'head');

    expect(identity).toEqual({ id: state.commits.head, source: 'commit-sha' });
  });

  it('mode-only change has a patch id', async () => {
    const identity = await identityOf('mode', 'mode');

    expect(identity.source).toBe('patch-id');
  });

  it('binary changes get distinct ids', async () => {
    const added = await identityOf('binary', 'binary-add');
    const modified = await identityOf('binary', 'binary-modify');

    expect(added.source).toBe('patch-id');
    expect(modified.id).not.toBe(added.id);
  });

  it('large diff is piped whole', async () => {
    const options = { hugeDiffBytes: 4 * 1024 * 1024 };
    const state = buildRepo('huge-diff', options);
    const identity = await identityOf('huge-diff', 'huge', options);

    expect(identity.id).toBe(patchIdByHand('huge-diff', state.commits.root as string, state.commits.huge as string, options));
  });

  it('odd file names are handled', async () => {
    const state = buildRepo('odd-names');
    const identity = await identityOf('odd-names', 'odd-add');

    expect(identity.id).toBe(patchIdByHand('odd-names', state.commits.base as string, state.commits['odd-add'] as string));
  });
});
