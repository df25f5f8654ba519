/**
 * Decides which changed files stay out of a commit's evidence, and orders the rest.
 * Pure: the caller passes the path, git's binary flag, the path's .gitattributes
 * values and the `stepper.exclude` config values.
 */
import { attributeFlag, type PathAttributes } from './gitattributes.js';
import { type PathPattern, matchesPathPattern, matchGlob, parsePathPattern } from './wildmatch.js';

/** Reason a file is left out, shown to users after `excluded: ` in the coverage mark. */
export type ExclusionReason =
  | 'secret file'
  | 'binary'
  | 'gitattributes binary'
  | 'gitattributes -diff'
  | 'gitattributes linguist-generated'
  | 'gitattributes linguist-vendored'
  | 'lockfile'
  | 'minified'
  | 'source map'
  | 'generated'
  | 'snapshot'
  | 'build output'
  | 'vendored'
  | `user pattern ${string}`;

export type ExclusionResult = { excluded: true; reason: ExclusionReason } | { excluded: false };

/** One built-in exclusion. */
export interface DefaultExclusion {
  /** A gitignore-style pattern, matched against paths from the top of the tree. */
  pattern: string;
  reason: ExclusionReason;
  /** Paths this rule leaves in even though `pattern` matches them. */
  except?: readonly string[];
  /**
   * The gitattributes attribute that lifts this rule when the repository sets it to
   * false for the path, as GitHub Linguist honors `linguist-vendored=false`.
   */
  liftedBy?: 'linguist-generated' | 'linguist-vendored';
}

export interface ExclusionOptions {
  /** Whether git treats the change as binary (`-` counts in `--numstat`). */
  binary?: boolean;
  /** The path's attributes, from `attributesFor`. */
  attributes?: PathAttributes;
  /** `stepper.exclude` values: gitignore-style patterns that add to the defaults. */
  userPatterns?: readonly string[];
}

const LOCKFILES = [
  'package-lock.json',
  'npm-shrinkwrap.json',
  'yarn.lock',
  'pnpm-lock.yaml',
  'bun.lock',
  'bun.lockb',
  'deno.lock',
  'Cargo.lock',
  'Gemfile.lock',
  'gems.locked',
  'poetry.lock',
  'Pipfile.lock',
  'pdm.lock',
  'uv.lock',
  'pixi.lock',
  'composer.lock',
  'go.sum',
  'go.work.sum',
  'Package.resolved',
  'Podfile.lock',
  'Cartfile.resolved',
  'pubspec.lock',
  'mix.lock',
  'rebar.lock',
  'flake.lock',
  'packages.lock.json',
  'paket.lock',
  'gradle.lockfile',
  'buildscript-gradle.lockfile',
  '**/gradle/dependency-locks/*.lockfile',
  'conan.lock',
  'vcpkg-lock.json',
  'cabal.project.freeze',
  'stack.yaml.lock',
  'Manifest.toml',
  'renv.lock',
  'shard.lock',
  'Chart.lock',
  'MODULE.bazel.lock',
  '.terraform.lock.hcl',
];

/**
 * Files whose whole purpose is to hold credentials. Templates such as `.env.example`
 * stay in because projects commit them to document settings without real values, and
 * their text still goes through redaction. `.npmrc` also stays in, because projects
 * commit it for settings like `save-exact`, and redaction removes `_authToken` values.
 */
const SECRET_FILES = [
  '.env',
  '.env.*',
  '*.env',
  '*.pem',
  '*.key',
  '*.p12',
  '*.pfx',
  '*.p8',
  '*.jks',
  '*.keystore',
  '*.ppk',
  'id_rsa',
  'id_dsa',
  'id_ecdsa',
  'id_ecdsa_sk',
  'id_ed25519',
  'id_ed25519_sk',
  '.netrc',
  '_netrc',
  '.pgpass',
  '.pypirc',
  '.git-credentials',
  '.htpasswd',
  'credentials.json',
  'client_secret*.json',
  '**/.aws/credentials',
  '**/.docker/config.json',
  '*.tfstate',
  '*.tfstate.backup',
  'credentials.yml.enc',
];

const ENV_TEMPLATES = ['.env.example', '.env.sample', '.env.template', '.env.dist'];

const GENERATED = [
  '*.pb.go',
  '*.pb.cc',
  '*.pb.h',
  '*_pb2.py',
  '*_pb2.pyi',
  '*_pb2_grpc.py',
  '*_pb.js',
  '*_pb.d.ts',
  '*_grpc_pb.js',
  '*.generated.*',
  '*.g.dart',
  '*.freezed.dart',
  '*.g.cs',
  '*.designer.cs',
  '*.Designer.cs',
  '.pnp.cjs',
  '.pnp.loader.mjs',
];

/**
 * Folders of third-party code. `build/` is not here: CMake, Gradle plugin and many C
 * projects keep hand-written build scripts there, and committed build output is rare.
 * `dist/` is, as GitHub Linguist's vendor list has it, although a few source trees
 * (Go's `cmd/dist`) use the name: `linguist-vendored=false` lifts it.
 */
const VENDORED = ['vendor/', 'third_party/', 'third-party/', 'node_modules/', 'bower_components/', 'Pods/', '.yarn/'];

/** Built-in exclusions in the order they are checked. The first match gives the reason. */
export const DEFAULT_EXCLUSIONS: readonly DefaultExclusion[] = [
  ...SECRET_FILES.map((pattern): DefaultExclusion => {
    const rule: DefaultExclusion = { pattern, reason: 'secret file' };
    return pattern === '.env.*' ? { ...rule, except: ENV_TEMPLATES } : rule;
  }),
  ...LOCKFILES.map((pattern): DefaultExclusion => ({ pattern, reason: 'lockfile' })),
  ...['*.min.js', '*.min.mjs', '*.min.cjs', '*.min.css'].map((pattern): DefaultExclusion => ({ pattern, reason: 'minified' })),
  ...['*.js.map', '*.mjs.map', '*.cjs.map', '*.css.map', '*.ts.map'].map(
    (pattern): DefaultExclusion => ({ pattern, reason: 'source map' }),
  ),
  ...GENERATED.map((pattern): DefaultExclusion => ({ pattern, reason: 'generated', liftedBy: 'linguist-generated' })),
  { pattern: '**/__snapshots__/*.snap', reason: 'snapshot', liftedBy: 'linguist-generated' },
  { pattern: 'dist/', reason: 'build output', liftedBy: 'linguist-vendored' },
  ...VENDORED.map((pattern): DefaultExclusion => ({ pattern, reason: 'vendored', liftedBy: 'linguist-vendored' })),
];

interface CompiledDefault {
  rule: DefaultExclusion;
  pattern: PathPattern;
  except: PathPattern[];
}

const COMPILED_DEFAULTS: readonly CompiledDefault[] = DEFAULT_EXCLUSIONS.map((rule) => ({
  rule,
  pattern: compileListPattern(rule.pattern) as PathPattern,
  except: (rule.except ?? []).map((pattern) => compileListPattern(pattern) as PathPattern),
}));

/**
 * Decides whether `path` (relative to the top of the tree, `/` separators) stays out
 * of the evidence, and why. Checks run in this order, and the first that applies gives
 * the reason: secret files, git's binary flag (named after the `binary` or `-diff`
 * attribute when one applies), .gitattributes (`binary`, `-diff`, `linguist-generated`,
 * `linguist-vendored`), the other defaults, then user patterns.
 * User patterns only add exclusions: a `!pattern` re-includes a path that an earlier
 * user pattern excluded, never one that a default excluded.
 */
export function classifyExclusion(path: string, options: ExclusionOptions = {}): ExclusionResult {
  const attributes = options.attributes;
  const split = splitPath(path);

  for (const compiled of COMPILED_DEFAULTS) {
    if (compiled.rule.reason === 'secret file' && matchesDefault(compiled, split)) {
      return { excluded: true, reason: 'secret file' };
    }
  }

  const fromAttributes = attributeExclusion(attributes);
  if (options.binary === true) {
    // git also reports a file as binary because of its `-diff` or `binary` attribute, which is then the precise reason.
    const fromDiffAttribute = attributes?.diff === false ? fromAttributes : null;
    return { excluded: true, reason: fromDiffAttribute ?? 'binary' };
  }

  if (fromAttributes !== null) {
    return { excluded: true, reason: fromAttributes };
  }

  for (const compiled of COMPILED_DEFAULTS) {
    if (compiled.rule.reason === 'secret file' || !matchesDefault(compiled, split)) {
      continue;
    }
    const liftedBy = compiled.rule.liftedBy;
    if (liftedBy !== undefined && attributes !== undefined && isLifted(liftedBy, attributes)) {
      continue;
    }
    return { excluded: true, reason: compiled.rule.reason };
  }

  const userPattern = matchUserPatterns(path, options.userPatterns ?? []);
  if (userPattern !== null) {
    return { excluded: true, reason: `user pattern ${userPattern}` };
  }

  return { excluded: false };
}

function attributeExclusion(attributes: PathAttributes | undefined): ExclusionReason | null {
  if (attributes === undefined) {
    return null;
  }
  // A later `diff` after `binary` makes git show a text diff again, so only diff decides.
  if (attributes.diff === false) {
    return attributes.binary === true ? 'gitattributes binary' : 'gitattributes -diff';
  }
  if (attributeFlag(attributes.linguistGenerated) === true) {
    return 'gitattributes linguist-generated';
  }
  if (attributeFlag(attributes.linguistVendored) === true) {
    return 'gitattributes linguist-vendored';
  }
  return null;
}

function isLifted(liftedBy: 'linguist-generated' | 'linguist-vendored', attributes: PathAttributes): boolean {
  const value = liftedBy === 'linguist-generated' ? attributes.linguistGenerated : attributes.linguistVendored;
  return attributeFlag(value) === false;
}

function matchesDefault(compiled: CompiledDefault, split: SplitPath): boolean {
  if (!matchesAlone(compiled.pattern, split)) {
    return false;
  }
  return !compiled.except.some((exception) => matchesAlone(exception, split));
}

/** A path with its directory prefixes and its components, each computed once for every pattern. */
interface SplitPath {
  path: string;
  /** `a`, `a/b` for `a/b/c`. */
  directories: string[];
  /** `a`, `b`, `c` for `a/b/c`. */
  names: string[];
}

function splitPath(path: string): SplitPath {
  const names = path.split('/');
  const directories: string[] = [];
  let slash = path.indexOf('/');
  while (slash !== -1) {
    directories.push(path.slice(0, slash));
    slash = path.indexOf('/', slash + 1);
  }

  return { path, directories, names };
}

/**
 * Applies a list of the one `pattern` to a path, as decisivePattern does: a match on a
 * directory above the path or on the path itself excludes it, and a negated pattern
 * alone excludes nothing. A basename-only pattern is matched against each component,
 * because matchesPathPattern matches it against the last component of each prefix.
 */
function matchesAlone(pattern: PathPattern, split: SplitPath): boolean {
  if (pattern.negated) {
    return false;
  }

  if (pattern.basenameOnly) {
    const last = split.names.length - 1;
    for (let index = 0; index <= last; index++) {
      if ((index < last || !pattern.directoryOnly) && matchGlob(pattern.glob, split.names[index] as string)) {
        return true;
      }
    }
    return false;
  }

  return split.directories.some((directory) => matchesPathPattern(pattern, directory, true)) || matchesPathPattern(pattern, split.path, false);
}

/**
 * Parses one gitignore-list line: returns null for blank lines and `#` comments, and
 * strips trailing spaces unless a backslash quotes them. A leading `\#` or `\!` needs
 * no handling here because the glob reads the backslash as quoting the next character.
 */
function compileListPattern(line: string): PathPattern | null {
  if (line === '' || line.startsWith('#')) {
    return null;
  }
  const pattern = parsePathPattern(line.replace(/(?<!\\) +$/, ''));
  return pattern === null ? null : { ...pattern, source: line };
}

const USER_PATTERN_CACHE = new Map<string, PathPattern | null>();
const USER_PATTERN_CACHE_LIMIT = 1000;

function compileUserPattern(line: string): PathPattern | null {
  const cached = USER_PATTERN_CACHE.get(line);
  if (cached !== undefined || USER_PATTERN_CACHE.has(line)) {
    return cached ?? null;
  }
  if (USER_PATTERN_CACHE.size >= USER_PATTERN_CACHE_LIMIT) {
    USER_PATTERN_CACHE.clear();
  }
  const compiled = compileListPattern(line);
  USER_PATTERN_CACHE.set(line, compiled);
  return compiled;
}

/** Returns the user pattern that excludes `path`, or null. */
function matchUserPatterns(path: string, lines: readonly string[]): string | null {
  const patterns: PathPattern[] = [];
  for (const line of lines) {
    const compiled = compileUserPattern(line);
    if (compiled !== null) {
      patterns.push(compiled);
    }
  }
  const decisive = decisivePattern(patterns, path);
  return decisive === null ? null : decisive.source;
}

/**
 * Applies a gitignore list to `path` and returns the pattern that excludes it, or null.
 * As in git, an excluded directory excludes everything below it for good, and
 * otherwise the last pattern that matches the file decides.
 */
function decisivePattern(patterns: readonly PathPattern[], path: string): PathPattern | null {
  if (patterns.length === 0) {
    return null;
  }

  let slash = path.indexOf('/');
  while (slash !== -1) {
    const hit = lastMatch(patterns, path.slice(0, slash), true);
    if (hit !== null && !hit.negated) {
      return hit;
    }
    slash = path.indexOf('/', slash + 1);
  }

  const hit = lastMatch(patterns, path, false);
  return hit !== null && !hit.negated ? hit : null;
}

function lastMatch(patterns: readonly PathPattern[], path: string, isDirectory: boolean): PathPattern | null {
  for (let index = patterns.length - 1; index >= 0; index--) {
    const pattern = patterns[index] as PathPattern;
    if (matchesPathPattern(pattern, path, isDirectory)) {
      return pattern;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------
// Ordering of included files.

/** Purpose of a file, used to order evidence: source first, then tests, docs and config. */
export type FileCategory = 'source' | 'test' | 'docs' | 'config';

/** Categories in evidence order. */
export const CATEGORY_ORDER: readonly FileCategory[] = ['source', 'test', 'docs', 'config'];

const TEST_DIRECTORIES = new Set(['test', 'tests', '__tests__', 'spec', 'specs', 'testdata', 'e2e', '__mocks__']);
const DOCS_DIRECTORIES = new Set(['docs', 'doc', 'documentation']);
const CI_DIRECTORIES = new Set(['.github', '.gitlab', '.circleci', '.buildkite', 'ci', '.ci']);
const DOCS_EXTENSIONS = /\.(?:md|markdown|mdx|rst|adoc|asciidoc)$/i;
const DOCS_STEMS = 'README|CHANGELOG|CHANGES|HISTORY|LICEN[CS]E|COPYING|NOTICE|CONTRIBUTING|AUTHORS|CODE_OF_CONDUCT|SECURITY';
/** `README`, `LICENSE-MIT`, `changelog.md`, but not `license.ts`. */
const DOCS_NAMES = new RegExp(`^(?:${DOCS_STEMS})(?:[-_][A-Za-z0-9]+)*(?:\\.(?:md|markdown|mdx|rst|txt|adoc|asciidoc|org|html))?$`, 'i');
const TEST_NAMES = [
  /\.(?:test|spec)\.[^/]+$/,
  /_test\.go$/,
  /^test_.*\.py$/,
  /_test\.py$/,
  /_spec\.rb$/,
  /_test\.rb$/,
  /Tests?\.(?:java|kt|cs|swift|scala)$/,
];
const TOP_LEVEL_CONFIG = /\.(?:json|jsonc|json5|ya?ml|toml|ini|cfg|conf|properties)$/i;
/** Dependency and container manifests without one of the extensions above. */
const TOP_LEVEL_MANIFESTS = /^(?:requirements[\w.-]*\.txt|go\.mod|go\.work|Gemfile|Pipfile|Dockerfile|Containerfile)$/;

/**
 * Sorts a path into source, test, docs or config by its name alone, checking tests
 * first, so `tests/README.md` is a test file and `docs/conf.py` a docs file. A
 * `linguist-documentation` attribute that is set (or `=true`) makes a path docs.
 */
export function categorize(path: string, attributes?: PathAttributes): FileCategory {
  const segments = path.split('/');
  const name = segments[segments.length - 1] ?? '';
  const directories = segments.slice(0, -1);

  if (directories.some((directory) => TEST_DIRECTORIES.has(directory)) || TEST_NAMES.some((test) => test.test(name))) {
    return 'test';
  }

  if (attributes !== undefined && attributeFlag(attributes.linguistDocumentation) === true) {
    return 'docs';
  }
  const inDocsDirectory = directories.some((directory) => DOCS_DIRECTORIES.has(directory));
  if (inDocsDirectory || DOCS_EXTENSIONS.test(name) || DOCS_NAMES.test(name)) {
    return 'docs';
  }

  const topLevel = directories.length === 0;
  if (
    segments.some((segment) => segment.startsWith('.')) ||
    (directories.length > 0 && CI_DIRECTORIES.has(directories[0] as string)) ||
    (topLevel && (TOP_LEVEL_CONFIG.test(name) || TOP_LEVEL_MANIFESTS.test(name)))
  ) {
    return 'config';
  }

  return 'source';
}
