import type { CommitReport } from '../../api/show.js';
import { formatCount, formatDuration, formatTimestamp, shortSha } from './text.js';

/** Section titles of the report's fields, in the order the views show them. */
export const SECTION_TITLES = {
  summary: 'Summary',
  changes: 'Changes',
  rationale: 'Rationale',
  impact_and_tests: 'Impact and tests',
  next_steps: 'Next steps',
} as const;

/**
 * Describes how much of the commit the model saw, such as
 * `Coverage: 3 files in full, 1 stats only, 2 excluded (lockfile, generated)`.
 */
export function describeCoverage(commitReport: CommitReport): string {
  const { counts, files, promptTruncated } = commitReport.coverage;
  const total = Object.keys(files).length;
  if (total === 0) {
    return 'Coverage: not recorded for this report';
  }

  const parts: string[] = [];
  if (counts.full > 0) {
    parts.push(`${counts.full} ${counts.full === 1 ? 'file' : 'files'} in full`);
  }
  if (counts.partial > 0) {
    parts.push(`${counts.partial} partial`);
  }
  if (counts.statsOnly > 0) {
    parts.push(`${counts.statsOnly} stats only`);
  }
  if (counts.excluded > 0) {
    const reasons = [...new Set(Object.values(files).filter((mark) => mark.startsWith('excluded: ')).map((mark) => mark.slice('excluded: '.length)))];
    parts.push(`${counts.excluded} excluded (${reasons.join(', ')})`);
  }

  let line = `Coverage: ${parts.join(', ')} of ${total} changed ${total === 1 ? 'file' : 'files'}`;
  if (commitReport.provenance?.parts) {
    line += `; summarized in ${commitReport.provenance.parts.count} parts first`;
  }
  if (promptTruncated) {
    line += '; Ollama probably cut the prompt, so the model saw less than this';
  }

  return line;
}

/** Shortest wait for the model that the provenance line names, in milliseconds. */
const MIN_WAIT_SHOWN_MS = 1000;

/**
 * Describes who made the report and at what cost, such as
 * `Made by qwen2.5-coder:7b in 4.2 s: 1 model call, 1,234 prompt + 210 output tokens; prompt v3, stepper 0.1.0, 2026-12-04 21:07 UTC`.
 */
export function describeProvenance(commitReport: CommitReport): string {
  const provenance = commitReport.provenance;
  if (provenance === null) {
    return 'Provenance: not recorded for this report';
  }

  const calls = `${provenance.modelCalls} model ${provenance.modelCalls === 1 ? 'call' : 'calls'}`;
  const tokens = `${formatCount(provenance.promptTokens)} prompt + ${formatCount(provenance.completionTokens)} output tokens`;
  // A wait behind another job's generation is not the model's time, so a long one is named.
  const waitMs = provenance.waitMs ?? 0;
  const duration =
    waitMs >= MIN_WAIT_SHOWN_MS ? `${formatDuration(provenance.elapsedMs - waitMs)}, after ${formatDuration(waitMs)} waiting for the model` : formatDuration(provenance.elapsedMs);
  let line =
    `Made by ${provenance.model} in ${duration}: ${calls}, ${tokens}; ` +
    `prompt v${provenance.promptVersion}, stepper ${provenance.stepperVersion}, ${formatTimestamp(provenance.createdAt)}`;
  if (provenance.reusedFrom) {
    line += `; reused from commit ${shortSha(provenance.reusedFrom.commit)}, which has the same change and message`;
  }

  return line;
}
