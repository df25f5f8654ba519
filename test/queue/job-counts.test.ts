import path from 'node:path';

import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

import { pruneQueue } from '../../src/queue/maintenance.js';
import { type OpenQueueOptions, type Queue, openExistingQueue, openQueue } from '../../src/queue/queue.js';
import { JOB_STATES, type JobState, type NewJob } from '../../src/queue/types.js';
import { DATABASE_FILE } from '../../src/store/data-dir.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/store/migrations.js';
import { FakeClock } from '../helpers/clock.js';
import { fakeSha } from '../helpers/commits.js';
import { makeTempDir } from '../helpers/temp.js';

const DAY = 24 * 60 * 60 * 1000;

const queues: Queue[] = [];
afterEach(() => {
  for (const queue of queues.splice(0)) {
    queue.close();
  }
});

function setup(options: OpenQueueOptions = {}): { queue: Queue; clock: FakeClock } {
  const clock = new FakeClock();
  const queue = openQueue({ dataDir: makeTempDir(), clock: clock.read, random: () => 0, ...options });
  queues.push(queue);
  return { queue, clock };
}

function commitJob(sha: string, extra: Partial<NewJob> = {}): NewJob {
  return { kind: 'commit-report', repository: '/repos/app/.git', commitSha: fakeSha(sha), ...extra };
}

/** Counts per state the slow way, which job_counts must always equal. */
function groupByCounts(db: Database.Database): Record<JobState, number> {
  const counts = Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as Record<JobState, number>;
  for (const row of db.prepare('SELECT state, count(*) AS n FROM jobs GROUP BY state').all() as Array<{ state: JobState; n: number }>) {
    counts[row.state] = row.n;
  }

  return counts;
}

function expectCountsMatch(queue: Queue, expected: Partial<Record<JobState, number>>): void {
  const counts = queue.getCounts();
  expect(counts).toEqual(groupByCounts(queue.database));
  for (const [state, n] of Object.entries(expected)) {
    expect(counts[state as JobState], state).toBe(n);
  }
}

describe('job_counts', () => {
  it('counts added and deduplicated jobs', () => {
    const { queue } = setup();

    queue.add(commitJob('a1'));
    queue.add(commitJob('a2', { delayMs: 60_000 }));
    expect(queue.add(commitJob('a1')).deduplicated).toBe(true);

    expectCountsMatch(queue, { waiting: 1, delayed: 1 });
  });

  it('follows claims, completions and failures', () => {
    const { queue } = setup();
    for (const sha of ['b1', 'b2', 'b3', 'b4']) {
      queue.add(commitJob(sha, { maxAttempts: 1 }));
    }

    const first = queue.claim('worker-1')!;
    const second = queue.claim('worker-1')!;
    expectCountsMatch(queue, { waiting: 2, active: 2 });

    queue.complete(first, { report: { content: { text: 'done' } } });
    expect(queue.fail(second, new Error('boom'))).toBe('failed');
    expectCountsMatch(queue, { waiting: 2, active: 0, completed: 1, failed: 1 });

    const third = queue.claim('worker-1')!;
    const outcome = queue.completeAndClaim(third, {}, 'worker-1');
    expect(outcome.next).toBeDefined();
    expectCountsMatch(queue, { waiting: 0, active: 1, completed: 2, failed: 1 });
  });

  it('follows retries with backoff, releases and stalls', () => {
    const { queue, clock } = setup({ lockDurationMs: 10_000 });
    queue.add(commitJob('c1', { maxAttempts: 3 }));
    queue.add(commitJob('c2'));
    queue.add(commitJob('c3'));

    expect(queue.fail(queue.claim('worker-1')!, new Error('boom'))).toBe('retried');
    expectCountsMatch(queue, { waiting: 2, delayed: 1 });

    expect(queue.release(queue.claim('worker-1')!)).toBe(true);
    expectCountsMatch(queue, { waiting: 2, delayed: 1, active: 0 });

    queue.claim('worker-1');
    clock.advance(11_000);
    queue.requeueStalled();
    expectCountsMatch(queue, { active: 0 });

    clock.advance(DAY);
    queue.claim('worker-1');
    expectCountsMatch(queue, { delayed: 0, active: 1 });
  });

  it('follows cancels and manual retries', () => {
    const { queue } = setup();
    const waiting = queue.add(commitJob('d1')).job;
    const other = queue.add(commitJob('d2')).job;

    queue.cancel(waiting.id);
    queue.cancel(other.id);
    expectCountsMatch(queue, { waiting: 0, cancelled: 2 });

    queue.retry(waiting.id);
    expectCountsMatch(queue, { waiting: 1, cancelled: 1 });
  });

  it('follows retention removals', () => {
    const { queue, clock } = setup({ retention: { completed: { count: 1, ageMs: DAY }, failed: { count: 0, ageMs: DAY } } });
    for (const sha of ['e1', 'e2', 'e3']) {
      queue.add(commitJob(sha, { maxAttempts: 1 }));
      queue.complete(queue.claim('worker-1')!);
    }
    queue.add(commitJob('e4', { maxAttempts: 1 }));
    queue.fail(queue.claim('worker-1')!, new Error('boom'));
    clock.advance(2 * DAY);

    const result = queue.clean();

    expect(result.completed).toBe(2);
    expectCountsMatch(queue, { completed: 1, failed: 0 });
  });

  it('follows prune', () => {
    const { queue, clock } = setup();
    queue.add(commitJob('f1'));
    queue.complete(queue.claim('worker-1')!);
    queue.add(commitJob('f2'));
    queue.cancel(queue.add(commitJob('f3')).job.id);
    clock.advance(40 * DAY);

    queue.batch(() => pruneQueue(queue.database, { olderThanMs: 30 * DAY }, clock.read()));

    expectCountsMatch(queue, { waiting: 1, completed: 0, cancelled: 0 });
  });

  it('is read by a read-only queue', () => {
    const { queue } = setup();
    queue.add(commitJob('g1'));
    queue.add(commitJob('g2'));
    const dataDir = path.dirname(queue.file);

    const reader = openExistingQueue({ dataDir })!;
    queues.push(reader);

    expect(reader.getCounts().waiting).toBe(2);
  });
});

describe('job_counts migration', () => {
  it('fills the counts of a previous-version database', () => {
    const dataDir = makeTempDir();
    const file = path.join(dataDir, DATABASE_FILE);
    const old = new Database(file);
    for (const migration of MIGRATIONS.slice(0, SCHEMA_VERSION - 1)) {
      old.exec(migration);
    }
    old.pragma(`user_version = ${SCHEMA_VERSION - 1}`);
    const insert = old.prepare(`
      INSERT INTO jobs (id, kind, repository, commit_sha, dedup_key, priority, state, run_at, max_attempts, created_at, updated_at)
      VALUES (?, 'report', '/r/.git', ?, ?, 2, ?, 0, 5, 0, 0)`);
    const states: JobState[] = ['waiting', 'waiting', 'delayed', 'active', 'completed', 'completed', 'completed', 'failed', 'cancelled'];
    states.forEach((state, index) => insert.run(`job-${index}`, fakeSha(`m${index}`), `key-${index}`, state));
    old.close();

    const queue = openQueue({ dataDir });
    queues.push(queue);

    expect(queue.database.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expectCountsMatch(queue, { waiting: 2, delayed: 1, active: 1, completed: 3, failed: 1, cancelled: 1 });

    queue.add(commitJob('m-new'));
    expectCountsMatch(queue, { waiting: 3 });
  });

  it('has a row for every state in a new database', () => {
    const { queue } = setup();

    const states = queue.database.prepare('SELECT state FROM job_counts ORDER BY state').pluck().all();

    expect(states).toEqual([...JOB_STATES].sort());
  });
});
