// The operations the commands run, as a library: request reports, wait for them, read the
// queue's status, read a commit's report and follow the queue's events.
export { requestReports, type RequestedReport, type RequestReportsOptions, type RequestReportsResult } from './report.js';
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
export { getJobStatus, getQueueStatus, type JobDetail, type JobStatus, type QueueStatus, type StatusOptions } from './status.js';
export { type FinishedJob, waitForJobs, type WaitOptions } from './wait.js';
export { DEFAULT_WATCH_INTERVAL_MS, type QueueSnapshot, type WatchEvent, watchQueue, type WatchQueueOptions, type WatchUpdate } from './watch.js';
