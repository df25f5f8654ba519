import { type ExportFormat, exportReports } from '../../api/export.js';
import { InvalidOptionError } from '../../errors.js';
import { renderFileSummary, renderNotesSummary, renderSkipped } from '../render/export-summary.js';

export interface ExportCommandOptions {
  format: string;
  ref?: string;
  output?: string;
  json?: boolean;
}

/** Exports the stored reports of the repository in the current folder and prints the outcome. */
export async function runExport(revisions: string[], options: ExportCommandOptions): Promise<void> {
  // Without --output, standard output carries the exported data, so a JSON summary would corrupt it.
  if (options.json && options.format !== 'git-notes' && options.output === undefined) {
    throw new InvalidOptionError('--json', '--output <file> as well, because the export itself goes to standard output', true);
  }

  const result = await exportReports({ format: options.format as ExportFormat, revisions, ref: options.ref, output: options.output });

  if (options.json) {
    const { content: _content, ...summary } = result;
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }

  process.stderr.write(renderSkipped(result));
  if (result.notes) {
    process.stdout.write(renderNotesSummary(result, result.notes));
  } else if (result.content !== null) {
    process.stdout.write(result.content);
  } else {
    process.stdout.write(renderFileSummary(result));
  }
}
