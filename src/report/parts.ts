import { createHash } from 'node:crypto';

import { renderEvidence, renderFileLine, renderPatch } from '../evidence/render.js';
import { estimateTokens, tokensToBytes } from '../evidence/tokens.js';
import type { Evidence, EvidenceFile } from '../evidence/types.js';
import { REPORT_FIELDS } from './schema.js';

/**
 * Maximum number of parts a commit too large for one prompt is split into. Each part costs one model
 * call (two with a repair), so this bounds the calls of one report at
 * MAX_PARTS * 2 + MAX_REPORT_CALLS.
 */
export const MAX_PARTS = 6;

/** A part's report, kept short for the final prompt. */
export interface PartSummary {
  /** Paths of the files the part showed, in path order. */
  files: string[];
  title: string;
  summary: string;
  changes: string[];
}

/** Number of files named in a part's heading in the final prompt. The rest are only counted. */
const NAMED_FILES = 3;
/** Maximum characters kept of a named path, so deep paths cannot crowd out the summaries. */
const NAMED_PATH_LENGTH = 80;

/**
 * Checks whether summarizing parts would show the model more than one prompt does: some
 * file with a text diff was left out or cut for the budget, or the file list itself did
 * not fit.
 */
export function needsParts(evidence: Evidence): boolean {
  if (evidence.directories !== null) {
    return true;
  }

  return evidence.files.some((file) => hasDiff(file) && (file.coverage === 'partial' || file.coverage === 'stats only'));
}

/**
 * Splits evidence built for several prompts into parts of at most `tokenBudget` tokens
 * each, files in path order so a part keeps a directory together. A file too large for one
 * part alone gets its diff cut at a line boundary and is marked partial. Parts beyond
 * `maxParts` are dropped, but their files stay in the final prompt's file list.
 */
export function splitIntoParts(evidence: Evidence, tokenBudget: number, maxParts = MAX_PARTS): Evidence[] {
  const files = evidence.files.filter(hasShownDiff).sort(byPath);
  const commit = { ...evidence.commit, body: '' };
  const shell: Evidence = { ...evidence, commit, files: [], directories: null, notes: [] };
  const headerTokens = estimateTokens(renderEvidence(shell));
  const room = tokenBudget - headerTokens;

  const parts: EvidenceFile[][] = [];
  let current: EvidenceFile[] = [];
  let used = 0;
  for (const file of files) {
    const fitted = fitFile(file, room);
    if (fitted === null) {
      continue;
    }

    const cost = fileTokens(fitted);
    if (current.length > 0 && used + cost > room) {
      parts.push(current);
      current = [];
      used = 0;
    }
    current.push(fitted);
    used += cost;
  }
  if (current.length > 0) {
    parts.push(current);
  }

  return parts.slice(0, maxParts).map((partFiles) => ({ ...shell, files: partFiles, estimatedTokens: headerTokens + sumTokens(partFiles) }));
}

/**
 * Computes the cache key of a part's summary: a SHA-256 of the model, the prompt version and the
 * part's rendered evidence, so equal parts of different commits share one summary.
 */
export function partCacheKey(model: string, promptVersion: number, part: Evidence): string {
  return createHash('sha256')
    .update(JSON.stringify(['stepper-part', model, promptVersion, renderEvidence(part)]))
    .digest('hex');
}

/** Reads a cached summary back, or returns undefined for anything that is not one. */
export function readPartSummary(value: unknown): PartSummary | undefined {
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }

  const { files, title, summary, changes } = value as Record<string, unknown>;
  const strings = (list: unknown): list is string[] => Array.isArray(list) && list.every((item) => typeof item === 'string');
  if (!strings(files) || typeof title !== 'string' || typeof summary !== 'string' || !strings(changes)) {
    return undefined;
  }

  return { files, title, summary, changes };
}

/** Renders the part summaries for the final prompt. */
export function renderPartSummaries(summaries: readonly PartSummary[]): string {
  const lines = ["Summaries of the commit's parts, each written earlier from a part of the full diff:"];
  summaries.forEach((part, index) => {
    const named = part.files.slice(0, NAMED_FILES).map(shortenPath).join(', ');
    const more = part.files.length > NAMED_FILES ? ` and ${part.files.length - NAMED_FILES} more` : '';
    lines.push('', `Part ${index + 1} (${part.files.length} files: ${named}${more}):`, `Title: ${part.title}`, `Summary: ${part.summary}`);
    lines.push(...part.changes.map((change) => `- ${change}`));
  });

  return lines.join('\n');
}

/** Returns the maximum tokens renderPartSummaries can take for `count` parts, with every field at its limit. */
export function maxPartSummaryTokens(count: number): number {
  const perPart =
    100 +
    NAMED_FILES * (NAMED_PATH_LENGTH + 2) +
    REPORT_FIELDS.title.maxLength +
    REPORT_FIELDS.summary.maxLength +
    REPORT_FIELDS.changes.maxItems * (REPORT_FIELDS.changes.maxItemLength + 3);
  return estimateTokens('x'.repeat(100 + count * perPart));
}

function byPath(a: EvidenceFile, b: EvidenceFile): number {
  if (a.path === b.path) {
    return 0;
  }

  return a.path < b.path ? -1 : 1;
}

function shortenPath(path: string): string {
  const characters = Array.from(path);
  return characters.length <= NAMED_PATH_LENGTH ? path : `…${characters.slice(-(NAMED_PATH_LENGTH - 1)).join('')}`;
}

function hasDiff(file: EvidenceFile): boolean {
  return !file.binary && file.patchBytes > 0 && !file.coverage.startsWith('excluded:');
}

function hasShownDiff(file: EvidenceFile): boolean {
  return hasDiff(file) && file.patch !== null;
}

function fileTokens(file: EvidenceFile): number {
  return estimateTokens(renderFileLine(file)) + estimateTokens(renderPatch(file)) + 1;
}

function sumTokens(files: readonly EvidenceFile[]): number {
  return files.reduce((sum, file) => sum + fileTokens(file), 0);
}

/** Returns the file whole when it fits `room`, else with its diff cut at a line boundary, or null when not even a line fits. */
function fitFile(file: EvidenceFile, room: number): EvidenceFile | null {
  if (fileTokens(file) <= room) {
    return file;
  }

  const overhead = estimateTokens(renderFileLine({ ...file, coverage: 'partial' })) + estimateTokens(renderPatch({ ...file, coverage: 'partial', patch: '' })) + 1;
  const bytes = tokensToBytes(room - overhead);
  const patch = Buffer.from(file.patch as string);
  if (bytes <= 0) {
    return null;
  }

  const end = patch.lastIndexOf(0x0a, bytes - 1);
  if (end <= 0) {
    return null;
  }

  return { ...file, coverage: 'partial', patch: patch.subarray(0, end + 1).toString() };
}
