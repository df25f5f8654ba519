import type { ChalkInstance } from 'chalk';

import type { CommitReport } from '../../api/show.js';
import { describeCoverage, describeProvenance, SECTION_TITLES } from './report-lines.js';
import { neutralizeControls, oneLine, wrap } from './text.js';

export interface TextViewOptions {
  chalk: ChalkInstance;
  /** Columns to wrap at. */
  width: number;
}

const INDENT = '  ';

/**
 * Renders a report for the terminal: the title, commit and subject, one section per field with
 * bullet lists for list fields, the changed files, and a coverage and a provenance line. Text
 * from the model and the commit passes through neutralizeControls.
 */
export function renderReportText(commitReport: CommitReport, options: TextViewOptions): string {
  const { chalk, width } = options;
  const { report, facts } = commitReport;
  const lines: string[] = [];

  lines.push(chalk.bold(oneLine(report.title)));
  lines.push(`${chalk.yellow(`commit ${commitReport.sha}`)}  ${oneLine(commitReport.subject)}`);

  const paragraph = (title: string, text: string) => {
    lines.push('', chalk.bold(title));
    lines.push(...wrap(neutralizeControls(text.trim() === '' ? '(empty)' : text), width, INDENT));
  };
  const list = (title: string, items: string[]) => {
    lines.push('', chalk.bold(title));
    if (items.length === 0) {
      lines.push(`${INDENT}${chalk.dim('none')}`);
    }
    for (const item of items) {
      lines.push(...wrap(neutralizeControls(item), width, `${INDENT}  `, `${INDENT}• `));
    }
  };

  paragraph(SECTION_TITLES.summary, report.summary);
  list(SECTION_TITLES.changes, report.changes);
  paragraph(SECTION_TITLES.rationale, report.rationale);
  paragraph(SECTION_TITLES.impact_and_tests, report.impact_and_tests);
  list(SECTION_TITLES.next_steps, report.next_steps);
  if (report.tags.length > 0) {
    lines.push('', `${chalk.bold('Tags:')} ${report.tags.map(oneLine).join(', ')}`);
  }

  const { totals } = facts;
  lines.push('', chalk.bold(`Files (${totals.files} changed, +${totals.additions} -${totals.deletions})`));
  for (const file of facts.files) {
    const counts = file.binary ? 'binary' : `+${file.additions ?? 0} -${file.deletions ?? 0}`;
    const name = file.oldPath === undefined ? oneLine(file.path) : `${oneLine(file.oldPath)} → ${oneLine(file.path)}`;
    const mark = commitReport.coverage.files[file.path];
    lines.push(`${INDENT}${file.status.padEnd(9)} ${name}  ${counts}${mark === undefined ? '' : chalk.dim(`  [${mark}]`)}`);
  }

  lines.push('', chalk.dim(oneLine(describeCoverage(commitReport))), chalk.dim(oneLine(describeProvenance(commitReport))));
  return `${lines.join('\n')}\n`;
}
