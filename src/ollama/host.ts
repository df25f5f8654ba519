import net from 'node:net';

import { InvalidOptionError } from '../errors.js';

/** Ollama's own default address: what `ollama serve` listens on when OLLAMA_HOST is unset. */
export const DEFAULT_OLLAMA_URL = 'http://127.0.0.1:11434';

const DEFAULT_PORT = 11434;
const SCHEME_PORTS: Record<string, number> = { http: 80, https: 443 };

/** Origin of the Ollama address. */
export type OllamaHostSource = 'default' | 'OLLAMA_HOST';

/** The Ollama server stepper talks to. */
export interface OllamaHost {
  /** Base URL with scheme, host, explicit port and any path prefix, without credentials or a trailing slash. */
  url: string;
  /** Headers every request sends: `Authorization: Basic` when OLLAMA_HOST held `user:password@`. */
  headers: Record<string, string>;
  source: OllamaHostSource;
  /** OLLAMA_HOST as set, for messages: blank when source is `default`, undefined when unset. */
  value?: string;
}

/**
 * Raised for an OLLAMA_HOST value stepper cannot use. The message names the variable, the value,
 * the problem and the fix.
 */
export class InvalidOllamaHostError extends InvalidOptionError {
  readonly value: string;

  constructor(value: string, problem: string) {
    super('OLLAMA_HOST', 'host[:port], :port or http(s)://host[:port][/path]', value);
    this.message =
      `invalid OLLAMA_HOST ${JSON.stringify(maskPassword(value))}: ${problem}; ` +
      `set it to the address Ollama listens on, such as 127.0.0.1:11434 or http://localhost:11434, or unset it to use ${DEFAULT_OLLAMA_URL}`;
    this.value = value;
    // The stack was captured with InvalidOptionError's generic message.
    Error.captureStackTrace(this, InvalidOllamaHostError);
  }
}

/**
 * Resolves the Ollama base URL from OLLAMA_HOST with the rules of Ollama's own client
 * (`envconfig.Host` in ollama/ollama). No scheme means http and port 11434. `http://` without a
 * port means 80, and `https://` means 443. `:PORT` means 127.0.0.1. IPv6 addresses go in
 * brackets, and a path prefix is kept. Ollama falls back to the default port on a bad port and
 * accepts any scheme, but stepper raises InvalidOllamaHostError, so a typo is not ignored.
 */
export function resolveOllamaHost(env: NodeJS.ProcessEnv = process.env): OllamaHost {
  const raw = env.OLLAMA_HOST;
  // Ollama trims spaces and then quotes, so OLLAMA_HOST="'host:1234'" works there too.
  const value = (raw ?? '').trim().replace(/^["']+|["']+$/g, '').trim();
  if (value === '') {
    // Ollama reads a blank value as unset. Keeping it lets messages show that it is set.
    return { url: DEFAULT_OLLAMA_URL, headers: {}, source: 'default', ...(raw === undefined ? {} : { value: raw }) };
  }

  return { ...parseHost(value, raw as string), source: 'OLLAMA_HOST', value: raw as string };
}

/** Describes the host for messages, such as `http://127.0.0.1:11434 (OLLAMA_HOST is not set)`. */
export function describeOllamaHost(host: OllamaHost): string {
  if (host.source === 'default') {
    const origin = host.value === undefined ? 'OLLAMA_HOST is not set' : `OLLAMA_HOST=${JSON.stringify(host.value)}, which means the default`;
    return `${host.url} (${origin})`;
  }

  return `${host.url} (OLLAMA_HOST=${JSON.stringify(maskPassword(host.value ?? ''))})`;
}

/**
 * Replaces the password in an OLLAMA_HOST value such as `http://user:secret@host` with
 * `***`. Messages that name the value end up in job errors, the daemon log and `status`.
 */
export function maskPassword(value: string): string {
  const schemeEnd = value.indexOf('://');
  const authorityStart = schemeEnd >= 0 ? schemeEnd + 3 : 0;
  const slash = value.indexOf('/', authorityStart);
  const authority = value.slice(authorityStart, slash >= 0 ? slash : value.length);
  const at = authority.lastIndexOf('@');
  const colon = authority.indexOf(':');
  if (at < 0 || colon < 0 || colon > at) {
    return value;
  }

  return `${value.slice(0, authorityStart + colon + 1)}***${value.slice(authorityStart + at)}`;
}

function parseHost(value: string, raw: string): Omit<OllamaHost, 'source' | 'value'> {
  if (/[\s?#\\]/.test(value)) {
    throw new InvalidOllamaHostError(raw, 'it contains a space, "?", "#" or "\\"');
  }

  let scheme = 'http';
  let defaultPort = DEFAULT_PORT;
  let rest = value;
  const schemeEnd = value.indexOf('://');
  if (schemeEnd >= 0) {
    scheme = value.slice(0, schemeEnd).toLowerCase();
    rest = value.slice(schemeEnd + 3);
    const schemePort = SCHEME_PORTS[scheme];
    if (schemePort === undefined) {
      throw new InvalidOllamaHostError(raw, `scheme ${JSON.stringify(scheme)} is not supported, only http and https are`);
    }

    defaultPort = schemePort;
  } else if (value === 'ollama.com') {
    // Ollama's client special-cases this bare name as its hosted service.
    scheme = 'https';
    defaultPort = 443;
  }

  const pathStart = rest.indexOf('/');
  const authority = pathStart >= 0 ? rest.slice(0, pathStart) : rest;
  const path = pathStart >= 0 ? rest.slice(pathStart) : '';

  const at = authority.lastIndexOf('@');
  const userInfo = at >= 0 ? authority.slice(0, at) : undefined;
  const { hostname, port } = splitHostPort(at >= 0 ? authority.slice(at + 1) : authority, defaultPort, raw);

  let base: URL;
  try {
    base = new URL(`${scheme}://${hostname}:${port}${path}`);
  } catch {
    throw new InvalidOllamaHostError(raw, `${JSON.stringify(hostname)} is not a valid host name`);
  }

  // URL.host drops a scheme's default port; stepper always shows the port it connects to.
  const pathname = base.pathname.replace(/\/+$/, '');
  return { url: `${scheme}://${base.hostname}:${port}${pathname}`, headers: basicAuthorization(userInfo, raw) };
}

function splitHostPort(hostPort: string, defaultPort: number, raw: string): { hostname: string; port: number } {
  let host: string;
  let portText: string | undefined;

  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close < 0) {
      throw new InvalidOllamaHostError(raw, 'an IPv6 address has "[" but no "]"');
    }

    host = hostPort.slice(1, close);
    const after = hostPort.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) {
      throw new InvalidOllamaHostError(raw, `unexpected ${JSON.stringify(after)} after the IPv6 address`);
    }

    portText = after === '' ? undefined : after.slice(1);
    if (!net.isIPv6(host)) {
      throw new InvalidOllamaHostError(raw, `${JSON.stringify(host)} is not an IPv6 address`);
    }
  } else if (mayBeIPv6(hostPort) && net.isIPv6(hostPort)) {
    // Ollama accepts a bare IPv6 address without brackets and a port.
    host = hostPort;
  } else {
    const colon = hostPort.lastIndexOf(':');
    host = colon >= 0 ? hostPort.slice(0, colon) : hostPort;
    portText = colon >= 0 ? hostPort.slice(colon + 1) : undefined;
    if (host.includes(':')) {
      throw new InvalidOllamaHostError(raw, 'an IPv6 address with a port needs brackets, as in [::1]:11434');
    }

    if (host !== '' && !/^[A-Za-z0-9._-]+$/.test(host)) {
      throw new InvalidOllamaHostError(raw, `${JSON.stringify(host)} is not a valid host name`);
    }
  }

  return { hostname: connectableHost(host), port: parsePort(portText, defaultPort, raw) };
}

/**
 * Returns whether `text` has the two colons every IPv6 address has. The first net.isIPv6 call
 * compiles a large regular expression (3 to 4.5 ms with Node 20.20 on a 2-core VM), which
 * host names and IPv4 addresses skip with this check.
 */
function mayBeIPv6(text: string): boolean {
  return text.indexOf(':') !== text.lastIndexOf(':');
}

/** Maps the empty host and the unspecified addresses, which a server binds but a client cannot connect to, to loopback. */
function connectableHost(host: string): string {
  if (host === '' || host === '0.0.0.0') {
    return '127.0.0.1';
  }

  if (mayBeIPv6(host) && net.isIPv6(host)) {
    return /^[0:]+$/.test(host) ? '[::1]' : `[${host}]`;
  }

  return host;
}

function parsePort(text: string | undefined, defaultPort: number, raw: string): number {
  if (text === undefined) {
    return defaultPort;
  }

  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new InvalidOllamaHostError(raw, `port ${JSON.stringify(text)} is not a number from 1 to 65535`);
  }

  return port;
}

/** Moves `user:password@` into a header, because Node's fetch rejects URLs that contain credentials. */
function basicAuthorization(userInfo: string | undefined, raw: string): Record<string, string> {
  if (userInfo === undefined) {
    return {};
  }

  const colon = userInfo.indexOf(':');
  let credentials: string;
  try {
    const user = decodeURIComponent(colon >= 0 ? userInfo.slice(0, colon) : userInfo);
    const password = colon >= 0 ? decodeURIComponent(userInfo.slice(colon + 1)) : '';
    credentials = `${user}:${password}`;
  } catch {
    throw new InvalidOllamaHostError(raw, 'the user name or password has an invalid %-escape');
  }

  return { Authorization: `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}` };
}
