import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { planSeries } from '../../src/cli/render/diary-chart.js';
import { renderDiaryHtml } from '../../src/cli/render/diary-html.js';
import { escapeHtml } from '../../src/cli/render/html.js';
import { dayDiary, HOSTILE_SUBJECT, largeDiary, makeCommit, makeDiary, makePeriod, sampleDiary } from '../helpers/diary-fixture.js';

/** Elements that would load something or run code, none of which may appear as a tag. */
const LOADING_TAGS = /<(script|link|img|iframe|object|embed|audio|video|source|base|form|frame|use|image|foreignObject)\b/i;
const VOID_ELEMENTS = new Set(['meta', 'br', 'hr', 'img', 'input', 'link', 'wbr', 'col', 'area', 'base', 'source']);

/** Attributes that can name a resource to load or open. */
const RESOURCE_ATTRIBUTES = new Set(['src', 'href', 'xlink:href', 'action', 'formaction', 'poster', 'srcset', 'data', 'background', 'ping']);

/**
 * Returns the name and value of every attribute in a start tag. Escaped text contains no `<`, so
 * only real tags match, and quoted values are consumed whole, so text inside them is skipped.
 */
function tagAttributes(html: string): Array<[string, string]> {
  const attributes: Array<[string, string]> = [];
  for (const tag of html.matchAll(/<[a-zA-Z][^<>]*>/g)) {
    for (const attribute of tag[0].matchAll(/\s([\w:-]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>]+))?/g)) {
      attributes.push([(attribute[1] as string).toLowerCase(), (attribute[2] ?? '').replace(/^["']|["']$/g, '')]);
    }
  }

  return attributes;
}

function resourceAttributes(html: string): string[] {
  return tagAttributes(html)
    .filter(([name]) => RESOURCE_ATTRIBUTES.has(name))
    .map(([, value]) => value);
}

function styleSheet(html: string): string {
  return /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
}

/**
 * Checks that start and end tags nest. Void elements and self-closed SVG elements need no
 * end tag. Returns the first problem, or null.
 */
function nestingProblem(html: string): string | null {
  const stack: string[] = [];
  const body = html.replace(/<style>[\s\S]*?<\/style>/, '<style></style>');
  for (const match of body.matchAll(/<(\/?)([a-zA-Z][\w-]*)[^<>]*?(\/?)>/g)) {
    const [, closing, rawName, selfClosing] = match;
    const name = (rawName as string).toLowerCase();
    if (closing === '') {
      if (selfClosing === '' && !VOID_ELEMENTS.has(name)) {
        stack.push(name);
      }
      continue;
    }

    const open = stack.pop();
    if (open !== name) {
      return `</${name}> closes <${open}> at offset ${match.index}`;
    }
  }

  return stack.length === 0 ? null : `unclosed: ${stack.join(' > ')}`;
}

/** Text and x position of every x-axis label of the chart, left to right. */
function axisLabels(html: string): Array<{ x: number; text: string }> {
  return [...html.matchAll(/<text class="x-label" x="([\d.]+)"[^>]*>([^<]*)<\/text>/g)].map((match) => ({ x: Number(match[1]), text: match[2] as string }));
}

function heading(html: string): string {
  return /<h1>([^<]*)<\/h1>/.exec(html)?.[1] ?? '';
}

function count(html: string, pattern: RegExp): number {
  return [...html.matchAll(pattern)].length;
}

describe('escapeHtml', () => {
  it('escapes markup characters', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('shows control characters as code points', () => {
    expect(escapeHtml('a\u0000b\u001bc\u0085d')).toBe('a\\u0000b\\u001bc\\u0085d');
  });

  it('shows bidi overrides and keeps marks', () => {
    expect(escapeHtml('a\u202Eb\u2066c\u200Fd')).toBe('a\\u202eb\\u2066c\u200Fd');
  });

  it('keeps newlines, tabs, RTL text and emoji', () => {
    expect(escapeHtml('one\r\ntwo\tשלום \u{1F680}')).toBe('one\ntwo\tשלום \u{1F680}');
  });
});

describe('renderDiaryHtml', () => {
  it('page is one HTML5 document with nested tags', () => {
    const html = renderDiaryHtml(sampleDiary());

    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    expect(count(html, /<head>/g)).toBe(1);
    expect(count(html, /<body>/g)).toBe(1);
    expect(html).toContain('<meta charset="utf-8">');
    expect(nestingProblem(html)).toBeNull();
  });

  it('title names window, time zone and repositories', () => {
    const html = renderDiaryHtml(sampleDiary());
    const title = /<title>([^<]*)<\/title>/.exec(html)?.[1] ?? '';

    expect(title).toContain('23 Mar 2026 \u2013 19 Apr 2026');
    expect(title).toContain('Europe/Berlin');
    expect(title).toContain('stepper, side-project');
  });

  it('strict CSP meta allows only the inline stylesheet', () => {
    const html = renderDiaryHtml(sampleDiary());
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]*)">/.exec(html)?.[1] ?? '';
    const hash = createHash('sha256').update(styleSheet(html)).digest('base64');

    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`style-src 'sha256-${hash}'`);
    expect(csp).not.toContain('unsafe');
    expect(html.indexOf('Content-Security-Policy')).toBeLessThan(html.indexOf('<style>'));
  });

  it('page references nothing outside itself', () => {
    for (const diary of [sampleDiary(), largeDiary(400)]) {
      const html = renderDiaryHtml(diary);

      expect(html).not.toMatch(LOADING_TAGS);
      expect(resourceAttributes(html).length).toBeGreaterThan(0);
      for (const value of resourceAttributes(html)) {
        expect(value).toMatch(/^#[A-Za-z0-9_-]+$/);
      }
      expect(styleSheet(html)).not.toMatch(/url\(|@import|@font-face|https?:|\/\//i);
      expect(tagAttributes(html).filter(([name]) => name.startsWith('on'))).toEqual([]);
      expect(tagAttributes(html).filter(([name]) => name === 'style')).toEqual([]);
    }
  });

  it('page without URLs in its data has none at all', () => {
    const html = renderDiaryHtml(largeDiary(400));

    expect(html).not.toMatch(/https?:|\/\/|ftp:|file:\//i);
  });

  it('hostile subject is escaped', () => {
    const html = renderDiaryHtml(sampleDiary());

    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&#39;quotes&#39;');
    expect(html).toContain(' &amp; ');
    expect(HOSTILE_SUBJECT).toContain('\u202E');
    expect(html).not.toContain('\u202E');
    expect(html).toContain('\\u202egnp.exe');
  });

  it('RTL text and emoji survive in isolates', () => {
    const html = renderDiaryHtml(sampleDiary());

    expect(html).toContain('\u05e9\u05dc\u05d5\u05dd');
    expect(html).toContain('\u{1F680}\u{1F9EA}');
    expect(html).toMatch(/<bdi>feat\(ui\): &lt;script&gt;[^<]*<\/bdi>/);
  });

  it('hostile report, author and tags are escaped', () => {
    const html = renderDiaryHtml(sampleDiary());

    expect(html).toContain('Title with &lt;/title&gt;&lt;script&gt;x()&lt;/script&gt;');
    expect(html).toContain('Adds &lt;b&gt;bold&lt;/b&gt; claims &amp; &quot;quotes&quot;.');
    expect(html).toContain('&lt;a href=&quot;https://example.com/x&quot;&gt;');
    expect(html).toContain('\\u001b[31m');
    expect(html).not.toContain('\u001b');
    expect(html).toContain('Mallory &quot;&lt;b&gt;&quot; O&#39;Brien &amp; Co');
    expect(html).toContain('<li><bdi>&lt;tag&gt;</bdi></li>');
    expect(count(html, /<title>/g)).toBe(count(html, /<\/title>/g));
  });

  it('chart has one group per period', () => {
    const diary = sampleDiary();
    const html = renderDiaryHtml(diary);

    expect(count(html, /<g class="period"/g)).toBe(diary.periods.length);
    for (const period of diary.periods) {
      expect(html).toContain(`<g class="period" data-key="${period.key}">`);
    }
  });

  it('chart groups carry tooltips', () => {
    const html = renderDiaryHtml(sampleDiary());

    expect(html).toContain('<title>Week 14, 30 March\u20135 April 2026: no commits</title>');
    expect(html).toMatch(/<title>Week 13, 23\u201329 March 2026: 7 commits \(feat 2, [^)]*\), \+1,176 \u22122[0-9]{2} lines, 7 reported<\/title>/);
  });

  it('chart is accessible with a table fallback', () => {
    const diary = sampleDiary();
    const html = renderDiaryHtml(diary);
    const table = /<table>([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';

    expect(html).toMatch(/<svg class="chart"[^>]* role="img" aria-label="Activity chart: 12 commits in 4 weeks, [^"]+"/);
    expect(count(table, /<tr><th scope="row">/g)).toBe(diary.periods.length);
    expect(table).toContain('<a href="#p-2026-W14">');
    expect(html).toContain('id="p-2026-W14"');
  });

  it('chart draws stacked type bars and line bars', () => {
    const html = renderDiaryHtml(sampleDiary());
    const busiest = /<g class="period" data-key="2026-W13">([\s\S]*?)<\/g>/.exec(html)?.[1] ?? '';

    expect(count(busiest, /<rect class="bar t-/g)).toBe(6);
    expect(count(busiest, /<rect class="bar added"/g)).toBe(1);
    expect(count(busiest, /<rect class="bar removed"/g)).toBe(1);
    expect(html).toContain('>commits</text>');
    expect(html).toContain('>lines</text>');
  });

  it('legend lists each type with its total', () => {
    const html = renderDiaryHtml(sampleDiary());
    const legend = /<ul class="legend"[^>]*>([\s\S]*?)<\/ul>/.exec(html)?.[1] ?? '';

    expect(legend).toContain('<li class="t-feat"><bdi>feat</bdi> <span class="count">3</span></li>');
    expect(legend).toContain('<li class="t-other"><bdi>other</bdi> <span class="count">2</span></li>');
    expect(legend).toContain('lines added');
    expect(legend).toContain('lines removed');
  });

  it('rare types fold into other', () => {
    const commits = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'].map((type, index) =>
      makeCommit({ authoredAt: `2026-03-2${index + 3}T10:00:00+01:00`, subject: `${type}: change` }),
    );
    const diary = makeDiary([makePeriod('2026-W13', 'Week 13', '2026-03-23T00:00:00+01:00', '2026-03-30T00:00:00+02:00', commits)]);
    const plan = planSeries(diary);
    const html = renderDiaryHtml(diary);

    expect(plan.series.map((series) => series.label)).toEqual(['alpha', 'beta', 'delta', 'other types']);
    expect(plan.indexOf('gamma')).toBe(3);
    expect(html).toContain('<bdi>other types</bdi> <span class="count">2</span>');
  });

  it('type names never become class names', () => {
    const commit = makeCommit({ authoredAt: '2026-03-23T10:00:00+01:00', subject: 'x', type: 'a" onmouseover="b' });
    const html = renderDiaryHtml(makeDiary([makePeriod('2026-W13', 'Week 13', '2026-03-23T00:00:00+01:00', '2026-03-30T00:00:00+02:00', [commit])]));

    expect(html).not.toContain('onmouseover="');
    expect(html).toContain('a&quot; onmouseover=&quot;b');
  });

  it('empty period is a short line', () => {
    const html = renderDiaryHtml(sampleDiary());

    expect(html).toContain('<section class="period empty" id="p-2026-W14"><h2>Week 14, 30 March\u20135 April 2026</h2><p>No commits</p></section>');
  });

  it('unreported commits carry a mark', () => {
    const html = renderDiaryHtml(sampleDiary());

    expect(html).toContain('<bdi>perf(store): batch the inserts</bdi> <span class="badge pending">report pending</span>');
    expect(html).toContain('<span class="badge failed">report failed</span>');
    expect(html).toContain('<span class="badge none">no report</span>');
    expect(count(html, /class="badge /g)).toBe(3);
    expect(html).toContain('9 of 12; 1 pending, 1 failed, 1 none');
  });

  it('reported commits show title, subject, summary and tags', () => {
    const html = renderDiaryHtml(sampleDiary());

    expect(html).toMatch(/<p class="headline"><span class="chip t-feat"><bdi>feat<\/bdi><\/span><bdi>Report title \d+<\/bdi><\/p><p class="subject"><bdi>feat\(queue\): add delayed jobs with backoff<\/bdi><\/p>/);
    expect(html).toMatch(/<p class="summary" dir="auto">Summary of change \d+\.<\/p><ul class="tags" aria-label="Tags"><li><bdi>cli<\/bdi><\/li><\/ul>/);
  });

  it('empty report title shows the subject', () => {
    const commit = makeCommit({ authoredAt: '2026-03-23T10:00:00+01:00', subject: 'fix: keep the lock' });
    const titled = { ...commit, report: { ...(commit.report as NonNullable<typeof commit.report>), title: '  ' } };
    const html = renderDiaryHtml(makeDiary([makePeriod('2026-W13', 'Week 13', '2026-03-23T00:00:00+01:00', '2026-03-30T00:00:00+02:00', [titled])]));

    expect(html).toContain('<bdi>fix: keep the lock</bdi></p><p class="subject">');
  });

  it('commits show author, short id and local time', () => {
    const html = renderDiaryHtml(sampleDiary());

    expect(html).toContain('<time datetime="2026-03-23T09:12:00+01:00" title="Author date 2026-03-23T09:12:00+01:00">Mon 09:12</time>');
    expect(html).toContain('<span title="ada@example.com"><bdi>Ada Lovelace</bdi></span>');
    expect(html).toMatch(/<code title="[0-9a-f]{40}">[0-9a-f]{12}<\/code>/);
    expect(html).toContain('<span class="add">+420</span> <span class="del">\u221235</span> in 6 files');
  });

  it('local time follows the time zone', () => {
    const html = renderDiaryHtml({ ...sampleDiary(), timeZone: 'America/New_York' });

    expect(html).toContain('>Mon 04:12</time>');
    expect(html).toContain('America/New_York');
  });

  it('unknown time zone falls back to UTC', () => {
    const html = renderDiaryHtml({ ...sampleDiary(), timeZone: 'Mars/Olympus' });

    expect(html).toContain('>Mon 08:12</time>');
  });

  it('second repository name shows per commit', () => {
    const html = renderDiaryHtml(sampleDiary());

    expect(html).toContain('<span class="repo-name"><bdi>side-project</bdi></span>');
    expect(html).toContain('<span class="repo" title="/home/dev/projects/side-project/.git"><bdi>side-project</bdi></span>');
  });

  it('skipped repositories are listed', () => {
    const html = renderDiaryHtml({ ...sampleDiary(), skipped: [{ repository: '/gone/<x>/.git', reason: 'not found & moved' }] });

    expect(html).toContain('Skipped 1 repository');
    expect(html).toContain('<code><bdi>/gone/&lt;x&gt;/.git</bdi></code>: <bdi>not found &amp; moved</bdi>');
  });

  it('author filter is shown', () => {
    const html = renderDiaryHtml({ ...sampleDiary(), author: 'Ada|<Bob>' });

    expect(html).toContain('Author: <strong><bdi>Ada|&lt;Bob&gt;</bdi></strong>');
  });

  it('diary without periods renders', () => {
    const html = renderDiaryHtml(makeDiary([], { since: null, until: null }));

    expect(count(html, /<g class="period"/g)).toBe(0);
    expect(html).toContain('No commits in this window');
    expect(html).toContain('the first commit \u2013 now');
    expect(nestingProblem(html)).toBeNull();
  });

  it('5,000 commits stay linear in size', () => {
    const diary = largeDiary(5000);
    const html = renderDiaryHtml(diary);

    expect(diary.totals.commits).toBe(5000);
    expect(count(html, /<li class="commit /g)).toBe(5000);
    expect(count(html, /<g class="period"/g)).toBe(365);
    expect(html.length).toBeLessThan(5000 * 1200);
    expect(nestingProblem(html)).toBeNull();
  });

  it('heading ends at last period', () => {
    const diary = dayDiary('2026-03-27', 3, [0, 2], { since: null, until: null });
    const html = renderDiaryHtml(diary, { now: Date.parse('2026-12-05T01:00:00Z') });

    expect(heading(html)).toBe('27 Mar 2026 \u2013 29 Mar 2026');
    expect(html).toContain('<title>Diary \u00b7 27 Mar 2026 \u2013 29 Mar 2026 \u00b7 UTC');
  });

  it('heading says now in last period', () => {
    const diary = dayDiary('2026-03-27', 3, [0], { since: '2026-03-27T00:00:00+00:00', until: null });
    const html = renderDiaryHtml(diary, { now: Date.parse('2026-03-29T15:00:00Z') });

    expect(heading(html)).toBe('27 Mar 2026 \u2013 now');
  });

  it('heading includes period starting at until', () => {
    // An until at midnight belongs to the day that starts then, so the diary lists 3 November.
    const diary = dayDiary('2026-11-01', 3, [0], { since: '2026-11-01T00:00:00+00:00', until: '2026-11-03T00:00:00+00:00' });
    const html = renderDiaryHtml(diary, { now: Date.parse('2026-12-05T01:00:00Z') });

    expect(html).toContain('<h2>Monday 2 November 2026 to Tuesday 3 November 2026</h2>');
    expect(heading(html)).toBe('1 Nov 2026 \u2013 3 Nov 2026');
  });

  it('heading starts at first period', () => {
    // A week diary asked for since Wednesday starts with the Monday of that week.
    const diary = sampleDiary();
    const html = renderDiaryHtml({ ...diary, since: '2026-03-25T12:00:00+01:00', until: '2026-04-15T12:00:00+02:00' }, { now: Date.parse('2026-12-05T01:00:00Z') });

    expect(heading(html)).toBe('23 Mar 2026 \u2013 19 Apr 2026');
  });

  it('axis labels carry years across years', () => {
    const diary = dayDiary('2025-11-20', 430, [0, 50, 200, 429]);
    const labels = axisLabels(renderDiaryHtml(diary));
    const times = labels.map((label) => Date.parse(`1 ${label.text}`));

    expect(labels.length).toBeGreaterThan(3);
    for (const label of labels) {
      expect(label.text).toMatch(/^[A-Z][a-z]{2} 20(25|26|27)$/);
    }
    for (let index = 1; index < times.length; index += 1) {
      expect(times[index]).toBeGreaterThan(times[index - 1] as number);
      expect((labels[index] as { x: number }).x - (labels[index - 1] as { x: number }).x).toBeGreaterThanOrEqual(64);
    }
  });

  it('axis labels over decades show years', () => {
    const labels = axisLabels(renderDiaryHtml(dayDiary('2000-01-01', 9000, [0, 8999])));

    expect(labels[0]?.text).toBe('2000');
    for (const label of labels) {
      expect(label.text).toMatch(/^20\d\d$/);
    }
    for (let index = 1; index < labels.length; index += 1) {
      expect(Number(labels[index]?.text)).toBeGreaterThan(Number(labels[index - 1]?.text));
      expect((labels[index] as { x: number }).x - (labels[index - 1] as { x: number }).x).toBeGreaterThanOrEqual(64);
    }
  });

  it('axis labels near New Year name days', () => {
    const labels = axisLabels(renderDiaryHtml(dayDiary('2025-12-20', 22, [0, 21])));

    expect(labels[0]?.text).toBe('20 Dec 2025');
    expect(labels.map((label) => label.text)).toContain('1 Jan 2026');
    for (let index = 1; index < labels.length; index += 1) {
      expect((labels[index] as { x: number }).x - (labels[index - 1] as { x: number }).x).toBeGreaterThanOrEqual(84);
    }
  });

  it('axis labels in one year stay short', () => {
    const labels = axisLabels(renderDiaryHtml(sampleDiary()));

    expect(labels.map((label) => label.text)).toEqual(['W13', 'W14', 'W15', 'W16']);
  });

  it('empty periods in a row share one line', () => {
    const diary = dayDiary('2026-03-30', 4, [0, 3]);
    const html = renderDiaryHtml(diary);
    const table = /<table>([\s\S]*?)<\/table>/.exec(html)?.[1] ?? '';

    expect(html).toContain('<section class="period empty" id="p-2026-03-31"><h2>Tuesday 31 March 2026 to Wednesday 1 April 2026</h2><p>No commits (2 days)</p></section>');
    expect(count(html, /<section class="period empty"/g)).toBe(1);
    expect(count(html, /<g class="period"/g)).toBe(4);
    expect(count(table, /<tr><th scope="row">/g)).toBe(3);
    expect(table).toContain('<a href="#p-2026-03-31">Tuesday 31 March 2026 to Wednesday 1 April 2026</a>');
    expect(nestingProblem(html)).toBeNull();
  });

  it('9,000 mostly empty days stay small', () => {
    // 18 commits 500 days apart leave 19 runs of empty days. The chart keeps one group with a
    // tooltip per day, about 160 bytes, so the page may grow by 200 bytes a day and 100 kB
    // for the rest. One line per empty day took 4.6 MB for 9,836 days.
    const diary = dayDiary('2000-01-01', 9000, Array.from({ length: 18 }, (_, index) => index * 500));
    const html = renderDiaryHtml(diary);
    const main = /<main>([\s\S]*?)<\/main>/.exec(html)?.[1] ?? '';

    expect(count(html, /<g class="period"/g)).toBe(9000);
    expect(count(main, /<section class="period empty"/g)).toBe(18);
    expect(main.length).toBeLessThan(40_000);
    expect(html.length).toBeLessThan(9000 * 200 + 100_000);
    expect(nestingProblem(html)).toBeNull();
  });
});
