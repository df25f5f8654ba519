import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { buildEvidence, type EvidenceOptions } from '../../src/evidence/build.js';
import { renderEvidence } from '../../src/evidence/render.js';
import type { Evidence, EvidenceFile } from '../../src/evidence/types.js';
import { openRepository } from '../../src/git/repository.js';
import { numberedLines, RepoBuilder } from '../helpers/repo-builder.js';
import {
  buildRepo,
  FAKE_SECRETS,
  LATIN1_FILE_NAME,
  ODD_FILE_NAMES,
  ODD_RENAME,
  type RepoName,
  SHELL_MARKERS,
  SHELL_MESSAGE,
} from '../helpers/repos.js';
import { makeTempDir } from '../helpers/temp.js';

async function evidenceOf(name: RepoName, role: string, options: Partial<EvidenceOptions> = {}): Promise<Evidence> {
  const state = buildRepo(name);
  const repo = await openRepository(state.dir);
  return buildEvidence(repo, state.commits[role] as string, { tokenBudget: 4000, ...options });
}

function fileAt(evidence: Evidence, filePath: string): EvidenceFile {
  const found = evidence.files.find((entry) => entry.path === filePath);
  if (!found) {
    throw new Error(`file ${JSON.stringify(filePath)} not found in the evidence, which lists ${JSON.stringify(evidence.files.map((entry) => entry.path))}`);
  }
  return found;
}

function coverages(evidence: Evidence): Record<string, string> {
  return Object.fromEntries(evidence.files.map((entry) => [entry.path, entry.coverage]));
}

/** Returns the 8-character windows of `secret` found in `text`, so an empty list means no part leaked. */
function leakedParts(secret: string, text: string): string[] {
  const parts: string[] = [];
  for (let start = 0; start + 8 <= secret.length; start += 1) {
    const window = secret.slice(start, start + 8);
    if (text.includes(window)) {
      parts.push(window);
    }
  }
  return parts;
}

/** The secret values the `secrets` state commits, without the PEM markers that name no secret. */
const SECRET_VALUES = [
  FAKE_SECRETS.awsAccessKeyId,
  'fake-password-123',
  'fake-token-0123456789abcdef',
  ...FAKE_SECRETS.privateKey.split('\n').filter((line) => line.length > 0 && !line.startsWith('-----')),
];

/** A fake GitHub token, assembled at run time so this file contains no string a secret scanner flags. */
const FAKE_GITHUB_TOKEN = `${'gh'}p_Fake0Token1For2Redaction3Tests4Only5`;

/** Copies a built state into a fresh folder, so its config can change without affecting other tests. */
function copyOf(name: RepoName): { builder: RepoBuilder; commits: Record<string, string> } {
  const state = buildRepo(name);
  const target = path.join(makeTempDir(), name);
  fs.cpSync(state.dir, target, { recursive: true, verbatimSymlinks: true });
  return { builder: new RepoBuilder(target), commits: state.commits };
}

async function evidenceIn(builder: RepoBuilder, sha: string, options: Partial<EvidenceOptions> = {}): Promise<Evidence> {
  return buildEvidence(await openRepository(builder.dir), sha, { tokenBudget: 4000, ...options });
}

describe('buildEvidence secrets', () => {
  it('renamed secret file stays excluded', async () => {
    const { builder } = copyOf('root');
    const secret = `SESSION_VALUE=${'Tr0ub4'}dor3xyzPlain\nOTHER=1\n`;
    builder.write('.env', secret);
    builder.commit('Add settings\n');
    builder.git(['mv', '.env', 'env.backup']);
    builder.write('env.backup', `${secret}MORE=2\n`);
    const renamed = builder.commit('Keep a backup of the settings\n');

    const evidence = await evidenceIn(builder, renamed);

    expect(fileAt(evidence, 'env.backup').coverage).toBe('excluded: secret file');
    expect(renderEvidence(evidence)).not.toContain('dor3xyzPlain');
  });

  it('secret files are excluded', async () => {
    const evidence = await evidenceOf('secrets', 'secrets');

    expect(coverages(evidence)).toEqual({
      '.env': 'excluded: secret file',
      'config/aws.ts': 'full',
      'keys/deploy.pem': 'excluded: secret file',
    });
  });

  it('secret in a diff is redacted and counted', async () => {
    const evidence = await evidenceOf('secrets', 'secrets');

    expect(fileAt(evidence, 'config/aws.ts').patch).toBe("@@ -0,0 +1 @@\n+export const accessKeyId = '[REDACTED:aws-access-key]';\n");
    expect(evidence.redactions).toBe(1);
    expect(evidence.notes).toContain('1 secret was replaced by [REDACTED:…] markers.');
  });

  it('rendered text holds no part of a secret', async () => {
    const text = renderEvidence(await evidenceOf('secrets', 'secrets'));

    for (const secret of SECRET_VALUES) {
      expect(leakedParts(secret, text)).toEqual([]);
    }
  });

  it('secrets in the message are redacted and counted', async () => {
    const builder = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
    builder.write('src/a.ts', 'export const a = 1;\n');
    const message = [
      `Rotate ${FAKE_SECRETS.awsAccessKeyId} out of the config`,
      '',
      'The old database_password = "fake-hunter2-value" is gone.',
      '',
      `Deploy-Token: ${FAKE_GITHUB_TOKEN}`,
      '',
    ].join('\n');
    const evidence = await evidenceIn(builder, builder.commit(message));
    const text = renderEvidence(evidence);

    expect(evidence.redactions).toBe(3);
    expect(evidence.commit.subject).toBe('Rotate [REDACTED:aws-access-key] out of the config');
    expect(evidence.commit.trailers).toEqual([{ key: 'Deploy-Token', value: '[REDACTED:github-token]' }]);
    for (const secret of [FAKE_SECRETS.awsAccessKeyId, 'fake-hunter2-value', FAKE_GITHUB_TOKEN]) {
      expect(leakedParts(secret, text)).toEqual([]);
    }
  });

  it('secret in a trailer is counted once', async () => {
    const builder = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
    builder.write('a.txt', 'a\n');
    const evidence = await evidenceIn(builder, builder.commit(`Add a\n\nBody.\n\nDeploy-Token: ${FAKE_GITHUB_TOKEN}\n`));

    expect(evidence.redactions).toBe(1);
    expect(evidence.notes).toContain('1 secret was replaced by [REDACTED:…] markers.');
  });

  it('cut diff never shows part of a key', async () => {
    const builder = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
    builder.write('src/keys.ts', `${numberedLines(30, '// filler')}export const key = \`${FAKE_SECRETS.privateKey}\`;\n`);
    const sha = builder.commit('Add the key\n');
    const repo = await openRepository(builder.dir);

    for (let tokenBudget = 300; tokenBudget <= 620; tokenBudget += 20) {
      const evidence = await buildEvidence(repo, sha, { tokenBudget });
      const text = renderEvidence(evidence);
      for (const secret of SECRET_VALUES.slice(3)) {
        expect({ tokenBudget, leaked: leakedParts(secret, text) }).toEqual({ tokenBudget, leaked: [] });
      }
    }
  });
});

describe('buildEvidence generated and vendored files', () => {
  it('gitattributes exclusions give their reason', async () => {
    const evidence = await evidenceOf('generated', 'generated');

    expect(coverages(evidence)).toEqual({
      'dist/bundle.js': 'excluded: gitattributes linguist-generated',
      'public/app.min.js': 'excluded: gitattributes linguist-generated',
      'src/index.ts': 'full',
      'vendor/lib/index.js': 'excluded: gitattributes linguist-vendored',
    });
  });

  it('excluded content never reaches the text', async () => {
    const evidence = await evidenceOf('generated', 'generated');
    const text = renderEvidence(evidence);

    expect(text).not.toContain('bundle");');
    expect(text).not.toContain('module.exports');
    expect(text).not.toContain('function a()');
    expect(text).toContain('+export const answer = 42;\n');
  });

  it('default rules apply without attributes', async () => {
    const builder = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
    builder.write('README.md', '# Project\n');
    builder.commit('Base\n');
    builder.write('vendor/lib/index.js', 'module.exports = {};\n');
    builder.write('public/app.min.js', 'function a(){return 1}\n');
    builder.write('dist/out.js', 'console.log(1);\n');
    builder.write('src/app.js.map', '{"version":3}\n');
    builder.write('api/service.pb.go', 'package api\n');
    builder.write('src/main.ts', 'export const main = 1;\n');
    const evidence = await evidenceIn(builder, builder.commit('Add generated files\n'));

    expect(coverages(evidence)).toEqual({
      'api/service.pb.go': 'excluded: generated',
      'dist/out.js': 'excluded: build output',
      'public/app.min.js': 'excluded: minified',
      'src/app.js.map': 'excluded: source map',
      'src/main.ts': 'full',
      'vendor/lib/index.js': 'excluded: vendored',
    });
  });

  it('diff and binary attributes exclude a file', async () => {
    const builder = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
    builder.write('.gitattributes', '*.dat -diff\n*.bin binary\n');
    builder.commit('Add attributes\n');
    builder.write('data/table.dat', 'plain text data\n');
    builder.write('data/blob.bin', 'also text\n');
    const evidence = await evidenceIn(builder, builder.commit('Add data\n'));

    expect(coverages(evidence)).toEqual({
      'data/blob.bin': 'excluded: gitattributes binary',
      'data/table.dat': 'excluded: gitattributes -diff',
    });
  });

  it('attributes come from the commit, not the worktree', async () => {
    const builder = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
    builder.write('gen/api.ts', 'export const v = 1;\n');
    const before = builder.commit('Add the api\n');
    builder.write('.gitattributes', 'gen/** linguist-generated\n');
    builder.write('gen/api.ts', 'export const v = 2;\n');
    const after = builder.commit('Mark the api generated\n');
    // An uncommitted rule in the worktree applies to neither commit.
    builder.write('.gitattributes', 'gen/** linguist-generated\n.gitattributes linguist-generated\n');

    expect(coverages(await evidenceIn(builder, before))).toEqual({ 'gen/api.ts': 'full' });
    expect(coverages(await evidenceIn(builder, after))).toEqual({
      '.gitattributes': 'full',
      'gen/api.ts': 'excluded: gitattributes linguist-generated',
    });
  });
});

describe('buildEvidence stepper.exclude', () => {
  it('config patterns add to the defaults', async () => {
    const { builder, commits } = copyOf('modify');
    builder.git(['config', '--add', 'stepper.exclude', 'README.md']);
    builder.git(['config', '--add', 'stepper.exclude', '*.log']);
    const evidence = await evidenceIn(builder, commits.modify as string);

    expect(coverages(evidence)).toEqual({ 'README.md': 'excluded: user pattern README.md', 'src/app.ts': 'full' });
    expect(renderEvidence(evidence)).not.toContain('Second line');
  });

  it('config pattern matches a directory', async () => {
    const { builder, commits } = copyOf('modify');
    builder.git(['config', '--add', 'stepper.exclude', 'src/']);

    expect(coverages(await evidenceIn(builder, commits.modify as string))).toEqual({ 'README.md': 'full', 'src/app.ts': 'excluded: user pattern src/' });
  });

  it('config patterns keep the default reasons', async () => {
    const { builder, commits } = copyOf('lockfiles');
    builder.git(['config', '--add', 'stepper.exclude', 'Cargo.lock']);
    builder.git(['config', '--add', 'stepper.exclude', '!yarn.lock']);

    expect(coverages(await evidenceIn(builder, commits.lockfiles as string))).toEqual({
      'Cargo.lock': 'excluded: lockfile',
      'package-lock.json': 'excluded: lockfile',
      'yarn.lock': 'excluded: lockfile',
    });
  });

  it('config in the copy leaves the original alone', async () => {
    const { builder, commits } = copyOf('modify');
    builder.git(['config', '--add', 'stepper.exclude', 'src/']);

    expect(coverages(await evidenceOf('modify', 'modify'))).toEqual({ 'README.md': 'full', 'src/app.ts': 'full' });
    expect(commits.modify).toBe(buildRepo('modify').commits.modify);
  });

  it('option patterns exclude files', async () => {
    const evidence = await evidenceOf('modify', 'modify', { excludePatterns: ['src/**/*.ts'] });

    expect(coverages(evidence)).toEqual({ 'README.md': 'full', 'src/app.ts': 'excluded: user pattern src/**/*.ts' });
  });

  it('option patterns replace the config values', async () => {
    const { builder, commits } = copyOf('modify');
    builder.git(['config', '--add', 'stepper.exclude', 'README.md']);
    const evidence = await evidenceIn(builder, commits.modify as string, { excludePatterns: ['src/'] });

    expect(coverages(evidence)).toEqual({ 'README.md': 'full', 'src/app.ts': 'excluded: user pattern src/' });
  });

  it('option patterns add to the defaults', async () => {
    const evidence = await evidenceOf('generated', 'generated', { excludePatterns: ['src/', '!vendor/'] });

    expect(coverages(evidence)).toEqual({
      'dist/bundle.js': 'excluded: gitattributes linguist-generated',
      'public/app.min.js': 'excluded: gitattributes linguist-generated',
      'src/index.ts': 'excluded: user pattern src/',
      'vendor/lib/index.js': 'excluded: gitattributes linguist-vendored',
    });
  });

  it('empty option excludes nothing more', async () => {
    const { builder, commits } = copyOf('modify');
    builder.git(['config', '--add', 'stepper.exclude', 'README.md']);

    expect(coverages(await evidenceIn(builder, commits.modify as string, { excludePatterns: [] }))).toEqual({
      'README.md': 'full',
      'src/app.ts': 'full',
    });
  });
});

describe('buildEvidence odd file names', () => {
  it('paths survive exactly', async () => {
    const evidence = await evidenceOf('odd-names', 'odd-add');

    expect(evidence.files.map((entry) => entry.path).sort()).toEqual([...ODD_FILE_NAMES].sort());
  });

  it('each diff belongs to its own file', async () => {
    const evidence = await evidenceOf('odd-names', 'odd-add');

    for (const name of ODD_FILE_NAMES) {
      expect(fileAt(evidence, name).patch).toMatch(new RegExp(`^@@ -0,0 \\+1,7 @@\\n\\+content of ${escapeRegExp(JSON.stringify(name))}\\n`));
    }
  });

  it('modified odd files keep their diffs', async () => {
    const evidence = await evidenceOf('odd-names', 'odd-modify');

    for (const name of ODD_FILE_NAMES) {
      expect(fileAt(evidence, name).patch).toContain(`+one more line\n`);
      expect(fileAt(evidence, name).coverage).toBe('full');
    }
  });

  it('rename keeps both paths exactly', async () => {
    const evidence = await evidenceOf('odd-names', 'odd-rename');

    expect(evidence.files).toHaveLength(1);
    expect(evidence.files[0]).toMatchObject({ path: ODD_RENAME.to, oldPath: ODD_RENAME.from, status: 'renamed' });
  });

  it('non-UTF-8 name is marked lossy', async () => {
    const evidence = await evidenceOf('odd-names', 'latin1-name');

    expect(evidence.files[0]).toMatchObject({ path: 'caf\ufffd.txt', lossyPath: true, coverage: 'full' });
    expect(LATIN1_FILE_NAME.toString('utf8')).toBe('caf\ufffd.txt');
  });

  it('rendered list keeps one line per file', async () => {
    const evidence = await evidenceOf('odd-names', 'odd-add');
    const text = renderEvidence(evidence);
    const list = text.slice(text.indexOf('Changed files'), text.indexOf('\n\n', text.indexOf('Changed files'))).split('\n');

    expect(list).toHaveLength(ODD_FILE_NAMES.length + 1);
    expect(list.slice(1).every((line) => line.startsWith('- added  '))).toBe(true);
  });

  it('rendering quotes control characters', async () => {
    const text = renderEvidence(await evidenceOf('odd-names', 'odd-add'));

    expect(text).toContain('- added  "new\\nline.txt"  +7 -0  [full]\n');
    expect(text).toContain('- added  "tab\\there.txt"  +7 -0  [full]\n');
    expect(text).toContain('Diff of "new\\nline.txt" [full]:\n');
    expect(text).not.toContain('new\nline.txt');
  });

  it('quoted rename reads back exactly', async () => {
    const text = renderEvidence(await evidenceOf('odd-names', 'odd-rename'));
    const line = text.split('\n').find((entry) => entry.startsWith('- renamed')) ?? '';
    const quoted = /^- renamed {2}("(?:[^"\\]|\\.)*") -> ("(?:[^"\\]|\\.)*")/.exec(line);

    expect(JSON.parse(quoted?.[1] ?? 'null')).toBe(ODD_RENAME.from);
    expect(JSON.parse(quoted?.[2] ?? 'null')).toBe(ODD_RENAME.to);
  });

  it('combined merge maps odd names to their diffs', async () => {
    const builder = RepoBuilder.init(path.join(makeTempDir(), 'repo'));
    const names = [...ODD_FILE_NAMES, LATIN1_FILE_NAME];
    for (const name of names) {
      builder.write(name, numberedLines(8, 'base'));
    }
    builder.commit('Base\n');
    builder.git(['switch', '-q', '-c', 'side']);
    builder.write('side.txt', 'side\n');
    builder.commit('Side\n');
    builder.git(['switch', '-q', 'main']);
    builder.write('main.txt', 'main\n');
    builder.commit('Main\n');
    builder.git(['merge', '-q', '--no-ff', '--no-commit', 'side']);
    names.forEach((name, index) => builder.write(name, `${numberedLines(8, 'base')}merge edit ${index}\n`));
    const merge = builder.commit('Merge side with edits\n');
    const evidence = await evidenceIn(builder, merge, { mergePolicy: 'combined', tokenBudget: 20_000 });

    expect(evidence.files).toHaveLength(names.length);
    names.forEach((name, index) => {
      const decoded = typeof name === 'string' ? name : name.toString('utf8');
      expect(fileAt(evidence, decoded).patch).toContain(`++merge edit ${index}\n`);
    });
  });
});

describe('buildEvidence shell syntax in messages', () => {
  it('message is kept as data', async () => {
    const evidence = await evidenceOf('shell-message', 'message');

    expect(evidence.commit.subject).toBe('Fix $(touch pwned-subject) handling');
    expect(evidence.commit.body).toBe(SHELL_MESSAGE.split('\n').slice(2).join('\n').trimEnd());
  });

  it('rendered text holds the message verbatim', async () => {
    const text = renderEvidence(await evidenceOf('shell-message', 'message'));

    expect(text).toContain(`Message:\n${SHELL_MESSAGE.trimEnd()}\n`);
  });

  it('no marker file is created', async () => {
    const state = buildRepo('shell-message');
    const evidence = await evidenceOf('shell-message', 'message');
    renderEvidence(evidence);

    for (const folder of [state.dir, state.gitDir, process.cwd(), os.tmpdir()]) {
      for (const marker of SHELL_MARKERS) {
        expect({ path: path.join(folder, marker), exists: fs.existsSync(path.join(folder, marker)) }).toEqual({
          path: path.join(folder, marker),
          exists: false,
        });
      }
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
