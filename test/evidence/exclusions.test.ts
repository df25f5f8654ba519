import { describe, expect, it } from 'vitest';

import {
  CATEGORY_ORDER,
  categorize,
  classifyExclusion,
  DEFAULT_EXCLUSIONS,
  type ExclusionOptions,
} from '../../src/evidence/exclusions.js';
import { attributesFor, type PathAttributes, parseGitAttributes } from '../../src/evidence/gitattributes.js';

/** Returns the reason a path is excluded, or null when it is kept. */
function reasonFor(path: string, options: ExclusionOptions = {}): string | null {
  const result = classifyExclusion(path, options);
  return result.excluded ? result.reason : null;
}

function attributes(path: string, text: string): PathAttributes {
  return attributesFor(path, [parseGitAttributes(text, '')]);
}

describe('classifyExclusion defaults', () => {
  it.each([
    'package-lock.json',
    'npm-shrinkwrap.json',
    'yarn.lock',
    'pnpm-lock.yaml',
    'bun.lockb',
    'bun.lock',
    'Cargo.lock',
    'Gemfile.lock',
    'poetry.lock',
    'Pipfile.lock',
    'uv.lock',
    'composer.lock',
    'go.sum',
    'Package.resolved',
    'pubspec.lock',
    'mix.lock',
    'flake.lock',
    'packages.lock.json',
    'gradle.lockfile',
    'gradle/dependency-locks/compileClasspath.lockfile',
    'packages/web/package-lock.json',
    'crates/core/Cargo.lock',
  ])('excludes lockfile %s', (path) => {
    expect(reasonFor(path)).toBe('lockfile');
  });

  it.each([
    '.env',
    '.env.local',
    '.env.production',
    'services/api/.env.development',
    'docker/app.env',
    'certs/server.pem',
    'config/master.key',
    'signing/release.p12',
    'win/cert.pfx',
    'AuthKey_ABC123.p8',
    'android/app/release.jks',
    'android/debug.keystore',
    'keys/id_rsa',
    'home/.ssh/id_ed25519',
    '.netrc',
    '.pypirc',
    '.git-credentials',
    'credentials.json',
    'client_secret_123.apps.googleusercontent.com.json',
    'deploy/.aws/credentials',
    'infra/terraform.tfstate',
    'infra/terraform.tfstate.backup',
  ])('excludes secret file %s', (path) => {
    expect(reasonFor(path)).toBe('secret file');
  });

  it.each(['.env.example', '.env.sample', '.env.template', '.env.dist', 'keys/id_rsa.pub', '.npmrc', 'src/env.ts', 'docs/keys.md'])(
    'keeps %s',
    (path) => {
      expect(reasonFor(path)).toBeNull();
    },
  );

  it.each([
    ['public/app.min.js', 'minified'],
    ['static/site.min.css', 'minified'],
    ['dist2/app.js.map', 'source map'],
    ['assets/site.css.map', 'source map'],
    ['api/v1/service.pb.go', 'generated'],
    ['gen/service_pb2.py', 'generated'],
    ['gen/service_pb2_grpc.py', 'generated'],
    ['src/schema.generated.ts', 'generated'],
    ['lib/model.g.dart', 'generated'],
    ['Forms/Main.Designer.cs', 'generated'],
    ['.pnp.cjs', 'generated'],
    ['src/__snapshots__/app.test.ts.snap', 'snapshot'],
    ['__snapshots__/root.snap', 'snapshot'],
    ['dist/index.js', 'build output'],
    ['packages/ui/dist/index.d.ts', 'build output'],
    ['vendor/github.com/pkg/errors/errors.go', 'vendored'],
    ['app/vendor/autoload.php', 'vendored'],
    ['third_party/zlib/inflate.c', 'vendored'],
    ['node_modules/left-pad/index.js', 'vendored'],
    ['ios/Pods/Alamofire/Source/AF.swift', 'vendored'],
    ['.yarn/releases/yarn-4.0.0.cjs', 'vendored'],
  ])('excludes %s as %s', (path, reason) => {
    expect(reasonFor(path)).toBe(reason);
  });

  it.each(['build/config.gradle', 'cmake/build/toolchain.cmake', 'src/main.ts', 'src/vendors.ts', 'distribution/a.go', 'map.js'])(
    'keeps source %s',
    (path) => {
      expect(reasonFor(path)).toBeNull();
    },
  );
});

describe('classifyExclusion order', () => {
  it('excludes binary files', () => {
    expect(reasonFor('assets/logo.png', { binary: true })).toBe('binary');
  });

  it('keeps text files', () => {
    expect(reasonFor('src/app.ts', { binary: false })).toBeNull();
  });

  it('names a secret file before binary', () => {
    expect(reasonFor('signing/release.p12', { binary: true })).toBe('secret file');
  });

  it('names binary before a lockfile', () => {
    expect(reasonFor('bun.lockb', { binary: true })).toBe('binary');
  });

  it('names gitattributes before path defaults', () => {
    const attrs = attributes('vendor/a.go', 'vendor/** linguist-generated\n');

    expect(reasonFor('vendor/a.go', { attributes: attrs })).toBe('gitattributes linguist-generated');
  });
});

describe('classifyExclusion gitattributes', () => {
  it.each([
    ['*.dat binary\n', 'gitattributes binary'],
    ['*.dat -diff\n', 'gitattributes -diff'],
    ['*.dat linguist-generated\n', 'gitattributes linguist-generated'],
    ['*.dat linguist-generated=true\n', 'gitattributes linguist-generated'],
    ['*.dat linguist-vendored\n', 'gitattributes linguist-vendored'],
  ])('reads %j', (text, reason) => {
    expect(reasonFor('data/a.dat', { attributes: attributes('data/a.dat', text) })).toBe(reason);
  });

  it.each(['*.dat diff\n', '*.dat binary\n*.dat diff\n', '*.dat diff=custom\n', '*.dat linguist-documentation\n', '*.dat linguist-generated=false\n'])(
    'keeps a file with %j',
    (text) => {
      expect(reasonFor('data/a.dat', { attributes: attributes('data/a.dat', text) })).toBeNull();
    },
  );

  it('lifts a generated default with linguist-generated=false', () => {
    const path = 'api/service.pb.go';

    expect(reasonFor(path, { attributes: attributes(path, '*.pb.go -linguist-generated\n') })).toBeNull();
  });

  it('lifts vendor with linguist-vendored=false', () => {
    const path = 'vendor/ours/a.go';

    expect(reasonFor(path, { attributes: attributes(path, 'vendor/** linguist-vendored=false\n') })).toBeNull();
  });

  it('lifts dist with linguist-vendored=false', () => {
    const path = 'src/cmd/dist/build.go';

    expect(reasonFor(path, { attributes: attributes(path, 'src/cmd/dist/** -linguist-vendored\n') })).toBeNull();
  });

  it('never lifts a lockfile', () => {
    const path = 'package-lock.json';

    expect(reasonFor(path, { attributes: attributes(path, '*.json -linguist-generated -linguist-vendored\n') })).toBe('lockfile');
  });

  it('never lifts a secret file', () => {
    const path = '.env';

    expect(reasonFor(path, { attributes: attributes(path, '.env -linguist-generated -linguist-vendored diff\n') })).toBe(
      'secret file',
    );
  });
});

describe('classifyExclusion user patterns', () => {
  it('excludes by basename at any depth', () => {
    expect(reasonFor('a/b/schema.sql', { userPatterns: ['*.sql'] })).toBe('user pattern *.sql');
  });

  it('anchors a pattern with a slash', () => {
    const options = { userPatterns: ['/fixtures/*.json'] };

    expect(reasonFor('fixtures/a.json', options)).toBe('user pattern /fixtures/*.json');
    expect(reasonFor('test/fixtures/a.json', options)).toBeNull();
  });

  it('excludes everything below a directory pattern', () => {
    expect(reasonFor('src/generated/deep/a.ts', { userPatterns: ['generated/'] })).toBe('user pattern generated/');
  });

  it('does not match a file with a directory pattern', () => {
    expect(reasonFor('src/generated', { userPatterns: ['generated/'] })).toBeNull();
  });

  it('matches ** patterns', () => {
    expect(reasonFor('docs/api/v1/index.html', { userPatterns: ['docs/**/*.html'] })).toBe('user pattern docs/**/*.html');
  });

  it('re-includes with a later negation', () => {
    const options = { userPatterns: ['data/**', '!data/keep.csv'] };

    expect(reasonFor('data/keep.csv', options)).toBeNull();
    expect(reasonFor('data/drop.csv', options)).toBe('user pattern data/**');
  });

  it('cannot re-include below an excluded directory', () => {
    expect(reasonFor('data/keep.csv', { userPatterns: ['data/', '!data/keep.csv'] })).toBe('user pattern data/');
  });

  it('cannot re-include a default exclusion', () => {
    expect(reasonFor('yarn.lock', { userPatterns: ['!yarn.lock'] })).toBe('lockfile');
  });

  it('skips blank lines and comments', () => {
    expect(reasonFor('#notes.txt', { userPatterns: ['', '#notes.txt'] })).toBeNull();
  });

  it('reads an escaped hash as literal', () => {
    expect(reasonFor('#notes.txt', { userPatterns: ['\\#notes.txt'] })).toBe('user pattern \\#notes.txt');
  });

  it('drops unescaped trailing spaces', () => {
    expect(reasonFor('a.tmp', { userPatterns: ['*.tmp   '] })).toBe('user pattern *.tmp   ');
  });

  it('keeps an escaped trailing space', () => {
    const options = { userPatterns: ['name\\ '] };

    expect(reasonFor('name ', options)).toBe('user pattern name\\ ');
    expect(reasonFor('name', options)).toBeNull();
  });

  it('adds to the defaults', () => {
    const options = { userPatterns: ['*.sql'] };

    expect(reasonFor('go.sum', options)).toBe('lockfile');
    expect(reasonFor('q.sql', options)).toBe('user pattern *.sql');
  });
});

describe('DEFAULT_EXCLUSIONS', () => {
  it('has unique patterns', () => {
    const patterns = DEFAULT_EXCLUSIONS.map((rule) => rule.pattern);

    expect(new Set(patterns).size).toBe(patterns.length);
  });

  it('gives every rule a reason', () => {
    const missing = DEFAULT_EXCLUSIONS.filter((rule) => rule.reason.length === 0);

    expect(missing).toEqual([]);
  });

  it('lets no attribute lift secrets, lockfiles or minified files', () => {
    const liftable = DEFAULT_EXCLUSIONS.filter(
      (rule) => ['secret file', 'lockfile', 'minified', 'source map'].includes(rule.reason) && rule.liftedBy !== undefined,
    );

    expect(liftable).toEqual([]);
  });
});

describe('categorize', () => {
  it.each([
    ['src/app.ts', 'source'],
    ['lib/parser.go', 'source'],
    ['main.py', 'source'],
    ['src/license.ts', 'source'],
    ['test/app.test.ts', 'test'],
    ['tests/test_parser.py', 'test'],
    ['src/__tests__/view.tsx', 'test'],
    ['spec/models/user_spec.rb', 'test'],
    ['pkg/parser_test.go', 'test'],
    ['src/button.spec.js', 'test'],
    ['app/src/test/java/AppTest.java', 'test'],
    ['testdata/input.txt', 'test'],
    ['tests/README.md', 'test'],
    ['README.md', 'docs'],
    ['readme', 'docs'],
    ['CHANGELOG.md', 'docs'],
    ['LICENSE', 'docs'],
    ['LICENSE-MIT', 'docs'],
    ['docs/conf.py', 'docs'],
    ['docs/notes.txt', 'docs'],
    ['guide/intro.rst', 'docs'],
    ['manual.adoc', 'docs'],
    ['package.json', 'config'],
    ['tsconfig.json', 'config'],
    ['pyproject.toml', 'config'],
    ['.eslintrc.js', 'config'],
    ['.github/workflows/ci.yml', 'config'],
    ['.gitlab-ci.yml', 'config'],
    ['ci/build.sh', 'config'],
    ['src/config.json', 'source'],
    ['requirements.txt', 'config'],
    ['requirements-dev.txt', 'config'],
    ['go.mod', 'config'],
    ['Dockerfile', 'config'],
    ['tools/notes.txt', 'source'],
  ] as const)('puts %s in %s', (path, category) => {
    expect(categorize(path)).toBe(category);
  });

  it('reads linguist-documentation', () => {
    const path = 'site/pages/intro.html';

    expect(categorize(path, attributes(path, 'site/** linguist-documentation\n'))).toBe('docs');
  });

  it('lists categories in evidence order', () => {
    expect(CATEGORY_ORDER).toEqual(['source', 'test', 'docs', 'config']);
  });
});
