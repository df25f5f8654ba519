// The process a git hook starts one second after a commit: `node kick.js DATA_DIR`. It
// turns the hint files the hook wrote into report jobs and starts the daemon. It loads no
// command-line modules, and nothing reads its output, so every failure goes to hook.log.
import fs from 'node:fs';
import path from 'node:path';

import { ensureDaemon } from '../daemon/start.js';
import { resolveDataDir } from '../store/data-dir.js';
import { ingestHookHints } from './hints.js';
import { HINTS_DIR, KICK_MARKER, appendHookLog } from './log.js';

/** Set to 1 to enqueue without starting the daemon, as tests that only check the queue do. */
export const NO_DAEMON_VARIABLE = 'STEPPER_NO_DAEMON';

async function kick(): Promise<void> {
  const dataDir = process.argv[2] || resolveDataDir();

  // Removed before the hints are read, so a commit made from here on starts a kick of its own.
  try {
    fs.rmSync(path.join(dataDir, HINTS_DIR, KICK_MARKER), { force: true });
  } catch (error) {
    appendHookLog(dataDir, 'error', `kick cannot remove ${KICK_MARKER}: ${(error as Error).message}`);
  }

  try {
    await ingestHookHints(dataDir);
  } catch (error) {
    appendHookLog(dataDir, 'error', `kick cannot read the hints in ${path.join(dataDir, HINTS_DIR)}: ${(error as Error).message}`);
  }

  if (process.env[NO_DAEMON_VARIABLE] === '1') {
    return;
  }

  try {
    ensureDaemon({ dataDir });
  } catch (error) {
    appendHookLog(dataDir, 'error', `kick cannot start the daemon for ${dataDir}: ${(error as Error).message}`);
  }
}

try {
  await kick();
} catch {
  // Only an invalid STEPPER_HOME gets here, when the hook passed no data directory, so
  // there is no log to write to. The hints wait for the next kick.
}
