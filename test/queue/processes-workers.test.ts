// Workers in real OS processes sharing one database file: draining, recovery after a
// SIGKILL, and pickup of jobs enqueued while a worker runs. The fixtures import the
// built dist/, so run `npm run build` first.
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';

import { describe, expect, test } from 'vitest';

import { openQueue, type Queue } from '../../src/index.js';
import { type ProcessResult, killLeftoversAfterEach, startFixture, waitForExit, waitForLine } from '../helpers/processes.js';
import { makeTempDir } from '../helpers/temp.js';

const JOB_COUNT = 1000;
const CONSUMER_COUNT = 3;

interface StartedFixture {
  process: ChildProcess;
  exited: Promise<ProcessResult>;
}

/** Options of consumer.mjs; see the fixture's header. */
interface ConsumerOptions {
  concurrency?: number;
  pollIntervalMs?: number;
  stalledIntervalMs?: number;
  lockDurationMs?: number;
  workMs?: number;
  block?: boolean;
  waitForGo?: boolean;
  exitWhenEmpty?: boolean;
  exitAfterCompleted?: number;
}

const children = killLeftoversAfterEach();

function start(fixture: string, args: string[]): StartedFixture {
  const child = startFixture(`queue/${fixture}`, args);
  children.push(child);
  return { process: child, exited: waitForExit(child) };
}

function startConsumer(dataDir: string, options: ConsumerOptions): StartedFixture {
  return start('consumer.mjs', [dataDir, JSON.stringify(options)]);
}

function commitSha(n: number): string {
  return createHash('sha1').update(`commit ${n}`).digest('hex');
}

function addJob(queue: Queue, n: number): string {
  return queue.add({ kind: 'report', repository: '/repos/demo', commitSha: commitSha(n) }).job.id;
}

function linesStartingWith(stdout: string, prefix: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith(`${prefix} `))
    .map((line) => line.slice(prefix.length + 1));
}

/** Counts report rows per commit, since a report row names its commit and not its job. */
function reportCountsByCommit(queue: Queue): Map<string, number> {
  const rows = queue.database.prepare('SELECT commit_sha AS sha, count(*) AS n FROM reports GROUP BY commit_sha').all() as Array<{
    sha: string;
    n: number;
  }>;
  return new Map(rows.map((row) => [row.sha, row.n]));
}

describe('Worker across processes', () => {
  test('3 consumers drain 1,000 jobs', async () => {
    const dataDir = makeTempDir();
    const queue = openQueue({ dataDir });

    try {
      const ids = Array.from({ length: JOB_COUNT }, (_, n) => addJob(queue, n));

      // The default 60 s lock cannot expire while a consumer lives, so no job is recovered
      // as stalled and run twice. Without workMs one consumer can take the write lock back
      // before the others wake from SQLite's busy wait, and drain the queue nearly alone.
      const consumers = Array.from({ length: CONSUMER_COUNT }, () =>
        startConsumer(dataDir, { concurrency: 2, pollIntervalMs: 20, workMs: 5, waitForGo: true, exitWhenEmpty: true }),
      );
      // Released together, so the first consumer to load cannot drain the queue alone.
      await Promise.all(consumers.map(({ process }) => waitForLine(process, /^ready$/)));
      for (const { process } of consumers) {
        process.stdin?.end('go\n');
      }

      const results = await Promise.all(consumers.map(({ exited }) => exited));

      for (const result of results) {
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect(result.stdout).toContain('closed');
      }

      const completedPerConsumer = results.map((result) => linesStartingWith(result.stdout, 'completed'));
      console.info(`jobs completed per consumer: ${completedPerConsumer.map((completed) => completed.length).join(', ')}`);
      for (const completed of completedPerConsumer) {
        expect(completed.length).toBeGreaterThan(0);
      }

      const allCompleted = completedPerConsumer.flat();
      expect(allCompleted).toHaveLength(JOB_COUNT);
      expect(new Set(allCompleted)).toEqual(new Set(ids));

      expect(queue.getCounts()).toEqual({ waiting: 0, delayed: 0, active: 0, completed: JOB_COUNT, failed: 0, cancelled: 0 });

      const withoutOneCompletion = ids.filter(
        (id) => queue.getEvents({ jobId: id }).filter((event) => event.type === 'completed').length !== 1,
      );
      expect(withoutOneCompletion).toEqual([]);

      const reportCounts = reportCountsByCommit(queue);
      const commitsWithoutOneReport = Array.from({ length: JOB_COUNT }, (_, n) => commitSha(n)).filter(
        (sha) => reportCounts.get(sha) !== 1,
      );
      expect(commitsWithoutOneReport).toEqual([]);
      expect(reportCounts.size).toBe(JOB_COUNT);

      const withoutReport = ids.filter((id) => {
        const resultId = queue.getJob(id)?.resultId;
        return !resultId || queue.getReport(resultId) === undefined;
      });
      expect(withoutReport).toEqual([]);
    } finally {
      queue.close();
    }
  });

  test('consumer killed mid-job, job recovered once', async () => {
    const dataDir = makeTempDir();
    const queue = openQueue({ dataDir });

    try {
      const id = addJob(queue, 0);

      // A short lock, so the lock the killed consumer leaves behind expires soon.
      const victim = startConsumer(dataDir, { block: true, lockDurationMs: 500 });
      expect(await waitForLine(victim.process, /^started /)).toBe(`started ${id}`);

      victim.process.kill('SIGKILL');
      const killed = await victim.exited;
      expect(killed.signal).toBe('SIGKILL');
      expect(queue.getJob(id)?.state).toBe('active');

      const rescuer = await startConsumer(dataDir, { lockDurationMs: 500, stalledIntervalMs: 200, exitWhenEmpty: true }).exited;
      expect(rescuer.stderr).toBe('');
      expect(rescuer.code).toBe(0);
      expect(linesStartingWith(rescuer.stdout, 'stalled')).toEqual([JSON.stringify({ requeued: [id], failed: [] })]);
      expect(linesStartingWith(rescuer.stdout, 'completed')).toEqual([id]);

      const job = queue.getJob(id);
      expect(job?.state).toBe('completed');
      expect(job?.attemptsMade).toBe(1);
      expect(job?.attemptsStarted).toBe(2);
      expect(job?.stalledCount).toBe(1);

      const events = queue.getEvents({ jobId: id });
      expect(events.map((event) => event.type)).toEqual(['added', 'started', 'stalled', 'started', 'completed']);
      expect(events.find((event) => event.type === 'stalled')?.data).toMatchObject({ stalledCount: 1 });

      expect(reportCountsByCommit(queue)).toEqual(new Map([[commitSha(0), 1]]));
      expect(job?.resultId).not.toBeNull();
      expect(queue.getReport(job?.resultId as string)?.commitSha).toBe(commitSha(0));
    } finally {
      queue.close();
    }
  });

  test('running consumer picks up a new job', async () => {
    const dataDir = makeTempDir();
    openQueue({ dataDir }).close();

    const consumer = startConsumer(dataDir, { pollIntervalMs: 50, exitAfterCompleted: 1 });
    // `running` comes after the first claim, which found the queue empty.
    await waitForLine(consumer.process, /^running$/);

    const enqueued = await start('enqueue.mjs', [dataDir, commitSha(0)]).exited;
    expect(enqueued.stderr).toBe('');
    expect(enqueued.code).toBe(0);
    const output = JSON.parse(enqueued.stdout.trim()) as { spooled: boolean; jobId: string };
    expect(output.spooled).toBe(false);
    // No check that the consumer still runs here: it may claim, complete and exit before
    // the enqueuing process has finished exiting. Waiting for `running` above already shows
    // that the job was added to a queue the consumer had found empty.

    const consumed = await consumer.exited;
    expect(consumed.stderr).toBe('');
    expect(consumed.code).toBe(0);
    expect(linesStartingWith(consumed.stdout, 'completed')).toEqual([output.jobId]);

    const queue = openQueue({ dataDir });
    try {
      expect(queue.getJob(output.jobId)?.state).toBe('completed');
      expect(queue.getEvents({ jobId: output.jobId }).map((event) => event.type)).toEqual(['added', 'started', 'completed']);
    } finally {
      queue.close();
    }
  });
});
