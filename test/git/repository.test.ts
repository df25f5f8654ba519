import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { NotARepositoryError } from '../../src/git/errors.js';
import { objectContext, openRepository, worktreeContext } from '../../src/git/repository.js';
import { RepoBuilder } from '../helpers/repo-builder.js';
import { buildRepo } from '../helpers/repos.js';
import { makeTempDir } from '../helpers/temp.js';
import { captureError } from '../helpers/errors.js';

describe('openRepository', () => {
  it('worktree top returns its git directory', async () => {
    const state = buildRepo('root');

    const repo = await openRepository(state.dir);

    expect(repo).toEqual({ gitDir: fs.realpathSync(state.gitDir), worktree: fs.realpathSync(state.dir), shallow: false });
  });

  it('subfolder returns the same repository', async () => {
    const state = buildRepo('root');

    const repo = await openRepository(path.join(state.dir, 'src'));

    expect(repo.gitDir).toBe(fs.realpathSync(state.gitDir));
    expect(repo.worktree).toBe(fs.realpathSync(state.dir));
  });

  it('relative path resolves from the current folder', async () => {
    const state = buildRepo('root');

    const repo = await openRepository(path.relative(process.cwd(), state.dir));

    expect(repo.gitDir).toBe(fs.realpathSync(state.gitDir));
  });

  it('linked worktree shares the common git directory', async () => {
    const state = buildRepo('worktree');

    const main = await openRepository(state.dir);
    const linked = await openRepository(state.dirs.worktree as string);

    expect(linked.gitDir).toBe(main.gitDir);
    expect(linked.worktree).toBe(fs.realpathSync(state.dirs.worktree as string));
  });

  it('bare repository has no worktree', async () => {
    const state = buildRepo('bare');

    const repo = await openRepository(state.dir);

    expect(repo).toEqual({ gitDir: fs.realpathSync(state.dir), worktree: null, shallow: false });
  });

  it('git directory itself has no worktree', async () => {
    const state = buildRepo('root');

    const repo = await openRepository(state.gitDir);

    expect(repo.gitDir).toBe(fs.realpathSync(state.gitDir));
    expect(repo.worktree).toBeNull();
  });

  it('shallow clone is marked shallow', async () => {
    const state = buildRepo('shallow');

    const repo = await openRepository(state.dir);

    expect(repo.shallow).toBe(true);
  });

  it('folder name with a newline survives', async () => {
    const dir = path.join(fs.realpathSync(makeTempDir()), 'odd\nname with space');
    RepoBuilder.init(dir);

    const repo = await openRepository(dir);

    expect(repo.gitDir).toBe(path.join(dir, '.git'));
    expect(repo.worktree).toBe(dir);
  });

  it('folder outside a repository raises NotARepositoryError', async () => {
    const dir = makeTempDir();

    const error = await captureError(openRepository(dir));

    expect(error).toBeInstanceOf(NotARepositoryError);
    expect((error as NotARepositoryError).code).toBe('NOT_A_REPOSITORY');
    expect((error as NotARepositoryError).path).toBe(path.resolve(dir));
    expect((error as Error).message).toContain(dir);
    expect((error as Error).message).toContain('not a git repository');
  });

  it('missing folder raises NotARepositoryError', async () => {
    const dir = path.join(makeTempDir(), 'missing');

    const error = await captureError(openRepository(dir));

    expect(error).toBeInstanceOf(NotARepositoryError);
    expect((error as Error).message).toContain(`${dir} (the folder does not exist)`);
  });

  it('file path raises NotARepositoryError', async () => {
    const state = buildRepo('root');

    const error = await captureError(openRepository(path.join(state.dir, 'README.md')));

    expect(error).toBeInstanceOf(NotARepositoryError);
    expect((error as Error).message).toContain('it is not a folder');
  });
});

describe('git contexts', () => {
  it('objectContext uses the common directory', async () => {
    const state = buildRepo('worktree');
    const repo = await openRepository(state.dirs.worktree as string);

    expect(objectContext(repo)).toEqual({ cwd: repo.gitDir, gitDir: repo.gitDir });
  });

  it('worktreeContext runs in the worktree', async () => {
    const state = buildRepo('worktree');
    const repo = await openRepository(state.dirs.worktree as string);

    expect(worktreeContext(repo)).toEqual({ cwd: repo.worktree });
  });

  it('worktreeContext of a bare repository uses its directory', async () => {
    const state = buildRepo('bare');
    const repo = await openRepository(state.dir);

    expect(worktreeContext(repo)).toEqual(objectContext(repo));
  });
});
