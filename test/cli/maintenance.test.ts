import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';

import { PROMPT_VERSION } from '../../src/report/prompt.js';
import { DATABASE_FILE } from '../../src/store/data-dir.js';
import { chatRequests, commitAll, type E2eUser, initRepository, readStatus, startUser, stepper, waitForReports } from '../helpers/e2e.js';
import { addCompleted, addFailed, addWaiting, DAY_MS, jobState, openSeededQueue, snapshotDatabase } from '../helpers/maintenance.js';
import type { FakeOllamaOptions } from '../fake-ollama/server.mjs';

interface Scene {
  user: E2eUser;
  repo: string;
  gitDir: string;
  shas: string[];
}

async function setUp(fake: FakeOllamaOptions = {}): Promise<Scene> {
  const user = await startUser(fake);
  const repo = initRepository(user, path.join(user.root, 'repo'));
  const shas: string[] = [];
  for (let index = 0; index < 2; index += 1) {
    shas.push((await commitAll(user, repo, { 'app.txt': `version ${index}\n` }, `Change ${index}`, { index })).sha);
  }

  return { user, repo, gitDir: fs.realpathSync(path.join(repo, '.git')), shas };
}

/** Opens the user's queue, runs `work` and closes the queue, so only the CLI has the file open afterwards. */
function seed<T>(scene: Scene, work: (seeded: ReturnType<typeof openSeededQueue>) => T): T {
  const seeded = openSeededQueue(scene.user.dataDir);
  try {
    return work(seeded);
  } finally {
    seeded.queue.close();
  }
}

function reportRows(scene: Scene, sha: string): Array<{ provenance: string }> {
  const db = new Database(path.join(scene.user.dataDir, DATABASE_FILE), { readonly: true });
  try {
    return db.prepare('SELECT provenance FROM reports WHERE commit_sha = ? ORDER BY created_at, rowid').all(sha) as Array<{ provenance: string }>;
  } finally {
    db.close();
  }
}

async function waitForState(scene: Scene, id: string, state: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (jobState(scene.user.dataDir, id) !== state) {
    if (Date.now() > deadline) {
      throw new Error(`job ${id} is ${jobState(scene.user.dataDir, id)}, not ${state}, after ${timeoutMs} ms`);
    }
    await sleep(50);
  }
}

describe('stepper retry', () => {
  it('retry takes an upper-case job id', async () => {
    const scene = await setUp();
    const id = seed(scene, ({ queue }) => addFailed(queue, { repository: scene.gitDir, sha: scene.shas[0] as string, subject: 'Change 0' }));

    const result = await stepper(scene.user, scene.repo, ['retry', id.toUpperCase(), '--json']);

    expect(result.code, result.stderr).toBe(0);
    expect((JSON.parse(result.stdout) as { jobs: Array<{ jobId: string }> }).jobs.map((job) => job.jobId)).toEqual([id]);
  });

  it('retry --failed completes through the daemon', async () => {
    const scene = await setUp();
    const id = seed(scene, ({ queue }) => addFailed(queue, { repository: scene.gitDir, sha: scene.shas[0] as string, subject: 'Change 0' }));

    const result = await stepper(scene.user, scene.repo, ['retry', '--failed']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^waiting +${scene.shas[0]?.slice(0, 7)}  Change 0  job ${id}\n`));
    await waitForReports(scene.user, scene.repo, [scene.shas[0] as string]);
    expect(jobState(scene.user.dataDir, id)).toBe('completed');
    expect(chatRequests(scene.user)).toBeGreaterThan(0);
  });

  it('retry by id prints JSON', async () => {
    const scene = await setUp();
    const id = seed(scene, ({ queue }) => addFailed(queue, { repository: scene.gitDir, sha: scene.shas[1] as string }));

    const result = await stepper(scene.user, scene.repo, ['retry', id, '--json']);

    const json = JSON.parse(result.stdout) as { jobs: Array<{ jobId: string; previousState: string; state: string }> };
    expect(json.jobs).toEqual([expect.objectContaining({ jobId: id, previousState: 'failed', state: 'waiting' })]);
  });
});

describe('empty selections', () => {
  it('nothing to retry goes to stdout', async () => {
    const scene = await setUp();

    const text = await stepper(scene.user, scene.repo, ['retry', '--failed']);
    const json = await stepper(scene.user, scene.repo, ['retry', '--failed', '--json']);

    expect(text.code).toBe(0);
    expect(text.stdout).toBe('no failed jobs in this repository; nothing to retry\n');
    expect(text.stderr).toBe('');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ jobs: [] });
    expect(json.stderr).toBe('');
  });

  it('nothing to cancel goes to stdout', async () => {
    const scene = await setUp();

    const text = await stepper(scene.user, scene.repo, ['cancel', '--waiting', '--all']);
    const json = await stepper(scene.user, scene.repo, ['cancel', '--waiting', '--json']);

    expect(text.code).toBe(0);
    expect(text.stdout).toBe('no waiting or delayed jobs; nothing to cancel\n');
    expect(text.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toEqual({ jobs: [] });
    expect(json.stderr).toBe('');
  });
});

describe('stepper cancel', () => {
  it('cancel aborts the active Ollama request', async () => {
    const scene = await setUp({ faults: [{ fault: { kind: 'slow_headers', delayMs: 60_000 }, times: 'always' }] });
    const report = await stepper(scene.user, scene.repo, ['report', '--json', scene.shas[1] as string]);
    const id = (JSON.parse(report.stdout) as Array<{ jobId: string }>)[0]?.jobId as string;
    await waitForState(scene, id, 'active');
    const deadline = Date.now() + 20_000;
    while (chatRequests(scene.user) === 0 && Date.now() < deadline) {
      await sleep(50);
    }

    const result = await stepper(scene.user, scene.repo, ['cancel', id]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^cancelled/);
    expect(jobState(scene.user.dataDir, id)).toBe('cancelled');
    const chat = scene.user.fake.requests.find((request) => request.path === '/api/chat');
    while (chat?.clientClosedEarly !== true && Date.now() < deadline) {
      await sleep(50);
    }
    expect(chat?.clientClosedEarly).toBe(true);
  });

  it('cancel --waiting spares other repositories', async () => {
    const scene = await setUp();
    const [first, second, elsewhere] = seed(scene, ({ queue }) => [
      addWaiting(queue, { repository: scene.gitDir, sha: scene.shas[0] as string }),
      addWaiting(queue, { repository: scene.gitDir, sha: scene.shas[1] as string }),
      addWaiting(queue, { repository: '/elsewhere/.git', sha: scene.shas[0] as string }),
    ]);

    const result = await stepper(scene.user, scene.repo, ['cancel', '--waiting', '--json']);

    expect((JSON.parse(result.stdout) as { jobs: Array<{ jobId: string }> }).jobs.map((job) => job.jobId)).toEqual([first, second]);
    expect(jobState(scene.user.dataDir, elsewhere as string)).toBe('waiting');
  });
});

describe('stepper prune', () => {
  it('prune dry run, then removal', async () => {
    const scene = await setUp();
    const [old, young] = seed(scene, ({ queue, at }) => {
      at(40);
      const oldId = addFailed(queue, { repository: scene.gitDir, sha: scene.shas[0] as string });
      at(0);
      return [oldId, addFailed(queue, { repository: scene.gitDir, sha: scene.shas[1] as string })];
    });
    const before = snapshotDatabase(scene.user.dataDir);

    const dry = await stepper(scene.user, scene.repo, ['prune', '--dry-run']);
    expect(dry.stdout).toContain('would remove 1 finished job older than 30d (0 completed, 1 failed, 0 cancelled)');
    expect(snapshotDatabase(scene.user.dataDir)).toEqual(before);

    expect(dry.stdout).toMatch(/\ndatabase and WAL: \d+\.\d [KM]iB; a dry run does not measure the size after pruning\n$/);
    const dryJson = await stepper(scene.user, scene.repo, ['prune', '--dry-run', '--json']);
    expect(JSON.parse(dryJson.stdout)).toMatchObject({ failed: 1, dryRun: true, bytesBefore: expect.any(Number), bytesAfter: null });
    expect(snapshotDatabase(scene.user.dataDir)).toEqual(before);

    const real = await stepper(scene.user, scene.repo, ['prune', '--older-than', '4w', '--json']);
    expect(JSON.parse(real.stdout)).toMatchObject({ failed: 1, olderThanMs: 28 * DAY_MS, dryRun: false });
    expect(jobState(scene.user.dataDir, old as string)).toBeUndefined();
    expect(jobState(scene.user.dataDir, young as string)).toBe('failed');
  });
});

describe('stepper redo', () => {
  it('redo lists, regenerates, keeps old report', async () => {
    const scene = await setUp();
    seed(scene, ({ queue }) => addCompleted(queue, { repository: scene.gitDir, sha: scene.shas[0] as string, subject: 'Change 0' }, { promptVersion: PROMPT_VERSION - 1 }));
    const before = snapshotDatabase(scene.user.dataDir);

    const dry = await stepper(scene.user, scene.repo, ['redo', '--stale', '--dry-run']);
    expect(dry.stdout).toContain(`1 stale report would be made again with qwen2.5-coder:7b, prompt v${PROMPT_VERSION}`);
    expect(dry.stdout).toContain(`${scene.shas[0]?.slice(0, 7)}  Change 0  (qwen2.5-coder:7b, prompt v${PROMPT_VERSION - 1}`);
    expect(snapshotDatabase(scene.user.dataDir)).toEqual(before);

    const result = await stepper(scene.user, scene.repo, ['redo', '--stale', '--json']);
    const json = JSON.parse(result.stdout) as { reports: Array<{ jobId: string }> };
    await waitForState(scene, json.reports[0]?.jobId as string, 'completed');

    const rows = reportRows(scene, scene.shas[0] as string).map((row) => JSON.parse(row.provenance) as { promptVersion: number });
    expect(rows.map((row) => row.promptVersion)).toEqual([PROMPT_VERSION - 1, PROMPT_VERSION]);
    const again = await stepper(scene.user, scene.repo, ['redo', '--stale', '--dry-run']);
    expect(again.stdout).toMatch(/^no stale reports/);
  });
});

describe('stepper redo counts', () => {
  it('redo counts already queued jobs', async () => {
    // The fake Ollama lacks this model, so the daemon keeps its jobs waiting without spending
    // an attempt, and the seeded job is still live when redo looks for duplicates.
    const scene = await setUp();
    const model = 'absent-model:1';
    const live = seed(scene, ({ queue }) => {
      for (const sha of scene.shas) {
        addCompleted(queue, { repository: scene.gitDir, sha }, { promptVersion: PROMPT_VERSION - 1 });
      }
      return addWaiting(queue, { repository: scene.gitDir, sha: scene.shas[0] as string, model });
    });

    const result = await stepper(scene.user, scene.repo, ['redo', '--stale', '--model', model]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^queued 1 of 2 stale reports to be made again with absent-model:1, prompt v\d+, schema v\d+ \(1 already queued\); the old reports stay/);
    expect(result.stdout).toContain(`job ${live} (already queued)`);
    expect(result.stdout.match(/\(already queued\)/g)).toHaveLength(1);
  });

  it('dry run lists a deleted repository as skipped', async () => {
    const scene = await setUp();
    seed(scene, ({ queue }) => {
      addCompleted(queue, { repository: scene.gitDir, sha: scene.shas[0] as string }, { promptVersion: PROMPT_VERSION - 1 });
      addCompleted(queue, { repository: '/no/such/repository/.git', sha: scene.shas[1] as string }, { promptVersion: PROMPT_VERSION - 1 });
    });

    const dry = await stepper(scene.user, scene.repo, ['redo', '--stale', '--all', '--dry-run']);

    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^1 of 2 stale reports would be made again with .*; 1 is skipped because the repository or commit is gone:\n/);
    expect(dry.stdout).toMatch(new RegExp(`\\n${scene.shas[1]?.slice(0, 7)} .*\\(qwen2\\.5-coder:7b, prompt v${PROMPT_VERSION - 1}, schema v\\d+\\)  skipped: `));
    expect(dry.stdout).toContain('skipped: repository /no/such/repository/.git not found');
  });
});

describe('maintenance bad input', () => {
  const UNKNOWN = '00000000-0000-4000-8000-000000000000';

  it.each<[string, (ids: { failed: string; completed: string }) => string[], number, RegExp, boolean?]>([
    ['retry without a target', () => ['retry'], 2, /^stepper: stepper retry needs a job id or --failed/],
    ['retry with an id and --failed', (ids) => ['retry', ids.failed, '--failed'], 2, /not both/],
    ['retry of a malformed id', () => ['retry', 'abc'], 2, /^stepper: invalid job id: .*"abc"/],
    ['retry of an unknown id', () => ['retry', UNKNOWN], 1, new RegExp(`^stepper: job ${UNKNOWN} not found`)],
    ['retry of a completed job', (ids) => ['retry', ids.completed], 1, /is completed: only failed or cancelled jobs can be retried/],
    ['cancel of a failed job', (ids) => ['cancel', ids.failed], 1, /is already failed: only waiting, delayed or active jobs can be cancelled/],
    ['cancel with an id and --waiting', (ids) => ['cancel', '--waiting', ids.failed], 2, /stepper cancel takes a job id or --waiting, not both/],
    ['prune with a bad duration', () => ['prune', '--older-than', '3x'], 2, /^stepper: invalid --older-than: .*"3x"/],
    ['prune with a zero duration', () => ['prune', '--older-than', '0d'], 2, /invalid --older-than/],
    ['prune with a huge duration', () => ['prune', '--older-than', '99999999999999w'], 2, /^stepper: invalid --older-than: "99999999999999w" is too large; the maximum is 14892855w\n$/],
    ['retry with --all alone', () => ['retry', '--all'], 2, /^stepper: stepper retry --all only goes with --failed: run stepper retry --failed --all/],
    ['cancel with --all alone', () => ['cancel', '--all'], 2, /^stepper: stepper cancel --all only goes with --waiting: run stepper cancel --waiting --all/],
    ['redo without --stale', () => ['redo'], 2, /^stepper: stepper redo needs --stale/],
    ['redo with a bad model', () => ['redo', '--stale', '--model', 'two words'], 2, /invalid --model/],
    ['retry --failed outside a repository', () => ['retry', '--failed'], 2, /is not in a git repository: .*add --all/, true],
  ])('%s', async (_name, args, code, message, outside) => {
    const scene = await setUp();
    const ids = seed(scene, ({ queue }) => ({
      failed: addFailed(queue, { repository: scene.gitDir, sha: scene.shas[0] as string }),
      completed: addCompleted(queue, { repository: scene.gitDir, sha: scene.shas[1] as string }).jobId,
    }));
    const before = snapshotDatabase(scene.user.dataDir);

    const result = await stepper(scene.user, outside ? scene.user.root : scene.repo, args(ids));

    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stdout).toBe('');
    expect(snapshotDatabase(scene.user.dataDir)).toEqual(before);
    expect((await readStatus(scene.user, scene.repo)).daemon.state).toBe('stopped');
  });
});

