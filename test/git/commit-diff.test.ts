import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { readChanges } from '../../src/git/changes.js';
import { readCommit } from '../../src/git/commit.js';
import { type CommitDiff, readCommitDiff } from '../../src/git/commit-diff.js';
import { gitEnvironment } from '../../src/git/environment.js';
import { diffRange, PATCH_ARGS } from '../../src/git/patch-id.js';
import { openRepository } from '../../src/git/repository.js';
import type { Repository } from '../../src/git/types.js';
import { RepoBuilder } from '../helpers/repo-builder.js';
import { buildRepo, type RepoName } from '../helpers/repos.js';
import { makeTempDir } from '../helpers/temp.js';

/** Commits whose single diff-tree read must match the separate reads, by recipe and commit role. */
const TWO_WAY_COMMITS: Array<[RepoName, string]> = [
  ['root', 'root'],
  ['modify', 'modify'],
  ['empty', 'empty'],
  ['rename', 'rename-only'],
  ['rename', 'rename-edit'],
  ['rename', 'copy'],
  ['mode', 'mode'],
  ['mode', 'typechange'],
  ['binary', 'binary-add'],
  ['binary', 'binary-modify'],
  ['no-newline', 'no-newline'],
  ['latin1', 'latin1'],
  ['crlf', 'crlf'],
  ['odd-names', 'odd-add'],
  ['odd-names', 'odd-rename'],
  ['odd-names', 'latin1-name'],
  ['shell-message', 'message'],
  ['submodule', 'submodule-add'],
  ['submodule', 'submodule-bump'],
];

async function openState(name: RepoName, role: string): Promise<{ repo: Repository; sha: string }> {
  const state = buildRepo(name);
  return { repo: await openRepository(state.dir), sha: state.commits[role] as string };
}

async function readWhole(name: RepoName, role: string): Promise<{ repo: Repository; sha: string; diff: CommitDiff; patch: Buffer }> {
  const { repo, sha } = await openState(name, role);
  const diff = await readCommitDiff(repo, sha);
  if (!diff) {
    throw new Error(`readCommitDiff returned null for ${name} ${role}`);
  }

  const chunks: Buffer[] = [];
  for await (const chunk of diff.patch) {
    chunks.push(chunk);
  }
  await diff.close();
  return { repo, sha, diff, patch: Buffer.concat(chunks) };
}

describe('readCommitDiff two-way commits', () => {
  it.each(TWO_WAY_COMMITS)('%s %s metadata matches readCommit', async (name, role) => {
    const { repo, sha, diff } = await readWhole(name, role);

    expect(diff.commit).toEqual(await readCommit(repo, sha));
  });

  it.each(TWO_WAY_COMMITS)('%s %s files match readChanges', async (name, role) => {
    const { repo, sha, diff } = await readWhole(name, role);
    const changes = await readChanges(repo, await readCommit(repo, sha), { lineCounts: false });

    expect(diff.files).toEqual(changes.files);
  });

  it.each(TWO_WAY_COMMITS)('%s %s patch matches diff-tree -p', async (name, role) => {
    const { repo, patch } = await readWhole(name, role);
    const commit = await readCommit(repo, (await openState(name, role)).sha);
    const expected = execFileSync('git', [`--git-dir=${repo.gitDir}`, 'diff-tree', ...PATCH_ARGS, ...diffRange(commit)], {
      env: gitEnvironment(),
      maxBuffer: 64 * 1024 * 1024,
    });

    expect(patch.equals(expected)).toBe(true);
  });
});

describe('readCommitDiff other commits', () => {
  it('empty commit lists no files', async () => {
    const { diff, patch } = await readWhole('empty', 'empty');

    expect(diff.files).toEqual([]);
    expect(patch.length).toBe(0);
  });

  it('merge gives metadata without files', async () => {
    const { repo, sha, diff, patch } = await readWhole('merge', 'evil-merge');

    expect(diff.commit).toEqual(await readCommit(repo, sha));
    expect(diff.files).toBeNull();
    expect(patch.length).toBe(0);
  });

  it('large diff streams in several chunks', async () => {
    const state = buildRepo('huge-diff', { hugeDiffBytes: 2 * 1024 * 1024 });
    const repo = await openRepository(state.dir);
    const diff = (await readCommitDiff(repo, state.commits.huge as string)) as CommitDiff;

    let chunks = 0;
    let bytes = 0;
    for await (const chunk of diff.patch) {
      chunks += 1;
      bytes += chunk.length;
    }

    expect(chunks).toBeGreaterThan(1);
    expect(bytes).toBeGreaterThan(2 * 1024 * 1024);
  });

  it('close before the patch stops git', async () => {
    const state = buildRepo('huge-diff', { hugeDiffBytes: 2 * 1024 * 1024 });
    const repo = await openRepository(state.dir);
    const diff = (await readCommitDiff(repo, state.commits.huge as string)) as CommitDiff;

    await diff.close();
    let bytes = 0;
    for await (const chunk of diff.patch) {
      bytes += chunk.length;
    }

    // Only what was buffered while the listing was read is left.
    expect(bytes).toBeLessThan(2 * 1024 * 1024);
  });

  it('message in a legacy encoding is converted like readCommit', async () => {
    const builder = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
    builder.write('a.txt', 'a\n');
    builder.git(['add', '-A']);
    const messageFile = path.join(makeTempDir(), 'message');
    fs.writeFileSync(messageFile, Buffer.from('Cr\xe8me br\xfbl\xe9e\n\nCaf\xe9 body\n', 'latin1'));
    builder.git(['-c', 'i18n.commitEncoding=ISO-8859-1', 'commit', '-q', '-F', messageFile]);
    const sha = builder.advance();
    const repo = await openRepository(builder.dir);

    const diff = (await readCommitDiff(repo, sha)) as CommitDiff;
    await diff.close();

    expect(diff.commit.subject).toBe('Crème brûlée');
    expect(diff.commit).toEqual(await readCommit(repo, sha));
  });
});

describe('readCommitDiff fallbacks', () => {
  it('shallow boundary commit gives null', async () => {
    const { repo, sha } = await openState('shallow', 'head');

    expect(await readCommitDiff(repo, sha)).toBeNull();
  });

  it('unknown commit gives null', async () => {
    const { repo } = await openState('modify', 'modify');

    expect(await readCommitDiff(repo, '0123456789abcdef0123456789abcdef01234567')).toBeNull();
  });

  it('abbreviated id gives null', async () => {
    const { repo, sha } = await openState('modify', 'modify');

    expect(await readCommitDiff(repo, sha.slice(0, 12))).toBeNull();
  });

  it('id of a tree gives null', async () => {
    const { repo, sha } = await openState('modify', 'modify');
    const tree = execFileSync('git', [`--git-dir=${repo.gitDir}`, 'rev-parse', `${sha}^{tree}`], { env: gitEnvironment() }).toString('utf8').trim();

    expect(await readCommitDiff(repo, tree)).toBeNull();
  });

  it('id of an annotated tag gives null', async () => {
    const builder = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
    builder.write('a.txt', 'a\n');
    builder.commit('Add a\n');
    builder.git(['tag', '-a', 'v1', '-m', 'Version 1']);
    const tag = builder.git(['rev-parse', 'v1']).trim();
    const repo = await openRepository(builder.dir);

    expect(await readCommitDiff(repo, tag)).toBeNull();
  });
});
