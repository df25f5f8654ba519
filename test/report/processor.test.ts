import fs from 'node:fs';

import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';

import { InvalidOptionError } from '../../src/errors.js';
import { openQueue } from '../../src/queue/queue.js';
import { reportJob } from '../../src/report/processor.js';
import { reportJsonSchema } from '../../src/report/schema.js';
import { fakeSha } from '../helpers/commits.js';
import {
  addReportJob,
  chatRequests,
  editApp,
  eventsOf,
  gitDirOf,
  MODEL,
  provenanceOf,
  resultOf,
  runReportJob,
  seedRepo,
  startStand,
  waitForFinished,
  waitForJob,
} from '../helpers/report-queue.js';
import type { RepoBuilder } from '../helpers/repo-builder.js';

const agents: Agent[] = [];

afterEach(async () => {
  await Promise.all(agents.splice(0).map((agent) => agent.destroy()));
});

describe('report requests', () => {
  it('num_ctx equal across commits', async () => {
    const stand = await startStand();
    const { builder } = seedRepo();
    const shas = [editApp(builder, 3, 'Edit value 3\n'), editApp(builder, 10, 'Edit value 10\n'), editApp(builder, 20, 'Edit value 20\n')];
    for (const sha of shas) {
      expect((await runReportJob(stand, builder, sha)).state).toBe('completed');
    }
    const requests = chatRequests(stand.fake);
    const sizes = requests.map((request) => request.body.options?.num_ctx);

    expect(requests).toHaveLength(3);
    expect(new Set(requests.map((request) => request.rawBody)).size).toBe(3);
    for (const size of sizes) {
      expect(size).toEqual(expect.any(Number));
    }
    expect(new Set(sizes).size).toBe(1);
  });

  it('format is the report schema', async () => {
    const stand = await startStand();
    const { builder } = seedRepo();
    const sha = editApp(builder, 3, 'Edit value 3\n');
    stand.fake.enqueue({ fault: { kind: 'schema_violation' } });
    await runReportJob(stand, builder, sha);
    const requests = chatRequests(stand.fake);

    expect(requests).toHaveLength(2);
    for (const request of requests) {
      expect(request.body.format).toEqual(reportJsonSchema());
    }
  });

  it('no secret or excluded content sent', async () => {
    const stand = await startStand();
    const { builder } = seedRepo();
    const secrets = ['AKIAQ7ZT3KXWJ5M2RB4N', 'Vq8-zL2m-Kp4x-Rt7w'];
    const excluded = ['left-pad-marker-4417', 'minified-marker-9023'];
    builder.write('config/aws.ts', `export const accessKeyId = '${secrets[0]}';\n`);
    builder.write('config/settings.py', `host = "db.internal"\npassword = "${secrets[1]}"\n`);
    builder.write('package-lock.json', `{\n  "lockfileVersion": 3,\n  "packages": { "node_modules/${excluded[0]}": {} }\n}\n`);
    builder.write('public/app.min.js', `var a="${excluded[1]}";function b(){return a}\n`);
    const sha = builder.commit('Add deployment settings\n');
    const job = await runReportJob(stand, builder, sha);
    const provenance = provenanceOf(resultOf(stand, job));

    expect(job.state).toBe('completed');
    expect(chatRequests(stand.fake)).toHaveLength(1);
    for (const request of stand.fake.requests) {
      for (const text of [...secrets, ...excluded]) {
        expect(request.rawBody).not.toContain(text);
      }
    }
    expect(provenance.redactions).toBe(2);
    expect(provenance.coverage['package-lock.json']).toMatch(/^excluded: /);
    expect(provenance.coverage['public/app.min.js']).toMatch(/^excluded: /);
  });
});

describe('report cache reuse', () => {
  /** A commit on a feature branch, and its cherry-pick onto main after an unrelated main commit. */
  function pickedRepo(): { builder: RepoBuilder; original: string; picked: string } {
    const { builder } = seedRepo();
    builder.git(['branch', 'feature']);
    builder.git(['switch', '-q', 'feature']);
    const original = editApp(builder, 3, 'Change the third value\n\nThe parser reads it.\n');
    builder.git(['switch', '-q', 'main']);
    builder.write('README.md', '# Project\n\nMore text.\n');
    builder.commit('Extend the README\n');
    builder.git(['cherry-pick', original]);
    return { builder, original, picked: builder.advance() };
  }

  it('cherry-pick reuses the report', async () => {
    const stand = await startStand();
    const { builder, original, picked } = pickedRepo();
    const first = await runReportJob(stand, builder, original);
    const requestsBefore = chatRequests(stand.fake).length;
    const second = await runReportJob(stand, builder, picked);
    const stored = resultOf(stand, second);

    expect(second.state).toBe('completed');
    expect(chatRequests(stand.fake)).toHaveLength(requestsBefore);
    expect(second.resultId).not.toBeNull();
    expect(second.resultId).not.toBe(first.resultId);
    expect(stored?.commitSha).toBe(picked);
    expect(stored?.content).toEqual(resultOf(stand, first)?.content);
    expect(provenanceOf(stored).reusedFrom).toEqual({ reportId: first.resultId, commit: original });
    expect(provenanceOf(stored).commit).toBe(picked);
  });

  it('same commit links the same report', async () => {
    const stand = await startStand();
    const { builder, original } = pickedRepo();
    const first = await runReportJob(stand, builder, original);
    const second = await runReportJob(stand, builder, original);

    expect(second.state).toBe('completed');
    expect(second.id).not.toBe(first.id);
    expect(second.resultId).toBe(first.resultId);
    expect(chatRequests(stand.fake)).toHaveLength(1);
  });

  it('reworded commit generated anew', async () => {
    const stand = await startStand();
    const { builder, original } = pickedRepo();
    await runReportJob(stand, builder, original);
    builder.git(['switch', '-q', 'feature']);
    builder.git(['commit', '-q', '--amend', '-m', 'Change the third value for the lexer']);
    const reworded = builder.advance();
    const job = await runReportJob(stand, builder, reworded);

    expect(job.state).toBe('completed');
    expect(chatRequests(stand.fake)).toHaveLength(2);
    expect(provenanceOf(resultOf(stand, job)).reusedFrom).toBeUndefined();
    expect(provenanceOf(resultOf(stand, job)).patchId).toEqual(provenanceOf(stand.queue.findReportForCommit(await gitDirOf(builder), original)).patchId);
  });
});

describe('report with force', () => {
  async function reported() {
    const stand = await startStand();
    const { builder } = seedRepo();
    const sha = editApp(builder, 3, 'Edit value 3\n');
    const first = await runReportJob(stand, builder, sha);
    return { stand, builder, sha, first, gitDir: await gitDirOf(builder) };
  }

  it('stores a new report on success', async () => {
    const { stand, builder, sha, first, gitDir } = await reported();
    const forced = await runReportJob(stand, builder, sha, { force: true });

    expect(forced.state).toBe('completed');
    expect(forced.resultId).not.toBe(first.resultId);
    expect(stand.queue.findReportForCommit(gitDir, sha)?.id).toBe(forced.resultId);
    expect(chatRequests(stand.fake)).toHaveLength(2);
  });

  it('missing model keeps the old report', async () => {
    const { stand, builder, sha, first, gitDir } = await reported();
    stand.fake.enqueue({ fault: { kind: 'model_missing' } });
    const forced = await runReportJob(stand, builder, sha, { force: true });

    expect(forced.state).toBe('failed');
    expect(forced.resultId).toBeNull();
    expect(stand.queue.findReportForCommit(gitDir, sha)?.id).toBe(first.resultId);
  });

  it('invalid output keeps the old report', async () => {
    const { stand, builder, sha, first, gitDir } = await reported();
    stand.fake.enqueue({ fault: { kind: 'ignore_format' }, times: 'always' });
    const forced = await runReportJob(stand, builder, sha, { force: true, maxAttempts: 2 });

    expect(forced.state).toBe('failed');
    expect(forced.failedReason).toBe('attempts-exhausted');
    expect(stand.queue.findReportForCommit(gitDir, sha)?.id).toBe(first.resultId);
  });
});

describe('report job cancel', () => {
  it('cancel closes the chat connection', async () => {
    const stand = await startStand({ fake: { timing: { tokenDelayMs: 50 } } });
    const { builder } = seedRepo();
    const sha = editApp(builder, 3, 'Edit value 3\n');
    const id = await addReportJob(stand, builder, sha);
    // The fake's log updates waiters only when a request starts or ends, so progress shows the stream is running.
    await waitForJob(stand, id, (job) => (job.progress as { phase?: string } | null)?.phase === 'generating', 'generating');

    // A second connection, as the command line would use, so the worker notices within one poll.
    const other = openQueue({ dataDir: stand.dataDir });
    other.cancel(id);
    other.close();
    const closed = await stand.fake.waitForRequest((request) => request.path === '/api/chat' && request.finishedAt !== undefined, { timeoutMs: 10_000 });
    const job = await waitForJob(stand, id, (current) => current.state === 'cancelled', 'cancelled');

    expect(closed.clientClosedEarly).toBe(true);
    expect(closed.serverDropped).toBe(false);
    expect(job.resultId).toBeNull();
    expect(stand.queue.findReportForCommit(await gitDirOf(builder), sha)).toBeUndefined();
    expect(eventsOf(stand, id, 'completed')).toHaveLength(0);
  });
});

describe('report job cancel before the first token', () => {
  it('cancel closes the waiting connection', async () => {
    const stand = await startStand();
    const { builder } = seedRepo();
    const sha = editApp(builder, 3, 'Edit value 3\n');
    stand.fake.enqueue({ fault: { kind: 'slow_headers', delayMs: 10_000 } });
    const id = await addReportJob(stand, builder, sha);
    await waitForJob(stand, id, (job) => (job.progress as { phase?: string } | null)?.phase === 'loading/prompt', 'waiting for the first token');

    const other = openQueue({ dataDir: stand.dataDir });
    other.cancel(id);
    other.close();
    const closed = await stand.fake.waitForRequest((request) => request.path === '/api/chat' && request.finishedAt !== undefined, { timeoutMs: 5000 });

    expect(closed.clientClosedEarly).toBe(true);
    expect(closed.respondedAt).toBeUndefined();
    expect(stand.queue.getJob(id)?.state).toBe('cancelled');
  });
});

describe('report job with a late first token', () => {
  // Scaled down 1:200: a 1.5 s first token represents one after 300 s, Node's default
  // headersTimeout, and the 4 s watchdog represents a firstTokenTimeoutMs of about 13 minutes.
  const lateFirstToken = { kind: 'slow_headers', delayMs: 1500 } as const;

  it('completes with the default dispatcher', async () => {
    const stand = await startStand({ timeouts: { firstTokenTimeoutMs: 4000 } });
    const { builder } = seedRepo();
    const sha = editApp(builder, 3, 'Edit value 3\n');
    stand.fake.enqueue({ fault: lateFirstToken });
    const job = await runReportJob(stand, builder, sha);

    expect(job.state).toBe('completed');
    expect(job.attemptsMade).toBe(1);
    expect(chatRequests(stand.fake)[0]?.faults).toContain('slow_headers');
  });

  it('fails under a scaled headers timeout', async () => {
    // The same delay against undici's own limit at the same scale, to show the delay exceeds it.
    const agent = new Agent({ headersTimeout: 500, bodyTimeout: 500 });
    agents.push(agent);
    const stand = await startStand({ timeouts: { firstTokenTimeoutMs: 4000 }, dispatcher: agent });
    const { builder } = seedRepo();
    const sha = editApp(builder, 3, 'Edit value 3\n');
    stand.fake.enqueue({ fault: lateFirstToken });
    const id = await addReportJob(stand, builder, sha);
    const job = await waitForJob(stand, id, () => eventsOf(stand, id, 'retried').length > 0, 'retried');
    const retried = eventsOf(stand, id, 'retried');

    expect(job.attemptsMade).toBeGreaterThanOrEqual(1);
    expect(String(retried[0]?.data?.error)).toContain('UND_ERR_HEADERS_TIMEOUT');
  });
});

describe('reportJob', () => {
  const base = { repository: '/repos/app/.git', commitSha: fakeSha('commit'), model: MODEL };

  it('rejects an empty model', () => {
    expect(() => reportJob({ ...base, model: ' ' })).toThrow(InvalidOptionError);
    expect(() => reportJob({ ...base, model: ' ' })).toThrow('invalid model: expected a model name such as "qwen2.5-coder:7b", received " "');
  });

  it('rejects a force that is not boolean', () => {
    const input = { ...base, force: 'yes' as unknown as boolean };

    expect(() => reportJob(input)).toThrow(InvalidOptionError);
    expect(() => reportJob(input)).toThrow('invalid force: expected true or false, received "yes"');
  });

  it('rejects an unknown merge policy', () => {
    const input = { ...base, mergePolicy: 'octopus' as unknown as 'skip' };

    expect(() => reportJob(input)).toThrow(InvalidOptionError);
    expect(() => reportJob(input)).toThrow('invalid mergePolicy: expected first-parent, skip, combined, received "octopus"');
  });

  it('dedups jobs per commit and model', () => {
    const job = reportJob(base);

    expect(job.dedupKey).toBe(`report:${base.repository}:${base.commitSha}:${MODEL}`);
    expect(job.payload).toEqual({ model: MODEL });
  });
});

describe('report job failing before the model', () => {
  it('invalid payload fails at once', async () => {
    const stand = await startStand();
    const { builder, root } = seedRepo();
    const id = stand.queue.add({ kind: 'report', repository: await gitDirOf(builder), commitSha: root, payload: { model: 7 } }).job.id;
    const job = await waitForFinished(stand, id);

    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe('unrecoverable');
    expect(job.lastError).toBe(`job ${id} has an invalid payload: invalid model: expected a model name such as "qwen2.5-coder:7b", received 7 (number)`);
    expect(stand.fake.requests).toHaveLength(0);
  });

  it('deleted repository fails at once', async () => {
    const stand = await startStand();
    const { builder, root } = seedRepo();
    const gitDir = await gitDirOf(builder);
    fs.rmSync(builder.dir, { recursive: true, force: true });
    const id = stand.queue.add(reportJob({ repository: gitDir, commitSha: root, model: MODEL })).job.id;
    const job = await waitForFinished(stand, id);

    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe('unrecoverable');
    expect(job.attemptsMade).toBe(1);
    expect(job.lastError).toContain(`the repository of job ${id} is gone`);
    expect(stand.fake.requests).toHaveLength(0);
  });

  it('missing commit fails at once', async () => {
    const stand = await startStand();
    const { builder } = seedRepo();
    const missing = fakeSha('never committed');
    const id = stand.queue.add(reportJob({ repository: await gitDirOf(builder), commitSha: missing, model: MODEL })).job.id;
    const job = await waitForFinished(stand, id);

    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe('unrecoverable');
    expect(job.lastError).toContain(`commit ${missing} of job ${id} no longer exists`);
  });

  it('other job kind fails at once', async () => {
    const stand = await startStand();
    const { builder, root } = seedRepo();
    const id = stand.queue.add({ kind: 'summary', repository: await gitDirOf(builder), commitSha: root, payload: { model: MODEL } }).job.id;
    const job = await waitForFinished(stand, id);

    expect(job.state).toBe('failed');
    expect(job.lastError).toContain('which the report processor does not handle');
  });
});
