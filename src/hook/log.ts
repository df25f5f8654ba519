import fs from 'node:fs';
import path from 'node:path';

import { SPOOL_DIR } from '../store/data-dir.js';

/** Folder of the hint files, inside the data directory. */
export const HINTS_DIR = path.join(SPOOL_DIR, 'hooks');
/** Marker file: while it exists and names a live process, hooks start no other kick. */
export const KICK_MARKER = 'kick.pending';
/**
 * File in the data directory containing `<pid> <descriptor>` of the daemon that watches the
 * hints folder, which holds the file open at that descriptor. A hook that finds
 * /proc/<pid>/fd/<descriptor> to be this file starts no kick.
 */
export const DAEMON_LIVE_FILE = 'daemon.live';
/** The hook log, inside the data directory. */
export const HOOK_LOG = 'hook.log';
/** Size at which hook.log is renamed to hook.log.1, in bytes. */
export const HOOK_LOG_MAX_BYTES = 256 * 1024;

export type HookLogLevel = 'info' | 'error';

/** One line of the hook log. `time` is undefined for lines the shell hook wrote, which has no clock without a process. */
export interface HookLogEntry {
  time: string | undefined;
  level: string;
  message: string;
}

/**
 * Appends one line to `<dataDir>/hook.log` (mode 0600), first renaming a file past
 * HOOK_LOG_MAX_BYTES to hook.log.1. A failure to log is ignored, because the log is the
 * last place a hook failure can go.
 */
export function appendHookLog(dataDir: string, level: HookLogLevel, message: string, now = new Date()): void {
  const file = path.join(dataDir, HOOK_LOG);
  const line = `${now.toISOString()} ${level} ${message.replace(/[\r\n]+/g, ' ')}\n`;

  try {
    rotateIfLarge(file);
    const fd = fs.openSync(file, 'a', 0o600);
    try {
      fs.writeSync(fd, line);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // NOTE: a read-only or missing data directory loses the line.
  }
}

function rotateIfLarge(file: string): void {
  try {
    if (fs.statSync(file).size >= HOOK_LOG_MAX_BYTES) {
      fs.renameSync(file, `${file}.1`);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw error;
    }
  }
}

/** Reads hook.log.1 and hook.log, oldest line first; missing files count as empty. */
export function readHookLog(dataDir: string): HookLogEntry[] {
  const entries: HookLogEntry[] = [];
  for (const name of [`${HOOK_LOG}.1`, HOOK_LOG]) {
    let text: string;
    try {
      text = fs.readFileSync(path.join(dataDir, name), 'utf8');
    } catch {
      continue;
    }

    for (const line of text.split('\n')) {
      const match = /^(\S+) (\S+) (.*)$/.exec(line);
      if (match) {
        entries.push({ time: match[1] === '-' ? undefined : match[1], level: match[2] as string, message: match[3] as string });
      }
    }
  }

  return entries;
}
