import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { buildDiary } from '../../src/api/diary.js';
import type { Diary, DiaryPeriod } from '../../src/diary/types.js';
import { InvalidOptionError } from '../../src/errors.js';
import { NotARepositoryError } from '../../src/git/errors.js';
import { openQueue } from '../../src/queue/queue.js';
import { captureError } from '../helpers/errors.js';
import { ALICE, BOB, type RepoBuilder } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';
import { commitAt, gitAt, newDiaryRepo, newQueue, storeFailure, storePending, storeReport } from './helpers.js';

interface Scene {
  builder: RepoBuilder;
  gitDir: string;
  dataDir: string;
  shas: Record<string, string>;
}

/**
 * Builds commits around the start of daylight saving time in Europe/Berlin, where 02:00
 * became 03:00 on 29 March 2026. The author dates are recorded in +09:00, -05:00, UTC and
 * +02:00. Some commits get a report, a failed job, a waiting job or a cancelled job.
 */
function buildScene(): Scene {
  const builder = newDiaryRepo('app');
  const shas: Record<string, string> = {};

  builder.write('src/login.ts', 'export const login = 1;\nexport const form = 2;\n');
  // 01:00 UTC, so Friday 27 March in Berlin.
  shas.login = commitAt(builder, 'feat(auth): add the login form\n', '2026-03-27T10:00:00+09:00', { author: ALICE });
  builder.write('src/login.ts', 'export const login = 1;\nexport const form = 3;\n');
  // 23:30 UTC on the 28th: 00:30 on Sunday 29 March in Berlin, but still the 28th in UTC and in New York.
  shas.emptyName = commitAt(builder, 'fix: handle an empty name\n', '2026-03-28T18:30:00-05:00', { author: BOB });
  builder.write('docs/login.md', '# Login\n');
  // 23:30 summer time on Sunday 29 March in Berlin.
  shas.docs = commitAt(builder, 'docs: describe the login\n', '2026-03-29T21:30:00Z', { author: ALICE });
  builder.write('README.md', 'Read me\n');
  // 00:30 on Monday 30 March in Berlin: a day cut after 24 hours would put it on the 29th.
  shas.readme = commitAt(builder, 'Write a README\n', '2026-03-29T22:30:00Z');
  builder.write('notes.txt', 'one\n');
  // 00:30 on Wednesday 1 April in Berlin, 31 March in UTC.
  shas.notes = commitAt(builder, 'chore: add notes\n', '2026-03-31T22:30:00Z');

  gitAt(builder, ['checkout', '-q', '-b', 'topic'], '2026-04-02T09:00:00+02:00');
  builder.write('src/topic.ts', 'a\nb\nc\n');
  shas.topic = commitAt(builder, 'feat: add the topic module\n', '2026-04-02T10:00:00+02:00');
  gitAt(builder, ['checkout', '-q', 'main'], '2026-04-02T11:00:00+02:00');
  builder.write('notes.txt', 'one\ntwo\n');
  shas.moreNotes = commitAt(builder, 'chore: add more notes\n', '2026-04-02T11:30:00+02:00');
  gitAt(builder, ['merge', '-q', '--no-ff', '--no-edit', 'topic'], '2026-04-02T12:00:00+02:00');
  shas.merge = gitAt(builder, ['rev-parse', 'HEAD'], '2026-04-02T12:00:00+02:00').trim();

  const gitDir = fs.realpathSync(path.join(builder.dir, '.git'));
  const { queue, dataDir } = newQueue();
  try {
    storeReport(queue, gitDir, shas.login, { title: 'Add a login form', summary: 'Users can now sign in with a form.', tags: ['auth'] });
    storeReport(queue, gitDir, shas.topic, { title: 'First topic title', summary: 'Replaced below.' });
    storeReport(queue, gitDir, shas.topic, { title: 'Add the topic module', summary: 'The topic module lists topics.' });
    storeFailure(queue, gitDir, shas.emptyName);
    const cancelled = storePending(queue, gitDir, shas.notes);
    queue.cancel(cancelled);
    storePending(queue, gitDir, shas.docs);
  } finally {
    queue.close();
  }

  return { builder, gitDir, dataDir, shas };
}

function periodByKey(diary: Diary, key: string): DiaryPeriod {
  const period = diary.periods.find((candidate) => candidate.key === key);
  if (!period) {
    throw new Error(`no period ${key} in ${diary.periods.map((candidate) => candidate.key).join(', ')}`);
  }
  return period;
}

function shasOf(period: DiaryPeriod): string[] {
  return period.commits.map((commit) => commit.sha);
}

describe('buildDiary', () => {
  it('cuts days in Berlin across the spring change', async () => {
    const { builder, dataDir, shas } = buildScene();

    const diary = await buildDiary({ cwd: builder.dir, dataDir, timeZone: 'Europe/Berlin' });

    expect(diary.periods.map((period) => period.key)).toEqual([
      '2026-03-27',
      '2026-03-28',
      '2026-03-29',
      '2026-03-30',
      '2026-03-31',
      '2026-04-01',
      '2026-04-02',
    ]);
    expect(shasOf(periodByKey(diary, '2026-03-27'))).toEqual([shas.login]);
    expect(shasOf(periodByKey(diary, '2026-03-28'))).toEqual([]);
    expect(shasOf(periodByKey(diary, '2026-03-29'))).toEqual([shas.emptyName, shas.docs]);
    expect(shasOf(periodByKey(diary, '2026-03-30'))).toEqual([shas.readme]);
    expect(shasOf(periodByKey(diary, '2026-03-31'))).toEqual([]);
    expect(shasOf(periodByKey(diary, '2026-04-01'))).toEqual([shas.notes]);
    expect(shasOf(periodByKey(diary, '2026-04-02'))).toEqual([shas.topic, shas.moreNotes, shas.merge]);
  });

  it('gives the change day 23 hours', async () => {
    const { builder, dataDir } = buildScene();

    const diary = await buildDiary({ cwd: builder.dir, dataDir, timeZone: 'Europe/Berlin' });

    const day = periodByKey(diary, '2026-03-29');
    expect(day.label).toBe('Sunday 29 March 2026');
    expect(day.start).toBe('2026-03-29T00:00:00+01:00');
    expect(day.end).toBe('2026-03-30T00:00:00+02:00');
    expect(Date.parse(day.end) - Date.parse(day.start)).toBe(23 * 3_600_000);
    expect(periodByKey(diary, '2026-03-28').start).toBe('2026-03-28T00:00:00+01:00');
  });

  it('cuts days in UTC and New York', async () => {
    const { builder, dataDir, shas } = buildScene();

    const utc = await buildDiary({ cwd: builder.dir, dataDir, timeZone: 'UTC' });
    const newYork = await buildDiary({ cwd: builder.dir, dataDir, timeZone: 'America/New_York' });

    expect(shasOf(periodByKey(utc, '2026-03-28'))).toEqual([shas.emptyName]);
    expect(shasOf(periodByKey(utc, '2026-03-29'))).toEqual([shas.docs, shas.readme]);
    expect(shasOf(periodByKey(utc, '2026-03-31'))).toEqual([shas.notes]);
    expect(periodByKey(utc, '2026-03-29').start).toBe('2026-03-29T00:00:00+00:00');
    expect(shasOf(periodByKey(newYork, '2026-03-26'))).toEqual([shas.login]);
    expect(shasOf(periodByKey(newYork, '2026-03-28'))).toEqual([shas.emptyName]);
    expect(periodByKey(newYork, '2026-03-28').start).toBe('2026-03-28T00:00:00-04:00');
  });

  it('keeps the recorded offset of each commit', async () => {
    const { builder, dataDir, shas } = buildScene();

    const diary = await buildDiary({ cwd: builder.dir, dataDir, timeZone: 'Europe/Berlin' });

    const commits = diary.periods.flatMap((period) => period.commits);
    const login = commits.find((commit) => commit.sha === shas.login);
    const emptyName = commits.find((commit) => commit.sha === shas.emptyName);
    expect(login?.authoredAt).toBe('2026-03-27T10:00:00+09:00');
    expect(login?.authoredAtMs).toBe(Date.parse('2026-03-27T01:00:00Z'));
    expect(emptyName?.authoredAt).toBe('2026-03-28T18:30:00-05:00');
  });

  it('groups ISO weeks from Monday', async () => {
    const { builder, dataDir, shas } = buildScene();

    const diary = await buildDiary({ cwd: builder.dir, dataDir, timeZone: 'Europe/Berlin', by: 'week' });

    expect(diary.periods.map((period) => period.key)).toEqual(['2026-W13', '2026-W14']);
    const [first, second] = diary.periods as [DiaryPeriod, DiaryPeriod];
    expect(first.label).toBe('Week 13, 23–29 March 2026');
    expect(second.label).toBe('Week 14, 30 March – 5 April 2026');
    expect(first.start).toBe('2026-03-23T00:00:00+01:00');
    expect(first.end).toBe('2026-03-30T00:00:00+02:00');
    expect(shasOf(first)).toEqual([shas.login, shas.emptyName, shas.docs]);
    expect(shasOf(second)).toEqual([shas.readme, shas.notes, shas.topic, shas.moreNotes, shas.merge]);
  });

  it('groups months at the zone border', async () => {
    const { builder, dataDir, shas } = buildScene();

    const berlin = await buildDiary({ cwd: builder.dir, dataDir, timeZone: 'Europe/Berlin', by: 'month' });
    const utc = await buildDiary({ cwd: builder.dir, dataDir, timeZone: 'UTC', by: 'month' });

    expect(berlin.periods.map((period) => [period.key, period.label])).toEqual([
      ['2026-03', 'March 2026'],
      ['2026-04', 'April 2026'],
    ]);
    expect(shasOf(periodByKey(berlin, '2026-04'))).toEqual([shas.notes, shas.topic, shas.moreNotes, shas.merge]);
    expect(shasOf(periodByKey(utc, '2026-03'))).toContain(shas.notes);
    expect(periodByKey(berlin, '2026-04').start).toBe('2026-04-01T00:00:00+02:00');
  });

  it('joins reports and job states', async () => {
    const { builder, dataDir, shas } = buildScene();

    const diary = await buildDiary({ cwd: builder.dir, dataDir, timeZone: 'Europe/Berlin' });

    const commits = new Map(diary.periods.flatMap((period) => period.commits).map((commit) => [commit.sha, commit]));
    expect(commits.get(shas.login as string)?.reportState).toBe('reported');
    expect(commits.get(shas.login as string)?.report).toMatchObject({ title: 'Add a login form', summary: 'Users can now sign in with a form.', tags: ['auth'], model: 'qwen2.5-coder:7b' });
    expect(commits.get(shas.login as string)?.report?.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(commits.get(shas.topic as string)?.report?.title).toBe('Add the topic module');
    expect(commits.get(shas.emptyName as string)?.reportState).toBe('failed');
    expect(commits.get(shas.emptyName as string)?.report).toBeNull();
    expect(commits.get(shas.docs as string)?.reportState).toBe('pending');
    expect(commits.get(shas.notes as string)?.reportState).toBe('none');
    expect(commits.get(shas.readme as string)?.reportState).toBe('none');
  });

  it('counts types, reports and lines', async () => {
    const { builder, dataDir, shas } = buildScene();

    const diary = await buildDiary({ cwd: builder.dir, dataDir, timeZone: 'Europe/Berlin' });

    const april = periodByKey(diary, '2026-04-02');
    expect(april.types).toEqual({ feat: 1, chore: 1, other: 1 });
    expect(april.reported).toBe(1);
    // The topic adds 3 lines, the notes 1, and the merge brings the topic's 3 into main.
    expect(april.additions).toBe(7);
    expect(april.deletions).toBe(0);
    expect(diary.totals).toEqual({ commits: 8, reported: 2, additions: 13, deletions: 1, types: { feat: 2, fix: 1, docs: 1, other: 2, chore: 2 } });
    const merge = april.commits.find((commit) => commit.sha === shas.merge);
    expect(merge?.merge).toBe(true);
    expect(merge?.files).toBe(1);
    expect(periodByKey(diary, '2026-03-28')).toMatchObject({ commits: [], types: {}, reported: 0, additions: 0, deletions: 0 });
  });

  it('filters by author pattern', async () => {
    const { builder, dataDir, shas } = buildScene();

    const diary = await buildDiary({ cwd: builder.dir, dataDir, timeZone: 'Europe/Berlin', author: 'alice@' });

    expect(diary.author).toBe('alice@');
    expect(diary.periods.flatMap(shasOf)).toEqual([shas.login, shas.docs]);
    expect(diary.periods.map((period) => period.key)).toEqual(['2026-03-27', '2026-03-28', '2026-03-29']);
  });

  it('reads the author pattern as extended syntax', async () => {
    const { builder, dataDir, shas } = buildScene();

    const diary = await buildDiary({ cwd: builder.dir, dataDir, timeZone: 'Europe/Berlin', author: 'nobody|alice@' });

    expect(diary.periods.flatMap(shasOf)).toEqual([shas.login, shas.docs]);
  });

  it('filters by author date window', async () => {
    const { builder, dataDir, shas } = buildScene();

    const diary = await buildDiary({
      cwd: builder.dir,
      dataDir,
      timeZone: 'Europe/Berlin',
      since: '2026-03-29 00:00',
      until: '2026-03-31 23:59:59',
    });

    expect(diary.since).toBe('2026-03-29T00:00:00+01:00');
    expect(diary.until).toBe('2026-03-31T23:59:59+02:00');
    expect(diary.periods.map((period) => period.key)).toEqual(['2026-03-29', '2026-03-30', '2026-03-31']);
    expect(diary.periods.flatMap(shasOf)).toEqual([shas.emptyName, shas.docs, shas.readme]);
  });

  it('shows an empty window as no periods', async () => {
    const { builder, dataDir } = buildScene();

    const diary = await buildDiary({ cwd: builder.dir, dataDir, timeZone: 'UTC', author: 'nobody' });

    expect(diary.periods).toEqual([]);
    expect(diary.totals.commits).toBe(0);
  });

  it('reads a missing database as no reports', async () => {
    const { builder } = buildScene();
    const dataDir = makeTempDir('stepper-diary-empty-');

    const diary = await buildDiary({ cwd: builder.dir, dataDir, timeZone: 'UTC' });

    expect(diary.totals.commits).toBe(8);
    expect(diary.totals.reported).toBe(0);
    expect(fs.readdirSync(dataDir)).toEqual([]);
  });

  it('reads every known repository and skips missing ones', async () => {
    const { gitDir, dataDir } = buildScene();
    const other = newDiaryRepo('other');
    other.write('a.txt', 'a\n');
    const otherSha = commitAt(other, 'feat: start the other\n', '2026-03-28T12:00:00Z');
    const otherGitDir = fs.realpathSync(path.join(other.dir, '.git'));
    const gone = path.join(makeTempDir('stepper-diary-gone-'), 'gone', '.git');
    const queue = openQueue({ dataDir });
    try {
      storeReport(queue, otherGitDir, otherSha, { title: 'Start the other project', summary: 'It begins.' });
      storePending(queue, gone, 'a'.repeat(40));
    } finally {
      queue.close();
    }

    const diary = await buildDiary({ cwd: makeTempDir('stepper-diary-outside-'), dataDir, timeZone: 'Europe/Berlin', allRepos: true });

    expect(diary.repositories.sort()).toEqual([gitDir, otherGitDir].sort());
    expect(diary.skipped).toEqual([{ repository: gone, reason: 'the folder does not exist' }]);
    const saturday = periodByKey(diary, '2026-03-28');
    expect(saturday.commits.map((commit) => [commit.repositoryName, commit.report?.title])).toEqual([['other', 'Start the other project']]);
    expect(diary.totals.commits).toBe(9);
  });

  it('skips a repository whose git folder became a file', async () => {
    const { gitDir, dataDir } = buildScene();
    const other = newDiaryRepo('absorbed');
    other.write('a.txt', 'a\n');
    const otherSha = commitAt(other, 'feat: start\n', '2026-03-28T12:00:00Z');
    const otherGitDir = fs.realpathSync(path.join(other.dir, '.git'));
    const queue = openQueue({ dataDir });
    try {
      storePending(queue, otherGitDir, otherSha);
    } finally {
      queue.close();
    }
    fs.rmSync(otherGitDir, { recursive: true });
    fs.writeFileSync(otherGitDir, 'gitdir: /nowhere\n');

    const diary = await buildDiary({ cwd: makeTempDir('stepper-diary-outside-'), dataDir, timeZone: 'Europe/Berlin', allRepos: true });

    expect(diary.repositories).toEqual([gitDir]);
    expect(diary.skipped).toHaveLength(1);
    expect(diary.skipped[0]?.repository).toBe(otherGitDir);
    expect(diary.skipped[0]?.reason).not.toBe('');
  });

  it('rejects bad options by name', async () => {
    const { builder, dataDir } = buildScene();
    const base = { cwd: builder.dir, dataDir };

    const cases: Array<[Parameters<typeof buildDiary>[0], RegExp]> = [
      [{ ...base, by: 'year' as never }, /^invalid --by: expected day, week, month, received "year"/],
      [{ ...base, timeZone: 'Mars/Olympus' }, /^invalid --time-zone: .*received "Mars\/Olympus"/],
      [{ ...base, timeZone: 'UTC', since: 'the day before' }, /^invalid --since: expected a date git reads.*received "the day before"/],
      [{ ...base, timeZone: 'UTC', until: '' }, /^invalid --until: /],
      [{ ...base, timeZone: 'UTC', author: '[' }, /^invalid --author: expected a regular expression git accepts.*received "\["/],
    ];
    for (const [options, message] of cases) {
      const error = await captureError(buildDiary(options));
      expect(error, JSON.stringify(options)).toBeInstanceOf(InvalidOptionError);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('rejects a folder outside a repository', async () => {
    const error = await captureError(buildDiary({ cwd: makeTempDir('stepper-diary-outside-'), dataDir: makeTempDir('stepper-diary-data-'), timeZone: 'UTC' }));

    expect(error).toBeInstanceOf(NotARepositoryError);
  });

  it('lists nothing for a repository without commits', async () => {
    const builder = newDiaryRepo('empty');

    const diary = await buildDiary({ cwd: builder.dir, dataDir: makeTempDir('stepper-diary-data-'), timeZone: 'UTC' });

    expect(diary.periods).toEqual([]);
    expect(diary.repositories).toEqual([fs.realpathSync(path.join(builder.dir, '.git'))]);
  });
});

