import fs from 'node:fs';
import path from 'node:path';

import { CRASH_LOG_FILE, resolveDaemonSettings } from '../daemon/config.js';
import { isProcessAlive } from '../daemon/lock.js';
import { readDaemonStatus } from '../daemon/start.js';
import { resolveOllamaHost } from '../ollama/host.js';
import { VERSION } from '../version.js';
import { unusableDataDir } from './data-dir.js';
import type { Check, CheckOutcome, DoctorContext } from './types.js';

/**
 * Heartbeats a running daemon may miss before the check warns. The daemon writes one every
 * heartbeat interval (STEPPER_DAEMON_HEARTBEAT_MS, 10 s by default), but a job that blocks the
 * event loop, such as a large git diff, delays it.
 */
const MISSED_HEARTBEATS = 6;

export const daemonCheck: Check = {
  id: 'daemon',
  title: 'daemon',
  run: checkDaemon,
};

function checkDaemon(context: DoctorContext): CheckOutcome {
  const unusable = unusableDataDir(context);
  if (unusable !== undefined || context.dataDir.error) {
    return { status: 'skip', detail: unusable ?? 'the data directory is invalid, see the data directory check' };
  }

  const status = readDaemonStatus({ dataDir: context.dataDir.path });
  const row = status.row;

  if (!status.running) {
    if (row && row.state !== 'stopped' && isProcessAlive(row.pid)) {
      // The row's process lives but does not hold this folder's lock, so it is no daemon of
      // this data directory: the database was copied from another one, or the pid was reused.
      return {
        status: 'warn',
        detail: `not running; the daemon row names pid ${row.pid} (stepper ${row.version}, ${row.state}), which is alive but does not hold the lock of ${status.dataDir}, so the database was probably copied from another data directory`,
        fix: 'nothing to do here: the next report or commit starts a daemon for this data directory, which replaces the row',
      };
    }

    // A daemon that exits cleanly writes `stopped` last; any other state is a daemon that died.
    if (row && row.state !== 'stopped') {
      const logs = [status.logFile, path.join(status.dataDir, CRASH_LOG_FILE)].filter((file) => fs.existsSync(file));
      const read = logs.length === 0 ? '' : `read the end of ${logs.join(' and ')}; `;
      return {
        status: 'warn',
        detail: `not running; the last daemon (pid ${row.pid}, stepper ${row.version}) ended without a clean exit while ${row.state}, last heartbeat ${new Date(row.heartbeatAt).toISOString()}`,
        fix: `${read}the next report starts a new daemon, and jobs it left active are recovered`,
      };
    }

    return { status: 'pass', detail: 'not running; the next report or commit starts it' };
  }

  if (!row) {
    return { status: 'pass', detail: 'starting (it holds the lock but has not written its state yet)' };
  }

  const running = `${row.state} (pid ${row.pid}, stepper ${row.version})`;
  if (row.version !== VERSION) {
    return {
      status: 'warn',
      detail: `${running}, but this is stepper ${VERSION}`,
      fix: 'run stepper daemon stop, then stepper daemon start, so the daemon runs this version',
    };
  }

  const otherHost = otherOllamaHost(row.ollamaHost, context.env);
  if (otherHost !== undefined) {
    return {
      status: 'warn',
      detail: `${running}, using Ollama at ${row.ollamaHost}, not at ${otherHost} as OLLAMA_HOST here says`,
      fix: 'run stepper daemon stop, then stepper daemon start in this shell; after a change of OLLAMA_HOST, also run stepper hook install again in each repository, because the hook records it for commits made without it',
    };
  }

  const heartbeatMs = resolveDaemonSettings({}, context.env).heartbeatMs;
  const silentMs = Date.now() - row.heartbeatAt;
  if (row.state === 'running' && silentMs > MISSED_HEARTBEATS * heartbeatMs) {
    return {
      status: 'warn',
      detail: `${running}, but its last heartbeat was ${Math.round(silentMs / 1000)} s ago`,
      fix: `read the end of ${status.logFile}; if it stays silent, run stepper daemon stop, then stepper daemon start`,
    };
  }

  return { status: 'pass', detail: running };
}

/** Returns this environment's Ollama URL when it differs from the daemon's, else undefined. An invalid OLLAMA_HOST is the Ollama check's to report. */
function otherOllamaHost(daemonHost: string | null, env: NodeJS.ProcessEnv): string | undefined {
  if (daemonHost === null) {
    return undefined;
  }

  try {
    const callerHost = resolveOllamaHost(env).url;
    return callerHost === daemonHost ? undefined : callerHost;
  } catch {
    return undefined;
  }
}
