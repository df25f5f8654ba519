// The hook's check of daemon.live: it starts no kick while the process named there holds
// that very file open at the recorded descriptor, and starts the kick in every other case.
// A `sleep` child takes the daemon's place, and the kick is replaced by a recorder (see stubKick).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { HOOK_FORMAT_VERSION } from '../../src/hook/block.js';
import { type Sandbox, commitFile, eventually, makeSandbox, readHints, stepper, stubKick } from './sandbox.js';

const standIns: ChildProcess[] = [];

afterEach(() => {
  for (const child of standIns.splice(0)) {
    child.kill('SIGKILL');
  }
});

/** Descriptor at which a stand-in holds its file: the first one after stdin, stdout and stderr. */
const HELD_FD = 3;

/** Starts a process that stays alive for the test and holds `file` open at HELD_FD, as a daemon holds daemon.live. */
function startStandIn(file: string): ChildProcess {
  const fd = fs.openSync(file, 'a+');
  try {
    const child = spawn('sleep', ['60'], { stdio: ['ignore', 'ignore', 'ignore', fd] });
    standIns.push(child);
    return child;
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes daemon.live as the daemon does: a temporary file held by a stand-in, renamed into place. */
function startDaemonStandIn(sandbox: Sandbox): ChildProcess {
  fs.mkdirSync(sandbox.dataDir, { recursive: true });
  const temporary = path.join(sandbox.dataDir, 'daemon.live.tmp');
  const child = startStandIn(temporary);
  fs.writeFileSync(temporary, `${child.pid} ${HELD_FD}\n`);
  fs.renameSync(temporary, path.join(sandbox.dataDir, 'daemon.live'));
  return child;
}

async function installStubbed(sandbox: Sandbox): Promise<string> {
  const result = await stepper(sandbox, sandbox.repo, ['hook', 'install']);
  expect(result.code, result.stderr).toBe(0);
  return stubKick(sandbox, path.join(sandbox.repo, '.git', 'hooks'));
}

function writeLiveFile(sandbox: Sandbox, text: string): void {
  fs.mkdirSync(sandbox.dataDir, { recursive: true });
  fs.writeFileSync(path.join(sandbox.dataDir, 'daemon.live'), text);
}

/** Rewrites daemon.live in place, so the stand-in still holds it. */
function writeLiveFileInPlace(sandbox: Sandbox, text: string): void {
  fs.writeFileSync(path.join(sandbox.dataDir, 'daemon.live'), text);
}

function kickPending(sandbox: Sandbox): boolean {
  return fs.existsSync(path.join(sandbox.hintsDir, 'kick.pending'));
}

/** Commits under `env -i`, as a GUI client with an empty environment would. */
function commitWithEmptyEnvironment(sandbox: Sandbox, name: string): string {
  fs.writeFileSync(path.join(sandbox.repo, name), `${name}\n`);
  execFileSync('env', ['-i', 'PATH=/usr/bin:/bin', 'git', 'add', '--', name], { cwd: sandbox.repo });
  execFileSync('env', ['-i', 'PATH=/usr/bin:/bin', 'git', 'commit', '-q', '-m', `Add ${name}`], { cwd: sandbox.repo });
  return execFileSync('env', ['-i', 'PATH=/usr/bin:/bin', 'git', 'rev-parse', 'HEAD'], { cwd: sandbox.repo, encoding: 'utf8' }).trim();
}

describe('hook with daemon.live', () => {
  it('stand-in holds daemon.live', () => {
    const sandbox = makeSandbox();
    const child = startDaemonStandIn(sandbox);
    const live = path.join(sandbox.dataDir, 'daemon.live');

    expect(fs.readFileSync(live, 'utf8')).toBe(`${child.pid} ${HELD_FD}\n`);
    expect(fs.statSync(`/proc/${child.pid}/fd/${HELD_FD}`).ino).toBe(fs.statSync(live).ino);
  });

  it('live daemon: hint written, no kick', async () => {
    const sandbox = makeSandbox();
    const record = await installStubbed(sandbox);
    startDaemonStandIn(sandbox);

    const sha = commitFile(sandbox, sandbox.repo, 'a.txt', 'a\n', 'Add a');

    expect(readHints(sandbox)).toEqual([expect.objectContaining({ event: 'post-commit', commits: [sha], complete: true })]);
    // The hook writes kick.pending before it returns whenever it forks the kick.
    expect(kickPending(sandbox)).toBe(false);
    // The kick would run a second after the commit, so 1.5 s show that none was started.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(fs.existsSync(record)).toBe(false);
  });

  it('dead pid: the kick starts', async () => {
    const sandbox = makeSandbox();
    const record = await installStubbed(sandbox);
    const dead = spawn('true', { stdio: 'ignore' });
    await new Promise((resolve) => dead.once('exit', resolve));
    writeLiveFile(sandbox, `${dead.pid} ${HELD_FD}\n`);

    commitFile(sandbox, sandbox.repo, 'a.txt', 'a\n', 'Add a');

    expect(kickPending(sandbox)).toBe(true);
    await eventually(() => fs.existsSync(record), 300);
  });

  it('live pid holding another file: the kick starts', async () => {
    const sandbox = makeSandbox();
    const record = await installStubbed(sandbox);
    // As a reused pid would be: alive, with a descriptor at that number, but not on daemon.live.
    const other = startStandIn(path.join(sandbox.root, 'other.txt'));
    writeLiveFile(sandbox, `${other.pid} ${HELD_FD}\n`);

    commitFile(sandbox, sandbox.repo, 'a.txt', 'a\n', 'Add a');

    expect(kickPending(sandbox)).toBe(true);
    await eventually(() => fs.existsSync(record), 300);
  });

  it('replaced daemon.live: the kick starts', async () => {
    const sandbox = makeSandbox();
    await installStubbed(sandbox);
    startDaemonStandIn(sandbox);
    // Same content in a new file, while the stand-in still holds the old one.
    fs.renameSync(path.join(sandbox.dataDir, 'daemon.live'), path.join(sandbox.dataDir, 'copy'));
    fs.copyFileSync(path.join(sandbox.dataDir, 'copy'), path.join(sandbox.dataDir, 'daemon.live'));

    commitFile(sandbox, sandbox.repo, 'a.txt', 'a\n', 'Add a');

    expect(kickPending(sandbox)).toBe(true);
  });

  it('daemon killed with SIGKILL: the kick starts', async () => {
    const sandbox = makeSandbox();
    const record = await installStubbed(sandbox);
    const child = startDaemonStandIn(sandbox);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    commitFile(sandbox, sandbox.repo, 'a.txt', 'a\n', 'Add a');

    expect(fs.existsSync(path.join(sandbox.dataDir, 'daemon.live'))).toBe(true);
    expect(kickPending(sandbox)).toBe(true);
    await eventually(() => fs.existsSync(record), 300);
  });

  it('stopped daemon still counts: no kick', async () => {
    const sandbox = makeSandbox();
    await installStubbed(sandbox);
    const child = startDaemonStandIn(sandbox);
    child.kill('SIGSTOP');

    try {
      commitFile(sandbox, sandbox.repo, 'a.txt', 'a\n', 'Add a');
    } finally {
      child.kill('SIGCONT');
    }

    expect(readHints(sandbox)).toHaveLength(1);
    expect(kickPending(sandbox)).toBe(false);
  });

  it.each([
    ['empty', () => ''],
    ['no descriptor', (pid: number) => `${pid}\n`],
    ['pid 0', () => `0 ${HELD_FD}\n`],
    ['letters', () => 'abc def\n'],
    ['negative pid', () => `-1 ${HELD_FD}\n`],
    ['self', () => `self ${HELD_FD}\n`],
    ['a third field', (pid: number) => `${pid} ${HELD_FD} 1\n`],
    ['path in the descriptor', (pid: number) => `${pid} ../${HELD_FD}\n`],
  ])('invalid content (%s): the kick starts', async (_label, content) => {
    const sandbox = makeSandbox();
    await installStubbed(sandbox);
    // A live holder of daemon.live, so only the content can make the check fail.
    const child = startDaemonStandIn(sandbox);
    writeLiveFileInPlace(sandbox, content(child.pid as number));

    commitFile(sandbox, sandbox.repo, 'a.txt', 'a\n', 'Add a');

    expect(readHints(sandbox)).toHaveLength(1);
    expect(kickPending(sandbox)).toBe(true);
  });

  it.each(['/bin/dash', '/bin/bash'])('live daemon under %s with set -eu', async (shell) => {
    const sandbox = makeSandbox();
    await installStubbed(sandbox);
    const file = path.join(sandbox.repo, '.git', 'hooks', 'post-commit');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/^#!\/bin\/sh\n/, `#!${shell}\nset -eu\n`));
    startDaemonStandIn(sandbox);

    const sha = commitFile(sandbox, sandbox.repo, 'a.txt', 'a\n', 'Add a');

    expect(readHints(sandbox)).toEqual([expect.objectContaining({ commits: [sha], complete: true })]);
    expect(kickPending(sandbox)).toBe(false);
  });

  it('under env -i with a live daemon: no kick', async () => {
    const sandbox = makeSandbox();
    await installStubbed(sandbox);
    startDaemonStandIn(sandbox);

    const sha = commitWithEmptyEnvironment(sandbox, 'e.txt');

    expect(readHints(sandbox)).toEqual([expect.objectContaining({ commits: [sha], complete: true })]);
    expect(kickPending(sandbox)).toBe(false);
  });

  it('under env -i without a daemon: the kick starts', async () => {
    const sandbox = makeSandbox();
    const record = await installStubbed(sandbox);

    const sha = commitWithEmptyEnvironment(sandbox, 'e.txt');

    expect(readHints(sandbox)).toEqual([expect.objectContaining({ commits: [sha], complete: true })]);
    expect(kickPending(sandbox)).toBe(true);
    await eventually(() => fs.existsSync(record), 300);
  });

  it('older block format: status flags it, install rewrites it', async () => {
    const sandbox = makeSandbox();
    await stepper(sandbox, sandbox.repo, ['hook', 'install']);
    const file = path.join(sandbox.repo, '.git', 'hooks', 'post-commit');
    const current = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, current.replace(`# stepper hook v${HOOK_FORMAT_VERSION} `, '# stepper hook v1 '));

    const status = await stepper(sandbox, sandbox.repo, ['hook', 'status', '--json']);
    const install = await stepper(sandbox, sandbox.repo, ['hook', 'install']);

    expect(status.code, status.stderr).toBe(0);
    const postCommit = (JSON.parse(status.stdout) as { hooks: Array<{ hook: string; current: boolean; formatVersion: number }> }).hooks.find(
      (hook) => hook.hook === 'post-commit',
    );
    expect(postCommit?.current).toBe(false);
    expect(postCommit?.formatVersion).toBe(1);
    expect(install.code, install.stderr).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe(current);
  });
});
