import type { OllamaHost } from './host.js';

export interface ProbeResult {
  reachable: boolean;
  /** Ollama's version when it responded, such as "0.12.6". */
  version: string | null;
  /** Reason Ollama counts as unreachable, in plain words, or null when it responded. */
  detail: string | null;
}

/**
 * Requests Ollama's version with one GET of /api/version, within `timeoutMs`. It uses
 * node's http client rather than the ollama package, because status commands only need a
 * yes or no and loading the package would cost them a third of their time.
 */
export async function probeOllama(host: OllamaHost, timeoutMs: number): Promise<ProbeResult> {
  const url = new URL('api/version', host.url.endsWith('/') ? host.url : `${host.url}/`);
  // Imported here, because node:https takes about 2 ms to load (Node 20.20, 2-core VM) and
  // most hosts are http. A status that shows the daemon's view of Ollama needs neither client.
  const client = url.protocol === 'https:' ? await import('node:https') : await import('node:http');

  return new Promise((resolve) => {
    const request = client.get(url, { headers: host.headers, timeout: timeoutMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => {
        if (response.statusCode !== 200) {
          resolve({ reachable: false, version: null, detail: `HTTP ${response.statusCode} from ${url.href}` });
          return;
        }

        resolve({ reachable: true, version: readVersion(body), detail: null });
      });
      response.on('error', (error) => resolve({ reachable: false, version: null, detail: error.message }));
    });

    request.on('timeout', () => request.destroy(new Error(`timed out after ${timeoutMs} ms without a response`)));
    request.on('error', (error: NodeJS.ErrnoException) => {
      resolve({ reachable: false, version: null, detail: describeFailure(error) });
    });
  });
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
