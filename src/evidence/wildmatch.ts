/** Path patterns shared by .gitattributes and gitignore-style exclusion lists, matched as git's wildmatch does. */
/** A compiled gitignore-style pattern. */
export interface PathPattern {
  /** The pattern as given. */
  source: string;
  /** Written with a leading `!`. gitattributes rejects these, gitignore lists use them to re-include. */
  negated: boolean;
  /** Written with a trailing `/`: it matches directories only. */
  directoryOnly: boolean;
  /** Written without any other `/`: it matches the last path component at any depth. */
  basenameOnly: boolean;
  glob: Glob;
}

/**
 * Compiles a gitignore-style pattern as git's parse_path_pattern() reads it. Returns
 * null for a pattern that can match nothing (empty, or only slashes). Callers handle
 * comments and trailing spaces, because .gitattributes and gitignore lists differ there.
 */
export function parsePathPattern(source: string): PathPattern | null {
  let body = source;
  let negated = false;
  if (body.startsWith('!')) {
    negated = true;
    body = body.slice(1);
  }

  let directoryOnly = false;
  if (body.endsWith('/')) {
    directoryOnly = true;
    body = body.replace(/\/+$/, '');
  }

  const basenameOnly = !body.includes('/');
  if (!basenameOnly && body.startsWith('/')) {
    body = body.slice(1);
  }
  if (body === '') {
    return null;
  }

  return { source, negated, directoryOnly, basenameOnly, glob: compileGlob(body) };
}

/**
 * Tests `pattern` against `path`, which is relative to the directory the pattern
 * belongs to. Pass `isDirectory` true when `path` names a directory.
 */
export function matchesPathPattern(pattern: PathPattern, path: string, isDirectory: boolean): boolean {
  if (pattern.directoryOnly && !isDirectory) {
    return false;
  }
  const subject = pattern.basenameOnly ? path.slice(path.lastIndexOf('/') + 1) : path;
  return matchGlob(pattern.glob, subject);
}

// Glob matching with git's wildmatch rules under WM_PATHNAME.

type GlobToken =
  | { kind: 'literal'; char: string }
  | { kind: 'any' }
  | { kind: 'star' }
  | { kind: 'globstar' }
  | { kind: 'globstar-dirs' }
  | { kind: 'class'; negated: boolean; test: (char: string) => boolean };

/** A compiled wildmatch pattern. */
export type Glob =
  | { kind: 'literal'; text: string }
  | { kind: 'suffix'; suffix: string }
  | {
      kind: 'tokens';
      tokens: GlobToken[];
      /** The runs of literal tokens, which every match contains in this order, so a text without one is rejected at once. */
      literalRuns: string[];
      /** The literal run the pattern starts with, or ''. */
      prefix: string;
      /** The literal run the pattern ends with, or ''. */
      suffix: string;
    }
  | { kind: 'never' };

const GLOB_SPECIAL = /[*?[\\]/;

const POSIX_CLASSES: Readonly<Record<string, (char: string) => boolean>> = {
  alnum: (char) => /^[A-Za-z0-9]$/.test(char),
  alpha: (char) => /^[A-Za-z]$/.test(char),
  blank: (char) => char === ' ' || char === '\t',
  cntrl: (char) => /^[\x00-\x1f\x7f]$/.test(char),
  digit: (char) => /^[0-9]$/.test(char),
  graph: (char) => /^[\x21-\x7e]$/.test(char),
  lower: (char) => /^[a-z]$/.test(char),
  print: (char) => /^[\x20-\x7e]$/.test(char),
  punct: (char) => /^[!-/:-@[-`{-~]$/.test(char),
  space: (char) => /^[ \t\n\v\f\r]$/.test(char),
  upper: (char) => /^[A-Z]$/.test(char),
  xdigit: (char) => /^[0-9A-Fa-f]$/.test(char),
};

/**
 * Compiles a wildmatch pattern. `*` and `?` never match `/`, and `\` quotes the next
 * character. `[...]` is a bracket expression in which `!` or `^` negates and POSIX
 * classes such as `[:digit:]` work. `**` matches across directories only as a whole
 * component (`**\/x`, `a/**\/b`, `a/**`), and any other `**` acts as `*`. Braces are
 * literal, as in git.
 */
export function compileGlob(pattern: string): Glob {
  if (!GLOB_SPECIAL.test(pattern)) {
    return { kind: 'literal', text: pattern };
  }
  if (pattern.startsWith('*') && !GLOB_SPECIAL.test(pattern.slice(1))) {
    return { kind: 'suffix', suffix: pattern.slice(1) };
  }

  const chars = Array.from(pattern);
  const tokens: GlobToken[] = [];
  let index = 0;

  while (index < chars.length) {
    const char = chars[index] as string;

    if (char === '\\') {
      const next = chars[index + 1];
      if (next === undefined) {
        // git's wildmatch cannot match a pattern that ends in a lone backslash.
        return { kind: 'never' };
      }
      tokens.push({ kind: 'literal', char: next });
      index += 2;
      continue;
    }

    if (char === '?') {
      tokens.push({ kind: 'any' });
      index++;
      continue;
    }

    if (char === '*') {
      index = compileStars(chars, index, tokens);
      continue;
    }

    if (char === '[') {
      const bracket = compileBracket(chars, index);
      if (bracket === null) {
        // An unterminated bracket makes git's wildmatch abort, so nothing matches.
        return { kind: 'never' };
      }
      tokens.push(bracket.token);
      index = bracket.end;
      continue;
    }

    tokens.push({ kind: 'literal', char });
    index++;
  }

  return { kind: 'tokens', tokens, ...literalParts(tokens) };
}

function literalParts(tokens: readonly GlobToken[]): { literalRuns: string[]; prefix: string; suffix: string } {
  const literalRuns: string[] = [];
  let run = '';
  for (const token of tokens) {
    if (token.kind === 'literal') {
      run += token.char;
      continue;
    }
    if (run !== '') {
      literalRuns.push(run);
    }
    run = '';
  }
  if (run !== '') {
    literalRuns.push(run);
  }

  const first = tokens[0];
  const last = tokens[tokens.length - 1];
  const prefix = first?.kind === 'literal' ? (literalRuns[0] ?? '') : '';
  const suffix = last?.kind === 'literal' ? (literalRuns[literalRuns.length - 1] ?? '') : '';
  return { literalRuns, prefix, suffix };
}

/** Compiles a run of stars starting at `start`; returns the index after what it consumed. */
function compileStars(chars: readonly string[], start: number, tokens: GlobToken[]): number {
  let end = start;
  while (chars[end] === '*') {
    end++;
  }
  if (end - start === 1) {
    tokens.push({ kind: 'star' });
    return end;
  }

  const atComponentStart = start === 0 || chars[start - 1] === '/';
  const next = chars[end];
  if (atComponentStart && next === '/') {
    // `**/` matches nothing or any run of whole directories, and takes the slash with it.
    tokens.push({ kind: 'globstar-dirs' });
    return end + 1;
  }
  if (atComponentStart && next === undefined) {
    tokens.push({ kind: 'globstar' });
    return end;
  }
  tokens.push({ kind: 'star' });
  return end;
}

/** Compiles the bracket expression at `start`; returns null when it has no closing `]`. */
function compileBracket(chars: readonly string[], start: number): { token: GlobToken; end: number } | null {
  let index = start + 1;
  let negated = false;
  if (chars[index] === '!' || chars[index] === '^') {
    negated = true;
    index++;
  }

  const tests: Array<(char: string) => boolean> = [];
  let first = true;
  while (index < chars.length) {
    let char = chars[index] as string;
    if (char === ']' && !first) {
      const token: GlobToken = { kind: 'class', negated, test: (subject) => tests.some((test) => test(subject)) };
      return { token, end: index + 1 };
    }
    first = false;

    if (char === '[' && chars[index + 1] === ':') {
      const close = findPosixClassEnd(chars, index + 2);
      if (close !== -1) {
        const name = chars.slice(index + 2, close).join('');
        const posix = POSIX_CLASSES[name];
        if (posix === undefined) {
          // git's wildmatch aborts on an unknown class name.
          return null;
        }
        tests.push(posix);
        index = close + 2;
        continue;
      }
    }

    if (char === '\\') {
      index++;
      if (index >= chars.length) {
        return null;
      }
      char = chars[index] as string;
    }

    if (chars[index + 1] === '-' && chars[index + 2] !== undefined && chars[index + 2] !== ']') {
      let high = chars[index + 2] as string;
      let consumed = 3;
      if (high === '\\') {
        const escaped = chars[index + 3];
        if (escaped === undefined) {
          return null;
        }
        high = escaped;
        consumed = 4;
      }
      const low = char;
      tests.push((subject) => subject >= low && subject <= high);
      index += consumed;
      continue;
    }

    const literal = char;
    tests.push((subject) => subject === literal);
    index++;
  }

  return null;
}

function findPosixClassEnd(chars: readonly string[], from: number): number {
  for (let index = from; index + 1 < chars.length; index++) {
    if (chars[index] === ':' && chars[index + 1] === ']') {
      return index;
    }
    if (!/^[a-z]$/.test(chars[index] as string)) {
      return -1;
    }
  }
  return -1;
}

/** Tests a compiled glob against the whole of `text`. */
export function matchGlob(glob: Glob, text: string): boolean {
  switch (glob.kind) {
    case 'literal':
      return text === glob.text;
    case 'suffix': {
      if (!text.endsWith(glob.suffix)) {
        return false;
      }
      // The star part must stay within one path component.
      return !text.slice(0, text.length - glob.suffix.length).includes('/');
    }
    case 'never':
      return false;
    case 'tokens':
      if (!text.startsWith(glob.prefix) || !text.endsWith(glob.suffix) || !glob.literalRuns.every((run) => text.includes(run))) {
        return false;
      }
      return matchTokens(glob.tokens, Array.from(text));
  }
}

/**
 * Matches by dynamic programming over (token, position) so that time stays at
 * O(tokens × length) for any pattern, where backtracking could take exponential time.
 * `next[j]` is 1 when the tokens after the current one match `text` from `j` on.
 */
function matchTokens(tokens: readonly GlobToken[], text: readonly string[]): boolean {
  const length = text.length;
  let next = new Uint8Array(length + 1);
  next[length] = 1;
  let current = new Uint8Array(length + 1);

  for (let tokenIndex = tokens.length - 1; tokenIndex >= 0; tokenIndex--) {
    const token = tokens[tokenIndex] as GlobToken;
    current.fill(0);

    switch (token.kind) {
      case 'literal':
      case 'any':
      case 'class':
        for (let position = 0; position < length; position++) {
          if (next[position + 1] === 1 && matchesOne(token, text[position] as string)) {
            current[position] = 1;
          }
        }
        break;
      case 'star':
        current[length] = next[length] as number;
        for (let position = length - 1; position >= 0; position--) {
          const extend = text[position] !== '/' && current[position + 1] === 1;
          current[position] = next[position] === 1 || extend ? 1 : 0;
        }
        break;
      case 'globstar':
        current[length] = next[length] as number;
        for (let position = length - 1; position >= 0; position--) {
          current[position] = next[position] === 1 || current[position + 1] === 1 ? 1 : 0;
        }
        break;
      case 'globstar-dirs': {
        // Either no directories, or any text that ends with a slash before the rest.
        current[length] = next[length] as number;
        let slashFollowedByMatch = false;
        for (let position = length - 1; position >= 0; position--) {
          if (text[position] === '/' && next[position + 1] === 1) {
            slashFollowedByMatch = true;
          }
          current[position] = next[position] === 1 || slashFollowedByMatch ? 1 : 0;
        }
        break;
      }
    }

    [current, next] = [next, current];
  }

  return next[0] === 1;
}

function matchesOne(token: GlobToken, char: string): boolean {
  switch (token.kind) {
    case 'literal':
      return token.char === char;
    case 'any':
      return char !== '/';
    case 'class':
      return char !== '/' && token.test(char) !== token.negated;
    default:
      return false;
  }
}
