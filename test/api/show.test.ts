import fs from 'node:fs';
import path from 'node:path';

import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';

import { type CommitReport, lookupCommitReport, readCommitReport } from '../../src/api/show.js';
import { codeSpan } from '../../src/cli/render/markdown.js';
import { renderReportMarkdown } from '../../src/cli/render/report-markdown.js';
import { renderReportText } from '../../src/cli/render/report-text.js';
import { StepperError } from '../../src/errors.js';
import { UnknownRevisionError } from '../../src/git/errors.js';
import { addReportJob, MODEL, newRepo, type Stand, startStand, waitForFinished } from '../helpers/report-queue.js';
import type { RepoBuilder } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';

const ANSWER = {
  title: 'Add the greeting module',
  summary: 'The commit adds a greeting function.',
  changes: ['Add greet() to src/greet.ts'],
  rationale: 'Not stated in the message.',
  impact_and_tests: 'No tests changed.',
  next_steps: [],
  tags: ['greeting'],
};

async function setUp() {
  const stand = await startStand({ fake: { answer: ANSWER } });
  const builder = newRepo();
  builder.write('README.md', 'Greeting\n');
  const first = builder.commit('Start the project\n');
  builder.write('src/greet.ts', 'export const greet = (name: string) => `Hello, ${name}`;\n');
  const second = builder.commit('Add the greeting module\n');
  return { stand, builder, first, second };
}

describe('readCommitReport', () => {
  it('returns the stored report of a revision', async () => {
    const { stand, builder, second } = await setUp();
    const job = await waitForFinished(stand, await addReportJob(stand, builder, second));

    const shown = await readCommitReport({ cwd: builder.dir, revision: 'HEAD', dataDir: stand.dataDir });

    expect(shown?.sha).toBe(second);
    expect(shown?.repo).toBe(fs.realpathSync(path.join(builder.dir, '.git')));
    expect(shown?.subject).toBe('Add the greeting module');
    expect(shown?.report).toEqual(ANSWER);
    expect(shown?.coverage.counts).toEqual({ full: 1, partial: 0, statsOnly: 0, excluded: 0 });
    expect(shown?.provenance?.reportId).toBe(job.resultId);
    expect(shown?.provenance?.model).toBe(MODEL);
  });

  it('returns the newest of two reports', async () => {
    const { stand, builder, second } = await setUp();
    await waitForFinished(stand, await addReportJob(stand, builder, second));
    const forced = await waitForFinished(stand, await addReportJob(stand, builder, second, { force: true }));

    const shown = await readCommitReport({ cwd: builder.dir, revision: second, dataDir: stand.dataDir });

    expect(shown?.provenance?.reportId).toBe(forced.resultId);
  });

  it('returns null for a commit without a report', async () => {
    const { stand, builder } = await setUp();

    const shown = await readCommitReport({ cwd: builder.dir, revision: 'HEAD~1', dataDir: stand.dataDir });

    expect(shown).toBeNull();
  });

  it('returns null for another model', async () => {
    const { stand, builder, second } = await setUp();
    await waitForFinished(stand, await addReportJob(stand, builder, second));

    const other = await readCommitReport({ cwd: builder.dir, revision: 'HEAD', dataDir: stand.dataDir, model: 'qwen3:8b' });
    const same = await readCommitReport({ cwd: builder.dir, revision: 'HEAD', dataDir: stand.dataDir, model: MODEL });

    expect(other).toBeNull();
    expect(same?.sha).toBe(second);
  });

  it('creates nothing without a database', async () => {
    const builder = newRepo();
    builder.write('a.txt', 'a\n');
    builder.commit('Add a\n');
    const dataDir = path.join(makeTempDir(), 'data');

    const lookup = await lookupCommitReport({ cwd: builder.dir, revision: 'HEAD', dataDir });

    expect(lookup.report).toBeNull();
    expect(lookup.databaseExists).toBe(false);
    expect(fs.existsSync(dataDir)).toBe(false);
  });

  it('finds the live job of a missing report', async () => {
    const { stand, builder, first } = await setUp();
    await stand.worker.close({ graceMs: 0 });
    const id = await addReportJob(stand, builder, first);

    const lookup = await lookupCommitReport({ cwd: builder.dir, revision: first, dataDir: stand.dataDir });

    expect(lookup.report).toBeNull();
    expect(lookup.liveJob?.id).toBe(id);
    expect(lookup.liveJob?.state).toBe('waiting');
  });

  it('finds the newest failed job of a missing report', async () => {
    const { stand, builder, first } = await setUp();
    await stand.worker.close({ graceMs: 0 });
    const older = await failReportJob(stand, builder, first, new Error('older failure'));
    const newer = await failReportJob(stand, builder, first, new Error('newer failure'));

    const lookup = await lookupCommitReport({ cwd: builder.dir, revision: first, dataDir: stand.dataDir });

    expect(older).not.toBe(newer);
    expect(lookup.report).toBeNull();
    expect(lookup.liveJob).toBeNull();
    expect(lookup.failedJob?.id).toBe(newer);
    expect(lookup.failedJob?.state).toBe('failed');
    expect(lookup.failedJob?.lastError).toContain('newer failure');
  });

  it('prefers a live job to a failed one', async () => {
    const { stand, builder, first } = await setUp();
    await stand.worker.close({ graceMs: 0 });
    await failReportJob(stand, builder, first, new Error('failure'));
    const waiting = await addReportJob(stand, builder, first);

    const lookup = await lookupCommitReport({ cwd: builder.dir, revision: first, dataDir: stand.dataDir });

    expect(lookup.liveJob?.id).toBe(waiting);
    expect(lookup.failedJob).toBeNull();
  });

  it('ignores a failed job of another model', async () => {
    const { stand, builder, first } = await setUp();
    await stand.worker.close({ graceMs: 0 });
    const id = await failReportJob(stand, builder, first, new Error('failure'));

    const other = await lookupCommitReport({ cwd: builder.dir, revision: first, dataDir: stand.dataDir, model: 'qwen3:8b' });
    const same = await lookupCommitReport({ cwd: builder.dir, revision: first, dataDir: stand.dataDir, model: MODEL });

    expect(other.failedJob).toBeNull();
    expect(same.failedJob?.id).toBe(id);
  });

  it('has no failed job once a report exists', async () => {
    const { stand, builder, second } = await setUp();
    const failed = await waitForFinished(stand, await addReportJob(stand, builder, second, { model: 'absent-model:1b' }));
    await waitForFinished(stand, await addReportJob(stand, builder, second));

    const lookup = await lookupCommitReport({ cwd: builder.dir, revision: second, dataDir: stand.dataDir });

    expect(failed.state).toBe('failed');
    expect(lookup.report?.sha).toBe(second);
    expect(lookup.failedJob).toBeNull();
  });

  it('rejects an unknown revision', async () => {
    const { stand, builder } = await setUp();

    await expect(readCommitReport({ cwd: builder.dir, revision: 'nope', dataDir: stand.dataDir })).rejects.toBeInstanceOf(UnknownRevisionError);
  });

  it('rejects a stored report of another shape', async () => {
    const { stand, builder, second } = await setUp();
    await stand.worker.close({ graceMs: 0 });
    const id = await addReportJob(stand, builder, second);
    const claimed = stand.queue.claim('test');
    expect(claimed?.id).toBe(id);
    stand.queue.complete(claimed!, { report: { content: { report: { title: 'old shape' } } } });

    const error = await readCommitReport({ cwd: builder.dir, revision: 'HEAD', dataDir: stand.dataDir }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(StepperError);
    expect((error as StepperError).code).toBe('REPORT_INVALID');
    expect((error as Error).message).toMatch(/^stored report [0-9a-f-]+ of commit [0-9a-f]{40} cannot be shown \(field summary is missing .*; no git facts\): make a new one with `stepper report --force <revision>`$/);
  });
});

/** Adds a report job and fails it for good by hand, with no worker running. */
async function failReportJob(stand: Stand, builder: RepoBuilder, sha: string, error: Error): Promise<string> {
  const id = await addReportJob(stand, builder, sha);
  const claimed = stand.queue.claim('test');
  expect(claimed?.id).toBe(id);
  expect(stand.queue.fail(claimed!, error, { permanent: true })).toBe('failed');
  return id;
}

function sampleReport(overrides: Partial<CommitReport> = {}): CommitReport {
  const sha = 'a'.repeat(40);
  return {
    sha,
    repo: '/src/app/.git',
    subject: 'Add the parser',
    report: { ...ANSWER, title: 'Add the parser', changes: ['Add parse()', 'Add tests'], next_steps: ['Cover errors'] },
    facts: {
      subject: 'Add the parser',
      files: [
        { path: 'src/parse.ts', status: 'added', additions: 10, deletions: 0, binary: false },
        { path: 'logo.png', status: 'modified', additions: null, deletions: null, binary: true },
        { path: 'src/b|c.ts', oldPath: 'src/a.ts', status: 'renamed', additions: 1, deletions: 1, binary: false },
      ],
      totals: { files: 3, additions: 11, deletions: 1 },
      conventional: null,
    },
    coverage: {
      files: { 'src/parse.ts': 'full', 'logo.png': 'excluded: binary', 'src/b|c.ts': 'partial' },
      counts: { full: 1, partial: 1, statsOnly: 0, excluded: 1 },
      promptTruncated: false,
    },
    provenance: null,
    ...overrides,
  };
}

describe('report views', () => {
  const chalk = new Chalk({ level: 0 });

  it('text shows binary and renamed files', () => {
    const text = renderReportText(sampleReport(), { chalk, width: 80 });

    expect(text).toContain('  added     src/parse.ts  +10 -0  [full]\n');
    expect(text).toContain('  modified  logo.png  binary  [excluded: binary]\n');
    expect(text).toContain('  renamed   src/a.ts → src/b|c.ts  +1 -1  [partial]\n');
    expect(text).toContain('Coverage: 1 file in full, 1 partial, 1 excluded (binary) of 3 changed files\n');
    expect(text).toContain('Provenance: not recorded for this report\n');
  });

  it('text neutralizes escape sequences', () => {
    const shown = sampleReport();
    shown.report = { ...shown.report, title: 'Evil \u001b[2J title', summary: 'Clear \u001b]0;owned\u0007 now' };

    const text = renderReportText(shown, { chalk, width: 80 });

    expect(text).not.toContain('\u001b');
    expect(text).not.toContain('\u0007');
    expect(text.split('\n')[0]).toBe('Evil ^[[2J title');
  });

  it('text wraps long paragraphs', () => {
    const shown = sampleReport();
    shown.report = { ...shown.report, summary: 'word '.repeat(40).trim() };

    const text = renderReportText(shown, { chalk, width: 40 });
    const summary = text.split('\n').filter((line) => line.startsWith('  word'));

    expect(summary.length).toBeGreaterThan(4);
    expect(summary.every((line) => line.length <= 40)).toBe(true);
  });

  it('provenance names a reused report', () => {
    const provenance = {
      commit: 'a'.repeat(40),
      repository: '/src/app/.git',
      patchId: { source: 'patch-id', id: 'f'.repeat(40) },
      model: MODEL,
      modelCalls: 2,
      promptTokens: 12_345,
      completionTokens: 210,
      elapsedMs: 4200,
      promptVersion: 3,
      stepperVersion: '0.1.0',
      reportId: 'r1',
      createdAt: '2026-12-04T21:07:00.000Z',
      reusedFrom: { reportId: 'r0', commit: 'b'.repeat(40) },
      truncated: true,
      parts: { count: 3, reused: 0, failed: 0 },
    } as unknown as CommitReport['provenance'];
    const shown = sampleReport({ provenance, coverage: { ...sampleReport().coverage, promptTruncated: true } });

    const text = renderReportText(shown, { chalk, width: 80 });

    expect(text).toContain(
      'Made by qwen2.5-coder:7b in 4.2 s: 2 model calls, 12,345 prompt + 210 output tokens; prompt v3, stepper 0.1.0, 2026-12-04 21:07 UTC; reused from commit bbbbbbbbbbbb, which has the same change and message\n',
    );
    expect(text).toContain('; summarized in 3 parts first; Ollama probably cut the prompt, so the model saw less than this\n');
  });

  it.each([
    [3000, 'Made by qwen2.5-coder:7b in 2.9 s, after 3.0 s waiting for the model: 1 model call'],
    [400, 'Made by qwen2.5-coder:7b in 5.9 s: 1 model call'],
  ])('provenance with a wait of %d ms', (waitMs, expected) => {
    const provenance = {
      model: MODEL,
      modelCalls: 1,
      promptTokens: 10,
      completionTokens: 20,
      elapsedMs: 5900,
      waitMs,
      promptVersion: 3,
      stepperVersion: '0.1.0',
      createdAt: '2026-12-04T21:07:00.000Z',
    } as unknown as CommitReport['provenance'];

    const text = renderReportText(sampleReport({ provenance }), { chalk, width: 200 });

    expect(text).toContain(`${expected}, 10 prompt + 20 output tokens;`);
  });

  it('markdown escapes a pipe in a path', () => {
    const markdown = renderReportMarkdown(sampleReport());

    expect(markdown).toContain('| renamed | `src/a.ts → src/b\\|c.ts` | 1 | 1 | partial |');
    expect(markdown).toContain('| modified | `logo.png` | binary | binary | excluded: binary |');
    expect(markdown).toContain('\n## Next steps\n\n- Cover errors\n');
  });

  it('markdown escapes HTML in model text', () => {
    const shown = sampleReport({ subject: 'Fix <b>bold</b> subject' });
    shown.report = { ...shown.report, title: '<script>alert(1)</script>', summary: '<img src=x onerror=alert(1)> and *stars* and _under_' };

    const markdown = renderReportMarkdown(shown);

    expect(markdown.split('\n')[0]).toBe('# \\<script\\>alert(1)\\</script\\>');
    expect(markdown).toContain(': Fix \\<b\\>bold\\</b\\> subject\n');
    expect(markdown).toContain('\n## Summary\n\n\\<img src=x onerror=alert(1)\\> and \\*stars\\* and \\_under\\_\n');
    expect(markdown).not.toMatch(/(^|[^\\])</);
  });

  it('markdown keeps list markers in items literal', () => {
    const shown = sampleReport();
    shown.report = { ...shown.report, changes: ['+ plus', '# hash', '> quote'], next_steps: ['- nested', '1. numbered', '2) closed', '*stars*'] };

    const markdown = renderReportMarkdown(shown);

    expect(markdown).toContain('\n## Changes\n\n- \\+ plus\n- \\# hash\n- \\> quote\n');
    expect(markdown).toContain('\n## Next steps\n\n- \\- nested\n- 1\\. numbered\n- 2\\) closed\n- \\*stars\\*\n');
  });

  it('markdown keeps summary lines one paragraph', () => {
    const shown = sampleReport();
    shown.report = { ...shown.report, summary: '    First line\n- not a list\n  # not a heading\n===\n\n| a | b |\n| --- | --- |\n~~struck~~' };

    const markdown = renderReportMarkdown(shown);

    expect(markdown).toContain(
      '\n## Summary\n\nFirst line\n\\- not a list\n\\# not a heading\n\\===\n\n\\| a \\| b \\|\n\\| --- \\| --- \\|\n\\~\\~struck\\~\\~\n',
    );
  });

  it('markdown shows backticks in paths and tags', () => {
    const files = [
      { path: 'src/pipe|tick`name.js', status: 'added', additions: 1, deletions: 0, binary: false },
      { path: '`start.js', status: 'added', additions: 1, deletions: 0, binary: false },
      { path: 'two``ticks.js', status: 'added', additions: 1, deletions: 0, binary: false },
    ] as CommitReport['facts']['files'];
    const shown = sampleReport({ facts: { ...sampleReport().facts, files } });
    shown.report = { ...shown.report, tags: ['a`b'] };

    const markdown = renderReportMarkdown(shown);

    expect(markdown).toContain('| added | ``src/pipe\\|tick`name.js`` | 1 | 0 |  |');
    expect(markdown).toContain('| added | `` `start.js `` | 1 | 0 |  |');
    expect(markdown).toContain('| added | ```two``ticks.js``` | 1 | 0 |  |');
    expect(markdown).toContain('\nTags: ``a`b``\n');
  });
});

describe('codeSpan', () => {
  it.each([
    ['plain.ts', '`plain.ts`'],
    ['a`b', '``a`b``'],
    ['a``b`c', '```a``b`c```'],
    ['`lead', '`` `lead ``'],
    ['trail`', '`` trail` ``'],
    [' both ', '`  both  `'],
    [' lead only', '` lead only`'],
    ['  ', '`  `'],
  ])('wraps %j', (text, expected) => {
    expect(codeSpan(text)).toBe(expected);
  });
});
