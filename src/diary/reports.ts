import type { Queue } from '../queue/queue.js';
import type { JobState } from '../queue/types.js';
import { REPORT_JOB_KIND } from '../report/job.js';
import type { DiaryReport, DiaryReportState } from './types.js';

/** Queue data of one commit: its newest readable report and the state of its newest report job. */
export interface StoredCommitState {
  report: DiaryReport | null;
  /** State of the newest report job, or null when the commit never had one. */
  jobState: JobState | null;
}

interface ReportFieldsRow {
  commit_sha: string;
  title: unknown;
  summary: unknown;
  tags: unknown;
  model: unknown;
  created_at: number;
}

/**
 * Reads the reports and report-job states of every commit of one repository with one
 * query each, so a diary of thousands of commits costs two queries per repository. Only
 * the fields the diary shows are extracted in SQL, which saves parsing each report's file
 * list. A row without a string title and summary (an older or foreign shape) is left out,
 * so its commit shows its job state instead.
 */
export function readStoredStates(queue: Queue, repository: string): Map<string, StoredCommitState> {
  const db = queue.database;
  const states = new Map<string, StoredCommitState>();
  const stateOf = (sha: string): StoredCommitState => {
    let state = states.get(sha);
    if (state === undefined) {
      state = { report: null, jobState: null };
      states.set(sha, state);
    }
    return state;
  };

  const read = db.transaction(() => {
    // Oldest first, so the newest report and the newest job of a commit are the ones kept.
    const reports = db
      .prepare(
        `SELECT commit_sha,
                json_extract(content, '$.report.title') AS title,
                json_extract(content, '$.report.summary') AS summary,
                json_extract(content, '$.report.tags') AS tags,
                json_extract(provenance, '$.model') AS model,
                created_at
           FROM reports
          WHERE repository = ? AND kind = ? AND json_valid(content)
          ORDER BY created_at, rowid`,
      )
      .all(repository, REPORT_JOB_KIND) as ReportFieldsRow[];
    const jobs = db
      .prepare('SELECT commit_sha, state FROM jobs WHERE repository = ? AND kind = ? ORDER BY seq')
      .all(repository, REPORT_JOB_KIND) as Array<{ commit_sha: string; state: JobState }>;
    return { reports, jobs };
  });
  const { reports, jobs } = read();

  for (const row of reports) {
    const report = toDiaryReport(row);
    if (report !== null) {
      stateOf(row.commit_sha).report = report;
    }
  }
  for (const job of jobs) {
    stateOf(job.commit_sha).jobState = job.state;
  }

  return states;
}

/** Lists the repositories the queue has jobs or reports for. */
export function listKnownRepositories(queue: Queue): string[] {
  const rows = queue.database
    .prepare('SELECT repository FROM jobs UNION SELECT repository FROM reports ORDER BY repository')
    .all() as Array<{ repository: string }>;
  return rows.map((row) => row.repository);
}

/** Returns the diary's state of a commit: reported, or derived from the state of its newest report job. */
export function reportStateOf(stored: StoredCommitState | undefined): DiaryReportState {
  if (stored?.report) {
    return 'reported';
  }

  switch (stored?.jobState) {
    case 'waiting':
    case 'delayed':
    case 'active':
      return 'pending';
    case 'failed':
      return 'failed';
    default:
      // No job, a cancelled one, or a completed one whose report cannot be read.
      return 'none';
  }
}

function toDiaryReport(row: ReportFieldsRow): DiaryReport | null {
  if (typeof row.title !== 'string' || typeof row.summary !== 'string') {
    return null;
  }

  let tags: string[] = [];
  if (typeof row.tags === 'string') {
    try {
      const parsed = JSON.parse(row.tags) as unknown;
      tags = Array.isArray(parsed) ? parsed.filter((tag): tag is string => typeof tag === 'string') : [];
    } catch {
      tags = [];
    }
  }

  return {
    title: row.title,
    summary: row.summary,
    tags,
    model: typeof row.model === 'string' ? row.model : '',
    createdAt: new Date(row.created_at).toISOString(),
  };
}
