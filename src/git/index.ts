// The git reading layer: the functions the rest of stepper uses to read a repository.
export { readChanges, type ReadChangesOptions } from './changes.js';
export { readCommit, readCommits } from './commit.js';
export { gitEnvironment } from './environment.js';
export { AmbiguousRevisionError, GitError, GitNotFoundError, NotARepositoryError, UnknownRevisionError } from './errors.js';
export { type GitContext, type GitProcess, readGit, runGit, spawnGit, streamGit } from './git.js';
export { changeIdentity } from './patch-id.js';
export { objectContext, openRepository, worktreeContext } from './repository.js';
export { resolveCommit, resolveRevisions, type RevisionLimits } from './revisions.js';
export * from './types.js';
