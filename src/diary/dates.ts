import { execFile } from 'node:child_process';

import { InvalidOptionError } from '../errors.js';
import { GitNotFoundError } from '../git/errors.js';
import { gitEnvironment } from '../git/environment.js';

/** Output of `git config --type=expiry-date` for `now` and `all`, which `--since` reads as the current time. */
const EXPIRY_DATE_FOREVER = '18446744073709551615';

const DATE_EXAMPLES = 'a date git reads, such as "2026-03-01", "2026-03-01 00:00", "2 weeks ago" or "yesterday"';

/**
 * Reads `value` as `git log --since` reads a date and returns epoch seconds. git reads it in
 * `timeZone`, so "2026-03-01 09:00" is 9 o'clock there. A date without a time of day gets the
 * current time of day, as in git. Raises InvalidOptionError naming `option` for a value git
 * cannot read.
 *
 * `git rev-parse --since` reads dates with the same parser but accepts anything, turning
 * unreadable text into the current time. `git config --type=expiry-date` rejects such text, so
 * it is asked instead, and its four special words are mapped back to what `--since` makes of them.
 */
export async function parseGitDate(option: string, value: string, timeZone: string): Promise<number> {
  if (value.trim() === '') {
    throw new InvalidOptionError(option, DATE_EXAMPLES, value);
  }

  const key = 'stepper.diarydate';
  let output: string;
  try {
    output = await runGitDateParser(['-c', `${key}=${value}`, 'config', '--type=expiry-date', '--get', key], timeZone);
  } catch (error) {
    if (error instanceof GitDateError && /is not a valid timestamp/.test(error.stderr)) {
      throw new InvalidOptionError(option, DATE_EXAMPLES, value);
    }
    throw error;
  }

  const printed = output.trim();
  // `--since` reads "now", "all" and "false" as the current time and "never" as the epoch.
  if (printed === EXPIRY_DATE_FOREVER || (printed === '0' && value === 'false')) {
    return Math.floor(Date.now() / 1000);
  }

  const seconds = Number(printed);
  if (!Number.isSafeInteger(seconds)) {
    throw new InvalidOptionError(option, DATE_EXAMPLES, value);
  }
  return seconds;
}

class GitDateError extends Error {
  readonly stderr: string;

  constructor(stderr: string) {
    super(stderr.trim());
    this.stderr = stderr;
  }
}

/**
 * Runs git with TZ set to the diary's zone, which runGit cannot do because it passes the
 * process's own environment. Arguments go in an array and no shell runs.
 * NOTE: git reads TZ through the C library's zone files, and a system without the zone's
 * file (no tzdata package) reads the date in UTC, while the periods use Node's own ICU data.
 */
function runGitDateParser(args: string[], timeZone: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { env: { ...gitEnvironment(), TZ: timeZone }, shell: false, windowsHide: true }, (error, stdout, stderr) => {
      if (error === null) {
        resolve(stdout);
        return;
      }

      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new GitNotFoundError({ cause: error }));
        return;
      }
      reject(new GitDateError(stderr));
    });
  });
}

/**
 * Checks an IANA time zone name and returns its canonical spelling (`europe/berlin` becomes
 * `Europe/Berlin`). Without a name it returns the zone of the TZ variable, or the system's,
 * or UTC when Node reads neither.
 */
export function resolveTimeZone(name: string | undefined): string {
  if (name === undefined) {
    // ICU reads TZ itself, and reports no zone for a TZ value it cannot read.
    return (new Intl.DateTimeFormat('en-US').resolvedOptions().timeZone as string | undefined) ?? 'UTC';
  }

  try {
    if (name.trim() === '') {
      throw new RangeError('empty time zone');
    }
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch (error) {
    if (error instanceof RangeError) {
      throw new InvalidOptionError('--time-zone', 'an IANA time zone name such as "Europe/Berlin", "America/New_York" or "UTC"', name);
    }
    throw error;
  }
}
