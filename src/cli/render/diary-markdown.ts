import type { Diary, DiaryCommit, DiaryPeriod } from '../../diary/types.js';
import { describeDiary, describeTotals, groupEmptyRuns, UNREPORTED_MARKS } from './diary-text.js';
import { codeSpan, escapeMarkdown, escapeMarkdownLine } from './markdown.js';
import { neutralizeControls, oneLine, shortSha } from './text.js';

/**
 * Renders the diary as Markdown: the window as a heading, one second-level heading per
 * period with its counts in italics, and a list of its commits with each report's summary.
 */
export function renderDiaryMarkdown(diary: Diary): string {
  const lines: string[] = [`# ${inline(describeDiary(diary))}`, '', `_${inline(describeTotals(diary.totals, diary.totals.commits))}_`];
  for (const skipped of diary.skipped) {
    lines.push('', `> Skipped ${codeSpan(oneLine(skipped.repository))}: ${inline(skipped.reason)}`);
  }

  if (diary.periods.length === 0) {
    lines.push('', 'No commits in this window.');
    return `${lines.join('\n')}\n`;
  }

  const showRepository = diary.repositories.length > 1;
  for (const run of groupEmptyRuns(diary.periods)) {
    const first = run[0] as DiaryPeriod;
    if (run.length > 1) {
      const last = run[run.length - 1] as DiaryPeriod;
      lines.push('', `## ${first.label} to ${last.label}`, '', `_No commits (${run.length} ${diary.grouping}s)._`);
      continue;
    }

    lines.push('', `## ${first.label}`, '');
    if (first.commits.length === 0) {
      lines.push('_No commits._');
      continue;
    }

    lines.push(`_${describeTotals(first, first.commits.length)}_`, '');
    for (const commit of first.commits) {
      lines.push(...renderCommit(commit, showRepository));
    }
  }

  // A summary ends with a blank line, and so may the next heading begin: one is enough.
  return `${lines.join('\n').replace(/\n{3,}/g, '\n\n')}\n`;
}

function renderCommit(commit: DiaryCommit, showRepository: boolean): string[] {
  const repository = showRepository ? ` ${inline(commit.repositoryName)}:` : '';
  if (commit.report === null) {
    const mark = UNREPORTED_MARKS[commit.reportState === 'reported' ? 'none' : commit.reportState];
    return [`- \`${shortSha(commit.sha)}\`${repository} ${inline(commit.subject)} _(${mark})_`];
  }

  const lines = [`- \`${shortSha(commit.sha)}\`${repository} **${inline(commit.report.title)}**`];
  const summary = commit.report.summary.trim();
  if (summary !== '') {
    // Indented under the list item, so each paragraph of the summary stays part of it.
    lines.push('', ...neutralizeControls(summary).split(/\r?\n/).map((line) => (line.trim() === '' ? '' : `  ${escapeMarkdownLine(line.trim())}`)), '');
  }
  return lines;
}

/** Keeps model or commit text on one line and stops it from opening Markdown emphasis or HTML. */
function inline(text: string): string {
  return escapeMarkdown(oneLine(text));
}
