// Builds the history repository of the daemon benchmark: a root commit with 20 TypeScript
// files of 60 lines, then `commits` commits that each rewrite 3 lines in 2 of those files.
// Every commit's patch differs, so no report is reused through its cache key. The content
// follows from the commit number and the dates are fixed, so each build gives the same
// commit ids. The repository is bare and written with `git fast-import`.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';

import { isolatedGitEnvironment } from '../evidence/generate.mjs';

const FILES = 20;
const LINES_PER_FILE = 60;
const AUTHOR = 'Bench Author <bench@example.invalid>';
const FIRST_DATE = 1767225600;

function fileName(index) {
  return `src/module-${String(index).padStart(2, '0')}.ts`;
}

function line(file, row, version) {
  return `export const value${file}x${row} = ${version * 1000 + row}; // step ${version}`;
}

function commitCommand(number, message, files) {
  const date = `${FIRST_DATE + number * 60} +0000`;
  const parts = [`commit refs/heads/main\n`, `author ${AUTHOR} ${date}\n`, `committer ${AUTHOR} ${date}\n`];
  parts.push(`data ${Buffer.byteLength(message)}\n${message}\n`);
  for (const [filePath, content] of files) {
    parts.push(`M 100644 inline ${filePath}\ndata ${Buffer.byteLength(content)}\n${content}\n`);
  }
  parts.push('\n');
  return parts.join('');
}

function git(dir, args) {
  const result = spawnSync('git', args, { cwd: dir, env: isolatedGitEnvironment(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`git ${args.join(' ')} failed with code ${result.status}: ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/**
 * Builds the repository in `parentDir/history.git` and returns `{ dir, shas }`, where `shas`
 * lists the `commits` commits after the root, oldest first.
 */
export async function buildHistory(parentDir, commits) {
  const dir = path.join(parentDir, 'history.git');
  git(parentDir, ['init', '--bare', '--quiet', '--template=', dir]);

  const contents = Array.from({ length: FILES }, (_, file) => Array.from({ length: LINES_PER_FILE }, (__, row) => line(file, row, 0)));
  const render = (file) => `${contents[file].join('\n')}\n`;
  const chunks = [commitCommand(0, 'chore: add the modules\n', contents.map((_, file) => [fileName(file), render(file)]))];

  for (let number = 1; number <= commits; number++) {
    const edited = [number % FILES, (number * 7 + 3) % FILES];
    if (edited[0] === edited[1]) {
      edited[1] = (edited[1] + 1) % FILES;
    }
    for (const file of edited) {
      const start = (number * 13) % (LINES_PER_FILE - 3);
      for (let row = start; row < start + 3; row++) {
        contents[file][row] = line(file, row, number);
      }
    }
    const message = `refactor: update step ${number} in ${edited.map(fileName).join(' and ')}\n`;
    chunks.push(commitCommand(number, message, edited.map((file) => [fileName(file), render(file)])));
  }
  chunks.push('done\n');

  const fastImport = spawn('git', ['fast-import', '--quiet', '--done'], { cwd: dir, env: isolatedGitEnvironment(), stdio: ['pipe', 'ignore', 'inherit'] });
  fastImport.stdin.end(chunks.join(''));
  const [code] = await once(fastImport, 'close');
  if (code !== 0) {
    throw new Error(`git fast-import exited with code ${code} for the history repository`);
  }

  const shas = git(dir, ['rev-list', '--reverse', 'refs/heads/main']).trim().split('\n').slice(1);
  if (shas.length !== commits) {
    throw new Error(`the history repository has ${shas.length} commits after the root, expected ${commits}`);
  }
  return { dir, shas };
}
