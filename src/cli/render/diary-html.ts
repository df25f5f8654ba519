import { createHash } from 'node:crypto';
import path from 'node:path';

import type { Diary, DiaryCommit, DiaryGrouping, DiaryPeriod, DiaryReportState } from '../../diary/types.js';
import { VERSION } from '../../version.js';
import { planSeries, plural, renderDiaryChart, type SeriesPlan } from './diary-chart.js';
import { DIARY_CSS } from './diary-html-style.js';
import { groupEmptyRuns } from './diary-text.js';
import { bdi, escapeHtml, escapeLine, fragmentId } from './html.js';
import { formatCount, shortSha } from './text.js';

/**
 * Content-Security-Policy of the page. Nothing may load: no script, font, image, frame or
 * connection, and only the inline stylesheet, allowed by its hash, applies. A `<meta>` policy
 * cannot set frame-ancestors, which only matters for a page served over HTTP.
 */
const CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(DIARY_CSS).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

/** Badge text of a commit without a report. */
const STATE_BADGES: Record<Exclude<DiaryReportState, 'reported'>, string> = {
  pending: 'report pending',
  failed: 'report failed',
  none: 'no report',
};

export interface DiaryHtmlOptions {
  /** Current time in epoch milliseconds, which decides whether the heading ends in "now". Defaults to Date.now(). */
  now?: number;
}

/** Names of the grouping units in plural, for runs of empty periods. */
const UNIT_PLURALS: Record<DiaryGrouping, string> = { day: 'days', week: 'weeks', month: 'months' };

/**
 * Renders the diary as one self-contained HTML5 page: inline CSS with light, dark and print
 * styles, an inline SVG activity chart drawn here, no script, and no reference to anything
 * outside the page, so it reads the same offline. Every string from git or the model is
 * escaped, and a strict Content-Security-Policy blocks whatever escaping might miss.
 */
export function renderDiaryHtml(diary: Diary, options: DiaryHtmlOptions = {}): string {
  const dates = new DiaryDates(diary.timeZone);
  const plan = planSeries(diary);
  const names = repositoryNames(diary);
  const window = describeWindow(diary, dates, options.now ?? Date.now());
  const pageTitle = `Diary \u00b7 ${window} \u00b7 ${diary.timeZone} \u00b7 ${[...names.values()].join(', ') || 'no repositories'}`;
  const out: string[] = [];

  out.push(
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    '<meta name="referrer" content="no-referrer">',
    `<meta name="generator" content="stepper ${escapeLine(VERSION)}">`,
    `<title>${escapeLine(pageTitle)}</title>`,
    `<style>${DIARY_CSS}</style>`,
    '</head>',
    '<body>',
  );

  out.push(...renderMasthead(diary, window, names));
  out.push(...renderTotals(diary));
  out.push(...renderChartCard(diary, plan));
  out.push('<main>');
  for (const run of groupEmptyRuns(diary.periods)) {
    out.push(...(run.length > 1 ? renderEmptyRun(run, diary.grouping) : renderPeriod(run[0] as DiaryPeriod, diary, plan, dates, names.size > 1)));
  }
  out.push('</main>');

  out.push(
    '<footer>',
    `<p>Written by stepper ${escapeLine(VERSION)}. This page is a single file: it loads nothing from the network and runs no script.</p>`,
    '</footer>',
    '</body>',
    '</html>',
    '',
  );
  return out.join('\n');
}

function renderMasthead(diary: Diary, window: string, names: Map<string, string>): string[] {
  const out = ['<header class="masthead">'];
  out.push(
    `<p class="eyebrow">Stepper diary \u00b7 by ${diary.grouping} \u00b7 ${escapeLine(diary.timeZone)}</p>`,
    `<h1>${escapeLine(window)}</h1>`,
  );

  const chips = [...names.entries()].map(([repository, name]) => `<span class="repo" title="${escapeLine(repository)}">${bdi(name)}</span>`);
  out.push(`<p class="meta">${diary.repositories.length === 1 ? 'Repository' : 'Repositories'}: ${chips.join(' ') || '<strong>none</strong>'}</p>`);
  if (diary.author !== null) {
    out.push(`<p class="meta">Author: <strong>${bdi(diary.author)}</strong></p>`);
  }

  if (diary.skipped.length > 0) {
    const count = diary.skipped.length === 1 ? '1 repository' : `${formatCount(diary.skipped.length)} repositories`;
    out.push(`<aside class="notice"><strong>Skipped ${count}</strong>, so the diary leaves out their commits:<ul>`);
    for (const skipped of diary.skipped) {
      out.push(`<li><code>${bdi(skipped.repository)}</code>: ${bdi(skipped.reason)}</li>`);
    }
    out.push('</ul></aside>');
  }

  out.push('</header>');
  return out;
}

function renderTotals(diary: Diary): string[] {
  const { totals } = diary;
  const states = { pending: 0, failed: 0, none: 0 };
  for (const commit of allCommits(diary)) {
    if (commit.reportState !== 'reported') {
      states[commit.reportState] += 1;
    }
  }

  const active = diary.periods.filter((period) => period.commits.length > 0).length;
  const share = totals.commits === 0 ? 0 : Math.round((totals.reported / totals.commits) * 100);
  const unreported = (Object.entries(states) as Array<[keyof typeof states, number]>)
    .filter(([, count]) => count > 0)
    .map(([state, count]) => `${formatCount(count)} ${state}`);

  return [
    '<ul class="totals" aria-label="Totals">',
    card('Commits', formatCount(totals.commits), `in ${formatCount(active)} of ${plural(diary.periods.length, diary.grouping)}`),
    card('Reported', `${share}%`, `${formatCount(totals.reported)} of ${formatCount(totals.commits)}${unreported.length > 0 ? `; ${unreported.join(', ')}` : ''}`),
    card('Lines added', `<span class="add">+${formatCount(totals.additions)}</span>`, 'in text files'),
    card('Lines removed', `<span class="del">\u2212${formatCount(totals.deletions)}</span>`, 'in text files'),
    '</ul>',
  ];
}

/** Renders one totals card. `value` is HTML and must already be escaped. */
function card(label: string, value: string, detail: string): string {
  return `<li><span class="label">${label}</span><span class="value">${value}</span><span class="detail">${escapeLine(detail)}</span></li>`;
}

function renderChartCard(diary: Diary, plan: SeriesPlan): string[] {
  const out = [
    '<section class="card" aria-labelledby="activity-heading">',
    '<figure>',
    `<figcaption><h2 id="activity-heading">Activity per ${diary.grouping}</h2><span class="meta">commits by type, lines added and removed</span></figcaption>`,
    `<div class="chart-scroll">${renderDiaryChart(diary, plan)}</div>`,
    '</figure>',
  ];

  // Legend entries with the totals of each series, which may fold several rare types into one.
  const seriesTotals = new Array<number>(plan.series.length).fill(0);
  for (const [type, count] of Object.entries(diary.totals.types)) {
    seriesTotals[plan.indexOf(type)] = (seriesTotals[plan.indexOf(type)] ?? 0) + count;
  }
  out.push('<ul class="legend" aria-label="Legend">');
  plan.series.forEach((series, index) => {
    out.push(`<li class="${series.cssClass}">${bdi(series.label)} <span class="count">${formatCount(seriesTotals[index] ?? 0)}</span></li>`);
  });
  out.push('<li class="added">lines added</li>', '<li class="removed">lines removed</li>', '</ul>');

  out.push(...renderChartTable(diary));
  out.push('</section>');
  return out;
}

/**
 * Renders the chart's numbers as a table, for screen readers and for copying. Two or more
 * empty periods in a row share one row, as they share one line on the page, so a long
 * window with few commits stays small.
 */
function renderChartTable(diary: Diary): string[] {
  const out = [
    '<details>',
    '<summary>Chart data as a table</summary>',
    '<table>',
    `<thead><tr><th scope="col">${capitalize(diary.grouping)}</th><th scope="col" class="num">Commits</th><th scope="col">Types</th><th scope="col" class="num">Added</th><th scope="col" class="num">Removed</th><th scope="col" class="num">Reported</th></tr></thead>`,
    '<tbody>',
  ];
  for (const run of groupEmptyRuns(diary.periods)) {
    const period = run[0] as DiaryPeriod;
    out.push(
      `<tr><th scope="row"><a href="#${fragmentId('p', period.key)}">${escapeLine(runLabel(run))}</a></th>` +
        `<td class="num">${formatCount(period.commits.length)}</td>` +
        `<td>${bdi(formatTypes(period.types))}</td>` +
        `<td class="num add">+${formatCount(period.additions)}</td>` +
        `<td class="num del">\u2212${formatCount(period.deletions)}</td>` +
        `<td class="num">${formatCount(period.reported)}</td></tr>`,
    );
  }
  out.push('</tbody>', '</table>', '</details>');
  return out;
}

/** Renders two or more consecutive empty periods as one line, as the text view does. */
function renderEmptyRun(run: DiaryPeriod[], grouping: DiaryGrouping): string[] {
  const id = fragmentId('p', (run[0] as DiaryPeriod).key);
  return [`<section class="period empty" id="${id}"><h2>${escapeLine(runLabel(run))}</h2><p>No commits (${formatCount(run.length)} ${UNIT_PLURALS[grouping]})</p></section>`];
}

/** Label of a run of periods: the period's own label, or `first to last`. */
function runLabel(run: DiaryPeriod[]): string {
  const first = run[0] as DiaryPeriod;
  const last = run[run.length - 1] as DiaryPeriod;
  return run.length === 1 ? first.label : `${first.label} to ${last.label}`;
}

function renderPeriod(period: DiaryPeriod, diary: Diary, plan: SeriesPlan, dates: DiaryDates, showRepository: boolean): string[] {
  const id = fragmentId('p', period.key);
  if (period.commits.length === 0) {
    return [`<section class="period empty" id="${id}"><h2>${escapeLine(period.label)}</h2><p>No commits</p></section>`];
  }

  const chips = Object.entries(period.types)
    .filter(([, count]) => count > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([type, count]) => `<span class="chip ${plan.series[plan.indexOf(type)]?.cssClass ?? 't-other'}">${bdi(type)}&nbsp;${formatCount(count)}</span>`);
  const out = [
    `<section class="period" id="${id}" aria-labelledby="${id}-heading">`,
    '<header>',
    `<h2 id="${id}-heading">${escapeLine(period.label)}</h2>`,
    '<p class="period-meta">' +
      `<span>${plural(period.commits.length, 'commit')}</span>` +
      `<span>${chips.join(' ')}</span>` +
      `<span><span class="add">+${formatCount(period.additions)}</span> <span class="del">\u2212${formatCount(period.deletions)}</span></span>` +
      `<span>${formatCount(period.reported)} reported</span>` +
      '</p>',
    '</header>',
    '<ol class="commits">',
  ];

  for (const commit of period.commits) {
    out.push(renderCommit(commit, diary.grouping, plan, dates, showRepository));
  }
  out.push('</ol>', '</section>');
  return out;
}

function renderCommit(commit: DiaryCommit, grouping: DiaryGrouping, plan: SeriesPlan, dates: DiaryDates, showRepository: boolean): string {
  const report = commit.report;
  const typeChip = commit.type === null ? '' : `<span class="chip ${plan.series[plan.indexOf(commit.type)]?.cssClass ?? 't-other'}">${bdi(commit.type)}</span>`;
  const badge = commit.reportState === 'reported' ? '' : ` <span class="badge ${commit.reportState}">${STATE_BADGES[commit.reportState]}</span>`;
  // A model may return an empty title, and the subject is better than a blank line.
  const headline = report === null || report.title.trim() === '' ? commit.subject : report.title;
  const parts = [
    `<li class="commit state-${commit.reportState}">`,
    `<div class="when"><time datetime="${escapeLine(commit.authoredAt)}" title="${escapeLine(`Author date ${commit.authoredAt}`)}">${escapeLine(dates.commitTime(commit.authoredAtMs, grouping))}</time>` +
      `<code title="${escapeLine(commit.sha)}">${escapeLine(shortSha(commit.sha))}</code></div>`,
    '<div class="body">',
    `<p class="headline">${typeChip}${bdi(headline)}${badge}</p>`,
  ];

  if (report !== null) {
    parts.push(`<p class="subject">${bdi(commit.subject)}</p>`);
    if (report.summary.trim() !== '') {
      parts.push(`<p class="summary" dir="auto">${escapeHtml(report.summary.trim())}</p>`);
    }
    if (report.tags.length > 0) {
      parts.push(`<ul class="tags" aria-label="Tags">${report.tags.map((tag) => `<li>${bdi(tag)}</li>`).join('')}</ul>`);
    }
  }

  const byline = [
    ...(showRepository ? [`<span class="repo-name">${bdi(commit.repositoryName)}</span>`] : []),
    `<span title="${escapeLine(commit.authorEmail)}">${bdi(commit.authorName)}</span>`,
    `<span class="add">+${formatCount(commit.additions)}</span> <span class="del">\u2212${formatCount(commit.deletions)}</span> in ${plural(commit.files, 'file')}`,
  ];
  parts.push(`<p class="byline">${byline.join(' \u00b7 ')}</p>`, '</div>', '</li>');
  return parts.join('');
}

/** Date and time formats in the diary's time zone, built once per page because Intl formatters are slow to create. */
class DiaryDates {
  readonly #date: Intl.DateTimeFormat;
  readonly #parts: Intl.DateTimeFormat;

  constructor(timeZone: string) {
    this.#date = new Intl.DateTimeFormat('en-GB', { timeZone: validTimeZone(timeZone), day: 'numeric', month: 'short', year: 'numeric' });
    this.#parts = new Intl.DateTimeFormat('en-GB', {
      timeZone: validTimeZone(timeZone),
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
  }

  /** Formats a timestamp as `23 Mar 2026`, or returns it unchanged when it does not parse. */
  date(timestamp: string): string {
    const ms = Date.parse(timestamp);
    return Number.isNaN(ms) ? timestamp : this.#date.format(ms);
  }

  /** Formats the last day before a period end, which is the first instant after the period. */
  dayBefore(end: string): string {
    const ms = Date.parse(end);
    return Number.isNaN(ms) ? end : this.#date.format(ms - 1);
  }

  /** Local time of a commit: `14:05` in a day, `Mon 14:05` in a week, `Mon 17 Mar 14:05` in a month. */
  commitTime(ms: number, grouping: DiaryGrouping): string {
    const parts = Object.fromEntries(this.#parts.formatToParts(ms).map((part) => [part.type, part.value]));
    const time = `${parts.hour}:${parts.minute}`;
    if (grouping === 'day') {
      return time;
    }

    return grouping === 'week' ? `${parts.weekday} ${time}` : `${parts.weekday} ${parts.day} ${parts.month} ${time}`;
  }
}

/**
 * Returns the zone when Intl accepts it, and UTC otherwise. NOTE: the diary builder validates
 * the zone first, so the fallback only keeps a hand-built Diary from throwing here.
 */
function validTimeZone(timeZone: string): string {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
    return timeZone;
  } catch {
    return 'UTC';
  }
}

/**
 * Describes the span the periods cover, from the first period's first day to the last
 * period's last day, so the heading matches the periods listed even when --since or --until
 * falls inside a period or is left out. It ends in "now" only when the last period contains
 * `now`. Without periods it falls back to the window the diary was asked for.
 */
function describeWindow(diary: Diary, dates: DiaryDates, now: number): string {
  const first = diary.periods[0];
  const last = diary.periods[diary.periods.length - 1];
  if (first === undefined || last === undefined) {
    const from = diary.since === null ? 'the first commit' : dates.date(diary.since);
    const to = diary.until === null ? 'now' : dates.date(diary.until);
    return `${from} \u2013 ${to}`;
  }

  const current = Date.parse(last.start) <= now && now < Date.parse(last.end);
  const to = current ? 'now' : dates.dayBefore(last.end);
  return `${dates.date(first.start)} \u2013 ${to}`;
}

/** Display name of each repository read: the name its commits carry, else the name of its work tree folder. */
function repositoryNames(diary: Diary): Map<string, string> {
  const fromCommits = new Map<string, string>();
  for (const commit of allCommits(diary)) {
    fromCommits.set(commit.repository, commit.repositoryName);
  }

  const names = new Map<string, string>();
  for (const repository of diary.repositories) {
    const base = path.basename(repository);
    const fallback = base === '.git' ? path.basename(path.dirname(repository)) : base.replace(/\.git$/, '');
    names.set(repository, fromCommits.get(repository) ?? fallback);
  }

  return names;
}

function* allCommits(diary: Diary): Generator<DiaryCommit> {
  for (const period of diary.periods) {
    yield* period.commits;
  }
}

function formatTypes(types: Record<string, number>): string {
  const entries = Object.entries(types).filter(([, count]) => count > 0);
  return entries.length === 0 ? '\u2014' : entries.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([type, count]) => `${type} ${count}`).join(', ');
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
