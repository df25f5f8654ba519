import fs from 'node:fs';
import path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { InvalidOptionError, type StepperError } from '../../src/errors.js';
import { AmbiguousRevisionError, UnknownRevisionError } from '../../src/git/errors.js';
import { openRepository } from '../../src/git/repository.js';
import { resolveCommit, resolveRevisions } from '../../src/git/revisions.js';
import type { Repository } from '../../src/git/types.js';
import { RepoBuilder } from '../helpers/repo-builder.js';
import { type BuiltRepo, buildRepo } from '../helpers/repos.js';
import { makeTempDir } from '../helpers/temp.js';
import { captureError } from '../helpers/errors.js';

let state: BuiltRepo;
let repo: Repository;
let c: Record<string, string>;

beforeAll(async () => {
  state = buildRepo('history');
  repo = await openRepository(state.dir);
  c = state.commits;
});

describe('resolveRevisions single commits', () => {
  const cases: Array<[string, (spec: Record<string, string>) => string, string]> = [
    ['HEAD', () => 'HEAD', 'c5'],
    ['HEAD~3', () => 'HEAD~3', 'c2'],
    ['HEAD^', () => 'HEAD^', 'c4'],
    ['full id', (commits) => commits.c3 as string, 'c3'],
    ['short id', (commits) => (commits.c1 as string).slice(0, 7), 'c1'],
    ['annotated tag', () => 'v1.0', 'c2'],
    ['lightweight tag', () => 'light', 'c3'],
    ['branch', () => 'feature', 'f2'],
    ['full ref name', () => 'refs/heads/feature', 'f2'],
    ['ancestor of a branch', () => 'feature~1', 'f1'],
    ['message search', () => ':/Commit c3', 'c3'],
    ['branch starting with a dash', () => '-dash', 'c4'],
  ];

  it.each(cases)('%s resolves', async (_label, spec, expected) => {
    const result = await resolveRevisions(repo, [spec(c)]);

    expect(result).toEqual([c[expected]]);
  });

  it('keeps the order of the specs', async () => {
    expect(await resolveRevisions(repo, [c.c2 as string, 'HEAD', 'v1.0~1'])).toEqual([c.c2, c.c5, c.c1]);
  });

  it('lists a repeated commit once', async () => {
    expect(await resolveRevisions(repo, ['HEAD', 'main', c.c4 as string, `${c.c3}..HEAD`])).toEqual([c.c5, c.c4]);
  });

  it('no specs return no commits', async () => {
    expect(await resolveRevisions(repo, [])).toEqual([]);
  });

  it('resolveCommit peels a tag', async () => {
    expect(await resolveCommit(repo, 'v1.0')).toBe(c.c2);
  });

  it('an empty repository says it has no commits', async () => {
    const empty = await openRepository(RepoBuilder.init(makeTempDir('stepper-revisions-empty-')).dir);

    const error = (await captureError(resolveRevisions(empty, ['HEAD']))) as StepperError;

    expect(error).toBeInstanceOf(UnknownRevisionError);
    expect(error.message).toBe(`unknown revision "HEAD": the repository ${empty.gitDir} has no commits yet; make a first commit, then name it`);
  });

  it('a negated revision names no commit', async () => {
    const error = (await captureError(resolveRevisions(repo, ['^HEAD']))) as StepperError;

    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toBe('revision "^HEAD" excludes commits and names none to report: give a commit, or a range such as HEAD~3..HEAD');
  });
});

describe('resolveRevisions ranges', () => {
  it('A..B lists commits oldest first', async () => {
    expect(await resolveRevisions(repo, [`${c.c2}..HEAD`])).toEqual([c.c3, c.c4, c.c5]);
  });

  it('branch..branch', async () => {
    expect(await resolveRevisions(repo, ['main..feature'])).toEqual([c.f1, c.f2]);
  });

  it('empty left side means HEAD', async () => {
    expect(await resolveRevisions(repo, ['..feature'])).toEqual([c.f1, c.f2]);
  });

  it('empty right side means HEAD', async () => {
    expect(await resolveRevisions(repo, ['feature..'])).toEqual([c.c4, c.c5]);
  });

  it('tags peel inside a range', async () => {
    expect(await resolveRevisions(repo, ['v1.0..light'])).toEqual([c.c3]);
  });

  it('A...B lists both sides', async () => {
    const result = await resolveRevisions(repo, ['main...feature']);

    expect([...result].sort()).toEqual([c.f1, c.f2, c.c4, c.c5].sort());
    expect(result.indexOf(c.f1 as string)).toBeLessThan(result.indexOf(c.f2 as string));
    expect(result.indexOf(c.c4 as string)).toBeLessThan(result.indexOf(c.c5 as string));
  });

  it('A^! is the commit alone', async () => {
    expect(await resolveRevisions(repo, ['HEAD^!'])).toEqual([c.c5]);
  });

  it('A^- excludes the first parent', async () => {
    expect(await resolveRevisions(repo, ['feature^-'])).toEqual([c.f2]);
  });

  it('A^@ lists the parents and their history', async () => {
    expect(await resolveRevisions(repo, [`${c.c3}^@`])).toEqual([c.c1, c.c2]);
  });

  it('empty range returns nothing', async () => {
    expect(await resolveRevisions(repo, ['HEAD..HEAD'])).toEqual([]);
  });
});

describe('resolveRevisions limits', () => {
  it('since filters a range', async () => {
    expect(await resolveRevisions(repo, [`${c.c1}..main`], { since: '2024-01-05 12:00:00 +0000' })).toEqual([c.c4, c.c5]);
  });

  it('until filters a range', async () => {
    expect(await resolveRevisions(repo, [`${c.c1}..main`], { until: '2024-01-02 12:00:00 +0000' })).toEqual([c.c2]);
  });

  it('author filters a range', async () => {
    expect(await resolveRevisions(repo, [`${c.c1}..main`], { author: 'Bob' })).toEqual([c.c2, c.c5]);
  });

  it('maxCount keeps the newest of a range', async () => {
    expect(await resolveRevisions(repo, [`${c.c1}..main`], { maxCount: 2 })).toEqual([c.c4, c.c5]);
  });

  it('author is an extended regular expression', async () => {
    expect(await resolveRevisions(repo, [`${c.c1}..main`], { author: 'Bob|nobody' })).toEqual([c.c2, c.c5]);
  });

  it('author filters single commits', async () => {
    expect(await resolveRevisions(repo, [c.c1 as string, c.c2 as string, 'HEAD'], { author: 'bob@example.com' })).toEqual([c.c2, c.c5]);
  });

  it('since filters single commits', async () => {
    expect(await resolveRevisions(repo, ['HEAD~4', 'HEAD'], { since: '2024-01-03 00:00:00 +0000' })).toEqual([c.c5]);
  });

  it('maxCount ignores single commits beside a range', async () => {
    expect(await resolveRevisions(repo, ['HEAD~2', `${c.c3}..main`], { maxCount: 1 })).toEqual([c.c3, c.c5]);
  });

  it('maxCount without a range is rejected', async () => {
    const error = await captureError(resolveRevisions(repo, ['HEAD~1', 'HEAD'], { maxCount: 1 }));

    expect((error as StepperError).code).toBe('INVALID_OPTION');
    expect((error as Error).message).toBe(
      '--max-count limits ranges, but "HEAD~1", "HEAD" name single commits: give a range such as HEAD~50..HEAD, or drop --max-count',
    );
  });

  it('maxCount below 1 is rejected', async () => {
    await expect(resolveRevisions(repo, ['HEAD'], { maxCount: 0 })).rejects.toBeInstanceOf(InvalidOptionError);
  });

  it('blank since is rejected', async () => {
    const error = await captureError(resolveRevisions(repo, ['HEAD'], { since: ' ' }));

    expect(error).toBeInstanceOf(InvalidOptionError);
    expect((error as Error).message).toContain('invalid --since');
  });
});

describe('resolveRevisions errors', () => {
  it('unknown name raises UnknownRevisionError', async () => {
    const error = await captureError(resolveRevisions(repo, ['HEAD', 'no-such-branch']));

    expect(error).toBeInstanceOf(UnknownRevisionError);
    expect((error as UnknownRevisionError).code).toBe('UNKNOWN_REVISION');
    expect((error as UnknownRevisionError).revision).toBe('no-such-branch');
    expect((error as Error).message).toContain('"no-such-branch"');
  });

  it('unknown range side is named', async () => {
    const error = await captureError(resolveRevisions(repo, ['HEAD~1..no-such-tag']));

    expect(error).toBeInstanceOf(UnknownRevisionError);
    expect((error as UnknownRevisionError).revision).toBe('no-such-tag');
  });

  it('unknown full id raises UnknownRevisionError', async () => {
    const error = await captureError(resolveRevisions(repo, ['0123456789abcdef0123456789abcdef01234567']));

    expect(error).toBeInstanceOf(UnknownRevisionError);
  });

  it('blob is not a commit', async () => {
    const error = await captureError(resolveRevisions(repo, ['HEAD:c1.txt']));

    expect(error).toBeInstanceOf(UnknownRevisionError);
    expect((error as UnknownRevisionError).revision).toBe('HEAD:c1.txt');
  });

  it('empty spec raises UnknownRevisionError', async () => {
    await expect(resolveRevisions(repo, [''])).rejects.toBeInstanceOf(UnknownRevisionError);
  });

  it('option-like spec is not run as an option', async () => {
    const output = path.join(makeTempDir(), 'written-by-git.txt');

    const error = await captureError(resolveRevisions(repo, [`--output=${output}`]));

    expect(error).toBeInstanceOf(UnknownRevisionError);
    expect(fs.existsSync(output)).toBe(false);
  });

  it('option-like range side is not run as an option', async () => {
    const error = await captureError(resolveRevisions(repo, ['--all..HEAD']));

    expect(error).toBeInstanceOf(UnknownRevisionError);
    expect((error as UnknownRevisionError).revision).toBe('--all');
  });

  it('ambiguous short id raises AmbiguousRevisionError', async () => {
    const ambiguous = buildRepo('ambiguous');
    const ambiguousRepo = await openRepository(ambiguous.dir);
    const prefix = (ambiguous.commits['ambiguous-a'] as string).slice(0, 4);

    const error = await captureError(resolveRevisions(ambiguousRepo, [prefix]));

    expect(error).toBeInstanceOf(AmbiguousRevisionError);
    expect((error as AmbiguousRevisionError).code).toBe('AMBIGUOUS_REVISION');
    expect((error as AmbiguousRevisionError).revision).toBe(prefix);
    expect((error as Error).message).toContain(`"${prefix}"`);
  });

  it('ambiguous range side raises AmbiguousRevisionError', async () => {
    const ambiguous = buildRepo('ambiguous');
    const ambiguousRepo = await openRepository(ambiguous.dir);
    const prefix = (ambiguous.commits['ambiguous-b'] as string).slice(0, 4);

    const error = await captureError(resolveRevisions(ambiguousRepo, [`${prefix}..HEAD`]));

    expect(error).toBeInstanceOf(AmbiguousRevisionError);
    expect((error as AmbiguousRevisionError).revision).toBe(prefix);
  });

  it('longer prefix of an ambiguous pair resolves', async () => {
    const ambiguous = buildRepo('ambiguous');
    const ambiguousRepo = await openRepository(ambiguous.dir);
    const sha = ambiguous.commits['ambiguous-a'] as string;

    expect(await resolveRevisions(ambiguousRepo, [sha.slice(0, 12)])).toEqual([sha]);
  });
});

describe('resolveRevisions worktrees', () => {
  it('HEAD of a linked worktree is its own', async () => {
    const worktree = buildRepo('worktree');
    const linked = await openRepository(worktree.dirs.worktree as string);

    expect(await resolveRevisions(linked, ['HEAD'])).toEqual([worktree.commits['worktree-commit']]);
  });

  it('HEAD of the main worktree is unchanged', async () => {
    const worktree = buildRepo('worktree');
    const main = await openRepository(worktree.dir);

    expect(await resolveRevisions(main, ['HEAD'])).toEqual([worktree.commits.root]);
  });

  it('bare repository resolves HEAD', async () => {
    const bare = buildRepo('bare');
    const bareRepo = await openRepository(bare.dir);

    expect(await resolveRevisions(bareRepo, ['HEAD'])).toEqual([bare.commits.root]);
  });
});
