import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { buildEvidence } from '../../src/evidence/build.js';
import type { Evidence } from '../../src/evidence/types.js';
import { changeIdentity } from '../../src/git/patch-id.js';
import { readCommit } from '../../src/git/commit.js';
import { openRepository } from '../../src/git/repository.js';
import { RepoBuilder } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';

async function evidenceIn(builder: RepoBuilder, sha: string): Promise<Evidence> {
  return buildEvidence(await openRepository(builder.dir), sha, { tokenBudget: 4000 });
}

function coverages(evidence: Evidence): Record<string, string> {
  return Object.fromEntries(evidence.files.map((entry) => [entry.path, entry.coverage]));
}

function newBuilder(): RepoBuilder {
  return RepoBuilder.init(path.join(makeTempDir(), 'repo'));
}

describe('buildEvidence attribute files', () => {
  it('nested file overrides the top one', async () => {
    const builder = newBuilder();
    builder.write('.gitattributes', 'gen/** linguist-generated\n');
    builder.write('gen/.gitattributes', 'keep.ts -linguist-generated\n');
    builder.commit('Add attributes\n');
    builder.write('gen/api.ts', 'export const api = 1;\n');
    builder.write('gen/keep.ts', 'export const keep = 1;\n');

    const evidence = await evidenceIn(builder, builder.commit('Add generated code\n'));

    expect(coverages(evidence)).toEqual({ 'gen/api.ts': 'excluded: gitattributes linguist-generated', 'gen/keep.ts': 'full' });
  });

  it('file in an unrelated folder does not apply', async () => {
    const builder = newBuilder();
    builder.write('other/.gitattributes', '*.ts linguist-generated\n');
    builder.commit('Add attributes\n');
    builder.write('src/app.ts', 'export const app = 1;\n');

    const evidence = await evidenceIn(builder, builder.commit('Add the app\n'));

    expect(coverages(evidence)).toEqual({ 'src/app.ts': 'full' });
  });

  it('folder with a newline in its name', async () => {
    const builder = newBuilder();
    builder.write('odd\nfolder/.gitattributes', '*.ts linguist-generated\n');
    builder.commit('Add attributes\n');
    builder.write('odd\nfolder/api.ts', 'export const api = 1;\n');

    const evidence = await evidenceIn(builder, builder.commit('Add the api\n'));

    expect(coverages(evidence)).toEqual({ 'odd\nfolder/api.ts': 'excluded: gitattributes linguist-generated' });
  });

  it('folder whose name is not UTF-8', async () => {
    const builder = newBuilder();
    const folder = Buffer.from('caf\xe9', 'latin1');
    fs.mkdirSync(Buffer.concat([Buffer.from(`${builder.dir}/`), folder]));
    builder.write(Buffer.concat([folder, Buffer.from('/.gitattributes')]), '*.ts linguist-generated\n');
    builder.commit('Add attributes\n');
    builder.write(Buffer.concat([folder, Buffer.from('/api.ts')]), 'export const api = 1;\n');

    const evidence = await evidenceIn(builder, builder.commit('Add the api\n'));

    expect(Object.values(coverages(evidence))).toEqual(['excluded: gitattributes linguist-generated']);
  });

  it('folder named .gitattributes is ignored', async () => {
    const builder = newBuilder();
    builder.write('.gitattributes/notes.txt', '* linguist-generated\n');
    builder.write('src/app.ts', 'export const app = 1;\n');

    const evidence = await evidenceIn(builder, builder.commit('Add the app\n'));

    expect(coverages(evidence)).toEqual({ '.gitattributes/notes.txt': 'full', 'src/app.ts': 'full' });
  });

  it('merge applies the attributes of the merge', async () => {
    const builder = newBuilder();
    builder.write('a.txt', 'a\n');
    builder.commit('Base\n');
    builder.git(['switch', '-q', '-c', 'feature']);
    builder.write('gen/api.ts', 'export const api = 1;\n');
    builder.commit('Add the api\n');
    builder.git(['switch', '-q', 'main']);
    builder.write('.gitattributes', 'gen/** linguist-generated\n');
    builder.commit('Mark gen as generated\n');
    builder.git(['merge', '-q', '--no-ff', '--no-edit', 'feature']);

    const evidence = await evidenceIn(builder, builder.advance());

    expect(coverages(evidence)).toEqual({ 'gen/api.ts': 'excluded: gitattributes linguist-generated' });
  });
});

describe('buildEvidence single diff read', () => {
  it('identity matches changeIdentity', async () => {
    const builder = newBuilder();
    builder.write('a.txt', 'one\ntwo\n');
    builder.commit('Base\n');
    builder.write('a.txt', 'one\ntwo\nthree\n');
    builder.write('b.bin', Buffer.from([0, 1, 2, 3]));
    const sha = builder.commit('Grow a, add b\n');
    const repo = await openRepository(builder.dir);

    const evidence = await buildEvidence(repo, sha, { tokenBudget: 4000 });

    expect(evidence.identity).toEqual(await changeIdentity(repo, await readCommit(repo, sha)));
  });

  it('line counts come from the patch', async () => {
    const builder = newBuilder();
    builder.write('a.txt', 'one\ntwo\n');
    builder.commit('Base\n');
    builder.write('a.txt', 'one\nthree\nfour\n');

    const evidence = await evidenceIn(builder, builder.commit('Rewrite a\n'));

    expect(evidence.files[0]).toMatchObject({ path: 'a.txt', additions: 2, deletions: 1 });
  });
});
