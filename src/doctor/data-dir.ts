import fs from 'node:fs';
import path from 'node:path';

import { shellQuote } from '../hook/block.js';
import { HINTS_DIR } from '../hook/log.js';
import { SPOOL_DIR } from '../store/data-dir.js';
import { detectNetworkFilesystem } from '../store/filesystem.js';
import { combine, messageOf } from './outcome.js';
import type { Check, CheckOutcome, DoctorContext } from './types.js';

/**
 * Free space below which the free-space check fails, in bytes. Below it a burst of reports,
 * or one checkpoint of the write-ahead log, can end in SQLITE_FULL.
 */
export const FREE_SPACE_FAIL_BYTES = 16 * 1024 * 1024;

/**
 * Free space below which the free-space check warns, in bytes. A report takes a few
 * kilobytes, but the write-ahead log may keep up to 64 MiB after a checkpoint
 * (journal_size_limit) and the logs up to a few MiB, so 256 MiB leaves room for both twice.
 */
export const FREE_SPACE_WARN_BYTES = 256 * 1024 * 1024;

/** Folders of the data directory that hold jobs and hints, which stepper creates with mode 0700. */
const PRIVATE_FOLDERS = ['', SPOOL_DIR, HINTS_DIR];

/**
 * Files of the data directory that stepper creates with mode 0600: the database with its -wal
 * and -shm files, the daemon lock, and the daemon and hook logs with their rotated copies.
 */
const PRIVATE_FILE = /^(stepper\.db(-wal|-shm)?|daemon\.lock|daemon\.log(\.\d+)?|daemon\.crash\.log|hook\.log(\.\d+)?)$/;

export const dataDirCheck: Check = {
  id: 'data-dir',
  title: 'data directory',
  run: checkDataDir,
};

export const freeSpaceCheck: Check = {
  id: 'free-space',
  title: 'free space',
  run: checkFreeSpace,
};

function checkDataDir(context: DoctorContext): CheckOutcome {
  const { dataDir } = context;
  if (dataDir.error) {
    return { status: 'fail', detail: messageOf(dataDir.error), fix: 'set STEPPER_HOME to an absolute path, or unset it to use ~/.local/state/stepper' };
  }

  const dir = dataDir.path;
  const stat = statOrUndefined(dir);
  if (stat === undefined) {
    return checkMissingDir(dir);
  }

  if (!stat.isDirectory()) {
    return { status: 'fail', detail: `${dir} is not a directory`, fix: 'move that file aside, or set STEPPER_HOME to another folder' };
  }

  if (!isWritableDir(dir)) {
    return {
      status: 'fail',
      detail: `${dir} is not writable by this user`,
      fix: `run chmod u+rwx ${shellQuote(dir)}, or set STEPPER_HOME to a writable folder`,
    };
  }

  const problems = [...modeProblems(dir)];
  const network = detectNetworkFilesystem(dir);
  if (network) {
    problems.push({
      status: 'warn',
      detail: `${dir} is on a ${network} filesystem, where SQLite's WAL locking is unreliable`,
      fix: 'set STEPPER_HOME to a folder on a local disk',
    });
  }

  return combine(problems, { status: 'pass', detail: `${dir} (mode 0700, files 0600)` });
}

/** Checks a data directory that does not exist yet, which is fine when stepper can create it. */
function checkMissingDir(dir: string): CheckOutcome {
  const parent = nearestExisting(dir);
  if (!statOrUndefined(parent)?.isDirectory()) {
    return { status: 'fail', detail: `cannot create ${dir}: ${parent} is not a directory`, fix: 'move that file aside, or set STEPPER_HOME to another folder' };
  }

  if (!isWritableDir(parent)) {
    return {
      status: 'fail',
      detail: `cannot create ${dir}: ${parent} is not writable by this user`,
      fix: `create ${dir} yourself, or set STEPPER_HOME to a writable folder`,
    };
  }

  return { status: 'pass', detail: `${dir} does not exist yet; the first report creates it with mode 0700` };
}

/** Lists the folders that are not 0700 and the files that group or others can read or write. */
function modeProblems(dir: string): CheckOutcome[] {
  const folders = PRIVATE_FOLDERS.map((folder) => path.join(dir, folder)).filter((folder) => {
    const stat = statOrUndefined(folder);
    return stat !== undefined && stat.isDirectory() && (stat.mode & 0o777) !== 0o700;
  });

  const files = fs
    .readdirSync(dir)
    .filter((name) => PRIVATE_FILE.test(name))
    .sort()
    .map((name) => path.join(dir, name))
    .filter((file) => {
      const stat = statOrUndefined(file);
      return stat !== undefined && stat.isFile() && (stat.mode & 0o077) !== 0;
    });

  const problems: CheckOutcome[] = [];
  if (folders.length > 0) {
    problems.push({
      status: 'warn',
      detail: `${describeModes(folders)} should be 0700, because the jobs name your repositories`,
      fix: `run chmod 700 ${folders.map(shellQuote).join(' ')}`,
    });
  }

  if (files.length > 0) {
    problems.push({
      status: 'warn',
      detail: `${describeModes(files)} can be read or written by other users, but stepper creates its files with mode 0600`,
      fix: `run chmod 600 ${files.map(shellQuote).join(' ')}`,
    });
  }

  return problems;
}

function describeModes(paths: readonly string[]): string {
  return paths.map((item) => `${item} (mode ${modeOf(item)})`).join(', ');
}

function modeOf(item: string): string {
  return `0${((statOrUndefined(item)?.mode ?? 0) & 0o777).toString(8).padStart(3, '0')}`;
}

function checkFreeSpace(context: DoctorContext): CheckOutcome {
  const { dataDir } = context;
  if (dataDir.error) {
    return { status: 'skip', detail: 'the data directory is invalid, see the data directory check' };
  }

  // A data directory that does not exist yet will be created on the filesystem of its nearest existing parent.
  const measured = nearestExisting(dataDir.path);
  const stats = fs.statfsSync(measured);
  const free = stats.bavail * stats.bsize;
  const detail = `${formatBytes(free)} free on the filesystem of ${measured}`;

  if (free < FREE_SPACE_FAIL_BYTES) {
    return { status: 'fail', detail: `only ${detail}`, fix: `free disk space (stepper needs at least ${formatBytes(FREE_SPACE_FAIL_BYTES)}), or set STEPPER_HOME to another filesystem` };
  }

  if (free < FREE_SPACE_WARN_BYTES) {
    return { status: 'warn', detail: `only ${detail}`, fix: `free disk space to at least ${formatBytes(FREE_SPACE_WARN_BYTES)}, or set STEPPER_HOME to another filesystem` };
  }

  return { status: 'pass', detail };
}

/** Formats bytes in binary units, as `512 KiB`, `37.2 MiB` or `118.4 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }

  return unit === 0 ? `${value} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * Returns why the checks that read files inside the data directory cannot run, or undefined
 * when they can: STEPPER_HOME is invalid, or the directory or its nearest existing parent is
 * not a directory. The data directory check reports the problem itself.
 */
export function unusableDataDir(context: DoctorContext): string | undefined {
  if (context.dataDir.error) {
    return 'the data directory is invalid, see the data directory check';
  }

  const existing = nearestExisting(context.dataDir.path);
  if (!statOrUndefined(existing)?.isDirectory()) {
    return `${existing} is not a directory, see the data directory check`;
  }

  return undefined;
}

/** Returns `dir` or its nearest parent that exists. */
function nearestExisting(dir: string): string {
  let current = dir;
  while (!fs.existsSync(current)) {
    const parent = path.dirname(current);
    if (parent === current) {
      break;
    }

    current = parent;
  }

  return current;
}

function statOrUndefined(item: string): fs.Stats | undefined {
  try {
    return fs.statSync(item);
  } catch {
    return undefined;
  }
}

function isWritableDir(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
