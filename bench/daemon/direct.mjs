// The baseline of the daemon benchmark: chat requests sent one after another, each streamed
// to its `done` message, as a minimal script without stepper would send them.
// Usage: node bench/daemon/direct.mjs HOST REQUESTS_FILE COUNT [ollama|stepper]
// REQUESTS_FILE is a JSON array of /api/chat bodies, and request i is body i modulo their
// number. `ollama` (the default) sends them with ollama-js 0.6.4. `stepper` sends them with
// stepper's streamChat and client instead, which separates the chat client's cost from the
// daemon's. Prints one JSON line, { ms, requests }, timed from the first request to the last
// `done`, so node's start and the imports are left out.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

import { Ollama } from 'ollama';

import { createOllamaClient, resolveOllamaHost, streamChat } from '../../dist/index.js';

const [host, requestFile, countText, clientName = 'ollama'] = process.argv.slice(2);
const count = Number(countText);
if (!host || !requestFile || !Number.isSafeInteger(count) || count < 1 || !['ollama', 'stepper'].includes(clientName)) {
  process.stderr.write('usage: node direct.mjs HOST REQUESTS_FILE COUNT [ollama|stepper]\n');
  process.exit(2);
}

const requests = JSON.parse(fs.readFileSync(requestFile, 'utf8'));

async function sendWithOllama(ollama, request, index) {
  const stream = await ollama.chat({ ...request, stream: true });
  let content = '';
  let done = false;
  for await (const part of stream) {
    content += part.message.content;
    done = part.done;
  }
  if (!done || content === '') {
    throw new Error(`chat request ${index} ended without a done message or content`);
  }
}

async function sendWithStepper(client, request, index) {
  const { stream: _stream, ...body } = request;
  const result = await streamChat(client, body);
  if (result.content === '') {
    throw new Error(`chat request ${index} ended without content`);
  }
}

const send =
  clientName === 'ollama'
    ? sendWithOllama.bind(null, new Ollama({ host }))
    : sendWithStepper.bind(null, createOllamaClient({ host: resolveOllamaHost({ OLLAMA_HOST: host }) }));

const start = performance.now();
for (let i = 0; i < count; i++) {
  await send(requests[i % requests.length], i);
}
const ms = performance.now() - start;

console.log(JSON.stringify({ ms, requests: count }));
