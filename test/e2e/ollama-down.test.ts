import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { chatRequests, commitAll, initRepository, jobsOf, readStatus, startUser, stepper, stepperJson, waitForReports } from '../helpers/e2e.js';

interface DaemonStatusJson {
  running: boolean;
  ollama: { state: string; detail: string | null } | null;
}

interface JobDetailJson {
  state: string;
  attempts: number;
  error: string | null;
}

describe('commit while Ollama is down', () => {
  it('commits at once and reports once Ollama is back', async () => {
    const user = await startUser();
    const dirs = { repo: path.join(user.root, 'repo'), twin: path.join(user.root, 'twin') };
    initRepository(user, dirs.repo);
    initRepository(user, dirs.twin);
    const install = await stepper(user, dirs.repo, ['hook', 'install']);
    expect(install.code, install.stderr).toBe(0);
    // A first commit while Ollama runs, so the daemon is up and has talked to it.
    const first = await commitAll(user, dirs.repo, { 'a.ts': 'export const a = 1;\n' }, 'feat: add a', { index: 0 });
    await commitAll(user, dirs.twin, { 'a.ts': 'export const a = 1;\n' }, 'feat: add a', { index: 0 });
    await waitForReports(user, dirs.repo, [first.sha]);
    const chatsBefore = chatRequests(user);

    await user.fake.refuseConnections();
    const files = { 'b.ts': 'export const b = 2;\n' };
    const down = await commitAll(user, dirs.repo, files, 'feat: add b', { index: 1 });
    const twin = await commitAll(user, dirs.twin, files, 'feat: add b', { index: 1 });

    expect(down.result.code).toBe(0);
    expect(down.sha).toBe(twin.sha);
    expect(down.result.stdout).toBe(twin.result.stdout);
    expect(down.result.stderr).toBe(twin.result.stderr);

    // The daemon tries the job, finds Ollama unreachable and keeps the job without failing it.
    await expect
      .poll(async () => (await stepperJson<DaemonStatusJson>(user, dirs.repo, ['daemon', 'status'])).ollama?.state, { timeout: 20_000, interval: 200 })
      .toBe('unreachable');
    const waiting = await stepperJson<JobDetailJson>(user, dirs.repo, ['status', down.sha]);
    expect(waiting.state).toMatch(/^(waiting|delayed)$/);
    const statusWhileDown = await stepper(user, dirs.repo, ['status']);
    expect(statusWhileDown.stdout).toMatch(/^ollama +not reachable at /m);

    await user.fake.acceptConnections();

    const status = await waitForReports(user, dirs.repo, [down.sha]);
    expect(status.counts.failed).toBe(0);
    expect(jobsOf(status, down.sha)).toHaveLength(1);
    expect(chatRequests(user)).toBe(chatsBefore + 1);
    const detail = await stepperJson<JobDetailJson>(user, dirs.repo, ['status', down.sha]);
    expect(detail.state).toBe('completed');
    expect(detail.attempts).toBe(1);
    expect((await readStatus(user, dirs.repo)).ollama.reachable).toBe(true);
    const showOutput = await stepper(user, dirs.repo, ['show', down.sha]);
    expect(showOutput.code, showOutput.stderr).toBe(0);
    expect(showOutput.stdout).toContain(`commit ${down.sha}  feat: add b`);
  });
});
