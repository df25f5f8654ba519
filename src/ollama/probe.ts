import net from 'node:net';

import type { OllamaHost } from './host.js';

export interface ProbeResult {
  reachable: boolean;
  /** Ollama's version when it responded, such as "0.12.6". */
  version: string | null;
  /** Reason Ollama counts as unreachable, in plain words, or null when it responded. */
  detail: string | null;
}

/**
 * Requests Ollama's version with one GET of /api/version, within `timeoutMs`. Status
 * commands only need a yes or no, so this does not load the ollama package, which would
 * cost them a third of their time. An http host gets one HTTP/1.0 request over a plain
 * socket: `node:net` is loaded already for git's pipes, and `node:http` would add about
 * 4 ms to every `stepper status` (Node 20.20, 2-core VM). An https host uses `node:https`.
 */
export async function probeOllama(host: OllamaHost, timeoutMs: number): Promise<ProbeResult> {
  const url = new URL('api/version', host.url.endsWith('/') ? host.url : `${host.url}/`);
  if (url.protocol !== 'https:') {
    return probeOverSocket(url, host.headers, timeoutMs);
  }

  const https = await import('node:https');
  return new Promise((resolve) => {
    const request = https.get(url, { headers: host.headers, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve(readResponse(url, response.statusCode, body)));
      response.on('error', (error) => resolve({ reachable: false, version: null, detail: error.message }));
    });

    request.on('timeout', () => request.destroy(new Error(timedOut(timeoutMs))));
    request.on('error', (error: NodeJS.ErrnoException) => {
      resolve({ reachable: false, version: null, detail: describeFailure(error) });
    });
  });
}

// With an HTTP/1.0 request, the server closes the connection after its response and does
// not use chunked encoding. A server that keeps it open anyway is read up to its
// Content-Length.
function probeOverSocket(url: URL, headers: Record<string, string>, timeoutMs: number): Promise<ProbeResult> {
  const lines = [`GET ${url.pathname} HTTP/1.0`, `Host: ${url.host}`, 'Accept: application/json'];
  for (const [name, value] of Object.entries(headers)) {
    lines.push(`${name}: ${value}`);
  }
  const request = `${lines.join('\r\n')}\r\n\r\n`;

  return new Promise((resolve) => {
    // URL.hostname keeps an IPv6 address in brackets, which net.connect does not take.
    const socket = net.connect({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 80) });
    let received = Buffer.alloc(0);
    let settled = false;
    const settle = (result: ProbeResult): void => {
      if (!settled) {
        settled = true;
        socket.destroy();
        resolve(result);
      }
    };

    socket.setTimeout(timeoutMs, () => settle({ reachable: false, version: null, detail: timedOut(timeoutMs) }));
    // The request is written without a half-close: some servers cancel a request whose client stopped sending.
    socket.once('connect', () => socket.write(request));
    socket.once('error', (error: NodeJS.ErrnoException) => settle({ reachable: false, version: null, detail: describeFailure(error) }));
    const notHttp: ProbeResult = { reachable: false, version: null, detail: `no HTTP response from ${url.href}; check that OLLAMA_HOST names Ollama` };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      // A server that does not speak HTTP may keep the connection open, so its first bytes decide.
      if (!'HTTP/'.startsWith(received.subarray(0, 5).toString('latin1'))) {
        settle(notHttp);
        return;
      }

      const response = parseResponse(received, false);
      if (response) {
        settle(readResponse(url, response.statusCode, response.body));
      }
    });
    socket.once('end', () => {
      const response = parseResponse(received, true);
      if (response) {
        settle(readResponse(url, response.statusCode, response.body));
        return;
      }

      settle(received.length === 0 ? { reachable: false, version: null, detail: `connection closed without a response from ${url.href}` } : notHttp);
    });
  });
}

/**
 * Parses a status code and body from the bytes received so far. Before the connection
 * ends, it returns them only once the body has reached its Content-Length, or, without
 * one, once the body is complete JSON.
 */
function parseResponse(received: Buffer, ended: boolean): { statusCode: number; body: string } | undefined {
  const headerEnd = received.indexOf('\r\n\r\n');
  if (headerEnd < 0) {
    return undefined;
  }

  const head = received.subarray(0, headerEnd).toString('latin1');
  const status = /^HTTP\/\d\.\d (\d{3})/.exec(head);
  if (!status) {
    return undefined;
  }

  const body = received.subarray(headerEnd + 4);
  const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
  const complete = length === null ? isJson(body) : body.length >= Number(length[1]);
  if (!ended && !complete) {
    return undefined;
  }

  return { statusCode: Number(status[1]), body: body.toString('utf8') };
}

// Without a Content-Length, a body that already parses as JSON is taken as complete, because
// a server that keeps the connection open anyway would otherwise make the probe time out.
function isJson(body: Buffer): boolean {
  try {
    JSON.parse(body.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

function readResponse(url: URL, statusCode: number | undefined, body: string): ProbeResult {
  if (statusCode !== 200) {
    return { reachable: false, version: null, detail: `HTTP ${statusCode} from ${url.href}` };
  }

  return { reachable: true, version: readVersion(body), detail: null };
}

function timedOut(timeoutMs: number): string {
  return `timed out after ${timeoutMs} ms without a response`;
}

function readVersion(body: string): string | null {
  try {
    const version = (JSON.parse(body) as { version?: unknown }).version;
    return typeof version === 'string' ? version : null;
  } catch {
    return null;
  }
}

function describeFailure(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused (ECONNREFUSED); start Ollama with "ollama serve", or set OLLAMA_HOST to where it listens';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host name not found (${error.code}); check OLLAMA_HOST`;
    case 'ECONNRESET':
      return 'connection reset (ECONNRESET)';
    default:
      return error.code ? `${error.message} (${error.code})` : error.message;
  }
}
