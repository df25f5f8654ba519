import path from 'node:path';

import { InvalidOptionError, StepperError } from '../../errors.js';
import { CRASH_LOG_FILE, DAEMON_SETTING_RANGES, DEFAULT_DAEMON_SETTINGS, resolveDaemonSettings } from '../../daemon/config.js';
import { runDaemon } from '../../daemon/daemon.js';
import { type DaemonStatus, ensureDaemon, readDaemonStatus, stopDaemon, waitForDaemon } from '../../daemon/start.js';
import { checkDataDirUsable } from '../../store/data-dir.js';

/** How long `stepper daemon start` waits for the new daemon to report `running`, in milliseconds. */
const START_TIMEOUT_MS = 15_000;

/** Extra time `stop` waits beyond the daemon's grace period, for recovery writes and exit, in milliseconds. */
const STOP_MARGIN_MS = 15_000;

/** Starts the daemon in the background unless one runs, and prints its pid once it runs. */
export async function runDaemonStart(options: { json?: boolean }): Promise<void> {
  const before = readDaemonStatus();
  const wasRunning = before.running && before.row?.state === 'running';
  if (!wasRunning) {
    ensureDaemon();
  }

  const status = await waitForDaemon({ timeoutMs: START_TIMEOUT_MS });
  if (!status.running) {
    throw new StepperError(
      'DAEMON_FAILED',
      `the daemon did not start within ${START_TIMEOUT_MS / 1000} s: see ${status.logFile} and ${path.join(status.dataDir, CRASH_LOG_FILE)}`,
    );
  }

  if (options.json) {
    printJson({ started: !wasRunning, ...statusJson(status) });
    return;
  }

  process.stdout.write(`daemon ${wasRunning ? 'already running' : 'started'} (pid ${status.row?.pid ?? 'unknown'})\n`);
}

/** Stops the daemon with SIGTERM and waits until it has exited. */
export async function runDaemonStop(options: { timeout?: number; json?: boolean }): Promise<void> {
  // The wait is counted from before the SIGTERM, so 0 s would report a failure for every stop.
  if (options.timeout !== undefined && (!Number.isSafeInteger(options.timeout) || options.timeout < 1)) {
    throw new InvalidOptionError('--timeout', 'a whole number of seconds >= 1', options.timeout);
  }

  // The running daemon may have inherited a longer grace period than this shell sets, and its
  // row does not record it, so the wait covers at least the default one.
  // NOTE: a daemon started with a grace period longer than both still outlasts the wait.
  const graceMs = Math.max(resolveDaemonSettings().graceMs, DEFAULT_DAEMON_SETTINGS.graceMs);
  const timeoutMs = options.timeout === undefined ? graceMs + STOP_MARGIN_MS : options.timeout * 1000;
  const result = await stopDaemon({ timeoutMs });

  if (options.json) {
    printJson(result);
  } else if (!result.wasRunning) {
    process.stdout.write('daemon not running\n');
  } else if (result.stopped) {
    process.stdout.write(`daemon stopped (pid ${result.pid ?? 'unknown'})\n`);
  }

  if (result.wasRunning && !result.stopped) {
    throw new StepperError(
      'DAEMON_FAILED',
      `the daemon (pid ${result.pid ?? 'unknown'}) did not exit within ${Math.round(timeoutMs / 1000)} s: ` +
        'its jobs may still be finishing; run "stepper daemon status" to check, or pass a longer --timeout',
    );
  }
}

/** Prints pid, uptime, version, concurrency, jobs done, the current job and Ollama's state. */
export function runDaemonStatus(options: { json?: boolean }): void {
  const status = readDaemonStatus();
  // No daemon can run in a data directory that is a file, so "stopped" would hide the cause.
  if (!status.running) {
    checkDataDirUsable(status.dataDir);
  }

  if (options.json) {
    printJson(statusJson(status));
    return;
  }

  process.stdout.write(formatStatus(status));
}

/** Runs the daemon in the foreground until it is idle or signalled; logs go to stderr. */
export async function runDaemonForeground(options: { concurrency?: number; idleTimeout?: number; detached?: boolean }): Promise<void> {
  // The flags get the settings' ranges here, so their errors name the flag and the value as typed.
  const concurrency = DAEMON_SETTING_RANGES.concurrency;
  checkFlagRange('--concurrency', options.concurrency, concurrency.minimum, concurrency.maximum, 'a whole number');

  // --idle-timeout is in seconds, so its range is idleMs's range in whole seconds.
  const idle = DAEMON_SETTING_RANGES.idleMs;
  checkFlagRange('--idle-timeout', options.idleTimeout, Math.ceil(idle.minimum / 1000), Math.floor(idle.maximum / 1000), 'a whole number of seconds');

  const exit = await runDaemon({
    detached: options.detached ?? false,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.idleTimeout === undefined ? {} : { idleMs: options.idleTimeout * 1000 }),
  });

  if (exit.reason === 'already-running' && !options.detached) {
    const status = readDaemonStatus();
    throw new StepperError(
      'DAEMON_FAILED',
      `another daemon${status.row ? ` (pid ${status.row.pid})` : ''} is running for ${status.dataDir}: stop it with "stepper daemon stop" first`,
    );
  }

  if (exit.code !== 0) {
    throw new StepperError('DAEMON_FAILED', `the daemon stopped after an error (${exit.reason}); the log lines above name it`);
  }
}

/** Raises InvalidOptionError for a flag's value outside minimum..maximum, both ends included. */
function checkFlagRange(flag: string, value: number | undefined, minimum: number, maximum: number, noun: string): void {
  if (value === undefined || (value >= minimum && value <= maximum)) {
    return;
  }

  const error = new InvalidOptionError(flag, `${noun} from ${minimum} to ${maximum}`, value);
  // The parser accepts only digits, so the number is the value as typed (less leading zeros),
  // and the type that InvalidOptionError adds for library callers would only add noise.
  error.message = `invalid ${flag}: expected ${noun} from ${minimum} to ${maximum}, received ${value}`;
  throw error;
}

/**
 * Returns true for a daemon that was spawned and has not taken the lock yet, or that holds
 * the lock but has not written its row, which still shows the previous daemon or none.
 */
function isStarting(status: DaemonStatus): boolean {
  if (!status.running) {
    return status.startingPid !== undefined;
  }

  return !status.row || (status.startingPid !== undefined && status.row.state === 'stopped');
}

function statusJson(status: DaemonStatus): Record<string, unknown> {
  if (isStarting(status)) {
    return startingJson(status);
  }

  const row = status.row;
  const live = status.running && row !== undefined;
  return {
    running: status.running,
    starting: false,
    dataDir: status.dataDir,
    pid: live ? row.pid : null,
    state: row?.state ?? null,
    version: row?.version ?? null,
    startedAt: row ? new Date(row.startedAt).toISOString() : null,
    uptimeMs: live ? Math.max(0, Date.now() - row.startedAt) : null,
    heartbeatAt: row ? new Date(row.heartbeatAt).toISOString() : null,
    concurrency: row?.concurrency ?? null,
    jobsDone: row?.jobsDone ?? null,
    currentJobId: live ? row.currentJobId : null,
    ollama: row ? { host: row.ollamaHost, state: row.ollamaState, detail: row.ollamaDetail } : null,
    logFile: status.logFile,
  };
}

/**
 * Describes a daemon that was spawned and has not taken the lock or written its row yet. The
 * row still belongs to the previous daemon, so none of its fields are shown.
 */
function startingJson(status: DaemonStatus): Record<string, unknown> {
  return {
    running: status.running,
    starting: true,
    dataDir: status.dataDir,
    pid: status.startingPid ?? null,
    state: 'starting',
    version: null,
    startedAt: null,
    uptimeMs: null,
    heartbeatAt: null,
    concurrency: null,
    jobsDone: null,
    currentJobId: null,
    ollama: null,
    logFile: status.logFile,
  };
}

function formatStatus(status: DaemonStatus): string {
  const row = status.row;
  const lines: string[] = [];

  if (isStarting(status)) {
    const step = status.running ? 'lock taken' : 'waiting for the lock';
    lines.push(`daemon: starting (pid ${status.startingPid ?? 'unknown'}, ${step}; data directory ${status.dataDir})`);
    lines.push(`log: ${status.logFile}`);
    return `${lines.join('\n')}\n`;
  }

  if (!status.running || !row) {
    lines.push(`daemon: not running (data directory ${status.dataDir})`);
    if (row) {
      lines.push(`last daemon: pid ${row.pid}, version ${row.version}, ${row.state}, last heartbeat ${new Date(row.heartbeatAt).toISOString()}`);
    }
    lines.push(`log: ${status.logFile}`);
    return `${lines.join('\n')}\n`;
  }

  lines.push(`daemon: ${row.state} (pid ${row.pid}, version ${row.version}, up ${formatDuration(Date.now() - row.startedAt)})`);
  lines.push(`data directory: ${status.dataDir}`);
  lines.push(`concurrency: ${row.concurrency}`);
  lines.push(`jobs done: ${row.jobsDone}`);
  lines.push(`current job: ${row.currentJobId ?? 'none'}`);
  lines.push(`ollama: ${describeOllama(row.ollamaState, row.ollamaHost, row.ollamaDetail)}`);
  lines.push(`log: ${status.logFile}`);
  return `${lines.join('\n')}\n`;
}

function describeOllama(state: string | null, host: string | null, detail: string | null): string {
  const where = host ?? 'unknown host';
  if (state === 'unreachable') {
    return detail ?? `waiting for Ollama at ${where}`;
  }

  const base = state === 'ok' ? `reachable at ${where}` : `not contacted yet (${where})`;
  return detail ? `${base}; ${detail}` : base;
}

function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  if (hours > 0) {
    return `${hours}h ${minutes}m`;
  }

  return minutes > 0 ? `${minutes}m ${rest}s` : `${rest}s`;
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
