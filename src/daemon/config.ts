import { InvalidOptionError } from '../errors.js';
import { MAX_TIMER_MS } from '../ollama/timeouts.js';
import { DEFAULT_LOCK_DURATION_MS, MIN_LOCK_DURATION_MS } from '../queue/options.js';

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

/**
 * Upper limit of concurrency. Every active job keeps one request open to the local Ollama
 * server, which generates for only a few requests per model at once (OLLAMA_NUM_PARALLEL) and
 * queues the rest. Jobs beyond that wait in Ollama's queue while their time limits run, so 64
 * leaves room for a large server and still catches a typo such as 99999.
 */
const MAX_CONCURRENCY = 64;

/** Upper limit of rotated log files, because each rotation renames every kept file once. */
const MAX_LOG_FILES_KEPT = 100;

/** Accepted range of a setting, both ends included. */
interface SettingRange {
  minimum: number;
  maximum: number;
  /** Unit named in messages, such as "milliseconds". Undefined for a count. */
  unit?: string;
}

const RANGES: Readonly<Record<keyof DaemonSettings, SettingRange>> = Object.freeze({
  concurrency: { minimum: 1, maximum: MAX_CONCURRENCY },
  idleMs: { minimum: 1, maximum: MAX_TIMER_MS, unit: 'milliseconds' },
  graceMs: { minimum: 0, maximum: MAX_TIMER_MS, unit: 'milliseconds' },
  heartbeatMs: { minimum: 10, maximum: MAX_TIMER_MS, unit: 'milliseconds' },
  pollMs: { minimum: 1, maximum: MAX_TIMER_MS, unit: 'milliseconds' },
  probeMs: { minimum: 1, maximum: MAX_TIMER_MS, unit: 'milliseconds' },
  probeMaxMs: { minimum: 1, maximum: MAX_TIMER_MS, unit: 'milliseconds' },
  lockDurationMs: { minimum: MIN_LOCK_DURATION_MS, maximum: MAX_TIMER_MS, unit: 'milliseconds' },
  logMaxBytes: { minimum: 1024, maximum: Number.MAX_SAFE_INTEGER, unit: 'bytes' },
  logFilesKept: { minimum: 0, maximum: MAX_LOG_FILES_KEPT },
});

/**
 * Raised for a STEPPER_DAEMON_* variable that is not a whole number in its setting's range. The
 * message names the variable, the value and the range, and ends with the fix.
 */
class InvalidDaemonSettingError extends InvalidOptionError {
  constructor(variable: string, expected: string, raw: string, fallback: string) {
    super(variable, expected, raw);
    this.message = `${this.message}; unset it to use ${fallback}, or change it to a value in that range`;
    // The stack was captured with InvalidOptionError's message, which lacks the fix.
    Error.captureStackTrace(this, InvalidDaemonSettingError);
  }
}

/**
 * Resolves the daemon's settings: an explicit option wins over its environment variable,
 * which wins over the default. Raises InvalidOptionError, naming the option or variable, for a
 * value that is not a whole number in its setting's range.
 */
export function resolveDaemonSettings(options: Partial<DaemonSettings> = {}, env: NodeJS.ProcessEnv = process.env): DaemonSettings {
  const settings: Partial<DaemonSettings> = {};

  for (const key of Object.keys(DAEMON_ENV_VARIABLES) as Array<keyof DaemonSettings>) {
    const explicit = options[key];
    if (explicit !== undefined) {
      settings[key] = checkOption(key, explicit);
      continue;
    }

    // An empty value counts as unset, as a shell's `VARIABLE= command` means.
    const raw = env[DAEMON_ENV_VARIABLES[key]];
    if (raw !== undefined && raw !== '') {
      settings[key] = parseVariable(key, raw);
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

function describeRange(range: SettingRange, noun: string): string {
  const unit = range.unit === undefined ? '' : ` of ${range.unit}`;
  return `${noun}${unit} from ${range.minimum} to ${range.maximum}`;
}

function checkOption(key: keyof DaemonSettings, value: number): number {
  const range = RANGES[key];
  if (!Number.isSafeInteger(value) || value < range.minimum || value > range.maximum) {
    throw new InvalidOptionError(key, describeRange(range, 'an integer'), value);
  }

  return value;
}

function parseVariable(key: keyof DaemonSettings, raw: string): number {
  const range = RANGES[key];

  // Plain digits only: Number() would accept " 2", "+2", "2.0" and "1e3", and this rejects them.
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < range.minimum || value > range.maximum) {
    // The queue, not DEFAULT_DAEMON_SETTINGS, sets the lock's default lifetime.
    const fallback = key === 'lockDurationMs' ? DEFAULT_LOCK_DURATION_MS : DEFAULT_DAEMON_SETTINGS[key];
    throw new InvalidDaemonSettingError(DAEMON_ENV_VARIABLES[key], describeRange(range, 'a whole number'), raw, `the default ${fallback}`);
  }

  return value;
}
