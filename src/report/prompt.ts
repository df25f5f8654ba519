import { renderEvidence } from '../evidence/render.js';
import { estimateTokens } from '../evidence/tokens.js';
import type { Evidence } from '../evidence/types.js';
import { EXCERPT_LENGTH, excerptOf } from './parse.js';
import { type PartSummary, renderPartSummaries } from './parts.js';
import { formatProblems, REPORT_FIELD_NAMES, REPORT_FIELDS, type ReportProblem } from './schema.js';

export { PROMPT_VERSION } from './versions.js';

/** A chat message in the shape ollama-js's `Message` accepts. */
export interface PromptMessage {
  role: 'system' | 'user';
  content: string;
}

export interface PromptOptions {
  /** Adds firmer output rules and a JSON skeleton, for a retry after a response that was not JSON. */
  strict?: boolean;
  /** Asks to correct a rejected response: its excerpt and what was wrong with it. */
  repair?: { previousAnswer: string; problems: readonly ReportProblem[] };
  /** Marks the evidence as one part of a commit too large for one prompt. */
  part?: { index: number; count: number };
  /** Summaries of the parts, added after the evidence of the final request. */
  partSummaries?: readonly PartSummary[];
}

// Kept short because small local models follow a few clear rules better than many.
const SYSTEM_PROMPT = [
  'You write a short report about one git commit for a developer diary.',
  'Use only the evidence in the user message. Do not invent motivations, tests, issues or results that the evidence does not show.',
  'Write in English, whatever language the commit uses.',
  'Answer with one JSON object and nothing else.',
].join('\n');

const STRICT_RULES = [
  'Output rules:',
  '- Start the answer with { and end it with }.',
  '- No markdown, no code fences, no text before or after the object.',
  '- Every field below must be present; use "" or [] when the evidence gives nothing.',
].join('\n');

// Problems quoted in a repair prompt; more add length without helping a small model.
const MAX_REPAIR_PROBLEMS = 5;
const MAX_PROBLEM_LENGTH = 100;
// Distinct exclusion reasons named in the coverage line, each cut to this many characters.
const MAX_EXCLUSION_REASONS = 3;
const MAX_REASON_LENGTH = 32;
// Chat templates wrap each message in role markers; a few tokens each, rounded up generously.
const TEMPLATE_TOKENS = 32;

/**
 * Builds the system and user messages that ask for a report on `evidence`. The evidence is
 * included exactly as renderEvidence prints it. The user message lists the fields, states
 * which files are shown in part or not at all, and, for a repair, quotes the problems and
 * the previous response's excerpt. Two messages are always returned, because Ollama drops
 * earlier messages first when a conversation is too long, and the evidence must stay.
 */
export function buildMessages(evidence: Evidence, options: PromptOptions = {}): PromptMessage[] {
  const system = options.strict ? `${SYSTEM_PROMPT}\n\n${STRICT_RULES}` : SYSTEM_PROMPT;
  const sections = [`Evidence:\n<<<\n${renderEvidence(evidence)}>>>`];
  if (options.part) {
    sections.push(describePart(options.part));
  }
  if (options.partSummaries && options.partSummaries.length > 0) {
    sections.push(renderPartSummaries(options.partSummaries));
  }
  sections.push(describeCoverage(evidence), describeFields(options.strict === true));

  if (options.repair) {
    sections.push(describeRepair(options.repair));
  } else {
    sections.push('Write the report as JSON now.');
  }

  return [
    { role: 'system', content: system },
    { role: 'user', content: sections.join('\n\n') },
  ];
}

/** Lists the fields with their meaning and limits, taken from REPORT_FIELDS. */
function describeFields(withSkeleton: boolean): string {
  const lines = ['The JSON object has these fields:'];
  for (const name of REPORT_FIELD_NAMES) {
    const spec = REPORT_FIELDS[name];
    const shape = spec.kind === 'list' ? `array of at most ${spec.maxItems} strings` : 'string';
    lines.push(`- ${name} (${shape}): ${spec.description}`);
  }

  if (withSkeleton) {
    const skeleton = REPORT_FIELD_NAMES.map((name) => `"${name}": ${REPORT_FIELDS[name].kind === 'list' ? '[...]' : '"..."'}`).join(', ');
    lines.push('', `Shape: {${skeleton}}`);
  }

  return lines.join('\n');
}

/**
 * States what the evidence leaves out, from the coverage marks, so the model does not
 * describe files it cannot see. Only counts and exclusion reasons are named, which keeps
 * the length bounded whatever the commit's size.
 */
export function describeCoverage(evidence: Evidence): string {
  let partial = 0;
  let statsOnly = 0;
  const excludedReasons = new Map<string, number>();
  for (const file of evidence.files) {
    if (file.coverage === 'partial') {
      partial += 1;
    } else if (file.coverage === 'stats only') {
      statsOnly += 1;
    } else if (file.coverage.startsWith('excluded:')) {
      const reason = Array.from(file.coverage.slice('excluded:'.length).trim()).slice(0, MAX_REASON_LENGTH).join('');
      excludedReasons.set(reason, (excludedReasons.get(reason) ?? 0) + 1);
    }
  }

  const excluded = [...excludedReasons.values()].reduce((sum, count) => sum + count, 0);
  const lines = ['Coverage:'];
  if (evidence.directories) {
    lines.push(`- The ${evidence.files.length} changed files are too many to list, so they are grouped by directory.`);
  }

  if (partial === 0 && statsOnly === 0 && excluded === 0) {
    lines.push('- Every changed file is shown in full.');
    return lines.join('\n');
  }

  if (partial > 0) {
    lines.push(`- ${plural(partial, 'file is', 'files are')} shown in part, marked [partial]: describe only the hunks shown.`);
  }

  if (statsOnly > 0) {
    lines.push(`- ${plural(statsOnly, 'file has', 'files have')} only line counts, marked [stats only]: do not guess their content.`);
  }

  if (excluded > 0) {
    const reasons = [...excludedReasons.keys()].slice(0, MAX_EXCLUSION_REASONS);
    const more = excludedReasons.size > reasons.length ? ', and others' : '';
    lines.push(`- ${plural(excluded, 'file is', 'files are')} excluded (${reasons.join(', ')}${more}): mention them only by name.`);
  }

  return lines.join('\n');
}

function describePart(part: { index: number; count: number }): string {
  return `This evidence is part ${part.index} of ${part.count} of one commit too large for one request: it shows only some of the files. Report on this part alone; a later step combines the parts.`;
}

function describeRepair(repair: NonNullable<PromptOptions['repair']>): string {
  const problems = repair.problems.map((problem) => ({
    field: problem.field,
    message: Array.from(problem.message).slice(0, MAX_PROBLEM_LENGTH).join(''),
  }));

  return [
    'Your previous answer was rejected. It began and ended like this:',
    `<<<\n${excerptOf(repair.previousAnswer)}\n>>>`,
    'Problems:',
    formatProblems(problems, MAX_REPAIR_PROBLEMS),
    '',
    'Write the corrected report as one JSON object with every field, and nothing else.',
  ].join('\n');
}

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * Estimated tokens of everything in the messages except the rendered evidence, for the
 * longest variant (strict with a repair section at its limits) and the chat template.
 * The caller subtracts it from the context to size the evidence.
 */
export const PROMPT_FIXED_TOKENS = estimateFixedTokens();

function estimateFixedTokens(): number {
  const longestReason = 'x'.repeat(MAX_REASON_LENGTH);
  const fakeProblems: ReportProblem[] = Array.from({ length: MAX_REPAIR_PROBLEMS + 1 }, () => ({
    field: 'impact_and_tests[99]',
    message: 'x'.repeat(MAX_PROBLEM_LENGTH),
  }));
  const coverage = [
    'Coverage:',
    '- The 999999 changed files are too many to list, so they are grouped by directory.',
    `- 999999 files are shown in part, marked [partial]: describe only the hunks shown.`,
    `- 999999 files have only line counts, marked [stats only]: do not guess their content.`,
    `- 999999 files are excluded (${Array(MAX_EXCLUSION_REASONS).fill(longestReason).join(', ')}, and others): mention them only by name.`,
  ].join('\n');
  const user = [
    'Evidence:\n<<<\n>>>',
    describePart({ index: 99, count: 99 }),
    coverage,
    describeFields(true),
    describeRepair({ previousAnswer: 'x'.repeat(EXCERPT_LENGTH), problems: fakeProblems }),
  ].join('\n\n');

  return estimateTokens(`${SYSTEM_PROMPT}\n\n${STRICT_RULES}`) + estimateTokens(user) + TEMPLATE_TOKENS;
}
