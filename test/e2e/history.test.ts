import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { BIN, type E2eUser, chatRequests, commitDateEnv, git, initRepository, readStatus, startUser, stepper, stepperJson } from '../helpers/e2e.js';
import { waitForExit, waitForLine } from '../helpers/processes.js';

const SIGNATURE = 'History Builder <history@example.com>';
const FIRST_EPOCH = 1_700_000_000;
/** Linear commits on main before the range the test reports on. */
const LINEAR_COMMITS = 280;

/** A fast-import stream writer that keeps each branch's tree, so a merge can list what it adds. */
class HistoryStream {
  readonly #parts: string[] = [];
  readonly #trees = new Map<string, Map<string, string>>();
  readonly #tips = new Map<string, number>();
  #mark = 0;

  /** Adds a commit on `branch`. A new branch starts from the tip of the branch named by `from`. */
  commit(branch: string, message: string, files: Record<string, string>, options: { from?: string; merge?: string } = {}): number {
    this.#mark += 1;
    const mark = this.#mark;
    const base = options.from ?? branch;
    const tree = new Map(this.#trees.get(base) ?? []);
    const changed = new Map(Object.entries(files));

    if (options.merge !== undefined) {
      // The merge takes every file of the other branch that differs, so callers keep the files of the two sides apart.
      for (const [name, content] of this.#trees.get(options.merge) ?? []) {
        if (tree.get(name) !== content && !changed.has(name)) {
          changed.set(name, content);
        }
      }
    }

    const epoch = FIRST_EPOCH + mark * 3600;
    const lines = [
      `commit refs/heads/${branch}`,
      `mark :${mark}`,
      `author ${SIGNATURE} ${epoch} +0000`,
      `committer ${SIGNATURE} ${epoch} +0000`,
      `data ${Buffer.byteLength(message)}`,
      message,
    ];
    const fromTip = this.#tips.get(base);
    if (fromTip !== undefined) {
      lines.push(`from :${fromTip}`);
    }
    if (options.merge !== undefined) {
      lines.push(`merge :${this.#tips.get(options.merge)}`);
    }
    for (const [name, content] of changed) {
      lines.push(`M 100644 inline ${name}`, `data ${Buffer.byteLength(content)}`, content);
      tree.set(name, content);
    }

    this.#parts.push(`${lines.join('\n')}\n`);
    this.#trees.set(branch, tree);
    this.#tips.set(branch, mark);
    return mark;
  }

  /** Current content of a file on a branch. */
  file(branch: string, name: string): string {
    return this.#trees.get(branch)?.get(name) ?? '';
  }

  tag(name: string, branch: string): void {
    this.#parts.push(`reset refs/tags/${name}\nfrom :${this.#tips.get(branch)}\n\n`);
  }

  toString(): string {
    return this.#parts.join('');
  }
}

interface History {
  dir: string;
  /** Commits of `base..main`, newest first, as git rev-list prints them. */
  range: string[];
  subjects: Map<string, string>;
  cleanMerge: string;
  conflictMerge: string;
  noFastForwardMerge: string;
}

/**
 * Builds a repository of about 310 commits: 280 linear ones, tagged `base`, then side
 * branches merged three ways: a clean merge written by fast-import, a real `git merge`
 * with a conflict resolved by hand, and a `git merge --no-ff`.
 */
function buildHistory(user: E2eUser): History {
  const dir = initRepository(user, path.join(user.root, 'history'));
  const stream = new HistoryStream();
  const grow = (branch: string, name: string, line: string) => ({ [name]: `${stream.file(branch, name)}${line}\n` });

  for (let index = 1; index <= LINEAR_COMMITS; index += 1) {
    const step = String(index).padStart(4, '0');
    stream.commit('main', `chore: linear step ${step}`, grow('main', `src/module-${index % 20}.ts`, `export const step${step} = ${index};`));
  }
  stream.tag('base', 'main');

  for (let index = 1; index <= 5; index += 1) {
    stream.commit('side1', `feat: side one part ${index}`, grow('side1', `side/one-${index % 2}.ts`, `export const one${index} = ${index};`), {
      from: index === 1 ? 'main' : undefined,
    });
  }
  for (let index = 1; index <= 10; index += 1) {
    stream.commit('main', `fix: mainline change ${String(index).padStart(2, '0')}`, grow('main', `src/main-${index % 3}.ts`, `export const main${index} = ${index};`));
  }
  stream.commit('main', "Merge branch 'side1'", {}, { merge: 'side1' });

  // Both branches rewrite shared/config.txt, so the real merge below stops with a conflict.
  stream.commit('main', 'feat: add the shared configuration', { 'shared/config.txt': 'mode = plain\nlevel = 1\n' });
  for (let index = 1; index <= 4; index += 1) {
    stream.commit('side2', `feat: side two part ${index}`, {
      'shared/config.txt': `mode = side two ${index}\nlevel = 1\n`,
      ...grow('side2', 'side/two.ts', `export const two${index} = ${index};`),
    }, { from: index === 1 ? 'main' : undefined });
  }
  for (let index = 1; index <= 3; index += 1) {
    stream.commit('main', `refactor: mainline before the conflict ${index}`, {
      'shared/config.txt': `mode = main ${index}\nlevel = 1\n`,
      ...grow('main', 'src/main-only.ts', `export const before${index} = ${index};`),
    });
  }
  for (let index = 1; index <= 2; index += 1) {
    stream.commit('side3', `docs: side three page ${index}`, grow('side3', 'docs/side-three.md', `Page ${index}.`), {
      from: index === 1 ? 'main' : undefined,
    });
  }

  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, env: user.env, input: stream.toString(), stdio: ['pipe', 'ignore', 'pipe'] });
  git(user, dir, ['checkout', '-q', '-f', 'main']);

  const resolve = commitDateEnv(1);
  const conflict = spawnGit(user, dir, ['merge', '-q', '--no-edit', 'side2'], resolve);
  expect(conflict.status, 'git merge side2 stops with a conflict').toBe(1);
  fs.writeFileSync(path.join(dir, 'shared', 'config.txt'), 'mode = resolved by hand\nlevel = 2\n');
  git(user, dir, ['add', 'shared/config.txt']);
  git(user, dir, ['commit', '-q', '--no-edit'], resolve);
  const conflictMerge = git(user, dir, ['rev-parse', 'HEAD']).trim();

  git(user, dir, ['merge', '-q', '--no-ff', '-m', "Merge branch 'side3' without fast-forward", 'side3'], commitDateEnv(2));
  const noFastForwardMerge = git(user, dir, ['rev-parse', 'HEAD']).trim();

  for (let index = 1; index <= 3; index += 1) {
    fs.writeFileSync(path.join(dir, `after-${index}.txt`), `after ${index}\n`);
    git(user, dir, ['add', '-A']);
    git(user, dir, ['commit', '-q', '-m', `test: after the merges ${index}`], commitDateEnv(2 + index));
  }

  const range = git(user, dir, ['rev-list', 'base..main']).trim().split('\n');
  const subjects = new Map(
    git(user, dir, ['log', '--format=%H %s', 'base..main'])
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, 40), line.slice(41)] as const),
  );
  const cleanMerge = git(user, dir, ['log', '--format=%H', '--grep', "^Merge branch 'side1'$", 'main']).trim();
  return { dir, range, subjects, cleanMerge, conflictMerge, noFastForwardMerge };
}

function spawnGit(user: E2eUser, cwd: string, args: string[], env: NodeJS.ProcessEnv): { status: number | null } {
  try {
    execFileSync('git', args, { cwd, env: { ...user.env, ...env }, stdio: 'ignore' });
    return { status: 0 };
  } catch (error) {
    return { status: (error as { status: number | null }).status };
  }
}

function chatBodiesMentioning(user: E2eUser, text: string): string[] {
  return user.fake.requests.filter((request) => request.path === '/api/chat' && request.rawBody.includes(text)).map((request) => request.rawBody);
}

/** Paths of a merge's diff against its first parent, sorted. */
function firstParentFiles(user: E2eUser, dir: string, merge: string): string[] {
  return git(user, dir, ['diff', '--name-only', `${merge}^1`, merge]).trim().split('\n').sort();
}

interface WatchLine {
  at: string;
  type: string;
  jobId: string;
  sha: string | null;
  repository: string | null;
  seq: number;
  data: unknown;
}

describe('report on a history with merges', () => {
  it('reports a range of 31 commits, merges included', async () => {
    const user = await startUser();
    const history = buildHistory(user);
    expect(Number(git(user, history.dir, ['rev-list', '--count', 'main']).trim())).toBeGreaterThan(300);
    expect(history.range).toHaveLength(31);
    const merges = git(user, history.dir, ['rev-list', '--merges', 'base..main']).trim().split('\n');
    expect(merges.sort()).toEqual([history.cleanMerge, history.conflictMerge, history.noFastForwardMerge].sort());
    // The fake holds back its first chat response until watch has printed, so watch starts while every job is queued.
    let releaseFirstAnswer = () => {};
    const firstAnswerGate = new Promise<void>((resolve) => (releaseFirstAnswer = resolve));
    user.fake.enqueue({ match: { path: '/api/chat' }, answer: async () => firstAnswerGate.then(() => undefined) });

    const report = waitForExit(spawn(process.execPath, [BIN, 'report', '--wait', 'base..main'], { cwd: history.dir, env: user.env, stdio: ['ignore', 'pipe', 'pipe'] }));
    await user.fake.waitForRequest((request) => request.path === '/api/chat', { timeoutMs: 20_000 });
    const watchChild = spawn(process.execPath, [BIN, 'watch', '--json'], { cwd: history.dir, env: user.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const watched = waitForExit(watchChild);
    await waitForLine(watchChild, /^\{/);
    releaseFirstAnswer();
    const watch = await watched;
    const reported = await report;

    expect(reported.code, reported.stderr).toBe(0);
    for (const sha of history.range) {
      expect(reported.stdout).toContain(`commit ${sha}  ${history.subjects.get(sha)}`);
    }

    const status = await readStatus(user, history.dir);
    expect(status.counts).toEqual({ waiting: 0, delayed: 0, active: 0, completed: 31, failed: 0, cancelled: 0 });
    expect(status.jobs.map((job) => job.sha).sort()).toEqual([...history.range].sort());
    expect(status.jobs.every((job) => job.attempts === 1)).toBe(true);

    expect(chatRequests(user)).toBe(31);
    for (const sha of history.range) {
      expect(chatBodiesMentioning(user, history.subjects.get(sha) as string), history.subjects.get(sha)).toHaveLength(1);
    }

    expect(watch.code, watch.stderr).toBe(0);
    const events = watch.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as WatchLine);
    const jobIds = new Set(status.jobs.map((job) => job.id));
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((event) => jobIds.has(event.jobId))).toBe(true);
    expect(events.every((event) => Object.keys(event).join() === 'at,type,jobId,sha,repository,seq,data')).toBe(true);
    expect(events.map((event) => event.seq)).toEqual([...events.map((event) => event.seq)].sort((a, b) => a - b));
    expect(events.at(-1)?.type).toBe('completed');
    // Watch started while all 31 jobs were queued, so it saw each one complete before it ended.
    const completedInWatch = new Set(events.filter((event) => event.type === 'completed').map((event) => event.jobId));
    expect([...completedInWatch].sort()).toEqual([...jobIds].sort());
    expect(events.filter((event) => event.type === 'failed')).toEqual([]);
  });

  it('shows status and merge reports after the range', async () => {
    const user = await startUser();
    const history = buildHistory(user);
    const reported = await stepper(user, history.dir, ['report', '--wait', 'base..main']);
    expect(reported.code, reported.stderr).toBe(0);

    const status = await stepper(user, history.dir, ['status']);

    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^daemon +running, idle \(pid \d+/m);
    expect(status.stdout).toMatch(/^queue +0 waiting, 0 delayed, 0 active, 31 completed, 0 failed, 0 cancelled$/m);
    const jobLines = status.stdout.split('\n').filter((line) => /^ {2}\S/.test(line));
    expect(jobLines).toHaveLength(10);
    expect(jobLines.every((line) => /^ {2}completed +[0-9a-f]{7}  .+  job [0-9a-f-]{36}$/.test(line))).toBe(true);

    for (const merge of [history.cleanMerge, history.conflictMerge, history.noFastForwardMerge]) {
      const mergeReport = await stepperJson<{ sha: string; facts: { files: Array<{ path: string }> }; provenance: { modelCalls: number } }>(user, history.dir, [
        'show',
        merge,
      ]);
      expect(mergeReport.sha).toBe(merge);
      expect(mergeReport.facts.files.map((file) => file.path).sort()).toEqual(firstParentFiles(user, history.dir, merge));
      expect(mergeReport.provenance.modelCalls).toBe(1);
    }

    // Against its second parent, the resolved merge would show main's own files, which its prompt must not contain.
    const [conflictPrompt] = chatBodiesMentioning(user, history.subjects.get(history.conflictMerge) as string);
    expect(conflictPrompt).toContain('shared/config.txt');
    expect(conflictPrompt).toContain('side/two.ts');
    expect(conflictPrompt).not.toContain('src/main-only.ts');

    const text = await stepper(user, history.dir, ['show', history.conflictMerge]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`commit ${history.conflictMerge}  ${history.subjects.get(history.conflictMerge)}`);
    expect(text.stdout).toMatch(/^Files \(2 changed, /m);
    expect(text.stdout).toMatch(/^ {2}modified +shared\/config\.txt /m);
    expect(text.stdout).toMatch(/^ {2}added +side\/two\.ts /m);
    expect(text.stdout).toMatch(/^Made by qwen2\.5-coder:7b in .+: 1 model call, /m);
  });
});
