import type { Diary, DiaryCommit, DiaryPeriod } from '../../src/diary/types.js';

/** Subject with markup, quotes, an ampersand, right-to-left text, a bidi override and emoji. */
export const HOSTILE_SUBJECT = `feat(ui): <script>alert("x")</script> & 'quotes' \u05e9\u05dc\u05d5\u05dd \u202Egnp.exe \u{1F680}\u{1F9EA} <img src=x onerror=alert(1)>`;
/** Report text a model could return, with markup, an external URL and a control character. */
export const HOSTILE_SUMMARY = 'Adds <b>bold</b> claims & "quotes".\nSee <a href="https://example.com/x">this</a>; url(https://example.com/y) @import "http://z"\u001b[31m';

const REPOSITORY = '/home/dev/projects/stepper/.git';
const OTHER_REPOSITORY = '/home/dev/projects/side-project/.git';
let sequence = 0;

/** Builds one diary commit. Fields not given get plain values and a unique commit id. */
export function makeCommit(fields: Partial<DiaryCommit> & { authoredAt: string }): DiaryCommit {
  sequence += 1;
  const subject = fields.subject ?? `chore: change number ${sequence}`;
  const type = fields.type !== undefined ? fields.type : (/^(\w+)(\(.*?\))?!?:/.exec(subject)?.[1] ?? null);
  return {
    sha: sequence.toString(16).padStart(8, '0').repeat(5),
    repository: REPOSITORY,
    repositoryName: 'stepper',
    authorName: 'Ada Lovelace',
    authorEmail: 'ada@example.com',
    authoredAtMs: Date.parse(fields.authoredAt),
    subject,
    additions: 10,
    deletions: 2,
    files: 1,
    reportState: 'reported',
    report: {
      title: `Report title ${sequence}`,
      summary: `Summary of change ${sequence}.`,
      tags: ['cli'],
      model: 'qwen2.5-coder:7b',
      createdAt: '2026-03-30T10:00:00.000Z',
    },
    ...fields,
    type,
  };
}

/** Builds a period and derives its counts from its commits, as the diary builder does. */
export function makePeriod(key: string, label: string, start: string, end: string, commits: DiaryCommit[]): DiaryPeriod {
  const types: Record<string, number> = {};
  for (const commit of commits) {
    const type = commit.type ?? 'other';
    types[type] = (types[type] ?? 0) + 1;
  }

  return {
    key,
    label,
    start,
    end,
    commits,
    types,
    reported: commits.filter((commit) => commit.reportState === 'reported').length,
    additions: commits.reduce((sum, commit) => sum + commit.additions, 0),
    deletions: commits.reduce((sum, commit) => sum + commit.deletions, 0),
  };
}

/** Builds a diary around the periods and derives its totals. */
export function makeDiary(periods: DiaryPeriod[], fields: Partial<Diary> = {}): Diary {
  const types: Record<string, number> = {};
  for (const period of periods) {
    for (const [type, count] of Object.entries(period.types)) {
      types[type] = (types[type] ?? 0) + count;
    }
  }

  const repositories = [...new Set(periods.flatMap((period) => period.commits.map((commit) => commit.repository)))];
  return {
    grouping: 'week',
    timeZone: 'Europe/Berlin',
    since: periods[0]?.start ?? null,
    until: periods[periods.length - 1]?.end ?? null,
    author: null,
    repositories: repositories.length > 0 ? repositories : [REPOSITORY],
    skipped: [],
    periods,
    totals: {
      commits: periods.reduce((sum, period) => sum + period.commits.length, 0),
      reported: periods.reduce((sum, period) => sum + period.reported, 0),
      additions: periods.reduce((sum, period) => sum + period.additions, 0),
      deletions: periods.reduce((sum, period) => sum + period.deletions, 0),
      types,
    },
    ...fields,
  };
}

/**
 * Four ISO weeks in Europe/Berlin across the start of summer time: a busy week, an empty one,
 * one with unreported commits and hostile strings in two repositories, and a small one.
 */
export function sampleDiary(): Diary {
  const busy = [
    makeCommit({ authoredAt: '2026-03-23T09:12:00+01:00', subject: 'feat(queue): add delayed jobs with backoff', additions: 420, deletions: 35, files: 6 }),
    makeCommit({ authoredAt: '2026-03-23T15:40:00+01:00', subject: 'test(queue): cover backoff jitter', additions: 160, deletions: 4, files: 2 }),
    makeCommit({ authoredAt: '2026-03-24T11:02:00+01:00', subject: 'fix(daemon): keep the heartbeat after a failed claim', additions: 22, deletions: 18, files: 1 }),
    makeCommit({ authoredAt: '2026-03-25T17:30:00+01:00', subject: 'docs: explain the hook spool', additions: 64, deletions: 10, files: 1 }),
    makeCommit({ authoredAt: '2026-03-26T10:00:00+01:00', subject: 'refactor(cli): split the render helpers', additions: 210, deletions: 190, files: 5 }),
    makeCommit({ authoredAt: '2026-03-27T13:45:00+01:00', subject: 'feat(cli): stepper watch view', additions: 300, deletions: 12, files: 4 }),
    makeCommit({ authoredAt: '2026-03-28T20:15:00+01:00', subject: 'Merge branch release', type: null, additions: 0, deletions: 0, files: 0 }),
  ];
  const hostile = [
    makeCommit({
      authoredAt: '2026-04-06T08:30:00+02:00',
      subject: HOSTILE_SUBJECT,
      authorName: 'Mallory "<b>" O\'Brien & Co',
      authorEmail: 'mallory@example.com',
      additions: 5,
      deletions: 1,
      report: { title: 'Title with </title><script>x()</script>', summary: HOSTILE_SUMMARY, tags: ['<tag>', 'sécurité', '\u{1F41B}'], model: 'qwen2.5-coder:7b', createdAt: '2026-04-06T09:00:00.000Z' },
    }),
    makeCommit({ authoredAt: '2026-04-07T12:00:00+02:00', subject: 'perf(store): batch the inserts', reportState: 'pending', report: null, additions: 40, deletions: 30, files: 2 }),
    makeCommit({ authoredAt: '2026-04-08T16:20:00+02:00', subject: 'build: pin typescript', reportState: 'failed', report: null, additions: 3, deletions: 3 }),
    makeCommit({
      authoredAt: '2026-04-09T18:05:00+02:00',
      subject: 'wip on the side project',
      type: null,
      reportState: 'none',
      report: null,
      repository: OTHER_REPOSITORY,
      repositoryName: 'side-project',
      additions: 90,
      deletions: 0,
      files: 3,
    }),
  ];
  const small = [makeCommit({ authoredAt: '2026-04-14T10:00:00+02:00', subject: 'ci: run the browser test', additions: 12, deletions: 1 })];

  return makeDiary(
    [
      makePeriod('2026-W13', 'Week 13, 23\u201329 March 2026', '2026-03-23T00:00:00+01:00', '2026-03-30T00:00:00+02:00', busy),
      makePeriod('2026-W14', 'Week 14, 30 March\u20135 April 2026', '2026-03-30T00:00:00+02:00', '2026-04-06T00:00:00+02:00', []),
      makePeriod('2026-W15', 'Week 15, 6\u201312 April 2026', '2026-04-06T00:00:00+02:00', '2026-04-13T00:00:00+02:00', hostile),
      makePeriod('2026-W16', 'Week 16, 13\u201319 April 2026', '2026-04-13T00:00:00+02:00', '2026-04-20T00:00:00+02:00', small),
    ],
    { author: null },
  );
}

const TYPES = ['feat', 'fix', 'docs', 'test', 'refactor', 'chore', 'perf', 'ci', 'build', 'style', 'deps', 'security', 'i18n', 'wip'];

/** Builds a year of days with `count` commits spread over them, in every report state. */
export function largeDiary(count: number): Diary {
  const days = 365;
  const periods: DiaryPeriod[] = [];
  const first = Date.UTC(2025, 0, 1);
  for (let day = 0; day < days; day += 1) {
    const start = new Date(first + day * 86_400_000).toISOString();
    const end = new Date(first + (day + 1) * 86_400_000).toISOString();
    const commits: DiaryCommit[] = [];
    for (let index = day; index < count; index += days) {
      const type = TYPES[index % TYPES.length] as string;
      const state = (['reported', 'reported', 'reported', 'pending', 'failed', 'none'] as const)[index % 6];
      commits.push(
        makeCommit({
          authoredAt: new Date(first + day * 86_400_000 + (index % 86_400) * 1000).toISOString(),
          subject: `${type}: change ${index} <with markup> & more`,
          additions: (index * 37) % 500,
          deletions: (index * 11) % 200,
          reportState: state,
          ...(state === 'reported' ? {} : { report: null }),
        }),
      );
    }
    periods.push(makePeriod(start.slice(0, 10), `Day ${day + 1}`, start, end, commits));
  }

  return makeDiary(periods, { grouping: 'day', timeZone: 'UTC' });
}

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/**
 * Builds a diary by day in UTC from `firstDay` (`2026-03-27`) over `days` days, with one
 * commit on each day whose index is in `commitDays` and no commits on the others. Labels read
 * as the diary builder writes them, such as `Tuesday 31 March 2026`.
 */
export function dayDiary(firstDay: string, days: number, commitDays: readonly number[], fields: Partial<Diary> = {}): Diary {
  const first = Date.parse(`${firstDay}T00:00:00Z`);
  const periods: DiaryPeriod[] = [];
  for (let day = 0; day < days; day += 1) {
    const date = new Date(first + day * 86_400_000);
    const start = date.toISOString().replace('.000Z', '+00:00');
    const end = new Date(first + (day + 1) * 86_400_000).toISOString().replace('.000Z', '+00:00');
    const label = `${DAY_NAMES[date.getUTCDay()]} ${date.getUTCDate()} ${MONTH_NAMES[date.getUTCMonth()]} ${date.getUTCFullYear()}`;
    const commits = commitDays.includes(day) ? [makeCommit({ authoredAt: new Date(first + day * 86_400_000 + 36_000_000).toISOString(), subject: `feat: change on day ${day}` })] : [];
    periods.push(makePeriod(start.slice(0, 10), label, start, end, commits));
  }

  return makeDiary(periods, { grouping: 'day', timeZone: 'UTC', ...fields });
}
