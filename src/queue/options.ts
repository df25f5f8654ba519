import { InvalidOptionError, checkPositiveInteger } from '../errors.js';
import { type BackoffOptions, resolveBackoff } from './backoff.js';

const DAY_MS = 24 * 60 * 60_000;

export interface KeepOptions {
  /** Newest finished jobs kept whatever their age. */
  count: number;
  /** Jobs that finished less than this many milliseconds ago are kept whatever their number. */
  ageMs: number;
}

/** Retention of finished jobs, like BullMQ's removeOnComplete and removeOnFail. */
export interface RetentionOptions {
  /** @default { count: 1000, ageMs: 7 days } */
  completed?: KeepOptions;
  /** Applies to failed and to cancelled jobs, counted apart. @default { count: 5000, ageMs: 7 days } */
  failed?: KeepOptions;
  /** Newest events kept for `watch`. @default 10000 */
  maxEvents?: number;
  /** Events older than this are removed, in milliseconds. @default 7 days */
  eventAgeMs?: number;
}

/**
 * SQLite `synchronous` level of the commits that move a claimed job: claim, progress, lock
 * renewal, completion, failure and release. 'full' syncs the WAL to disk on every commit.
 * 'normal' leaves the WAL in the OS page cache until the next checkpoint or FULL commit, so
 * a process that dies, SIGKILL included, loses nothing. Only an OS crash or a power loss can
 * undo the last such commits, and stall recovery then returns those jobs to waiting.
 * Commits that add, change or remove user work are always 'full'.
 */
export type TransitionSync = 'full' | 'normal';

export interface QueueOptions {
  /** Current time in epoch milliseconds; tests pass a fake clock. @default Date.now */
  clock?: () => number;
  /** Source of jitter, returning [0, 1). @default Math.random */
  random?: () => number;
  backoff?: BackoffOptions;
  /** Attempts a new job gets when `add` sets none. @default 5 */
  maxAttempts?: number;
  /** A job fails with reason `stalled` when its stall count reaches this number. @default 2 */
  maxStalls?: number;
  /** Lifetime of a claim's lock, after which another worker may treat the job as stalled, in milliseconds. @default 60000 */
  lockDurationMs?: number;
  retention?: RetentionOptions;
  /** @default 'full' */
  transitionSync?: TransitionSync;
}

export interface ResolvedQueueOptions {
  clock: () => number;
  random: () => number;
  backoff: Required<BackoffOptions>;
  maxAttempts: number;
  maxStalls: number;
  lockDurationMs: number;
  retention: Required<RetentionOptions>;
  transitionSync: TransitionSync;
}

export const DEFAULT_RETENTION: Required<RetentionOptions> = {
  completed: { count: 1000, ageMs: 7 * DAY_MS },
  failed: { count: 5000, ageMs: 7 * DAY_MS },
  maxEvents: 10_000,
  eventAgeMs: 7 * DAY_MS,
};

export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_MAX_STALLS = 2;
export const DEFAULT_LOCK_DURATION_MS = 60_000;

/** Shorter locks cannot be renewed in time between event-loop turns and SQLite busy waits. */
export const MIN_LOCK_DURATION_MS = 100;

/** Checks queue options and fills in the defaults; an invalid value raises InvalidOptionError. */
export function resolveQueueOptions(options: QueueOptions = {}): ResolvedQueueOptions {
  const retention = { ...DEFAULT_RETENTION, ...options.retention };
  checkKeep('retention.completed', retention.completed);
  checkKeep('retention.failed', retention.failed);
  checkPositiveInteger('retention.maxEvents', retention.maxEvents);
  checkPositiveInteger('retention.eventAgeMs', retention.eventAgeMs, 0);

  return {
    clock: options.clock ?? Date.now,
    random: options.random ?? Math.random,
    backoff: resolveBackoff(options.backoff),
    maxAttempts: checkPositiveInteger('maxAttempts', options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS),
    maxStalls: checkPositiveInteger('maxStalls', options.maxStalls ?? DEFAULT_MAX_STALLS),
    lockDurationMs: checkPositiveInteger('lockDurationMs', options.lockDurationMs ?? DEFAULT_LOCK_DURATION_MS, MIN_LOCK_DURATION_MS),
    retention,
    transitionSync: checkTransitionSync(options.transitionSync ?? 'full'),
  };
}

function checkTransitionSync(value: unknown): TransitionSync {
  if (value !== 'full' && value !== 'normal') {
    throw new InvalidOptionError('transitionSync', "'full' or 'normal'", value);
  }

  return value;
}

function checkKeep(option: string, keep: KeepOptions): void {
  checkPositiveInteger(`${option}.count`, keep.count, 0);
  checkPositiveInteger(`${option}.ageMs`, keep.ageMs, 0);
}
