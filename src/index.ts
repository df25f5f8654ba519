// The library API: the same operations the command line uses, without any printing.
export {
  DatabaseError,
  InvalidOptionError,
  JobNotFoundError,
  JobStateError,
  type QueueAction,
  queueActionOf,
  RetryLaterError,
  StepperError,
  type StepperErrorCode,
  UnrecoverableError,
} from './errors.js';
export { backoffDelay, type BackoffOptions, DEFAULT_BACKOFF } from './queue/backoff.js';
export { enqueueJob, enqueueJobs, type EnqueueOptions, type EnqueueResult } from './queue/enqueue.js';
export { type QueueOptions, type RetentionOptions } from './queue/options.js';
export {
  type ClaimOptions,
  type JobLock,
  type ListEventsOptions,
  type ListJobsOptions,
  openExistingQueue,
  openQueue,
  type OpenQueueOptions,
  Queue,
  type StallRecoveryOptions,
  type StallRecoveryResult,
} from './queue/queue.js';
export { type CleanResult } from './queue/retention.js';
export { countSpooled, ingestSpool, type IngestResult, writeSpool } from './queue/spool.js';
export * from './queue/types.js';
export {
  type CloseOptions,
  JobTimeoutError,
  LockLostError,
  type Processor,
  type ProcessorContext,
  type ProcessorResult,
  Worker,
  WorkerClosingError,
  type WorkerEvents,
  type WorkerOptions,
} from './queue/worker.js';
export { DATABASE_FILE, ensureDataDir, resolveDataDir } from './store/data-dir.js';
export { openDatabase, type OpenDatabaseOptions } from './store/database.js';
export { SCHEMA_VERSION } from './store/migrations.js';
export { VERSION } from './version.js';
export { buildEvidence, type EvidenceOptions, MIN_TOKEN_BUDGET } from './evidence/build.js';
export { DEFAULT_EXCLUSIONS, type ExclusionReason } from './evidence/exclusions.js';
export { redactSecrets, type RedactionResult } from './evidence/redaction.js';
export { renderEvidence } from './evidence/render.js';
export { estimateTokens } from './evidence/tokens.js';
export type * from './evidence/types.js';
export {
  AmbiguousRevisionError,
  changeIdentity,
  GitError,
  GitNotFoundError,
  NotARepositoryError,
  openRepository,
  readChanges,
  readCommit,
  readCommits,
  resolveCommit,
  resolveRevisions,
  type RevisionLimits,
  UnknownRevisionError,
} from './git/index.js';
export type * from './git/types.js';
export * from './ollama/index.js';
export * from './report/index.js';
// Both modules name a type Report: the library's Report is the model's report, and the
// queue's row that stores it is StoredReport.
export type { Report } from './report/schema.js';
export type { Report as StoredReport } from './queue/types.js';
export * from './daemon/index.js';
export * from './api/index.js';
export type * from './diary/types.js';
export * from './hook/index.js';
export { readGitConfig } from './config/git-config.js';
export { CONFIG_KEYS, type ConfigKey, type ConfigValueType, EXCLUDE_KEY, MODEL_KEY } from './config/keys.js';
export { type PruneCounts, type StaleReport, type StaleReportQuery } from './queue/maintenance.js';
