import { stdoutChalk } from '../render/color.js';

import { type CommitReport, lookupCommitReport, type ReportLookup, ReportNotFoundError } from '../../api/show.js';
import { InvalidOptionError } from '../../errors.js';
import { renderReportMarkdown } from '../render/report-markdown.js';
import { renderReportText } from '../render/report-text.js';
import { oneLine, shortSha } from '../render/text.js';

const FORMATS = ['text', 'markdown', 'json'] as const;
type ShowFormat = (typeof FORMATS)[number];

/** Widest text view, so lines stay readable on a wide terminal. */
const MAX_TEXT_WIDTH = 100;
/** Width of the text view when stdout is not a terminal. */
const PIPE_TEXT_WIDTH = 80;
/** Maximum length of the error shown for a failed report job, so the message stays readable. */
const MAX_ERROR_LENGTH = 400;

export interface ShowCommandOptions {
  format?: string;
  json?: boolean;
  model?: string;
  /** Folder inside the repository. @default process.cwd() */
  cwd?: string;
}

/** Prints the stored report of one commit of the repository in the current folder. */
export async function runShow(revision: string, options: ShowCommandOptions): Promise<void> {
  const format = chooseFormat(options);
  const lookup = await lookupCommitReport({ revision, cwd: options.cwd, model: options.model });

  if (lookup.report === null) {
    throw new ReportNotFoundError(lookup.sha, describeMissing(revision, lookup, options.model));
  }

  process.stdout.write(render(lookup.report, format));
}

function chooseFormat(options: ShowCommandOptions): ShowFormat {
  if (options.json && options.format !== undefined && options.format !== 'json') {
    throw new InvalidOptionError('--format', 'json or no --format together with --json', options.format);
  }

  const format = options.json ? 'json' : (options.format ?? 'text');
  if (!FORMATS.includes(format as ShowFormat)) {
    throw new InvalidOptionError('--format', FORMATS.join(', '), format);
  }

  return format as ShowFormat;
}

function render(commitReport: CommitReport, format: ShowFormat): string {
  if (format === 'json') {
    const { sha, repo, subject, report, facts, coverage, provenance } = commitReport;
    return `${JSON.stringify({ sha, repo, subject, report, facts, coverage, provenance }, null, 2)}\n`;
  }

  if (format === 'markdown') {
    return renderReportMarkdown(commitReport);
  }

  return renderReportText(commitReport, { chalk: stdoutChalk(), width: textWidth() });
}

/** Columns a report is wrapped at: the terminal's width up to 100, or 80 on a pipe. */
export function textWidth(): number {
  const columns = process.stdout.isTTY ? process.stdout.columns : PIPE_TEXT_WIDTH;
  return Math.min(columns || PIPE_TEXT_WIDTH, MAX_TEXT_WIDTH);
}

function describeMissing(revision: string, lookup: ReportLookup, model: string | undefined): string {
  const subject = `no report for commit ${shortSha(lookup.sha)}${model === undefined ? '' : ` by model ${model}`}`;
  if (lookup.liveJob !== null) {
    return `${subject} yet: its report job is ${lookup.liveJob.state}; follow it with \`stepper watch\``;
  }

  if (lookup.failedJob !== null) {
    const { id, lastError } = lookup.failedJob;
    const error = lastError === null ? '' : firstLine(lastError);
    return `${subject}: its report job failed${error === '' ? '' : `: ${error}`}; see \`stepper status ${id}\`, and run it again with \`stepper retry ${id}\``;
  }

  const reason = lookup.databaseExists ? '' : ' (no report has been made in this data directory yet)';
  const modelOption = model === undefined ? '' : `--model ${quoteArgument(model)} `;
  return `${subject}${reason}: make one with \`stepper report ${modelOption}${quoteArgument(revision)}\``;
}

/** Returns the first non-empty line of an error message, cut at MAX_ERROR_LENGTH characters. */
function firstLine(message: string): string {
  const line = oneLine(message.split(/\r?\n/).find((item) => item.trim() !== '')?.trim() ?? '');
  return line.length > MAX_ERROR_LENGTH ? `${line.slice(0, MAX_ERROR_LENGTH - 1)}…` : line;
}

/** Quotes a revision for a shell when it contains anything beyond the usual revision characters. */
function quoteArgument(value: string): string {
  return /^[\w@^~./:-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
