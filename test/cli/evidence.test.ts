import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { waitForExit } from '../helpers/processes.js';
import { FAKE_SECRETS, SHELL_MARKERS, buildRepo } from '../helpers/repos.js';
import { makeTempDir } from '../helpers/temp.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'stepper.js');

function stepper(args: string[], cwd: string) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  return waitForExit(child);
}

describe('stepper evidence', () => {
  it('prints the evidence of HEAD', async () => {
    const repo = buildRepo('modify');

    const result = await stepper(['evidence'], repo.dir);

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`Commit: ${repo.commits.modify}`);
    expect(result.stdout).toContain('- modified  src/app.ts  +2 -2  [full]');
    expect(result.stdout).toContain('+const changed 3');
  });

  it('prints JSON with coverage marks', async () => {
    const repo = buildRepo('lockfiles');

    const result = await stepper(['evidence', '--json'], repo.dir);

    expect(result.code).toBe(0);
    const evidence = JSON.parse(result.stdout) as { files: Array<{ path: string; coverage: string }> };
    expect(evidence.files.map((file) => file.coverage)).toEqual(evidence.files.map(() => 'excluded: lockfile'));
  });

  it('redacts secrets and runs no message text', async () => {
    const secrets = buildRepo('secrets');
    const shell = buildRepo('shell-message');

    const secretOutput = await stepper(['evidence'], secrets.dir);
    const shellOutput = await stepper(['evidence'], shell.dir);

    expect(secretOutput.code).toBe(0);
    expect(secretOutput.stdout).not.toContain(FAKE_SECRETS.awsAccessKeyId);
    expect(secretOutput.stdout).toContain('[REDACTED:aws-access-key]');
    expect(shellOutput.code).toBe(0);
    for (const marker of SHELL_MARKERS) {
      expect(fs.existsSync(path.join(shell.dir, marker)), marker).toBe(false);
    }
  });

  it.each([
    [['evidence', 'no-such-revision'], /^stepper: unknown revision "no-such-revision"/],
    [['evidence', '--budget', '10'], /^stepper: invalid --budget: expected a number of tokens >= 256, received 10/],
    [['evidence', '--budget', 'lots'], /^stepper: invalid --budget: expected a whole number, received "lots" \(run/],
    [['evidence', '--merge', 'octopus'], /^stepper: invalid --merge: expected first-parent, skip, combined/],
    [['evidence', 'HEAD~1..HEAD'], /^stepper: invalid revision: expected one commit .*received "HEAD~1\.\.HEAD"/],
    [['evidence', '--budget', '99999999999999999999'], /^stepper: invalid --budget: expected a whole number below 2\^53, received "99999999999999999999" \(run/],
  ])('rejects %j with exit 2', async (args, message) => {
    const repo = buildRepo('modify');

    const result = await stepper(args, repo.dir);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('stops quietly when the reader closes the pipe', async () => {
    const repo = buildRepo('huge-diff');
    const child = spawn(process.execPath, [BIN, 'evidence', '--json', '--budget', '100000'], {
      cwd: repo.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.once('data', () => child.stdout.destroy());

    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));

    expect(code).toBe(0);
    expect(stderr).toBe('');
  });

  it('shows control characters as caret notation', async () => {
    const folder = makeTempDir();
    const git = (args: string[]) => execFileSync('git', ['-c', 'user.name=A', '-c', 'user.email=a@example.com', ...args], { cwd: folder, env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } });
    git(['init', '-q']);
    git(['commit', '-q', '--allow-empty', '-m', 'red \u001b[31mtext\u001b[0m']);

    const result = await stepper(['evidence'], folder);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('red ^[[31mtext^[[0m');
    expect(result.stdout).not.toContain('\u001b');
  });

  it('names a folder outside any repository', async () => {
    const folder = makeTempDir();

    const result = await stepper(['evidence'], folder);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`not a git repository: ${fs.realpathSync(folder)}`);
  });
});
