import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { parseLog } from '../../src/diary/commits.js';
import { parseGitDate, resolveTimeZone } from '../../src/diary/dates.js';
import { periodOf, periodsBetween, ZoneCalendar } from '../../src/diary/periods.js';
import { InvalidOptionError } from '../../src/errors.js';
import { captureError } from '../helpers/errors.js';
import { builderEnvironment, DEFAULT_IDENTITY } from '../helpers/repo-builder.js';
import { newDiaryRepo } from './helpers.js';

describe('ZoneCalendar', () => {
  it('gives the autumn change day 25 hours', () => {
    const calendar = new ZoneCalendar('America/New_York');

    const start = calendar.startOf({ year: 2026, month: 11, day: 1 });
    const end = calendar.startOf({ year: 2026, month: 11, day: 2 });

    expect(calendar.isoString(start)).toBe('2026-11-01T00:00:00-04:00');
    expect(calendar.isoString(end)).toBe('2026-11-02T00:00:00-05:00');
    expect(end - start).toBe(25 * 3_600_000);
  });

  it('starts a day after a gap at midnight', () => {
    // Chile moves its clocks from 24:00 to 01:00 on 6 September 2026, so that day has no midnight.
    const calendar = new ZoneCalendar('America/Santiago');

    const start = calendar.startOf({ year: 2026, month: 9, day: 6 });

    expect(calendar.isoString(start)).toBe('2026-09-06T01:00:00-03:00');
    expect(calendar.dateOf(start - 1000)).toEqual({ year: 2026, month: 9, day: 5 });
  });

  it('prints fractional offsets', () => {
    const calendar = new ZoneCalendar('Asia/Kolkata');

    expect(calendar.isoString(Date.parse('2026-01-01T00:00:00Z'))).toBe('2026-01-01T05:30:00+05:30');
  });
});

describe('periodOf', () => {
  it('numbers ISO weeks across a year end', () => {
    expect(periodOf({ year: 2025, month: 12, day: 29 }, 'week')).toMatchObject({ key: '2026-W01', label: 'Week 1, 29 December 2025 – 4 January 2026' });
    expect(periodOf({ year: 2027, month: 1, day: 3 }, 'week').key).toBe('2026-W53');
    expect(periodOf({ year: 2026, month: 3, day: 29 }, 'week')).toMatchObject({ key: '2026-W13', first: { year: 2026, month: 3, day: 23 } });
  });

  it('lists empty periods between two dates', () => {
    const periods = periodsBetween({ year: 2026, month: 1, day: 30 }, { year: 2026, month: 3, day: 2 }, 'month');

    expect(periods.map((period) => period.key)).toEqual(['2026-01', '2026-02', '2026-03']);
    expect(periods[1]?.next).toEqual({ year: 2026, month: 3, day: 1 });
  });
});

describe('parseGitDate', () => {
  it('reads dates as git rev-parse --since does', async () => {
    const builder = newDiaryRepo('dates');
    const env: NodeJS.ProcessEnv = { ...builderEnvironment('2026-01-01T00:00:00Z', DEFAULT_IDENTITY, DEFAULT_IDENTITY), TZ: 'Europe/Berlin' };
    delete env.GIT_AUTHOR_DATE;
    delete env.GIT_COMMITTER_DATE;

    for (const value of ['2026-03-29 00:00', '2026-03-29 12:00 +0900', '@1700000000', 'never', '2026-07-01T08:00:00']) {
      const printed = execFileSync('git', ['rev-parse', `--since=${value}`], { cwd: builder.dir, env, encoding: 'utf8' });
      const seconds = await parseGitDate('--since', value, 'Europe/Berlin');
      expect(`--max-age=${seconds}\n`, value).toBe(printed);
    }
  });

  it('reads now as the current time', async () => {
    const before = Math.floor(Date.now() / 1000);

    const seconds = await parseGitDate('--until', 'now', 'UTC');

    expect(seconds).toBeGreaterThanOrEqual(before);
    expect(seconds).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
  });

  it('reads the date in the given zone', async () => {
    expect(await parseGitDate('--since', '2026-03-29 00:00', 'Europe/Berlin')).toBe(Date.parse('2026-03-28T23:00:00Z') / 1000);
    expect(await parseGitDate('--since', '2026-03-29 00:00', 'America/New_York')).toBe(Date.parse('2026-03-29T04:00:00Z') / 1000);
  });

  it('rejects text git cannot read', async () => {
    for (const value of ['the day before', '', 'garbage']) {
      const error = await captureError(parseGitDate('--since', value, 'UTC'));
      expect(error, value).toBeInstanceOf(InvalidOptionError);
      expect((error as Error).message).toContain(`received ${JSON.stringify(value)}`);
    }
  });
});

describe('resolveTimeZone', () => {
  it('canonicalizes and rejects zones', () => {
    expect(resolveTimeZone('europe/berlin')).toBe('Europe/Berlin');
    expect(resolveTimeZone('UTC')).toBe('UTC');
    expect(() => resolveTimeZone('Mars/Olympus')).toThrow(/^invalid --time-zone: .*"Mars\/Olympus"/);
    expect(() => resolveTimeZone(' ')).toThrow(InvalidOptionError);
  });
});

describe('parseLog', () => {
  it('reads renames, binary files and commits without files', () => {
    const a = 'a'.repeat(40);
    const b = 'b'.repeat(40);
    const c = 'c'.repeat(40);
    const output = [
      a, `${b} ${c}`, 'Ann', 'ann@example.com', '1700000000', '2023-11-14T22:13:20+00:00', 'Merge branch x', '\n2\t1\t', 'old\tname', 'new name', '-\t-\timage.png',
      b, '', 'Bob', 'bob@example.com', '1600000000', '2020-09-13T12:26:40+00:00', 'feat: empty',
      '',
    ].join('\0');

    const commits = parseLog(output);

    expect(commits.map((commit) => [commit.sha, commit.merge, commit.files, commit.additions, commit.deletions, commit.type])).toEqual([
      [a, true, 2, 2, 1, null],
      [b, false, 0, 0, 0, 'feat'],
    ]);
  });
});
