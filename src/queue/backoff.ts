import { InvalidOptionError, checkFraction, checkPositiveInteger } from '../errors.js';

export interface BackoffOptions {
  /** Delay before the first retry, in milliseconds. @default 10000 */
  delayMs?: number;
  /** Upper bound of any delay, in milliseconds. @default 900000 (15 minutes) */
  maxDelayMs?: number;
  /**
   * Fraction of the delay that is random: the delay is drawn uniformly from
   * `[d * (1 - jitter), d]`, so retries of many jobs do not arrive together. @default 0.2
   */
  jitter?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = {
  delayMs: 10_000,
  maxDelayMs: 15 * 60_000,
  jitter: 0.2,
};

/** Checks backoff options and fills in the defaults. */
export function resolveBackoff(options: BackoffOptions = {}): Required<BackoffOptions> {
  const resolved = { ...DEFAULT_BACKOFF, ...options };
  checkPositiveInteger('backoff.delayMs', resolved.delayMs);
  checkPositiveInteger('backoff.maxDelayMs', resolved.maxDelayMs);
  checkFraction('backoff.jitter', resolved.jitter);
  if (resolved.maxDelayMs < resolved.delayMs) {
    // Blame the option the caller set: a large delayMs against the default maximum is the delay's fault.
    throw options.maxDelayMs === undefined
      ? new InvalidOptionError('backoff.delayMs', `at most backoff.maxDelayMs (${resolved.maxDelayMs})`, resolved.delayMs)
      : new InvalidOptionError('backoff.maxDelayMs', `at least backoff.delayMs (${resolved.delayMs})`, resolved.maxDelayMs);
  }

  return resolved;
}

/**
 * Returns the delay in milliseconds before retry number `attemptsMade` (1 after the first
 * failed attempt): `min(maxDelayMs, delayMs * 2^(attemptsMade - 1))`, less up to
 * `jitter` of itself. `random` returns a number in [0, 1), as Math.random does.
 */
export function backoffDelay(
  attemptsMade: number,
  options: Required<BackoffOptions>,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attemptsMade - 1);
  const ceiling = Math.min(options.maxDelayMs, options.delayMs * 2 ** exponent);
  return Math.round(ceiling * (1 - options.jitter * random()));
}
