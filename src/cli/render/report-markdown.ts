import type { CommitReport } from '../../api/show.js';
import { codeSpan, escapeMarkdownLine } from './markdown.js';
import { describeCoverage, describeProvenance, SECTION_TITLES } from './report-lines.js';
import { neutralizeControls, oneLine } from './text.js';

/**
 * Renders a report as Markdown: the title as a heading, one second-level section per field,
 * a table of the changed files, and the coverage and provenance lines in italics. Text from
 * the model and the commit is escaped, so it cannot add HTML, emphasis, lists or headings.
 */
export function renderReportMarkdown(commitReport: CommitReport): string {
  const { report, facts } = commitReport;
  const lines: string[] = [];

  lines.push(`# ${inline(report.title)}`, '', `Commit \`${commitReport.sha}\`: ${inline(commitReport.subject)}`);

  const paragraph = (title: string, text: string) => {
    lines.push('', `## ${title}`, '', text.trim() === '' ? '(empty)' : escapeParagraph(text));
  };
  const list = (title: string, items: string[]) => {
    lines.push('', `## ${title}`, '');
    lines.push(...(items.length === 0 ? ['None.'] : items.map((item) => `- ${inline(item)}`)));
  };

  paragraph(SECTION_TITLES.summary, report.summary);
  list(SECTION_TITLES.changes, report.changes);
  paragraph(SECTION_TITLES.rationale, report.rationale);
  paragraph(SECTION_TITLES.impact_and_tests, report.impact_and_tests);
  list(SECTION_TITLES.next_steps, report.next_steps);
  if (report.tags.length > 0) {
    lines.push('', `Tags: ${report.tags.map((tag) => codeSpan(oneLine(tag))).join(', ')}`);
  }

  lines.push('', '## Files', '', '| Status | Path | Added | Deleted | Coverage |', '| --- | --- | ---: | ---: | --- |');
  for (const file of facts.files) {
    const name = file.oldPath === undefined ? file.path : `${file.oldPath} → ${file.path}`;
    const added = file.binary ? 'binary' : String(file.additions ?? 0);
    const deleted = file.binary ? 'binary' : String(file.deletions ?? 0);
    const coverage = commitReport.coverage.files[file.path];
    lines.push(`| ${file.status} | ${pathCell(name)} | ${added} | ${deleted} | ${coverage === undefined ? '' : inline(coverage)} |`);
  }

  lines.push('', `_${inline(describeCoverage(commitReport))}_`, '', `_${inline(describeProvenance(commitReport))}_`);
  return `${lines.join('\n')}\n`;
}

/** Keeps model or commit text on one line and literal. */
function inline(text: string): string {
  return escapeMarkdownLine(oneLine(text));
}

/**
 * Escapes each line of a paragraph, keeping its line breaks and blank lines. Leading spaces
 * are dropped, because Markdown drops them in a paragraph anyway, and four of them after a
 * blank line would start a code block.
 */
function escapeParagraph(text: string): string {
  return neutralizeControls(text)
    .split(/\r?\n/)
    .map((line) => (line.trim() === '' ? '' : escapeMarkdownLine(line.trimStart())))
    .join('\n');
}

/**
 * Shows a path verbatim in a code span. A `|` is still escaped, because GFM splits table
 * cells before it parses code spans, and removes the backslash of `\|` inside the span.
 */
function pathCell(text: string): string {
  return codeSpan(oneLine(text)).replace(/\|/g, '\\|');
}
