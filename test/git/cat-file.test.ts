import { describe, expect, it } from 'vitest';

import { InvalidOptionError } from '../../src/errors.js';
import { readObjects, startObjectReader } from '../../src/git/cat-file.js';
import { GitError } from '../../src/git/errors.js';
import { objectContext, openRepository } from '../../src/git/repository.js';
import { captureError } from '../helpers/errors.js';
import { buildRepo } from '../helpers/repos.js';
import { makeTempDir } from '../helpers/temp.js';

async function modifyState(): Promise<{ context: ReturnType<typeof objectContext>; sha: string }> {
  const state = buildRepo('modify');
  const repo = await openRepository(state.dir);
  return { context: objectContext(repo), sha: state.commits.modify as string };
}

describe('readObjects', () => {
  it('reads a blob by commit and path', async () => {
    const { context, sha } = await modifyState();

    const [readme] = await readObjects(context, [`${sha}:README.md`]);

    expect(readme?.type).toBe('blob');
    expect(readme?.content.toString('utf8')).toBe('# Project\n\nFirst line.\nThird line.\n');
  });

  it('missing path gives null', async () => {
    const { context, sha } = await modifyState();

    expect(await readObjects(context, [`${sha}:no/such/.gitattributes`])).toEqual([null]);
  });

  it('directory gives a tree', async () => {
    const { context, sha } = await modifyState();

    const [source] = await readObjects(context, [`${sha}:src`]);

    expect(source?.type).toBe('tree');
  });

  it('keeps the order of names', async () => {
    const { context, sha } = await modifyState();

    const objects = await readObjects(context, [`${sha}:src/app.ts`, `${sha}:missing.txt`, `${sha}:README.md`]);

    expect(objects.map((object) => object?.content.toString('utf8').split('\n')[0] ?? null)).toEqual(['const value 1', null, '# Project']);
  });

  it('content with newlines keeps its bytes', async () => {
    const { context, sha } = await modifyState();

    const [app] = await readObjects(context, [`${sha}:src/app.ts`]);

    expect(app?.content.toString('utf8').split('\n')).toHaveLength(13);
  });

  it('no names gives an empty list', async () => {
    expect(await readObjects({ cwd: makeTempDir() }, [])).toEqual([]);
  });

  it('name with a newline raises InvalidOptionError', async () => {
    const { context, sha } = await modifyState();

    const error = await captureError(readObjects(context, [`${sha}:new\nline.txt`]));

    expect(error).toBeInstanceOf(InvalidOptionError);
  });

  it('folder outside a repository raises GitError', async () => {
    const error = await captureError(readObjects({ cwd: makeTempDir() }, ['HEAD:README.md']));

    expect(error).toBeInstanceOf(GitError);
  });
});

describe('startObjectReader', () => {
  it('reads names given after the start', async () => {
    const { context, sha } = await modifyState();
    const reader = startObjectReader(context);

    const [readme] = await reader.read([`${sha}:README.md`]);

    expect(readme?.type).toBe('blob');
  });

  it('read of no names gives an empty list', async () => {
    const { context } = await modifyState();

    expect(await startObjectReader(context).read([])).toEqual([]);
  });

  it('second read raises an error', async () => {
    const { context, sha } = await modifyState();
    const reader = startObjectReader(context);
    await reader.read([`${sha}:README.md`]);

    const error = await captureError(reader.read([`${sha}:src/app.ts`]));

    expect((error as Error).message).toContain('after a read or a cancel');
  });

  it('read after cancel raises an error', async () => {
    const { context, sha } = await modifyState();
    const reader = startObjectReader(context);
    reader.cancel();

    const error = await captureError(reader.read([`${sha}:README.md`]));

    expect((error as Error).message).toContain('after a read or a cancel');
  });
});
