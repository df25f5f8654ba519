import fs from 'node:fs';

import { describe, expect, it } from 'vitest';

import { logGitProcesses } from '../helpers/git-processes.js';
import { reportJob } from '../../src/report/processor.js';
import {
  chatRequests,
  editApp,
  gitDirOf,
  MODEL,
  provenanceOf,
  resultOf,
  runReportJob,
  seedRepo,
  type Stand,
  startStand,
  waitForFinished,
} from '../helpers/report-queue.js';

/** The git processes of one read of a commit with one parent. */
const ONE_READ = ['cat-file', 'config', 'diff-tree', 'patch-id'];

/** Queues a report job by the repository's git directory, so queueing starts no git process. */
function queueJob(stand: Stand, gitDir: string, sha: string): string {
  return stand.queue.add(reportJob({ repository: gitDir, commitSha: sha, model: MODEL })).job.id;
}

describe('report job git processes', () => {
  it('first job opens the repository once', async () => {
    const stand = await startStand();
    const { builder } = seedRepo();
    const sha = editApp(builder, 3, 'Edit value 3\n');
    const gitDir = await gitDirOf(builder);
    const gitLog = logGitProcesses();
    const job = await waitForFinished(stand, queueJob(stand, gitDir, sha));

    expect(job.state).toBe('completed');
    expect(gitLog.subcommands().sort()).toEqual([...ONE_READ, 'rev-parse', 'rev-parse']);
  });

  it('later job starts four', async () => {
    const stand = await startStand();
    const { builder } = seedRepo();
    const first = editApp(builder, 3, 'Edit value 3\n');
    const second = editApp(builder, 4, 'Edit value 4\n');
    await runReportJob(stand, builder, first);
    const gitDir = await gitDirOf(builder);
    const gitLog = logGitProcesses();
    const job = await waitForFinished(stand, queueJob(stand, gitDir, second));

    expect(job.state).toBe('completed');
    expect(gitLog.subcommands().sort()).toEqual(ONE_READ);
    expect(chatRequests(stand.fake)).toHaveLength(2);
  });

  it('cached job starts four without the model', async () => {
    const stand = await startStand();
    const { builder } = seedRepo();
    const sha = editApp(builder, 3, 'Edit value 3\n');
    const first = await runReportJob(stand, builder, sha);
    const gitDir = await gitDirOf(builder);
    const gitLog = logGitProcesses();
    const again = await waitForFinished(stand, queueJob(stand, gitDir, sha));

    expect(again.state).toBe('completed');
    expect(again.resultId).toBe(first.resultId);
    expect(gitLog.subcommands().sort()).toEqual(ONE_READ);
    expect(chatRequests(stand.fake)).toHaveLength(1);
  });

  it('rebased commit reuses the report', async () => {
    const stand = await startStand();
    const { builder } = seedRepo();
    builder.git(['branch', 'feature']);
    builder.git(['switch', '-q', 'feature']);
    const original = editApp(builder, 3, 'Change the third value\n');
    builder.git(['switch', '-q', 'main']);
    editApp(builder, 20, 'Change the twentieth value\n');
    builder.git(['switch', '-q', 'feature']);
    builder.git(['rebase', '-q', 'main']);
    const rebased = builder.git(['rev-parse', 'HEAD']).trim();
    const first = await runReportJob(stand, builder, original);
    const gitDir = await gitDirOf(builder);
    const gitLog = logGitProcesses();
    const job = await waitForFinished(stand, queueJob(stand, gitDir, rebased));
    const provenance = provenanceOf(resultOf(stand, job));

    expect(rebased).not.toBe(original);
    expect(job.state).toBe('completed');
    expect(provenance.reusedFrom).toEqual({ reportId: first.resultId, commit: original });
    expect(provenance.commit).toBe(rebased);
    expect(chatRequests(stand.fake)).toHaveLength(1);
    expect(gitLog.subcommands().sort()).toEqual(ONE_READ);
  });

  it('repository deleted after a job fails at once', async () => {
    const stand = await startStand();
    const { builder } = seedRepo();
    const first = editApp(builder, 3, 'Edit value 3\n');
    const second = editApp(builder, 4, 'Edit value 4\n');
    await runReportJob(stand, builder, first);
    const gitDir = await gitDirOf(builder);
    fs.rmSync(builder.dir, { recursive: true, force: true });
    const id = queueJob(stand, gitDir, second);
    const job = await waitForFinished(stand, id);

    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe('unrecoverable');
    expect(job.lastError).toContain(`the repository of job ${id} is gone`);
    expect(job.lastError).toContain(gitDir);
    expect(chatRequests(stand.fake)).toHaveLength(1);
  });
});
