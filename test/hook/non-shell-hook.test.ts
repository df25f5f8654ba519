// A post-commit or post-rewrite hook written in Python: stepper leaves it unchanged and
// writes its block into stepper-<hook>, which the hook must run. The hooks run for real
// under git with python3.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { openQueue } from '../../src/queue/queue.js';
import { type ProcessResult, waitForExit } from '../helpers/processes.js';
import { type Sandbox, eventually, git, head, makeSandbox, stepper } from './sandbox.js';

/** A Python post-commit hook that prints a line and does not run stepper's program. */
const PYTHON_HOOK = '#!/usr/bin/env python3\nprint("python hook ran")\n';

/** The same hook once it runs the program beside it, by a path built from its own location. */
const PYTHON_HOOK_CALLING = [
  '#!/usr/bin/env python3',
  'import os, subprocess',
  'print("python hook ran")',
  'here = os.path.dirname(os.path.abspath(__file__))',
  'subprocess.run([os.path.join(here, "stepper-post-commit")], check=True)',
  '',
].join('\n');

/** A Python post-rewrite hook that passes its argument and standard input on, as the install message requests. */
const PYTHON_REWRITE_CALLING = [
  '#!/usr/bin/env python3',
  'import os, subprocess, sys',
  'here = os.path.dirname(os.path.abspath(__file__))',
  'subprocess.run([os.path.join(here, "stepper-post-rewrite"), sys.argv[1]], input=sys.stdin.buffer.read(), check=True)',
  '',
].join('\n');

interface StatusJson {
  hooks: Array<{ hook: string; installed: boolean; standalone?: string; runsStandalone?: boolean; working: boolean }>;
  ok: boolean;
  warnings: string[];
}

interface UninstallJson {
  files: Array<{ hook: string; file: string; action: string; warnings: string[] }>;
}

function hooksDir(sandbox: Sandbox): string {
  return path.join(sandbox.repo, '.git', 'hooks');
}

function writeHook(sandbox: Sandbox, name: string, text: string): string {
  const file = path.join(hooksDir(sandbox), name);
  fs.writeFileSync(file, text, { mode: 0o755 });
  return file;
}

/** Writes and stages a file, then commits it through git as a user does, with git's output. */
function commit(sandbox: Sandbox, name: string, args: string[] = []): Promise<ProcessResult> {
  fs.writeFileSync(path.join(sandbox.repo, name), `${name}\n`);
  git(sandbox, sandbox.repo, ['add', '--', name]);
  const child = spawn('git', ['commit', '-q', ...args, '-m', `Add ${name}`], { cwd: sandbox.repo, env: sandbox.env, stdio: ['ignore', 'pipe', 'pipe'] });
  return waitForExit(child);
}

async function readStatus(sandbox: Sandbox): Promise<{ code: number | null; status: StatusJson }> {
  const result = await stepper(sandbox, sandbox.repo, ['hook', 'status', '--json']);
  return { code: result.code, status: JSON.parse(result.stdout) as StatusJson };
}

function readJobShas(sandbox: Sandbox): string[] {
  const queue = openQueue({ dataDir: sandbox.dataDir });
  try {
    return queue.getJobs().map((job) => job.commitSha);
  } finally {
    queue.close();
  }
}

describe('hook install beside a python hook', () => {
  it('asks to run the program, not to add a line', async () => {
    const sandbox = makeSandbox();
    const file = writeHook(sandbox, 'post-commit', PYTHON_HOOK);

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install']);

    const standalone = path.join(hooksDir(sandbox), 'stepper-post-commit');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`stepper: ${file} is a python3 hook, so stepper left it unchanged; make it run this program: ${standalone}\n`);
    expect(fs.readFileSync(file, 'utf8')).toBe(PYTHON_HOOK);
  });

  it('asks a post-rewrite hook to pass its input on', async () => {
    const sandbox = makeSandbox();
    const file = writeHook(sandbox, 'post-rewrite', '#!/usr/bin/python3\nimport sys\n');

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install', '--json']);

    const standalone = path.join(hooksDir(sandbox), 'stepper-post-rewrite');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `stepper: ${file} is a python3 hook, so stepper left it unchanged; make it run this program with the hook's first argument and its standard input: ${standalone}\n`,
    );
    const files = (JSON.parse(result.stdout) as { files: Array<{ hook: string; action: string; refused?: { instruction: string } }> }).files;
    expect(files[1]).toMatchObject({ hook: 'post-rewrite', action: 'refused', refused: { instruction: expect.stringContaining(standalone) } });
  });

  it('succeeds once the hook runs the program', async () => {
    const sandbox = makeSandbox();
    writeHook(sandbox, 'post-commit', PYTHON_HOOK);
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const file = writeHook(sandbox, 'post-commit', PYTHON_HOOK_CALLING);

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install']);

    const standalone = path.join(hooksDir(sandbox), 'stepper-post-commit');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`stepper's block in ${standalone} is current; nothing to change\n`);
    expect(fs.readFileSync(file, 'utf8')).toBe(PYTHON_HOOK_CALLING);
  });

  it('queues commits through the python hook', async () => {
    const sandbox = makeSandbox();
    writeHook(sandbox, 'post-commit', PYTHON_HOOK_CALLING);
    const install = await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    expect(install.code, install.stderr).toBe(0);

    const result = await commit(sandbox, 'a.txt');
    const sha = head(sandbox, sandbox.repo);

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('python hook ran\n');

    // The real kick runs a second later; STEPPER_NO_DAEMON keeps it from starting a daemon.
    const queued = () => {
      try {
        return fs.existsSync(path.join(sandbox.dataDir, 'stepper.db')) && readJobShas(sandbox).includes(sha);
      } catch {
        return false;
      }
    };
    await eventually(queued, 600);
  });
});

describe('hook status beside a python hook', () => {
  it('warns until the hook runs the program', async () => {
    const sandbox = makeSandbox();
    const file = writeHook(sandbox, 'post-commit', PYTHON_HOOK);
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const standalone = path.join(hooksDir(sandbox), 'stepper-post-commit');

    const { code, status } = await readStatus(sandbox);
    const text = await stepper(sandbox, sandbox.repo, ['hook', 'status']);

    expect(code).toBe(1);
    expect(status.ok).toBe(false);
    expect(status.hooks[0]).toMatchObject({ installed: true, standalone, runsStandalone: false, working: false });
    expect(status.warnings).toEqual([
      `${file} is a python3 hook that does not run ${standalone}, so stepper sees no commits: make it run this program: ${standalone}`,
    ]);
    expect(text.stdout).toContain(`post-commit: installed in ${standalone}, current, but ${file} does not run it (see the warning below)\n`);
  });

  it('reports the hook that runs the program as working', async () => {
    const sandbox = makeSandbox();
    writeHook(sandbox, 'post-commit', PYTHON_HOOK);
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    writeHook(sandbox, 'post-commit', PYTHON_HOOK_CALLING);

    const { code, status } = await readStatus(sandbox);
    const text = await stepper(sandbox, sandbox.repo, ['hook', 'status']);

    expect(code).toBe(0);
    expect(status.ok).toBe(true);
    expect(status.hooks[0]).toMatchObject({ installed: true, runsStandalone: true, working: true });
    expect(status.warnings).toEqual([]);
    expect(text.stdout).not.toContain('warning:');
  });

  it('counts a call by absolute path', async () => {
    const sandbox = makeSandbox();
    writeHook(sandbox, 'post-commit', PYTHON_HOOK);
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const standalone = path.join(hooksDir(sandbox), 'stepper-post-commit');
    writeHook(sandbox, 'post-commit', `${PYTHON_HOOK}import subprocess\nsubprocess.run(["${standalone}"])\n`);

    const { status } = await readStatus(sandbox);

    expect(status.hooks[0]?.runsStandalone).toBe(true);
  });

  it('warns about a program that is not executable', async () => {
    const sandbox = makeSandbox();
    writeHook(sandbox, 'post-commit', PYTHON_HOOK_CALLING);
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const standalone = path.join(hooksDir(sandbox), 'stepper-post-commit');
    fs.chmodSync(standalone, 0o644);

    const { code, status } = await readStatus(sandbox);

    expect(code).toBe(1);
    expect(status.warnings).toEqual([expect.stringContaining(`${standalone} is not executable, so ${path.join(hooksDir(sandbox), 'post-commit')} cannot run it: run chmod +x`)]);
  });
});

describe('hook uninstall beside a python hook', () => {
  it('keeps a program the hook still runs', async () => {
    const sandbox = makeSandbox();
    const file = writeHook(sandbox, 'post-commit', PYTHON_HOOK_CALLING);
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const standalone = path.join(hooksDir(sandbox), 'stepper-post-commit');

    const json = await stepper(sandbox, sandbox.repo, ['hook', 'uninstall', '--json']);

    expect(json.code, json.stderr).toBe(0);
    const files = (JSON.parse(json.stdout) as UninstallJson).files;
    expect(files.map((entry) => `${path.basename(entry.file)} ${entry.action}`)).toEqual([
      'post-commit unchanged',
      'stepper-post-commit removed',
      'post-rewrite deleted',
    ]);
    expect(files[1]?.warnings).toEqual([
      `${file} still runs ${standalone} (line 5), so stepper kept that program as a script that does nothing and your commits keep working; ` +
        `remove the call on line 5 of ${file}, then run stepper hook uninstall again to delete the program`,
    ]);
    expect(fs.readFileSync(standalone, 'utf8')).not.toContain('stepper_hook');
    expect(fs.statSync(standalone).mode & 0o111).toBe(0o111);
    expect(fs.readFileSync(file, 'utf8')).toBe(PYTHON_HOOK_CALLING);
  });

  it('keeps commits working after uninstall', async () => {
    const sandbox = makeSandbox();
    writeHook(sandbox, 'post-commit', PYTHON_HOOK_CALLING);
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    await stepper(sandbox, sandbox.repo, ['hook', 'uninstall']);
    fs.rmSync(sandbox.hintsDir, { recursive: true, force: true });

    const before = head(sandbox, sandbox.repo);
    const result = await commit(sandbox, 'b.txt');

    expect(result.code).toBe(0);
    expect(head(sandbox, sandbox.repo)).not.toBe(before);
    // git prints a post-commit hook's output on its stderr: the hook's line and nothing else.
    expect(result.stderr).toBe('python hook ran\n');
    expect(fs.existsSync(sandbox.hintsDir)).toBe(false);
  });

  it('deletes the program once the hook no longer runs it', async () => {
    const sandbox = makeSandbox();
    writeHook(sandbox, 'post-commit', PYTHON_HOOK_CALLING);
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    await stepper(sandbox, sandbox.repo, ['hook', 'uninstall']);
    writeHook(sandbox, 'post-commit', PYTHON_HOOK);

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'uninstall']);

    const standalone = path.join(hooksDir(sandbox), 'stepper-post-commit');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`deleted ${standalone}\n`);
    expect(result.stdout).not.toContain('warning:');
    expect(fs.existsSync(standalone)).toBe(false);
  });

  it('deletes a program the hook never ran', async () => {
    const sandbox = makeSandbox();
    writeHook(sandbox, 'post-commit', PYTHON_HOOK);
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);

    const json = await stepper(sandbox, sandbox.repo, ['hook', 'uninstall', '--json']);

    const files = (JSON.parse(json.stdout) as UninstallJson).files;
    expect(files.map((entry) => `${path.basename(entry.file)} ${entry.action} ${entry.warnings.length}`)).toEqual([
      'post-commit unchanged 0',
      'stepper-post-commit deleted 0',
      'post-rewrite deleted 0',
    ]);
  });

  it('reinstall replaces the kept program', async () => {
    const sandbox = makeSandbox();
    writeHook(sandbox, 'post-commit', PYTHON_HOOK_CALLING);
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const standalone = path.join(hooksDir(sandbox), 'stepper-post-commit');
    const installed = fs.readFileSync(standalone, 'utf8');
    await stepper(sandbox, sandbox.repo, ['hook', 'uninstall']);

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install']);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`updated stepper's block in ${standalone}, which ${path.join(hooksDir(sandbox), 'post-commit')} runs\n`);
    expect(fs.readFileSync(standalone, 'utf8')).toBe(installed);
  });

  it('kept post-rewrite program reads its input', async () => {
    const sandbox = makeSandbox();
    writeHook(sandbox, 'post-rewrite', PYTHON_REWRITE_CALLING);
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    await stepper(sandbox, sandbox.repo, ['hook', 'uninstall']);
    const standalone = path.join(hooksDir(sandbox), 'stepper-post-rewrite');

    // git commit --amend runs post-rewrite with the argument amend and the rewritten ids on stdin.
    const result = await commit(sandbox, 'c.txt', ['--amend']);

    expect(result.code).toBe(0);
    // A failing post-rewrite hook does not fail git commit, but its error would show here.
    expect(result.stderr).toBe('');
    expect(fs.readFileSync(standalone, 'utf8')).toContain('while IFS= read -r stepper_line; do :; done');
    expect(fs.existsSync(sandbox.hintsDir) ? fs.readdirSync(sandbox.hintsDir).filter((name) => name.endsWith('.hint')) : []).toEqual([]);
  });
});

describe('hook uninstall without a block', () => {
  it('names a file without a block unchanged', async () => {
    const sandbox = makeSandbox();
    const file = writeHook(sandbox, 'post-commit', '#!/bin/sh\necho mine\n');

    const json = await stepper(sandbox, sandbox.repo, ['hook', 'uninstall', '--json']);
    const text = await stepper(sandbox, sandbox.repo, ['hook', 'uninstall']);

    expect(json.code, json.stderr).toBe(0);
    expect((JSON.parse(json.stdout) as UninstallJson).files).toEqual([
      { hook: 'post-commit', file, action: 'unchanged', warnings: [] },
      { hook: 'post-rewrite', file: path.join(hooksDir(sandbox), 'post-rewrite'), action: 'absent', warnings: [] },
    ]);
    expect(text.stdout).toBe(
      `no stepper block in ${file}; left it unchanged\nno stepper block in ${path.join(hooksDir(sandbox), 'post-rewrite')}: the file does not exist\n`,
    );
    expect(fs.readFileSync(file, 'utf8')).toBe('#!/bin/sh\necho mine\n');
  });
});
