import { describe, expect, it } from 'vitest';

import * as git from '../../src/git/index.js';

describe('git public surface', () => {
  it.each([
    'openRepository',
    'resolveRevisions',
    'resolveCommit',
    'readCommit',
    'readCommits',
    'readChanges',
    'changeIdentity',
    'gitEnvironment',
    'runGit',
    'readGit',
    'streamGit',
    'spawnGit',
    'objectContext',
    'worktreeContext',
  ])('exports function %s', (name) => {
    expect(typeof (git as Record<string, unknown>)[name]).toBe('function');
  });

  it.each(['GitError', 'GitNotFoundError', 'NotARepositoryError', 'UnknownRevisionError', 'AmbiguousRevisionError'])(
    'exports error class %s',
    (name) => {
      expect((git as Record<string, unknown>)[name]).toBeTypeOf('function');
    },
  );

  it('exports file modes', () => {
    expect(git.FILE_MODE.submodule).toBe('160000');
  });
});
