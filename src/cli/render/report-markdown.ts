import type { CommitReport } from '../../api/show.js';
import { describeCoverage, describeProvenance, SECTION_TITLES } from './report-lines.js';
import { neutralizeControls, oneLine } from './text.js';

/**
 * Renders a report as Markdown: the title as a heading, one second-level section per field,
 * a table of the changed files, and the coverage and provenance lines in italics.
 */
export function renderReportMarkdown(commitReport: CommitReport): string {
  const { report, facts } = commitReport;
  const lines: string[] = [];

  lines.push(`# ${oneLine(report.title)}`, '', `Commit \`${commitReport.sha}\`: ${oneLine(commitReport.subject)}`);

  const paragraph = (title: string, text: string) => {
    lines.push('', `## ${title}`, '', neutralizeControls(text.trim() === '' ? '(empty)' : text));
  };
  const list = (title: string, items: string[]) => {
    lines.push('', `## ${title}`, '');
    lines.push(...(items.length === 0 ? ['None.'] : items.map((item) => `- ${oneLine(item)}`)));
  };

  paragraph(SECTION_TITLES.summary, report.summary);
  list(SECTION_TITLES.changes, report.changes);
  paragraph(SECTION_TITLES.rationale, report.rationale);
  paragraph(SECTION_TITLES.impact_and_tests, report.impact_and_tests);
  list(SECTION_TITLES.next_steps, report.next_steps);
  if (report.tags.length > 0) {
    lines.push('', `Tags: ${report.tags.map((tag) => `\`${oneLine(tag)}\``).join(', ')}`);
  }

  lines.push('', '## Files', '', '| Status | Path | Added | Deleted | Coverage |', '| --- | --- | ---: | ---: | --- |');
  for (const file of facts.files) {
    const name = file.oldPath === undefined ? file.path : `${file.oldPath} → ${file.path}`;
    const added = file.binary ? 'binary' : String(file.additions ?? 0);
    const deleted = file.binary ? 'binary' : String(file.deletions ?? 0);
    lines.push(`| ${file.status} | ${tableCell(name)} | ${added} | ${deleted} | ${commitReport.coverage.files[file.path] ?? ''} |`);
  }

  lines.push('', `_${oneLine(describeCoverage(commitReport))}_`, '', `_${oneLine(describeProvenance(commitReport))}_`);
  return `${lines.join('\n')}\n`;
}

/** Keeps a path inside its table cell: a `|` would end the cell, so it is escaped. */
function tableCell(text: string): string {
  return `\`${oneLine(text).replace(/\|/g, '\\|').replace(/`/g, "'")}\``;
}
