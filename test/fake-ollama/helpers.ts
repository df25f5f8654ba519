import http from 'node:http';
import { Readable } from 'node:stream';

import { Ollama } from 'ollama';
import { afterEach } from 'vitest';

import { type FakeOllama, type FakeOllamaOptions, startFakeOllama } from './server.mjs';

const started: FakeOllama[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((fake) => fake.close()));
});

/** Starts a fake closed after the current test. */
export async function startFake(options: FakeOllamaOptions = {}): Promise<FakeOllama> {
  const fake = await startFakeOllama(options);
  started.push(fake);
  return fake;
}

export function clientFor(fake: FakeOllama, config: ConstructorParameters<typeof Ollama>[0] = {}): Ollama {
  return new Ollama({ host: fake.url, ...config });
}

/** Resolves with what `promise` rejected with; fails when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (error) {
    return error;
  }

  throw new Error('expected the promise to reject, but it resolved');
}

/** Collects every part of a stream; `error` is what the iteration threw, if anything. */
export async function collect<T>(stream: AsyncIterable<T>): Promise<{ parts: T[]; error: any }> {
  const parts: T[] = [];
  try {
    for await (const part of stream) {
      parts.push(part);
    }
  } catch (error) {
    return { parts, error };
  }

  return { parts, error: undefined };
}

/** Joins the `message.content` of chat parts. */
export function contentOf(parts: Array<{ message: { content: string } }>): string {
  return parts.map((part) => part.message.content).join('');
}

/**
 * Returns a fetch for ollama-js that sends the given Host header. Node's fetch drops a Host
 * override, so this one goes through node:http and supports only what ollama-js uses: method,
 * headers and a string body.
 */
export function fetchWithHost(host: string): typeof fetch {
  return (async (input: Parameters<typeof fetch>[0], init: RequestInit = {}) => {
    const url = new URL(String(input));
    const headers = { ...(init.headers as Record<string, string>), host };
    return new Promise<Response>((resolve, reject) => {
      const request = http.request(url, { method: init.method ?? 'GET', headers }, (response) => {
        const status = response.statusCode ?? 0;
        const body = status === 204 || status === 304 ? null : (Readable.toWeb(response) as ReadableStream);
        resolve(
          new Response(body, {
            status,
            statusText: response.statusMessage,
            headers: Object.entries(response.headers).flatMap(([name, value]) =>
              [value ?? []].flat().map((item): [string, string] => [name, item]),
            ),
          }),
        );
      });
      request.on('error', reject);
      request.end(typeof init.body === 'string' ? init.body : undefined);
    });
  }) as typeof fetch;
}

/** Fetches a path of the fake without the ollama client, for wire-level checks. */
export function rawFetch(fake: FakeOllama, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${fake.url}${path}`, init);
}

/** Reads a response body as JSON without a declared type, for wire-level assertions. */
export async function jsonOf(response: Response): Promise<any> {
  return response.json();
}

export function postJson(fake: FakeOllama, path: string, body: unknown): Promise<Response> {
  return rawFetch(fake, path, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
}
