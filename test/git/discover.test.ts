import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { discoverRepository } from '../../src/git/discover.js';
import { openRepository } from '../../src/git/repository.js';
import { ALICE, RepoBuilder } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';

function repositoryWithCommit(prefix = 'stepper-discover-'): RepoBuilder {
  const repo = RepoBuilder.init(makeTempDir(prefix));
  repo.write('src/deep/a.ts', 'export const a = 1;\n');
  repo.commit('Add a', { author: ALICE });
  return repo;
}

describe('discoverRepository', () => {
  // Each folder must give what `git rev-parse` gives through openRepository.
  it.each(['.', 'src', 'src/deep'])('finds the repository from %j as git does', async (relative) => {
    const repo = repositoryWithCommit();
    const folder = path.join(repo.dir, relative);

    const found = discoverRepository(folder);

    expect(found).toEqual(await openRepository(folder));
    expect(found?.gitDir).toBe(fs.realpathSync(path.join(repo.dir, '.git')));
  });

  it('symbolic link: real paths', async () => {
    const repo = repositoryWithCommit();
    const link = path.join(makeTempDir('stepper-discover-link-'), 'link');
    fs.symlinkSync(path.join(repo.dir, 'src'), link);

    const found = discoverRepository(link);

    expect(found).toEqual(await openRepository(link));
    expect(found?.worktree).toBe(fs.realpathSync(repo.dir));
  });

  it('marks a shallow clone as shallow', async () => {
    const origin = repositoryWithCommit();
    origin.write('b.txt', 'b\n');
    origin.commit('Add b', { author: ALICE });
    const clone = path.join(makeTempDir('stepper-discover-shallow-'), 'clone');
    origin.git(['clone', '-q', '--depth', '1', `file://${origin.dir}`, clone]);

    const found = discoverRepository(clone);

    expect(found?.shallow).toBe(true);
    expect(found).toEqual(await openRepository(clone));
  });

  it('finds a repository nested in another one', async () => {
    const outer = repositoryWithCommit();
    const inner = RepoBuilder.init(path.join(outer.dir, 'vendor', 'inner'));

    expect(discoverRepository(path.join(inner.dir))).toEqual(await openRepository(inner.dir));
    expect(discoverRepository(path.join(inner.dir))?.gitDir).toBe(fs.realpathSync(path.join(inner.dir, '.git')));
  });

  it('skips a .git without repository', async () => {
    const repo = repositoryWithCommit();
    fs.mkdirSync(path.join(repo.dir, 'src', '.git'));

    const found = discoverRepository(path.join(repo.dir, 'src'));

    expect(found).toEqual(await openRepository(path.join(repo.dir, 'src')));
    expect(found?.gitDir).toBe(fs.realpathSync(path.join(repo.dir, '.git')));
  });

  it('skips a .git with invalid HEAD', async () => {
    const repo = repositoryWithCommit();
    const fake = path.join(repo.dir, 'src', '.git');
    fs.mkdirSync(path.join(fake, 'objects'), { recursive: true });
    fs.mkdirSync(path.join(fake, 'refs'));
    fs.writeFileSync(path.join(fake, 'HEAD'), 'garbage\n');

    const found = discoverRepository(path.join(repo.dir, 'src', 'deep'));

    expect(found).toEqual(await openRepository(path.join(repo.dir, 'src', 'deep')));
    expect(found?.gitDir).toBe(fs.realpathSync(path.join(repo.dir, '.git')));
  });

  it('accepts a detached HEAD', async () => {
    const repo = repositoryWithCommit();
    repo.git(['checkout', '-q', '--detach']);

    expect(fs.readFileSync(path.join(repo.dir, '.git', 'HEAD'), 'utf8')).toMatch(/^[0-9a-f]{40}\n$/);
    expect(discoverRepository(repo.dir)).toEqual(await openRepository(repo.dir));
  });

  it.skipIf(process.getuid?.() !== 0)('leaves a worktree another user owns to git, which rejects it', async () => {
    const repo = repositoryWithCommit();
    // git checks the owner of the worktree folder too, not only of .git (safe.directory).
    fs.chownSync(repo.dir, 65534, 65534);

    expect(discoverRepository(repo.dir)).toBeUndefined();
    await expect(openRepository(repo.dir)).rejects.toThrow(/dubious ownership/);
  });

  it('returns undefined for a file, without throwing', () => {
    const repo = repositoryWithCommit();

    expect(discoverRepository(path.join(repo.dir, 'src', 'deep', 'a.ts'))).toBeUndefined();
    expect(discoverRepository(path.join(repo.dir, 'src', 'deep', 'a.ts', 'below'))).toBeUndefined();
  });

  it('accepts core settings of git init', () => {
    const repo = repositoryWithCommit();
    const config = fs.readFileSync(path.join(repo.dir, '.git', 'config'), 'utf8');

    expect(config).toMatch(/bare = false/);
    expect(discoverRepository(repo.dir)).toBeDefined();
  });

  it('leaves linked worktree to git', () => {
    const repo = repositoryWithCommit();
    const linked = path.join(makeTempDir('stepper-discover-linked-'), 'linked');
    repo.git(['worktree', 'add', '-q', linked]);

    expect(fs.statSync(path.join(linked, '.git')).isFile()).toBe(true);
    expect(discoverRepository(linked)).toBeUndefined();
    expect(discoverRepository(path.join(linked, 'src'))).toBeUndefined();
  });

  it('leaves git directories to git', () => {
    const repo = repositoryWithCommit();
    const bare = path.join(makeTempDir('stepper-discover-bare-'), 'bare.git');
    repo.git(['clone', '-q', '--bare', repo.dir, bare]);

    expect(discoverRepository(bare)).toBeUndefined();
    expect(discoverRepository(path.join(bare, 'refs'))).toBeUndefined();
    expect(discoverRepository(path.join(repo.dir, '.git'))).toBeUndefined();
    expect(discoverRepository(path.join(repo.dir, '.git', 'objects'))).toBeUndefined();
  });

  it('no repository or missing folder', () => {
    const folder = makeTempDir('stepper-discover-none-');

    expect(discoverRepository(folder)).toBeUndefined();
    expect(discoverRepository(path.join(folder, 'missing'))).toBeUndefined();
  });

  // Each of these changes what git reads as the worktree or whether there is one.
  it.each([
    ['core.bare', ['config', 'core.bare', 'true']],
    ['core.worktree', ['config', 'core.worktree', '/somewhere/else']],
    ['extensions.worktreeConfig', ['config', 'extensions.worktreeConfig', 'true']],
  ])('leaves a repository that sets %s to git', (_name, args) => {
    const repo = repositoryWithCommit();
    repo.git(args);

    expect(discoverRepository(path.join(repo.dir, 'src'))).toBeUndefined();
  });

  it.each(['\tbare\n', '  bare = yes ; set by hand\n', 'Bare=1\r\n', '\tworktree = ../tree\n'])(
    'reads the config line %j as changing the layout',
    (line) => {
      const repo = repositoryWithCommit();
      fs.appendFileSync(path.join(repo.dir, '.git', 'config'), `[core]\n${line}`);

      expect(discoverRepository(repo.dir)).toBeUndefined();
    },
  );

  it.each(['\tbare = false\n', '\tbare = off # by hand\n', '\tbareword = true\n'])('reads the config line %j as leaving the layout alone', (line) => {
    const repo = repositoryWithCommit();
    fs.appendFileSync(path.join(repo.dir, '.git', 'config'), `[core]\n${line}`);

    expect(discoverRepository(repo.dir)).toBeDefined();
  });
});
