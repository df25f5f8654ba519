/** An author or committer as git records it. */
export interface Person {
  name: string;
  email: string;
  /** Strict ISO 8601 with the recorded offset, as `%aI` prints it: `2026-03-29T02:30:00+01:00`. */
  date: string;
  /** Seconds since the epoch. */
  timestamp: number;
  /** The recorded offset, as git stores it: `+0100`. */
  timezone: string;
}

export interface Trailer {
  key: string;
  value: string;
}

/** Metadata of one commit. */
export interface CommitInfo {
  /** Full object id. */
  sha: string;
  /** Parent ids in order; the first parent is the branch the commit was made on. */
  parents: string[];
  author: Person;
  committer: Person;
  /** First paragraph of the message, joined into one line as `%s` does. */
  subject: string;
  /** The message after the subject, trailers included, without trailing blank lines. */
  body: string;
  trailers: Trailer[];
}

/** A change's status, with git's `--raw` letters spelled out. */
export type ChangeStatus = 'added' | 'modified' | 'deleted' | 'renamed' | 'copied' | 'type-changed' | 'unmerged' | 'unknown';

/** File modes as git stores them. */
export const FILE_MODE = {
  missing: '000000',
  regular: '100644',
  executable: '100755',
  symlink: '120000',
  submodule: '160000',
} as const;

/** One changed path of a commit, from `git diff-tree --raw --numstat -z`. */
export interface FileChange {
  /** Path after the change (for a deletion, the deleted path), exactly as stored: any bytes git allows, decoded as UTF-8. */
  path: string;
  /** Path before a rename or copy. */
  oldPath?: string;
  /**
   * Set when `path` or `oldPath` is not valid UTF-8. Each invalid byte is then decoded as
   * U+FFFD, so the string no longer names the file exactly.
   */
  lossyPath?: true;
  status: ChangeStatus;
  /** Similarity of a rename or copy, 0 to 100. */
  similarity?: number;
  oldMode: string;
  newMode: string;
  /** True when both sides exist and their modes differ (for example 100644 to 100755). */
  modeChanged: boolean;
  oldObject: string;
  newObject: string;
  /** Added and deleted lines; null for binary files. */
  additions: number | null;
  deletions: number | null;
  binary: boolean;
  /** Set when either side is a submodule (mode 160000): the commits it pointed to. */
  submodule?: { oldCommit: string | null; newCommit: string | null };
}

/**
 * Policy for showing a merge commit: its diff against the first parent (the default, which
 * is what the merge brought into the branch), nothing, or git's combined diff (`--cc`).
 */
export type MergePolicy = 'first-parent' | 'skip' | 'combined';

/** Base a commit's changes were computed against. */
export type DiffBase =
  | { kind: 'parent'; parent: string }
  | { kind: 'empty-tree' }
  | { kind: 'combined'; parents: string[] }
  | { kind: 'skipped-merge'; parents: string[] }
  | { kind: 'parent-missing'; parent: string };

export interface CommitChanges {
  base: DiffBase;
  files: FileChange[];
}

/**
 * The identity of a commit's change: `git patch-id --stable` where git gives one, so that
 * a rebased, cherry-picked or reworded commit keeps it, and a stated fallback otherwise.
 */
export interface ChangeIdentity {
  id: string;
  source: 'patch-id' | 'first-parent-patch-id' | 'empty-commit' | 'commit-sha';
}

/** A git repository as stepper addresses it. */
export interface Repository {
  /** Real path of the common git directory, shared by all linked worktrees: the repository's identity. */
  gitDir: string;
  /** Top of the worktree the user is in, when there is one. */
  worktree: string | null;
  shallow: boolean;
}
