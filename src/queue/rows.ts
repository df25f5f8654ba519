import type { ClaimedJob, FailedReason, Job, JobEvent, JobEventType, JobProgress, JobState, Report } from './types.js';

/** A `jobs` row as SQLite returns it. */
export interface JobRow {
  seq: number;
  id: string;
  kind: string;
  repository: string;
  commit_sha: string;
  dedup_key: string;
  payload: string;
  priority: number;
  state: JobState;
  run_at: number;
  attempts_made: number;
  attempts_started: number;
  max_attempts: number;
  stalled_count: number;
  lock_token: string | null;
  lock_owner: string | null;
  lock_expires_at: number | null;
  progress: string | null;
  last_error: string | null;
  error_class: string | null;
  error_code: string | null;
  failed_reason: FailedReason | null;
  result_id: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  updated_at: number;
}

export interface EventRow {
  seq: number;
  job_id: string;
  type: JobEventType;
  at: number;
  data: string | null;
}

export interface ReportRow {
  id: string;
  kind: string;
  repository: string;
  commit_sha: string;
  content: string;
  cache_key: string | null;
  provenance: string | null;
  created_at: number;
}

export function toJob(row: JobRow): Job {
  return {
    id: row.id,
    kind: row.kind,
    repository: row.repository,
    commitSha: row.commit_sha,
    dedupKey: row.dedup_key,
    payload: JSON.parse(row.payload) as unknown,
    priority: row.priority,
    state: row.state,
    runAt: row.run_at,
    attemptsMade: row.attempts_made,
    attemptsStarted: row.attempts_started,
    maxAttempts: row.max_attempts,
    stalledCount: row.stalled_count,
    progress: row.progress === null ? null : (JSON.parse(row.progress) as JobProgress),
    lastError: row.last_error,
    errorClass: row.error_class,
    errorCode: row.error_code,
    failedReason: row.failed_reason,
    resultId: row.result_id,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    updatedAt: row.updated_at,
  };
}

export function toClaimedJob(row: JobRow): ClaimedJob {
  return {
    ...toJob(row),
    token: row.lock_token as string,
    lockOwner: row.lock_owner as string,
    lockExpiresAt: row.lock_expires_at as number,
  };
}

export function toJobEvent(row: EventRow): JobEvent {
  return {
    seq: row.seq,
    jobId: row.job_id,
    type: row.type,
    at: row.at,
    data: row.data === null ? null : (JSON.parse(row.data) as Record<string, unknown>),
  };
}

export function toReport(row: ReportRow): Report {
  return {
    id: row.id,
    kind: row.kind,
    repository: row.repository,
    commitSha: row.commit_sha,
    content: JSON.parse(row.content) as unknown,
    cacheKey: row.cache_key,
    provenance: row.provenance === null ? null : (JSON.parse(row.provenance) as unknown),
    createdAt: row.created_at,
  };
}
