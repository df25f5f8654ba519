// Writing responses the way the real server frames them: headers go out only with the first
// byte of the body, errors are JSON, streams are NDJSON with one object per line.

import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

export const JSON_TYPE = 'application/json; charset=utf-8';
export const NDJSON_TYPE = 'application/x-ndjson';
export const TEXT_TYPE = 'text/plain; charset=utf-8';

// Gap between the pieces of a split write, so the client's reads really see them separately.
const SPLIT_GAP_MS = 2;

/** Thrown inside a handler when the client went away, so it stops generating. */
export class ClientGoneError extends Error {
  constructor() {
    super('client closed the connection');
    this.name = 'ClientGoneError';
  }
}

/** Waits `ms` milliseconds, or throws ClientGoneError as soon as `signal` aborts. */
export async function pause(ms, signal) {
  if (ms <= 0) {
    if (signal.aborted) {
      throw new ClientGoneError();
    }
    return;
  }

  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    if (signal.aborted) {
      throw new ClientGoneError();
    }
    throw error;
  }
}

/** Sends a complete response; `entry` is the request's log record. */
export function sendComplete(res, entry, status, contentType, body) {
  entry.respondedAt ??= Date.now();
  entry.status = status;
  const headers = contentType === undefined ? {} : { 'Content-Type': contentType };
  res.writeHead(status, headers);
  res.end(body);
}

/** Sends `{"error": message}` with the given status, as every real error body is shaped. */
export function sendError(res, entry, status, message) {
  entry.error = message;
  sendComplete(res, entry, status, JSON_TYPE, JSON.stringify({ error: message }));
}

/**
 * Destroys the socket as a crashed or killed server would, without ending the response.
 * Bytes already written are flushed first, because destroy() discards unsent data.
 */
export async function dropConnection(res, entry) {
  entry.serverDropped = true;
  const socket = res.socket;
  if (socket && !socket.destroyed && socket.writableLength > 0) {
    await new Promise((resolve) => socket.write('', () => resolve()));
  }

  socket?.destroy();
  res.destroy();
}

/** Returns the byte offsets where a split write lands inside a multi-byte UTF-8 character. */
function splitOffsets(buffer) {
  const offsets = new Set([Math.floor(buffer.length / 2)]);
  const continuation = buffer.findIndex((byte) => (byte & 0xc0) === 0x80);
  if (continuation > 0) {
    offsets.add(continuation);
  }

  return [...offsets].filter((offset) => offset > 0 && offset < buffer.length).sort((left, right) => left - right);
}

/**
 * Writes a 200 body in pieces. Plain mode sends one write per line. Split mode joins lines in
 * pairs and cuts each pair in the middle and inside the first multi-byte character, so the client
 * gets several lines in one read and lines or characters cut across reads.
 */
export class BodyWriter {
  constructor(res, entry, signal, { contentType, split }) {
    this.res = res;
    this.entry = entry;
    this.signal = signal;
    this.contentType = contentType;
    this.split = split;
    this.pending = [];
  }

  async writeRaw(chunk) {
    if (this.signal.aborted) {
      throw new ClientGoneError();
    }

    if (!this.res.headersSent) {
      this.entry.respondedAt = Date.now();
      this.entry.status = 200;
      this.res.writeHead(200, { 'Content-Type': this.contentType });
    }

    this.entry.writes += 1;
    if (!this.res.write(chunk)) {
      await Promise.race([once(this.res, 'drain'), once(this.signal, 'abort')]);
    }
  }

  async flushPending() {
    if (this.pending.length === 0) {
      return;
    }

    const buffer = Buffer.from(this.pending.join(''));
    this.pending = [];
    let start = 0;
    for (const offset of [...splitOffsets(buffer), buffer.length]) {
      await this.writeRaw(buffer.subarray(start, offset));
      start = offset;
      if (offset < buffer.length) {
        await pause(SPLIT_GAP_MS, this.signal);
      }
    }
  }

  /** Writes one line of text; the caller adds the trailing newline where the format needs it. */
  async write(text) {
    this.entry.linesWritten += 1;
    if (!this.split) {
      await this.writeRaw(text);
      return;
    }

    this.pending.push(text);
    if (this.pending.length >= 2) {
      await this.flushPending();
    }
  }

  async writeJsonLine(object) {
    await this.write(`${JSON.stringify(object)}\n`);
  }

  async end() {
    await this.flushPending();
    if (!this.res.headersSent) {
      await this.writeRaw('');
    }

    this.res.end();
  }
}
