import { InvalidOptionError } from '../errors.js';
import { type NumstatRecord, parseDiffTreeOutput, type RawRecord } from './diff-tree-output.js';
import { GitError } from './errors.js';
import { readGit, runGit } from './git.js';
import { objectContext } from './repository.js';
import { type ChangeStatus, type CommitChanges, type CommitInfo, FILE_MODE, type FileChange, type MergePolicy, type Repository } from './types.js';

export interface ReadChangesOptions {
  /** Treatment of merge commits; `first-parent` unless set. */
  mergePolicy?: MergePolicy;
  /**
   * Count added and deleted lines (`--numstat`), which makes git diff every file. A caller
   * that reads the patch anyway passes false and counts from it: additions, deletions and
   * binary are then null, null and false. Combined diffs always count. @default true
   */
  lineCounts?: boolean;
}

const MERGE_POLICIES: readonly MergePolicy[] = ['first-parent', 'skip', 'combined'];

/**
 * Rename and copy detection are on (`-M -C`), so a moved file is one change and not a
 * deletion plus an addition. Copies are found among the files the commit modified, as
 * `-C` does without `--find-copies-harder`. diff-tree is plumbing, so the user's
 * `diff.renames` and textconv settings do not change its output, but `diff.renameLimit`
 * still caps rename detection in very large commits.
 */
const DIFF_TREE_ARGS = ['diff-tree', '-z', '-r', '--raw', '--numstat', '--no-commit-id', '-M', '-C'];

const STATUS_NAMES: Record<string, ChangeStatus> = {
  A: 'added',
  M: 'modified',
  D: 'deleted',
  R: 'renamed',
  C: 'copied',
  T: 'type-changed',
  U: 'unmerged',
  X: 'unknown',
};

// ignoreBOM keeps a leading U+FEFF, which is part of the file name.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Lists the files `commit` changed, from one `git diff-tree` call:
 *
 * - a root commit is compared with the empty tree;
 * - a commit with one parent is compared with it;
 * - a merge follows `mergePolicy`: `first-parent` compares it with its first parent
 *   (what the merge brought into the branch), `skip` returns no files, and `combined`
 *   lists the paths that differ from every parent (git's `--cc`);
 * - an empty commit returns no files.
 *
 * In a shallow clone, the parent of a boundary commit is not present. The result is then
 * base `parent-missing` with no files: comparing with the empty tree instead would report
 * every file of the commit as added, which is false.
 *
 * NOTE: in a partial clone (`--filter=blob:none`), `--numstat` makes git fetch the missing
 * blobs from the promisor remote (seen with git 2.39), so reading changes can use the network.
 */
export async function readChanges(repo: Repository, commit: CommitInfo, options: ReadChangesOptions = {}): Promise<CommitChanges> {
  const policy = options.mergePolicy ?? 'first-parent';
  if (!MERGE_POLICIES.includes(policy)) {
    throw new InvalidOptionError('mergePolicy', MERGE_POLICIES.map((name) => `'${name}'`).join(', '), policy);
  }

  const { sha, parents } = commit;
  const [firstParent] = parents;
  const listArgs = options.lineCounts === false ? DIFF_TREE_ARGS.filter((arg) => arg !== '--numstat') : DIFF_TREE_ARGS;

  if (firstParent === undefined) {
    const output = await readGit(objectContext(repo), [...listArgs, '--root', sha]);
    return { base: { kind: 'empty-tree' }, files: buildChanges(parseDiffTreeOutput(output)) };
  }

  if (parents.length > 1 && policy === 'skip') {
    return { base: { kind: 'skipped-merge', parents: [...parents] }, files: [] };
  }

  if (parents.length > 1 && policy === 'combined') {
    // Under --cc, --numstat counts lines against the first parent only and covers every
    // file that differs from it. The counts of a combined entry therefore come from the
    // first parent's numstat record for the same path.
    const args = ['diff-tree', '-z', '-r', '--raw', '--numstat', '--no-commit-id', '-M', '--cc', '--combined-all-paths', sha];
    try {
      const output = await readGit(objectContext(repo), args);
      return { base: { kind: 'combined', parents: [...parents] }, files: buildCombinedChanges(parseDiffTreeOutput(output, { combinedAllPaths: true })) };
    } catch (error) {
      return handleMissingParent(repo, parents, error);
    }
  }

  try {
    const output = await readGit(objectContext(repo), [...listArgs, firstParent, sha]);
    return { base: { kind: 'parent', parent: firstParent }, files: buildChanges(parseDiffTreeOutput(output)) };
  } catch (error) {
    return handleMissingParent(repo, [firstParent], error);
  }
}

/** Returns base `parent-missing` when one of `parents` is absent, and rethrows `error` otherwise. */
async function handleMissingParent(repo: Repository, parents: readonly string[], error: unknown): Promise<CommitChanges> {
  if (!(error instanceof GitError)) {
    throw error;
  }
  for (const parent of parents) {
    if (!(await commitExists(repo, parent))) {
      return { base: { kind: 'parent-missing', parent }, files: [] };
    }
  }
  throw error;
}

/** Reports whether the commit object `sha` is present in the repository. */
export async function commitExists(repo: Repository, sha: string): Promise<boolean> {
  try {
    await runGit(objectContext(repo), ['cat-file', '-e', `${sha}^{commit}`]);
    return true;
  } catch (error) {
    if (error instanceof GitError && error.exitCode !== null) {
      return false;
    }
    throw error;
  }
}

/** Pairs the `--raw` records of a two-way diff with their `--numstat` records, when listed. */
export function buildChanges(output: { raw: RawRecord[]; numstat: NumstatRecord[] }): FileChange[] {
  // Both lists follow git's order, but pairing by paths keeps a missing record from shifting the rest.
  const counts = new Map<string, NumstatRecord[]>();
  for (const record of output.numstat) {
    const key = pairKey(record.paths[0] as Buffer, record.paths[record.paths.length - 1] as Buffer);
    counts.set(key, [...(counts.get(key) ?? []), record]);
  }

  return output.raw.map((record) => {
    const oldPath = record.paths[0] as Buffer;
    const newPath = record.paths[record.paths.length - 1] as Buffer;
    const numstat = counts.get(pairKey(oldPath, newPath))?.shift();
    return buildChange(record, record.paths.length === 2 ? oldPath : undefined, newPath, numstat);
  });
}

function buildCombinedChanges(output: { raw: RawRecord[]; numstat: NumstatRecord[] }): FileChange[] {
  const counts = new Map<string, NumstatRecord>();
  for (const record of output.numstat) {
    counts.set((record.paths[record.paths.length - 1] as Buffer).toString('latin1'), record);
  }

  return output.raw.map((record) => {
    // Paths are listed per parent, then the merge's own; the first parent's is the old path.
    const firstParentPath = record.paths[0] as Buffer;
    const newPath = record.paths[record.paths.length - 1] as Buffer;
    const oldPath = firstParentPath.equals(newPath) ? undefined : firstParentPath;
    return buildChange(record, oldPath, newPath, counts.get(newPath.toString('latin1')));
  });
}

/**
 * Builds one FileChange. For a combined record, the status, old mode and old object are
 * the first parent's.
 */
function buildChange(record: RawRecord, oldPath: Buffer | undefined, newPath: Buffer, numstat: NumstatRecord | undefined): FileChange {
  const oldMode = record.oldModes[0] ?? FILE_MODE.missing;
  const oldObject = record.oldObjects[0] ?? '';
  const path = decodePath(newPath);
  const old = oldPath === undefined ? undefined : decodePath(oldPath);

  const change: FileChange = {
    path: path.text,
    status: STATUS_NAMES[record.status.slice(0, 1)] ?? 'unknown',
    oldMode,
    newMode: record.newMode,
    modeChanged: oldMode !== FILE_MODE.missing && record.newMode !== FILE_MODE.missing && oldMode !== record.newMode,
    oldObject,
    newObject: record.newObject,
    // A missing numstat record should not happen. If it does, null counts mean "unknown" rather than zero.
    additions: numstat?.additions ?? null,
    deletions: numstat?.deletions ?? null,
    binary: numstat !== undefined && numstat.additions === null,
  };

  if (old !== undefined) {
    change.oldPath = old.text;
  }
  if (record.score !== undefined) {
    change.similarity = record.score;
  }
  if (path.lossy || old?.lossy) {
    change.lossyPath = true;
  }
  if (oldMode === FILE_MODE.submodule || record.newMode === FILE_MODE.submodule) {
    change.submodule = {
      oldCommit: oldMode === FILE_MODE.submodule ? oldObject : null,
      newCommit: record.newMode === FILE_MODE.submodule ? record.newObject : null,
    };
  }

  return change;
}

function decodePath(bytes: Buffer): { text: string; lossy: boolean } {
  try {
    return { text: strictUtf8.decode(bytes), lossy: false };
  } catch {
    return { text: bytes.toString('utf8'), lossy: true };
  }
}

/** Builds a map key that keeps every byte of both paths, which a UTF-8 decode would not. */
function pairKey(oldPath: Buffer, newPath: Buffer): string {
  return `${oldPath.toString('latin1')}\0${newPath.toString('latin1')}`;
}
