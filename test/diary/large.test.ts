import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { buildDiary } from '../../src/api/diary.js';
import { renderDiaryText } from '../../src/cli/render/diary-text.js';
import { PLAIN } from '../../src/cli/render/paint.js';
import { reportJob } from '../../src/report/job.js';
import { newDiaryRepo, MODEL, newQueue } from './helpers.js';

const REPORTED = 5_000;
const UNREPORTED = 10;
const TYPES = ['feat', 'fix', 'docs', 'chore', 'refactor'];
/** 2026-01-05T09:00:00Z, a Monday. */
const FIRST_EPOCH = 1_767_603_600;
/** Commits are 5 hours apart, so some days get four and some five. */
const STEP_SECONDS = 5 * 3600;

describe('diary of 5,000 reported commits', () => {
  it('lists every commit once with its report', async () => {
    const builder = newDiaryRepo('big');
    const total = REPORTED + UNREPORTED;

    // One fast-import stream: commit i rewrites file i % 50 with (i % 7) + 1 lines.
    let stream = '';
    for (let index = 0; index < total; index++) {
      const subject = `${TYPES[index % TYPES.length]}: change number ${index}`;
      const content = Array.from({ length: (index % 7) + 1 }, (_, line) => `line ${line} of commit ${index}\n`).join('');
      const signature = `Test Author <author@example.com> ${FIRST_EPOCH + index * STEP_SECONDS} +0100`;
      stream += `commit refs/heads/main\nauthor ${signature}\ncommitter ${signature}\ndata ${Buffer.byteLength(subject) + 1}\n${subject}\n`;
      stream += `M 100644 inline files/f${index % 50}.txt\ndata ${Buffer.byteLength(content)}\n${content}\n`;
    }
    builder.git(['fast-import', '--quiet'], { input: stream });
    builder.git(['reset', '-q', '--hard', 'main']);
    const shas = builder.git(['rev-list', '--reverse', 'main']).trim().split('\n');
    expect(shas).toHaveLength(total);

    const gitDir = fs.realpathSync(path.join(builder.dir, '.git'));
    const { queue, dataDir } = newQueue();
    try {
      queue.batch(() => {
        shas.slice(0, REPORTED).forEach((sha, index) => {
          queue.add(reportJob({ repository: gitDir, commitSha: sha, model: MODEL }));
          const claimed = queue.claim('diary-test');
          if (claimed?.commitSha !== sha) {
            throw new Error(`claimed ${claimed?.commitSha} instead of ${sha}`);
          }
          const report = { title: `Report ${index}`, summary: `Summary of commit ${index}.`, changes: [], rationale: '', impact_and_tests: '', next_steps: [], tags: [] };
          queue.complete(claimed, { report: { content: { report, facts: {} }, provenance: { model: MODEL } } });
        });
      });
    } finally {
      queue.close();
    }

    const diary = await buildDiary({ cwd: builder.dir, dataDir, timeZone: 'Europe/Berlin', by: 'week' });

    const commits = diary.periods.flatMap((period) => period.commits);
    expect(commits).toHaveLength(total);
    expect(new Set(commits.map((commit) => commit.sha)).size).toBe(total);
    expect(commits.map((commit) => commit.sha).sort()).toEqual([...shas].sort());
    expect(diary.totals.commits).toBe(total);
    expect(diary.totals.reported).toBe(REPORTED);
    expect(diary.totals.types).toEqual(Object.fromEntries(TYPES.map((type) => [type, total / TYPES.length])));

    const bySha = new Map(commits.map((commit) => [commit.sha, commit]));
    expect(bySha.get(shas[1234] as string)?.report?.title).toBe('Report 1234');
    expect(bySha.get(shas[REPORTED] as string)?.reportState).toBe('none');

    // 5,010 commits 5 hours apart span 1,043.75 days, so 150 weeks from Monday 5 January 2026.
    expect(diary.periods[0]?.key).toBe('2026-W02');
    expect(diary.periods).toHaveLength(150);
    expect(diary.periods.every((period) => period.commits.length > 0)).toBe(true);
    expect(diary.periods.reduce((sum, period) => sum + period.commits.length, 0)).toBe(total);
    expect(diary.periods.reduce((sum, period) => sum + period.reported, 0)).toBe(REPORTED);
    // Every line names its commit, so a rewrite adds all new lines and deletes all of the previous commit's to that file.
    const linesOf = (index: number) => (index % 7) + 1;
    const additions = shas.reduce((sum, _, index) => sum + linesOf(index), 0);
    const deletions = shas.reduce((sum, _, index) => sum + (index >= 50 ? linesOf(index - 50) : 0), 0);
    expect(diary.totals.additions).toBe(additions);
    expect(diary.totals.deletions).toBe(deletions);
    expect(diary.periods.reduce((sum, period) => sum + period.additions, 0)).toBe(additions);

    const text = renderDiaryText(diary, { paint: PLAIN, width: 80 });
    expect(text.split('\n').filter((line) => /^ {2}[0-9a-f]{12} {2}/.test(line))).toHaveLength(total);
  });
});
