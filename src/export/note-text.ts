import type { CommitReport } from '../api/show.js';

/**
 * Last line of every note stepper writes. It names the stored report, and its presence distinguishes
 * stepper's own notes from notes that people or other tools put on the same ref.
 */
export const NOTE_MARKER = 'Stepper-Report:';

const MARKER_LINE = /(?:^|\n)Stepper-Report: \S+\n?$/;

/** Returns whether a note's text ends with the line that stepper writes last. */
export function isStepperNote(text: string): boolean {
  return MARKER_LINE.test(text);
}

/**
 * Renders a report as the plain text of a git note: title, summary, changes, rationale,
 * impact and tests, next steps, tags, model and date. Empty sections are left out. The text
 * depends only on the stored report, so exporting the same report twice gives the same note.
 */
export function renderNoteText(report: CommitReport): string {
  const { title, summary, changes, rationale, impact_and_tests: impact, next_steps: nextSteps, tags } = report.report;
  const blocks: string[] = [clean(title).replace(/\n+/g, ' ')];

  if (summary.trim() !== '') {
    blocks.push(clean(summary));
  }
  if (changes.length > 0) {
    blocks.push(['Changes:', ...changes.map(listItem)].join('\n'));
  }
  if (rationale.trim() !== '') {
    blocks.push(`Rationale:\n${clean(rationale)}`);
  }
  if (impact.trim() !== '') {
    blocks.push(`Impact and tests:\n${clean(impact)}`);
  }
  if (nextSteps.length > 0) {
    blocks.push(['Next steps:', ...nextSteps.map(listItem)].join('\n'));
  }

  const footer: string[] = [];
  if (tags.length > 0) {
    footer.push(`Tags: ${tags.map((tag) => clean(tag).replace(/\s+/g, ' ')).join(', ')}`);
  }

  const provenance = report.provenance;
  footer.push(`Model: ${provenance ? clean(provenance.model) : 'unknown'}`);
  if (provenance) {
    footer.push(`Generated: ${provenance.createdAt.slice(0, 16).replace('T', ' ')} UTC`);
  }
  footer.push(`${NOTE_MARKER} ${provenance?.reportId ?? report.sha}`);
  blocks.push(footer.join('\n'));

  return `${blocks.join('\n\n')}\n`;
}

/** Renders one list entry, indenting lines after the first under the dash. */
function listItem(item: string): string {
  return `- ${clean(item).replace(/\n/g, '\n  ')}`;
}

/**
 * Removes terminal escape sequences and control characters other than newline and tab,
 * because `git log` prints notes to terminals unchanged. Blank lines inside a field are
 * dropped so that they cannot split a section.
 */
function clean(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/\u001b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f\u009b]/g, '')
    .replace(/\n[ \t]*\n+/g, '\n')
    .trim();
}
