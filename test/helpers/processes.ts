import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterEach } from 'vitest';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts a fixture script from test/fixtures with node; the fixtures import the built dist/. */
export function startFixture(name: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, [path.join(FIXTURES, name), ...args], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Collects a child's output and resolves when it exits. */
export function waitForExit(child: ChildProcess): Promise<ProcessResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs a fixture to completion. */
export function runFixture(name: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ProcessResult> {
  return waitForExit(startFixture(name, args, env));
}

/** Resolves with the first stdout line of `child` that matches `pattern`. */
export function waitForLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer | string) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      const match = lines.find((line) => pattern.test(line));
      if (match !== undefined) {
        child.stdout?.off('data', onData);
        resolve(match);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`process exited with ${code} before printing ${pattern}`)));
  });
}

/**
 * Returns a list to push started children into; after each test, every child still
 * running is killed with SIGKILL and awaited, so a failed assertion cannot leave a
 * process holding the database's write lock for the next test.
 */
export function killLeftoversAfterEach(): ChildProcess[] {
  const children: ChildProcess[] = [];

  afterEach(async () => {
    const leftovers = children.splice(0).filter((child) => child.exitCode === null && child.signalCode === null);
    const closed = leftovers.map((child) => new Promise((resolve) => child.once('close', resolve)));
    for (const child of leftovers) {
      child.kill('SIGKILL');
    }

    await Promise.all(closed);
  });

  return children;
}
