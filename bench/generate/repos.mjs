// Builds the two repositories of the generate benchmark in a folder the caller owns.
// Every byte comes from a seeded PRNG and the dates are fixed, so each build gives the same
// commit ids. Both repositories are bare and written with `git fast-import`.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

import { isolatedGitEnvironment } from '../evidence/generate.mjs';

/** The measured commits: `files` source files in the tree, of which the commit edits `edited`, in `blocks` places each. */
export const COMMITS = [
  { name: 'small', seed: 11, files: 20, linesPerFile: 120, edited: 3, blocks: 2 },
  { name: 'large', seed: 23, files: 500, linesPerFile: 160, edited: 500, blocks: 8 },
];

const AUTHOR = 'Bench Author <bench@example.invalid>';
const PARENT_DATE = '1767225600 +0000';
const COMMIT_DATE = '1767229200 +0000';

/** Creates a mulberry32 PRNG. It uses only 32-bit integer arithmetic, so a seed gives the same values everywhere. */
function createRandom(seed) {
  let state = seed >>> 0;
  return (limit) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) % limit);
  };
}

const WORDS = ['queue', 'report', 'commit', 'parser', 'budget', 'evidence', 'model', 'token', 'stream', 'folder', 'record', 'option'];

function sourceLine(random, index) {
  const name = `${WORDS[random(WORDS.length)]}${WORDS[random(WORDS.length)].toUpperCase()}${random(1000)}`;
  switch (random(4)) {
    case 0:
      return `export const ${name} = ${random(100000)};`;
    case 1:
      return `  const ${name} = read${WORDS[random(WORDS.length)]}(input, ${random(64)});`;
    case 2:
      return `  if (${name} > ${random(500)}) { return ${name} - ${index}; }`;
    default:
      return `// ${WORDS[random(WORDS.length)]} ${WORDS[random(WORDS.length)]} ${WORDS[random(WORDS.length)]} step ${index}`;
  }
}

/** Returns the parent and child contents of every file of one commit, by path. */
function buildFiles(spec) {
  const random = createRandom(spec.seed);
  const parent = new Map();
  const child = new Map();

  for (let file = 0; file < spec.files; file++) {
    const filePath = `src/${WORDS[file % WORDS.length]}/module-${String(file).padStart(4, '0')}.ts`;
    const lines = Array.from({ length: spec.linesPerFile }, (_, index) => sourceLine(random, index));
    parent.set(filePath, `${lines.join('\n')}\n`);

    if (file < spec.edited) {
      const edited = [...lines];
      const stride = Math.floor(spec.linesPerFile / spec.blocks);
      for (let block = 0; block < spec.blocks; block++) {
        const start = block * stride + random(stride - 4);
        for (let offset = 0; offset < 3; offset++) {
          edited[start + offset] = sourceLine(random, start + offset);
        }
      }
      child.set(filePath, `${edited.join('\n')}\n`);
    } else {
      child.set(filePath, parent.get(filePath));
    }
  }

  return { parent, child };
}

// A second commit on the same ref in one stream gets the branch tip as its parent.
function commitCommand(ref, date, message, files) {
  const parts = [`commit ${ref}\n`, `author ${AUTHOR} ${date}\n`, `committer ${AUTHOR} ${date}\n`];
  const messageBytes = Buffer.byteLength(message);
  parts.push(`data ${messageBytes}\n${message}\n`);
  for (const [filePath, content] of files) {
    parts.push(`M 100644 inline ${filePath}\ndata ${Buffer.byteLength(content)}\n${content}\n`);
  }
  parts.push('\n');
  return parts.join('');
}

function git(dir, args) {
  const result = spawnSync('git', args, { cwd: dir, env: isolatedGitEnvironment(), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`git ${args.join(' ')} failed with code ${result.status}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** Builds one bare repository under `parentDir` and returns `{ name, dir, sha, changedFiles, diffBytes }`. */
export async function buildRepository(parentDir, spec) {
  const dir = path.join(parentDir, `${spec.name}.git`);
  git(parentDir, ['init', '--bare', '--quiet', '--template=', dir]);

  const { parent, child } = buildFiles(spec);
  const changed = [...child].filter(([filePath, content]) => parent.get(filePath) !== content);
  const stream =
    commitCommand('refs/heads/main', PARENT_DATE, 'chore: add the modules\n', parent) +
    commitCommand('refs/heads/main', COMMIT_DATE, `refactor: rework ${changed.length} modules\n`, changed) +
    'done\n';

  const fastImport = spawn('git', ['fast-import', '--quiet', '--done'], { cwd: dir, env: isolatedGitEnvironment(), stdio: ['pipe', 'ignore', 'inherit'] });
  fastImport.stdin.end(stream);
  const [code] = await once(fastImport, 'close');
  if (code !== 0) {
    throw new Error(`git fast-import exited with code ${code} for the ${spec.name} repository`);
  }

  const sha = git(dir, ['rev-parse', 'refs/heads/main']).trim();
  const diffBytes = Buffer.byteLength(git(dir, ['diff-tree', '-p', '--no-color', `${sha}^`, sha]));
  return { name: spec.name, dir, sha, changedFiles: changed.length, diffBytes };
}
