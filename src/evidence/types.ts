import type { ChangeIdentity, CommitInfo, DiffBase, FileChange, MergePolicy } from '../git/types.js';
import type { FileCategory } from './exclusions.js';

/** How much of a file the evidence shows. */
export type Coverage = 'full' | 'partial' | 'stats only' | `excluded: ${string}`;

/** Evidence order: source first, then tests, then docs. Configuration counts as source. */
export type { FileCategory };

/** Facts about a file's change that its diff would show poorly or not at all. */
export type FileFlag =
  | 'line-endings-only'
  | 'no-trailing-newline'
  | 'trailing-newline-added'
  | 'non-utf8'
  | 'mode-only'
  | 'rename-only'
  | 'submodule'
  | 'long-lines';

export interface EvidenceFile extends FileChange {
  category: FileCategory;
  coverage: Coverage;
  flags: FileFlag[];
  /** Hunk text shown to the model, after redaction; null when none is shown. */
  patch: string | null;
  /** Bytes of hunk text git printed for the file, shown or not. */
  patchBytes: number;
}

/** Files summarized per directory, used when the file list alone does not fit the budget. */
export interface DirectoryGroup {
  /** Directory path, '' for the top level. */
  directory: string;
  files: number;
  additions: number;
  deletions: number;
  excluded: number;
}

/** Material a model is shown about one commit, with marks that record what was left out. */
export interface Evidence {
  /** Identity of the repository: the real path of its common git directory. */
  repository: string;
  commit: CommitInfo;
  identity: ChangeIdentity;
  base: DiffBase;
  mergePolicy: MergePolicy;
  files: EvidenceFile[];
  /** Set when the file list did not fit: the prompt lists these groups instead of files. */
  directories: DirectoryGroup[] | null;
  /** Number of secrets replaced by markers in the message and the diffs. */
  redactions: number;
  /** Policies that applied, in plain words, such as how a merge commit was diffed. */
  notes: string[];
  tokenBudget: number;
  /**
   * Estimated tokens of the rendered evidence. It is above `tokenBudget` only when the
   * commit header with its notes and the heading line of the file list are larger alone.
   */
  estimatedTokens: number;
}
