import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  attributeFlag,
  attributesFor,
  type ParsedAttributes,
  parseGitAttributes,
  unquoteCStyle,
} from '../../src/evidence/gitattributes.js';
import { compileGlob, matchGlob, parsePathPattern } from '../../src/evidence/wildmatch.js';
import { makeTempDir } from '../helpers/temp.js';

function attributesOf(filePath: string, files: Array<[directory: string, text: string]>): Map<string, true | false | string> {
  const parsed = files.map(([directory, text]) => parseGitAttributes(text, directory));
  return attributesFor(filePath, parsed).all;
}

describe('parseGitAttributes', () => {
  it('reads the four attribute states', () => {
    const parsed = parseGitAttributes('*.txt text -diff !merge eol=lf\n', '');

    expect(parsed.rules).toHaveLength(1);
    expect(parsed.rules[0]?.assignments).toEqual([
      { name: 'text', value: true },
      { name: 'diff', value: false },
      { name: 'merge', value: undefined },
      { name: 'eol', value: 'lf' },
    ]);
  });

  it('skips comments and blank lines', () => {
    const parsed = parseGitAttributes('# a comment\n\n   \n  # indented comment\n*.md linguist-documentation\n', '');

    expect(parsed.rules.map((rule) => rule.line)).toEqual([5]);
    expect(parsed.ignoredLines).toEqual([]);
  });

  it('accepts CRLF line endings and a byte order mark', () => {
    const parsed = parseGitAttributes('\uFEFF*.bin binary\r\n*.txt text\r\n', '');

    expect(parsed.rules.map((rule) => rule.pattern)).toEqual(['*.bin', '*.txt']);
    expect(parsed.rules[1]?.assignments).toEqual([{ name: 'text', value: true }]);
  });

  it('unquotes a C-style quoted pattern', () => {
    const parsed = parseGitAttributes('"with space.txt" -diff\n"tab\\there" text\n"caf\\303\\251.md" text\n', '');

    expect(parsed.rules.map((rule) => rule.pattern)).toEqual(['with space.txt', 'tab\there', 'café.md']);
  });

  it('reads a badly quoted pattern as plain text', () => {
    const parsed = parseGitAttributes('"bad\\q" text\n', '');

    expect(parsed.rules[0]?.pattern).toBe('"bad\\q"');
  });

  it('ignores negative patterns', () => {
    const parsed = parseGitAttributes('!*.md text\n', '');

    expect(parsed.rules).toEqual([]);
    expect(parsed.ignoredLines).toEqual([{ line: 1, reason: 'negative patterns are ignored in git attributes' }]);
  });

  it('reads an escaped exclamation mark as literal', () => {
    const parsed = parseGitAttributes('\\!important.txt text\n', '');

    expect(parsed.rules).toHaveLength(1);
    expect(attributesFor('!important.txt', [parsed]).all.get('text')).toBe(true);
  });

  it('drops a line with an invalid attribute name', () => {
    const parsed = parseGitAttributes('*.txt text -bad/name diff\n*.md text\n', '');

    expect(parsed.rules.map((rule) => rule.pattern)).toEqual(['*.md']);
    expect(parsed.ignoredLines[0]?.line).toBe(1);
  });

  it('rejects names reserved for git', () => {
    const parsed = parseGitAttributes('*.txt builtin_objectmode\n', '');

    expect(parsed.rules).toEqual([]);
  });

  it('drops the value after -attr=', () => {
    const parsed = parseGitAttributes('*.txt -diff=foo\n', '');

    expect(parsed.rules[0]?.assignments).toEqual([{ name: 'diff', value: false }]);
  });

  it('records macros in the top-level file', () => {
    const parsed = parseGitAttributes('[attr]generated linguist-generated -diff\n', '');

    expect(parsed.macros.get('generated')).toEqual([
      { name: 'linguist-generated', value: true },
      { name: 'diff', value: false },
    ]);
  });

  it('ignores macros in nested files', () => {
    const parsed = parseGitAttributes('[attr]generated linguist-generated\n', 'src');

    expect(parsed.macros.size).toBe(0);
    expect(parsed.ignoredLines).toHaveLength(1);
  });

  it('ignores lines of 2048 bytes or more', () => {
    // 2043 + ' text' is 2048 bytes, and one character less fits.
    const pattern = 'a'.repeat(2043);
    const parsed = parseGitAttributes(`${pattern} text\n${pattern.slice(1)} text\n`, '');

    expect(parsed.rules.map((rule) => rule.line)).toEqual([2]);
    expect(parsed.ignoredLines.map((ignored) => ignored.line)).toEqual([1]);
  });

  it('normalizes the directory', () => {
    expect(parseGitAttributes('', '/src/lib/').directory).toBe('src/lib');
    expect(parseGitAttributes('', '').directory).toBe('');
  });
});

describe('unquoteCStyle', () => {
  it('decodes escapes and octal bytes', () => {
    expect(unquoteCStyle('"a\\"b\\\\c\\n\\101" rest')).toEqual({ value: 'a"b\\c\nA', end: 15 });
  });

  it('rejects an unterminated string', () => {
    expect(unquoteCStyle('"abc')).toBeNull();
  });

  it('rejects an unknown escape', () => {
    expect(unquoteCStyle('"a\\qb"')).toBeNull();
  });
});

describe('attributesFor', () => {
  it('matches a slashless pattern at any depth', () => {
    const files: Array<[string, string]> = [['', '*.gen.ts linguist-generated\n']];

    expect(attributesOf('a.gen.ts', files).get('linguist-generated')).toBe(true);
    expect(attributesOf('src/deep/b.gen.ts', files).get('linguist-generated')).toBe(true);
    expect(attributesOf('src/b.ts', files).has('linguist-generated')).toBe(false);
  });

  it('anchors a pattern with a slash to its directory', () => {
    const files: Array<[string, string]> = [['', 'src/*.ts text\n/top.txt -diff\n']];

    expect(attributesOf('src/a.ts', files).get('text')).toBe(true);
    expect(attributesOf('lib/src/a.ts', files).has('text')).toBe(false);
    expect(attributesOf('src/deep/a.ts', files).has('text')).toBe(false);
    expect(attributesOf('top.txt', files).get('diff')).toBe(false);
    expect(attributesOf('sub/top.txt', files).has('diff')).toBe(false);
  });

  it('anchors nested files to their directory', () => {
    const files: Array<[string, string]> = [['pkg', 'gen/*.go linguist-generated\n*.pb.go -diff\n']];

    expect(attributesOf('pkg/gen/a.go', files).get('linguist-generated')).toBe(true);
    expect(attributesOf('gen/a.go', files).has('linguist-generated')).toBe(false);
    expect(attributesOf('pkg/x/y/a.pb.go', files).get('diff')).toBe(false);
    expect(attributesOf('other/a.pb.go', files).has('diff')).toBe(false);
  });

  it('applies ** rules', () => {
    const files: Array<[string, string]> = [['', '**/fixtures/** linguist-vendored\nlib/**/gen.js linguist-generated\n']];

    expect(attributesOf('fixtures/a.json', files).get('linguist-vendored')).toBe(true);
    expect(attributesOf('test/fixtures/deep/a.json', files).get('linguist-vendored')).toBe(true);
    expect(attributesOf('test/fixtures', files).has('linguist-vendored')).toBe(false);
    expect(attributesOf('lib/gen.js', files).get('linguist-generated')).toBe(true);
    expect(attributesOf('lib/a/b/gen.js', files).get('linguist-generated')).toBe(true);
    expect(attributesOf('lib/agen.js', files).has('linguist-generated')).toBe(false);
  });

  it('never matches files with a directory pattern', () => {
    const files: Array<[string, string]> = [['', 'docs/ -diff\n']];

    expect(attributesOf('docs/guide.md', files).has('diff')).toBe(false);
  });

  it('lets later lines override earlier ones', () => {
    const files: Array<[string, string]> = [['', '*.txt -diff\nspecial.txt diff\n']];

    expect(attributesOf('special.txt', files).get('diff')).toBe(true);
    expect(attributesOf('other.txt', files).get('diff')).toBe(false);
  });

  it('lets the last state on a line win', () => {
    expect(attributesOf('a.txt', [['', '*.txt -diff diff\n']]).get('diff')).toBe(true);
  });

  it('lets deeper files override shallower ones', () => {
    const files: Array<[string, string]> = [
      ['src', '*.js linguist-generated=false\n'],
      ['', '*.js linguist-generated\n'],
    ];

    expect(attributesOf('src/a.js', files).get('linguist-generated')).toBe('false');
    expect(attributesOf('lib/a.js', files).get('linguist-generated')).toBe(true);
  });

  it('resets an attribute with !attr', () => {
    const files: Array<[string, string]> = [['', '*.txt -diff\nkeep.txt !diff\n']];

    expect(attributesOf('keep.txt', files).has('diff')).toBe(false);
  });

  it('skips files outside the path', () => {
    const files: Array<[string, string]> = [['other', '*.txt -diff\n']];

    expect(attributesOf('src/a.txt', files).has('diff')).toBe(false);
    expect(attributesOf('otherwise/a.txt', files).has('diff')).toBe(false);
  });

  it('expands the binary macro', () => {
    const all = attributesOf('a.dat', [['', '*.dat binary\n']]);

    expect(all.get('binary')).toBe(true);
    expect(all.get('diff')).toBe(false);
    expect(all.get('merge')).toBe(false);
    expect(all.get('text')).toBe(false);
  });

  it('keeps a later diff over an earlier binary', () => {
    const all = attributesOf('a.dat', [['', '*.dat binary\n*.dat diff\n']]);

    expect(all.get('diff')).toBe(true);
    expect(all.get('merge')).toBe(false);
  });

  it('lets a later binary override an earlier diff', () => {
    expect(attributesOf('a.dat', [['', '*.dat diff\n*.dat binary\n']]).get('diff')).toBe(false);
  });

  it('does not expand an unset macro', () => {
    const all = attributesOf('a.dat', [['', '*.dat -binary\n']]);

    expect(all.get('binary')).toBe(false);
    expect(all.has('diff')).toBe(false);
  });

  it('expands a top-level macro', () => {
    const all = attributesOf('src/a.js', [['', '[attr]gen linguist-generated -diff\n*.js gen\n']]);

    expect(all.get('linguist-generated')).toBe(true);
    expect(all.get('diff')).toBe(false);
  });

  it('lets a top-level file redefine binary', () => {
    const all = attributesOf('a.dat', [['', '[attr]binary -diff\n*.dat binary\n']]);

    expect(all.get('diff')).toBe(false);
    expect(all.has('merge')).toBe(false);
  });

  it('fills the named fields', () => {
    const parsed = [parseGitAttributes('*.js linguist-vendored linguist-documentation=false diff=javascript\n', '')];
    const attributes = attributesFor('a.js', parsed);

    expect(attributes.linguistVendored).toBe(true);
    expect(attributes.linguistDocumentation).toBe('false');
    expect(attributes.linguistGenerated).toBeUndefined();
    expect(attributes.diff).toBe('javascript');
    expect(attributes.binary).toBeUndefined();
  });

  it('handles macro cycles', () => {
    const all = attributesOf('a.x', [['', '[attr]one two\n[attr]two one\n*.x one\n']]);

    expect(all.get('one')).toBe(true);
    expect(all.get('two')).toBe(true);
  });
});

describe('attributeFlag', () => {
  it.each([
    [true, true],
    ['true', true],
    [false, false],
    ['false', false],
    [undefined, undefined],
    ['yes', undefined],
  ] as const)('reads %s as %s', (value, expected) => {
    expect(attributeFlag(value)).toBe(expected);
  });
});

describe('compileGlob', () => {
  it.each([
    ['*.js', 'a.js', true],
    ['*.js', 'dir/a.js', false],
    ['a?c', 'abc', true],
    ['a?c', 'a/c', false],
    ['[abc].txt', 'b.txt', true],
    ['[abc].txt', 'd.txt', false],
    ['[!abc].txt', 'd.txt', true],
    ['[^abc].txt', 'a.txt', false],
    ['[a-c]x', 'bx', true],
    ['[a-c]x', 'dx', false],
    ['[]]x', ']x', true],
    ['[a-]x', '-x', true],
    ['[[:digit:]]*', '7up', true],
    ['[[:digit:]]*', 'up', false],
    ['[[:upper:][:digit:]]', 'Q', true],
    ['a[/]b', 'a/b', false],
    ['\\*.txt', '*.txt', true],
    ['\\*.txt', 'a.txt', false],
    ['{a,b}.txt', 'a.txt', false],
    ['{a,b}.txt', '{a,b}.txt', true],
    ['foo**bar', 'fooxbar', true],
    ['foo**bar', 'foo/bar', false],
    ['**/x', 'x', true],
    ['**/x', 'a/b/x', true],
    ['a/**', 'a/b/c', true],
    ['a/**', 'a', false],
    ['a/**/b', 'a/b', true],
    ['a/**/b', 'a/x/y/b', true],
    ['a/**/b', 'ab', false],
    ['**', 'any/thing', true],
    ['*', '', true],
    ['[abc', 'a', false],
    ['[[:nope:]]', 'a', false],
    ['trailing\\', 'trailing\\', false],
  ] as const)('%s against %s is %s', (pattern, text, expected) => {
    expect(matchGlob(compileGlob(pattern), text)).toBe(expected);
  });

  it('stays polynomial on many stars', () => {
    const glob = compileGlob(`${'*a'.repeat(30)}b`);

    expect(matchGlob(glob, 'a'.repeat(3000))).toBe(false);
  });
});

describe('parsePathPattern', () => {
  it('reads the pattern forms', () => {
    expect(parsePathPattern('/build/')).toMatchObject({ negated: false, directoryOnly: true, basenameOnly: false });
    expect(parsePathPattern('!*.log')).toMatchObject({ negated: true, directoryOnly: false, basenameOnly: true });
    expect(parsePathPattern('a/b')).toMatchObject({ basenameOnly: false });
  });

  it('returns null for patterns that match nothing', () => {
    expect(parsePathPattern('')).toBeNull();
    expect(parsePathPattern('/')).toBeNull();
  });
});

/** Runs `git check-attr -a` in a fresh repository holding the given .gitattributes files. */
function gitCheckAttr(files: Array<[string, string]>, paths: string[]): Map<string, Map<string, true | false | string>> {
  const dir = makeTempDir('stepper-attr-');
  execFileSync('git', ['init', '-q', dir]);
  for (const [directory, text] of files) {
    fs.mkdirSync(path.join(dir, directory), { recursive: true });
    fs.writeFileSync(path.join(dir, directory, '.gitattributes'), text);
  }

  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1', GIT_ATTR_NOSYSTEM: '1', LC_ALL: 'C' };
  const output = execFileSync('git', ['-c', 'core.attributesFile=/dev/null', 'check-attr', '-z', '-a', '--', ...paths], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  }).toString('utf8');

  const result = new Map(paths.map((filePath) => [filePath, new Map<string, true | false | string>()]));
  const fields = output.split('\0');
  for (let index = 0; index + 2 < fields.length; index += 3) {
    const [filePath, name, info] = fields.slice(index, index + 3) as [string, string, string];
    let value: true | false | string = info;
    if (info === 'set') {
      value = true;
    } else if (info === 'unset') {
      value = false;
    }
    result.get(filePath)?.set(name, value);
  }
  return result;
}

describe('attributesFor against git check-attr', () => {
  it('agrees on a mixed tree', () => {
    const files: Array<[string, string]> = [
      [
        '',
        [
          '[attr]generated linguist-generated -diff',
          '* text=auto',
          '*.bin binary',
          '*.min.js linguist-generated',
          '/vendor/** linguist-vendored',
          '**/testdata/** -text',
          'docs/*.md linguist-documentation',
          '"odd name.txt" -diff',
          '!*.md text',
          'proto/*.pb.go generated',
          '*.keep -diff',
          '*.keep diff',
          '[abc]*.log -merge',
          'logs/ -diff',
          `*.big -diff${' '.repeat(2040)}`,
          '\\!bang.txt -text',
          '"caf\\303\\251.txt" -diff',
          '',
        ].join('\n'),
      ],
      ['src', '*.js diff=javascript\nlegacy/** linguist-vendored=false\nx.bin !binary !diff\n'],
      ['src/legacy', '*.min.js -linguist-generated\n'],
    ];
    const paths = [
      'a.bin',
      'src/x.bin',
      'app.min.js',
      'src/legacy/old.min.js',
      'src/legacy/old.js',
      'src/main.js',
      'vendor/lib/a.c',
      'src/vendor/a.c',
      'testdata/a.txt',
      'pkg/testdata/deep/a.txt',
      'docs/guide.md',
      'docs/deep/guide.md',
      'odd name.txt',
      'proto/api.pb.go',
      'x.keep',
      'app.log',
      'zapp.log',
      'logs/a.txt',
      'README.md',
      'a.big',
      '!bang.txt',
      'café.txt',
    ];

    const expected = gitCheckAttr(files, paths);
    const parsed = files.map(([directory, text]) => parseGitAttributes(text, directory));

    for (const filePath of paths) {
      expect({ path: filePath, attributes: Object.fromEntries(attributesFor(filePath, parsed).all) }).toEqual({
        path: filePath,
        attributes: Object.fromEntries(expected.get(filePath) ?? []),
      });
    }
  });
});

describe('ParsedAttributes', () => {
  it('keeps the rule order of the file', () => {
    const parsed: ParsedAttributes = parseGitAttributes('a text\nb text\nc text\n', '');

    expect(parsed.rules.map((rule) => rule.pattern)).toEqual(['a', 'b', 'c']);
  });
});
