import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { exportReports } from '../../src/api/export.js';
import { InvalidOptionError } from '../../src/errors.js';
import type { ExportedCommitLine } from '../../src/export/jsonl.js';
import { gitDirOf, newRepo } from '../helpers/report-queue.js';
import { ALICE, BOB } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';
import { openTestQueue, storeReport } from './helpers.js';

async function setUp() {
  const builder = newRepo();
  builder.write('a.txt', 'a\n');
  const first = builder.commit('Add a\n', { author: ALICE, committer: BOB, timezone: '+0530' });
  builder.write('b.txt', 'b\n');
  const second = builder.commit('Add b\n\nWith "a body".\n', { author: BOB });

  const dataDir = makeTempDir('stepper-export-data-');
  const gitDir = await gitDirOf(builder);
  const queue = openTestQueue(dataDir);
  storeReport(queue.queue, gitDir, first, { title: 'Old model report', model: 'old-model:1b' });
  queue.tick();
  storeReport(queue.queue, gitDir, first, { title: 'Report of a' });
  queue.tick();
  storeReport(queue.queue, gitDir, second, { title: 'Report of b' });
  queue.queue.close();
  return { builder, dataDir, gitDir, first, second };
}

function parseLines(text: string): ExportedCommitLine[] {
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as ExportedCommitLine);
}

describe('jsonl export', () => {
  it('prints one object per commit', async () => {
    const { builder, dataDir, gitDir, first, second } = await setUp();

    const result = await exportReports({ format: 'jsonl', cwd: builder.dir, dataDir });

    const lines = parseLines(result.content ?? '');
    expect(lines.map((line) => line.sha)).toEqual([second, first]);
    const [newest, oldest] = lines as [ExportedCommitLine, ExportedCommitLine];
    expect(Object.keys(newest)).toEqual(['sha', 'repository', 'subject', 'message', 'parents', 'author', 'committer', 'report', 'facts', 'coverage', 'provenance']);
    expect(newest.repository).toBe(gitDir);
    expect(newest.subject).toBe('Report of b');
    expect(newest.message).toBe('Add b\n\nWith "a body".');
    expect(newest.parents).toEqual([first]);
    expect(newest.report.title).toBe('Report of b');
    expect(newest.facts.totals).toEqual({ files: 1, additions: 2, deletions: 1 });
    expect(newest.coverage).toEqual({ full: 1, partial: 0, statsOnly: 0, excluded: 0, promptTruncated: false });
    expect(newest.provenance?.model).toBe('qwen2.5-coder:7b');
    expect(newest.provenance?.createdAt).toBe('2026-03-01T12:02:00.000Z');
    expect(oldest.author).toEqual({ name: ALICE.name, email: ALICE.email, date: '2024-01-01T05:30:00+05:30', timestamp: 1_704_067_200 });
    expect(oldest.committer.name).toBe(BOB.name);
  });

  it('exports the newest report of several models', async () => {
    const { builder, dataDir, first } = await setUp();

    const result = await exportReports({ format: 'jsonl', cwd: builder.dir, dataDir, revisions: [first] });

    const lines = parseLines(result.content ?? '');
    expect(lines).toHaveLength(1);
    expect(lines[0]?.report.title).toBe('Report of a');
    expect(lines[0]?.provenance?.model).toBe('qwen2.5-coder:7b');
  });

  it('writes a private file atomically', async () => {
    const { builder, dataDir } = await setUp();
    const folder = makeTempDir('stepper-export-out-');
    const target = path.join(folder, 'reports.jsonl');
    fs.writeFileSync(target, 'old content\n', { mode: 0o644 });

    const result = await exportReports({ format: 'jsonl', cwd: builder.dir, dataDir, output: target });

    expect(result.output).toBe(target);
    expect(result.content).toBeNull();
    expect(parseLines(fs.readFileSync(target, 'utf8'))).toHaveLength(2);
    expect(fs.statSync(target).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(folder)).toEqual(['reports.jsonl']);
  });

  it('rejects bad output paths', async () => {
    const { builder, dataDir } = await setUp();
    const folder = makeTempDir('stepper-export-out-');

    for (const output of [path.join(folder, 'missing', 'reports.jsonl'), folder, '']) {
      await expect(exportReports({ format: 'jsonl', cwd: builder.dir, dataDir, output }), output).rejects.toBeInstanceOf(InvalidOptionError);
    }
    expect(fs.readdirSync(folder)).toEqual([]);
  });

  it('rejects options of other formats', async () => {
    const { builder, dataDir } = await setUp();

    await expect(exportReports({ format: 'jsonl', cwd: builder.dir, dataDir, ref: 'refs/notes/stepper' })).rejects.toThrow(/^invalid --ref: /);
    await expect(exportReports({ format: 'git-notes', cwd: builder.dir, dataDir, output: 'x.jsonl' })).rejects.toThrow(/^invalid --output: /);
    await expect(exportReports({ format: 'csv' as never, cwd: builder.dir, dataDir })).rejects.toThrow(/^invalid --format: expected git-notes, jsonl, git-cliff/);
  });
});
