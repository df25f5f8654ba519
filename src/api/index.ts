// The operations the commands run, as a library: request reports, wait for them, read the
// queue's status, read a commit's report and follow the queue's events.
export { requestReports, type RequestedReport, type RequestReportsOptions, type RequestReportsResult } from './report.js';
export { EXPORT_FORMATS, type ExportFormat, exportReports, type ExportReportsOptions, type ExportResult } from './export.js';
export {
  type CommitReport,
  lookupCommitReport,
  readCommitReport,
  type ReadCommitReportOptions,
  type ReportCoverage,
  type ReportLookup,
  ReportNotFoundError,
  type ShownProvenance,
} from './show.js';
export {
  type CheckResult,
  type CheckStatus,
  DEFAULT_CHECK_TIMEOUT_MS,
  type DoctorOptions,
  type HostLookup,
  type OllamaProbe,
  runDiagnostics,
} from './doctor.js';
export {
  type ConfigEntry,
  type ConfigOptions,
  type ConfigScope,
  type ConfigValue,
  getConfig,
  listConfig,
  type ListConfigOptions,
  setConfig,
  type SetConfigOptions,
  type SetConfigResult,
  unsetConfig,
  type UnsetConfigResult,
} from './config.js';
export {
  cancelJobs,
  type CancelJobsOptions,
  type ChangedJob,
  DEFAULT_PRUNE_AGE,
  type MaintenanceOptions,
  parseDuration,
  pruneData,
  type PruneOptions,
  type PruneResult,
  redoStale,
  type RedoEntry,
  type RedoStaleOptions,
  type RedoStaleResult,
  retryJobs,
  type RetryJobsOptions,
  type RetryJobsResult,
} from './maintenance.js';
export { getJobStatus, getQueueStatus, type JobDetail, type JobStatus, type QueueStatus, type StatusOptions } from './status.js';
export { buildDiary, DIARY_GROUPINGS, type DiaryOptions } from './diary.js';
export { type FinishedJob, waitForJobs, type WaitOptions } from './wait.js';
export { DEFAULT_WATCH_INTERVAL_MS, type QueueSnapshot, type WatchEvent, watchQueue, type WatchQueueOptions, type WatchUpdate } from './watch.js';
