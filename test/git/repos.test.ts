import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { builderEnvironment, DEFAULT_IDENTITY, initWithRoot } from '../helpers/repo-builder.js';
import { buildRepo, repoNames } from '../helpers/repos.js';
import { makeTempDir } from '../helpers/temp.js';

function objectType(gitDir: string, sha: string): string {
  return execFileSync('git', [`--git-dir=${gitDir}`, 'cat-file', '-t', sha], {
    env: builderEnvironment('0 +0000', DEFAULT_IDENTITY, DEFAULT_IDENTITY),
  })
    .toString('utf8')
    .trim();
}

describe('repository library', () => {
  it.each(repoNames())('state %s names only commits', (name) => {
    const repo = buildRepo(name);

    expect(fs.existsSync(repo.gitDir)).toBe(true);
    expect(Object.keys(repo.commits).length).toBeGreaterThan(0);
    for (const [role, sha] of Object.entries(repo.commits)) {
      // The submodule state names commits of its source repository too.
      const gitDir = role.startsWith('sub-') ? path.join(repo.dirs.submoduleSource ?? '', '.git') : repo.gitDir;
      // The shallow clone lacks `missing-parent` by design.
      if (role === 'missing-parent') {
        continue;
      }
      expect(objectType(gitDir, sha), `${name}: ${role}`).toBe('commit');
    }
  });

  it('commit ids repeat across builds', () => {
    const first = initWithRoot(path.join(makeTempDir(), 'one')).root;
    const second = initWithRoot(path.join(makeTempDir(), 'two')).root;

    expect(second).toBe(first);
  });

  it('cache returns the same build', () => {
    expect(buildRepo('root')).toBe(buildRepo('root'));
  });
});
