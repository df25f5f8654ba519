import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { openQueue } from '../../src/queue/queue.js';
import {
  type E2eUser,
  ROOT,
  chatRequests,
  commitAll,
  git,
  hookLog,
  initRepository,
  jobsOf,
  readStatus,
  startUser,
  stepper,
  stepperJson,
  waitForQuietHooks,
  waitForReports,
} from '../helpers/e2e.js';

const TOPIC_COMMITS = 30;

interface ShownReport {
  sha: string;
  subject: string;
  provenance: { reusedFrom?: { commit: string } };
}

/**
 * Builds main with two commits and a topic branch of 30 commits from the first, checks out
 * topic, and reports the 30 topic commits with `stepper report --wait`. The hook is not
 * installed yet.
 */
async function reportedTopic(user: E2eUser): Promise<{ repo: string; topic: string[] }> {
  const repo = initRepository(user, path.join(user.root, 'repo'));
  await commitAll(user, repo, { 'README.md': '# Project\n' }, 'docs: start the project', { index: 0 });
  git(user, repo, ['checkout', '-q', '-b', 'topic']);
  for (let index = 1; index <= TOPIC_COMMITS; index += 1) {
    const step = String(index).padStart(2, '0');
    const { result } = await commitAll(user, repo, { [`topic/step-${step}.ts`]: `export const step${step} = ${index};\n` }, `feat: topic step ${step}`, { index });
    expect(result.code, result.stderr).toBe(0);
  }
  git(user, repo, ['checkout', '-q', 'main']);
  await commitAll(user, repo, { 'main.txt': 'main moves on\n' }, 'chore: main moves on', { index: 40 });
  git(user, repo, ['checkout', '-q', 'topic']);

  const reported = await stepper(user, repo, ['report', '--wait', '-q', 'main..topic']);
  expect(reported.code, reported.stderr).toBe(0);
  const topic = git(user, repo, ['rev-list', '--reverse', 'main..topic']).trim().split('\n');
  expect(topic).toHaveLength(TOPIC_COMMITS);
  expect(chatRequests(user)).toBe(TOPIC_COMMITS);
  return { repo, topic };
}

async function installHook(user: E2eUser, repo: string): Promise<void> {
  const install = await stepper(user, repo, ['hook', 'install']);
  expect(install.code, install.stderr).toBe(0);
}

/** Returns the subjects of `shas`, read with one git call. */
function subjectsOf(user: E2eUser, repo: string, shas: readonly string[]): Map<string, string> {
  const lines = git(user, repo, ['show', '-s', '--format=%H %s', ...shas]).trim().split('\n');
  return new Map(lines.map((line) => [line.slice(0, 40), line.slice(41)]));
}

/** Reads every job of the data directory, because the CLI lists only the latest jobs of one repository. */
function allJobs(user: E2eUser): Array<{ commitSha: string; state: string }> {
  const queue = openQueue({ dataDir: user.dataDir, readonly: true });
  try {
    return queue.getJobs({ limit: 10_000 });
  } finally {
    queue.close();
  }
}

/**
 * Writes a script for `git rebase --exec`. It appends the entries of the hook spool and the
 * number of jobs in the queue to a file, so a test can check what existed while the rebase
 * ran.
 */
function writeSnapshotScript(user: E2eUser): { script: string; output: string } {
  const script = path.join(user.root, 'snapshot.mjs');
  const output = path.join(user.root, 'snapshots.txt');
  const queueModule = path.join(ROOT, 'dist', 'queue', 'queue.js');
  fs.writeFileSync(
    script,
    [
      "import fs from 'node:fs';",
      `import { openQueue } from ${JSON.stringify(queueModule)};`,
      `const dataDir = ${JSON.stringify(user.dataDir)};`,
      "let spool = [];",
      "try { spool = fs.readdirSync(`${dataDir}/spool/hooks`); } catch {}",
      'const queue = openQueue({ dataDir, readonly: true });',
      'const jobs = Object.values(queue.getCounts()).reduce((sum, count) => sum + count, 0);',
      'queue.close();',
      `fs.appendFileSync(${JSON.stringify(output)}, JSON.stringify({ spool, jobs }) + '\\n');`,
      '',
    ].join('\n'),
  );
  return { script, output };
}

describe('rewritten commits with the hook', () => {
  it('rebase of 30 reported commits reuses every report', async () => {
    const user = await startUser();
    const { repo, topic } = await reportedTopic(user);
    await installHook(user, repo);
    const chatsBefore = chatRequests(user);
    const jobsBefore = allJobs(user).length;
    const snapshot = writeSnapshotScript(user);

    git(user, repo, ['rebase', '-q', '--exec', `"${process.execPath}" "${snapshot.script}"`, 'main']);

    const during = fs.readFileSync(snapshot.output, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { spool: string[]; jobs: number });
    expect(during).toHaveLength(TOPIC_COMMITS);
    expect(during.filter((entry) => entry.spool.length > 0)).toEqual([]);
    expect(during.filter((entry) => entry.jobs !== jobsBefore)).toEqual([]);

    const rewritten = git(user, repo, ['rev-list', '--reverse', 'main..topic']).trim().split('\n');
    expect(rewritten).toHaveLength(TOPIC_COMMITS);
    expect(rewritten.filter((sha) => topic.includes(sha))).toEqual([]);
    await waitForReports(user, repo, rewritten);
    await waitForQuietHooks(user);
    const status = await readStatus(user, repo);

    expect(chatRequests(user)).toBe(chatsBefore);
    expect(allJobs(user)).toHaveLength(jobsBefore + TOPIC_COMMITS);
    expect(rewritten.filter((sha) => jobsOf(status, sha).length !== 1)).toEqual([]);
    expect(status.counts.failed).toBe(0);
    const enqueued = hookLog(user).filter((line) => / info post-rewrite rebase /.test(line));
    expect(enqueued).toHaveLength(1);
    expect(enqueued[0]).toContain(`enqueued ${TOPIC_COMMITS} report jobs`);

    // Each rewritten commit's report is a copy of the report of the commit it replaced.
    const oldBySubject = new Map([...subjectsOf(user, repo, topic)].map(([sha, subject]) => [subject, sha]));
    for (const sha of [rewritten[0], rewritten[14], rewritten[29]] as string[]) {
      const report = await stepperJson<ShownReport>(user, repo, ['show', sha]);
      expect(report.sha).toBe(sha);
      expect(report.provenance.reusedFrom?.commit).toBe(oldBySubject.get(report.subject));
    }
    const detail = await stepperJson<{ state: string; sha: string }>(user, repo, ['status', rewritten[29] as string]);
    expect(detail).toMatchObject({ state: 'completed', sha: rewritten[29] });
  });

  it('reword in an interactive rebase makes one new report', async () => {
    const user = await startUser();
    const { repo } = await reportedTopic(user);
    await installHook(user, repo);
    const chatsBefore = chatRequests(user);
    // The todo list is oldest first, so line 1 is HEAD~5. The message editor replaces its subject.
    const sequenceEditor = `sed -i '1s/^pick/reword/'`;
    const messageEditor = `sed -i '1s/.*/feat: topic step 25, reworded/'`;

    git(user, repo, ['rebase', '-q', '-i', 'HEAD~6'], { GIT_SEQUENCE_EDITOR: sequenceEditor, GIT_EDITOR: messageEditor });

    const rewritten = git(user, repo, ['rev-list', '--reverse', 'HEAD~6..HEAD']).trim().split('\n');
    const subjects = subjectsOf(user, repo, rewritten);
    expect(subjects.get(rewritten[0] as string)).toBe('feat: topic step 25, reworded');
    const status = await waitForReports(user, repo, rewritten);
    expect(chatRequests(user)).toBe(chatsBefore + 1);
    expect(user.fake.requests.filter((request) => request.path === '/api/chat').at(-1)?.rawBody).toContain('feat: topic step 25, reworded');
    expect(rewritten.filter((sha) => jobsOf(status, sha).length !== 1)).toEqual([]);
    expect(status.counts.failed).toBe(0);

    const reworded = await stepperJson<ShownReport>(user, repo, ['show', rewritten[0] as string]);
    expect(reworded.provenance.reusedFrom).toBeUndefined();
    const following = await stepperJson<ShownReport>(user, repo, ['show', rewritten[1] as string]);
    expect(following.subject).toBe('feat: topic step 26');
    expect(following.provenance.reusedFrom?.commit).toBeDefined();
  });

  it('commit --amend makes one job for the new id', async () => {
    const user = await startUser();
    const repo = initRepository(user, path.join(user.root, 'repo'));
    await installHook(user, repo);
    const first = await commitAll(user, repo, { 'a.ts': 'export const a = 1;\n' }, 'feat: add a', { index: 0 });
    await waitForReports(user, repo, [first.sha]);
    const jobsBefore = allJobs(user).length;
    const chatsBefore = chatRequests(user);

    const amended = await commitAll(user, repo, { 'a.ts': 'export const a = 2;\n' }, 'feat: add a with its final value', { index: 1, args: ['--amend'] });

    expect(amended.result.code, amended.result.stderr).toBe(0);
    expect(amended.sha).not.toBe(first.sha);
    await waitForReports(user, repo, [amended.sha]);
    await waitForQuietHooks(user);
    const status = await readStatus(user, repo);
    expect(jobsOf(status, amended.sha)).toHaveLength(1);
    expect(allJobs(user)).toHaveLength(jobsBefore + 1);
    expect(chatRequests(user)).toBe(chatsBefore + 1);
    const showOutput = await stepper(user, repo, ['show']);
    expect(showOutput.code, showOutput.stderr).toBe(0);
    expect(showOutput.stdout).toContain(`commit ${amended.sha}  feat: add a with its final value`);
    expect(hookLog(user).filter((line) => line.includes('post-rewrite'))).toEqual([]);
    expect((await readStatus(user, repo)).counts.failed).toBe(0);
  });
});
