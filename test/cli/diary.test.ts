import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import type { Diary } from '../../src/diary/types.js';
import { DATABASE_FILE } from '../../src/store/data-dir.js';
import { commitAt, newDiaryRepo, newQueue, storeFailure, storePending, storeReport } from '../diary/helpers.js';
import { waitForExit } from '../helpers/processes.js';
import { ALICE } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'stepper.js');

/** Runs the built CLI with its data directory at `dataDir`, a home of its own and TZ=UTC unless `env` sets it. */
function stepper(args: string[], cwd: string, dataDir: string, env: NodeJS.ProcessEnv = {}) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, STEPPER_HOME: dataDir, HOME: makeTempDir('stepper-home-'), NO_COLOR: '1', TZ: 'UTC' };
  delete childEnv.XDG_STATE_HOME;
  delete childEnv.FORCE_COLOR;
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) {
      delete childEnv[name];
    } else {
      childEnv[name] = value;
    }
  }
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  return waitForExit(child);
}

interface Scene {
  dir: string;
  dataDir: string;
  shas: Record<string, string>;
}

/** Builds a repository of four commits on 27, 29 and 30 March 2026 (Berlin), with a report, a failed job and a waiting job. */
function setUp(): Scene {
  const builder = newDiaryRepo('app');
  const shas: Record<string, string> = {};
  builder.write('src/login.ts', 'export const login = 1;\n');
  shas.login = commitAt(builder, 'feat: add the login form\n', '2026-03-27T10:00:00+09:00', { author: ALICE });
  builder.write('src/login.ts', 'export const login = 2;\n');
  shas.fix = commitAt(builder, 'fix: handle an empty name\n', '2026-03-28T18:30:00-05:00');
  builder.write('docs/login.md', '# Login\n');
  shas.docs = commitAt(builder, 'docs: describe the login\n', '2026-03-29T21:30:00Z');
  builder.write('README.md', 'Read me\n');
  shas.readme = commitAt(builder, 'Write a README\n', '2026-03-29T22:30:00Z');

  const gitDir = fs.realpathSync(path.join(builder.dir, '.git'));
  const { queue, dataDir } = newQueue();
  try {
    storeReport(queue, gitDir, shas.login, { title: 'Add a login form', summary: 'Users can now sign in with a form that checks the password.' });
    storeFailure(queue, gitDir, shas.fix);
    storePending(queue, gitDir, shas.docs);
  } finally {
    queue.close();
  }
  return { dir: builder.dir, dataDir, shas };
}

describe('stepper diary', () => {
  it('prints periods, commits and marks as text', async () => {
    const { dir, dataDir, shas } = setUp();

    const result = await stepper(['diary', '--time-zone', 'Europe/Berlin'], dir, dataDir);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('Diary of app by day in Europe/Berlin');
    expect(lines[1]).toBe('4 commits (docs 1, feat 1, fix 1, other 1), 1 reported, +4 -1');
    expect(lines).toContain('Friday 27 March 2026  1 commit (feat 1), 1 reported, +1 -0');
    expect(lines).toContain(`  ${shas.login?.slice(0, 12)}  Add a login form`);
    expect(lines).toContain('                Users can now sign in with a form that checks the password.');
    expect(lines).toContain('Saturday 28 March 2026: no commits');
    expect(lines).toContain('Sunday 29 March 2026  2 commits (docs 1, fix 1), 0 reported, +2 -1');
    expect(lines).toContain(`  ${shas.fix?.slice(0, 12)}  fix: handle an empty name  [report failed]`);
    expect(lines).toContain(`  ${shas.docs?.slice(0, 12)}  docs: describe the login  [report pending]`);
    expect(lines).toContain('Monday 30 March 2026  1 commit (other 1), 0 reported, +1 -0');
    expect(lines).toContain(`  ${shas.readme?.slice(0, 12)}  Write a README  [no report]`);
    expect(result.stdout).not.toContain('\u001b[');
  });

  it('joins runs of empty periods', async () => {
    const { dir, dataDir } = setUp();

    const result = await stepper(['diary', '--time-zone', 'Europe/Berlin', '--since', '2026-03-20 00:00', '--until', '2026-03-27 23:00'], dir, dataDir);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('\nFriday 20 March 2026 to Thursday 26 March 2026: no commits (7 days)\n');
    expect(result.stdout).toContain('\nFriday 27 March 2026  1 commit');
    expect(result.stdout.split('\n')[0]).toBe('Diary of app by day in Europe/Berlin since 2026-03-20T00:00:00+01:00 until 2026-03-27T23:00:00+01:00');
  });

  it('prints Markdown', async () => {
    const { dir, dataDir, shas } = setUp();

    const result = await stepper(['diary', '--time-zone', 'Europe/Berlin', '--by', 'week', '--format', 'markdown'], dir, dataDir);

    expect(result.code).toBe(0);
    expect(result.stdout.startsWith('# Diary of app by week in Europe/Berlin\n\n_4 commits (docs 1, feat 1, fix 1, other 1), 1 reported, +4 -1_\n')).toBe(true);
    expect(result.stdout).toContain('\n## Week 13, 23–29 March 2026\n\n_3 commits (docs 1, feat 1, fix 1), 1 reported, +3 -1_\n');
    expect(result.stdout).toContain(`\n- \`${shas.login?.slice(0, 12)}\` **Add a login form**\n\n  Users can now sign in with a form that checks the password.\n`);
    expect(result.stdout).toContain(`\n- \`${shas.fix?.slice(0, 12)}\` fix: handle an empty name _(report failed)_\n`);
    expect(result.stdout).toContain('\n## Week 14, 30 March – 5 April 2026\n');
  });

  it('prints the Diary object as JSON', async () => {
    const { dir, dataDir, shas } = setUp();

    const result = await stepper(['diary', '--time-zone', 'America/New_York', '--json'], dir, dataDir);

    expect(result.code).toBe(0);
    const diary = JSON.parse(result.stdout) as Diary;
    expect(Object.keys(diary)).toEqual(['grouping', 'timeZone', 'since', 'until', 'author', 'repositories', 'skipped', 'periods', 'totals']);
    expect(diary.timeZone).toBe('America/New_York');
    expect(diary.periods.map((period) => [period.key, period.commits.length])).toEqual([
      ['2026-03-26', 1],
      ['2026-03-27', 0],
      ['2026-03-28', 1],
      ['2026-03-29', 2],
    ]);
    const commit = diary.periods[0]?.commits[0];
    expect(commit?.sha).toBe(shas.login);
    expect(Object.keys(commit ?? {})).toEqual([
      'sha', 'repository', 'repositoryName', 'authorName', 'authorEmail', 'authoredAt', 'authoredAtMs', 'subject', 'merge', 'type',
      'additions', 'deletions', 'files', 'reportState', 'report',
    ]);
    expect(commit?.authorName).toBe('Alice Example');
  });

  it('reads the zone from TZ by default', async () => {
    const { dir, dataDir } = setUp();

    const result = await stepper(['diary', '--format', 'json'], dir, dataDir, { TZ: 'Asia/Tokyo' });

    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as Diary).timeZone).toBe('Asia/Tokyo');
  });

  it('writes one HTML page', async () => {
    const { dir, dataDir } = setUp();

    const result = await stepper(['diary', '--format', 'html'], dir, dataDir);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(result.stdout).toContain('Add a login form');
    expect(result.stdout.trimEnd().endsWith('</html>')).toBe(true);
  });

  it('colours text only when asked', async () => {
    const { dir, dataDir } = setUp();

    const forced = await stepper(['diary'], dir, dataDir, { NO_COLOR: undefined, FORCE_COLOR: '1' });

    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain('\u001b[1mDiary of app');
  });

  it('reads every repository with --all-repos', async () => {
    const { dataDir, shas } = setUp();

    const result = await stepper(['diary', '--all-repos', '--json'], makeTempDir('stepper-outside-'), dataDir);

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const diary = JSON.parse(result.stdout) as Diary;
    expect(diary.repositories).toHaveLength(1);
    expect(diary.periods.flatMap((period) => period.commits.map((commit) => commit.sha))).toEqual([shas.login, shas.fix, shas.docs, shas.readme]);
  });

  it('rejects bad input with exit 2', async () => {
    const { dir, dataDir } = setUp();
    const database = path.join(dataDir, DATABASE_FILE);
    const before = fs.readFileSync(database);

    const cases: Array<[string[], string, RegExp]> = [
      [['--by', 'year'], dir, /^stepper: invalid --by: expected day, week, month, received "year"\n$/],
      [['--format', 'xml'], dir, /^stepper: invalid --format: expected text, markdown, json, html, received "xml"\n$/],
      [['--json', '--format', 'text'], dir, /^stepper: invalid --format: expected json or no --format together with --json, received "text"/],
      [['--since', 'the day before'], dir, /^stepper: invalid --since: expected a date git reads, such as .*, received "the day before"\n$/],
      [['--until', 'soonish'], dir, /^stepper: invalid --until: .*received "soonish"/],
      [['--time-zone', 'Mars/Olympus'], dir, /^stepper: invalid --time-zone: expected an IANA time zone name .*, received "Mars\/Olympus"\n$/],
      [['--author', '['], dir, /^stepper: invalid --author: expected a regular expression git accepts, such as "Ada\|Grace", received "\["\n$/],
      [[], makeTempDir('stepper-outside-'), /^stepper: not a git repository: .*run stepper inside a git worktree or a bare repository, or add --all-repos for every repository stepper knows\n$/],
      [['--by'], dir, /^stepper: option '--by <period>' argument missing/],
      [['--since', '2026-03-10 00:00', '--until', '2026-03-01 00:00'], dir, /^stepper: invalid --since: expected a date before --until \(2026-03-01 00:00, read as 2026-03-01T00:00:00.000Z\), received "2026-03-10 00:00"/],
    ];
    for (const [args, cwd, message] of cases) {
      const result = await stepper(['diary', ...args], cwd, dataDir);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stdout, args.join(' ')).toBe('');
      expect(result.stderr, args.join(' ')).toMatch(message);
    }
    expect(fs.readFileSync(database).equals(before)).toBe(true);
  });

  it('fails with exit 1 on an unreadable database', async () => {
    const { dir } = setUp();
    const dataDir = makeTempDir('stepper-diary-broken-');
    const database = path.join(dataDir, DATABASE_FILE);
    fs.writeFileSync(database, 'this is not a database, but a note\n'.repeat(200));
    const before = fs.readFileSync(database);

    const result = await stepper(['diary'], dir, dataDir);

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^stepper: .*\n$/);
    expect(fs.readFileSync(database).equals(before)).toBe(true);
  });
});
