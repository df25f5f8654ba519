import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { commitAll, initRepository, startUser, stepper } from '../helpers/e2e.js';

describe('a job held for a missing model', () => {
  it('ends watch, which names the pull command', async () => {
    const user = await startUser();
    const repo = initRepository(user, path.join(user.root, 'repo'));
    await commitAll(user, repo, { 'app.txt': 'one\n' }, 'Add app');
    // --wait returns once the daemon keeps the job waiting for the missing model.
    const held = await stepper(user, repo, ['report', '--wait', '--model', 'no-such-model:1b']);
    expect(held.code).toBe(1);

    const result = await stepper(user, repo, ['watch']);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('stepper: 1 job waits for model "no-such-model:1b", which Ollama does not have: run ollama pull no-such-model:1b\n');
  });

  it('shows in status with the pull command', async () => {
    const user = await startUser();
    const repo = initRepository(user, path.join(user.root, 'repo'));
    await commitAll(user, repo, { 'app.txt': 'one\n' }, 'Add app');
    const held = await stepper(user, repo, ['report', '--wait', '--json', '--model', 'no-such-model:1b']);
    const jobId = (JSON.parse(held.stdout) as Array<{ jobId: string }>)[0]?.jobId as string;

    const text = await stepper(user, repo, ['status', jobId]);
    const json = await stepper(user, repo, ['status', jobId, '--json']);
    const overview = await stepper(user, repo, ['status']);
    const overviewJson = await stepper(user, repo, ['status', '--json']);

    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^held +model "no-such-model:1b" is not installed in Ollama: run ollama pull no-such-model:1b$/m);
    expect(JSON.parse(json.stdout)).toMatchObject({ id: jobId, state: 'waiting', held: { model: 'no-such-model:1b', pullCommand: 'ollama pull no-such-model:1b' } });
    expect(overview.stdout).toMatch(/^held +model "no-such-model:1b" is not installed in Ollama, so its jobs wait: run ollama pull no-such-model:1b$/m);
    expect((JSON.parse(overviewJson.stdout) as { held: unknown }).held).toEqual([{ model: 'no-such-model:1b', pullCommand: 'ollama pull no-such-model:1b' }]);

    // After the daemon leaves, as it does when idle, the job still waits for the model.
    const stopped = await stepper(user, repo, ['daemon', 'stop']);
    const afterStop = await stepper(user, repo, ['status']);

    expect(stopped.code, stopped.stderr).toBe(0);
    expect(afterStop.stdout).toMatch(/^daemon +stopped/m);
    expect(afterStop.stdout).toMatch(/^held +model "no-such-model:1b" is not installed in Ollama, so its jobs wait: run ollama pull no-such-model:1b$/m);
  });
});
