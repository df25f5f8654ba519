import { repositoryName } from '../../diary/commits.js';
import type { Diary, DiaryCommit, DiaryPeriod } from '../../diary/types.js';
import type { Paint } from './paint.js';
import { formatCount, oneLine, shortSha, wrap } from './text.js';

export interface DiaryTextOptions {
  paint: Paint;
  /** Columns summaries are wrapped at. */
  width: number;
}

/** Marks of a commit without a report, by its report state. */
export const UNREPORTED_MARKS: Record<Exclude<DiaryCommit['reportState'], 'reported'>, string> = {
  pending: 'report pending',
  failed: 'report failed',
  none: 'no report',
};

const UNIT_NAMES = { day: 'day', week: 'week', month: 'month' } as const;

/**
 * Renders the diary for a terminal: a header line, then per period a heading with its counts
 * and one line per commit. A commit line has the short id and the report's title, with the
 * summary below, or the subject and a mark when there is no report. Two or more empty
 * periods in a row are shown as one line.
 */
export function renderDiaryText(diary: Diary, options: DiaryTextOptions): string {
  const { paint } = options;
  const lines: string[] = [paint.bold(describeDiary(diary)), describeTotals(diary.totals, diary.totals.commits)];
  for (const skipped of diary.skipped) {
    lines.push(paint.yellow(`skipped ${oneLine(skipped.repository)}: ${oneLine(skipped.reason)}`));
  }

  if (diary.periods.length === 0) {
    lines.push('', 'No commits in this window.');
    return `${lines.join('\n')}\n`;
  }

  const showRepository = diary.repositories.length > 1;
  for (const run of groupEmptyRuns(diary.periods)) {
    lines.push('');
    if (run.length > 1) {
      const first = run[0] as DiaryPeriod;
      const last = run[run.length - 1] as DiaryPeriod;
      lines.push(paint.dim(`${first.label} to ${last.label}: no commits (${run.length} ${UNIT_NAMES[diary.grouping]}s)`));
      continue;
    }

    const period = run[0] as DiaryPeriod;
    if (period.commits.length === 0) {
      lines.push(paint.dim(`${period.label}: no commits`));
      continue;
    }

    lines.push(`${paint.bold(period.label)}  ${paint.gray(describeTotals(period, period.commits.length))}`);
    for (const commit of period.commits) {
      lines.push(...renderCommit(commit, showRepository, options));
    }
  }

  return `${lines.join('\n')}\n`;
}

/** Describes the window, zone and grouping: `Diary of app by week in Europe/Berlin, since ... until ...`. */
export function describeDiary(diary: Diary): string {
  const names = diary.repositories.map((repository) => repositoryName(repository));
  let scope = `${names.length} repositories`;
  if (names.length === 0) {
    scope = 'no repository';
  } else if (names.length === 1) {
    scope = names[0] as string;
  }

  const window = [diary.since === null ? '' : ` since ${diary.since}`, diary.until === null ? '' : ` until ${diary.until}`].join('');
  const author = diary.author === null ? '' : `, author matching ${JSON.stringify(diary.author)}`;
  return oneLine(`Diary of ${scope} by ${diary.grouping} in ${diary.timeZone}${window}${author}`);
}

/** Describes counts as `3 commits (feat 2, other 1), 2 reported, +40 -5`. */
export function describeTotals(counts: { reported: number; additions: number; deletions: number; types: Record<string, number> }, commits: number): string {
  const types = Object.entries(counts.types)
    .sort(([a, countA], [b, countB]) => countB - countA || a.localeCompare(b))
    .map(([type, count]) => `${type} ${formatCount(count)}`)
    .join(', ');
  const noun = commits === 1 ? 'commit' : 'commits';
  return `${formatCount(commits)} ${noun}${types === '' ? '' : ` (${types})`}, ${formatCount(counts.reported)} reported, +${formatCount(counts.additions)} -${formatCount(counts.deletions)}`;
}

/** Splits periods into runs: each period with commits alone, and consecutive empty periods together. */
export function groupEmptyRuns(periods: readonly DiaryPeriod[]): DiaryPeriod[][] {
  const runs: DiaryPeriod[][] = [];
  for (const period of periods) {
    const last = runs[runs.length - 1];
    if (period.commits.length === 0 && last !== undefined && last[0]?.commits.length === 0) {
      last.push(period);
    } else {
      runs.push([period]);
    }
  }
  return runs;
}

function renderCommit(commit: DiaryCommit, showRepository: boolean, options: DiaryTextOptions): string[] {
  const { paint } = options;
  const repository = showRepository ? `${paint.cyan(oneLine(commit.repositoryName))}  ` : '';
  const lines: string[] = [];

  if (commit.report === null) {
    const mark = UNREPORTED_MARKS[commit.reportState === 'reported' ? 'none' : commit.reportState];
    const color = commit.reportState === 'failed' ? paint.red : paint.yellow;
    lines.push(`  ${paint.yellow(shortSha(commit.sha))}  ${repository}${oneLine(commit.subject)}  ${color(`[${mark}]`)}`);
    return lines;
  }

  lines.push(`  ${paint.yellow(shortSha(commit.sha))}  ${repository}${oneLine(commit.report.title)}`);
  const summary = oneLine(commit.report.summary).trim();
  if (summary !== '') {
    lines.push(...wrap(summary, options.width, ' '.repeat(16)).map((line) => paint.dim(line)));
  }
  return lines;
}
