import { describe, expect, it } from 'vitest';

import { renderDiaryMarkdown } from '../../src/cli/render/diary-markdown.js';
import { renderDiaryText } from '../../src/cli/render/diary-text.js';
import { PLAIN } from '../../src/cli/render/paint.js';
import type { Diary, DiaryCommit } from '../../src/diary/types.js';

function commit(fields: Partial<DiaryCommit>): DiaryCommit {
  return {
    sha: 'a'.repeat(40),
    repository: '/src/app/.git',
    repositoryName: 'app',
    authorName: 'Ann',
    authorEmail: 'ann@example.com',
    authoredAt: '2026-03-29T10:00:00+02:00',
    authoredAtMs: Date.parse('2026-03-29T08:00:00Z'),
    subject: 'Change things',
    merge: false,
    type: null,
    additions: 1,
    deletions: 0,
    files: 1,
    reportState: 'none',
    report: null,
    ...fields,
  };
}

/** Builds a one-day diary of the given commits in UTC. */
function diaryOf(commits: DiaryCommit[], repositories = ['/src/app/.git']): Diary {
  return {
    grouping: 'day',
    timeZone: 'UTC',
    since: null,
    until: null,
    author: null,
    repositories,
    skipped: [],
    periods: [
      {
        key: '2026-03-29',
        label: 'Sunday 29 March 2026',
        start: '2026-03-29T00:00:00+00:00',
        end: '2026-03-30T00:00:00+00:00',
        commits,
        types: { other: commits.length },
        reported: 0,
        additions: commits.length,
        deletions: 0,
      },
    ],
    totals: { commits: commits.length, reported: 0, additions: commits.length, deletions: 0, types: { other: commits.length } },
  };
}

describe('diary renderers', () => {
  it('neutralize control characters in text', () => {
    const text = renderDiaryText(diaryOf([commit({ subject: 'Clear \u001b[2J the screen' })]), { paint: PLAIN, width: 80 });

    expect(text).not.toContain('\u001b');
    expect(text).toContain('Clear ^[[2J the screen  [no report]');
  });

  it('escape Markdown and HTML in titles and summaries', () => {
    const reported = commit({
      reportState: 'reported',
      report: { title: 'Use <img src=x> and *stars*', summary: 'Line one with <b>tags</b>.\n\nLine _two_.', tags: [], model: 'm', createdAt: '2026-03-29T08:00:00.000Z' },
    });

    const markdown = renderDiaryMarkdown(diaryOf([reported, commit({ sha: 'b'.repeat(40), subject: 'Fix [link](x)' })]));

    expect(markdown).toContain('**Use \\<img src=x\\> and \\*stars\\***');
    expect(markdown).toContain('\n  Line one with \\<b\\>tags\\</b\\>.\n\n  Line \\_two\\_.\n');
    expect(markdown).toContain('Fix \\[link\\](x) _(no report)_');
    expect(markdown).not.toMatch(/(^|[^\\])<img/);
  });

  it('keep summary lines from opening lists', () => {
    const reported = commit({
      reportState: 'reported',
      report: { title: 'Tidy', summary: '- not an item\n1. not a list\n# not a heading', tags: [], model: 'm', createdAt: '2026-03-29T09:00:00Z' },
    });

    const markdown = renderDiaryMarkdown(diaryOf([reported, commit({ sha: 'b'.repeat(40) })]));

    expect(markdown).toContain('  \\- not an item\n  1\\. not a list\n  \\# not a heading\n');
    expect(markdown).not.toMatch(/\n\n\n/);
  });

  it('keep backticks in skipped repository paths', () => {
    const diary = { ...diaryOf([commit({})]), skipped: [{ repository: '/src/odd`name/.git', reason: 'the folder does not exist' }] };

    const markdown = renderDiaryMarkdown(diary);

    expect(markdown).toContain('> Skipped ``/src/odd`name/.git``: the folder does not exist');
  });

  it('name the repository when there are several', () => {
    const diary = diaryOf([commit({ repositoryName: 'api' })], ['/src/app/.git', '/src/api/.git']);

    const text = renderDiaryText(diary, { paint: PLAIN, width: 80 });
    const markdown = renderDiaryMarkdown(diary);

    expect(text.split('\n')[0]).toBe('Diary of 2 repositories by day in UTC');
    expect(text).toContain(`  ${'a'.repeat(12)}  api  Change things  [no report]`);
    expect(markdown).toContain(`- \`${'a'.repeat(12)}\` api: Change things _(no report)_`);
  });

  it('say when the window is empty', () => {
    const empty: Diary = { ...diaryOf([]), periods: [] };

    expect(renderDiaryText(empty, { paint: PLAIN, width: 80 })).toContain('\nNo commits in this window.\n');
    expect(renderDiaryMarkdown(empty)).toContain('\nNo commits in this window.\n');
  });
});
