import { type CivilDate, compareDates, periodOf, periodsBetween, type ZoneCalendar } from './periods.js';
import type { Diary, DiaryCommit, DiaryGrouping, DiaryPeriod } from './types.js';

/** Key under which subjects without a conventional-commit type are counted. */
export const UNTYPED = 'other';

export interface GroupOptions {
  grouping: DiaryGrouping;
  calendar: ZoneCalendar;
  /** Window bounds in epoch milliseconds. The periods run from the one containing each bound when it is set. */
  sinceMs: number | null;
  untilMs: number | null;
  /** Instant the window ends at when `since` is set without `until`. */
  nowMs: number;
}

/**
 * Groups commits into periods of the calendar's zone, oldest first, and fills the periods
 * without commits in between. A commit belongs to the period containing its author date in
 * the zone. The periods run from `since` (or the oldest commit) to `until` (or, with `since`
 * alone, now; otherwise the newest commit).
 */
export function groupCommits(commits: readonly DiaryCommit[], options: GroupOptions): { periods: DiaryPeriod[]; totals: Diary['totals'] } {
  const { calendar, grouping } = options;
  const sorted = [...commits].sort((a, b) => a.authoredAtMs - b.authoredAtMs);
  const dates = sorted.map((commit) => calendar.dateOf(commit.authoredAtMs));

  const firstDate = options.sinceMs !== null ? calendar.dateOf(options.sinceMs) : dates[0];
  let lastDate = dates[dates.length - 1];
  if (options.untilMs !== null) {
    lastDate = calendar.dateOf(options.untilMs);
  } else if (options.sinceMs !== null) {
    lastDate = calendar.dateOf(options.nowMs);
  }

  const periods: DiaryPeriod[] = [];
  const byKey = new Map<string, DiaryPeriod>();
  if (firstDate !== undefined && lastDate !== undefined) {
    for (const span of periodsBetween(earlier(firstDate, dates[0]), later(lastDate, dates[dates.length - 1]), grouping)) {
      const period: DiaryPeriod = {
        key: span.key,
        label: span.label,
        start: calendar.isoString(calendar.startOf(span.first)),
        end: calendar.isoString(calendar.startOf(span.next)),
        commits: [],
        types: {},
        reported: 0,
        additions: 0,
        deletions: 0,
      };
      periods.push(period);
      byKey.set(period.key, period);
    }
  }

  const totals: Diary['totals'] = { commits: 0, reported: 0, additions: 0, deletions: 0, types: {} };
  sorted.forEach((commit, index) => {
    const period = byKey.get(periodOf(dates[index] as CivilDate, grouping).key);
    if (period === undefined) {
      throw new Error(`commit ${commit.sha} falls outside the diary's periods`);
    }

    period.commits.push(commit);
    const type = commit.type ?? UNTYPED;
    for (const counts of [period, totals]) {
      counts.types[type] = (counts.types[type] ?? 0) + 1;
      counts.reported += commit.reportState === 'reported' ? 1 : 0;
      counts.additions += commit.additions;
      counts.deletions += commit.deletions;
    }
    totals.commits += 1;
  });

  return { periods, totals };
}

/** Returns the earlier of two dates, so that a commit dated after now (its author's clock ran ahead) still gets its period. */
function earlier(a: CivilDate, b: CivilDate | undefined): CivilDate {
  return b !== undefined && compareDates(b, a) < 0 ? b : a;
}

function later(a: CivilDate, b: CivilDate | undefined): CivilDate {
  return b !== undefined && compareDates(b, a) > 0 ? b : a;
}
