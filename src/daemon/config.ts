import { InvalidOptionError, checkPositiveInteger } from '../errors.js';

/** File names of the daemon inside the data directory. */
export const LOCK_FILE = 'daemon.lock';
export const LOG_FILE = 'daemon.log';
/** Receives what the daemon process writes to stdout and stderr before its log is open, such as a crash of node itself. */
export const CRASH_LOG_FILE = 'daemon.crash.log';

/** Settings of a daemon; every duration is in milliseconds. */
export interface DaemonSettings {
  /** Report jobs generated at once. One more job is claimed and prepared while they run. @default 1 */
  concurrency: number;
  /** Time without work after which the daemon exits. @default 600000 (10 minutes) */
  idleMs: number;
  /** Time running jobs get to finish after SIGTERM or SIGINT before they are aborted and released. @default 30000 */
  graceMs: number;
  /** Interval of the heartbeat, which also checks that the database file is still the one opened. @default 10000 */
  heartbeatMs: number;
  /** Wait between claims when no job is due. @default 1000 */
  pollMs: number;
  /** First wait between two Ollama probes while it is unreachable; it doubles up to probeMaxMs. @default 1000 */
  probeMs: number;
  /** Maximum wait between two Ollama probes. @default 60000 */
  probeMaxMs: number;
  /** Lifetime of a job's lock in the queue, renewed every third of it. @default the queue's 60000 */
  lockDurationMs?: number;
  /** Size at which the log file is rotated, in bytes. @default 1048576 (1 MiB) */
  logMaxBytes: number;
  /** Rotated log files kept besides the current one (daemon.log.1, .2, ...). @default 2 */
  logFilesKept: number;
}

export const DEFAULT_DAEMON_SETTINGS: Readonly<DaemonSettings> = Object.freeze({
  concurrency: 1,
  idleMs: 10 * 60_000,
  graceMs: 30_000,
  heartbeatMs: 10_000,
  pollMs: 1000,
  probeMs: 1000,
  probeMaxMs: 60_000,
  logMaxBytes: 1024 * 1024,
  logFilesKept: 2,
});

/** The environment variable that sets each setting. */
export const DAEMON_ENV_VARIABLES: Readonly<Record<keyof DaemonSettings, string>> = Object.freeze({
  concurrency: 'STEPPER_DAEMON_CONCURRENCY',
  idleMs: 'STEPPER_DAEMON_IDLE_MS',
  graceMs: 'STEPPER_DAEMON_GRACE_MS',
  heartbeatMs: 'STEPPER_DAEMON_HEARTBEAT_MS',
  pollMs: 'STEPPER_DAEMON_POLL_MS',
  probeMs: 'STEPPER_DAEMON_PROBE_MS',
  probeMaxMs: 'STEPPER_DAEMON_PROBE_MAX_MS',
  lockDurationMs: 'STEPPER_DAEMON_LOCK_MS',
  logMaxBytes: 'STEPPER_DAEMON_LOG_MAX_BYTES',
  logFilesKept: 'STEPPER_DAEMON_LOG_FILES',
});

const MINIMUMS: Readonly<Record<keyof DaemonSettings, number>> = Object.freeze({
  concurrency: 1,
  idleMs: 1,
  graceMs: 0,
  heartbeatMs: 10,
  pollMs: 1,
  probeMs: 1,
  probeMaxMs: 1,
  lockDurationMs: 100,
  logMaxBytes: 1024,
  logFilesKept: 0,
});

/**
 * Resolves the daemon's settings: an explicit option wins over its environment variable,
 * which wins over the default. Raises InvalidOptionError, naming the variable, for a value
 * that is not a whole number in range.
 */
export function resolveDaemonSettings(options: Partial<DaemonSettings> = {}, env: NodeJS.ProcessEnv = process.env): DaemonSettings {
  const settings: Partial<DaemonSettings> = {};

  for (const key of Object.keys(DAEMON_ENV_VARIABLES) as Array<keyof DaemonSettings>) {
    const explicit = options[key];
    if (explicit !== undefined) {
      settings[key] = checkPositiveInteger(key, explicit, MINIMUMS[key]);
      continue;
    }

    const variable = DAEMON_ENV_VARIABLES[key];
    const raw = env[variable];
    if (raw !== undefined && raw.trim() !== '') {
      settings[key] = parseSetting(variable, raw, MINIMUMS[key]);
      continue;
    }

    const fallback = (DEFAULT_DAEMON_SETTINGS as Partial<DaemonSettings>)[key];
    if (fallback !== undefined) {
      settings[key] = fallback;
    }
  }

  const resolved = settings as DaemonSettings;
  if (resolved.probeMaxMs < resolved.probeMs) {
    throw new InvalidOptionError('probeMaxMs', `at least probeMs (${resolved.probeMs})`, resolved.probeMaxMs);
  }

  return resolved;
}

function parseSetting(variable: string, raw: string, minimum: number): number {
  const value = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < minimum) {
    throw new InvalidOptionError(variable, `a whole number >= ${minimum}`, raw);
  }

  return value;
}
