import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { InvalidOptionError } from '../../src/errors.js';
import { readChanges } from '../../src/git/changes.js';
import { readCommit } from '../../src/git/commit.js';
import { openRepository } from '../../src/git/repository.js';
import type { CommitChanges, FileChange, MergePolicy } from '../../src/git/types.js';
import { buildRepo, LATIN1_FILE_NAME, ODD_FILE_NAMES, ODD_RENAME, type RepoName } from '../helpers/repos.js';

const ZERO_ID = '0'.repeat(40);

async function changesOf(name: RepoName, role: string, mergePolicy?: MergePolicy, options = {}): Promise<CommitChanges> {
  const state = buildRepo(name, options);
  const repo = await openRepository(state.dir);
  const commit = await readCommit(repo, state.commits[role] as string);
  return readChanges(repo, commit, mergePolicy === undefined ? {} : { mergePolicy });
}

function byPath(changes: CommitChanges): Map<string, FileChange> {
  return new Map(changes.files.map((file) => [file.path, file]));
}

function paths(changes: CommitChanges): string[] {
  return changes.files.map((file) => file.path).sort();
}

describe('readChanges bases', () => {
  it('root commit compares with the empty tree', async () => {
    const changes = await changesOf('root', 'root');

    expect(changes.base).toEqual({ kind: 'empty-tree' });
    expect(paths(changes)).toEqual(['README.md', 'src/app.ts']);
  });

  it('root commit files are added', async () => {
    const app = byPath(await changesOf('root', 'root')).get('src/app.ts');

    expect(app).toMatchObject({ status: 'added', oldMode: '000000', newMode: '100644', modeChanged: false, oldObject: ZERO_ID });
    expect(app).toMatchObject({ additions: 12, deletions: 0, binary: false });
  });

  it('ordinary commit compares with its parent', async () => {
    const state = buildRepo('modify');
    const changes = await changesOf('modify', 'modify');

    expect(changes.base).toEqual({ kind: 'parent', parent: state.commits.root });
  });

  it('modified files count lines', async () => {
    const files = byPath(await changesOf('modify', 'modify'));

    expect(files.get('README.md')).toMatchObject({ status: 'modified', additions: 0, deletions: 1 });
    expect(files.get('src/app.ts')).toMatchObject({ status: 'modified', additions: 2, deletions: 2, modeChanged: false });
  });

  it('objects are full ids', async () => {
    const file = byPath(await changesOf('modify', 'modify')).get('src/app.ts') as FileChange;

    expect(file.oldObject).toMatch(/^[0-9a-f]{40}$/);
    expect(file.newObject).toMatch(/^[0-9a-f]{40}$/);
    expect(file.newObject).not.toBe(file.oldObject);
  });

  it('empty commit has no files', async () => {
    const state = buildRepo('empty');
    const changes = await changesOf('empty', 'empty');

    expect(changes).toEqual({ base: { kind: 'parent', parent: state.commits.root }, files: [] });
  });

  it('shallow boundary reports the missing parent', async () => {
    const state = buildRepo('shallow');
    const changes = await changesOf('shallow', 'head');

    expect(changes).toEqual({ base: { kind: 'parent-missing', parent: state.commits['missing-parent'] }, files: [] });
  });

  it('linked worktree commit is read', async () => {
    const state = buildRepo('worktree');
    const repo = await openRepository(state.dirs.worktree as string);
    const commit = await readCommit(repo, state.commits['worktree-commit'] as string);

    const changes = await readChanges(repo, commit);

    expect(paths(changes)).toEqual(['feature.txt']);
  });

  it('unknown merge policy is rejected', async () => {
    const state = buildRepo('merge');
    const repo = await openRepository(state.dir);
    const commit = await readCommit(repo, state.commits['clean-merge'] as string);

    await expect(readChanges(repo, commit, { mergePolicy: 'all' as MergePolicy })).rejects.toBeInstanceOf(InvalidOptionError);
  });
});

describe('readChanges merges', () => {
  it('first-parent is the default', async () => {
    const state = buildRepo('merge');
    const changes = await changesOf('merge', 'clean-merge');

    expect(changes.base).toEqual({ kind: 'parent', parent: state.commits['main-1'] });
    expect(paths(changes)).toEqual(['b.txt']);
  });

  it('skip returns no files', async () => {
    const state = buildRepo('merge');
    const changes = await changesOf('merge', 'clean-merge', 'skip');

    expect(changes).toEqual({ base: { kind: 'skipped-merge', parents: [state.commits['main-1'], state.commits['feature-1']] }, files: [] });
  });

  it('combined clean merge has no files', async () => {
    const state = buildRepo('merge');
    const changes = await changesOf('merge', 'clean-merge', 'combined');

    expect(changes).toEqual({ base: { kind: 'combined', parents: [state.commits['main-1'], state.commits['feature-1']] }, files: [] });
  });

  it('first-parent of a merge with its own change', async () => {
    const files = byPath(await changesOf('merge', 'evil-merge', 'first-parent'));

    expect([...files.keys()].sort()).toEqual(['a.txt', 'c.txt', 'evil.txt']);
    expect(files.get('a.txt')).toMatchObject({ status: 'modified', additions: 1, deletions: 1 });
  });

  it('combined lists what the merge itself changed', async () => {
    const changes = await changesOf('merge', 'evil-merge', 'combined');
    const files = byPath(changes);

    expect(paths(changes)).toEqual(['a.txt', 'evil.txt']);
    expect(files.get('a.txt')).toMatchObject({ status: 'modified', additions: 1, deletions: 1, binary: false });
    expect(files.get('evil.txt')).toMatchObject({ status: 'added', additions: 1, deletions: 0, oldMode: '000000', newMode: '100644' });
  });

  it('combined rename names the first parent path', async () => {
    const changes = await changesOf('merge', 'rename-merge', 'combined');

    expect(changes.files).toEqual([
      expect.objectContaining({ path: 'e.txt', oldPath: 'd.txt', status: 'renamed', additions: 1, deletions: 0, binary: false }),
    ]);
    expect(changes.files[0]?.similarity).toBeUndefined();
  });

  it('first-parent rename of a merge', async () => {
    const changes = await changesOf('merge', 'rename-merge');

    expect(changes.files).toEqual([expect.objectContaining({ path: 'e.txt', oldPath: 'd.txt', status: 'renamed', additions: 1, deletions: 0 })]);
  });

  it('merge with an empty first-parent diff has no files', async () => {
    const changes = await changesOf('empty', 'ours-merge');

    expect(changes.files).toEqual([]);
  });

  it('combined policy on a single-parent commit compares with the parent', async () => {
    const state = buildRepo('modify');
    const changes = await changesOf('modify', 'modify', 'combined');

    expect(changes.base).toEqual({ kind: 'parent', parent: state.commits.root });
  });
});

describe('readChanges statuses', () => {
  it('rename without edits is 100% similar', async () => {
    const changes = await changesOf('rename', 'rename-only');

    expect(changes.files).toHaveLength(1);
    expect(changes.files[0]).toMatchObject({ status: 'renamed', similarity: 100, oldPath: 'docs/guide.md', path: 'docs/manual.md' });
    expect(changes.files[0]).toMatchObject({ additions: 0, deletions: 0 });
    expect(changes.files[0]?.newObject).toBe(changes.files[0]?.oldObject);
  });

  it('rename with edits keeps its counts', async () => {
    const changes = await changesOf('rename', 'rename-edit');
    const file = changes.files[0] as FileChange;

    expect(changes.files).toHaveLength(1);
    expect(file).toMatchObject({ status: 'renamed', oldPath: 'lib/util.ts', path: 'lib/helpers.ts', additions: 2, deletions: 2 });
    expect(file.similarity).toBeGreaterThanOrEqual(50);
    expect(file.similarity).toBeLessThan(100);
  });

  it('copy of a modified file is detected', async () => {
    const files = byPath(await changesOf('rename', 'copy'));

    expect(files.get('lib/helpers-copy.ts')).toMatchObject({ status: 'copied', oldPath: 'lib/helpers.ts', similarity: 100 });
    expect(files.get('lib/helpers.ts')).toMatchObject({ status: 'modified', additions: 1, deletions: 1 });
  });

  it('mode-only change', async () => {
    const changes = await changesOf('mode', 'mode');

    expect(changes.files).toHaveLength(1);
    expect(changes.files[0]).toMatchObject({ path: 'script.sh', status: 'modified', oldMode: '100644', newMode: '100755', modeChanged: true });
    expect(changes.files[0]).toMatchObject({ additions: 0, deletions: 0 });
  });

  it('file replaced by a symlink is type-changed', async () => {
    const file = byPath(await changesOf('mode', 'typechange')).get('link.txt');

    expect(file).toMatchObject({ status: 'type-changed', oldMode: '100644', newMode: '120000', modeChanged: true });
  });

  it('binary file has no line counts', async () => {
    const added = byPath(await changesOf('binary', 'binary-add')).get('assets/image.png');
    const modified = byPath(await changesOf('binary', 'binary-modify')).get('assets/image.png');

    expect(added).toMatchObject({ status: 'added', binary: true, additions: null, deletions: null });
    expect(modified).toMatchObject({ status: 'modified', binary: true, additions: null, deletions: null });
  });

  it('lockfile-only commit', async () => {
    const changes = await changesOf('lockfiles', 'lockfiles');

    expect(paths(changes)).toEqual(['Cargo.lock', 'package-lock.json', 'yarn.lock']);
    expect(changes.files.every((file) => file.status === 'modified')).toBe(true);
  });

  it('submodule added', async () => {
    const state = buildRepo('submodule');
    const files = byPath(await changesOf('submodule', 'submodule-add'));

    expect([...files.keys()].sort()).toEqual(['.gitmodules', 'libs/sub']);
    expect(files.get('libs/sub')).toMatchObject({ status: 'added', newMode: '160000', submodule: { oldCommit: null, newCommit: state.commits['sub-old'] } });
    expect(files.get('.gitmodules')?.submodule).toBeUndefined();
  });

  it('submodule bump names both commits', async () => {
    const state = buildRepo('submodule');
    const changes = await changesOf('submodule', 'submodule-bump');

    expect(changes.files).toHaveLength(1);
    expect(changes.files[0]).toMatchObject({
      path: 'libs/sub',
      status: 'modified',
      oldMode: '160000',
      newMode: '160000',
      modeChanged: false,
      binary: false,
      submodule: { oldCommit: state.commits['sub-old'], newCommit: state.commits['sub-new'] },
    });
  });

  it('line added without a final newline', async () => {
    const changes = await changesOf('no-newline', 'no-newline');

    expect(changes.files).toEqual([expect.objectContaining({ path: 'notes.txt', additions: 1, deletions: 0, binary: false })]);
  });

  it('Latin-1 content is text', async () => {
    const changes = await changesOf('latin1', 'latin1');

    expect(changes.files).toEqual([expect.objectContaining({ path: 'legacy.txt', additions: 1, deletions: 1, binary: false })]);
  });

  it('line-ending change counts every line', async () => {
    const changes = await changesOf('crlf', 'crlf');

    expect(changes.files).toEqual([expect.objectContaining({ path: 'lines.txt', additions: 5, deletions: 5, binary: false })]);
  });

  it('3,000 files in one commit', async () => {
    const changes = await changesOf('many-files', 'many-files');

    expect(changes.base).toEqual({ kind: 'empty-tree' });
    expect(changes.files).toHaveLength(3000);
    expect(new Set(changes.files.map((file) => file.path)).size).toBe(3000);
    expect(changes.files.every((file) => file.status === 'added' && file.additions === 1)).toBe(true);
    expect(byPath(changes).get('files/d7/f2977.txt')).toBeDefined();
  });

  it('large file counts every line', async () => {
    const bytes = 1024 * 1024;
    const state = buildRepo('huge-diff', { hugeDiffBytes: bytes });
    const lines = fs.readFileSync(path.join(state.dir, 'big/data.txt'), 'utf8').split('\n').length - 1;

    const changes = await changesOf('huge-diff', 'huge', undefined, { hugeDiffBytes: bytes });

    expect(changes.files).toEqual([expect.objectContaining({ path: 'big/data.txt', additions: lines, deletions: 0 })]);
  });

  it('generated and vendored files are listed', async () => {
    const changes = await changesOf('generated', 'generated');

    expect(paths(changes)).toEqual(['dist/bundle.js', 'public/app.min.js', 'src/index.ts', 'vendor/lib/index.js']);
  });

  it('secret files are listed', async () => {
    const changes = await changesOf('secrets', 'secrets');

    expect(paths(changes)).toEqual(['.env', 'config/aws.ts', 'keys/deploy.pem']);
  });
});

describe('readChanges odd paths', () => {
  it('added names survive byte for byte', async () => {
    const changes = await changesOf('odd-names', 'odd-add');

    // The names are valid UTF-8, so equal strings mean equal bytes.
    expect(paths(changes)).toEqual([...ODD_FILE_NAMES].sort());
  });

  it('modified names keep their counts', async () => {
    const changes = await changesOf('odd-names', 'odd-modify');

    expect(paths(changes)).toEqual([...ODD_FILE_NAMES].sort());
    expect(changes.files.every((file) => file.status === 'modified' && file.additions === 1 && file.deletions === 0)).toBe(true);
  });

  it('rename between names with tabs and newlines', async () => {
    const changes = await changesOf('odd-names', 'odd-rename');

    expect(changes.files).toEqual([expect.objectContaining({ status: 'renamed', oldPath: ODD_RENAME.from, path: ODD_RENAME.to, similarity: 100 })]);
  });

  it('names are not marked lossy', async () => {
    const changes = await changesOf('odd-names', 'odd-add');

    expect(changes.files.some((file) => file.lossyPath)).toBe(false);
  });

  it('non-UTF-8 name is decoded and marked lossy', async () => {
    const changes = await changesOf('odd-names', 'latin1-name');

    expect(changes.files).toHaveLength(1);
    expect(changes.files[0]?.path).toBe(LATIN1_FILE_NAME.toString('utf8'));
    expect(changes.files[0]?.path).toBe('caf\uFFFD.txt');
    expect(changes.files[0]?.lossyPath).toBe(true);
  });

  it('no file named by shell syntax appears', async () => {
    const state = buildRepo('odd-names');
    await changesOf('odd-names', 'odd-modify');

    expect(fs.existsSync(path.join(state.dir, 'pwned'))).toBe(false);
    expect(fs.existsSync(path.join(process.cwd(), 'pwned'))).toBe(false);
  });
});
