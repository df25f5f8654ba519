import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { readCommitQuickly, startRepositoryReads } from '../../src/api/quick-git.js';
import { NotARepositoryError } from '../../src/git/errors.js';
import { openRepository } from '../../src/git/repository.js';
import { ALICE, RepoBuilder } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';

function twoCommits(): { repo: RepoBuilder; first: string; second: string } {
  const repo = RepoBuilder.init(makeTempDir('stepper-quick-git-'));
  repo.write('src/a.ts', 'export const a = 1;\n');
  const first = repo.commit('Add a\n\nWith a body line.\n', { author: ALICE });
  repo.write('src/a.ts', 'export const a = 2;\n');
  const second = repo.commit('Change a: 1 -> 2', { author: ALICE });
  return { repo, first, second };
}

describe('startRepositoryReads', () => {
  it('opens a worktree subfolder as openRepository does', async () => {
    const { repo } = twoCommits();
    const folder = path.join(repo.dir, 'src');

    const reads = startRepositoryReads(folder, { modelConfig: false });

    expect(await reads.repository).toEqual(await openRepository(folder));
    expect(await reads.modelConfig).toBeUndefined();
  });

  it('opens a linked worktree with the common git directory', async () => {
    const { repo } = twoCommits();
    const linked = path.join(makeTempDir('stepper-quick-linked-'), 'linked');
    repo.git(['worktree', 'add', '-q', linked]);

    const opened = await startRepositoryReads(linked, { modelConfig: false }).repository;

    expect(opened).toEqual(await openRepository(linked));
    expect(opened.gitDir).toBe(fs.realpathSync(path.join(repo.dir, '.git')));
    expect(opened.worktree).toBe(fs.realpathSync(linked));
  });

  it('falls back to openRepository for a bare repository', async () => {
    const { repo } = twoCommits();
    const bare = path.join(makeTempDir('stepper-quick-bare-'), 'bare.git');
    repo.git(['clone', '-q', '--bare', repo.dir, bare]);
    repo.git(['config', 'stepper.model', 'llama3.2:3b'], { cwd: bare });

    const reads = startRepositoryReads(bare, { modelConfig: true });

    expect(await reads.repository).toEqual({ gitDir: fs.realpathSync(bare), worktree: null, shallow: false });
    expect(await reads.modelConfig).toBe('llama3.2:3b');
  });

  it('reads stepper.model of the repository, or undefined when unset', async () => {
    const { repo } = twoCommits();
    expect(await startRepositoryReads(repo.dir, { modelConfig: true }).modelConfig).toBeUndefined();

    repo.git(['config', 'stepper.model', 'qwen2.5-coder:14b']);

    expect(await startRepositoryReads(path.join(repo.dir, 'src'), { modelConfig: true }).modelConfig).toBe('qwen2.5-coder:14b');
  });

  it('rejects outside a repository with the error openRepository raises', async () => {
    const folder = makeTempDir('stepper-quick-none-');

    const reads = startRepositoryReads(folder, { modelConfig: true });

    await expect(reads.repository).rejects.toBeInstanceOf(NotARepositoryError);
    await expect(reads.repository).rejects.toThrow(folder);
  });

  it('rejects a file given as the folder, with the error openRepository raises', async () => {
    const { repo } = twoCommits();
    const file = path.join(repo.dir, 'src', 'a.ts');

    const reads = startRepositoryReads(file, { modelConfig: true });

    await expect(reads.repository).rejects.toBeInstanceOf(NotARepositoryError);
    await expect(reads.modelConfig).rejects.toBeInstanceOf(NotARepositoryError);
  });

  it('rejects a folder that does not exist, naming it', async () => {
    const folder = path.join(makeTempDir('stepper-quick-gone-'), 'missing');

    await expect(startRepositoryReads(folder, { modelConfig: false }).repository).rejects.toThrow(/missing.*the folder does not exist/);
  });
});

describe('readCommitQuickly', () => {
  it('returns the id and subject of the commit a revision names', async () => {
    const { repo, first, second } = twoCommits();

    expect(await readCommitQuickly(repo.dir, 'HEAD')).toEqual({ sha: second, subject: 'Change a: 1 -> 2' });
    expect(await readCommitQuickly(path.join(repo.dir, 'src'), 'HEAD~1')).toEqual({ sha: first, subject: 'Add a' });
    expect(await readCommitQuickly(repo.dir, first.slice(0, 10))).toEqual({ sha: first, subject: 'Add a' });
  });

  it('peels an annotated tag to its commit', async () => {
    const { repo, first } = twoCommits();
    repo.git(['tag', '-a', '-m', 'release', 'v1', first]);

    expect(await readCommitQuickly(repo.dir, 'v1')).toEqual({ sha: first, subject: 'Add a' });
  });

  // Each of these leaves the revision to resolveRevisions, which names the problem or expands the range.
  it.each(['no-such-branch', 'HEAD~1..HEAD', 'HEAD^!', '^HEAD', ':/Add', '--all', '', 'HEAD:src/a.ts'])(
    'returns undefined for %j',
    async (revision) => {
      const { repo } = twoCommits();

      expect(await readCommitQuickly(repo.dir, revision)).toBeUndefined();
    },
  );

  it('returns undefined outside a repository', async () => {
    expect(await readCommitQuickly(makeTempDir('stepper-quick-none-'), 'HEAD')).toBeUndefined();
  });
});
