import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { buildProgram, commandPath } from '../../src/cli/main.js';
import { FIXTURES, waitForExit } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'stepper.js');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

function stepper(args: string[], nodeOptions: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [...nodeOptions, BIN, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return waitForExit(child);
}

describe('stepper program', () => {
  it('prints the package version', async () => {
    const result = await stepper(['--version']);

    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(PACKAGE.version);
  });

  it('prints help', async () => {
    const result = await stepper(['--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: stepper');
    expect(result.stdout).toContain('local Ollama model');
  });

  it('rejects an unknown option with exit 2', async () => {
    const result = await stepper(['--no-such-option']);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^stepper: unknown option '--no-such-option'/);
    expect(result.stdout).toBe('');
  });

  it.each([
    [[], 'stepper'],
    [['status', '--limit', '0'], 'stepper status'],
    [['hook', 'status', '--bogus'], 'stepper hook status'],
    [['--json', 'status'], 'stepper'],
    [['journal'], 'stepper'],
  ])('commandPath of %j is %s', (args, expected) => {
    expect(commandPath(buildProgram(), args)).toBe(expected);
  });

  it('points a bad option to its command help', async () => {
    const result = await stepper(['hook', 'status', '--bogus']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe("stepper: unknown option '--bogus' (run `stepper hook status --help` for usage)\n");
  });

  // Words close to real commands, which a newcomer may type.
  it.each(['journal', 'reports'])('rejects the unknown command %s with exit 2', async (word) => {
    const result = await stepper([word]);

    expect(result.code).toBe(2);
    // One line, like every stepper error.
    expect(result.stderr).toBe(`stepper: unknown command '${word}' (run \`stepper --help\` for usage)\n`);
    expect(result.stdout).toBe('');
  });

  it('loads no heavy module for help', async () => {
    const log = path.join(makeTempDir(), 'imports.log');
    fs.writeFileSync(log, '');

    const result = await stepper(['--help'], ['--import', path.join(FIXTURES, 'cli', 'record-imports.mjs')], {
      STEPPER_TEST_IMPORT_LOG: log,
    });

    expect(result.code).toBe(0);
    const loaded = fs.readFileSync(log, 'utf8');
    expect(loaded).toContain('/node_modules/commander/');
    for (const heavy of ['ollama', 'ora', 'simple-git', 'better-sqlite3', 'chalk']) {
      expect(loaded, `${heavy} loaded by --help`).not.toContain(`/node_modules/${heavy}/`);
    }
  });
});
