import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { InvalidOptionError } from '../../src/errors.js';
import { readChanges } from '../../src/git/changes.js';
import { readCommit, readCommits } from '../../src/git/commit.js';
import { gitEnvironment } from '../../src/git/environment.js';
import { UnknownRevisionError } from '../../src/git/errors.js';
import { openRepository } from '../../src/git/repository.js';
import { BASE_EPOCH } from '../helpers/repo-builder.js';
import { ALICE, buildRepo, CID, SHELL_MARKERS, SHELL_MESSAGE } from '../helpers/repos.js';
import { captureError } from '../helpers/errors.js';

describe('readCommit', () => {
  it('root commit has no parents', async () => {
    const state = buildRepo('root');
    const repo = await openRepository(state.dir);

    const commit = await readCommit(repo, state.commits.root as string);

    expect(commit.sha).toBe(state.commits.root);
    expect(commit.parents).toEqual([]);
  });

  it('author keeps the recorded zone', async () => {
    const state = buildRepo('root');
    const repo = await openRepository(state.dir);

    const { author } = await readCommit(repo, state.commits.root as string);

    expect(author).toEqual({
      name: ALICE.name,
      email: ALICE.email,
      date: '2024-01-01T05:30:00+05:30',
      timestamp: BASE_EPOCH,
      timezone: '+0530',
    });
  });

  it('committer is read separately', async () => {
    const state = buildRepo('root');
    const repo = await openRepository(state.dir);

    const { committer } = await readCommit(repo, state.commits.root as string);

    expect(committer.name).toBe(CID.name);
    expect(committer.email).toBe(CID.email);
    expect(committer.timezone).toBe('+0530');
  });

  it('one-line message has an empty body', async () => {
    const state = buildRepo('modify');
    const repo = await openRepository(state.dir);

    const commit = await readCommit(repo, state.commits.modify as string);

    expect(commit.subject).toBe('Change the app values');
    expect(commit.body).toBe('');
    expect(commit.trailers).toEqual([]);
    expect(commit.parents).toEqual([state.commits.root]);
  });

  it('merge lists both parents in order', async () => {
    const state = buildRepo('merge');
    const repo = await openRepository(state.dir);

    const commit = await readCommit(repo, state.commits['clean-merge'] as string);

    expect(commit.parents).toEqual([state.commits['main-1'], state.commits['feature-1']]);
  });

  it('shallow boundary keeps its recorded parent', async () => {
    const state = buildRepo('shallow');
    const repo = await openRepository(state.dir);

    const commit = await readCommit(repo, state.commits.head as string);

    expect(commit.parents).toEqual([state.commits['missing-parent']]);
  });
});

describe('readCommit shell syntax', () => {
  const subject = SHELL_MESSAGE.split('\n')[0];
  // The body is the message after the subject and its blank line, without the final newline.
  const body = SHELL_MESSAGE.split('\n').slice(2).join('\n').trimEnd();

  it('subject is returned as text', async () => {
    const state = buildRepo('shell-message');
    const repo = await openRepository(state.dir);

    const commit = await readCommit(repo, state.commits.message as string);

    expect(commit.subject).toBe(subject);
  });

  it('body is returned as text', async () => {
    const state = buildRepo('shell-message');
    const repo = await openRepository(state.dir);

    const commit = await readCommit(repo, state.commits.message as string);

    expect(commit.body).toBe(body);
  });

  it('trailers come from git, unfolded', async () => {
    const state = buildRepo('shell-message');
    const repo = await openRepository(state.dir);

    const commit = await readCommit(repo, state.commits.message as string);

    expect(commit.trailers).toEqual([
      { key: 'Signed-off-by', value: 'Alice Example <alice@example.com>' },
      { key: 'Co-authored-by', value: 'Bob Example <bob@example.com>' },
      { key: 'Refs', value: '#42' },
    ]);
  });

  it('nothing in the message is executed', async () => {
    const state = buildRepo('shell-message');
    const repo = await openRepository(state.dir);

    const commit = await readCommit(repo, state.commits.message as string);
    await readChanges(repo, commit);

    for (const marker of SHELL_MARKERS) {
      expect(fs.existsSync(path.join(state.dir, marker)), `${marker} in the repository`).toBe(false);
      expect(fs.existsSync(path.join(state.gitDir, marker)), `${marker} in the git directory`).toBe(false);
      expect(fs.existsSync(path.join(process.cwd(), marker)), `${marker} in the current folder`).toBe(false);
    }
  });
});

describe('readCommits', () => {
  it('returns commits in the requested order', async () => {
    const state = buildRepo('history');
    const repo = await openRepository(state.dir);
    const { c1, c3, f2 } = state.commits as Record<string, string>;

    const commits = await readCommits(repo, [c3 as string, c1 as string, f2 as string, c3 as string]);

    expect(commits.map((commit) => commit.sha)).toEqual([c3, c1, f2, c3]);
    expect(commits.map((commit) => commit.subject)).toEqual(['Commit c3', 'Commit c1', 'Commit f2', 'Commit c3']);
  });

  it('reads 1,500 commits', async () => {
    const state = buildRepo('ambiguous');
    const repo = await openRepository(state.dir);
    const shas = execFileSync('git', [`--git-dir=${state.gitDir}`, 'rev-list', '--reverse', 'main'], { env: gitEnvironment() })
      .toString('utf8')
      .trim()
      .split('\n');

    const commits = await readCommits(repo, shas);

    expect(commits).toHaveLength(1500);
    expect(commits.map((commit) => commit.sha)).toEqual(shas);
    expect(commits[1499]?.subject).toBe('Commit 1499');
    expect(commits[1499]?.parents).toEqual([shas[1498]]);
  });

  it('empty list returns nothing', async () => {
    const state = buildRepo('root');
    const repo = await openRepository(state.dir);

    expect(await readCommits(repo, [])).toEqual([]);
  });

  it('absent id raises UnknownRevisionError', async () => {
    const state = buildRepo('root');
    const repo = await openRepository(state.dir);
    const absent = '0123456789abcdef0123456789abcdef01234567';

    const error = await captureError(readCommits(repo, [state.commits.root as string, absent]));

    expect(error).toBeInstanceOf(UnknownRevisionError);
    expect((error as UnknownRevisionError).revision).toBe(absent);
  });

  it('blob id raises UnknownRevisionError', async () => {
    const state = buildRepo('root');
    const repo = await openRepository(state.dir);
    const blob = execFileSync('git', [`--git-dir=${state.gitDir}`, 'rev-parse', 'HEAD:README.md'], { env: gitEnvironment() })
      .toString('utf8')
      .trim();

    const error = await captureError(readCommit(repo, blob));

    expect(error).toBeInstanceOf(UnknownRevisionError);
    expect((error as Error).message).toContain(blob);
  });

  it.each(['HEAD', 'abc1234', `${'A'.repeat(40)}`, `-${'a'.repeat(39)}`])('id %j is rejected', async (value) => {
    const state = buildRepo('root');
    const repo = await openRepository(state.dir);

    await expect(readCommits(repo, [value])).rejects.toBeInstanceOf(InvalidOptionError);
  });
});
