/**
 * Job states, with BullMQ's names. `delayed` is a job waiting out a backoff or a
 * scheduled time; it becomes `waiting` when due. `cancelled` is stepper's own.
 */
export const JOB_STATES = ['waiting', 'delayed', 'active', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** States in which a job still blocks a duplicate of itself. */
export const LIVE_STATES: readonly JobState[] = ['waiting', 'delayed', 'active'];
export const FINISHED_STATES: readonly JobState[] = ['completed', 'failed', 'cancelled'];

/**
 * Named priorities; a lower number runs first, as in BullMQ. Interactive requests use
 * `high`, and backfills of many commits use `low`.
 */
export const JOB_PRIORITY = { high: 1, normal: 2, low: 3 } as const;
export type JobPriorityName = keyof typeof JOB_PRIORITY;

/** Reason a job ended in `failed`. */
export type FailedReason = 'attempts-exhausted' | 'unrecoverable' | 'stalled';

/** Progress a processor reports: a percentage or a JSON object such as `{ phase, tokens }`. */
export type JobProgress = number | Record<string, unknown>;

export interface Job {
  /** Public id (a UUID), printed to users as the job's receipt. */
  id: string;
  kind: string;
  /** Absolute path that identifies the repository, such as its git common directory. */
  repository: string;
  /** Full commit id (sha) the job is about. */
  commitSha: string;
  /** At most one waiting, delayed or active job exists per key. */
  dedupKey: string;
  payload: unknown;
  priority: number;
  state: JobState;
  /** When a delayed job becomes due, in epoch milliseconds. */
  runAt: number;
  /** Attempts that ended in completion or failure; a stall does not count as one. */
  attemptsMade: number;
  /** Times the job was claimed, stalls and releases included. */
  attemptsStarted: number;
  maxAttempts: number;
  /** Times the job was found active after its worker died. */
  stalledCount: number;
  progress: JobProgress | null;
  lastError: string | null;
  /** Class name of the last error, such as `UnrecoverableError`. */
  errorClass: string | null;
  /** Stable code of the last error when it had one. */
  errorCode: string | null;
  failedReason: FailedReason | null;
  /** Id of the stored report once the job completed with one. */
  resultId: string | null;
  /** Times in epoch milliseconds. */
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  updatedAt: number;
}

/** A job held by a worker. `token` fences every write the worker makes about it. */
export interface ClaimedJob extends Job {
  token: string;
  lockOwner: string;
  lockExpiresAt: number;
}

export interface NewJob {
  kind: string;
  repository: string;
  commitSha: string;
  /** @default `${kind}:${repository}:${commitSha}` */
  dedupKey?: string;
  payload?: unknown;
  /** A number (lower runs first) or a name. @default 'normal' */
  priority?: number | JobPriorityName;
  /** @default 5 */
  maxAttempts?: number;
  /** Milliseconds before the job becomes due; the job is `delayed` until then. @default 0 */
  delayMs?: number;
  /** Public id to use, for a job written to the spool first. @default a new UUID */
  id?: string;
}

export interface AddResult {
  job: Job;
  /** True when a live job for the same key existed and was returned instead of a new one. */
  deduplicated: boolean;
}

export interface NewReport {
  /** The report as JSON-serializable data. */
  content: unknown;
  /** Everything the report's text depends on, such as patch-id, model and prompt version; reports with equal keys are interchangeable. */
  cacheKey?: string;
  /** Record of how the report was made (model, digest, token counts, coverage), as JSON-serializable data. */
  provenance?: unknown;
}

export interface Report {
  id: string;
  kind: string;
  repository: string;
  commitSha: string;
  content: unknown;
  cacheKey: string | null;
  provenance: unknown;
  createdAt: number;
}

export const JOB_EVENT_TYPES = [
  'added',
  'started',
  'progress',
  'completed',
  'failed',
  'retried',
  'stalled',
  'released',
  'cancelled',
] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];

export interface JobEvent {
  /** Increases with every event, so a reader resumes after the last one it saw. */
  seq: number;
  jobId: string;
  type: JobEventType;
  at: number;
  data: Record<string, unknown> | null;
}

/** Outcome of `fail`: retried after a backoff, failed for good, or ignored because the token was stale. */
export type FailOutcome = 'retried' | 'failed' | 'stale';
