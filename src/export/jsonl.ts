import type { ReportCoverage } from '../api/show.js';
import type { ExportCommit, ExportEntry } from './collect.js';

/** A person of a commit in the JSON Lines export. */
export interface ExportedPerson {
  name: string;
  email: string;
  /** Strict ISO 8601 with the recorded offset, as `%aI` prints it. */
  date: string;
  /** Seconds since the epoch. */
  timestamp: number;
}

/** The fields of a stored report's provenance that a reader of the export needs. */
export interface ProvenanceSummary {
  reportId: string;
  /** When the report was stored, in ISO 8601 (UTC). */
  createdAt: string;
  model: string;
  modelDigest: string | null;
  stepperVersion: string;
  promptVersion: number;
  schemaVersion: number;
  promptTokens: number;
  completionTokens: number;
  modelCalls: number;
  elapsedMs: number;
  redactions: number;
  /** Set when Ollama probably cut the prompt, so the model saw less than the coverage marks show. */
  truncated: boolean;
}

/** One line of the JSON Lines export. The keys are part of the export's contract. */
export interface ExportedCommitLine {
  sha: string;
  /** Real path of the repository's common git directory. */
  repository: string;
  subject: string;
  message: string;
  parents: string[];
  author: ExportedPerson;
  committer: ExportedPerson;
  report: ExportEntry['report']['report'];
  facts: ExportEntry['report']['facts'];
  coverage: ReportCoverage['counts'] & { promptTruncated: boolean };
  /** Null for a report stored without provenance. */
  provenance: ProvenanceSummary | null;
}

/** Builds the object that one line of the JSON Lines export holds. */
export function toExportedLine(entry: ExportEntry): ExportedCommitLine {
  const { commit, report } = entry;
  const provenance = report.provenance;

  return {
    sha: commit.sha,
    repository: report.repo,
    subject: report.subject,
    message: commit.message,
    parents: commit.parents,
    author: person(commit.author),
    committer: person(commit.committer),
    report: report.report,
    facts: report.facts,
    coverage: { ...report.coverage.counts, promptTruncated: report.coverage.promptTruncated },
    provenance:
      provenance === null
        ? null
        : {
            reportId: provenance.reportId,
            createdAt: provenance.createdAt,
            model: provenance.model,
            modelDigest: provenance.modelDigest ?? null,
            stepperVersion: provenance.stepperVersion,
            promptVersion: provenance.promptVersion,
            schemaVersion: provenance.schemaVersion,
            promptTokens: provenance.promptTokens,
            completionTokens: provenance.completionTokens,
            modelCalls: provenance.modelCalls,
            elapsedMs: provenance.elapsedMs,
            redactions: provenance.redactions,
            truncated: provenance.truncated,
          },
  };
}

/** Renders the entries as JSON Lines: one object per line, each line ending in a newline. */
export function renderJsonLines(entries: readonly ExportEntry[]): string {
  return entries.map((entry) => `${JSON.stringify(toExportedLine(entry))}\n`).join('');
}

function person(value: ExportCommit['author']): ExportedPerson {
  return { name: value.name, email: value.email, date: value.date, timestamp: value.timestamp };
}
