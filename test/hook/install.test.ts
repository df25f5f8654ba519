import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { VERSION } from '../../src/version.js';
import { KICK, git, makeSandbox, stepper, stubKick } from './sandbox.js';

const USER_HOOK = '#!/bin/sh\n# the user\'s own hook\necho "user hook ran" >> user-hook.log\n';

function hooksDir(repo: string): string {
  return path.join(repo, '.git', 'hooks');
}

describe('stepper hook install', () => {
  it('creates both hooks, executable', async () => {
    const sandbox = makeSandbox();

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install']);

    expect(result.code, result.stderr).toBe(0);
    for (const name of ['post-commit', 'post-rewrite']) {
      const file = path.join(hooksDir(sandbox.repo), name);
      const text = fs.readFileSync(file, 'utf8');
      expect(text.startsWith('#!/bin/sh\n# >>> stepper hook >>>\n')).toBe(true);
      expect(text).toContain(`# stepper hook v4 (stepper ${VERSION})`);
      expect(text).toContain(`stepper_node='${process.execPath}'`);
      expect(text).toContain(`stepper_kick='${KICK}'`);
      expect(fs.statSync(file).mode & 0o777).toBe(0o755);
    }
    expect(fs.statSync(path.join(sandbox.dataDir, 'spool', 'hooks')).mode & 0o777).toBe(0o700);
  });

  it.each([
    [{ OLLAMA_HOST: '127.0.0.1:11500', STEPPER_MODEL: 'llama3.2:3b' }, "'127.0.0.1:11500'", "'llama3.2:3b'"],
    [{ OLLAMA_HOST: 'http://alice:s3cret@127.0.0.1:11500' }, "''", "''"],
    [{}, "''", "''"],
  ])('records OLLAMA_HOST and STEPPER_MODEL from %j', async (env, host, model) => {
    const sandbox = makeSandbox();

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install'], { OLLAMA_HOST: '', ...env });
    const text = fs.readFileSync(path.join(hooksDir(sandbox.repo), 'post-commit'), 'utf8');

    expect(result.code, result.stderr).toBe(0);
    expect(text).toContain(`\nstepper_fallback_ollama_host=${host}\n`);
    expect(text).toContain(`\nstepper_fallback_model=${model}\n`);
    expect(text).toContain(`\nstepper_fallback_home='${sandbox.dataDir}'\n`);
    expect(text).not.toContain('s3cret');
    const passwordGiven = host === "''" && 'OLLAMA_HOST' in env;
    expect(result.stdout.includes('warning: OLLAMA_HOST contains a password, so the hooks do not record it')).toBe(passwordGiven);
  });

  it('appends to an existing shell hook and keeps its bytes', async () => {
    const sandbox = makeSandbox();
    const file = path.join(hooksDir(sandbox.repo), 'post-commit');
    // Bytes that are not UTF-8 must survive the rewrite.
    const original = Buffer.concat([Buffer.from(USER_HOOK), Buffer.from([0x23, 0x20, 0xe9, 0xff, 0x0a])]);
    fs.writeFileSync(file, original, { mode: 0o750 });
    fs.chmodSync(file, 0o750);

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install', '--json']);

    expect(result.code, result.stderr).toBe(0);
    const written = fs.readFileSync(file);
    expect(written.subarray(0, original.length).equals(original)).toBe(true);
    expect(written.subarray(original.length).toString('utf8')).toMatch(/^# >>> stepper hook >>>\n[^]*# <<< stepper hook <<<\n$/);
    expect(fs.statSync(file).mode & 0o777).toBe(0o750);
    const files = (JSON.parse(result.stdout) as { files: Array<{ hook: string; action: string }> }).files;
    expect(files).toEqual([
      expect.objectContaining({ hook: 'post-commit', action: 'added' }),
      expect.objectContaining({ hook: 'post-rewrite', action: 'created' }),
    ]);
  });

  it('runs the user hook and the block on commit', async () => {
    const sandbox = makeSandbox();
    const file = path.join(hooksDir(sandbox.repo), 'post-commit');
    fs.writeFileSync(file, USER_HOOK, { mode: 0o755 });
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    stubKick(sandbox, hooksDir(sandbox.repo));

    fs.writeFileSync(path.join(sandbox.repo, 'a.txt'), 'a\n');
    git(sandbox, sandbox.repo, ['add', 'a.txt']);
    git(sandbox, sandbox.repo, ['commit', '-q', '-m', 'Add a']);

    expect(fs.readFileSync(path.join(sandbox.repo, 'user-hook.log'), 'utf8')).toBe('user hook ran\n');
    expect(fs.readdirSync(sandbox.hintsDir).filter((name) => name.endsWith('.hint'))).toHaveLength(1);
  });

  it('replaces its block in place on reinstall', async () => {
    const sandbox = makeSandbox();
    const file = path.join(hooksDir(sandbox.repo), 'post-commit');
    fs.writeFileSync(file, USER_HOOK, { mode: 0o755 });
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const first = fs.readFileSync(file, 'utf8');
    // An edit inside the block, such as a stale node path, is what a reinstall replaces.
    fs.writeFileSync(file, `${first.replace(`stepper_node='${process.execPath}'`, "stepper_node='/old/node'")}echo "added later"\n`);

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install']);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`updated stepper's block in ${file}`);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${first}echo "added later"\n`);
  });

  it('leaves a current block unwritten on reinstall', async () => {
    const sandbox = makeSandbox();
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const file = path.join(hooksDir(sandbox.repo), 'post-commit');
    const before = fs.readFileSync(file, 'utf8');
    const past = new Date('2020-01-01T00:00:00Z');
    fs.utimesSync(file, past, past);

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install']);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`stepper's block in ${file} is current; nothing to change`);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    expect(fs.statSync(file).mtime.getTime()).toBe(past.getTime());
  });

  it('uninstall removes only its block', async () => {
    const sandbox = makeSandbox();
    const file = path.join(hooksDir(sandbox.repo), 'post-commit');
    fs.writeFileSync(file, USER_HOOK, { mode: 0o755 });
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'uninstall', '--json']);

    expect(result.code, result.stderr).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe(USER_HOOK);
    expect(fs.existsSync(path.join(hooksDir(sandbox.repo), 'post-rewrite'))).toBe(false);
    const files = (JSON.parse(result.stdout) as { files: Array<{ hook: string; action: string }> }).files;
    expect(files.map((entry) => `${entry.hook} ${entry.action}`)).toEqual(['post-commit removed', 'post-rewrite deleted']);
  });

  it('uninstall keeps a created file the user extended', async () => {
    const sandbox = makeSandbox();
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const file = path.join(hooksDir(sandbox.repo), 'post-commit');
    fs.appendFileSync(file, 'echo mine\n');

    await stepper(sandbox, sandbox.repo, ['hook', 'uninstall']);

    expect(fs.readFileSync(file, 'utf8')).toBe('#!/bin/sh\necho mine\n');
  });

  it('installs into core.hooksPath, creating it', async () => {
    const sandbox = makeSandbox();
    git(sandbox, sandbox.repo, ['config', 'core.hooksPath', 'tools/hooks']);
    const subfolder = path.join(sandbox.repo, 'src');
    fs.mkdirSync(subfolder);

    const result = await stepper(sandbox, subfolder, ['hook', 'install']);

    expect(result.code, result.stderr).toBe(0);
    expect(fs.existsSync(path.join(sandbox.repo, 'tools', 'hooks', 'post-commit'))).toBe(true);
    expect(fs.existsSync(path.join(hooksDir(sandbox.repo), 'post-commit'))).toBe(false);

    stubKick(sandbox, path.join(sandbox.repo, 'tools', 'hooks'));
    fs.writeFileSync(path.join(subfolder, 'b.txt'), 'b\n');
    git(sandbox, subfolder, ['add', 'b.txt']);
    git(sandbox, subfolder, ['commit', '-q', '-m', 'Add b']);
    expect(fs.readdirSync(sandbox.hintsDir).filter((name) => name.endsWith('.hint'))).toHaveLength(1);
  });

  it('rejects a python hook, printing the call', async () => {
    const sandbox = makeSandbox();
    const file = path.join(hooksDir(sandbox.repo), 'post-commit');
    const python = '#!/usr/bin/env python3\nprint("hello")\n';
    fs.writeFileSync(file, python, { mode: 0o755 });

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install']);

    const standalone = path.join(hooksDir(sandbox.repo), 'stepper-post-commit');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`stepper: ${file} is a python3 hook, so stepper left it unchanged; make it run this program: ${standalone}\n`);
    expect(fs.readFileSync(file, 'utf8')).toBe(python);
    expect(fs.readFileSync(standalone, 'utf8')).toContain('stepper_hook post-commit');
    expect(fs.statSync(standalone).mode & 0o111).toBe(0o111);
    expect(fs.readFileSync(path.join(hooksDir(sandbox.repo), 'post-rewrite'), 'utf8')).toContain('stepper_hook post-rewrite');
  });

  it('rejects a data directory with a newline', async () => {
    const sandbox = makeSandbox();
    const dataDir = path.join(sandbox.root, 'two\nlines');

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install'], { STEPPER_HOME: dataDir });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^stepper: cannot record the data directory ".*two\\nlines" in a hook: it must be an absolute path without line breaks/);
    expect(fs.existsSync(path.join(hooksDir(sandbox.repo), 'post-commit'))).toBe(false);
  });

  it('quotes a path with a single quote', async () => {
    const sandbox = makeSandbox();
    const dataDir = path.join(sandbox.root, "it's data");

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install'], { STEPPER_HOME: dataDir });
    const installed = fs.readFileSync(path.join(hooksDir(sandbox.repo), 'post-commit'), 'utf8');
    stubKick(sandbox, hooksDir(sandbox.repo));
    fs.writeFileSync(path.join(sandbox.repo, 'c.txt'), 'c\n');
    git(sandbox, sandbox.repo, ['add', 'c.txt']);
    git(sandbox, sandbox.repo, ['commit', '-q', '-m', 'Add c'], { STEPPER_HOME: '', HOME: '' });

    expect(result.code, result.stderr).toBe(0);
    expect(installed).toContain(`stepper_fallback_data='${sandbox.root}/it'\\''s data'`);
    expect(fs.readdirSync(path.join(dataDir, 'spool', 'hooks')).filter((name) => name.endsWith('.hint'))).toHaveLength(1);
  });

  it('rejects a folder outside a repository with exit 2', async () => {
    const sandbox = makeSandbox();

    const result = await stepper(sandbox, sandbox.home, ['hook', 'install']);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^stepper: not a git repository: /);
  });

  it('rejects an unknown subcommand with exit 2', async () => {
    const sandbox = makeSandbox();

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'enable']);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^stepper: unknown command 'enable'/);
  });

  it('documents each subcommand in --help', async () => {
    const sandbox = makeSandbox();

    const result = await stepper(sandbox, sandbox.repo, ['hook', '--help']);

    expect(result.code).toBe(0);
    for (const subcommand of ['install', 'uninstall', 'status']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${subcommand} \\[options\\] +\\S`, 'm'));
    }
  });
});

describe('stepper hook status', () => {
  it('reports hooks not installed', async () => {
    const sandbox = makeSandbox();

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'status', '--json']);

    expect(result.code, result.stderr).toBe(0);
    const status = JSON.parse(result.stdout) as { hooks: Array<{ installed: boolean }>; warnings: string[] };
    expect(status.hooks.map((hook) => hook.installed)).toEqual([false, false]);
    expect(status.warnings[0]).toContain('post-commit hook not installed');
  });

  it('reports installed current hooks', async () => {
    const sandbox = makeSandbox();
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'status', '--json']);

    const status = JSON.parse(result.stdout) as {
      hooks: Array<{ installed: boolean; current: boolean; node: { usable: boolean }; kick: { usable: boolean } }>;
      warnings: string[];
    };
    expect(status.hooks.map((hook) => [hook.installed, hook.current, hook.node.usable, hook.kick.usable])).toEqual([
      [true, true, true, true],
      [true, true, true, true],
    ]);
    expect(status.warnings).toEqual([]);
  });

  it('warns about a stale node path and an older version', async () => {
    const sandbox = makeSandbox();
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const file = path.join(hooksDir(sandbox.repo), 'post-commit');
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(
      file,
      text
        .replace(/^stepper_node=.*$/m, "stepper_node='/nonexistent/node'")
        .replace(/^# stepper hook v4 \(stepper .*\)$/m, '# stepper hook v1 (stepper 0.0.1)'),
    );

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'status']);

    // A missing node binary keeps the hook from queueing reports, so status fails.
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toContain('post-commit: installed in');
    expect(result.stdout).toContain('older (stepper 0.0.1)');
    expect(result.stdout).toContain('node: /nonexistent/node (missing)');
    expect(result.stdout).toContain(`warning: ${file} runs /nonexistent/node, which no longer exists`);
  });

  it('names an older block format of this version', async () => {
    const sandbox = makeSandbox();
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const file = path.join(hooksDir(sandbox.repo), 'post-commit');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^# stepper hook v4 \(/m, '# stepper hook v3 ('));

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'status']);

    expect(result.stdout).toContain(`warning: ${file} holds a block of format v3, and this stepper writes v4: run stepper hook install to update it`);
  });

  it('fails when the data directory is a file', async () => {
    const sandbox = makeSandbox();
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const file = path.join(sandbox.root, 'not-a-folder');
    fs.writeFileSync(file, '');

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'status'], { STEPPER_HOME: file });
    const daemon = await stepper(sandbox, sandbox.repo, ['daemon', 'status'], { STEPPER_HOME: file });

    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`warning: data directory ${file} is a file, not a folder: move the file aside or set STEPPER_HOME to a folder; until then the hooks cannot queue any commit`);
    expect(daemon.code).toBe(1);
    expect(daemon.stderr).toBe(`stepper: data directory ${file} is a file, not a folder: move the file aside or set STEPPER_HOME to a folder\n`);
  });

  it('shows the last failures from hook.log', async () => {
    const sandbox = makeSandbox();
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    fs.writeFileSync(
      path.join(sandbox.dataDir, 'hook.log'),
      [
        '2026-01-01T00:00:00.000Z info post-commit /r/.git: enqueued 1 report job (abc)',
        '2026-01-01T00:00:01.000Z error hint 1-0.hint removed: no commit ids',
        `- error kick cannot start: ${process.execPath} or ${KICK} is missing; run stepper hook install again`,
        // Paths that no hook of this repository runs: a failure of another repository.
        '- error kick cannot start: /x/node or /x/kick.js is missing; run stepper hook install again',
        '',
      ].join('\n'),
    );

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'status']);

    expect(result.stdout).toContain(
      `recent failures from hook.log:\n  2026-01-01T00:00:01.000Z hint 1-0.hint removed: no commit ids\n  (time unknown) kick cannot start: ${process.execPath} or ${KICK} is missing`,
    );
    expect(result.stdout).not.toContain('enqueued 1 report job ');
    expect(result.stdout).not.toContain('/x/kick.js');
  });

  it('finds the block beside a python hook', async () => {
    const sandbox = makeSandbox();
    const file = path.join(hooksDir(sandbox.repo), 'post-commit');
    fs.writeFileSync(file, '#!/usr/bin/python3\nprint("hello")\n', { mode: 0o755 });
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'status', '--json']);

    const status = JSON.parse(result.stdout) as { hooks: Array<{ installed: boolean; standalone?: string }>; warnings: string[] };
    expect(status.hooks[0]?.installed).toBe(true);
    expect(status.hooks[0]?.standalone).toBe(path.join(hooksDir(sandbox.repo), 'stepper-post-commit'));
    expect(status.warnings).toEqual([
      `${file} is a python3 hook that does not run ${status.hooks[0]?.standalone}, so stepper sees no commits: make it run this program: ${status.hooks[0]?.standalone}`,
    ]);
  });

  it('warns about an exit before the block', async () => {
    const sandbox = makeSandbox();
    const file = path.join(hooksDir(sandbox.repo), 'post-commit');
    fs.writeFileSync(file, '#!/bin/sh\nrun-something\nexit 0\n', { mode: 0o755 });
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'status', '--json']);

    const status = JSON.parse(result.stdout) as { warnings: string[] };
    expect(status.warnings).toEqual([expect.stringContaining(`${file} has the line "exit 0" before stepper's block`)]);
  });
});

/** Deletes the block's end line from a hook file, as a user editing the hook by hand might. */
function deleteEndLine(file: string): void {
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('# <<< stepper hook <<<\n', ''));
}

/** Returns the line numbers, counted from 1, of the lines of `file` equal to `line`. */
function lineNumbers(file: string, line: string): number[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((text, index) => (text === line ? [index + 1] : []));
}

describe('damaged hook blocks', () => {
  it('install rejects a block without its end line', async () => {
    const sandbox = makeSandbox();
    const file = path.join(hooksDir(sandbox.repo), 'post-commit');
    fs.writeFileSync(file, USER_HOOK, { mode: 0o755 });
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    deleteEndLine(file);
    const damaged = fs.readFileSync(file);
    const start = lineNumbers(file, '# >>> stepper hook >>>')[0] as number;
    const call = lineNumbers(file, 'stepper_hook post-commit || :')[0] as number;

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install']);

    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `stepper: ${file} is damaged: line ${start} starts a stepper block that has no end line; delete lines ${start}-${call} of ${file}, then run stepper hook install\n`,
    );
    expect(fs.readFileSync(file).equals(damaged)).toBe(true);
    expect(lineNumbers(file, '# >>> stepper hook >>>')).toHaveLength(1);
  });

  it('status names a damaged hook', async () => {
    const sandbox = makeSandbox();
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const file = path.join(hooksDir(sandbox.repo), 'post-commit');
    deleteEndLine(file);

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'status']);

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^post-commit: damaged \(see the warning below\)$/m);
    expect(result.stdout).toContain(`warning: ${file} is damaged: line `);
  });

  it('install rejects a second block', async () => {
    const sandbox = makeSandbox();
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const file = path.join(hooksDir(sandbox.repo), 'post-rewrite');
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text + text.slice(text.indexOf('\n') + 1));
    const before = fs.readFileSync(file);
    const starts = lineNumbers(file, '# >>> stepper hook >>>');
    const ends = lineNumbers(file, '# <<< stepper hook <<<');

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install']);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`lines ${starts[1]}-${ends[1]} are a second stepper block; delete lines ${starts[1]}-${ends[1]} of ${file}`);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('install rejects an end line alone', async () => {
    const sandbox = makeSandbox();
    const file = path.join(hooksDir(sandbox.repo), 'post-commit');
    fs.writeFileSync(file, `${USER_HOOK}# <<< stepper hook <<<\n`, { mode: 0o755 });

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'install']);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('line 4 ends a stepper block that has no start line; delete line 4');
    expect(fs.readFileSync(file, 'utf8')).toBe(`${USER_HOOK}# <<< stepper hook <<<\n`);
    expect(fs.existsSync(path.join(hooksDir(sandbox.repo), 'post-rewrite'))).toBe(false);
  });

  it('uninstall rejects a damaged block', async () => {
    const sandbox = makeSandbox();
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const file = path.join(hooksDir(sandbox.repo), 'post-rewrite');
    deleteEndLine(file);
    const damaged = fs.readFileSync(file);

    const result = await stepper(sandbox, sandbox.repo, ['hook', 'uninstall']);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^stepper: .*post-rewrite is damaged: line 2 starts a stepper block that has no end line; delete lines 2-\d+ of /);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(fs.readFileSync(file).equals(damaged)).toBe(true);
    expect(fs.existsSync(path.join(hooksDir(sandbox.repo), 'post-commit'))).toBe(true);
  });

  it('status reports a damaged block', async () => {
    const sandbox = makeSandbox();
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const file = path.join(hooksDir(sandbox.repo), 'post-commit');
    deleteEndLine(file);

    const json = await stepper(sandbox, sandbox.repo, ['hook', 'status', '--json']);
    const text = await stepper(sandbox, sandbox.repo, ['hook', 'status']);

    const hooks = (JSON.parse(json.stdout) as { hooks: Array<{ hook: string; installed: boolean; damaged?: string; damageFix?: string }> }).hooks;
    const postCommit = hooks.find((hook) => hook.hook === 'post-commit');
    expect(postCommit?.installed).toBe(false);
    expect(postCommit?.damaged).toBe(`${file} is damaged: line 2 starts a stepper block that has no end line`);
    expect(postCommit?.damageFix).toMatch(new RegExp(`^delete lines 2-\\d+ of ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, then run stepper hook install$`));
    expect(text.stdout).toContain(`warning: ${file} is damaged: line 2 starts a stepper block that has no end line; delete lines 2-`);
  });
});
