import { describe, expect, it } from 'vitest';

import { openRepository } from '../../src/git/repository.js';
import { createOllamaClient } from '../../src/ollama/client.js';
import { generateReport, parseConventionalSubject } from '../../src/report/generate.js';
import { startFake } from '../fake-ollama/helpers.js';
import { RepoBuilder } from '../helpers/repo-builder.js';
import { buildRepo } from '../helpers/repos.js';
import { makeTempDir } from '../helpers/temp.js';

describe('parseConventionalSubject', () => {
  const cases = [
    { subject: 'feat: add the parser', expected: { type: 'feat', scope: null, breaking: false, description: 'add the parser' } },
    { subject: 'fix(cli): reject empty input', expected: { type: 'fix', scope: 'cli', breaking: false, description: 'reject empty input' } },
    { subject: 'refactor(store)!: drop the v1 table', expected: { type: 'refactor', scope: 'store', breaking: true, description: 'drop the v1 table' } },
    { subject: 'chore!: require Node 20', expected: { type: 'chore', scope: null, breaking: true, description: 'require Node 20' } },
    { subject: 'Docs(readme): fix a link', expected: { type: 'docs', scope: 'readme', breaking: false, description: 'fix a link' } },
    { subject: 'revert: feat: add the parser', expected: { type: 'revert', scope: null, breaking: false, description: 'feat: add the parser' } },
  ] as const;

  for (const { subject, expected } of cases) {
    it(`parses ${JSON.stringify(subject)}`, () => {
      expect(parseConventionalSubject(subject)).toEqual(expected);
    });
  }

  for (const subject of ['Add the parser', 'feature: add the parser', 'fix:no space', 'fix(): empty scope', 'fix(a(b)): nested', 'fix: ', 'wip(x): draft']) {
    it(`rejects ${JSON.stringify(subject)}`, () => {
      expect(parseConventionalSubject(subject)).toBeNull();
    });
  }

  it('accepts every listed type', () => {
    for (const type of ['feat', 'fix', 'docs', 'chore', 'refactor', 'test', 'perf', 'build', 'ci', 'style', 'revert']) {
      expect(parseConventionalSubject(`${type}: change`)?.type).toBe(type);
    }
  });
});

describe('generateReport git facts', () => {
  it('conventional subject from the commit', async () => {
    const dir = makeTempDir();
    const builder = RepoBuilder.init(dir);
    builder.write('src/parse.ts', 'export const parse = JSON.parse;\n');
    const sha = builder.commit('feat(parser)!: add a strict parser\n\nBREAKING CHANGE: input must be JSON.\n');
    const [fake, repo] = await Promise.all([startFake(), openRepository(dir)]);
    const client = createOllamaClient({ env: { OLLAMA_HOST: fake.url } });
    const { git } = await generateReport(repo, sha, { client, model: 'qwen2.5-coder:7b' });

    expect(git.conventional).toEqual({ type: 'feat', scope: 'parser', breaking: true, description: 'add a strict parser' });
    expect(git.files).toEqual([{ path: 'src/parse.ts', status: 'added', additions: 1, deletions: 0, binary: false }]);
  });

  it('rename keeps the old path', async () => {
    const state = buildRepo('rename');
    const [fake, repo] = await Promise.all([startFake(), openRepository(state.dir)]);
    const client = createOllamaClient({ env: { OLLAMA_HOST: fake.url } });
    const { git } = await generateReport(repo, state.commits['rename-edit'] as string, { client, model: 'qwen2.5-coder:7b' });
    const renamed = git.files.find((file) => file.status === 'renamed');

    expect(renamed?.oldPath).toEqual(expect.any(String));
    expect(renamed?.path).not.toBe(renamed?.oldPath);
  });
});
