import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import {
  ALICE,
  BOB,
  type BuiltRepo,
  builtRepo,
  fastImportCommit,
  initWithRoot,
  numberedLines,
  type Recipe,
  RepoBuilder,
} from './repo-builder.js';

/** Returns `lines` with line `number` (1-based) replaced by `text`. */
function replaceLine(lines: string, number: number, text: string): string {
  const list = lines.split('\n');
  list[number - 1] = text;
  return list.join('\n');
}

export const HISTORY_RECIPES = {
  /**
   * `clean-merge`: main and feature each changed another file. `evil-merge`: a second merge
   * of feature in which the merge itself changed a.txt and added evil.txt. `rename-merge`:
   * feature renamed d.txt to e.txt (`feature-rename`), and the merge appended a line to e.txt.
   */
  merge(dir: string): BuiltRepo {
    const builder = RepoBuilder.init(dir);
    builder.write('a.txt', numberedLines(10, 'a'));
    builder.write('b.txt', numberedLines(10, 'b'));
    builder.write('d.txt', numberedLines(8, 'd'));
    const baseSha = builder.commit('Base\n');

    builder.git(['switch', '-q', '-c', 'feature']);
    builder.write('b.txt', replaceLine(numberedLines(10, 'b'), 5, 'b five'));
    const feature1 = builder.commit('Change b on feature\n');

    builder.git(['switch', '-q', 'main']);
    builder.write('a.txt', replaceLine(numberedLines(10, 'a'), 2, 'a two'));
    const main1 = builder.commit('Change a on main\n');

    builder.git(['merge', '-q', '--no-ff', '--no-edit', 'feature']);
    const cleanMerge = builder.advance();

    builder.git(['switch', '-q', 'feature']);
    builder.write('c.txt', 'c\n');
    const feature2 = builder.commit('Add c on feature\n');

    builder.git(['switch', '-q', 'main']);
    builder.git(['merge', '-q', '--no-ff', '--no-commit', 'feature']);
    builder.write('a.txt', replaceLine(replaceLine(numberedLines(10, 'a'), 2, 'a two'), 8, 'a eight, fixed in the merge'));
    builder.write('evil.txt', 'added by the merge itself\n');
    const evilMerge = builder.commit('Merge feature with a fix\n');

    builder.git(['switch', '-q', 'feature']);
    fs.renameSync(path.join(dir, 'd.txt'), path.join(dir, 'e.txt'));
    const featureRename = builder.commit('Rename d to e on feature\n');

    builder.git(['switch', '-q', 'main']);
    builder.git(['merge', '-q', '--no-ff', '--no-commit', 'feature']);
    builder.write('e.txt', `${numberedLines(8, 'd')}appended by the merge\n`);
    const renameMerge = builder.commit('Merge the rename with an edit\n');

    return builtRepo(builder, {
      base: baseSha,
      'feature-1': feature1,
      'main-1': main1,
      'clean-merge': cleanMerge,
      'feature-2': feature2,
      'evil-merge': evilMerge,
      'feature-rename': featureRename,
      'rename-merge': renameMerge,
    });
  },

  /**
   * Linear main c1 to c5, one day apart from 2024-01-01 (c4 on 2024-01-06), with feature
   * (f1, f2) branched at c3. Alice authors c1, c3 and c4, Bob the others. `v1.0` is an
   * annotated tag of c2, `light` a lightweight tag of c3, and the branch `-dash` points at c4.
   */
  history(dir: string): BuiltRepo {
    const builder = RepoBuilder.init(dir);
    const step = (name: string, author = ALICE): string => {
      builder.write(`${name}.txt`, `${name}\n`);
      return builder.commit(`Commit ${name}\n`, { author });
    };

    const c1 = step('c1');
    const c2 = step('c2', BOB);
    builder.git(['tag', '-a', 'v1.0', '-m', 'Version 1.0']);
    const c3 = step('c3');
    builder.git(['tag', 'light']);

    builder.git(['switch', '-q', '-c', 'feature']);
    const f1 = step('f1', BOB);
    const f2 = step('f2', BOB);

    builder.git(['switch', '-q', 'main']);
    const c4 = step('c4');
    const c5 = step('c5', BOB);
    builder.git(['update-ref', 'refs/heads/-dash', c4]);

    return builtRepo(builder, { c1, c2, c3, f1, f2, c4, c5 });
  },

  /**
   * `original` and `empty-original` on topic, then copies of them: `rebased` and
   * `empty-rebased` (topic rebased onto main), `cherry-picked` and `empty-picked`, and
   * `amended` and `empty-amended` (messages reworded). `other` is an unrelated change.
   */
  rewrites(dir: string): BuiltRepo {
    const builder = RepoBuilder.init(dir);
    builder.write('app.txt', numberedLines(20, 'app'));
    const baseSha = builder.commit('Base\n');

    builder.git(['switch', '-q', '-c', 'topic']);
    builder.write('app.txt', replaceLine(numberedLines(20, 'app'), 10, 'app ten'));
    builder.write('notes.txt', 'note\n');
    const original = builder.commit('Change line 10\n', { author: ALICE });
    const emptyOriginal = builder.commit('Empty marker\n', { author: ALICE, allowEmpty: true });
    builder.git(['branch', 'topic-original']);

    builder.git(['switch', '-q', 'main']);
    builder.write('app.txt', replaceLine(numberedLines(20, 'app'), 1, 'app one'));
    const mainAdvance = builder.commit('Advance main\n');

    builder.git(['switch', '-q', '-c', 'picked']);
    builder.git(['cherry-pick', original]);
    const cherryPicked = builder.advance();
    builder.git(['cherry-pick', '--allow-empty', emptyOriginal]);
    const emptyPicked = builder.advance();

    builder.git(['switch', '-q', 'topic']);
    builder.git(['rebase', '-q', 'main']);
    builder.advance();
    const rebasedCommits = builder.git(['rev-list', '--reverse', 'main..topic']).split('\n').filter(Boolean);
    if (rebasedCommits.length !== 2) {
      throw new Error(`rebase kept ${rebasedCommits.length} commits, expected 2 (the empty commit must be kept)`);
    }

    builder.git(['switch', '-q', '-c', 'amended', original]);
    builder.git(['commit', '-q', '--amend', '-m', 'Reworded message']);
    const amended = builder.advance();
    builder.git(['switch', '-q', '-c', 'amended-empty', emptyOriginal]);
    builder.git(['commit', '-q', '--amend', '--allow-empty', '-m', 'Reworded empty marker']);
    const emptyAmended = builder.advance();

    builder.git(['switch', '-q', 'main']);
    builder.write('app.txt', replaceLine(replaceLine(numberedLines(20, 'app'), 1, 'app one'), 15, 'app fifteen'));
    const other = builder.commit('Other change\n', { author: ALICE });

    return builtRepo(builder, {
      base: baseSha,
      original,
      'empty-original': emptyOriginal,
      'main-advance': mainAdvance,
      'cherry-picked': cherryPicked,
      'empty-picked': emptyPicked,
      rebased: rebasedCommits[0] as string,
      'empty-rebased': rebasedCommits[1] as string,
      amended,
      'empty-amended': emptyAmended,
      other,
    });
  },

  /** `ambiguous-a` and `ambiguous-b`: two of 1,500 commits that share their first 4 hex digits. */
  ambiguous(dir: string): BuiltRepo {
    // With 1,500 commits about 17 pairs share a 4-digit prefix, and the ids are fixed, so one always does.
    const builder = RepoBuilder.init(dir);
    let stream = '';
    for (let index = 0; index < 1500; index += 1) {
      stream += fastImportCommit(`Commit ${index}\n`, index);
    }
    builder.git(['fast-import', '--quiet'], { input: stream });

    const seen = new Map<string, string>();
    for (const sha of builder.git(['rev-list', 'main']).split('\n').filter(Boolean)) {
      const other = seen.get(sha.slice(0, 4));
      if (other) {
        return builtRepo(builder, { 'ambiguous-a': other, 'ambiguous-b': sha, head: builder.head('main') });
      }
      seen.set(sha.slice(0, 4), sha);
    }
    throw new Error('no two commits share a 4-digit prefix: add commits to the ambiguous state');
  },

  /** Builds a `--depth 1` clone: `head` is present, its parent `missing-parent` is not. `dirs.source` is the full repository. */
  shallow(dir: string): BuiltRepo {
    const { builder: source } = initWithRoot(`${dir}-source`);
    source.write('second.txt', 'second\n');
    const missingParent = source.commit('Second\n');
    source.write('third.txt', 'third\n');
    const head = source.commit('Third\n');

    const clone = new RepoBuilder(dir);
    clone.git(['clone', '-q', '--depth', '1', pathToFileURL(source.dir).href, dir], { cwd: path.dirname(dir) });
    return builtRepo(clone, { head, 'missing-parent': missingParent }, { source: source.dir });
  },

  /** A linked worktree (`dirs.worktree`, branch feature) with `worktree-commit` made in it; main stays at `root`. */
  worktree(dir: string): BuiltRepo {
    const { builder, root } = initWithRoot(dir);
    const linked = `${dir}-linked`;
    builder.git(['worktree', 'add', '-q', '-b', 'feature', linked]);

    fs.writeFileSync(path.join(linked, 'feature.txt'), 'made in the linked worktree\n');
    builder.git(['add', '-A'], { cwd: linked });
    builder.git(['commit', '-q', '-m', 'Commit in the linked worktree'], { cwd: linked });
    const worktreeCommit = builder.git(['rev-parse', 'HEAD'], { cwd: linked }).trim();

    return builtRepo(builder, { root, 'worktree-commit': worktreeCommit }, { worktree: linked });
  },

  /** Builds a bare clone of a `root` repository; `dirs.source` is the original. */
  bare(dir: string): BuiltRepo {
    const { builder: source, root } = initWithRoot(`${dir}-source`);
    source.git(['clone', '-q', '--bare', source.dir, dir], { cwd: path.dirname(dir) });
    return { dir, gitDir: dir, commits: { root }, dirs: { source: source.dir } };
  },

  /** `submodule-add` adds libs/sub at `sub-old`; `submodule-bump` moves it to `sub-new`. */
  submodule(dir: string): BuiltRepo {
    const sub = RepoBuilder.init(`${dir}-sub-source`);
    sub.write('lib.txt', 'version 1\n');
    const subOld = sub.commit('Sub version 1\n');

    const { builder, root } = initWithRoot(dir);
    builder.git(['submodule', 'add', '-q', sub.dir, 'libs/sub']);
    const add = builder.commit('Add the sub library\n');

    sub.write('lib.txt', 'version 2\n');
    const subNew = sub.commit('Sub version 2\n');
    builder.git(['pull', '-q', '--ff-only'], { cwd: path.join(dir, 'libs/sub') });
    const bump = builder.commit('Bump the sub library\n');

    return builtRepo(
      builder,
      { root, 'submodule-add': add, 'submodule-bump': bump, 'sub-old': subOld, 'sub-new': subNew },
      { submoduleSource: sub.dir },
    );
  },
} satisfies Record<string, Recipe>;
