import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { commitAll, initRepository, startUser, stepper } from '../helpers/e2e.js';

describe('stepper watch with a job held for a missing model', () => {
  it('ends and names the pull command', async () => {
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
});
