import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { commitAll, initRepository, startUser, stepper, waitForReports } from '../helpers/e2e.js';
import { addActive, jobState, openSeededQueue } from '../helpers/maintenance.js';

describe('stepper report on a job left active', () => {
  it('starts a daemon, whose stall recovery finishes the job', async () => {
    const user = await startUser();
    const repo = initRepository(user, path.join(user.root, 'repo'));
    const { sha } = await commitAll(user, repo, { 'app.txt': 'one\n' }, 'Add app');

    // A daemon that died mid-job leaves its job active, and no daemon runs now.
    const seeded = openSeededQueue(user.dataDir);
    let id: string;
    try {
      id = addActive(seeded.queue, { repository: path.join(repo, '.git'), sha, subject: 'Add app' });
    } finally {
      seeded.queue.close();
    }

    const result = await stepper(user, repo, ['report', 'HEAD', '--json']);

    expect(result.code, result.stderr).toBe(0);
    const [entry] = JSON.parse(result.stdout) as Array<{ jobId: string; state: string; deduplicated: boolean }>;
    expect(entry).toMatchObject({ jobId: id, state: 'active', deduplicated: true });
    await waitForReports(user, repo, [sha]);
    expect(jobState(user.dataDir, id)).toBe('completed');
  });
});
