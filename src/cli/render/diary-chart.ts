import type { Diary, DiaryGrouping, DiaryPeriod } from '../../diary/types.js';
import { escapeLine } from './html.js';
import { formatCount } from './text.js';

/** One coloured series of the chart: a conventional-commit type, or `other` for the rest. */
export interface ChartSeries {
  label: string;
  /** CSS class that sets the colour, so the page's light and dark schemes both apply. */
  cssClass: string;
}

/** Conventional-commit types with a fixed colour each, in stacking order from the baseline up. */
const KNOWN_TYPES = ['feat', 'fix', 'perf', 'refactor', 'docs', 'test', 'build', 'ci', 'style', 'chore', 'revert'];

/** Colours left for types outside KNOWN_TYPES. Further types join `other`, so the legend stays readable. */
const EXTRA_CLASSES = ['t-x1', 't-x2', 't-x3'];

/**
 * Coloured series of a diary and the series index of each type. Types come from git
 * subjects and can be any string, so they are escaped and never used as class names.
 */
export interface SeriesPlan {
  series: ChartSeries[];
  indexOf(type: string): number;
}

/** Plans the series: known types in a fixed order, then up to three others by count, then `other`. */
export function planSeries(diary: Diary): SeriesPlan {
  const present = Object.entries(diary.totals.types).filter(([, count]) => count > 0);
  const known = KNOWN_TYPES.filter((type) => present.some(([name]) => name === type));
  const unknown = present
    .filter(([name]) => name !== 'other' && !KNOWN_TYPES.includes(name))
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));

  const series: ChartSeries[] = known.map((type) => ({ label: type, cssClass: `t-${type}` }));
  const index = new Map<string, number>(known.map((type, position) => [type, position]));
  unknown.slice(0, EXTRA_CLASSES.length).forEach(([name], position) => {
    index.set(name, series.length);
    series.push({ label: name, cssClass: EXTRA_CLASSES[position] as string });
  });

  const folded = unknown.length > EXTRA_CLASSES.length;
  const otherIndex = series.length;
  if (folded || present.some(([name]) => name === 'other')) {
    series.push({ label: folded ? 'other types' : 'other', cssClass: 't-other' });
  }

  return { series, indexOf: (type) => index.get(type) ?? otherIndex };
}

const WIDTH = 960;
const LEFT = 64;
const RIGHT = 16;
const PLOT_WIDTH = WIDTH - LEFT - RIGHT;
const COMMITS_TOP = 16;
const COMMITS_HEIGHT = 170;
const LINES_TOP = COMMITS_TOP + COMMITS_HEIGHT + 22;
const LINES_HEIGHT = 120;
const LABELS_Y = LINES_TOP + LINES_HEIGHT + 20;
const HEIGHT = LABELS_Y + 10;
/** Widest bar, so one or two periods do not fill the chart with a slab. */
const MAX_BAR_WIDTH = 56;
/** Narrowest room per x-axis label in viewBox units, which sets how many labels are skipped. */
const LABEL_ROOM = 64;
/** Narrowest room per x-axis label with a day and a year, as `29 Dec 2025`, at the 11px axis font. */
const WIDE_LABEL_ROOM = 84;
/** Months between labels on a long range: 1 to 6 months label months, 12 and more label years. */
const MONTH_STEPS = [1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200];

/**
 * Renders the activity chart as inline SVG: commits per period stacked by type above, lines
 * added (up) and removed (down) per period below, one `<g class="period">` per period with
 * a `<title>` tooltip. The SVG has role="img" and an aria-label, and the page adds a table.
 */
export function renderDiaryChart(diary: Diary, plan: SeriesPlan): string {
  const periods = diary.periods;
  const maxCommits = Math.max(0, ...periods.map((period) => period.commits.length));
  const maxLines = Math.max(0, ...periods.map((period) => Math.max(period.additions, period.deletions)));
  const commitTicks = niceTicks(maxCommits, 4, 1);
  const lineTicks = niceTicks(maxLines, 2, 1);
  const commitTop = commitTicks[commitTicks.length - 1] as number;
  const lineTop = lineTicks[lineTicks.length - 1] as number;
  const zeroY = LINES_TOP + LINES_HEIGHT / 2;
  const band = periods.length === 0 ? PLOT_WIDTH : PLOT_WIDTH / periods.length;
  const barWidth = Math.max(1, Math.min(MAX_BAR_WIDTH, band * 0.72));
  const out: string[] = [];

  const label = describeChart(diary, maxCommits);
  out.push(
    `<svg class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="100%" role="img" aria-label="${escapeLine(label)}">`,
    `<title>${escapeLine(label)}</title>`,
  );

  // Grid lines and y-axis labels of both panels.
  out.push('<g class="axis">');
  for (const tick of commitTicks) {
    const y = round(COMMITS_TOP + COMMITS_HEIGHT - (tick / commitTop) * COMMITS_HEIGHT);
    out.push(`<line class="grid" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y}" y2="${y}"/>`);
    out.push(`<text x="${LEFT - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${formatCompact(tick)}</text>`);
  }
  for (const tick of lineTicks) {
    const offset = (tick / lineTop) * (LINES_HEIGHT / 2);
    const marks = tick === 0 ? [[zeroY, '0']] : [[zeroY - offset, `+${formatCompact(tick)}`], [zeroY + offset, `\u2212${formatCompact(tick)}`]];
    for (const [rawY, text] of marks) {
      const y = round(rawY as number);
      out.push(`<line class="${tick === 0 ? 'baseline' : 'grid'}" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${y}" y2="${y}"/>`);
      out.push(`<text x="${LEFT - 8}" y="${y}" text-anchor="end" dominant-baseline="middle">${text}</text>`);
    }
  }
  out.push(
    `<line class="baseline" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${COMMITS_TOP + COMMITS_HEIGHT}" y2="${COMMITS_TOP + COMMITS_HEIGHT}"/>`,
    `<text class="axis-title" transform="translate(14 ${COMMITS_TOP + COMMITS_HEIGHT / 2}) rotate(-90)" text-anchor="middle">commits</text>`,
    `<text class="axis-title" transform="translate(14 ${zeroY}) rotate(-90)" text-anchor="middle">lines</text>`,
    '</g>',
  );

  if (periods.length === 0) {
    out.push(`<text class="no-data" x="${LEFT + PLOT_WIDTH / 2}" y="${COMMITS_TOP + COMMITS_HEIGHT / 2}" text-anchor="middle">No commits in this window</text>`);
  }

  const labels = planAxisLabels(periods, diary.grouping, band);
  periods.forEach((period, position) => {
    const center = LEFT + band * (position + 0.5);
    const x = round(center - barWidth / 2);
    out.push(`<g class="period" data-key="${escapeLine(period.key)}">`, `<title>${escapeLine(describePeriod(period))}</title>`);
    out.push(`<rect class="hit" x="${round(LEFT + band * position)}" y="${COMMITS_TOP}" width="${round(band)}" height="${LABELS_Y - COMMITS_TOP}"/>`);

    // Stack the types from the baseline up, in series order.
    const counts = new Array<number>(plan.series.length).fill(0);
    for (const [type, count] of Object.entries(period.types)) {
      counts[plan.indexOf(type)] = (counts[plan.indexOf(type)] ?? 0) + count;
    }
    let stacked = 0;
    counts.forEach((count, index) => {
      if (count <= 0) {
        return;
      }

      const y0 = COMMITS_TOP + COMMITS_HEIGHT - (stacked / commitTop) * COMMITS_HEIGHT;
      stacked += count;
      const y1 = COMMITS_TOP + COMMITS_HEIGHT - (stacked / commitTop) * COMMITS_HEIGHT;
      out.push(`<rect class="bar ${plan.series[index]?.cssClass}" x="${x}" y="${round(y1)}" width="${round(barWidth)}" height="${round(y0 - y1)}"/>`);
    });

    if (period.additions > 0) {
      const height = Math.max(1, (period.additions / lineTop) * (LINES_HEIGHT / 2));
      out.push(`<rect class="bar added" x="${x}" y="${round(zeroY - height)}" width="${round(barWidth)}" height="${round(height)}"/>`);
    }
    if (period.deletions > 0) {
      const height = Math.max(1, (period.deletions / lineTop) * (LINES_HEIGHT / 2));
      out.push(`<rect class="bar removed" x="${x}" y="${zeroY}" width="${round(barWidth)}" height="${round(height)}"/>`);
    }

    const text = labels.get(position);
    if (text !== undefined) {
      out.push(`<text class="x-label" x="${round(center)}" y="${LABELS_Y}" text-anchor="middle">${escapeLine(text)}</text>`);
    }
    out.push('</g>');
  });

  out.push('</svg>');
  return out.join('\n');
}

/** Describes the chart in one sentence, for screen readers and the chart's tooltip. */
function describeChart(diary: Diary, maxCommits: number): string {
  const periods = diary.periods;
  if (periods.length === 0) {
    return 'Activity chart: no commits in this window.';
  }

  const busiest = periods.find((period) => period.commits.length === maxCommits) as DiaryPeriod;
  return (
    `Activity chart: ${formatCount(diary.totals.commits)} commits in ${plural(periods.length, diary.grouping)}, ` +
    `from ${periods[0]?.label} to ${periods[periods.length - 1]?.label}, the busiest ${busiest.label} with ${plural(maxCommits, 'commit')}; ` +
    `+${formatCount(diary.totals.additions)} and \u2212${formatCount(diary.totals.deletions)} lines.`
  );
}

/** Tooltip of one period: its label, commit count by type and line counts. */
export function describePeriod(period: DiaryPeriod): string {
  const count = period.commits.length;
  if (count === 0) {
    return `${period.label}: no commits`;
  }

  const types = Object.entries(period.types)
    .filter(([, value]) => value > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([type, value]) => `${type} ${value}`)
    .join(', ');
  return `${period.label}: ${plural(count, 'commit')} (${types}), +${formatCount(period.additions)} \u2212${formatCount(period.deletions)} lines, ${period.reported} reported`;
}

export function plural(count: number, noun: string): string {
  return `${formatCount(count)} ${noun}${count === 1 ? '' : 's'}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Short x-axis label from a period key: `29 Mar`, `W13` or `Mar 2026`. Any other key is shown as it is. */
export function shortPeriodLabel(key: string, grouping: DiaryGrouping): string {
  const day = /^\d{4}-(\d{2})-(\d{2})$/.exec(key);
  if (grouping === 'day' && day) {
    return `${Number(day[2])} ${MONTHS[Number(day[1]) - 1] ?? day[1]}`;
  }

  const week = /^\d{4}-W(\d{2})$/.exec(key);
  if (grouping === 'week' && week) {
    return `W${Number(week[1])}`;
  }

  const month = /^(\d{4})-(\d{2})$/.exec(key);
  if (grouping === 'month' && month) {
    return `${MONTHS[Number(month[2]) - 1] ?? month[2]} ${month[1]}`;
  }

  return key;
}

/**
 * Plans the x-axis labels by period position, at least one label's room apart so they never
 * overlap. Periods within one calendar year get short labels without the year. Across years
 * every label carries its year, so a label never reads as earlier than the one before it. Each
 * period gets its own label when they fit. Otherwise the first period of every n-th month
 * (`Dec 2025`) or year (`2026`) gets one, with the finest step that fits.
 */
export function planAxisLabels(periods: readonly DiaryPeriod[], grouping: DiaryGrouping, band: number): Map<number, string> {
  const labels = new Map<number, string>();
  const months = periods.map((period) => startMonth(period));
  const firstYear = months[0] === undefined || months[0] === null ? null : Math.floor(months[0] / 12);
  const lastMonth = months[months.length - 1];
  const lastYear = lastMonth === undefined || lastMonth === null ? null : Math.floor(lastMonth / 12);

  if (firstYear === lastYear) {
    const every = Math.max(1, Math.ceil(LABEL_ROOM / band));
    periods.forEach((period, position) => {
      if (position % every === 0) {
        labels.set(position, shortPeriodLabel(period.key, grouping));
      }
    });
    return labels;
  }

  const calendar = calendarLabels(months, /^\d{4}-\d{2}-01/.test(periods[0]?.start ?? ''), band);
  const every = Math.max(1, Math.ceil(WIDE_LABEL_ROOM / band));
  // Calendar labels are sparse on a short range, such as a few weeks of days around New Year,
  // where every n-th period with its year gives more labels.
  if (every === 1 || calendar.size < 3) {
    periods.forEach((period, position) => {
      if (position % every === 0) {
        labels.set(position, periodLabelWithYear(period, grouping));
      }
    });
    return labels;
  }

  return calendar;
}

/** Labels the first period of every n-th month or year, with the finest step whose labels do not overlap. */
function calendarLabels(months: ReadonlyArray<number | null>, firstStartsMonth: boolean, band: number): Map<number, string> {
  // A period starts a month when its start falls in another month than the previous period's,
  // or, for the first period, when it starts on the 1st.
  const boundaries: Array<{ position: number; month: number }> = [];
  months.forEach((month, position) => {
    const starts = position === 0 ? firstStartsMonth : months[position - 1] !== month;
    if (month !== null && starts) {
      boundaries.push({ position, month });
    }
  });

  let chosen = new Map<number, string>();
  for (const step of MONTH_STEPS) {
    const selected = boundaries.filter((boundary) => boundary.month % step === 0);
    const fits = selected.every((boundary, index) => index === 0 || (boundary.position - (selected[index - 1] as { position: number }).position) * band >= LABEL_ROOM);
    chosen = new Map(selected.map((boundary) => [boundary.position, monthLabel(boundary.month, step >= 12)]));
    if (fits) {
      break;
    }
  }

  return chosen;
}

/** Month of a period's start as `year * 12 + month - 1`, read from the local date of its ISO 8601 start, or null. */
function startMonth(period: DiaryPeriod): number | null {
  const match = /^(\d{4})-(\d{2})/.exec(period.start);
  return match ? Number(match[1]) * 12 + Number(match[2]) - 1 : null;
}

function monthLabel(month: number, yearOnly: boolean): string {
  const year = String(Math.floor(month / 12));
  return yearOnly ? year : `${MONTHS[month % 12]} ${year}`;
}

/** X-axis label of one period with its year: `29 Dec 2025`, `W52 2025` or `Dec 2025`. */
function periodLabelWithYear(period: DiaryPeriod, grouping: DiaryGrouping): string {
  const short = shortPeriodLabel(period.key, grouping);
  const year = /^(\d{4})/.exec(period.key)?.[1];
  if (grouping === 'month' || year === undefined || short === period.key) {
    return short;
  }

  return `${short} ${year}`;
}

/**
 * Returns evenly spaced ticks from 0 to a round number at or above `max`, with steps of 1,
 * 2 or 5 times a power of ten, and at least `minStep` apart.
 */
export function niceTicks(max: number, count: number, minStep: number): number[] {
  const rough = Math.max(max, minStep) / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(minStep, ([1, 2, 5, 10].find((factor) => factor * magnitude >= rough) ?? 10) * magnitude);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const ticks: number[] = [];
  for (let tick = 0; tick <= top + step / 2; tick += step) {
    ticks.push(tick);
  }

  return ticks;
}

/** Formats an axis number as `950`, `12k` or `1.5M`. */
export function formatCompact(value: number): string {
  if (value >= 1_000_000) {
    return `${trimZero(value / 1_000_000)}M`;
  }
  if (value >= 10_000) {
    return `${trimZero(value / 1000)}k`;
  }

  return formatCount(value);
}

function trimZero(value: number): string {
  return value.toFixed(1).replace(/\.0$/, '');
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
