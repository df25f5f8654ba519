// Go-compatible text for the messages the real server builds with Go's standard library:
// encoding/json decoder errors, strconv.Quote, time.ParseDuration and fmt's %-30s %#v.

/** Quotes a string the way Go's strconv.Quote does for printable text (close to JSON.stringify). */
export function goQuote(text) {
  return JSON.stringify(text).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** Quotes one character for encoding/json syntax errors, e.g. 'x', '\n' or '\''. */
function quoteChar(char) {
  if (char === "'") {
    return "'\\''";
  }

  if (char === '"') {
    return "'\"'";
  }

  const quoted = goQuote(char);
  return `'${quoted.slice(1, -1)}'`;
}

class SyntaxFailure extends Error {}

/**
 * Checks JSON text with the rules of Go's encoding/json scanner and returns the index just past
 * the first complete value. A json.Decoder reads only that first value, so trailing text is not
 * an error. Throws SyntaxFailure with Go's wording ("unexpected EOF" when the text ends early).
 */
function scanFirstValue(text) {
  let index = 0;

  const fail = (context) => {
    if (index >= text.length) {
      throw new SyntaxFailure('unexpected EOF');
    }

    const char = String.fromCodePoint(text.codePointAt(index));
    throw new SyntaxFailure(`invalid character ${quoteChar(char)} ${context}`);
  };
  const skipSpace = () => {
    while (index < text.length && ' \t\r\n'.includes(text[index])) {
      index += 1;
    }
  };
  const expectLiteral = (word) => {
    for (let offset = 1; offset < word.length; offset += 1) {
      index += 1;
      if (text[index] !== word[offset]) {
        fail(`in literal ${word} (expecting ${quoteChar(word[offset])})`);
      }
    }
    index += 1;
  };
  const scanString = () => {
    index += 1;
    while (index < text.length) {
      const char = text[index];
      if (char === '"') {
        index += 1;
        return;
      }

      if (char < ' ') {
        fail('in string literal');
      }

      if (char === '\\') {
        index += 1;
        if (index >= text.length) {
          fail('in string escape code');
        }

        if (text[index] === 'u') {
          for (let digit = 0; digit < 4; digit += 1) {
            index += 1;
            if (!/[0-9a-fA-F]/.test(text[index] ?? '')) {
              fail('in \\u hexadecimal character escape');
            }
          }
        } else if (!'"\\/bfnrt'.includes(text[index])) {
          fail('in string escape code');
        }
      }

      index += 1;
    }
    fail('in string literal');
  };
  const scanNumber = () => {
    if (text[index] === '-') {
      index += 1;
      if (!/[0-9]/.test(text[index] ?? '')) {
        fail('in numeric literal');
      }
    }

    if (text[index] === '0') {
      index += 1;
    } else {
      while (/[0-9]/.test(text[index] ?? '')) {
        index += 1;
      }
    }

    if (text[index] === '.') {
      index += 1;
      if (!/[0-9]/.test(text[index] ?? '')) {
        fail('after decimal point in numeric literal');
      }
      while (/[0-9]/.test(text[index] ?? '')) {
        index += 1;
      }
    }

    if (text[index] === 'e' || text[index] === 'E') {
      index += 1;
      if (text[index] === '+' || text[index] === '-') {
        index += 1;
      }
      if (!/[0-9]/.test(text[index] ?? '')) {
        fail('in exponent of numeric literal');
      }
      while (/[0-9]/.test(text[index] ?? '')) {
        index += 1;
      }
    }
  };
  const scanValue = () => {
    skipSpace();
    const char = text[index];
    if (char === '{') {
      index += 1;
      skipSpace();
      if (text[index] === '}') {
        index += 1;
        return;
      }

      for (;;) {
        skipSpace();
        if (text[index] !== '"') {
          fail('looking for beginning of object key string');
        }
        scanString();
        skipSpace();
        if (text[index] !== ':') {
          fail('after object key');
        }
        index += 1;
        scanValue();
        skipSpace();
        if (text[index] === ',') {
          index += 1;
          continue;
        }
        if (text[index] === '}') {
          index += 1;
          return;
        }
        fail('after object key:value pair');
      }
    }

    if (char === '[') {
      index += 1;
      skipSpace();
      if (text[index] === ']') {
        index += 1;
        return;
      }

      for (;;) {
        scanValue();
        skipSpace();
        if (text[index] === ',') {
          index += 1;
          continue;
        }
        if (text[index] === ']') {
          index += 1;
          return;
        }
        fail('after array element');
      }
    }

    if (char === '"') {
      scanString();
      return;
    }

    if (char === '-' || /[0-9]/.test(char ?? '')) {
      scanNumber();
      return;
    }

    if (char === 't' || char === 'f' || char === 'n') {
      expectLiteral({ t: 'true', f: 'false', n: 'null' }[char]);
      return;
    }

    fail('looking for beginning of value');
  };

  scanValue();
  return index;
}

/**
 * Decodes a request body like gin's ShouldBindJSON. Returns `{ value }` or `{ error }` where
 * `error` is the message the real server puts into its 400 response.
 */
export function decodeJsonBody(text) {
  if (text.trim() === '') {
    return { error: 'missing request body' };
  }

  try {
    const end = scanFirstValue(text);
    return { value: JSON.parse(text.slice(0, end)) };
  } catch (error) {
    if (error instanceof SyntaxFailure) {
      return { error: error.message };
    }

    throw error;
  }
}

/** Returns the encoding/json name of a decoded JSON value's kind, as used in unmarshal errors. */
export function jsonKind(value) {
  if (value === null) {
    return 'null';
  }

  if (Array.isArray(value)) {
    return 'array';
  }

  if (typeof value === 'boolean') {
    return 'bool';
  }

  return typeof value === 'object' ? 'object' : typeof value;
}

const DURATION_UNITS = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a duration string like Go's time.ParseDuration ("5m", "1h30m", "-1s", "0").
 * Returns milliseconds, or throws an Error whose message is Go's, e.g. `time: invalid duration "x"`.
 */
export function parseGoDuration(text) {
  const quoted = goQuote(text);
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest.startsWith('-') ? -1 : 1;
    rest = rest.slice(1);
  }

  if (rest === '0') {
    return 0;
  }

  if (rest === '') {
    throw new Error(`time: invalid duration ${quoted}`);
  }

  let total = 0;
  while (rest !== '') {
    const number = /^(\d*)(\.\d*)?/.exec(rest);
    if (!number || number[0] === '' || number[0] === '.') {
      throw new Error(`time: invalid duration ${quoted}`);
    }

    rest = rest.slice(number[0].length);
    const unit = /^[^\d.]*/.exec(rest)[0];
    if (unit === '') {
      throw new Error(`time: missing unit in duration ${quoted}`);
    }

    const scale = DURATION_UNITS[unit];
    if (scale === undefined) {
      throw new Error(`time: unknown unit ${goQuote(unit)} in duration ${quoted}`);
    }

    rest = rest.slice(unit.length);
    total += Number(number[0]) * scale;
  }

  return sign * total;
}

/** Formats one Modelfile parameter line as /api/show does with Go's `%-30s %#v`. */
export function formatParameterLine(key, value) {
  const rendered = typeof value === 'string' ? goQuote(value) : String(value);
  return `${key.padEnd(30)} ${rendered}`;
}
