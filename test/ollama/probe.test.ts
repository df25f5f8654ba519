import net from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { resolveOllamaHost } from '../../src/ollama/host.js';
import { probeOllama } from '../../src/ollama/probe.js';
import { closedPort } from '../doctor/helpers.js';
import { startFake } from '../fake-ollama/helpers.js';

const servers: net.Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/**
 * Starts a TCP server on 127.0.0.1 that hands each connection and the bytes of its first
 * request to `answer`, and records those requests.
 */
async function rawServer(answer: (socket: net.Socket, request: string) => void): Promise<{ port: number; requests: string[] }> {
  const requests: string[] = [];
  const server = net.createServer((socket) => {
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (text.includes('\r\n\r\n')) {
        requests.push(text);
        answer(socket, text);
        text = '';
      }
    });
    socket.on('error', () => {});
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, requests };
}

function hostOf(value: string) {
  return resolveOllamaHost({ OLLAMA_HOST: value });
}

describe('probeOllama', () => {
  it('reads the version of the fake Ollama', async () => {
    const fake = await startFake({ version: '0.32.15' });

    expect(await probeOllama(hostOf(fake.url), 5000)).toEqual({ reachable: true, version: '0.32.15', detail: null });
  });

  it('sends prefix, Host and credentials', async () => {
    const server = await rawServer((socket) => socket.end('HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"version":"0.9.0"}'));

    const result = await probeOllama(hostOf(`http://ann:s3cret@127.0.0.1:${server.port}/ollama`), 5000);

    expect(result).toEqual({ reachable: true, version: '0.9.0', detail: null });
    expect(server.requests).toHaveLength(1);
    const [requestLine, ...headers] = server.requests[0]!.split('\r\n');
    expect(requestLine).toBe('GET /ollama/api/version HTTP/1.0');
    expect(headers).toContain(`Host: 127.0.0.1:${server.port}`);
    expect(headers).toContain(`Authorization: Basic ${Buffer.from('ann:s3cret').toString('base64')}`);
  });

  it('stops at Content-Length on open connection', async () => {
    const body = '{"version":"0.12.6"}';
    const server = await rawServer((socket) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body}`));

    // With the connection left open, only the Content-Length can end the read before the timeout.
    expect(await probeOllama(hostOf(`127.0.0.1:${server.port}`), 60_000)).toEqual({ reachable: true, version: '0.12.6', detail: null });
  });

  it('reads a response that arrives in pieces', async () => {
    const server = await rawServer((socket) => {
      socket.write('HTTP/1.0 200 OK\r\nContent-Le');
      setTimeout(() => socket.write('ngth: 19\r\n\r\n{"version":'), 20);
      setTimeout(() => socket.end('"0.5.1"}'), 40);
    });

    expect(await probeOllama(hostOf(`127.0.0.1:${server.port}`), 5000)).toEqual({ reachable: true, version: '0.5.1', detail: null });
  });

  it('takes complete JSON without Content-Length', async () => {
    const server = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{"version":"0.6.0"}'));

    expect(await probeOllama(hostOf(`127.0.0.1:${server.port}`), 60_000)).toEqual({ reachable: true, version: '0.6.0', detail: null });
  });

  it('names open non-HTTP server', async () => {
    const server = await rawServer((socket) => socket.write('220 smtp.example ready\r\n'));

    const result = await probeOllama(hostOf(`127.0.0.1:${server.port}`), 60_000);

    expect(result.detail).toBe(`no HTTP response from http://127.0.0.1:${server.port}/api/version; check that OLLAMA_HOST names Ollama`);
  });

  it('names a status other than 200', async () => {
    const server = await rawServer((socket) => socket.end('HTTP/1.0 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad'));

    expect(await probeOllama(hostOf(`127.0.0.1:${server.port}`), 5000)).toEqual({
      reachable: false,
      version: null,
      detail: `HTTP 502 from http://127.0.0.1:${server.port}/api/version`,
    });
  });

  it('non-JSON body: unknown version', async () => {
    const server = await rawServer((socket) => socket.end('HTTP/1.0 200 OK\r\n\r\nhello'));

    expect(await probeOllama(hostOf(`127.0.0.1:${server.port}`), 5000)).toEqual({ reachable: true, version: null, detail: null });
  });

  it('closed port: says what to do', async () => {
    const port = await closedPort();

    const result = await probeOllama(hostOf(`127.0.0.1:${port}`), 5000);

    expect(result.reachable).toBe(false);
    expect(result.detail).toBe('connection refused (ECONNREFUSED); start Ollama with "ollama serve", or set OLLAMA_HOST to where it listens');
  });

  it('times out on silent server', async () => {
    const server = await rawServer(() => {});

    expect(await probeOllama(hostOf(`127.0.0.1:${server.port}`), 200)).toEqual({ reachable: false, version: null, detail: 'timed out after 200 ms without a response' });
    expect(server.requests).toHaveLength(1);
  });

  it('names a connection closed before any response', async () => {
    const server = await rawServer((socket) => socket.end());

    const result = await probeOllama(hostOf(`127.0.0.1:${server.port}`), 5000);

    expect(result).toEqual({ reachable: false, version: null, detail: `connection closed without a response from http://127.0.0.1:${server.port}/api/version` });
  });

  it('names closing non-HTTP server', async () => {
    const server = await rawServer((socket) => socket.end('SSH-2.0-OpenSSH_9.2\r\n\r\n'));

    const result = await probeOllama(hostOf(`127.0.0.1:${server.port}`), 5000);

    expect(result.reachable).toBe(false);
    expect(result.detail).toBe(`no HTTP response from http://127.0.0.1:${server.port}/api/version; check that OLLAMA_HOST names Ollama`);
  });

  it('connects to bracketed IPv6 address', async (context) => {
    const server = net.createServer((socket) => {
      // The request must be read, or the socket never reads the client's end and the server never closes.
      socket.resume();
      socket.end('HTTP/1.0 200 OK\r\n\r\n{"version":"0.7.0"}');
    });
    servers.push(server);
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(0, '::1', () => resolve(true));
    });
    if (!listening) {
      context.skip('this machine has no IPv6 loopback');
    }

    const { port } = server.address() as net.AddressInfo;
    expect(await probeOllama(hostOf(`[::1]:${port}`), 5000)).toEqual({ reachable: true, version: '0.7.0', detail: null });
  });
});
