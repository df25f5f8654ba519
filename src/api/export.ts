import { checkDataDir, InvalidOptionError, StepperError } from '../errors.js';
import { renderCliffContext } from '../export/cliff.js';
import { collectExport, type ExportCollection, type SkippedReport } from '../export/collect.js';
import { renderJsonLines } from '../export/jsonl.js';
import { DEFAULT_NOTES_REF, type NotesResult, resolveNotesRef, writeNotes } from '../export/notes.js';
import { checkOutputPath, writeFileAtomic } from '../export/output.js';
import { openRepository } from '../git/repository.js';
import { resolveDataDir } from '../store/data-dir.js';
import { currentFolder } from '../git/current-folder.js';

export const EXPORT_FORMATS = ['git-notes', 'jsonl', 'git-cliff'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportReportsOptions {
  format: ExportFormat;
  /** Commits and ranges as `stepper report` accepts them. @default every commit of the repository with a stored report */
  revisions?: readonly string[];
  /** Folder inside the repository. @default process.cwd() */
  cwd?: string;
  /** Data directory holding the database. @default resolveDataDir() */
  dataDir?: string;
  /** Notes ref of the git-notes format, expanded as `git notes --ref` does. @default refs/notes/stepper */
  ref?: string;
  /** File that the jsonl and git-cliff formats are written to. Without it the text is returned in `content`. */
  output?: string;
  /** Called just before the notes are written; tests use it to update the ref concurrently. */
  beforeNotesWrite?: () => Promise<void> | void;
}

/** The outcome of an export. The keys are part of the `--json` contract. */
export interface ExportResult {
  format: ExportFormat;
  /** Real path of the repository's common git directory. */
  repository: string;
  /** Commits whose report was exported (for git-notes: written, unchanged or kept as foreign). */
  exported: number;
  /** Commits with a report that are no longer in the repository, and so were skipped. */
  missing: string[];
  /** Reports stored in a shape this version cannot read, and so skipped. */
  invalid: SkippedReport[];
  /** Commits named by the revisions that have no stored report. */
  withoutReport: number;
  /** Set for the git-notes format. */
  notes: NotesResult | null;
  /** Absolute path of the written file, or null when the text is in `content`. */
  output: string | null;
  /** The exported text of the jsonl and git-cliff formats when no output file was given. */
  content: string | null;
}

/**
 * Exports the newest stored report of each commit of the repository in `cwd`: as git notes,
 * as JSON Lines or as a git-cliff context. Options are checked before anything is read.
 *
 * @throws InvalidOptionError for a bad format, ref or output path
 * @throws StepperError with code REPORT_NOT_FOUND when no report can be exported
 * @throws StepperError with code NOTES_REF_MOVED when the notes ref changed during the export
 */
export async function exportReports(options: ExportReportsOptions): Promise<ExportResult> {
  const format = checkFormat(options.format);
  if (format !== 'git-notes' && options.ref !== undefined) {
    throw new InvalidOptionError('--ref', 'no --ref unless --format is git-notes', options.ref);
  }
  if (format === 'git-notes' && options.output !== undefined) {
    throw new InvalidOptionError('--output', 'no --output with --format git-notes, which writes to the notes ref', options.output);
  }

  const ref = format === 'git-notes' ? await resolveNotesRef(options.ref ?? DEFAULT_NOTES_REF) : undefined;
  const output = options.output === undefined ? undefined : checkOutputPath(options.output);
  const dataDir = options.dataDir === undefined ? resolveDataDir() : checkDataDir(options.dataDir);
  const repo = await openRepository(options.cwd ?? currentFolder());
  const revisions = options.revisions ?? [];

  const collection = await collectExport(repo, dataDir, revisions);
  if (collection.entries.length === 0) {
    throw new StepperError('REPORT_NOT_FOUND', describeNothing(collection, dataDir, revisions.length > 0));
  }

  const result: ExportResult = {
    format,
    repository: repo.gitDir,
    exported: collection.entries.length,
    missing: collection.missing,
    invalid: collection.invalid,
    withoutReport: collection.withoutReport,
    notes: null,
    output: null,
    content: null,
  };

  if (ref !== undefined) {
    result.notes = await writeNotes(repo, collection.entries, { ref, beforeWrite: options.beforeNotesWrite });
    return result;
  }

  const content = format === 'jsonl' ? renderJsonLines(collection.entries) : renderCliffContext(repo, collection.entries);
  if (output === undefined) {
    result.content = content;
  } else {
    writeFileAtomic(output, content);
    result.output = output;
  }
  return result;
}

function checkFormat(format: unknown): ExportFormat {
  if (!EXPORT_FORMATS.includes(format as ExportFormat)) {
    throw new InvalidOptionError('--format', EXPORT_FORMATS.join(', '), format);
  }
  return format as ExportFormat;
}

function describeNothing(collection: ExportCollection, dataDir: string, limited: boolean): string {
  const hint = 'make reports with `stepper report <revisions>` first';
  if (!collection.databaseExists) {
    return `no reports to export: the data directory ${dataDir} has no database yet; ${hint}`;
  }

  const skipped: string[] = [];
  if (collection.missing.length > 0) {
    skipped.push(`${collection.missing.length} whose commits are no longer in the repository`);
  }
  if (collection.invalid.length > 0) {
    skipped.push(`${collection.invalid.length} stored in a shape this version cannot read`);
  }
  const scope = limited ? 'the given revisions' : `the repository ${collection.repo.gitDir}`;
  const detail = skipped.length > 0 ? ` (skipped: ${skipped.join(', ')})` : '';
  return `no reports to export for ${scope}${detail}; ${hint}`;
}
