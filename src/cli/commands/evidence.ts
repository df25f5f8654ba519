import { InvalidOptionError } from '../../errors.js';
import { MIN_TOKEN_BUDGET, buildEvidence } from '../../evidence/build.js';
import { renderEvidence } from '../../evidence/render.js';
import { openRepository } from '../../git/repository.js';
import { resolveCommit } from '../../git/revisions.js';
import type { MergePolicy } from '../../git/types.js';
import { currentFolder } from '../../git/current-folder.js';

const MERGE_POLICIES: readonly MergePolicy[] = ['first-parent', 'skip', 'combined'];

export interface EvidenceCommandOptions {
  budget: number;
  merge: string;
  json?: boolean;
  /** Folder inside the repository. @default process.cwd() */
  cwd?: string;
}

/** Prints the evidence of one commit of the repository in the current folder. */
export async function runEvidence(revision: string, options: EvidenceCommandOptions): Promise<void> {
  if (!Number.isSafeInteger(options.budget) || options.budget < MIN_TOKEN_BUDGET) {
    throw new InvalidOptionError('--budget', `a number of tokens >= ${MIN_TOKEN_BUDGET}`, options.budget);
  }

  if (!MERGE_POLICIES.includes(options.merge as MergePolicy)) {
    throw new InvalidOptionError('--merge', MERGE_POLICIES.join(', '), options.merge);
  }

  if (revision.includes('..')) {
    throw new InvalidOptionError('revision', 'one commit (stepper evidence shows a single commit, not a range)', revision);
  }

  const repo = await openRepository(options.cwd ?? currentFolder());
  const sha = await resolveCommit(repo, revision);
  const evidence = await buildEvidence(repo, sha, { tokenBudget: options.budget, mergePolicy: options.merge as MergePolicy });

  process.stdout.write(options.json ? `${JSON.stringify(evidence, null, 2)}\n` : neutralizeControls(renderEvidence(evidence)));
}

/**
 * Shows control characters other than newline and tab as `^X`, so a commit message or a
 * diff cannot send escape sequences to the user's terminal. JSON output escapes them already.
 */
function neutralizeControls(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (char) =>
    char === '\u007f' ? '^?' : `^${String.fromCharCode(char.charCodeAt(0) + 64)}`,
  );
}
