import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { requestReports } from '../../src/api/report.js';
import { openQueue } from '../../src/queue/queue.js';
import { ALICE, RepoBuilder } from '../helpers/repo-builder.js';
import { makeTempDir } from '../helpers/temp.js';

function threeCommits(): { repo: RepoBuilder; shas: string[] } {
  const repo = RepoBuilder.init(makeTempDir('stepper-api-report-'));
  const shas: string[] = [];
  for (const [index, subject] of ['Add a', 'Change a', 'Add b: the second file'].entries()) {
    repo.write(`src/${index === 2 ? 'b' : 'a'}.ts`, `export const value = ${index};\n`);
    shas.push(repo.commit(subject, { author: ALICE }));
  }
  return { repo, shas };
}

/** Options that keep each call inside its own data directory, without a daemon or the caller's STEPPER_MODEL. */
function isolated(cwd: string) {
  return { cwd, dataDir: makeTempDir('stepper-api-report-data-'), startDaemon: false, env: { ...process.env, STEPPER_MODEL: '' } };
}

describe('requestReports', () => {
  it('names one commit from a subfolder as a range of it does', async () => {
    const { repo, shas } = threeCommits();

    const quick = await requestReports({ ...isolated(path.join(repo.dir, 'src')), revisions: ['HEAD~1'] });
    const general = await requestReports({ ...isolated(repo.dir), revisions: ['HEAD~1^!'] });

    expect(quick.reports.map(({ sha, subject, state }) => ({ sha, subject, state }))).toEqual([{ sha: shas[1], subject: 'Change a', state: 'waiting' }]);
    expect(general.reports.map(({ sha, subject }) => ({ sha, subject }))).toEqual([{ sha: shas[1], subject: 'Change a' }]);
    expect(quick.repository).toBe(general.repository);
    expect(quick.repository).toBe(fs.realpathSync(path.join(repo.dir, '.git')));
  });

  it('takes the model from git config stepper.model', async () => {
    const { repo } = threeCommits();
    repo.git(['config', 'stepper.model', 'llama3.2:3b']);

    const result = await requestReports(isolated(repo.dir));

    expect(result.model).toEqual({ name: 'llama3.2:3b', source: 'git config stepper.model' });
  });

  it('prefers --model without reading git config', async () => {
    const { repo } = threeCommits();
    repo.git(['config', 'stepper.model', 'not a valid name!']);

    const result = await requestReports({ ...isolated(repo.dir), model: 'qwen2.5-coder:7b' });

    expect(result.model).toEqual({ name: 'qwen2.5-coder:7b', source: '--model' });
  });

  it('reads a bare repository the general way', async () => {
    const { repo, shas } = threeCommits();
    const bare = path.join(makeTempDir('stepper-api-report-bare-'), 'bare.git');
    repo.git(['clone', '-q', '--bare', repo.dir, bare]);

    const result = await requestReports({ ...isolated(bare), revisions: ['HEAD'] });

    expect(result.repository).toBe(fs.realpathSync(bare));
    expect(result.reports.map((report) => report.sha)).toEqual([shas[2]]);
  });

  it('rejects an unknown revision', async () => {
    const { repo } = threeCommits();

    await expect(requestReports({ ...isolated(repo.dir), revisions: ['no-such-branch'] })).rejects.toThrow(/unknown revision "no-such-branch"/);
  });

  it('applies filters to one commit', async () => {
    const { repo } = threeCommits();

    const result = await requestReports({ ...isolated(repo.dir), revisions: ['HEAD'], author: 'nobody-matches-this' });

    expect(result.reports).toEqual([]);
  });

  it('queues the hints a hook left', async () => {
    const { repo, shas } = threeCommits();
    const options = isolated(repo.dir);
    const hints = path.join(options.dataDir, 'spool', 'hooks');
    fs.mkdirSync(hints, { recursive: true });
    const gitDir = fs.realpathSync(path.join(repo.dir, '.git'));
    fs.writeFileSync(path.join(hints, '0001.hint'), `stepper-hint 1\nevent post-commit\ngitdir ${gitDir}\ncommit ${shas[0]}\nend\n`);

    await requestReports({ ...options, revisions: ['HEAD'] });

    const queue = openQueue({ dataDir: options.dataDir });
    try {
      const queued = queue.getJobs({ limit: 10 }).map((job) => job.commitSha);
      expect(queued.sort()).toEqual([shas[0], shas[2]].sort());
    } finally {
      queue.close();
    }
    expect(fs.readdirSync(hints)).toEqual([]);
  });
});
