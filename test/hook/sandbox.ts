import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { type ProcessResult, waitForExit } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'stepper.js');
export const KICK = path.join(ROOT, 'dist', 'hook', 'kick.js');

/** A temporary home, data directory and repository, isolated from the user's configuration. */
export interface Sandbox {
  root: string;
  home: string;
  dataDir: string;
  repo: string;
  hintsDir: string;
  /** Environment for git and stepper: no inherited GIT_* or STEPPER_* variables, no daemon. */
  env: NodeJS.ProcessEnv;
}

/** Creates a sandbox with an initialized repository holding one commit. */
export function makeSandbox(): Sandbox {
  const root = fs.realpathSync(makeTempDir('stepper-hook-'));
  const home = path.join(root, 'home');
  const dataDir = path.join(root, 'data');
  const repo = path.join(root, 'repo');
  fs.mkdirSync(home);
  fs.mkdirSync(repo);

  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    const upper = name.toUpperCase();
    if (!upper.startsWith('GIT_') && !upper.startsWith('STEPPER_') && !upper.startsWith('XDG_')) {
      env[name] = value;
    }
  }
  Object.assign(env, {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    STEPPER_HOME: dataDir,
    STEPPER_NO_DAEMON: '1',
    STEPPER_MODEL: '',
    NO_COLOR: '1',
    LC_ALL: 'C',
  });

  const sandbox = { root, home, dataDir, repo, hintsDir: path.join(dataDir, 'spool', 'hooks'), env };
  git(sandbox, repo, ['init', '-q', '-b', 'main']);
  // Local configuration, so a commit under `env -i` finds an identity too.
  git(sandbox, repo, ['config', 'user.name', 'Hook Tester']);
  git(sandbox, repo, ['config', 'user.email', 'hook@example.com']);
  git(sandbox, repo, ['config', 'commit.gpgsign', 'false']);
  commitFile(sandbox, repo, 'README', 'first\n', 'First commit');
  return sandbox;
}

/** Runs git and returns its standard output. */
export function git(sandbox: Sandbox, cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync('git', args, { cwd, env: { ...sandbox.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Writes a file and commits it; returns the new commit id. */
export function commitFile(sandbox: Sandbox, cwd: string, name: string, content: string, message: string): string {
  fs.writeFileSync(path.join(cwd, name), content);
  git(sandbox, cwd, ['add', '--', name]);
  git(sandbox, cwd, ['commit', '-q', '-m', message]);
  return head(sandbox, cwd);
}

export function head(sandbox: Sandbox, cwd: string): string {
  return git(sandbox, cwd, ['rev-parse', 'HEAD']).trim();
}

/** Runs the built stepper command line. */
export function stepper(sandbox: Sandbox, cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<ProcessResult> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...sandbox.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return waitForExit(child);
}

/** Runs dist/hook/kick.js the way the hook does. */
export function runKick(sandbox: Sandbox, env: NodeJS.ProcessEnv = {}): Promise<ProcessResult> {
  const child = spawn(process.execPath, [KICK, sandbox.dataDir], { cwd: sandbox.root, env: { ...sandbox.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return waitForExit(child);
}

/**
 * Points the installed hooks at a stand-in for node that only appends its arguments to
 * `record`, so hints stay in place for the test to read and no kick runs in the background.
 */
export function stubKick(sandbox: Sandbox, hooksDir: string): string {
  const record = path.join(sandbox.root, 'kick-calls.txt');
  const stub = path.join(sandbox.root, 'fake-node');
  fs.writeFileSync(stub, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${record}'\n`, { mode: 0o755 });

  for (const name of ['post-commit', 'post-rewrite']) {
    const file = path.join(hooksDir, name);
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.replace(/^stepper_node=.*$/m, `stepper_node='${stub}'`));
  }

  return record;
}

export interface ParsedHint {
  name: string;
  event: string;
  gitDir: string;
  commits: string[];
  complete: boolean;
}

/** Reads every hint file in the sandbox's data directory, sorted by name. */
export function readHints(sandbox: Sandbox): ParsedHint[] {
  let names: string[];
  try {
    names = fs.readdirSync(sandbox.hintsDir).filter((name) => name.endsWith('.hint')).sort();
  } catch {
    return [];
  }

  return names.map((name) => {
    const lines = fs.readFileSync(path.join(sandbox.hintsDir, name), 'utf8').split('\n');
    const value = (key: string) => lines.find((line) => line.startsWith(`${key} `))?.slice(key.length + 1) ?? '';
    return {
      name,
      event: value('event'),
      gitDir: value('gitdir'),
      commits: lines.filter((line) => line.startsWith('commit ')).map((line) => line.slice('commit '.length)),
      complete: lines[0] === 'stepper-hint 1' && lines.includes('end'),
    };
  });
}

/** Removes every hint file, so a test can look at the hints of one step. */
export function clearHints(sandbox: Sandbox): void {
  for (const hint of readHints(sandbox)) {
    fs.rmSync(path.join(sandbox.hintsDir, hint.name));
  }
}

/** Polls `check` every 50 ms until it returns true; fails after `attempts` tries. */
export async function eventually(check: () => boolean, attempts = 200): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    if (check()) {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  throw new Error(`condition not met after ${attempts} polls`);
}
