// Bundles the quick path of `stepper report` and `stepper status` (dist/cli/quick.js and the
// modules it reaches) into dist/quick/. These commands run many times a day, from hooks and
// scripts too. Node's ESM loader resolves, reads and links each of about 40 compiled modules
// one by one, which cost about 13 ms per run on a 2-core VM (docs/benchmarks.md, CLI). The
// bundle is CommonJS, because a process that loads no ES module at all also skips starting
// the ESM loader, about 8 ms more. It keeps tsc's output as it is, so it runs the same code
// as dist/, and every other command, the daemon and the library API still load dist/ itself.
import path from 'node:path';

import { defineConfig } from 'rolldown';

const outDir = path.resolve('dist', 'quick');
const BETTER_SQLITE = 'better-sqlite3';
const RENDERING = ['cli/render/color.js', 'cli/render/report-text.js', 'cli/commands/show.js'].map((file) => path.join('dist', file));

// Packages that the bundle contains rather than requires. better-sqlite3 is explained below.
// chalk 5 is an ES module that the commands import statically, and Node before 20.19 cannot
// require one. The ES modules they import on demand (ora, simple-git) stay `import()`.
const BUNDLED = new Set([BETTER_SQLITE, 'chalk']);

export default defineConfig({
  input: { quick: 'dist/cli/quick.js' },
  platform: 'node',
  // Node's modules and other packages stay outside. A `#` specifier is a package's own
  // subpath import, such as chalk's `#ansi-styles`, so it is bundled with its package.
  external: (id) => !id.startsWith('.') && !id.startsWith('#') && !path.isAbsolute(id) && !BUNDLED.has(id),
  plugins: [keepModuleUrls(), bundleBetterSqlite()],
  // Inside one chunk a dynamic import still defers the module's evaluation, which is all
  // the commands use it for, so rolldown's warning that it moves no code is noise here.
  checks: { ineffectiveDynamicImport: false },
  output: {
    dir: outDir,
    // Chunk names carry a content hash, so each build removes the chunks of the one before.
    cleanDir: true,
    format: 'cjs',
    // The package is "type": "module", so CommonJS files need the .cjs extension.
    entryFileNames: '[name].cjs',
    chunkFileNames: '[name]-[hash].cjs',
    // One chunk for what the commands share, which saves Node a module load per file, and
    // one for rendering a report with chalk, which plain runs do not load.
    codeSplitting: { groups: [{ name: (id) => (isRendering(id) ? 'render' : 'commands') }] },
  },
});

function isRendering(id) {
  return RENDERING.some((file) => id.endsWith(file)) || id.includes(`${path.sep}node_modules${path.sep}chalk${path.sep}`);
}

/**
 * Rewrites `import.meta.url` in each bundled module to the URL of its file in dist/, taken
 * relative to the bundle. Paths built from it (the daemon's entry script, the hook's kick
 * script, package.json) then still name the files beside the module, wherever the package
 * is installed.
 */
function keepModuleUrls() {
  return {
    name: 'stepper-keep-module-urls',
    transform(code, id) {
      // Rolldown's own modules have ids that start with a NUL and are no file.
      if (!path.isAbsolute(id) || !code.includes('import.meta.url')) {
        return null;
      }

      const relative = path.relative(outDir, id).split(path.sep).join('/');
      return { code: code.replaceAll('import.meta.url', `new URL(${JSON.stringify(relative)}, import.meta.url).href`), map: null };
    },
  };
}

/**
 * Bundles better-sqlite3's JavaScript, not its native addon, into the quick path. Node's
 * CommonJS loader finds and reads its 13 files one by one, about 5 ms per run on a 2-core VM. The
 * package is pinned to one exact version, so the bundled JavaScript and the addon loaded
 * at run time come from the same release. src/store/sqlite.ts loads the package with
 * `require`, which rolldown does not follow, so this swaps that one call for an import.
 */
function bundleBetterSqlite() {
  const call = `require('${BETTER_SQLITE}')`;
  return {
    name: 'stepper-bundle-better-sqlite3',
    transform(code, id) {
      if (!id.endsWith(path.join('dist', 'store', 'sqlite.js'))) {
        return null;
      }

      if (!code.includes(call)) {
        this.error(`${id} no longer loads better-sqlite3 with ${call}: update bundleBetterSqlite in rolldown.config.mjs`);
      }
      return { code: `import betterSqlite3 from '${BETTER_SQLITE}';\n${code.replace(call, 'betterSqlite3')}`, map: null };
    },
  };
}
