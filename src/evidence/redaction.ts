/**
 * Replaces credentials in evidence text with `[REDACTED:<kind>]` markers before the
 * text reaches a model or the diary. A marker names the kind of secret and never
 * keeps any character of it.
 *
 * Every pattern starts at a literal prefix, a keyword or a token boundary, and every
 * repetition stops at a character outside its class or at a fixed bound, so the work
 * grows linearly with the input. Rejected candidates are skipped whole instead of
 * being rescanned, which keeps near-miss inputs linear as well.
 */

export interface RedactionResult {
  text: string;
  /** Number of secrets replaced. */
  count: number;
  /** Number of secrets replaced, by kind. */
  kinds: Record<string, number>;
}

/** A kind label, as it appears in `[REDACTED:<kind>]`. */
export type SecretKind =
  | 'private-key'
  | 'aws-access-key'
  | 'aws-secret-key'
  | 'github-token'
  | 'gitlab-token'
  | 'bitbucket-app-password'
  | 'atlassian-api-token'
  | 'slack-token'
  | 'slack-webhook'
  | 'discord-token'
  | 'discord-webhook'
  | 'anthropic-key'
  | 'openai-key'
  | 'huggingface-token'
  | 'google-api-key'
  | 'google-oauth-secret'
  | 'stripe-key'
  | 'twilio-api-key'
  | 'sendgrid-key'
  | 'npm-token'
  | 'jwt'
  | 'url-password'
  | 'bearer-token'
  | 'basic-auth'
  | 'password'
  | 'secret'
  | 'token'
  | 'api-key'
  | 'access-key';

interface TokenRule {
  kind: SecretKind;
  pattern: RegExp;
}

/**
 * Credentials with a documented or widely recognized shape. Each is redacted whatever
 * surrounds it, placeholders included, because these prefixes rarely appear otherwise.
 * The lookbehind keeps a match from starting inside a longer word.
 */
const TOKEN_RULES: readonly TokenRule[] = [
  { kind: 'aws-access-key', pattern: /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])/g },
  { kind: 'github-token', pattern: /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})/g },
  { kind: 'gitlab-token', pattern: /(?<![A-Za-z0-9_-])gl(?:pat|dt|rt|ptt|soat|cbt|imt|oas|ffct)-[A-Za-z0-9_.-]{20,}/g },
  { kind: 'bitbucket-app-password', pattern: /(?<![A-Za-z0-9_-])ATBB[A-Za-z0-9_=.-]{28,}/g },
  { kind: 'atlassian-api-token', pattern: /(?<![A-Za-z0-9_-])ATATT[A-Za-z0-9_=.-]{50,}/g },
  { kind: 'slack-webhook', pattern: /https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_\/-]{10,}/g },
  { kind: 'slack-token', pattern: /(?<![A-Za-z0-9_-])(?:xox[abeoprs]-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,})/g },
  {
    kind: 'discord-webhook',
    pattern: /https:\/\/(?:canary\.|ptb\.)?discord(?:app)?\.com\/api\/webhooks\/[0-9]{5,30}\/[A-Za-z0-9_-]{20,}/g,
  },
  { kind: 'discord-token', pattern: /(?<![A-Za-z0-9_-])[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}/g },
  // Anthropic before OpenAI: both start with `sk-`.
  { kind: 'anthropic-key', pattern: /(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{20,}/g },
  { kind: 'openai-key', pattern: /(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{32,})/g },
  { kind: 'huggingface-token', pattern: /(?<![A-Za-z0-9_])hf_[A-Za-z0-9]{30,}/g },
  { kind: 'google-api-key', pattern: /(?<![A-Za-z0-9_-])AIza[A-Za-z0-9_-]{35,}/g },
  { kind: 'google-oauth-secret', pattern: /(?<![A-Za-z0-9_-])GOCSPX-[A-Za-z0-9_-]{24,}/g },
  { kind: 'stripe-key', pattern: /(?<![A-Za-z0-9_])(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}|whsec_[A-Za-z0-9]{24,})/g },
  { kind: 'twilio-api-key', pattern: /(?<![A-Za-z0-9_])SK[0-9a-fA-F]{32}(?![A-Za-z0-9_])/g },
  { kind: 'sendgrid-key', pattern: /(?<![A-Za-z0-9_-])SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43,}/g },
  { kind: 'npm-token', pattern: /(?<![A-Za-z0-9_])npm_[A-Za-z0-9]{36,}/g },
  // A JSON Web Token: base64url header and payload, both JSON objects, and a signature that `alg: none` leaves empty.
  { kind: 'jwt', pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g },
];

/** All kind labels, for docs. */
export const SECRET_KINDS: readonly SecretKind[] = [
  'private-key',
  ...TOKEN_RULES.map((rule) => rule.kind),
  'aws-secret-key',
  'url-password',
  'bearer-token',
  'basic-auth',
  'password',
  'secret',
  'token',
  'api-key',
  'access-key',
];

/** Counts replacements while the passes run. */
class Tally {
  count = 0;
  readonly kinds: Record<string, number> = {};

  marker(kind: SecretKind): string {
    this.count++;
    this.kinds[kind] = (this.kinds[kind] ?? 0) + 1;
    return `[REDACTED:${kind}]`;
  }
}

/**
 * Replaces each secret in `text` with `[REDACTED:<kind>]` and returns the new text and
 * the number of replacements. Works on plain file text and on unified diffs.
 * A private-key block becomes a single marker, so a redacted diff can have fewer
 * lines in a hunk than its `@@` header counts.
 */
export function redactSecrets(text: string): RedactionResult {
  const tally = new Tally();

  let result = redactPrivateKeys(text, tally);
  result = redactKeyBodies(result, tally);
  for (const rule of TOKEN_RULES) {
    result = replaceMatches(result, rule.pattern, () => tally.marker(rule.kind));
  }
  result = redactAwsSecretKeys(result, tally);
  result = redactUrlPasswords(result, tally);
  result = redactAuthorizationValues(result, tally);
  result = redactCommandLineFlags(result, tally);
  result = redactXmlElements(result, tally);
  result = redactAssignments(result, tally);

  return { text: result, count: tally.count, kinds: tally.kinds };
}

/**
 * Calls `replace` for each match of the global `pattern`, and keeps the match where it
 * returns null. Scanning goes on after the match either way, so no text is examined
 * twice by one pattern.
 */
function replaceMatches(text: string, pattern: RegExp, replace: (match: RegExpExecArray) => string | null): string {
  const parts: string[] = [];
  let copiedUpTo = 0;
  pattern.lastIndex = 0;

  let match = pattern.exec(text);
  while (match !== null) {
    const replacement = replace(match);
    if (replacement !== null) {
      parts.push(text.slice(copiedUpTo, match.index), replacement);
      copiedUpTo = match.index + match[0].length;
    }
    if (match[0].length === 0) {
      pattern.lastIndex++;
    }
    match = pattern.exec(text);
  }

  if (parts.length === 0) {
    return text;
  }
  parts.push(text.slice(copiedUpTo));
  return parts.join('');
}

// ---------------------------------------------------------------------------
// Private keys.

/** A line that is only base64, as in a PEM body, possibly quoted or prefixed by a diff marker. */
const BASE64_LINE = /^[ +-]?[ \t]*["']?[A-Za-z0-9+/]{40,}={0,2}["']?,?[ \t]*$/;
/**
 * BASE64_LINE for any line of a text. It finds every line BASE64_LINE matches, and a few
 * more, because `$` also matches before a CR here, so each hit is checked with BASE64_LINE.
 */
const BASE64_LINE_HINT = new RegExp(BASE64_LINE.source, 'gm');

/** Consecutive base64 lines from which a run counts as key material. */
const KEY_BODY_MIN_LINES = 3;

/**
 * Replaces runs of base64-only lines with one marker. A diff that edits the middle of a
 * key shows some of its lines without the BEGIN and END markers the block pass needs.
 * NOTE: other base64 blocks without a BEGIN line above them (a certificate edited in its
 * middle, embedded fixtures) are replaced too. That costs little, because they show a
 * model nothing about a change.
 */
function redactKeyBodies(text: string, tally: Tally): string {
  const parts: string[] = [];
  let copiedUpTo = 0;
  let searchFrom = 0;

  // The hint finds the candidate lines in one scan, which costs less than splitting the text into lines.
  for (;;) {
    BASE64_LINE_HINT.lastIndex = searchFrom;
    const hint = BASE64_LINE_HINT.exec(text);
    if (hint === null) {
      break;
    }

    const runStart = text.lastIndexOf('\n', hint.index) + 1;
    const run = base64RunFrom(text, runStart);
    if (run.lines === 0) {
      searchFrom = run.end + 1;
      continue;
    }

    // A block under a visible BEGIN line is a certificate or public key: private key
    // blocks with both markers were replaced before this pass.
    const previousLine = runStart === 0 ? '' : text.slice(text.lastIndexOf('\n', runStart - 2) + 1, runStart - 1);
    if (run.lines >= KEY_BODY_MIN_LINES && !(runStart > 0 && /-----BEGIN /.test(previousLine))) {
      const marker = /^[ +-]?/.exec(text.slice(runStart, runStart + 1))?.[0] ?? '';
      parts.push(text.slice(copiedUpTo, runStart), `${marker}${tally.marker('private-key')}`);
      copiedUpTo = run.end;
    }
    searchFrom = run.end + 1;
  }

  if (parts.length === 0) {
    return text;
  }
  parts.push(text.slice(copiedUpTo));
  return parts.join('');
}

/**
 * Counts the base64 lines in a row from the line that starts at `start`. Returns their
 * number and the end of the last one (its newline's index), or of the first line when
 * none is base64.
 */
function base64RunFrom(text: string, start: number): { lines: number; end: number } {
  let lines = 0;
  let lineStart = start;
  let end = start;

  for (;;) {
    const newline = text.indexOf('\n', lineStart);
    const lineEnd = newline === -1 ? text.length : newline;
    if (!BASE64_LINE.test(text.slice(lineStart, lineEnd))) {
      return lines === 0 ? { lines, end: lineEnd } : { lines, end };
    }

    lines += 1;
    end = lineEnd;
    if (newline === -1) {
      return { lines, end };
    }
    lineStart = newline + 1;
  }
}

const PEM_BEGIN = /-----BEGIN [A-Z0-9 ]{0,40}?PRIVATE KEY(?: BLOCK)?-----/g;
const PEM_END = /-----END [A-Z0-9 ]{0,40}?PRIVATE KEY(?: BLOCK)?-----/y;
/**
 * Characters allowed between the markers: base64, line breaks (raw or as `\n` escapes
 * in a string), diff prefixes, quotes and `+` of string concatenation, and the
 * `Proc-Type` and `DEK-Info` headers of encrypted keys. It stops before `-----END `.
 */
const PEM_BODY = /(?:[A-Za-z0-9+/=\s\\"',:]|-(?!----END ))*/y;
/** Key material: a base64 run longer than words and names usually are. */
const BASE64_RUN = /[A-Za-z0-9+/=]{16}/;

/**
 * Redacts private-key blocks from the BEGIN marker through the END marker. A block
 * cut off by the end of the text (a truncated diff) or interrupted by characters that
 * cannot be part of a key is redacted up to that point. In every case the body must
 * contain key material (a 16-character base64 run), so code that merely names the
 * markers stays readable.
 */
function redactPrivateKeys(text: string, tally: Tally): string {
  const parts: string[] = [];
  let copiedUpTo = 0;
  PEM_BEGIN.lastIndex = 0;

  let begin = PEM_BEGIN.exec(text);
  while (begin !== null) {
    const bodyStart = begin.index + begin[0].length;
    PEM_BODY.lastIndex = bodyStart;
    PEM_BODY.exec(text);
    const bodyEnd = PEM_BODY.lastIndex;

    if (!BASE64_RUN.test(text.slice(bodyStart, bodyEnd))) {
      // Any later BEGIN before bodyEnd has a body that ends at the same place and contains
      // no more key material, so skip them all.
      PEM_BEGIN.lastIndex = Math.max(bodyEnd, bodyStart);
      begin = PEM_BEGIN.exec(text);
      continue;
    }

    PEM_END.lastIndex = bodyEnd;
    const end = PEM_END.exec(text);
    const blockEnd = end === null ? bodyEnd : bodyEnd + end[0].length;
    parts.push(text.slice(copiedUpTo, begin.index), tally.marker('private-key'));
    copiedUpTo = blockEnd;
    PEM_BEGIN.lastIndex = blockEnd;
    begin = PEM_BEGIN.exec(text);
  }

  if (parts.length === 0) {
    return text;
  }
  parts.push(text.slice(copiedUpTo));
  return parts.join('');
}

// ---------------------------------------------------------------------------
// Credentials recognized by their context.

/** `aws_secret_access_key = <40 base64 characters>` in any common spelling of the key. */
const AWS_SECRET_ASSIGNMENT =
  /(?<![A-Za-z0-9_])((?:aws_?secret_?(?:access_?)?key|secret_?access_?key)["']?[ \t]{0,8}(?::=|=>|:|=)[ \t]{0,8}["']?)[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/gi;

function redactAwsSecretKeys(text: string, tally: Tally): string {
  return replaceMatches(text, AWS_SECRET_ASSIGNMENT, (match) => `${match[1]}${tally.marker('aws-secret-key')}`);
}

/** `scheme://user:password@`, where the user may be empty as in `redis://:password@`. Only the password is replaced. */
const URL_CREDENTIALS = /(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,30}:\/\/[^\s:/?#@"'<>]{0,256}:)([^\s/?#@"'<>]{1,256})@/g;

function redactUrlPasswords(text: string, tally: Tally): string {
  // The pattern needs `://`, and a search for it is much faster than the pattern's scan.
  if (!text.includes('://')) {
    return text;
  }

  return replaceMatches(text, URL_CREDENTIALS, (match) => {
    const password = match[2] as string;
    if (isAlreadyRedacted(password) || isPlaceholder(password)) {
      return null;
    }
    return `${match[1]}${tally.marker('url-password')}@`;
  });
}

const BEARER = /\b((?:Bearer|bearer|BEARER)[ \t]{1,8})([A-Za-z0-9._~+/-]{20,}=*)/g;
const BASIC = /\b((?:Basic|basic|BASIC)[ \t]{1,8})([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])/g;

/** `Bearer <token>` and `Basic <base64 of user:password>`, as in an Authorization header. */
function redactAuthorizationValues(text: string, tally: Tally): string {
  const afterBearer = replaceMatches(text, BEARER, (match) => {
    const token = match[2] as string;
    return isPlaceholder(token) ? null : `${match[1]}${tally.marker('bearer-token')}`;
  });

  return replaceMatches(afterBearer, BASIC, (match) => {
    // Prose such as "Basic authentication" also fits the base64 alphabet, so require
    // that the value decodes to printable `user:password`.
    const decoded = Buffer.from(match[2] as string, 'base64').toString('latin1');
    if (!/^[\x20-\x7e]+:[\x20-\x7e]*$/.test(decoded)) {
      return null;
    }
    return `${match[1]}${tally.marker('basic-auth')}`;
  });
}

/** `--password value`, `--api-key value` and the like, separated by spaces. The `=` form is an assignment. */
const COMMAND_LINE_FLAG =
  /(?<![^\s"'])(--(?:[A-Za-z0-9]+-){0,4}(password|passwd|passphrase|token|secret|api-key|apikey)[ \t]+)("[^"\r\n]{1,4096}"|'[^'\r\n]{1,4096}'|[^\s"'`-][^\s"'`]{0,4095})/gi;

function redactCommandLineFlags(text: string, tally: Tally): string {
  return replaceMatches(text, COMMAND_LINE_FLAG, (match) => {
    const raw = match[3] as string;
    const quoted = raw.startsWith('"') || raw.startsWith("'");
    const value = quoted ? raw.slice(1, -1) : raw;
    if (value.length < 6 || isAlreadyRedacted(value) || isPlaceholder(value)) {
      return null;
    }
    const marker = tally.marker(kindForKeyword(match[2] as string));
    return quoted ? `${match[1]}${raw[0]}${marker}${raw[0]}` : `${match[1]}${marker}`;
  });
}

/** `<password>value</password>` as in Maven's settings.xml. The closing tag must repeat the name. */
const XML_ELEMENT =
  /<([A-Za-z][A-Za-z0-9]{0,30}[_-]?)?((?:[Pp]assword|[Ss]ecret|[Tt]oken|[Aa]pi[_-]?[Kk]ey)[A-Za-z0-9]{0,20})>([^<\s]{6,4096})<\/\1\2>/g;

function redactXmlElements(text: string, tally: Tally): string {
  return replaceMatches(text, XML_ELEMENT, (match) => {
    const value = match[3] as string;
    const name = `${match[1] ?? ''}${match[2] as string}`;
    if (isAlreadyRedacted(value) || isPlaceholder(value, name)) {
      return null;
    }
    return `<${name}>${tally.marker(kindForKeyword(match[2] as string))}</${name}>`;
  });
}

// ---------------------------------------------------------------------------
// Assignments such as `password = "..."`, `SECRET_KEY: ...` and `export API_TOKEN=...`.

/**
 * Keywords with their case spelled out, so that the suffix check can tell `apiKey`
 * (a new word starts) from `tokenizer` (the word goes on).
 */
const KEYWORD =
  '[Pp]ass(?:word|wd|phrase)?|PASS(?:WORD|WD|PHRASE)?|[Pp]wd|PWD|[Ss]ecret|SECRET|[Tt]oken|TOKEN|' +
  '[Aa]pi[_-]?[Kk]ey|API[_-]?KEY|[Aa]ccess[_-]?[Kk]ey|ACCESS[_-]?KEY|[Aa]ccount[Kk]ey|' +
  '[Pp]rivate[_-]?[Kk]ey|PRIVATE[_-]?KEY|_auth|[Ss]alt|SALT|' +
  '(?:[Ss]ession|[Ee]ncryption|[Ss]igning|[Mm]aster)[_-]?[Kk]ey|(?:SESSION|ENCRYPTION|SIGNING|MASTER)[_-]?KEY';

/**
 * Groups: 1 keyword, 2 rest of the key name, 3 quote closing a quoted key, 4 operator,
 * 5 double-quoted, 6 single-quoted, 7 backquoted and 8 bare value. The operator
 * excludes `==`, `=~`, `::` and `:=`'s neighbors so comparisons and scopes do not count.
 */
const ASSIGNMENT = new RegExp(
  `(${KEYWORD})((?![a-z])[A-Za-z0-9_.-]{0,40})(["']?)[ \\t]{0,8}(:=|=>|:(?![:=])|=(?![=>~]))[ \\t]{0,8}` +
    '(?:"((?:[^"\\\\\\r\\n]|\\\\.){1,4096})"' +
    "|'((?:[^'\\\\\\r\\n]|\\\\.){1,4096})'" +
    '|`([^`\\r\\n]{1,4096})`' +
    '|([^\\s"\'`,;(){}\\[\\]<>&?]{1,4096}))',
  'g',
);

const KEY_CHAR = /[A-Za-z0-9_.-]/;
/** npm's `.npmrc` credential keys, whose values are base64 or tokens without a fixed shape. */
const NPMRC_KEYS = new Set(['_auth', '_authToken', '_password']);
const MAX_KEY_PREFIX = 64;
const MAX_LINE_PREFIX = 80;

function redactAssignments(text: string, tally: Tally): string {
  return replaceMatches(text, ASSIGNMENT, (match) => {
    const keyword = match[1] as string;
    const quotedValue = match[5] ?? match[6] ?? match[7];
    const value = quotedValue ?? (match[8] as string);
    const prefix = keyPrefixBefore(text, match.index);
    const key = `${prefix}${keyword}${match[2] as string}`;

    if (isAlreadyRedacted(value) || isPlaceholder(value, key)) {
      return null;
    }

    const accepted =
      quotedValue !== undefined
        ? isSecretLikeQuotedValue(value)
        : isSecretLikeBareValue(value, {
            literal: isEnvStyleAssignment(text, match, prefix, key) || NPMRC_KEYS.has(key),
            nextChar: text[match.index + match[0].length],
          });
    if (!accepted) {
      return null;
    }

    const closingQuoteLength = quotedValue === undefined ? 0 : 1;
    const keep = match[0].slice(0, match[0].length - value.length - closingQuoteLength);
    const closingQuote = match[0].slice(match[0].length - closingQuoteLength);
    return `${keep}${tally.marker(kindForKeyword(keyword))}${closingQuote}`;
  });
}

/**
 * Reads back from `index` over key characters, so `DB_` is found before `PASSWORD`.
 * Leading `-` and `.` are left out because they are diff prefixes or operators.
 */
function keyPrefixBefore(text: string, index: number): string {
  let start = index;
  while (start > 0 && index - start < MAX_KEY_PREFIX && KEY_CHAR.test(text[start - 1] as string)) {
    start--;
  }
  while (start < index && (text[start] === '-' || text[start] === '.')) {
    start++;
  }
  return text.slice(start, index);
}

/**
 * Returns true for `NAME=value` in dotenv, shell or Dockerfile form. That is an
 * upper-case name at the start of a line, after an optional diff prefix, YAML list
 * dash, `export`, `set`, `ENV` or `ARG`, with `=` and no spaces around it. In that form
 * an unquoted value is a literal, where in code it would be a name.
 */
function isEnvStyleAssignment(text: string, match: RegExpExecArray, prefix: string, key: string): boolean {
  if (match[4] !== '=' || match[3] !== '' || !/^[A-Z0-9_]+$/.test(key)) {
    return false;
  }
  const keyword = match[1] as string;
  const operatorAndSpaces = match[0].slice(keyword.length + (match[2] as string).length, match[0].length - (match[8] ?? '').length);
  if (operatorAndSpaces !== '=') {
    return false;
  }

  const keyStart = match.index - prefix.length;
  let lineStart = keyStart;
  while (lineStart > 0 && keyStart - lineStart < MAX_LINE_PREFIX && text[lineStart - 1] !== '\n') {
    lineStart--;
  }
  if (lineStart > 0 && text[lineStart - 1] !== '\n') {
    return false;
  }
  return /^[+\- ]?[ \t]*(?:-[ \t]+)?(?:(?:export|set|ENV|ARG)[ \t]+)?$/.test(text.slice(lineStart, keyStart));
}

function isSecretLikeQuotedValue(value: string): boolean {
  // Values with spaces are messages or labels far more often than passwords.
  return value.length >= 6 && !/\s/.test(value) && !looksLikePathOrUrl(value);
}

const DOTTED_IDENTIFIER = /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+$/;

/**
 * `literal` is set where a bare value cannot be a variable name: dotenv and shell
 * assignments, and npm's `.npmrc` keys (`_auth`, `_authToken`, `_password`).
 */
function isSecretLikeBareValue(value: string, context: { literal: boolean; nextChar: string | undefined }): boolean {
  // A bare value directly followed by a bracket or quote is code: a call, an index or a template.
  if (context.nextChar !== undefined && '([{<"\'`'.includes(context.nextChar)) {
    return false;
  }
  if (looksLikePathOrUrl(value)) {
    return false;
  }
  if (context.literal) {
    return value.length >= 6;
  }
  // Elsewhere a bare word may be a variable name, so require the mix of letters and
  // digits that generated secrets have.
  return value.length >= 8 && /[A-Za-z]/.test(value) && /[0-9]/.test(value) && !DOTTED_IDENTIFIER.test(value);
}

function looksLikePathOrUrl(value: string): boolean {
  if (/^(?:\/|\.\.?\/|~\/)/.test(value)) {
    return true;
  }
  // A URL with credentials is handled by the URL pass, which keeps the rest readable.
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value) && !value.includes('@');
}

function kindForKeyword(keyword: string): SecretKind {
  const lower = keyword.toLowerCase();
  if (lower.startsWith('pass') || lower === 'pwd') {
    return 'password';
  }
  if (lower === 'salt') {
    return 'secret';
  }
  if (lower.startsWith('secret')) {
    return 'secret';
  }
  if (lower.startsWith('token') || lower === '_auth') {
    return 'token';
  }
  if (lower.startsWith('api')) {
    return 'api-key';
  }
  if (lower.startsWith('private')) {
    return 'private-key';
  }
  return 'access-key';
}

// ---------------------------------------------------------------------------
// Placeholders.

/** Values that documentation and templates use in place of a real secret, compared without case or punctuation. */
const PLACEHOLDER_WORDS = new Set([
  'changeme',
  'changeit',
  'changethis',
  'password',
  'passwd',
  'secret',
  'token',
  'apikey',
  'secretkey',
  'accesstoken',
  'none',
  'null',
  'nil',
  'undefined',
  'true',
  'false',
  'redacted',
  'placeholder',
  'example',
  'sample',
  'dummy',
  'todo',
  'fixme',
  'tbd',
  'required',
  'optional',
  'string',
  'hidden',
  'notset',
  'empty',
  'default',
]);

function isAlreadyRedacted(value: string): boolean {
  return value.includes('[REDACTED:');
}

/**
 * Returns true for values that stand in for a secret. These are one repeated character
 * (`xxxx`, `****`), a variable or template reference (`${VAR}`, `$VAR`, `{{ var }}`,
 * `%(var)s`, `#{var}`), an angle-bracket hint (`<your-token>`), `your_...` or `..._here`,
 * a word from PLACEHOLDER_WORDS, and the key's own name (`"password": "Password"`).
 */
function isPlaceholder(value: string, key?: string): boolean {
  if (/^(.)\1*$/su.test(value) || /^[xX*._-]+$/.test(value)) {
    return true;
  }
  if (/\$\{|\{\{|#\{|%\(|\$\(/.test(value) || /^\$[A-Za-z_][A-Za-z0-9_]*$/.test(value)) {
    return true;
  }
  if (/^<[^>]*>$/.test(value) || /^your[\s_-]?/i.test(value) || /[\s_-]here$/i.test(value)) {
    return true;
  }
  const folded = foldWord(value);
  if (PLACEHOLDER_WORDS.has(folded)) {
    return true;
  }
  return key !== undefined && folded === foldWord(key);
}

function foldWord(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]/g, '');
}
