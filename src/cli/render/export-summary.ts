import type { ExportResult } from '../../api/export.js';
import type { NotesResult } from '../../export/notes.js';
import { formatCount } from './text.js';

/** Renders the outcome of a git-notes export: counts, then how to read and share the notes. */
export function renderNotesSummary(result: ExportResult, notes: NotesResult): string {
  const counts = [`${formatCount(notes.unchanged)} unchanged`];
  if (notes.foreign.length > 0) {
    counts.push(`${formatCount(notes.foreign.length)} kept because stepper did not write them`);
  }
  if (result.missing.length > 0) {
    counts.push(`${formatCount(result.missing.length)} skipped because the commit is no longer in the repository`);
  }
  if (result.invalid.length > 0) {
    counts.push(`${formatCount(result.invalid.length)} skipped because the stored report cannot be read`);
  }

  const name = notesName(notes.ref);
  const lines = [
    `Wrote ${plural(notes.written, 'note')} to ${notes.ref} (${counts.join(', ')})${notes.commit === null ? '; the ref was not changed' : ''}.`,
    `Read them:  git log --notes=${name}`,
    `Share them: git push origin ${notes.ref}`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Renders the outcome of a file export, for the jsonl and git-cliff formats. */
export function renderFileSummary(result: ExportResult): string {
  return `Wrote ${plural(result.exported, 'report')} to ${result.output ?? 'standard output'}.\n`;
}

/** Lines for stderr about reports that were not exported, or an empty string. */
export function renderSkipped(result: ExportResult): string {
  const lines: string[] = [];
  if (result.missing.length > 0) {
    lines.push(
      `stepper: skipped ${plural(result.missing.length, 'report')} of commits no longer in the repository (such as ${result.missing[0]}), for example amended or rebased commits that git gc pruned`,
    );
  }
  for (const skipped of result.invalid) {
    lines.push(`stepper: skipped the report of ${skipped.sha}: ${skipped.reason}`);
  }
  if (result.withoutReport > 0) {
    lines.push(`stepper: ${plural(result.withoutReport, 'commit')} of the given revisions had no report; make them with \`stepper report\``);
  }
  return lines.map((line) => `${line}\n`).join('');
}

/** Returns the shortest name `git log --notes=` accepts for the ref: `stepper` for refs/notes/stepper. */
export function notesName(ref: string): string {
  return ref.startsWith('refs/notes/') ? ref.slice('refs/notes/'.length) : ref;
}

function plural(count: number, noun: string): string {
  return `${formatCount(count)} ${noun}${count === 1 ? '' : 's'}`;
}
