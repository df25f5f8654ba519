import { InvalidOptionError, InvalidSettingError } from '../errors.js';
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
export interface SettingRange {
  minimum: number;
  maximum: number;
  /** Unit named in messages, such as "milliseconds". Undefined for a count. */
  unit?: string;
}

/** Range of each setting, which `stepper daemon run` also applies to its options. */
export const DAEMON_SETTING_RANGES: Readonly<Record<keyof DaemonSettings, SettingRange>> = Object.freeze({
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

/** Where a resolved setting came from, which decides what an error names. */
type SettingSource = 'option' | 'variable' | 'default';

/**
 * Resolves the daemon's settings: an explicit option wins over its environment variable,
 * which wins over the default. Raises InvalidOptionError, naming the option or variable, for a
 * value that is not a whole number in its setting's range, or for probeMaxMs below probeMs.
 */
export function resolveDaemonSettings(options: Partial<DaemonSettings> = {}, env: NodeJS.ProcessEnv = process.env): DaemonSettings {
  const settings: Partial<DaemonSettings> = {};
  const sources: Partial<Record<keyof DaemonSettings, SettingSource>> = {};

  for (const key of Object.keys(DAEMON_ENV_VARIABLES) as Array<keyof DaemonSettings>) {
    const explicit = options[key];
    if (explicit !== undefined) {
      settings[key] = checkOption(key, explicit);
      sources[key] = 'option';
      continue;
    }

    // An empty value counts as unset, as a shell's `VARIABLE= command` means.
    const raw = env[DAEMON_ENV_VARIABLES[key]];
    if (raw !== undefined && raw !== '') {
      settings[key] = parseVariable(key, raw);
      sources[key] = 'variable';
      continue;
    }

    const fallback = (DEFAULT_DAEMON_SETTINGS as Partial<DaemonSettings>)[key];
    if (fallback !== undefined) {
      settings[key] = fallback;
      sources[key] = 'default';
    }
  }

  const resolved = settings as DaemonSettings;
  checkProbeOrder(resolved, sources as Record<'probeMs' | 'probeMaxMs', SettingSource>, env);
  return resolved;
}

/**
 * Raises InvalidOptionError when probeMaxMs is below probeMs. The error blames probeMaxMs
 * unless it is the default, which the user did not choose. The range names the other setting when an
 * option or variable set it, and the fixes include moving the other setting.
 */
function checkProbeOrder(settings: DaemonSettings, sources: Record<'probeMs' | 'probeMaxMs', SettingSource>, env: NodeJS.ProcessEnv): void {
  if (settings.probeMaxMs >= settings.probeMs) {
    return;
  }

  const blamed = sources.probeMaxMs === 'default' ? 'probeMs' : 'probeMaxMs';
  const other = blamed === 'probeMaxMs' ? 'probeMs' : 'probeMaxMs';
  const otherValue = settings[other];
  const otherName = sources[other] === 'option' ? other : DAEMON_ENV_VARIABLES[other];
  const bound = sources[other] === 'default' ? String(otherValue) : `${otherName} (${otherValue})`;
  const range = DAEMON_SETTING_RANGES[blamed];
  const span = blamed === 'probeMaxMs' ? `from ${bound} to ${range.maximum}` : `from ${range.minimum} to ${bound}`;

  if (sources[blamed] === 'option') {
    throw new InvalidOptionError(blamed, `an integer of milliseconds ${span}`, settings[blamed]);
  }

  // Unsetting the variable helps only when its default fits the other setting.
  const fallback = DEFAULT_DAEMON_SETTINGS[blamed];
  const fallbackFits = blamed === 'probeMaxMs' ? fallback >= otherValue : fallback <= otherValue;
  let verb = blamed === 'probeMaxMs' ? 'lower' : 'raise';
  if (sources[other] === 'default') {
    verb = 'set';
  }
  const otherFix = `${verb} ${otherName} to ${settings[blamed]} ${blamed === 'probeMaxMs' ? 'or less' : 'or more'}`;

  throw new InvalidSettingError(
    DAEMON_ENV_VARIABLES[blamed],
    `a whole number of milliseconds ${span}`,
    env[DAEMON_ENV_VARIABLES[blamed]] ?? String(settings[blamed]),
    fallbackFits ? fallback : undefined,
    otherFix,
  );
}

function describeRange(range: SettingRange, noun: string): string {
  const unit = range.unit === undefined ? '' : ` of ${range.unit}`;
  return `${noun}${unit} from ${range.minimum} to ${range.maximum}`;
}

function checkOption(key: keyof DaemonSettings, value: number): number {
  const range = DAEMON_SETTING_RANGES[key];
  if (!Number.isSafeInteger(value) || value < range.minimum || value > range.maximum) {
    throw new InvalidOptionError(key, describeRange(range, 'an integer'), value);
  }

  return value;
}

function parseVariable(key: keyof DaemonSettings, raw: string): number {
  const range = DAEMON_SETTING_RANGES[key];

  // Plain digits only: Number() would accept " 2", "+2", "2.0" and "1e3", and this rejects them.
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < range.minimum || value > range.maximum) {
    // The queue, not DEFAULT_DAEMON_SETTINGS, sets the lock's default lifetime.
    const fallback = key === 'lockDurationMs' ? DEFAULT_LOCK_DURATION_MS : DEFAULT_DAEMON_SETTINGS[key];
    throw new InvalidSettingError(DAEMON_ENV_VARIABLES[key], describeRange(range, 'a whole number'), raw, fallback);
  }

  return value;
}
