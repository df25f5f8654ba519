import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';

import { afterEach, describe, expect, it, vi } from 'vitest';

import { StepperError } from '../../src/errors.js';
import { formatCommand, GitError, GitNotFoundError } from '../../src/git/errors.js';
import { gitEnvironment } from '../../src/git/environment.js';
import { readGit, runGit, spawnGit, streamGit } from '../../src/git/git.js';
import { buildRepo } from '../helpers/repos.js';
import { makeTempDir } from '../helpers/temp.js';
import { captureError } from '../helpers/errors.js';

const HUGE_BYTES = 2 * 1024 * 1024;

afterEach(() => {
  vi.unstubAllEnvs();
});

function objectContextOf(gitDir: string): { cwd: string; gitDir: string } {
  return { cwd: gitDir, gitDir };
}

describe('runGit', () => {
  it('returns standard output', async () => {
    const repo = buildRepo('modify');

    const output = await runGit(objectContextOf(repo.gitDir), ['rev-parse', 'HEAD']);

    expect(output).toBe(`${repo.commits.modify}\n`);
  });

  it('passes --git-dir before the command', async () => {
    const repo = buildRepo('modify');
    // The folder is another repository, so only --git-dir can select the right one.
    const other = buildRepo('root');

    const output = await runGit({ cwd: other.dir, gitDir: repo.gitDir }, ['rev-parse', 'HEAD']);

    expect(output.trim()).toBe(repo.commits.modify);
  });

  it('failure raises GitError naming the command', async () => {
    const repo = buildRepo('root');

    const error = await captureError(runGit(objectContextOf(repo.gitDir), ['cat-file', '-t', 'no-such-object']));

    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).code).toBe('GIT_FAILED');
    expect((error as GitError).exitCode).toBe(128);
    expect((error as GitError).message).toContain('cat-file -t no-such-object');
    expect((error as GitError).stderr).toContain('no-such-object');
  });

  it('quiet failure raises GitError', async () => {
    const repo = buildRepo('root');

    const error = await captureError(runGit(objectContextOf(repo.gitDir), ['rev-parse', '--verify', '--quiet', 'no-such-ref']));

    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).exitCode).toBe(1);
    expect((error as GitError).message).toContain('without an error message');
  });

  it('missing folder raises GitError naming it', async () => {
    const folder = path.join(makeTempDir(), 'missing');

    const error = await captureError(runGit({ cwd: folder }, ['status']));

    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).message).toContain(folder);
  });

  it('missing git raises GitNotFoundError', async () => {
    vi.stubEnv('PATH', makeTempDir());

    const error = await captureError(runGit({ cwd: makeTempDir() }, ['--version']));

    expect(error).toBeInstanceOf(GitNotFoundError);
    expect((error as StepperError).code).toBe('GIT_NOT_FOUND');
  });

  it('long error output is bounded', async () => {
    const repo = buildRepo('root');
    const longName = 'x'.repeat(40_000);

    const error = (await captureError(runGit(objectContextOf(repo.gitDir), ['cat-file', '-t', longName]))) as GitError;

    expect(error.stderr.length).toBeLessThanOrEqual(16 * 1024);
    expect(error.message.length).toBeLessThan(2000);
  });
});

describe('streamGit', () => {
  it('streams a large diff in chunks', async () => {
    const repo = buildRepo('huge-diff', { hugeDiffBytes: HUGE_BYTES });
    const args = ['diff-tree', '-p', repo.commits.root as string, repo.commits.huge as string];
    const expected = execFileSync('git', [`--git-dir=${repo.gitDir}`, ...args], { env: gitEnvironment(), maxBuffer: 64 * 1024 * 1024 });

    const hash = createHash('sha256');
    let chunks = 0;
    let bytes = 0;
    for await (const chunk of streamGit(objectContextOf(repo.gitDir), args)) {
      chunks += 1;
      bytes += chunk.length;
      hash.update(chunk);
    }

    expect(chunks).toBeGreaterThan(1);
    expect(bytes).toBe(expected.length);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(expected).digest('hex'));
  });

  it('stopping early ends without error', async () => {
    const repo = buildRepo('huge-diff', { hugeDiffBytes: HUGE_BYTES });
    const args = ['diff-tree', '-p', repo.commits.root as string, repo.commits.huge as string];

    let bytes = 0;
    for await (const chunk of streamGit(objectContextOf(repo.gitDir), args)) {
      bytes += chunk.length;
      break;
    }

    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(HUGE_BYTES);
  });

  it('failure rejects with GitError naming the command', async () => {
    const repo = buildRepo('root');
    const missing = '0123456789abcdef0123456789abcdef01234567';

    const error = await captureError(readGit(objectContextOf(repo.gitDir), ['cat-file', '-p', missing]));

    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).exitCode).toBe(128);
    expect((error as GitError).message).toContain(`git --git-dir=${repo.gitDir} cat-file -p ${missing}`);
  });

  it('writes input to standard input', async () => {
    const output = await readGit({ cwd: makeTempDir() }, ['hash-object', '--stdin'], { input: 'hello\n' });

    // The blob id of "hello\n", as `echo hello | git hash-object --stdin` prints it.
    expect(output.toString('utf8').trim()).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });

  it('long error output is bounded', async () => {
    const repo = buildRepo('root');

    const error = (await captureError(readGit(objectContextOf(repo.gitDir), ['cat-file', '-t', 'y'.repeat(40_000)]))) as GitError;

    expect(error.stderr.length).toBeLessThanOrEqual(16 * 1024);
    expect(error.stderr).toContain('Not a valid object name');
  });
});

describe('spawnGit', () => {
  it('missing git rejects finished with GitNotFoundError', async () => {
    vi.stubEnv('PATH', makeTempDir());

    const git = spawnGit({ cwd: makeTempDir() }, ['--version']);

    await expect(git.finished).rejects.toBeInstanceOf(GitNotFoundError);
  });

  it('missing folder rejects finished with GitError', async () => {
    const folder = path.join(makeTempDir(), 'missing');

    const git = spawnGit({ cwd: folder }, ['--version']);

    await expect(git.finished).rejects.toBeInstanceOf(GitError);
  });

  it('killed process reports the signal', async () => {
    const repo = buildRepo('huge-diff', { hugeDiffBytes: HUGE_BYTES });
    const git = spawnGit(objectContextOf(repo.gitDir), ['diff-tree', '-p', repo.commits.root as string, repo.commits.huge as string]);

    git.child.kill('SIGTERM');
    const error = await captureError(git.finished);

    expect(error).toBeInstanceOf(GitError);
    expect((error as GitError).signal).toBe('SIGTERM');
    expect((error as GitError).message).toContain('was killed by SIGTERM');
  });
});

describe('formatCommand', () => {
  it('quotes arguments with spaces', () => {
    expect(formatCommand(['log', '--format=%H %s', 'a b'])).toBe('git log "--format=%H %s" "a b"');
  });

  it('shows control characters escaped', () => {
    expect(formatCommand(['show', 'new\nline'])).toBe('git show "new\\nline"');
  });

  it('truncates long commands', () => {
    const line = formatCommand(['rev-list', 'a'.repeat(1000)]);

    expect(line.length).toBe(301);
    expect(line.endsWith('…')).toBe(true);
  });
});
