import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { buildEvidence, type EvidenceOptions } from '../../src/evidence/build.js';
import { renderEvidence } from '../../src/evidence/render.js';
import type { Evidence, EvidenceFile } from '../../src/evidence/types.js';
import { openRepository } from '../../src/git/repository.js';
import { RepoBuilder } from '../helpers/repo-builder.js';
import { buildRepo, type RepoName } from '../helpers/repos.js';
import { makeTempDir } from '../helpers/temp.js';

const BUDGET = 4000;

async function evidenceOf(name: RepoName, role: string, options: Partial<EvidenceOptions> = {}): Promise<Evidence> {
  const state = buildRepo(name);
  const repo = await openRepository(state.dir);
  return buildEvidence(repo, state.commits[role] as string, { tokenBudget: BUDGET, ...options });
}

function fileAt(evidence: Evidence, filePath: string): EvidenceFile {
  const found = evidence.files.find((entry) => entry.path === filePath);
  if (!found) {
    throw new Error(`file ${filePath} not found in the evidence, which lists ${evidence.files.map((entry) => entry.path).join(', ')}`);
  }
  return found;
}

function coverages(evidence: Evidence): Record<string, string> {
  return Object.fromEntries(evidence.files.map((entry) => [entry.path, entry.coverage]));
}

const FULL = 'full';

/** Every commit shape: what is included, what is excluded and why, and how many secrets were redacted. */
const SHAPES: Array<[string, RepoName, string, Partial<EvidenceOptions>, Record<string, string>, number]> = [
  ['root commit', 'root', 'root', {}, { 'README.md': FULL, 'src/app.ts': FULL }, 0],
  ['empty commit', 'empty', 'empty', {}, {}, 0],
  ['empty merge', 'empty', 'ours-merge', {}, {}, 0],
  ['merge, first parent', 'merge', 'evil-merge', {}, { 'a.txt': FULL, 'c.txt': FULL, 'evil.txt': FULL }, 0],
  ['merge, skip', 'merge', 'evil-merge', { mergePolicy: 'skip' }, {}, 0],
  ['merge, combined', 'merge', 'evil-merge', { mergePolicy: 'combined' }, { 'a.txt': FULL, 'evil.txt': FULL }, 0],
  ['rename-only', 'rename', 'rename-only', {}, { 'docs/manual.md': FULL }, 0],
  ['rename with edits', 'rename', 'rename-edit', {}, { 'lib/helpers.ts': FULL }, 0],
  ['copy', 'rename', 'copy', {}, { 'lib/helpers-copy.ts': FULL, 'lib/helpers.ts': FULL }, 0],
  ['mode-only', 'mode', 'mode', {}, { 'script.sh': FULL }, 0],
  ['type change', 'mode', 'typechange', {}, { 'link.txt': FULL }, 0],
  ['binary-only', 'binary', 'binary-modify', {}, { 'assets/image.png': 'excluded: binary' }, 0],
  [
    'lockfile-only',
    'lockfiles',
    'lockfiles',
    {},
    { 'Cargo.lock': 'excluded: lockfile', 'package-lock.json': 'excluded: lockfile', 'yarn.lock': 'excluded: lockfile' },
    0,
  ],
  ['submodule bump', 'submodule', 'submodule-bump', {}, { 'libs/sub': FULL }, 0],
  ['no trailing newline', 'no-newline', 'no-newline', {}, { 'notes.txt': FULL }, 0],
  ['non-UTF-8 content', 'latin1', 'latin1', {}, { 'legacy.txt': FULL }, 0],
  ['line-ending-only', 'crlf', 'crlf', {}, { 'lines.txt': FULL }, 0],
  ['missing parent', 'shallow', 'head', {}, {}, 0],
  ['linked worktree commit', 'worktree', 'worktree-commit', {}, { 'feature.txt': FULL }, 0],
  ['shell syntax message', 'shell-message', 'message', {}, { 'notes.txt': FULL }, 0],
  ['secrets', 'secrets', 'secrets', {}, { '.env': 'excluded: secret file', 'config/aws.ts': FULL, 'keys/deploy.pem': 'excluded: secret file' }, 1],
  [
    'generated and vendored',
    'generated',
    'generated',
    {},
    {
      'dist/bundle.js': 'excluded: gitattributes linguist-generated',
      'public/app.min.js': 'excluded: gitattributes linguist-generated',
      'src/index.ts': FULL,
      'vendor/lib/index.js': 'excluded: gitattributes linguist-vendored',
    },
    0,
  ],
];

describe('buildEvidence commit shapes', () => {
  it.each(SHAPES)('%s', async (_shape, name, role, options, expected, redactions) => {
    const evidence = await evidenceOf(name, role, options);

    expect(coverages(evidence)).toEqual(expected);
    expect(evidence.redactions).toBe(redactions);
    expect(evidence.estimatedTokens).toBeLessThanOrEqual(BUDGET);
    // A shape without files must explain why in a note.
    expect(evidence.files.length + evidence.notes.length).toBeGreaterThan(0);
  });
});

describe('buildEvidence root and empty commits', () => {
  it('root commit diffs against the empty tree', async () => {
    const evidence = await evidenceOf('root', 'root');

    expect(evidence.base).toEqual({ kind: 'empty-tree' });
    expect(evidence.notes).toContain('Root commit: it has no parent, so every file is shown as added.');
    expect(coverages(evidence)).toEqual({ 'README.md': 'full', 'src/app.ts': 'full' });
  });

  it('root commit shows the added lines', async () => {
    const app = fileAt(await evidenceOf('root', 'root'), 'src/app.ts');

    expect(app.status).toBe('added');
    expect(app.patch).toMatch(/^@@ -0,0 \+1,12 @@\n\+const value 1\n/);
    expect(app.patch).toContain('+const value 12\n');
  });

  it('empty commit states the policy', async () => {
    const evidence = await evidenceOf('empty', 'empty');

    expect(evidence.files).toEqual([]);
    expect(evidence.notes).toEqual(['Empty commit: no file changed.']);
    expect(evidence.identity.source).toBe('empty-commit');
  });

  it('empty commit renders an empty list', async () => {
    const text = renderEvidence(await evidenceOf('empty', 'empty'));

    expect(text).toContain('Changed files (0, +0 -0):\n');
    expect(text).not.toContain('Diff of');
  });
});

describe('buildEvidence merges', () => {
  it('first parent is the default', async () => {
    const state = buildRepo('merge');
    const evidence = await evidenceOf('merge', 'clean-merge');

    expect(evidence.mergePolicy).toBe('first-parent');
    expect(evidence.base).toEqual({ kind: 'parent', parent: state.commits['main-1'] });
    expect(coverages(evidence)).toEqual({ 'b.txt': 'full' });
  });

  it('first-parent note names the parent', async () => {
    const state = buildRepo('merge');
    const evidence = await evidenceOf('merge', 'clean-merge');

    expect(evidence.notes).toHaveLength(1);
    expect(evidence.notes[0]).toContain(`first parent ${state.commits['main-1']}`);
  });

  it('merge that changed files itself shows them', async () => {
    const evidence = await evidenceOf('merge', 'evil-merge');

    expect(coverages(evidence)).toEqual({ 'a.txt': 'full', 'c.txt': 'full', 'evil.txt': 'full' });
    expect(fileAt(evidence, 'a.txt').patch).toContain('-a 8\n+a eight, fixed in the merge\n');
    expect(fileAt(evidence, 'evil.txt').patch).toBe('@@ -0,0 +1 @@\n+added by the merge itself\n');
  });

  it('skip policy shows no changes', async () => {
    const state = buildRepo('merge');
    const evidence = await evidenceOf('merge', 'evil-merge', { mergePolicy: 'skip' });

    expect(evidence.base).toEqual({ kind: 'skipped-merge', parents: [state.commits['clean-merge'], state.commits['feature-2']] });
    expect(evidence.files).toEqual([]);
    expect(evidence.notes).toEqual(['Merge commit: its changes are not shown, because the merge policy is skip.']);
  });

  it('combined policy shows what differs from every parent', async () => {
    const evidence = await evidenceOf('merge', 'evil-merge', { mergePolicy: 'combined' });

    expect(evidence.base.kind).toBe('combined');
    expect(coverages(evidence)).toEqual({ 'a.txt': 'full', 'evil.txt': 'full' });
    expect(evidence.notes[0]).toContain('combined diff');
  });

  it('combined diffs reach the right files', async () => {
    const evidence = await evidenceOf('merge', 'evil-merge', { mergePolicy: 'combined' });

    expect(fileAt(evidence, 'a.txt').patch).toContain('++a eight, fixed in the merge\n');
    expect(fileAt(evidence, 'evil.txt').patch).toContain('++added by the merge itself\n');
  });

  it('combined clean merge is not called empty', async () => {
    const evidence = await evidenceOf('merge', 'clean-merge', { mergePolicy: 'combined' });

    expect(evidence.files).toEqual([]);
    expect(evidence.notes.join('\n')).not.toContain('Empty commit');
    expect(evidence.notes).toContain('No file differs from every parent: the merge took each file from one of its parents.');
  });

  it('combined rename merge keeps the edit', async () => {
    const evidence = await evidenceOf('merge', 'rename-merge', { mergePolicy: 'combined' });
    const renamed = fileAt(evidence, 'e.txt');

    expect(renamed.oldPath).toBe('d.txt');
    expect(renamed.patch).toContain('++appended by the merge\n');
  });

  it('invalid merge policy is rejected', async () => {
    await expect(evidenceOf('merge', 'clean-merge', { mergePolicy: 'theirs' as never })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });
});

describe('buildEvidence renames and modes', () => {
  it('rename-only is flagged and complete', async () => {
    const evidence = await evidenceOf('rename', 'rename-only');
    const manual = fileAt(evidence, 'docs/manual.md');

    expect(manual).toMatchObject({ status: 'renamed', oldPath: 'docs/guide.md', similarity: 100, coverage: 'full', patch: null });
    expect(manual.flags).toEqual(['rename-only']);
  });

  it('rename-only renders both paths', async () => {
    const text = renderEvidence(await evidenceOf('rename', 'rename-only'));

    expect(text).toContain('- renamed  docs/guide.md -> docs/manual.md (100% similar)  +0 -0  [full]  (same content as the old path)\n');
  });

  it('rename with edits shows the edits', async () => {
    const helpers = fileAt(await evidenceOf('rename', 'rename-edit'), 'lib/helpers.ts');

    expect(helpers).toMatchObject({ status: 'renamed', oldPath: 'lib/util.ts', coverage: 'full', flags: [] });
    expect(helpers.patch).toContain('-util 4\n+util four\n');
    expect(helpers.patch).toContain('-util 16\n+util sixteen\n');
  });

  it('copy names its source', async () => {
    const evidence = await evidenceOf('rename', 'copy');

    expect(fileAt(evidence, 'lib/helpers-copy.ts')).toMatchObject({ status: 'copied', oldPath: 'lib/helpers.ts', coverage: 'full', patch: null });
    expect(fileAt(evidence, 'lib/helpers.ts').patch).toContain('-util 10\n+util ten\n');
  });

  it('copy is not described as a rename', async () => {
    const text = renderEvidence(await evidenceOf('rename', 'copy'));
    const line = text.split('\n').find((entry) => entry.startsWith('- copied')) ?? '';

    expect(line).toContain('lib/helpers.ts -> lib/helpers-copy.ts');
    expect(line).not.toContain('renamed');
  });

  it('mode-only change is flagged', async () => {
    const script = fileAt(await evidenceOf('mode', 'mode'), 'script.sh');

    expect(script).toMatchObject({ oldMode: '100644', newMode: '100755', coverage: 'full', patch: null });
    expect(script.flags).toEqual(['mode-only']);
  });

  it('mode-only change renders the modes', async () => {
    expect(renderEvidence(await evidenceOf('mode', 'mode'))).toContain('- modified  script.sh  +0 -0  mode 100644 -> 100755  [full]\n');
  });

  it('file to symlink is one file with both halves', async () => {
    const evidence = await evidenceOf('mode', 'typechange');

    expect(evidence.files).toHaveLength(1);
    expect(evidence.files[0]).toMatchObject({ path: 'link.txt', status: 'type-changed', coverage: 'full' });
    expect(evidence.files[0]?.patch).toBe('@@ -1 +0,0 @@\n-a regular file for now\n@@ -0,0 +1 @@\n+target.txt\n');
  });

  it('symlink target without newline is flagged', async () => {
    const link = fileAt(await evidenceOf('mode', 'typechange'), 'link.txt');

    expect(link.flags).toEqual(['no-trailing-newline']);
  });
});

describe('buildEvidence content shapes', () => {
  it('binary-only commit is excluded as binary', async () => {
    const evidence = await evidenceOf('binary', 'binary-modify');

    expect(evidence.files).toHaveLength(1);
    expect(fileAt(evidence, 'assets/image.png')).toMatchObject({ binary: true, coverage: 'excluded: binary', patch: null });
    expect(renderEvidence(evidence)).toContain('- modified  assets/image.png  binary  [excluded: binary]\n');
  });

  it('added binary is excluded as binary', async () => {
    expect(coverages(await evidenceOf('binary', 'binary-add'))).toEqual({ 'assets/image.png': 'excluded: binary' });
  });

  it('lockfile-only commit is excluded as lockfiles', async () => {
    const evidence = await evidenceOf('lockfiles', 'lockfiles');

    expect(coverages(evidence)).toEqual({
      'Cargo.lock': 'excluded: lockfile',
      'package-lock.json': 'excluded: lockfile',
      'yarn.lock': 'excluded: lockfile',
    });
    expect(evidence.files.every((entry) => entry.patch === null)).toBe(true);
  });

  it('lockfile content never reaches the text', async () => {
    const text = renderEvidence(await evidenceOf('lockfiles', 'lockfiles'));

    expect(text).not.toContain('left-pad');
    expect(text).not.toContain('Diff of');
  });

  it('submodule bump is flagged with both commits', async () => {
    const state = buildRepo('submodule');
    const sub = fileAt(await evidenceOf('submodule', 'submodule-bump'), 'libs/sub');

    expect(sub.submodule).toEqual({ oldCommit: state.commits['sub-old'], newCommit: state.commits['sub-new'] });
    expect(sub).toMatchObject({ coverage: 'full', patch: null, flags: ['submodule'] });
  });

  it('submodule bump renders both commits', async () => {
    const state = buildRepo('submodule');
    const text = renderEvidence(await evidenceOf('submodule', 'submodule-bump'));

    expect(text).toContain(`submodule ${state.commits['sub-old']} -> ${state.commits['sub-new']}  [full]`);
    expect(text).not.toContain('Subproject commit');
  });

  it('missing final newline is flagged without the marker', async () => {
    const evidence = await evidenceOf('no-newline', 'no-newline');
    const notes = fileAt(evidence, 'notes.txt');

    expect(notes.flags).toEqual(['no-trailing-newline']);
    expect(notes.patch).toBe('@@ -1,2 +1,3 @@\n alpha\n beta\n+gamma\n');
    expect(renderEvidence(evidence)).not.toContain('\\ No newline');
  });

  it('non-UTF-8 content is decoded lossily and flagged', async () => {
    const legacy = fileAt(await evidenceOf('latin1', 'latin1'), 'legacy.txt');

    expect(legacy.flags).toEqual(['non-utf8']);
    expect(legacy.coverage).toBe('full');
    expect(legacy.patch).toBe('@@ -1,2 +1,2 @@\n-caf\ufffd\n+caf\ufffd cr\ufffdme br\ufffdl\ufffde\n na\ufffdve\n');
  });

  it('line-ending-only change shows no rewritten lines', async () => {
    const evidence = await evidenceOf('crlf', 'crlf');
    const lines = fileAt(evidence, 'lines.txt');

    expect(lines).toMatchObject({ additions: 5, deletions: 5, coverage: 'full', patch: null });
    expect(lines.flags).toEqual(['line-endings-only']);
    expect(renderEvidence(evidence)).not.toContain('Diff of');
  });

  it('line-ending change with an edit shows the diff', async () => {
    const builder = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
    builder.write('lines.txt', 'one\ntwo\nthree\n');
    builder.commit('Add lines\n');
    builder.write('lines.txt', 'one\r\nTWO\r\nthree\r\n');
    const sha = builder.commit('Convert and edit\n');
    const evidence = await buildEvidence(await openRepository(builder.dir), sha, { tokenBudget: BUDGET });

    expect(evidence.files[0]?.flags).toEqual([]);
    expect(evidence.files[0]?.patch).toContain('+TWO\r\n');
  });

  it('long lines are flagged', async () => {
    const builder = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
    builder.write('src/table.ts', `export const table = '${'é'.repeat(50_000)}';\n`);
    const sha = builder.commit('Add a table\n');
    const table = (await buildEvidence(await openRepository(builder.dir), sha, { tokenBudget: 40_000 })).files[0] as EvidenceFile;

    expect(table.flags).toEqual(['long-lines']);
    expect(table.coverage).toBe('partial');
    expect(table.patch).not.toContain('\ufffd');
  });
});

describe('buildEvidence many files', () => {
  it('thousands of files are grouped by directory', async () => {
    const evidence = await evidenceOf('many-files', 'many-files', { tokenBudget: 1000 });

    expect(evidence.files).toHaveLength(3000);
    expect(evidence.directories?.length).toBeGreaterThan(0);
    expect(evidence.notes).toContain('3000 files changed, too many to list within the budget, so they are grouped by directory.');
  });

  it('grouped output stays within the budget', async () => {
    for (const tokenBudget of [256, 600, 1000, 3000]) {
      const evidence = await evidenceOf('many-files', 'many-files', { tokenBudget });

      expect(evidence.estimatedTokens).toBeLessThanOrEqual(tokenBudget);
      expect(Buffer.byteLength(renderEvidence(evidence))).toBeLessThanOrEqual(tokenBudget * 3);
    }
  });

  it('grouped directories count every file', async () => {
    const evidence = await evidenceOf('many-files', 'many-files', { tokenBudget: 1000 });

    expect(evidence.directories?.reduce((total, group) => total + group.files, 0)).toBe(3000);
  });

  it('large budget lists every file', async () => {
    const evidence = await evidenceOf('many-files', 'many-files', { tokenBudget: 200_000 });

    expect(evidence.directories).toBeNull();
    expect(renderEvidence(evidence)).toContain('- added  files/d29/f2999.txt  +1 -0  [full]\n');
  });
});

describe('buildEvidence repositories', () => {
  it('missing parent in a shallow clone is a note', async () => {
    const state = buildRepo('shallow');
    const evidence = await evidenceOf('shallow', 'head');

    expect(evidence.base).toEqual({ kind: 'parent-missing', parent: state.commits['missing-parent'] });
    expect(evidence.files).toEqual([]);
    expect(evidence.notes).toHaveLength(1);
    expect(evidence.notes[0]).toContain('missing from this shallow clone');
  });

  it('missing parent keeps the commit id as identity', async () => {
    const state = buildRepo('shallow');
    const evidence = await evidenceOf('shallow', 'head');

    expect(evidence.identity).toEqual({ id: state.commits.head, source: 'commit-sha' });
  });

  it('commit made in a linked worktree', async () => {
    const state = buildRepo('worktree');
    const repo = await openRepository(state.dirs.worktree as string);
    const evidence = await buildEvidence(repo, state.commits['worktree-commit'] as string, { tokenBudget: BUDGET });

    expect(evidence.repository).toBe(fs.realpathSync(state.gitDir));
    expect(coverages(evidence)).toEqual({ 'feature.txt': 'full' });
    expect(fileAt(evidence, 'feature.txt').patch).toBe('@@ -0,0 +1 @@\n+made in the linked worktree\n');
  });

  it('linked worktree commit read from the main worktree', async () => {
    const state = buildRepo('worktree');
    const fromMain = await buildEvidence(await openRepository(state.dir), state.commits['worktree-commit'] as string, { tokenBudget: BUDGET });
    const fromLinked = await buildEvidence(await openRepository(state.dirs.worktree as string), state.commits['worktree-commit'] as string, {
      tokenBudget: BUDGET,
    });

    expect(fromLinked).toEqual(fromMain);
  });

  it('bare repository gives the same evidence', async () => {
    const bare = buildRepo('bare');
    const source = await buildEvidence(await openRepository(bare.dirs.source as string), bare.commits.root as string, { tokenBudget: BUDGET });
    const fromBare = await buildEvidence(await openRepository(bare.dir), bare.commits.root as string, { tokenBudget: BUDGET });

    expect({ ...fromBare, repository: '' }).toEqual({ ...source, repository: '' });
  });
});
