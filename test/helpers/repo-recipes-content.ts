import fs from 'node:fs';
import path from 'node:path';

import {
  ALICE,
  type BuildOptions,
  type BuiltRepo,
  builtRepo,
  fastImportCommit,
  fastImportFile,
  initWithRoot,
  numberedLines,
  type Recipe,
  RepoBuilder,
} from './repo-builder.js';

/** File names that a shell, a line-based parser or a quoting parser would mangle. */
export const ODD_FILE_NAMES = [
  'with space.txt',
  ' leading space.txt',
  'trailing space.txt ',
  'double"quote.txt',
  "single'quote.txt",
  '$(touch pwned).txt',
  ';rm -rf nothing.txt',
  '`touch pwned`.txt',
  'new\nline.txt',
  'tab\there.txt',
  'back\\slash.txt',
  '*glob?[x].txt',
  ':colon-first.txt',
  'naïve/日本語.ts',
  'emoji 🎉.md',
  '-leading-dash.txt',
];

/** The rename the `odd-rename` commit makes. */
export const ODD_RENAME = { from: 'tab\there.txt', to: 'moved\ttab\nand newline.txt' };

/** A file name that is not valid UTF-8: "café.txt" with é as the Latin-1 byte 0xE9. */
export const LATIN1_FILE_NAME = Buffer.from('caf\xe9.txt', 'latin1');

/** Files a shell would create if it ever ran the text of the `shell-message` commit. */
export const SHELL_MARKERS = ['pwned', 'pwned-subject', 'pwned-body', 'pwned-semicolon', 'redirect.txt'];

export const SHELL_MESSAGE = [
  'Fix $(touch pwned-subject) handling',
  '',
  'Run `touch pwned-body` first; touch pwned-semicolon && echo "$HOME" | cat',
  "'single' \"double\" \\backslash $VAR ${VAR} > redirect.txt",
  '',
  'Signed-off-by: Alice Example <alice@example.com>',
  'Co-authored-by: Bob Example',
  '  <bob@example.com>',
  'Refs: #42',
  '',
].join('\n');

/** Fake credentials the `secrets` state commits, for redaction tests. None of them is real. */
export const FAKE_SECRETS = {
  envFile: 'DATABASE_URL=postgres://app:fake-password-123@localhost/app\nAPI_TOKEN=fake-token-0123456789abcdef\n',
  /** AWS's own documentation example of an access key id. */
  awsAccessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  privateKey: [
    '-----BEGIN RSA PRIVATE KEY-----',
    'MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEXAMPLEFAKEKEYDATAONLYFORTESTS0',
    'ThisIsNotARealKeyItIsFakeBase64TextForRedactionTestsOnly0123456789',
    '-----END RSA PRIVATE KEY-----',
    '',
  ].join('\n'),
};

/** The first bytes of a PNG file, then NUL bytes, so git and numstat see a binary file. */
const PNG_LIKE = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 0), Buffer.from('IHDR')]);

function base(dir: string): RepoBuilder {
  const builder = RepoBuilder.init(dir);
  builder.write('README.md', '# Fixture\n');
  return builder;
}

/** Content of an odd-named file: several lines, so that a rename is detected by similarity. */
function oddContent(name: string): string {
  return `content of ${JSON.stringify(name)}\n${numberedLines(6)}`;
}

export const CONTENT_RECIPES = {
  /** `root`: the first commit of a repository. */
  root(dir: string): BuiltRepo {
    const { builder, root } = initWithRoot(dir);
    return builtRepo(builder, { root });
  },

  /** `modify`: two lines of src/app.ts changed and one README line deleted. */
  modify(dir: string): BuiltRepo {
    const { builder, root } = initWithRoot(dir);
    builder.write('README.md', '# Project\n\nFirst line.\nThird line.\n');
    const app = numberedLines(12, 'const value').replace('const value 3\n', 'const changed 3\n').replace('const value 9\n', 'const changed 9\n');
    builder.write('src/app.ts', app);
    return builtRepo(builder, { root, modify: builder.commit('Change the app values\n') });
  },

  /** `empty`: a commit without changes, and a merge (`-s ours`) whose first-parent diff is empty. */
  empty(dir: string): BuiltRepo {
    const { builder, root } = initWithRoot(dir);
    const empty = builder.commit('Empty commit\n', { allowEmpty: true, author: ALICE });
    builder.git(['switch', '-q', '-c', 'side']);
    builder.write('side.txt', 'side\n');
    const side = builder.commit('Side change\n');
    builder.git(['switch', '-q', 'main']);
    builder.git(['merge', '-q', '--no-ff', '-s', 'ours', '--no-edit', 'side']);
    return builtRepo(builder, { root, empty, side, 'ours-merge': builder.advance() });
  },

  /** `rename-only` (100% similar), `rename-edit` (2 of 20 lines changed) and `copy` (a copy of a modified file). */
  rename(dir: string): BuiltRepo {
    const builder = base(dir);
    builder.write('docs/guide.md', numberedLines(20, 'guide'));
    builder.write('lib/util.ts', numberedLines(20, 'util'));
    const baseSha = builder.commit('Add docs and util\n');

    fs.renameSync(path.join(dir, 'docs/guide.md'), path.join(dir, 'docs/manual.md'));
    const renameOnly = builder.commit('Rename the guide\n');

    fs.rmSync(path.join(dir, 'lib/util.ts'));
    const edited = numberedLines(20, 'util').replace('util 4\n', 'util four\n').replace('util 16\n', 'util sixteen\n');
    builder.write('lib/helpers.ts', edited);
    const renameEdit = builder.commit('Rename util to helpers and edit it\n');

    builder.write('lib/helpers-copy.ts', edited);
    builder.write('lib/helpers.ts', edited.replace('util 10\n', 'util ten\n'));
    const copy = builder.commit('Copy helpers before changing them\n');

    return builtRepo(builder, { base: baseSha, 'rename-only': renameOnly, 'rename-edit': renameEdit, copy });
  },

  /** `mode` (script.sh made executable) and `typechange` (a regular file replaced by a symlink). */
  mode(dir: string): BuiltRepo {
    const builder = base(dir);
    builder.write('script.sh', '#!/bin/sh\necho hello\n', 0o644);
    builder.write('target.txt', 'target\n');
    builder.write('link.txt', 'a regular file for now\n');
    const baseSha = builder.commit('Add the script\n');

    fs.chmodSync(path.join(dir, 'script.sh'), 0o755);
    const mode = builder.commit('Make the script executable\n');

    fs.rmSync(path.join(dir, 'link.txt'));
    fs.symlinkSync('target.txt', path.join(dir, 'link.txt'));
    const typechange = builder.commit('Replace link.txt with a symlink\n');

    return builtRepo(builder, { base: baseSha, mode, typechange });
  },

  /** `binary-add` and `binary-modify` of image.png, a file with NUL bytes. */
  binary(dir: string): BuiltRepo {
    const builder = base(dir);
    const baseSha = builder.commit('Base\n');
    builder.write('assets/image.png', PNG_LIKE);
    const add = builder.commit('Add an image\n');
    builder.write('assets/image.png', Buffer.concat([PNG_LIKE, Buffer.from([0, 1, 2, 3, 0xff])]));
    const modify = builder.commit('Change the image\n');
    return builtRepo(builder, { base: baseSha, 'binary-add': add, 'binary-modify': modify });
  },

  /** `lockfiles`: a commit that changes only package-lock.json, yarn.lock and Cargo.lock. */
  lockfiles(dir: string): BuiltRepo {
    const builder = base(dir);
    builder.write('package.json', '{ "name": "fixture", "version": "1.0.0" }\n');
    builder.write('package-lock.json', '{\n  "lockfileVersion": 3,\n  "packages": {}\n}\n');
    builder.write('yarn.lock', '# yarn lockfile v1\n\nleft-pad@1.0.0:\n  version "1.0.0"\n');
    builder.write('Cargo.lock', 'version = 3\n\n[[package]]\nname = "fixture"\nversion = "0.1.0"\n');
    const baseSha = builder.commit('Add the project\n');

    builder.write('package-lock.json', '{\n  "lockfileVersion": 3,\n  "packages": {\n    "node_modules/left-pad": {}\n  }\n}\n');
    builder.write('yarn.lock', '# yarn lockfile v1\n\nleft-pad@1.3.0:\n  version "1.3.0"\n');
    builder.write('Cargo.lock', 'version = 3\n\n[[package]]\nname = "fixture"\nversion = "0.2.0"\n');
    return builtRepo(builder, { base: baseSha, lockfiles: builder.commit('Update the lockfiles\n') });
  },

  /** `no-newline`: a line added after the last one, without a final newline. */
  'no-newline'(dir: string): BuiltRepo {
    const builder = base(dir);
    builder.write('notes.txt', 'alpha\nbeta\n');
    const baseSha = builder.commit('Add notes\n');
    builder.write('notes.txt', 'alpha\nbeta\ngamma');
    return builtRepo(builder, { base: baseSha, 'no-newline': builder.commit('Add gamma without a newline\n') });
  },

  /** `latin1`: a text file whose bytes are Latin-1, not UTF-8. */
  latin1(dir: string): BuiltRepo {
    const builder = base(dir);
    builder.write('legacy.txt', Buffer.from('caf\xe9\nna\xefve\n', 'latin1'));
    const baseSha = builder.commit('Add a Latin-1 file\n');
    builder.write('legacy.txt', Buffer.from('caf\xe9 cr\xe8me br\xfbl\xe9e\nna\xefve\n', 'latin1'));
    return builtRepo(builder, { base: baseSha, latin1: builder.commit('Edit the Latin-1 file\n') });
  },

  /** `crlf`: every line of lines.txt changes from LF to CRLF endings. */
  crlf(dir: string): BuiltRepo {
    const builder = base(dir);
    builder.write('lines.txt', numberedLines(5));
    const baseSha = builder.commit('Add lines\n');
    builder.write('lines.txt', numberedLines(5).replaceAll('\n', '\r\n'));
    return builtRepo(builder, { base: baseSha, crlf: builder.commit('Use CRLF line endings\n') });
  },

  /** `many-files`: a root commit adding 3,000 small files, written by `git fast-import` (the worktree stays empty). */
  'many-files'(dir: string): BuiltRepo {
    const builder = RepoBuilder.init(dir);
    let files = '';
    for (let index = 0; index < 3000; index += 1) {
      files += fastImportFile(`files/d${index % 30}/f${index}.txt`, `file ${index}\n`);
    }
    builder.git(['fast-import', '--quiet'], { input: fastImportCommit('Add 3000 files\n', 0, files) });
    return builtRepo(builder, { 'many-files': builder.head('main') });
  },

  /** `odd-add`, `odd-modify` and `odd-rename` of ODD_FILE_NAMES, and `latin1-name` adding LATIN1_FILE_NAME. */
  'odd-names'(dir: string): BuiltRepo {
    const builder = base(dir);
    const baseSha = builder.commit('Base\n');

    for (const name of ODD_FILE_NAMES) {
      builder.write(name, oddContent(name));
    }
    const add = builder.commit('Add files with odd names\n');

    for (const name of ODD_FILE_NAMES) {
      builder.write(name, `${oddContent(name)}one more line\n`);
    }
    const modify = builder.commit('Append a line to every odd file\n');

    fs.renameSync(path.join(dir, ODD_RENAME.from), path.join(dir, ODD_RENAME.to));
    const rename = builder.commit('Rename a file with a tab\n');

    builder.write(LATIN1_FILE_NAME, 'a name that is not UTF-8\n');
    const latin1Name = builder.commit('Add a file with a Latin-1 name\n');

    return builtRepo(builder, { base: baseSha, 'odd-add': add, 'odd-modify': modify, 'odd-rename': rename, 'latin1-name': latin1Name });
  },

  /** `message`: a commit whose message (SHELL_MESSAGE) is full of shell syntax and ends in trailers. */
  'shell-message'(dir: string): BuiltRepo {
    const { builder, root } = initWithRoot(dir);
    builder.write('notes.txt', 'notes\n');
    return builtRepo(builder, { root, message: builder.commit(SHELL_MESSAGE) });
  },

  /** `huge`: adds big/data.txt of at least `hugeDiffBytes` bytes (3 MiB unless set), in lines of 64 bytes. */
  'huge-diff'(dir: string, options: BuildOptions): BuiltRepo {
    const { builder, root } = initWithRoot(dir);
    const bytes = options.hugeDiffBytes ?? 3 * 1024 * 1024;
    const lines: string[] = [];
    for (let index = 0; lines.length * 64 < bytes; index += 1) {
      lines.push(`row ${String(index).padStart(10, '0')} ${'x'.repeat(48)}\n`);
    }
    builder.write('big/data.txt', lines.join(''));
    return builtRepo(builder, { root, huge: builder.commit('Add a large data file\n') });
  },

  /** `secrets`: adds .env, config/aws.ts with an access key id and keys/deploy.pem (FAKE_SECRETS). */
  secrets(dir: string): BuiltRepo {
    const { builder, root } = initWithRoot(dir);
    builder.write('.env', FAKE_SECRETS.envFile);
    builder.write('config/aws.ts', `export const accessKeyId = '${FAKE_SECRETS.awsAccessKeyId}';\n`);
    builder.write('keys/deploy.pem', FAKE_SECRETS.privateKey);
    return builtRepo(builder, { root, secrets: builder.commit('Add deployment settings\n') });
  },

  /** `generated`: adds a generated bundle, vendored code, a minified file and one source file. */
  generated(dir: string): BuiltRepo {
    const builder = base(dir);
    builder.write('.gitattributes', 'dist/** linguist-generated\nvendor/** linguist-vendored\n*.min.js linguist-generated\n');
    const baseSha = builder.commit('Add attributes\n');
    builder.write('dist/bundle.js', 'console.log("bundle");\n');
    builder.write('vendor/lib/index.js', 'module.exports = {};\n');
    builder.write('public/app.min.js', 'function a(){return 1}\n');
    builder.write('src/index.ts', 'export const answer = 42;\n');
    return builtRepo(builder, { base: baseSha, generated: builder.commit('Build the bundle\n') });
  },
} satisfies Record<string, Recipe>;
