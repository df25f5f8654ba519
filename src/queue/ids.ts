// Job ids: random UUIDs (version 4, RFC 9562). `stepper report` and the git hook make one per
// commit. Loading node:crypto for them costs about 3 ms per command on a 2-core VM, so where
// the system has /dev/urandom, the random bytes come from it, read in blocks.
import fs from 'node:fs';

const BLOCK_BYTES = 16 * 64;

let block: Buffer | undefined;
let offset = BLOCK_BYTES;
let urandomMissing = false;

/** Returns a new random UUID, such as `0b9e3c1a-5d2f-4e8b-9a6c-7f1d2e3b4c5a`. */
export function newJobId(): string {
  const bytes = randomBytes16();
  if (!bytes) {
    return crypto.randomUUID();
  }

  // The version (4) and variant (binary 10) bits, as RFC 9562 sets them for version 4.
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function randomBytes16(): Buffer | undefined {
  if (urandomMissing) {
    return undefined;
  }

  if (!block || offset + 16 > BLOCK_BYTES) {
    try {
      block = readUrandom();
    } catch {
      // Windows, or a sandbox without /dev: node:crypto makes the ids instead.
      urandomMissing = true;
      return undefined;
    }
    offset = 0;
  }

  // A copy, so that the caller may set the version bits without touching the block.
  const bytes = Buffer.from(block.subarray(offset, offset + 16));
  offset += 16;
  return bytes;
}

function readUrandom(): Buffer {
  const fd = fs.openSync('/dev/urandom', 'r');
  try {
    const buffer = Buffer.alloc(BLOCK_BYTES);
    let filled = 0;
    while (filled < BLOCK_BYTES) {
      const read = fs.readSync(fd, buffer, filled, BLOCK_BYTES - filled, null);
      if (read === 0) {
        throw new Error('/dev/urandom ended');
      }
      filled += read;
    }
    return buffer;
  } finally {
    fs.closeSync(fd);
  }
}
