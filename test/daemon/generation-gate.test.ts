// The generation gate with hand-made streams: a job gives up its slot at its stream's final
// chunk, and a job that asks again waits ahead of jobs that have not generated yet.
import { describe, expect, test } from 'vitest';

import { GenerationGate } from '../../src/daemon/generation-gate.js';

interface Part {
  done: boolean;
}

/** A stream that yields its parts one at a time, each only after `next()` of the test. */
class ManualStream implements AsyncIterable<Part> {
  readonly #parts: Part[];
  #advance?: () => void;

  constructor(parts: Part[]) {
    this.#parts = parts;
  }

  /** Lets the consumer read the next part. */
  next(): void {
    const advance = this.#advance;
    this.#advance = undefined;
    advance?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Part> {
    for (const part of this.#parts) {
      await new Promise<void>((resolve) => {
        this.#advance = resolve;
      });
      yield part;
    }
  }
}

/** Lets pending promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await Promise.resolve();
  }
}

function track(promise: Promise<unknown>): { settled: () => boolean } {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  return { settled: () => settled };
}

describe('GenerationGate', () => {
  test('final chunk hands the slot on', async () => {
    const gate = new GenerationGate(1);
    const first = gate.ticket('job-1');
    const second = gate.ticket('job-2');
    const stream = new ManualStream([{ done: false }, { done: true }]);

    const response = await first.request(undefined, async () => stream);
    const seen: Part[] = [];
    const reading = (async () => {
      for await (const part of response) {
        seen.push(part);
      }
    })();
    const waiting = second.request(undefined, async () => 'sent');
    const secondSent = track(waiting);

    stream.next();
    await settle();
    expect(secondSent.settled()).toBe(false);
    expect(gate.holders).toEqual(['job-1']);

    stream.next();
    await settle();
    expect(secondSent.settled()).toBe(true);
    expect(gate.holders).toEqual([]);
    expect(await waiting).toBe('sent');
    await reading;
    expect(seen).toEqual([{ done: false }, { done: true }]);
  });

  test('stream left early frees the slot', async () => {
    const gate = new GenerationGate(1);
    const first = gate.ticket('job-1');
    const second = gate.ticket('job-2');
    const stream = new ManualStream([{ done: false }, { done: false }, { done: true }]);
    const response = await first.request(undefined, async () => stream);
    const waiting = track(second.request(undefined, async () => 'sent'));

    const iterator = response[Symbol.asyncIterator]();
    const read = iterator.next();
    stream.next();
    await read;
    await iterator.return?.(undefined);
    await settle();

    expect(waiting.settled()).toBe(true);
  });

  test('failed request frees the slot', async () => {
    const gate = new GenerationGate(1);
    const first = gate.ticket('job-1');
    const second = gate.ticket('job-2');

    const failed = first.request(undefined, async () => {
      throw new Error('connection refused');
    });
    const waiting = track(second.request(undefined, async () => 'sent'));

    await expect(failed).rejects.toThrow('connection refused');
    await settle();
    expect(waiting.settled()).toBe(true);
  });

  test('answer without a stream frees the slot', async () => {
    const gate = new GenerationGate(1);
    const first = gate.ticket('job-1');
    const second = gate.ticket('job-2');

    expect(await first.request(undefined, async () => ({ done: true }))).toEqual({ done: true });
    expect(await second.request(undefined, async () => 'sent')).toBe('sent');
  });

  test('job asking again waits ahead of new jobs', async () => {
    const gate = new GenerationGate(1);
    const [first, second, third] = ['job-1', 'job-2', 'job-3'].map((id) => gate.ticket(id));
    const order: string[] = [];
    const firstStream = new ManualStream([{ done: true }]);
    const secondStream = new ManualStream([{ done: true }]);

    const firstResponse = await first!.request(undefined, async () => firstStream);
    const secondCall = second!.request(undefined, async () => {
      order.push('job-2');
      return secondStream;
    });
    const thirdCall = third!.request(undefined, async () => {
      order.push('job-3');
      return 'third';
    });

    // job-1's first stream ends, job-2 takes the slot, and job-1 sends a repair request.
    const reading = (async () => {
      for await (const _part of firstResponse) {
        // Read to the end.
      }
    })();
    firstStream.next();
    await reading;
    const secondResponse = await secondCall;
    const repair = first!.request(undefined, async () => {
      order.push('job-1 again');
      return 'repair';
    });
    await settle();
    expect(order).toEqual(['job-2']);

    const secondReading = (async () => {
      for await (const _part of secondResponse) {
        // Read to the end.
      }
    })();
    secondStream.next();
    await secondReading;
    await repair;
    first!.release();
    await thirdCall;

    expect(order).toEqual(['job-2', 'job-1 again', 'job-3']);
  });

  test('close rejects only jobs that have not generated', async () => {
    const gate = new GenerationGate(1);
    const [first, second, third] = ['job-1', 'job-2', 'job-3'].map((id) => gate.ticket(id));
    const stream = new ManualStream([{ done: true }]);
    const response = await first!.request(undefined, async () => stream);
    const reading = (async () => {
      for await (const _part of response) {
        // Read to the end.
      }
    })();
    stream.next();
    await reading;
    // job-2 holds the slot now; job-1 asks again and job-3 asks for the first time.
    await second!.request(undefined, async () => 'second');
    const blocker = gate.ticket('job-4');
    const holding = blocker.hold();
    await holding;
    const repair = first!.request(undefined, async () => 'repair');
    const newcomer = third!.request(undefined, async () => 'third');

    gate.close(new Error('the daemon is stopping'));
    blocker.release();

    await expect(newcomer).rejects.toThrow('the daemon is stopping');
    expect(await repair).toBe('repair');
  });
});
