import { createHash } from 'node:crypto';
import { once } from 'node:events';

import { commitExists } from './changes.js';
import { GitError } from './errors.js';
import { spawnGit } from './git.js';
import { objectContext } from './repository.js';
import type { ChangeIdentity, CommitInfo, Repository } from './types.js';

/**
 * Computes the identity of `commit`'s change, which a rebase, a cherry-pick or a reworded
 * message keeps:
 *
 * - `patch-id`: `git patch-id --stable` of the diff against the parent (the empty tree
 *   for a root commit);
 * - `first-parent-patch-id`: the same for a merge, on its diff against the first parent;
 * - `empty-commit`: for a commit whose diff is empty (a merge included), a SHA-256 of the
 *   author's name, email and date, which those operations also keep;
 * - `commit-sha`: the commit id itself, when the parent is missing from a shallow clone.
 *
 * The diff includes binary contents (`--binary`), so two different changes to one binary
 * file get different ids, and uses rename and copy detection like the file listing.
 */
export async function changeIdentity(repo: Repository, commit: CommitInfo): Promise<ChangeIdentity> {
  const [firstParent] = commit.parents;
  const args = ['diff-tree', ...PATCH_ARGS, ...diffRange(commit)];

  let patchId: string;
  try {
    patchId = await computePatchId(repo, args);
  } catch (error) {
    if (error instanceof GitError && firstParent !== undefined && !(await commitExists(repo, firstParent))) {
      return { id: commit.sha, source: 'commit-sha' };
    }
    throw error;
  }

  return identityFromPatchId(commit, patchId);
}

/**
 * Arguments of every patch stepper reads of a commit: the evidence stream and the patch id
 * come from one diff, so they must agree. Rename and copy detection match the file listing.
 */
export const PATCH_ARGS = [
  '-p',
  '--binary',
  '-r',
  '-M',
  '-C',
  '--no-color',
  '--no-ext-diff',
  '--no-textconv',
  '--no-commit-id',
  '--src-prefix=a/',
  '--dst-prefix=b/',
] as const;

/** Returns the diff-tree arguments that name `commit`'s change: its first parent and itself, or `--root`. */
export function diffRange(commit: CommitInfo): string[] {
  const [firstParent] = commit.parents;
  return firstParent === undefined ? ['--root', commit.sha] : [firstParent, commit.sha];
}

/** Turns `git patch-id` output into an identity, with the fallback for an empty diff. */
export function identityFromPatchId(commit: CommitInfo, patchId: string): ChangeIdentity {
  if (patchId === '') {
    return { id: emptyCommitId(commit), source: 'empty-commit' };
  }

  return { id: patchId, source: commit.parents.length > 1 ? 'first-parent-patch-id' : 'patch-id' };
}

/** A running `git patch-id --stable` fed by the caller, for a diff the caller reads anyway. */
export interface PatchIdSink {
  /** Writes diff bytes; resolves when git can take more, so memory stays bounded. */
  write(chunk: Buffer): Promise<void>;
  /** Ends the input and returns the patch id, or '' for an empty diff. */
  end(): Promise<string>;
  /** Ends the input when no diff will be written, ignoring the result. */
  cancel(): void;
}

/** Starts `git patch-id --stable` reading from the caller. */
export function startPatchId(repo: Repository): PatchIdSink {
  const patchId = spawnGit(objectContext(repo), ['patch-id', '--stable'], { stdin: 'pipe' });
  const stdin = patchId.stdin;
  if (!stdin) {
    throw new Error('git patch-id was spawned without a stdin pipe');
  }

  // patch-id exiting early closes the pipe; its own exit status reports why.
  stdin.on('error', () => undefined);
  const chunks: Buffer[] = [];
  patchId.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));

  return {
    async write(chunk) {
      if (!stdin.write(chunk)) {
        await Promise.race([once(stdin, 'drain'), patchId.finished]);
      }
    },
    async end() {
      stdin.end();
      await patchId.finished;
      return parsePatchIdOutput(Buffer.concat(chunks));
    },
    cancel() {
      stdin.end();
    },
  };
}

function parsePatchIdOutput(output: Buffer): string {
  // The output is "<patch id> <commit id>", with a zero commit id for input without commit headers.
  const [id = ''] = output.toString('utf8').trim().split(' ');
  return id;
}

/** Pipes `git <diffArgs>` into `git patch-id --stable` and returns the id, or '' for an empty diff. */
async function computePatchId(repo: Repository, diffArgs: string[]): Promise<string> {
  const context = objectContext(repo);
  const diff = spawnGit(context, diffArgs);
  const patchId = spawnGit(context, ['patch-id', '--stable'], { stdin: 'pipe' });

  const stdin = patchId.stdin;
  if (!stdin) {
    throw new Error('git patch-id was spawned without a stdin pipe');
  }
  // patch-id exiting early closes the pipe; its own exit status reports why.
  stdin.on('error', () => undefined);
  diff.stdout.pipe(stdin);

  const chunks: Buffer[] = [];
  patchId.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));

  const [diffResult, patchIdResult] = await Promise.allSettled([diff.finished, patchId.finished]);
  // A diff killed by SIGPIPE only shows that patch-id stopped reading, so patch-id's error comes first then.
  const diffBrokenPipe = diffResult.status === 'rejected' && diffResult.reason instanceof GitError && diffResult.reason.signal === 'SIGPIPE';
  if (diffResult.status === 'rejected' && !diffBrokenPipe) {
    throw diffResult.reason;
  }
  if (patchIdResult.status === 'rejected') {
    throw patchIdResult.reason;
  }
  if (diffResult.status === 'rejected') {
    throw diffResult.reason;
  }

  return parsePatchIdOutput(Buffer.concat(chunks));
}

function emptyCommitId(commit: CommitInfo): string {
  const { name, email, timestamp, timezone } = commit.author;
  return createHash('sha256').update(`${name}\0${email}\0${timestamp} ${timezone}`).digest('hex');
}
