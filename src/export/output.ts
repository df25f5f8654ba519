import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { InvalidOptionError } from '../errors.js';

/**
 * Mode of an export file. Reports may quote code and describe unpublished work, and the data
 * directory they come from is 0700, so the export is readable by its owner only.
 */
export const EXPORT_FILE_MODE = 0o600;

/**
 * Checks that `target` can become an export file: its folder exists and it is not a folder
 * itself. It runs before any work, so a bad path fails at once.
 *
 * @throws InvalidOptionError naming `--output`
 */
export function checkOutputPath(target: string): string {
  const absolute = path.resolve(target);
  const expected = 'a file path in an existing folder';
  if (target.trim() === '') {
    throw new InvalidOptionError('--output', expected, target);
  }

  const folder = path.dirname(absolute);
  if (!fs.statSync(folder, { throwIfNoEntry: false })?.isDirectory()) {
    throw new InvalidOptionError('--output', `${expected}, but ${folder} is not a folder`, target);
  }
  if (fs.statSync(absolute, { throwIfNoEntry: false })?.isDirectory()) {
    throw new InvalidOptionError('--output', `${expected}, not a folder`, target);
  }
  return absolute;
}

/**
 * Writes `content` to `target` through a temporary file in the same folder that is synced and
 * then renamed over the target, so a reader sees the old file or the whole new one, never a
 * partial file. The file gets mode {@link EXPORT_FILE_MODE}.
 */
export function writeFileAtomic(target: string, content: string): void {
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(temporary, 'wx', EXPORT_FILE_MODE);
  try {
    try {
      fs.writeFileSync(fd, content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, target);
  } catch (error) {
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}
