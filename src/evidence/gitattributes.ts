/**
 * A pure reader of `.gitattributes` text, following gitattributes(5) and git's attr.c.
 * The caller reads the blobs from the commit's tree and passes their text in.
 *
 * Known differences from git 2.39: `?` and bracket expressions match one character
 * rather than one byte, matching is always case-sensitive (core.ignoreCase is not
 * read), and $GIT_DIR/info/attributes, core.attributesFile and the system file are
 * not modeled. A caller that passes them should know they rank as files of their
 * `directory`, not above every .gitattributes as git ranks them.
 */
import { type PathPattern, matchesPathPattern, parsePathPattern } from './wildmatch.js';

/**
 * An attribute's state as gitattributes(5) names them: set (`true`), unset (`false`),
 * set to a value (the string) or unspecified (`undefined`).
 */
export type AttributeValue = true | false | string | undefined;

/** One `attr`, `-attr`, `!attr` or `attr=value` entry of a line. */
export interface AttributeAssignment {
  name: string;
  /** `undefined` for `!attr`, which makes the attribute unspecified again. */
  value: AttributeValue;
}

/** A line of a .gitattributes file that assigns attributes to a pattern. */
export interface AttributeRule {
  /** The pattern as written, after unquoting. */
  pattern: string;
  /** 1-based line number in the file. */
  line: number;
  assignments: AttributeAssignment[];
  /** Compiled form of `pattern`. */
  matcher: PathPattern;
}

/** A line that git would skip, with the reason git gives. */
export interface IgnoredAttributeLine {
  line: number;
  reason: string;
}

/** One parsed .gitattributes file. */
export interface ParsedAttributes {
  /** Directory of the file relative to the top of the tree, without slashes at the ends, or '' for the top. */
  directory: string;
  rules: AttributeRule[];
  /** `[attr]name` macro definitions, which git accepts only in the top-level file. */
  macros: Map<string, AttributeAssignment[]>;
  ignoredLines: IgnoredAttributeLine[];
}

/** The attributes that matter to evidence building, plus every attribute with a state. */
export interface PathAttributes {
  linguistGenerated: AttributeValue;
  linguistVendored: AttributeValue;
  linguistDocumentation: AttributeValue;
  diff: AttributeValue;
  binary: AttributeValue;
  /** Every attribute that is set, unset or has a value, by name. Unspecified ones are left out. */
  all: Map<string, true | false | string>;
}

/** git's `ATTR_MAX_LINE_LENGTH`: git skips a line of this many bytes or more. */
const MAX_LINE_BYTES = 2048;

const MACRO_PREFIX = '[attr]';

/** The macro git defines itself; a top-level `[attr]binary` line replaces it. */
const BUILTIN_MACROS: ReadonlyMap<string, AttributeAssignment[]> = new Map([
  [
    'binary',
    [
      { name: 'diff', value: false },
      { name: 'merge', value: false },
      { name: 'text', value: false },
    ],
  ],
]);

const BLANK = /[ \t\r\n]/;
const ATTRIBUTE_NAME = /^[A-Za-z0-9_.][A-Za-z0-9_.-]*$/;

/**
 * Parses the text of the .gitattributes file found in `directory` ('' for the top of
 * the tree, 'src/lib' for a nested one). Lines git would skip (negative patterns,
 * invalid attribute names, macros outside the top-level file, overlong lines) are
 * left out of `rules` and listed in `ignoredLines`.
 */
export function parseGitAttributes(text: string, directory: string): ParsedAttributes {
  const parsed: ParsedAttributes = {
    directory: normalizeDirectory(directory),
    rules: [],
    macros: new Map(),
    ignoredLines: [],
  };
  // git skips a UTF-8 byte order mark at the start of the file.
  const lines = text.replace(/^\uFEFF/, '').split('\n');

  for (let index = 0; index < lines.length; index++) {
    const rawLine = lines[index] ?? '';
    const lineNumber = index + 1;
    const trimmed = rawLine.replace(/^[ \t\r]+/, '');
    if (trimmed === '' || trimmed.startsWith('#')) {
      continue;
    }
    if (Buffer.byteLength(rawLine) >= MAX_LINE_BYTES) {
      parsed.ignoredLines.push({ line: lineNumber, reason: `line is ${MAX_LINE_BYTES} bytes or longer` });
      continue;
    }
    parseLine(trimmed, lineNumber, parsed);
  }

  return parsed;
}

function parseLine(line: string, lineNumber: number, parsed: ParsedAttributes): void {
  const { pattern, rest } = splitPattern(line);

  const states = rest.split(/[ \t\r\n]+/).filter((state) => state !== '');
  const assignments: AttributeAssignment[] = [];
  for (const state of states) {
    const assignment = parseState(state);
    if (assignment === null) {
      // git drops the whole line when one state is invalid.
      parsed.ignoredLines.push({ line: lineNumber, reason: `invalid attribute name in '${state}'` });
      return;
    }
    assignments.push(assignment);
  }

  if (pattern.length > MACRO_PREFIX.length && pattern.startsWith(MACRO_PREFIX)) {
    const macroName = pattern.slice(MACRO_PREFIX.length);
    if (parsed.directory !== '') {
      parsed.ignoredLines.push({ line: lineNumber, reason: `${pattern} not allowed outside the top-level .gitattributes` });
      return;
    }
    if (!isValidAttributeName(macroName)) {
      parsed.ignoredLines.push({ line: lineNumber, reason: `${macroName} is not a valid attribute name` });
      return;
    }
    parsed.macros.set(macroName, assignments);
    return;
  }

  const matcher = parsePathPattern(pattern);
  if (matcher === null) {
    return;
  }
  if (matcher.negated) {
    parsed.ignoredLines.push({ line: lineNumber, reason: 'negative patterns are ignored in git attributes' });
    return;
  }
  parsed.rules.push({ pattern, line: lineNumber, assignments, matcher });
}

/** Splits a line into its pattern (unquoted when written as a C-style quoted string) and the rest. */
function splitPattern(line: string): { pattern: string; rest: string } {
  if (line.startsWith('"')) {
    const unquoted = unquoteCStyle(line);
    if (unquoted !== null) {
      return { pattern: unquoted.value, rest: line.slice(unquoted.end) };
    }
    // git falls back to reading an invalid quoted pattern as plain text.
  }
  const match = BLANK.exec(line);
  const end = match === null ? line.length : match.index;
  return { pattern: line.slice(0, end), rest: line.slice(end) };
}

const SIMPLE_ESCAPES: Readonly<Record<string, number>> = {
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
  '\\': 0x5c,
  '"': 0x22,
};

/**
 * Decodes a C-style quoted string at the start of `text` as git's unquote_c_style does:
 * the escapes above plus three-digit octal bytes, decoded as UTF-8 at the end.
 * Returns null for a string git would reject, such as an unknown escape or no closing quote.
 */
export function unquoteCStyle(text: string): { value: string; end: number } | null {
  const bytes: number[] = [];
  let index = 1;

  while (index < text.length) {
    const char = text[index] as string;
    if (char === '"') {
      return { value: Buffer.from(bytes).toString('utf8'), end: index + 1 };
    }
    if (char !== '\\') {
      bytes.push(...Buffer.from(char, 'utf8'));
      index++;
      continue;
    }

    const escape = text[index + 1];
    if (escape === undefined) {
      return null;
    }
    const simple = SIMPLE_ESCAPES[escape];
    if (simple !== undefined) {
      bytes.push(simple);
      index += 2;
      continue;
    }
    const octal = /^[0-3][0-7]{2}/.exec(text.slice(index + 1, index + 4));
    if (octal === null) {
      return null;
    }
    bytes.push(Number.parseInt(octal[0], 8));
    index += 4;
  }

  return null;
}

/** Parses one state; returns null when the name is invalid, as git then drops the line. */
function parseState(state: string): AttributeAssignment | null {
  const equals = state.indexOf('=');
  let name = equals === -1 ? state : state.slice(0, equals);
  let value: AttributeValue;

  if (name.startsWith('-') || name.startsWith('!')) {
    // git ignores a value written after `-attr=` or `!attr=`.
    value = name.startsWith('-') ? false : undefined;
    name = name.slice(1);
  } else {
    value = equals === -1 ? true : state.slice(equals + 1);
  }

  return isValidAttributeName(name) ? { name, value } : null;
}

function isValidAttributeName(name: string): boolean {
  // Names starting with `builtin_` are reserved in git 2.40 and later.
  return ATTRIBUTE_NAME.test(name) && !name.startsWith('builtin_');
}

/**
 * Returns the attributes that `files` give `path` (relative to the top of the tree,
 * with `/` separators). Files outside the path's ancestor directories are skipped.
 * Deeper files override shallower ones and later lines override earlier ones, macros
 * expand where they are set, and macros come only from top-level files.
 */
export function attributesFor(path: string, files: readonly ParsedAttributes[]): PathAttributes {
  const applicable = files
    .map((file, order) => ({ file, order, depth: directoryDepth(file.directory) }))
    .filter(({ file }) => file.directory === '' || path.startsWith(`${file.directory}/`))
    .sort((left, right) => left.depth - right.depth || left.order - right.order)
    .map(({ file }) => file);

  const macros = new Map(BUILTIN_MACROS);
  for (const file of applicable) {
    if (file.directory === '') {
      for (const [name, assignments] of file.macros) {
        macros.set(name, assignments);
      }
    }
  }

  // Like git's fill(): walk from the highest-priority line down, and let the first
  // line that mentions an attribute decide it. Macros expand only where they are set.
  const decided = new Map<string, AttributeValue>();
  for (let fileIndex = applicable.length - 1; fileIndex >= 0; fileIndex--) {
    const file = applicable[fileIndex] as ParsedAttributes;
    const relative = file.directory === '' ? path : path.slice(file.directory.length + 1);
    for (let ruleIndex = file.rules.length - 1; ruleIndex >= 0; ruleIndex--) {
      const rule = file.rules[ruleIndex] as AttributeRule;
      if (matchesPathPattern(rule.matcher, relative, false)) {
        fillAssignments(rule.assignments, decided, macros);
      }
    }
  }

  const all = new Map<string, true | false | string>();
  for (const [name, value] of decided) {
    if (value !== undefined) {
      all.set(name, value);
    }
  }
  return {
    linguistGenerated: decided.get('linguist-generated'),
    linguistVendored: decided.get('linguist-vendored'),
    linguistDocumentation: decided.get('linguist-documentation'),
    diff: decided.get('diff'),
    binary: decided.get('binary'),
    all,
  };
}

/** Applies one line's assignments, last first, as git's fill_one() does. */
function fillAssignments(
  assignments: readonly AttributeAssignment[],
  decided: Map<string, AttributeValue>,
  macros: ReadonlyMap<string, AttributeAssignment[]>,
): void {
  for (let index = assignments.length - 1; index >= 0; index--) {
    const { name, value } = assignments[index] as AttributeAssignment;
    if (decided.has(name)) {
      continue;
    }
    decided.set(name, value);
    const expansion = macros.get(name);
    if (expansion !== undefined && value === true) {
      // Recursion ends because every attribute is decided at most once.
      fillAssignments(expansion, decided, macros);
    }
  }
}

/**
 * Reads a linguist-style boolean attribute: set or `=true` is true, unset or `=false`
 * is false, anything else is undefined.
 */
export function attributeFlag(value: AttributeValue): boolean | undefined {
  if (value === true || value === 'true') {
    return true;
  }
  if (value === false || value === 'false') {
    return false;
  }
  return undefined;
}

function normalizeDirectory(directory: string): string {
  return directory.replace(/^\/+|\/+$/g, '');
}

function directoryDepth(directory: string): number {
  return directory === '' ? 0 : directory.split('/').length;
}
