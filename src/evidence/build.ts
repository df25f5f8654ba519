import { isUtf8 } from 'node:buffer';

import { InvalidOptionError } from '../errors.js';
import { readChanges } from '../git/changes.js';
import { type ObjectReader, startObjectReader } from '../git/cat-file.js';
import { readCommit } from '../git/commit.js';
import { readCommitDiff } from '../git/commit-diff.js';
import { streamGit } from '../git/git.js';
import { PATCH_ARGS, type PatchIdSink, changeIdentity, diffRange, identityFromPatchId, startPatchId } from '../git/patch-id.js';
import { type PatchSection, PatchStream } from '../git/patch-stream.js';
import { objectContext } from '../git/repository.js';
import type { ChangeIdentity, CommitChanges, CommitInfo, DiffBase, FileChange, MergePolicy, Repository } from '../git/types.js';
import { PatchCollector, truncateLines } from './allocate.js';
import { groupByDirectory } from './directories.js';
import { categorize, classifyExclusion } from './exclusions.js';
import { attributesFor, unquoteCStyle } from './gitattributes.js';
import { redactSecrets } from './redaction.js';
import { quotePath, renderEvidence, renderFileLine, renderFileSection, renderHeader, renderPatch } from './render.js';
import { readAttributes, readExcludePatterns } from './repository-rules.js';
import { BYTES_PER_TOKEN, estimateTokens, tokensToBytes } from './tokens.js';
import type { DirectoryGroup, Evidence, EvidenceFile, FileCategory, FileFlag } from './types.js';

export interface EvidenceOptions {
  /** Tokens the rendered evidence may take; the report generator derives it from the model's context. */
  tokenBudget: number;
  /** @default 'first-parent' */
  mergePolicy?: MergePolicy;
  /** Extra exclusion patterns, gitignore syntax. @default the repository's `stepper.exclude` values */
  excludePatterns?: readonly string[];
}

/** Minimum budget that still fits a commit header and a short file list. */
export const MIN_TOKEN_BUDGET = 256;

const CATEGORY_PRIORITY: Record<FileCategory, number> = { source: 0, config: 0, test: 1, docs: 2 };

/**
 * Gathers what a model needs to explain commit `sha`: its metadata and message, every
 * changed file with stats and a coverage mark, and as much of the diff as fits
 * `tokenBudget`. Diffs are chosen by priority (source, then tests, then docs) and shared
 * fairly between files. Excluded files are named with the reason, and secrets are redacted
 * before anything is returned. The diff is read as a stream, in memory bounded by the budget.
 */
export async function buildEvidence(repo: Repository, sha: string, options: EvidenceOptions): Promise<Evidence> {
  checkTokenBudget('tokenBudget', options.tokenBudget);
  const source = await readEvidenceSource(repo, sha, { ...options, maxTokenBudget: options.tokenBudget });
  return source.evidenceFor(options.tokenBudget);
}

export interface EvidenceSourceOptions {
  /** Largest tokenBudget that evidenceFor accepts. It bounds the diff text the read keeps. */
  maxTokenBudget: number;
  /** @default 'first-parent' */
  mergePolicy?: MergePolicy;
  /** Extra exclusion patterns, gitignore syntax. @default the repository's `stepper.exclude` values */
  excludePatterns?: readonly string[];
}

/**
 * One read of a commit, from which evidence for any budget up to `maxTokenBudget` is
 * assembled without git. A report needs evidence for several budgets (the first prompt,
 * the parts of a large commit and the final prompt), and its cache key needs the commit
 * and its change identity before any of them.
 */
export interface EvidenceSource {
  /** Real path of the repository's common git directory. */
  readonly repository: string;
  /** The commit as git stores it, before redaction and before a long message is cut. */
  readonly commit: CommitInfo;
  readonly identity: ChangeIdentity;
  readonly mergePolicy: MergePolicy;
  readonly maxTokenBudget: number;
  /**
   * Assembles the evidence for `tokenBudget`, which must lie between MIN_TOKEN_BUDGET and
   * `maxTokenBudget`. Each call returns new objects that the caller may change.
   */
  evidenceFor(tokenBudget: number): Evidence;
}

/**
 * Reads commit `sha` once for evidence of up to `maxTokenBudget` tokens: its metadata, its
 * file listing, the diff kept within that budget, and the change identity from `git
 * patch-id`, fed by the same diff. The diff is read as a stream, in memory bounded by the
 * budget: the diff text kept is at most about twice the budget's bytes, plus 64 KiB.
 */
export async function readEvidenceSource(repo: Repository, sha: string, options: EvidenceSourceOptions): Promise<EvidenceSource> {
  checkTokenBudget('maxTokenBudget', options.maxTokenBudget);

  const mergePolicy = options.mergePolicy ?? 'first-parent';
  // Started first because the evidence waits for it. The config does not depend on the
  // commit, so git reads it meanwhile.
  const sourceRead = readCommitSource(repo, sha, mergePolicy);
  const excludePatternsRead = options.excludePatterns ? Promise.resolve([...options.excludePatterns]) : readExcludePatterns(repo);
  // Marked handled, so that a failure while the commit is read leaves no unhandled rejection.
  excludePatternsRead.catch(() => undefined);

  // Both wait for input, so their start overlaps the diff's.
  const helpers: GitHelpers = { objectReader: startObjectReader(objectContext(repo)), patchId: startPatchId(repo) };

  let source: CommitSource | undefined;
  try {
    source = await sourceRead;
    return await readSource(repo, source, excludePatternsRead, helpers, options.maxTokenBudget, mergePolicy);
  } finally {
    helpers.objectReader.cancel();
    helpers.patchId.cancel();
    await source?.close();
  }
}

function checkTokenBudget(name: string, tokenBudget: number): void {
  if (!Number.isSafeInteger(tokenBudget) || tokenBudget < MIN_TOKEN_BUDGET) {
    throw new InvalidOptionError(name, `an integer >= ${MIN_TOKEN_BUDGET}`, tokenBudget);
  }
}

/** Git processes started early that the evidence feeds later. */
interface GitHelpers {
  objectReader: ObjectReader;
  patchId: PatchIdSink;
}

/** A commit's metadata and changes, with its patch still to be read. */
interface CommitSource {
  commit: CommitInfo;
  changes: CommitChanges;
  /** The diff to show, as PATCH_ARGS prints it (or `--cc` for a combined merge); null when the base gives none. */
  patch: AsyncIterable<Buffer> | null;
  /** Stops git when the patch was not read to its end. */
  close(): Promise<void>;
}

/**
 * Reads a commit with a single `git diff-tree` where it can. Merges, shallow boundary
 * commits and failures take readCommit and readChanges, which apply the merge policy and
 * name the error.
 */
async function readCommitSource(repo: Repository, sha: string, mergePolicy: MergePolicy): Promise<CommitSource> {
  const diff = await readCommitDiff(repo, sha);
  if (diff?.files) {
    const [parent] = diff.commit.parents;
    const base: DiffBase = parent === undefined ? { kind: 'empty-tree' } : { kind: 'parent', parent };
    return { commit: diff.commit, changes: { base, files: diff.files }, patch: diff.patch, close: diff.close };
  }

  await diff?.close();
  const commit = diff?.commit ?? (await readCommit(repo, sha));
  // Line counts come from the patch stream, which is read anyway: --numstat would make
  // git diff every file a second time, about as long as the patch itself.
  const changes = await readChanges(repo, commit, { mergePolicy, lineCounts: mergePolicy === 'combined' });
  const args = patchArgs(commit, changes.base);
  const patch = args ? streamGit(objectContext(repo), args) : null;
  return {
    commit,
    changes,
    patch,
    close: async () => {
      await patch?.return(undefined);
    },
  };
}

/** State of one read of a commit, from which evidenceFor assembles the evidence of each budget. */
interface ReadState {
  repository: string;
  /** The commit as git stores it. */
  commit: CommitInfo;
  /** The commit after redaction, with the number of secrets replaced. */
  redacted: { commit: CommitInfo; redactions: number };
  identity: ChangeIdentity;
  base: DiffBase;
  mergePolicy: MergePolicy;
  /** Files before the diff was read, as the file list is sized: unknown line counts are placeholders. */
  listed: EvidenceFile[];
  /** Files after the diff was read, with their line counts and binary flags. */
  files: EvidenceFile[];
  notes: string[];
  patches: CollectedPatches;
  /** Redacted diff text by file index and kept bytes, since the budgets of one report keep many diffs alike. */
  redactedPatches: Map<string, RedactedPatch>;
}

async function readSource(
  repo: Repository,
  source: CommitSource,
  excludePatternsRead: Promise<string[]>,
  helpers: GitHelpers,
  maxTokenBudget: number,
  mergePolicy: MergePolicy,
): Promise<EvidenceSource> {
  const { commit, changes } = source;
  const changedPaths = changes.files.flatMap((file) => (file.oldPath === undefined ? [file.path] : [file.path, file.oldPath]));
  const [attributes, excludePatterns] = await Promise.all([
    readAttributes(repo, commit.sha, changedPaths, helpers.objectReader),
    excludePatternsRead,
  ]);
  const describe = (change: FileChange): EvidenceFile => describeFile(change, attributes, excludePatterns);
  const files = changes.files.map(describe);

  const state: ReadState = {
    repository: repo.gitDir,
    commit,
    redacted: redactMessage(commit),
    identity: { id: '', source: 'commit-sha' },
    base: changes.base,
    mergePolicy,
    listed: files.map((file) => withPlaceholderCounts(copyFile(file))),
    files,
    notes: policyNotes(commit, changes.base, files.length),
    patches: { kept: [], collector: null, budgetBytes: 0 },
    redactedPatches: new Map(),
  };

  const patchBudget = planList(state, maxTokenBudget).patchBudget;
  const { patches, identity } = await collectPatches(commit, changes.base, files, patchBudget, describe, source.patch, helpers.patchId);
  state.patches = patches;
  state.identity = identity ?? (await changeIdentity(repo, commit));
  settleCounts(files);

  return {
    repository: state.repository,
    commit,
    identity: state.identity,
    mergePolicy,
    maxTokenBudget,
    evidenceFor(tokenBudget) {
      checkTokenBudget('tokenBudget', tokenBudget);
      if (tokenBudget > maxTokenBudget) {
        throw new InvalidOptionError('tokenBudget', `an integer <= ${maxTokenBudget}, the budget the commit was read for`, tokenBudget);
      }

      return assembleEvidence(state, tokenBudget);
    },
  };
}

interface ListPlan {
  /** The redacted commit, its message cut to half the budget. */
  commit: CommitInfo;
  notes: string[];
  /** Groups sized with placeholder counts when the file list does not fit; null when it does. */
  directories: DirectoryGroup[] | null;
  /** Bytes left for diff text. */
  patchBudget: number;
}

/**
 * Decides how the file list is shown within `tokenBudget`, whole or grouped by directory,
 * and returns the bytes left for diffs. It uses the files as listed before the diff was
 * read, so every budget is planned as a read for that budget alone would plan it.
 */
function planList(state: ReadState, tokenBudget: number): ListPlan {
  const commit = limitMessage(state.redacted.commit, Math.floor(tokensToBytes(tokenBudget) / 2));
  const notes = [...state.notes];
  const shell: Evidence = {
    repository: state.repository,
    commit,
    identity: state.identity,
    base: state.base,
    mergePolicy: state.mergePolicy,
    files: state.listed,
    directories: null,
    redactions: 0,
    notes,
    tokenBudget,
    estimatedTokens: 0,
  };

  let fixedTokens = estimateTokens(renderHeader(commit, [...notes, redactionNote(1)]));
  let listTokens = estimateTokens(renderFileSection(shell));
  if (fixedTokens + listTokens <= tokenBudget) {
    return { commit, notes, directories: null, patchBudget: tokensToBytes(tokenBudget - fixedTokens - listTokens) };
  }

  notes.push(`${state.listed.length} files changed, too many to list within the budget, so they are grouped by directory.`);
  fixedTokens = estimateTokens(renderHeader(commit, [...notes, redactionNote(1)]));
  // With no groups, the section is only its heading line, which the groups must leave room for.
  shell.directories = [];
  const headingBytes = Buffer.byteLength(renderFileSection(shell));
  // Half of what is left, so the groups never crowd out the diffs.
  const groupBytes = Math.floor(tokensToBytes(tokenBudget - fixedTokens) / 2) - headingBytes;
  shell.directories = groupByDirectory(state.listed, groupBytes);
  listTokens = estimateTokens(renderFileSection(shell));

  return { commit, notes, directories: shell.directories, patchBudget: tokensToBytes(tokenBudget - fixedTokens - listTokens) };
}

function assembleEvidence(state: ReadState, tokenBudget: number): Evidence {
  const plan = planList(state, tokenBudget);
  const files = state.files.map(copyFile);
  const notes = plan.notes;
  let redactions = state.redacted.redactions;

  const evidence: Evidence = {
    repository: state.repository,
    commit: structuredClone(plan.commit),
    identity: { ...state.identity },
    base: structuredClone(state.base),
    mergePolicy: state.mergePolicy,
    files,
    directories: null,
    redactions: 0,
    notes,
    tokenBudget,
    estimatedTokens: 0,
  };

  if (plan.directories) {
    // The groups were sized with placeholder counts; now they show the real ones.
    evidence.directories = plan.directories;
    evidence.directories = groupByDirectory(files, Buffer.byteLength(renderFileSection(evidence)));
  }

  redactions += attachPatches(files, sectionsFor(state.patches, plan.patchBudget, files), state.redactedPatches);

  fitToBudget(evidence);
  evidence.redactions = redactions;
  if (redactions > 0) {
    notes.push(redactionNote(redactions));
  }

  evidence.estimatedTokens = estimateTokens(renderEvidence(evidence));
  return evidence;
}

function copyFile(file: EvidenceFile): EvidenceFile {
  const copy = { ...file, flags: [...file.flags] };
  if (file.submodule) {
    copy.submodule = { ...file.submodule };
  }

  return copy;
}

function describeFile(change: FileChange, attributes: Parameters<typeof attributesFor>[1], userPatterns: string[]): EvidenceFile {
  // A renamed or copied file is judged by its old path too: `.env` renamed to `env.backup`
  // still contains the secrets, and its diff would show them.
  const exclusion = [change.path, ...(change.oldPath === undefined ? [] : [change.oldPath])]
    .map((path) => classifyExclusion(path, { binary: change.binary, attributes: attributesFor(path, attributes), userPatterns }))
    .find((result) => result.excluded) ?? { excluded: false };

  return {
    ...change,
    category: categorize(change.path),
    coverage: exclusion.excluded ? `excluded: ${exclusion.reason}` : 'stats only',
    flags: structuralFlags(change),
    patch: null,
    patchBytes: 0,
  };
}

/** Flags that follow from the listing and the line counts; unknown counts give none of the text-based ones. */
function structuralFlags(change: FileChange): FileFlag[] {
  const flags: FileFlag[] = [];
  const unchangedText = change.additions === 0 && change.deletions === 0;
  if (change.submodule) {
    flags.push('submodule');
  } else if (change.modeChanged && unchangedText && change.status === 'modified') {
    flags.push('mode-only');
  }

  if ((change.status === 'renamed' || change.status === 'copied') && unchangedText) {
    flags.push('rename-only');
  }

  return flags;
}

/**
 * Streams the commit's diff and keeps, per file, the part the budget can show. A two-way
 * diff also feeds `git patch-id`, so the change's identity costs no second diff.
 */
async function collectPatches(
  commit: CommitInfo,
  base: DiffBase,
  files: EvidenceFile[],
  budgetBytes: number,
  describe: (change: FileChange) => EvidenceFile,
  patch: AsyncIterable<Buffer> | null,
  patchIdSink: PatchIdSink,
): Promise<{ patches: CollectedPatches; identity?: ChangeIdentity }> {
  if (!patch) {
    return { patches: { kept: [], collector: null, budgetBytes } };
  }

  const wanted = (index: number): boolean => {
    const file = files[index];
    return file !== undefined && !file.coverage.startsWith('excluded') && !file.binary && !file.submodule;
  };
  const collector = newCollector(files, budgetBytes);
  const kept: PatchSection[] = [];
  const stream = new PatchStream({
    ...(base.kind === 'combined' ? { indexFor: combinedSectionIndex(files) } : {}),
    limitFor: (index) => (wanted(index) ? collector.limitFor(index) : 0),
    // The stream itself stops comparing at the first pair of lines that is no CR conversion.
    compareLineEndings: wanted,
    onSection: (section) => {
      const file = files[section.index];
      if (file) {
        file.patchBytes = section.totalBytes;
        if (file.additions === null && base.kind !== 'combined') {
          fillCounts(files, section, describe);
        }
      }

      if (wanted(section.index)) {
        collector.add(section);
        kept.push(section);
      }
    },
  });

  const patchId = base.kind === 'combined' ? undefined : patchIdSink;
  for await (const chunk of patch) {
    stream.write(chunk);
    await patchId?.write(chunk);
  }

  stream.end();
  // Copies, because the collector's final cut changes its sections in place.
  const patches: CollectedPatches = { kept: kept.map((section) => ({ ...section })), collector, budgetBytes };
  return patchId ? { patches, identity: identityFromPatchId(commit, await patchId.end()) } : { patches };
}

/** The diff sections kept by one read, for the largest budget. */
interface CollectedPatches {
  /** Sections in stream order, as the stream and the collector's cuts left them before the final cut. */
  kept: PatchSection[];
  /** The read's collector, not yet finished; null when the commit has no diff to show. */
  collector: PatchCollector | null;
  /** Bytes of diff text the read's collector was given. */
  budgetBytes: number;
  /** The read's collector's final sections, once its own budget was asked for. */
  finished?: Map<number, PatchSection>;
}

function newCollector(files: readonly EvidenceFile[], budgetBytes: number): PatchCollector {
  return new PatchCollector(budgetBytes, (index) => CATEGORY_PRIORITY[files[index]?.category ?? 'docs'], {
    overheadOf: (index) => patchOverheadBytes(files[index]),
    minimumBytes: MIN_DIFF_BYTES,
  });
}

/**
 * Returns the sections that `budgetBytes` of diff text shows. The read's own budget takes
 * the read's collector as it is. A smaller budget replays the kept sections through a new
 * collector, each cut to the limit the stream would have set, so the result is the one a
 * read for that budget gives.
 * NOTE: the replay is exact while the read's collector made no cut before its final one,
 * which holds for diffs up to about twice the read's budget. Beyond that, the smaller
 * budget may share its bytes among the files differently than a read for it alone would.
 */
function sectionsFor(patches: CollectedPatches, budgetBytes: number, files: readonly EvidenceFile[]): Map<number, PatchSection> {
  if (!patches.collector) {
    return new Map();
  }

  if (budgetBytes === patches.budgetBytes) {
    patches.finished ??= patches.collector.finish();
    return patches.finished;
  }

  const collector = newCollector(files, budgetBytes);
  for (const section of patches.kept) {
    const limit = collector.limitFor(section.index);
    if (limit >= section.keptBytes) {
      collector.add({ ...section });
      continue;
    }

    const { lines, keptBytes } = truncateLines(section.lines, limit);
    collector.add({ ...section, lines, keptBytes, truncated: true });
  }

  return collector.finish();
}

/**
 * Minimum diff text worth showing of one file, about a hunk header and ten lines. When the
 * budget cannot give every file that much, the files with the largest diffs are shown.
 */
const MIN_DIFF_BYTES = 400;

/** Bytes a shown diff costs besides its text: its heading and the line saying what was left out. */
function patchOverheadBytes(file: EvidenceFile | undefined): number {
  return file === undefined ? 0 : Buffer.byteLength(`Diff of ${quotePath(file.path)} [partial]:\n`) + Buffer.byteLength(omittedLine(10 ** 10)) + 1;
}

/** Sizes the file list before the stream has counted lines: seven digits each, more than any commit needs. */
function withPlaceholderCounts(file: EvidenceFile): EvidenceFile {
  return file.additions === null ? { ...file, additions: 9_999_999, deletions: 9_999_999 } : file;
}

/** Sets a file's line counts and binary flag from its section, re-judging a binary file's exclusion. */
function fillCounts(files: EvidenceFile[], section: PatchSection, describe: (change: FileChange) => EvidenceFile): void {
  const file = files[section.index] as EvidenceFile;
  if (section.binary) {
    files[section.index] = describe({ ...file, additions: null, deletions: null, binary: true });
    (files[section.index] as EvidenceFile).patchBytes = file.patchBytes;
    return;
  }

  file.additions = section.additions;
  file.deletions = section.deletions;
  file.flags = structuralFlags(file);
}

/** Gives files git printed no diff section for (none is expected) zero counts rather than unknown ones. */
function settleCounts(files: EvidenceFile[]): void {
  for (const file of files) {
    if (file.additions === null && !file.binary) {
      file.additions = 0;
      file.deletions = 0;
      file.flags = structuralFlags(file);
    }
  }
}

/**
 * Maps `diff --cc <path>` headers to file indexes. Git leaves out of a combined diff the
 * files whose every hunk came from one parent, so positions do not line up. A path git
 * had to quote (control characters, quotes, bytes above 0x7f) is unquoted to compare.
 */
function combinedSectionIndex(files: readonly EvidenceFile[]): (header: string) => number {
  const byPath = new Map(files.map((file, index) => [file.path, index]));

  return (header) => {
    const quoted = header.replace(/^diff --(?:cc|combined) /, '');
    const path = quoted.startsWith('"') ? (unquoteCStyle(quoted)?.value ?? quoted) : quoted;
    return byPath.get(path) ?? -1;
  };
}

function patchArgs(commit: CommitInfo, base: DiffBase): string[] | null {
  switch (base.kind) {
    case 'parent':
    case 'empty-tree':
      return ['diff-tree', ...PATCH_ARGS, ...diffRange(commit)];
    case 'combined':
      // The same detection as the file listing, which uses --cc without -C.
      return ['-c', 'core.quotePath=true', 'diff-tree', '-p', '-r', '-M', '--cc', '--no-color', '--no-ext-diff', '--no-textconv', commit.sha];
    case 'skipped-merge':
    case 'parent-missing':
      return null;
  }
}

/** Sets each file's patch text and coverage mark; returns the number of secrets redacted. */
function attachPatches(files: EvidenceFile[], sections: Map<number, PatchSection>, cache: Map<string, RedactedPatch>): number {
  let redactions = 0;

  files.forEach((file, index) => {
    if (file.coverage.startsWith('excluded')) {
      return;
    }

    const section = sections.get(index);
    if (section?.noTrailingNewline) {
      file.flags.push('no-trailing-newline');
    } else if (section?.oldLacksNewline) {
      // Otherwise the diff shows the last line replaced by an identical one.
      file.flags.push('trailing-newline-added');
    }

    if (section?.longLines) {
      file.flags.push('long-lines');
    }

    if (section?.lineEndingOnly) {
      // The flag describes the change completely; every line rewritten would mislead.
      file.flags.push('line-endings-only');
      file.coverage = 'full';
      return;
    }

    if (!section || section.totalBytes === 0) {
      // Renames, mode changes, submodule moves and empty files have no hunks, so the list line describes them in full.
      file.coverage = 'full';
      return;
    }

    if (section.keptBytes === 0) {
      file.coverage = 'stats only';
      return;
    }

    const redacted = redactPatch(section, cache);
    if (!redacted.utf8) {
      file.flags.push('non-utf8');
    }

    redactions += redacted.count;
    file.patch = section.truncated ? `${redacted.text}${omittedLine(section.totalBytes - section.keptBytes)}` : redacted.text;
    file.coverage = section.truncated ? 'partial' : 'full';
  });

  return redactions;
}

/** A section's kept diff text after redaction. */
interface RedactedPatch {
  text: string;
  count: number;
  utf8: boolean;
}

/**
 * Redacts the kept lines of a section. Every budget keeps a prefix of the same lines, so
 * the index and the kept bytes name the text, and a repeat is taken from `cache`.
 */
function redactPatch(section: PatchSection, cache: Map<string, RedactedPatch>): RedactedPatch {
  const key = `${section.index}:${section.keptBytes}`;
  const cached = cache.get(key);
  if (cached) {
    return cached;
  }

  const bytes = Buffer.concat(section.lines);
  const redacted = redactSecrets(bytes.toString('utf8'));
  const result = { text: redacted.text, count: redacted.count, utf8: isUtf8(bytes) };
  cache.set(key, result);
  return result;
}

/**
 * Cuts shown diffs until the rendered evidence fits, the largest of the lowest priority
 * first. The allocation works in bytes before the per-file headings and redaction markers
 * are known, so it can overshoot by a little.
 */
function fitToBudget(evidence: Evidence): void {
  const limitBytes = evidence.tokenBudget * BYTES_PER_TOKEN;
  let totalBytes = Buffer.byteLength(renderEvidence(evidence));
  if (totalBytes <= limitBytes) {
    return;
  }

  // Lowest priority first (docs, then tests, then source), so the order of the allocation
  // holds; the largest diff first within one priority.
  const victims = evidence.files
    .filter((file) => file.patch !== null)
    .sort((a, b) => CATEGORY_PRIORITY[b.category] - CATEGORY_PRIORITY[a.category] || (b.patch as string).length - (a.patch as string).length);

  // Sizes are tracked by difference, so the evidence is rendered once, not once per cut.
  const fileBytes = (file: EvidenceFile): number =>
    (file.patch === null ? 0 : Buffer.byteLength(renderPatch(file)) + 1) +
    (evidence.directories ? 0 : Buffer.byteLength(renderFileLine(file)));

  for (const victim of victims) {
    if (totalBytes <= limitBytes) {
      return;
    }

    const before = fileBytes(victim);
    cutPatch(victim, Buffer.byteLength(victim.patch as string) - (totalBytes - limitBytes) - 64);
    totalBytes -= before - fileBytes(victim);
  }
}

/** Cuts a shown diff to at most `keepBytes` at a line, or removes it when nothing useful is left. */
function cutPatch(file: EvidenceFile, keepBytes: number): void {
  let kept = '';
  let keptBytes = 0;
  for (const line of (file.patch as string).split('\n')) {
    const lineBytes = Buffer.byteLength(line) + 1;
    if (keptBytes + lineBytes > keepBytes || line.startsWith('… (')) {
      break;
    }

    kept += `${line}\n`;
    keptBytes += lineBytes;
  }

  kept = kept.replace(/(^|\n)@@[^\n]*\n$/, '$1');
  if (kept.length === 0) {
    file.patch = null;
    file.coverage = 'stats only';
  } else {
    file.patch = `${kept}${omittedLine(file.patchBytes - Buffer.byteLength(kept))}`;
    file.coverage = 'partial';
  }
}

function omittedLine(bytes: number): string {
  return `… (${Math.max(0, bytes)} more bytes of this file's diff not shown)\n`;
}

/**
 * Cuts a message body longer than `maxBytes` at a line, so a pasted log in a commit message
 * cannot take the budget the changes need. The subject always stays.
 */
function limitMessage(commit: CommitInfo, maxBytes: number): CommitInfo {
  const room = maxBytes - Buffer.byteLength(commit.subject);
  const bodyBytes = Buffer.byteLength(commit.body);
  if (bodyBytes <= room) {
    return commit;
  }

  let kept = '';
  for (const line of commit.body.split('\n')) {
    if (Buffer.byteLength(kept) + Buffer.byteLength(line) + 1 > Math.max(0, room - 80)) {
      break;
    }

    kept += `${line}\n`;
  }

  const cut = `… (message cut: ${bodyBytes - Buffer.byteLength(kept)} more bytes not shown)`;
  return { ...commit, body: `${kept}${cut}`, trailers: [] };
}

function redactMessage(commit: CommitInfo): { commit: CommitInfo; redactions: number } {
  let redactions = 0;
  const redact = (text: string): string => {
    const result = redactSecrets(text);
    redactions += result.count;
    return result.text;
  };

  const subject = redact(commit.subject);
  const body = redact(commit.body);
  // Trailers are lines of the body, whose secrets are counted already.
  const trailers = commit.trailers.map((trailer) => ({ key: trailer.key, value: redactSecrets(trailer.value).text }));

  return { commit: { ...commit, subject, body, trailers }, redactions };
}

function policyNotes(commit: CommitInfo, base: DiffBase, fileCount: number): string[] {
  const notes: string[] = [];

  switch (base.kind) {
    case 'empty-tree':
      notes.push('Root commit: it has no parent, so every file is shown as added.');
      break;
    case 'parent':
      if (commit.parents.length > 1) {
        notes.push(
          `Merge commit of ${commit.parents.length} parents: changes are shown against the first parent ${base.parent}, which is what the merge brought into the branch.`,
        );
      }
      break;
    case 'combined':
      notes.push(
        `Merge commit of ${commit.parents.length} parents: combined diff, which shows only the files that differ from every parent.`,
      );
      break;
    case 'skipped-merge':
      notes.push('Merge commit: its changes are not shown, because the merge policy is skip.');
      break;
    case 'parent-missing':
      notes.push(
        `The parent commit ${base.parent} is missing from this shallow clone, so the changes cannot be shown; \`git fetch --deepen=1\` fetches it.`,
      );
      break;
  }

  if (fileCount === 0 && base.kind === 'combined') {
    // A clean merge lists nothing here although it changed files against its first parent.
    notes.push('No file differs from every parent: the merge took each file from one of its parents.');
  } else if (fileCount === 0 && (base.kind === 'parent' || base.kind === 'empty-tree')) {
    notes.push('Empty commit: no file changed.');
  }

  return notes;
}

function redactionNote(count: number): string {
  return `${count} secret${count === 1 ? ' was' : 's were'} replaced by [REDACTED:…] markers.`;
}

