// Builds the evidence benchmark's git repository once and caches it under os.tmpdir().
// Usage: node bench/evidence/generate.mjs [--force]
// Prints the manifest: the repository folder and, per benchmarked commit, its id, parent,
// changed-file count and diff size.
//
// The repository is bare and contains three commits, written with `git fast-import`:
//   base   2,000 files plus .gitattributes and README.md, the parent of both others
//   large  changes all 2,000 files, with about 50 MB of `git diff-tree -p` output
//   small  the same files and the same kinds of change, scaled to about 10 MB
// Every byte comes from a seeded PRNG and the dates are fixed, so with the same git the
// commit ids are the same on every machine.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bump when the generated content changes, so an old cache is rebuilt instead of reused. */
const GENERATOR_VERSION = 2;

const CACHE_DIR = path.join(os.tmpdir(), `stepper-bench-evidence-v${GENERATOR_VERSION}`);
const MANIFEST_FILE = 'bench-manifest.json';

const SOURCE_FILES = 1954;
const LARGE_FILES = 40;
const LOCKFILES = ['package-lock.json', 'yarn.lock', 'Cargo.lock', 'go.sum', 'pnpm-lock.yaml'];
const BUNDLE_PATH = 'web/public/assets/app.min.js';
const CHANGED_FILES = SOURCE_FILES + LARGE_FILES + LOCKFILES.length + 1;

/** Lines per file before any change. */
const SOURCE_LINES = 300;
const LARGE_LINES = 24_000;
const LOCKFILE_ENTRIES = 4_000;
/** The bundle has few, very long lines, as minified output does. 80 KB is above stepper's 64 KiB line cut. */
const BUNDLE_LINES = 30;
const BUNDLE_LINE_BYTES = 80_000;

/**
 * The two benchmarked commits. `scale` multiplies the number of changed places in every
 * file, so both commits change the same 2,000 files in the same ways.
 */
export const COMMITS = [
  { name: 'large', ref: 'refs/heads/diff-50mb', scale: 1, seed: 0x5eed_0050 },
  { name: 'small', ref: 'refs/heads/diff-10mb', scale: 0.16, seed: 0x5eed_0010 },
];

const BASE_REF = 'refs/heads/base';
const AUTHOR = 'Bench Author <bench@example.invalid>';
const BASE_DATE = 1_700_000_000;

/** Returns an environment in which git reads no global or system configuration file. */
export function isolatedGitEnvironment(extra = {}) {
  return {
    ...process.env,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
    ...extra,
  };
}

// ---------- deterministic content ----------

/** Creates an sfc32 PRNG (128 bits of state). It uses only 32-bit integer arithmetic, so a seed gives the same bytes everywhere. */
function createRandom(seed) {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };

  for (let i = 0; i < 16; i++) {
    next();
  }

  const random = {
    /** Returns an integer in [0, n). */
    int: (n) => next() % n,
    /** Returns an integer in [min, max]. */
    between: (min, max) => min + (next() % (max - min + 1)),
    pick: (items) => items[next() % items.length],
    hex: (length) => {
      let text = '';
      while (text.length < length) {
        text += next().toString(16).padStart(8, '0');
      }
      return text.slice(0, length);
    },
  };
  return random;
}

const WORDS = (
  'account active adapter address allocate amount apply array batch branch buffer build cache ' +
  'channel check child claim client commit config context count cursor data debug decode delay ' +
  'delta diff digest entry error event field file filter flush format frame handle header index ' +
  'input item job key label layer length limit line list local lock logger map marker merge ' +
  'message mode node offset option order output owner packet page parent parse patch path payload ' +
  'policy pool prefix queue range reader record redact region report request result retry route ' +
  'schema scope section session shard signal size source stage state status store stream table ' +
  'target task timer token total trace tree value vector version worker writer'
).split(' ');

const KEYWORDS = ['const', 'let', 'return', 'if', 'await', 'for', 'throw', 'export const'];

function identifier(random) {
  const first = random.pick(WORDS);
  const second = random.pick(WORDS);
  return `${first}${second[0].toUpperCase()}${second.slice(1)}`;
}

/** Returns one line of TypeScript-like code, about 30 bytes on average. */
function codeLine(random) {
  const indent = '  '.repeat(random.int(4));
  switch (random.int(6)) {
    case 0:
      return `${indent}${random.pick(KEYWORDS)} ${identifier(random)} = ${identifier(random)}(${random.int(1000)});`;
    case 1:
      return `${indent}if (${identifier(random)} > ${random.int(500)}) {`;
    case 2:
      return `${indent}}`;
    case 3:
      return `${indent}// ${random.pick(WORDS)} the ${random.pick(WORDS)} before ${random.pick(WORDS)}`;
    case 4:
      return `${indent}${identifier(random)}.${random.pick(WORDS)}(${identifier(random)}, '${random.pick(WORDS)}');`;
    default:
      return `${indent}return ${identifier(random)} ?? ${random.int(100)};`;
  }
}

function codeLines(random, count) {
  return Array.from({ length: count }, () => codeLine(random));
}

/**
 * Applies `places` changes to `lines` at random positions: each replaces one to `span` lines
 * with as many new ones, or inserts new lines, like an edit to code.
 */
function editLines(lines, random, places, span) {
  const result = [...lines];
  for (let place = 0; place < places; place++) {
    const at = random.int(result.length);
    const removed = random.int(4) === 0 ? 0 : random.between(1, span);
    const added = random.between(1, span);
    result.splice(at, removed, ...codeLines(random, added));
  }
  return result;
}

function editSource(lines, random, scale) {
  // Modest edits spread over the file: about 3.5 KB of diff per file at scale 1.
  return editLines(lines, random, Math.max(1, Math.round(random.between(8, 14) * scale)), 3);
}

function largeFile(random) {
  return codeLines(random, LARGE_LINES);
}

function editLarge(lines, random, scale) {
  // Regenerated blocks, as in a rewritten generated schema: about 750 KB of diff per file at scale 1.
  const result = [...lines];
  const places = Math.round(320 * scale);
  for (let place = 0; place < places; place++) {
    const at = random.int(result.length - 50);
    result.splice(at, 50, ...codeLines(random, 50));
  }
  return result;
}

function lockEntry(random, name) {
  const version = `${random.int(20)}.${random.int(40)}.${random.int(30)}`;
  return [
    `    "node_modules/${name}": {`,
    `      "version": "${version}",`,
    `      "resolved": "https://registry.example.invalid/${name}/-/${name}-${version}.tgz",`,
    `      "integrity": "sha512-${random.hex(86)}==",`,
    '      "dev": true',
    '    },',
  ];
}

function lockfile(random) {
  const entries = Array.from({ length: LOCKFILE_ENTRIES }, (_, index) => ({
    name: `${random.pick(WORDS)}-${random.pick(WORDS)}-${index}`,
    lines: null,
  }));
  for (const entry of entries) {
    entry.lines = lockEntry(random, entry.name);
  }
  return entries;
}

function editLockfile(entries, random, scale) {
  // A dependency update: new version, URL and checksum for a share of the entries.
  const share = 0.6 * scale;
  return entries.map((entry) => (random.int(1000) < share * 1000 ? { name: entry.name, lines: lockEntry(random, entry.name) } : entry));
}

function lockfileText(entries) {
  const body = entries.flatMap((entry) => entry.lines);
  return ['{', '  "lockfileVersion": 3,', '  "packages": {', ...body, '  }', '}'].join('\n') + '\n';
}

function bundleLine(random) {
  const parts = [];
  let length = 0;
  while (length < BUNDLE_LINE_BYTES) {
    const part = `function ${random.pick(WORDS)[0]}${random.int(9999)}(e,t){return e.${random.pick(WORDS)}(t,${random.int(999)})}`;
    parts.push(part);
    length += part.length + 1;
  }
  return parts.join(';');
}

function bundle(random) {
  return Array.from({ length: BUNDLE_LINES }, () => bundleLine(random));
}

function editBundle(lines, random, scale) {
  // A rebuild rewrites whole lines, and the share of lines rewritten follows the scale.
  const rewritten = Math.round(BUNDLE_LINES * scale);
  return lines.map((line, index) => (index < rewritten ? bundleLine(random) : line));
}

function joinLines(lines) {
  return `${lines.join('\n')}\n`;
}

/** The 2,000 changed files: path, base text, and a function that returns the text after one commit's change. */
function* changedFiles() {
  for (let index = 0; index < SOURCE_FILES; index++) {
    const random = createRandom(0x1000_0000 + index);
    const directory = `packages/pkg-${String(index % 48).padStart(2, '0')}/src/${WORDS[index % WORDS.length]}`;
    const lines = codeLines(random, SOURCE_LINES);
    yield {
      path: `${directory}/module-${String(index).padStart(4, '0')}.ts`,
      base: joinLines(lines),
      change: (commitRandom, scale) => joinLines(editSource(lines, commitRandom, scale)),
    };
  }

  for (let index = 0; index < LARGE_FILES; index++) {
    const random = createRandom(0x2000_0000 + index);
    const lines = largeFile(random);
    yield {
      path: `packages/schema/src/tables-${String(index).padStart(2, '0')}.ts`,
      base: joinLines(lines),
      change: (commitRandom, scale) => joinLines(editLarge(lines, commitRandom, scale)),
    };
  }

  for (const [index, name] of LOCKFILES.entries()) {
    const random = createRandom(0x3000_0000 + index);
    const entries = lockfile(random);
    yield {
      path: index === 0 ? name : `tools/${name.replace(/\..*$/, '')}/${name}`,
      base: lockfileText(entries),
      change: (commitRandom, scale) => lockfileText(editLockfile(entries, commitRandom, scale)),
    };
  }

  const random = createRandom(0x4000_0000);
  const lines = bundle(random);
  yield {
    path: BUNDLE_PATH,
    base: joinLines(lines),
    change: (commitRandom, scale) => joinLines(editBundle(lines, commitRandom, scale)),
  };
}

const UNCHANGED_FILES = [
  { path: '.gitattributes', text: '* text=auto eol=lf\n*.min.js linguist-generated\n' },
  { path: 'README.md', text: '# Benchmark repository\n\nGenerated by bench/evidence/generate.mjs.\n' },
];

// ---------- fast-import stream ----------

/** Writes to git fast-import's standard input, waiting when the pipe is full. */
class ImportWriter {
  #stdin;
  #mark = 0;

  constructor(stdin) {
    this.#stdin = stdin;
  }

  async write(text) {
    if (!this.#stdin.write(text)) {
      await once(this.#stdin, 'drain');
    }
  }

  /** Writes a blob and returns its mark. */
  async blob(text) {
    const mark = ++this.#mark;
    const bytes = Buffer.from(text, 'utf8');
    await this.write(`blob\nmark :${mark}\ndata ${bytes.length}\n`);
    await this.write(bytes);
    await this.write('\n');
    return mark;
  }

  /** Writes a commit on `ref` and returns its mark. */
  async commit({ ref, date, message, from, files }) {
    const mark = ++this.#mark;
    const messageBytes = Buffer.byteLength(message);
    const lines = [
      `commit ${ref}`,
      `mark :${mark}`,
      `author ${AUTHOR} ${date} +0000`,
      `committer ${AUTHOR} ${date} +0000`,
      `data ${messageBytes}`,
      message,
    ];
    if (from !== undefined) {
      lines.push(`from :${from}`);
    }
    for (const file of files) {
      lines.push(`M 100644 :${file.mark} ${file.path}`);
    }
    await this.write(`${lines.join('\n')}\n\n`);
    return mark;
  }
}

function git(dir, args, options = {}) {
  const result = spawnSync('git', args, { cwd: dir, env: isolatedGitEnvironment(), encoding: 'utf8', maxBuffer: 1024 * 1024, ...options });
  if (result.error) {
    throw result.error;
  }
  if (result.status !== 0) {
    throw new Error(`git ${args.join(' ')} failed in ${dir} with exit code ${result.status}: ${result.stderr.trim()}`);
  }
  return result.stdout.trim();
}

async function importCommits(dir, log) {
  const fastImport = spawn('git', ['fast-import', '--quiet', '--done'], {
    cwd: dir,
    env: isolatedGitEnvironment(),
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  const exited = once(fastImport, 'close');
  const writer = new ImportWriter(fastImport.stdin);

  const baseFiles = [];
  const commitFiles = COMMITS.map(() => []);
  const commitRandoms = COMMITS.map((commit) => createRandom(commit.seed));
  let count = 0;
  for (const file of changedFiles()) {
    baseFiles.push({ path: file.path, mark: await writer.blob(file.base) });
    for (const [index, commit] of COMMITS.entries()) {
      let text = file.change(commitRandoms[index], commit.scale);
      if (text === file.base) {
        // A random edit can restore the old text (a closing brace replaced by another), and every file must change.
        text += '// changed\n';
      }
      commitFiles[index].push({ path: file.path, mark: await writer.blob(text) });
    }

    count += 1;
    if (count % 500 === 0) {
      log(`  ${count} of ${CHANGED_FILES} files written`);
    }
  }

  for (const file of UNCHANGED_FILES) {
    baseFiles.push({ path: file.path, mark: await writer.blob(file.text) });
  }

  const base = await writer.commit({ ref: BASE_REF, date: BASE_DATE, message: 'Add the benchmark tree\n', files: baseFiles });
  for (const [index, commit] of COMMITS.entries()) {
    await writer.commit({
      ref: commit.ref,
      date: BASE_DATE + 3600 * (index + 1),
      message: `Change all ${CHANGED_FILES} files (${commit.name} diff)\n\nScale ${commit.scale} of the benchmark's change pattern.\n`,
      from: base,
      files: commitFiles[index],
    });
  }

  await writer.write('done\n');
  fastImport.stdin.end();
  const [code] = await exited;
  if (code !== 0) {
    throw new Error(`git fast-import exited with code ${code}`);
  }
}

/** Counts the bytes of `git diff-tree -p` between two commits, streaming. */
async function diffBytes(dir, parent, sha) {
  const child = spawn('git', ['diff-tree', '-p', '-r', parent, sha], { cwd: dir, env: isolatedGitEnvironment(), stdio: ['ignore', 'pipe', 'inherit'] });
  let bytes = 0;
  for await (const chunk of child.stdout) {
    bytes += chunk.length;
  }
  const [code] = await once(child, 'close');
  if (code !== 0) {
    throw new Error(`git diff-tree exited with code ${code}`);
  }
  return bytes;
}

function readManifest(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8'));
  } catch {
    return null;
  }
}

/** Checks that the cached repository is whole: the manifest matches this generator and every commit it names resolves. */
function isValid(manifest, dir) {
  if (!manifest || manifest.generatorVersion !== GENERATOR_VERSION || manifest.commits?.length !== COMMITS.length) {
    return false;
  }

  try {
    for (const commit of manifest.commits) {
      if (git(dir, ['rev-parse', '--verify', '--quiet', `${commit.ref}^{commit}`]) !== commit.sha) {
        return false;
      }
    }
    return true;
  } catch {
    return false;
  }
}

async function build(log) {
  const partial = `${CACHE_DIR}.partial-${process.pid}`;
  fs.rmSync(partial, { recursive: true, force: true });
  fs.mkdirSync(partial, { recursive: true });

  try {
    git(partial, ['init', '--bare', '--quiet', '--template=']);
    await importCommits(partial, log);

    const parent = git(partial, ['rev-parse', `${BASE_REF}^{commit}`]);
    const commits = [];
    for (const commit of COMMITS) {
      const sha = git(partial, ['rev-parse', `${commit.ref}^{commit}`]);
      const bytes = await diffBytes(partial, parent, sha);
      const changedFiles = git(partial, ['diff-tree', '-r', '-z', '--name-only', parent, sha]).split('\0').filter(Boolean).length;
      if (changedFiles !== CHANGED_FILES) {
        throw new Error(`commit ${commit.name} changes ${changedFiles} files, expected ${CHANGED_FILES}`);
      }
      commits.push({ name: commit.name, ref: commit.ref, sha, parent, changedFiles, diffBytes: bytes });
    }

    const manifest = { generatorVersion: GENERATOR_VERSION, gitVersion: git(partial, ['--version']), commits };
    fs.writeFileSync(path.join(partial, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);

    // Replace the old cache only now, so an interrupted build never looks valid.
    fs.rmSync(CACHE_DIR, { recursive: true, force: true });
    fs.renameSync(partial, CACHE_DIR);
    return manifest;
  } catch (error) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Returns the benchmark repository, building it when the cache is missing, stale or
 * incomplete, or when `force` is set: `{ dir, built, manifest }`.
 */
export async function ensureRepository({ force = false, log = () => {} } = {}) {
  const cached = readManifest(CACHE_DIR);
  if (!force && isValid(cached, CACHE_DIR)) {
    return { dir: CACHE_DIR, built: false, manifest: cached };
  }

  log(`building the benchmark repository in ${CACHE_DIR}`);
  const started = Date.now();
  const manifest = await build(log);
  log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { dir: CACHE_DIR, built: true, manifest };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const force = process.argv.slice(2).includes('--force');
  const result = await ensureRepository({ force, log: (line) => console.error(line) });
  console.log(JSON.stringify({ dir: result.dir, built: result.built, ...result.manifest }, null, 2));
}
