import { describe, expect, it } from 'vitest';

import { InvalidOptionError } from '../../src/errors.js';
import { DEFAULT_OLLAMA_URL, describeOllamaHost, InvalidOllamaHostError, maskPassword, resolveOllamaHost } from '../../src/ollama/host.js';

function basic(credentials: string): string {
  return `Basic ${Buffer.from(credentials).toString('base64')}`;
}

// Each row: OLLAMA_HOST as set, the URL stepper connects to.
const VALID_HOSTS: Array<[string, string]> = [
  ['127.0.0.1:11434', 'http://127.0.0.1:11434'],
  ['127.0.0.1', 'http://127.0.0.1:11434'],
  ['localhost', 'http://localhost:11434'],
  ['example.com', 'http://example.com:11434'],
  ['example.com:8080', 'http://example.com:8080'],
  ['Example.COM:8080', 'http://example.com:8080'],
  ['http://localhost', 'http://localhost:80'],
  ['http://example.com:8080/', 'http://example.com:8080'],
  ['https://example.com', 'https://example.com:443'],
  ['https://example.com:8443', 'https://example.com:8443'],
  ['HTTP://example.com', 'http://example.com:80'],
  [':56789', 'http://127.0.0.1:56789'],
  ['http://:56789', 'http://127.0.0.1:56789'],
  ['http://', 'http://127.0.0.1:80'],
  ['0.0.0.0', 'http://127.0.0.1:11434'],
  ['0.0.0.0:11435', 'http://127.0.0.1:11435'],
  ['http://0.0.0.0:9000', 'http://127.0.0.1:9000'],
  ['[::1]:11434', 'http://[::1]:11434'],
  ['[::1]', 'http://[::1]:11434'],
  ['http://[::1]:11434', 'http://[::1]:11434'],
  ['::1', 'http://[::1]:11434'],
  ['[::]:11434', 'http://[::1]:11434'],
  ['::', 'http://[::1]:11434'],
  ['[fe80::1]:8000', 'http://[fe80::1]:8000'],
  ['example.com/ollama', 'http://example.com:11434/ollama'],
  ['https://example.com/proxy/ollama/', 'https://example.com:443/proxy/ollama'],
  ['ollama.com', 'https://ollama.com:443'],
  ['  127.0.0.1:11434  ', 'http://127.0.0.1:11434'],
  ['"127.0.0.1:11434"', 'http://127.0.0.1:11434'],
  ["'localhost:1234'", 'http://localhost:1234'],
  ['my_host:1', 'http://my_host:1'],
  ['127.0.0.1:65535', 'http://127.0.0.1:65535'],
];

describe('resolveOllamaHost forms', () => {
  it.each(VALID_HOSTS)('OLLAMA_HOST=%s resolves to %s', (value, url) => {
    const host = resolveOllamaHost({ OLLAMA_HOST: value });

    expect(host.url).toBe(url);
    expect(host.source).toBe('OLLAMA_HOST');
    expect(host.value).toBe(value);
    expect(host.headers).toEqual({});
  });
});

describe('resolveOllamaHost default', () => {
  it('unset uses the default', () => {
    expect(resolveOllamaHost({})).toEqual({ url: DEFAULT_OLLAMA_URL, headers: {}, source: 'default' });
  });

  it.each([
    ['empty', ''],
    ['spaces only', '   '],
    ['empty quotes', '""'],
  ])('%s uses the default', (_case, value) => {
    const host = resolveOllamaHost({ OLLAMA_HOST: value });

    expect(host).toEqual({ url: DEFAULT_OLLAMA_URL, headers: {}, source: 'default', value });
  });

  it('default is loopback port 11434', () => {
    expect(DEFAULT_OLLAMA_URL).toBe('http://127.0.0.1:11434');
  });

  it('reads process.env without an argument', () => {
    const saved = process.env.OLLAMA_HOST;
    process.env.OLLAMA_HOST = ':4321';
    try {
      expect(resolveOllamaHost().url).toBe('http://127.0.0.1:4321');
    } finally {
      if (saved === undefined) {
        delete process.env.OLLAMA_HOST;
      } else {
        process.env.OLLAMA_HOST = saved;
      }
    }
  });
});

describe('resolveOllamaHost credentials', () => {
  it('user and password move to a Basic header', () => {
    const host = resolveOllamaHost({ OLLAMA_HOST: 'http://alice:s3cret@example.com:8080/ollama' });

    expect(host.url).toBe('http://example.com:8080/ollama');
    expect(host.headers).toEqual({ Authorization: basic('alice:s3cret') });
  });

  it('percent-escapes are decoded', () => {
    const host = resolveOllamaHost({ OLLAMA_HOST: 'https://bob:p%40ss%3Aword@example.com' });

    expect(host.headers.Authorization).toBe(basic('bob:p@ss:word'));
  });

  it('user without password', () => {
    const host = resolveOllamaHost({ OLLAMA_HOST: 'carol@localhost' });

    expect(host.url).toBe('http://localhost:11434');
    expect(host.headers.Authorization).toBe(basic('carol:'));
  });

  it('credentials never reach the URL', () => {
    const host = resolveOllamaHost({ OLLAMA_HOST: 'http://alice:s3cret@127.0.0.1:11434' });

    expect(host.url).not.toContain('s3cret');
    expect(host.url).not.toContain('@');
  });
});

// Each row: OLLAMA_HOST as set, a fragment the message must contain.
const INVALID_HOSTS: Array<[string, string]> = [
  ['127.0.0.1:99999', 'port "99999" is not a number from 1 to 65535'],
  ['127.0.0.1:0', 'port "0"'],
  ['127.0.0.1:http', 'port "http"'],
  ['127.0.0.1:', 'port ""'],
  ['127.0.0.1:-1', 'port "-1"'],
  ['ftp://example.com', 'scheme "ftp" is not supported'],
  ['unix:///var/run/ollama.sock', 'scheme "unix" is not supported'],
  ['not a host', 'contains a space'],
  ['example.com?x=1', '"?"'],
  ['exa$mple.com', '"exa$mple.com" is not a valid host name'],
  ['[::1', 'has "[" but no "]"'],
  ['[::1]x', 'unexpected "x"'],
  ['[example.com]:80', '"example.com" is not an IPv6 address'],
  ['fe80::1:8000:zz', 'needs brackets'],
  ['http://a%zz:b@host', 'invalid %-escape'],
];

describe('resolveOllamaHost invalid values', () => {
  it.each(INVALID_HOSTS)('OLLAMA_HOST=%s is rejected', (value, problem) => {
    let caught: unknown;
    try {
      resolveOllamaHost({ OLLAMA_HOST: value });
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(InvalidOllamaHostError);
    expect(caught).toBeInstanceOf(InvalidOptionError);
    const message = (caught as Error).message;
    expect(message).toContain('OLLAMA_HOST');
    // The value is shown with any password masked.
    expect(message).toContain(JSON.stringify(value.replace(':b@', ':***@')));
    expect(message).toContain(problem);
    expect(message).toContain('unset it to use http://127.0.0.1:11434');
  });

  it('error code is INVALID_OPTION', () => {
    expect(() => resolveOllamaHost({ OLLAMA_HOST: 'host:99999' })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
  });

  it('stack starts with the specific message', () => {
    let stack: string | undefined;
    try {
      resolveOllamaHost({ OLLAMA_HOST: 'host:99999' });
    } catch (error) {
      stack = (error as Error).stack;
    }

    expect(stack).toContain('port "99999"');
  });
});

describe('describeOllamaHost', () => {
  it('default says OLLAMA_HOST is not set', () => {
    expect(describeOllamaHost(resolveOllamaHost({}))).toBe('http://127.0.0.1:11434 (OLLAMA_HOST is not set)');
  });

  it('blank value says the default applies', () => {
    expect(describeOllamaHost(resolveOllamaHost({ OLLAMA_HOST: '' }))).toBe('http://127.0.0.1:11434 (OLLAMA_HOST="", which means the default)');
  });

  it('set value is quoted', () => {
    expect(describeOllamaHost(resolveOllamaHost({ OLLAMA_HOST: '0.0.0.0' }))).toBe('http://127.0.0.1:11434 (OLLAMA_HOST="0.0.0.0")');
  });

  it('password is masked', () => {
    const described = describeOllamaHost(resolveOllamaHost({ OLLAMA_HOST: 'http://alice:s3cret@127.0.0.1:11434/ollama' }));

    expect(described).toBe('http://127.0.0.1:11434/ollama (OLLAMA_HOST="http://alice:***@127.0.0.1:11434/ollama")');
  });
});

describe('maskPassword', () => {
  it.each([
    ['http://alice:s3cret@127.0.0.1:1/x', 'http://alice:***@127.0.0.1:1/x'],
    ['alice:s3@cret@host:1', 'alice:***@host:1'],
    ['https://u:p@[::1]:443', 'https://u:***@[::1]:443'],
    ['u:@h', 'u:***@h'],
  ])('masks %j', (value, masked) => {
    expect(maskPassword(value)).toBe(masked);
  });

  it.each(['carol@localhost', '127.0.0.1:11434', 'http://h:1/p@x:y', '[::1]:11434'])('leaves %j, which has no password', (value) => {
    expect(maskPassword(value)).toBe(value);
  });

  it('keeps the password out of the invalid-value error', () => {
    const error = new InvalidOllamaHostError('http://alice:s3cret@127.0.0.1:99999', 'port "99999" is not a number from 1 to 65535');

    expect(error.message).toContain('"http://alice:***@127.0.0.1:99999"');
    expect(error.message).not.toContain('s3cret');
  });
});
