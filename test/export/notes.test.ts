import { describe, expect, it } from 'vitest';

import { exportReports } from '../../src/api/export.js';
import { InvalidOptionError, StepperError } from '../../src/errors.js';
import { gitDirOf, newRepo } from '../helpers/report-queue.js';
import { fastImportCommit, fastImportFile, type RepoBuilder } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';
import { gitIn, openTestQueue, storeReport } from './helpers.js';

interface Scene {
  builder: RepoBuilder;
  dataDir: string;
  gitDir: string;
  shas: string[];
  queue: ReturnType<typeof openTestQueue>;
}

/** Builds a repository of three commits and stores a report of each. */
async function setUp(): Promise<Scene> {
  const builder = newRepo();
  const shas: string[] = [];
  for (const name of ['one', 'two', 'three']) {
    builder.write(`${name}.txt`, `${name}\n`);
    shas.push(builder.commit(`Add ${name}\n`));
  }

  const dataDir = makeTempDir('stepper-export-data-');
  const gitDir = await gitDirOf(builder);
  const queue = openTestQueue(dataDir);
  for (const [index, sha] of shas.entries()) {
    storeReport(queue.queue, gitDir, sha, { title: `Report ${index + 1}` });
    queue.tick();
  }
  queue.queue.close();
  return { builder, dataDir, gitDir, shas, queue };
}

function exportNotes(scene: Scene, extra: Partial<Parameters<typeof exportReports>[0]> = {}) {
  return exportReports({ format: 'git-notes', cwd: scene.builder.dir, dataDir: scene.dataDir, ...extra });
}

describe('git-notes export', () => {
  it('writes notes that git log reads back', async () => {
    const scene = await setUp();

    const result = await exportNotes(scene);

    expect(result.notes?.written).toBe(3);
    expect(result.notes?.unchanged).toBe(0);
    expect(result.notes?.ref).toBe('refs/notes/stepper');
    const notes = gitIn(scene.builder.dir, ['log', '--notes=stepper', '--format=%H%n%N%x00']);
    for (const [index, sha] of scene.shas.entries()) {
      const record = notes.split('\0').find((entry) => entry.trim().startsWith(sha)) ?? '';
      expect(record, sha).toContain(`Report ${index + 1}\n\nSummary of Report ${index + 1}.`);
    }
  });

  it('writes readable plain text', async () => {
    const scene = await setUp();

    await exportNotes(scene);

    const note = gitIn(scene.builder.dir, ['notes', '--ref=stepper', 'show', scene.shas[0]!]);
    const lines = note.split('\n');
    expect(lines[0]).toBe('Report 1');
    expect(lines).toContain('Changes:');
    expect(lines).toContain('- Change one of Report 1');
    expect(lines).toContain('Rationale:');
    expect(lines).toContain('Impact and tests:');
    expect(lines).toContain('Next steps:');
    expect(lines).toContain('Tags: export, tests');
    expect(lines).toContain('Model: qwen2.5-coder:7b');
    expect(lines).toContain('Generated: 2026-03-01 12:00 UTC');
    expect(note).toMatch(/\nStepper-Report: [0-9a-f-]{36}\n$/);
  });

  it('changes nothing on a second run', async () => {
    const scene = await setUp();
    const first = await exportNotes(scene);
    const tip = gitIn(scene.builder.dir, ['rev-parse', 'refs/notes/stepper']).trim();

    const second = await exportNotes(scene);

    expect(second.notes?.written).toBe(0);
    expect(second.notes?.unchanged).toBe(3);
    expect(second.notes?.commit).toBeNull();
    expect(gitIn(scene.builder.dir, ['rev-parse', 'refs/notes/stepper']).trim()).toBe(tip);
    expect(first.notes?.commit).toBe(tip);
  });

  it('replaces its own note after a newer report', async () => {
    const scene = await setUp();
    await exportNotes(scene);
    const first = gitIn(scene.builder.dir, ['rev-parse', 'refs/notes/stepper']).trim();
    const queue = openTestQueue(scene.dataDir);
    queue.tick(3_600_000);
    storeReport(queue.queue, scene.gitDir, scene.shas[1]!, { title: 'Forced report', model: 'qwen3:8b' });
    queue.queue.close();

    const result = await exportNotes(scene);

    expect(result.notes?.written).toBe(1);
    expect(result.notes?.unchanged).toBe(2);
    expect(gitIn(scene.builder.dir, ['notes', '--ref=stepper', 'show', scene.shas[1]!])).toMatch(/^Forced report\n[\s\S]*\nModel: qwen3:8b\n/);
    expect(gitIn(scene.builder.dir, ['rev-parse', 'refs/notes/stepper^']).trim()).toBe(first);
  });

  it('keeps notes stepper did not write', async () => {
    const scene = await setUp();
    const other = scene.builder.commit('Unreported commit\n', { allowEmpty: true });
    gitIn(scene.builder.dir, ['notes', '--ref=stepper', 'add', '-m', 'Reviewed by Ada', other]);
    gitIn(scene.builder.dir, ['notes', '--ref=stepper', 'add', '-m', 'Hand-written note', scene.shas[0]!]);

    const result = await exportNotes(scene);

    expect(result.notes?.written).toBe(2);
    expect(result.notes?.foreign).toEqual([scene.shas[0]]);
    expect(gitIn(scene.builder.dir, ['notes', '--ref=stepper', 'show', other])).toBe('Reviewed by Ada\n');
    expect(gitIn(scene.builder.dir, ['notes', '--ref=stepper', 'show', scene.shas[0]!])).toBe('Hand-written note\n');
    expect(gitIn(scene.builder.dir, ['notes', '--ref=stepper', 'show', scene.shas[2]!])).toMatch(/^Report 3\n/);
  });

  it('writes to another ref', async () => {
    const scene = await setUp();

    const result = await exportNotes(scene, { ref: 'team/diary' });

    expect(result.notes?.ref).toBe('refs/notes/team/diary');
    expect(gitIn(scene.builder.dir, ['log', '-1', '--notes=team/diary', '--format=%N'])).toMatch(/^Report 3\n/);
    expect(() => gitIn(scene.builder.dir, ['rev-parse', '--verify', '--quiet', 'refs/notes/stepper'])).toThrow();
  });

  it('keeps odd subjects, file names and escapes safe', async () => {
    const builder = newRepo();
    builder.write('name with "quotes"\nand a newline.txt', 'odd\n');
    const sha = builder.commit('Fix "quoted" things\nsecond subject line\n\nBody with \'single\' quotes\n');
    const dataDir = makeTempDir('stepper-export-data-');
    const queue = openTestQueue(dataDir);
    storeReport(queue.queue, await gitDirOf(builder), sha, {
      title: 'Fix "quoted" things',
      subject: 'Fix "quoted" things second subject line',
      report: { summary: 'Red \u001b[31mtext\u001b[0m and a bell\u0007.\n\n\nSecond paragraph.', changes: ['Rename "a\nb.txt"'] },
    });
    queue.queue.close();

    const result = await exportReports({ format: 'git-notes', cwd: builder.dir, dataDir });

    expect(result.notes?.written).toBe(1);
    const note = gitIn(builder.dir, ['notes', '--ref=stepper', 'show', sha]);
    expect(note.startsWith('Fix "quoted" things\n\nRed text and a bell.\nSecond paragraph.\n\nChanges:\n- Rename "a\n  b.txt"\n')).toBe(true);
    expect(note).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  });

  it('skips commits missing from the repository', async () => {
    const scene = await setUp();
    const pruned = 'f'.repeat(40);
    const queue = openTestQueue(scene.dataDir);
    storeReport(queue.queue, scene.gitDir, pruned, { title: 'Amended away' });
    queue.queue.close();

    const result = await exportNotes(scene);

    expect(result.missing).toEqual([pruned]);
    expect(result.exported).toBe(3);
    expect(result.notes?.written).toBe(3);
    expect(gitIn(scene.builder.dir, ['notes', '--ref=stepper', 'list']).trim().split('\n')).toHaveLength(3);
  });

  it('limits the export to revisions', async () => {
    const scene = await setUp();

    const result = await exportNotes(scene, { revisions: ['HEAD~1..HEAD', 'HEAD~2'] });

    expect(result.exported).toBe(2);
    const annotated = gitIn(scene.builder.dir, ['notes', '--ref=stepper', 'list'])
      .trim()
      .split('\n')
      .map((line) => line.split(' ')[1]);
    expect(annotated.sort()).toEqual([scene.shas[0], scene.shas[2]].sort());
  });

  it('rejects a repository without reports', async () => {
    const scene = await setUp();
    const empty = newRepo();
    empty.commit('Alone\n', { allowEmpty: true });

    const failure = exportReports({ format: 'git-notes', cwd: empty.dir, dataDir: scene.dataDir });

    await expect(failure).rejects.toMatchObject({ code: 'REPORT_NOT_FOUND', message: expect.stringMatching(/^no reports to export for the repository /) });
    expect(() => gitIn(empty.dir, ['rev-parse', '--verify', '--quiet', 'refs/notes/stepper'])).toThrow();
  });

  it('rejects a data directory without a database', async () => {
    const scene = await setUp();

    const failure = exportReports({ format: 'git-notes', cwd: scene.builder.dir, dataDir: makeTempDir('stepper-export-empty-') });

    await expect(failure).rejects.toMatchObject({ code: 'REPORT_NOT_FOUND', message: expect.stringContaining('has no database yet') });
  });

  it('rejects invalid refs', async () => {
    const scene = await setUp();

    for (const ref of ['bad..ref', 'refs/notes/with space', 'refs/notes/', 'ends.lock', '']) {
      const failure = exportNotes(scene, { ref });
      await expect(failure, ref).rejects.toBeInstanceOf(InvalidOptionError);
      await expect(exportNotes(scene, { ref }), ref).rejects.toThrow(/^invalid --ref: /);
    }
  });

  it('fails when the ref moves meanwhile', async () => {
    const scene = await setUp();
    await exportNotes(scene);
    const queue = openTestQueue(scene.dataDir);
    queue.tick(3_600_000);
    storeReport(queue.queue, scene.gitDir, scene.shas[0]!, { title: 'Newer report' });
    queue.queue.close();
    let moved = '';

    const failure = exportNotes(scene, {
      beforeNotesWrite: () => {
        gitIn(scene.builder.dir, ['notes', '--ref=stepper', 'add', '-f', '-m', 'Concurrent note', scene.shas[1]!]);
        moved = gitIn(scene.builder.dir, ['rev-parse', 'refs/notes/stepper']).trim();
      },
    });

    await expect(failure).rejects.toBeInstanceOf(StepperError);
    await expect(failure).rejects.toMatchObject({ code: 'NOTES_REF_MOVED' });
    expect(gitIn(scene.builder.dir, ['rev-parse', 'refs/notes/stepper']).trim()).toBe(moved);
    expect(gitIn(scene.builder.dir, ['notes', '--ref=stepper', 'show', scene.shas[1]!])).toBe('Concurrent note\n');
  });

  it('writes 1,200 notes in one commit', async () => {
    const builder = newRepo();
    const count = 1200;
    let stream = '';
    for (let day = 0; day < count; day++) {
      stream += fastImportCommit(`Commit ${day}\n`, day, fastImportFile('counter.txt', `${day}\n`));
    }
    builder.git(['fast-import', '--quiet'], { input: stream });
    const shas = builder.git(['rev-list', '--reverse', 'main']).trim().split('\n');
    expect(shas).toHaveLength(count);

    const dataDir = makeTempDir('stepper-export-data-');
    const gitDir = await gitDirOf(builder);
    const queue = openTestQueue(dataDir);
    for (const [index, sha] of shas.entries()) {
      storeReport(queue.queue, gitDir, sha, { title: `Bulk report ${index}` });
    }
    queue.queue.close();

    const result = await exportReports({ format: 'git-notes', cwd: builder.dir, dataDir });

    expect(result.notes?.written).toBe(count);
    expect(gitIn(builder.dir, ['rev-list', '--count', 'refs/notes/stepper']).trim()).toBe('1');
    expect(gitIn(builder.dir, ['notes', '--ref=stepper', 'list']).trim().split('\n')).toHaveLength(count);
    expect(gitIn(builder.dir, ['notes', '--ref=stepper', 'show', shas[777]!])).toMatch(/^Bulk report 777\n/);
    // fast-import fans the notes out into folders named by the first two hex digits once there are many.
    expect(gitIn(builder.dir, ['ls-tree', '--name-only', 'refs/notes/stepper']).split('\n')[0]).toMatch(/^[0-9a-f]{2}$/);

    const again = await exportReports({ format: 'git-notes', cwd: builder.dir, dataDir });
    expect(again.notes?.unchanged).toBe(count);
    expect(again.notes?.commit).toBeNull();
  }, 60_000);
});
