import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ingestHookHints } from '../../src/hook/hints.js';
import { HOOK_LOG_MAX_BYTES, appendHookLog, readHookLog } from '../../src/hook/log.js';
import { openQueue } from '../../src/queue/queue.js';
import { makeTempDir } from '../helpers/temp.js';
import { commitFile, git, head, makeSandbox } from './sandbox.js';

describe('ingestHookHints', () => {
  it('spools jobs when the database is unusable', async () => {
    const sandbox = makeSandbox();
    const sha = head(sandbox, sandbox.repo);
    fs.mkdirSync(sandbox.hintsDir, { recursive: true });
    const hint = path.join(sandbox.hintsDir, '1-0.hint');
    fs.writeFileSync(hint, ['stepper-hint 1', 'event post-commit', `gitdir ${sandbox.repo}/.git`, `commit ${sha}`, 'end', ''].join('\n'));
    fs.writeFileSync(path.join(sandbox.dataDir, 'stepper.db'), 'this is not a SQLite database, so opening it fails');

    const outcomes = await ingestHookHints(sandbox.dataDir, { env: sandbox.env });

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['enqueued']);
    expect(fs.existsSync(hint)).toBe(false);
    const spooled = fs.readdirSync(path.join(sandbox.dataDir, 'spool')).filter((name) => name.endsWith('.json'));
    expect(spooled).toHaveLength(1);
    expect(fs.readFileSync(path.join(sandbox.dataDir, 'spool', spooled[0] as string), 'utf8')).toContain(sha);
    expect(readHookLog(sandbox.dataDir).at(-1)?.message).toContain('1 of them into the spool because the database was unavailable');
  });

  it('stores each commit subject in the job', async () => {
    const sandbox = makeSandbox();
    const first = head(sandbox, sandbox.repo);
    const second = commitFile(sandbox, sandbox.repo, 'second.txt', 'second\n', 'Add the second file');
    fs.mkdirSync(sandbox.hintsDir, { recursive: true });
    const lines = ['stepper-hint 1', 'event post-rewrite rebase', `gitdir ${sandbox.repo}/.git`, `commit ${first}`, `commit ${second}`, 'end', ''];
    fs.writeFileSync(path.join(sandbox.hintsDir, '1-0.hint'), lines.join('\n'));

    const outcomes = await ingestHookHints(sandbox.dataDir, { env: sandbox.env });
    const queue = openQueue({ dataDir: sandbox.dataDir });
    const subjects = new Map(queue.getJobs({ limit: 10 }).map((job) => [job.commitSha, (job.payload as { subject?: string }).subject]));
    queue.close();

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['enqueued']);
    expect(subjects.get(first)).toBe(git(sandbox, sandbox.repo, ['log', '-1', '--format=%s', first]).trim());
    expect(subjects.get(second)).toBe('Add the second file');
  });

  it('returns nothing without a hints folder', async () => {
    const dataDir = makeTempDir();

    expect(await ingestHookHints(dataDir)).toEqual([]);
  });
});

describe('appendHookLog', () => {
  it('rotates a full log to hook.log.1', () => {
    const dataDir = makeTempDir();
    const file = path.join(dataDir, 'hook.log');
    fs.writeFileSync(file, `${'x'.repeat(HOOK_LOG_MAX_BYTES)}\n`);

    appendHookLog(dataDir, 'error', 'after the rotation', new Date('2026-01-02T03:04:05.000Z'));

    expect(fs.statSync(`${file}.1`).size).toBe(HOOK_LOG_MAX_BYTES + 1);
    expect(fs.readFileSync(file, 'utf8')).toBe('2026-01-02T03:04:05.000Z error after the rotation\n');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('writes a message on one line', () => {
    const dataDir = makeTempDir();

    appendHookLog(dataDir, 'info', 'first\nsecond', new Date('2026-01-02T03:04:05.000Z'));

    expect(readHookLog(dataDir)).toEqual([{ time: '2026-01-02T03:04:05.000Z', level: 'info', message: 'first second' }]);
  });
});
