import type { Ollama } from 'ollama';

import { OllamaClient, type OllamaClientOptions, type RequestHooks, signalLineage } from '../ollama/client.js';

/**
 * Limits how many jobs generate with Ollama at once. The daemon's worker runs one job more
 * than this limit, so the next job reads its commit and builds its evidence while the
 * current one generates, and the model does not sit idle between jobs. A job holds a slot
 * from its chat or generate request until that response's final chunk arrives, so the next
 * job's request goes out while the first job parses its answer and commits its completion.
 * A job that sends another request, such as a repair call, waits ahead of jobs that have not
 * generated yet.
 */
export class GenerationGate {
  readonly limit: number;
  #holders = new Set<GateTicket>();
  #waiters: Array<{ ticket: GateTicket; resumed: boolean; grant: () => void; reject: (error: unknown) => void }> = [];
  #closed?: Error;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Creates the ticket of one job, which takes a slot on the job's first request. */
  ticket(jobId: string): GateTicket {
    return new GateTicket(this, jobId);
  }

  /** Ids of the jobs that hold a slot, in the order they took it. */
  get holders(): string[] {
    return [...this.#holders].map((ticket) => ticket.jobId);
  }

  /**
   * Rejects the waiting and later requests of jobs that have not generated yet with `reason`.
   * Jobs that have generated keep getting slots for their further requests until they end.
   */
  close(reason: Error): void {
    this.#closed = reason;
    const rejected = this.#waiters.filter((waiter) => !waiter.resumed);
    this.#waiters = this.#waiters.filter((waiter) => waiter.resumed);
    for (const waiter of rejected) {
      waiter.reject(reason);
    }
  }

  /**
   * @internal
   * `resumed` marks a job that has held a slot before: it waits ahead of the others.
   */
  acquire(ticket: GateTicket, signal: AbortSignal | undefined, resumed: boolean): Promise<void> {
    if (this.#closed && !resumed) {
      return Promise.reject(this.#closed);
    }

    if (this.#holders.size < this.limit) {
      this.#holders.add(ticket);
      return Promise.resolve();
    }

    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters = this.#waiters.filter((waiter) => waiter.ticket !== ticket);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const waiter = {
        ticket,
        resumed,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.#holders.add(ticket);
          resolve();
        },
        reject: (error: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };

      // Resumed jobs keep their order among themselves, ahead of every job that has not generated.
      const firstNew = resumed ? this.#waiters.findIndex((other) => !other.resumed) : -1;
      if (firstNew === -1) {
        this.#waiters.push(waiter);
      } else {
        this.#waiters.splice(firstNew, 0, waiter);
      }
    });
  }

  /** @internal */
  release(ticket: GateTicket): void {
    if (!this.#holders.delete(ticket)) {
      this.#waiters = this.#waiters.filter((waiter) => waiter.ticket !== ticket);
      return;
    }

    this.#waiters.shift()?.grant();
  }
}

/** One job's claim on a generation slot. */
export class GateTicket {
  readonly jobId: string;
  readonly #gate: GenerationGate;
  #held?: Promise<void>;
  /** Requests of this job that hold or wait for the slot. */
  #inFlight = 0;
  #generated = false;

  constructor(gate: GenerationGate, jobId: string) {
    this.#gate = gate;
    this.jobId = jobId;
  }

  /** Waits until this job holds a slot. Later calls share the first wait unless it failed. */
  hold(signal?: AbortSignal): Promise<void> {
    if (!this.#held) {
      const held = this.#gate.acquire(this, signal, this.#generated);
      // A wait that failed is not kept, so a later request may try again.
      held.then(
        () => {
          this.#generated = true;
        },
        () => {
          if (this.#held === held) {
            this.#held = undefined;
          }
        },
      );
      this.#held = held;
    }

    return this.#held;
  }

  /**
   * Sends one request of this job once it holds a slot. The slot is given up when the last
   * of the job's requests in flight ends: at a stream's final chunk, when a stream ends or
   * is left early, or when a request without a stream settles.
   */
  async request<T>(signal: AbortSignal | undefined, send: () => Promise<T>): Promise<T> {
    // Counted before the wait, so a request that ends meanwhile does not give up the slot
    // that this one is about to use.
    this.#inFlight += 1;
    let ended = false;
    const end = () => {
      if (!ended) {
        ended = true;
        this.#endRequest();
      }
    };

    let response: T;
    try {
      await this.hold(signal);
      response = await send();
    } catch (error) {
      end();
      throw error;
    }

    if (isAsyncIterable(response)) {
      endWithStream(response, end);
    } else {
      end();
    }

    return response;
  }

  /** Gives up the slot when the job ends, whatever its requests did. */
  release(): void {
    this.#held = undefined;
    this.#gate.release(this);
  }

  #endRequest(): void {
    this.#inFlight -= 1;
    if (this.#inFlight === 0) {
      this.release();
    }
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * Makes iterating `stream` call `end` at the final chunk (`done: true`), before the caller
 * sees it, or when the iteration stops in any other way. Other properties of the stream,
 * such as ollama-js's abort(), stay as they are.
 */
function endWithStream(stream: AsyncIterable<unknown>, end: () => void): void {
  const iterate = stream[Symbol.asyncIterator].bind(stream);
  const source: AsyncIterable<unknown> = { [Symbol.asyncIterator]: iterate };
  Object.defineProperty(stream, Symbol.asyncIterator, {
    configurable: true,
    writable: true,
    value: async function* () {
      try {
        for await (const part of source) {
          if ((part as { done?: unknown } | null)?.done === true) {
            end();
          }

          yield part;
        }
      } finally {
        end();
      }
    },
  });
}

/**
 * An OllamaClient shared by all jobs, whose chat and generate requests first wait for the
 * generation slot of the job they belong to. A request belongs to a job when its signal is
 * the job's signal bound with `bindTicket`, or follows it through followSignal, as the
 * signals of streamChat and OllamaClient.request do. Other requests, such as /api/show, and
 * requests outside a job pass at once. One client serves every job, so what callers cache
 * per client, such as model descriptions, outlives a job.
 * NOTE: the wait counts against the request's first-token and total watchdogs, as a wait in
 * Ollama's own request queue does.
 */
export class GatedOllamaClient extends OllamaClient {
  // Signals, not AsyncLocalStorage: on Node 20 an AsyncLocalStorage turns on promise hooks
  // for every promise of the process, which cost 0.18 ms per job (8%) in bench/daemon.
  readonly #tickets = new WeakMap<AbortSignal, GateTicket>();

  constructor(options: OllamaClientOptions = {}) {
    super(options);
  }

  /** Makes every request aborted by `signal`, the job's signal, wait for the slot of `ticket`. */
  bindTicket(signal: AbortSignal, ticket: GateTicket): void {
    this.#tickets.set(signal, ticket);
  }

  override api(signal?: AbortSignal, hooks: RequestHooks = {}): Ollama {
    const api = super.api(signal, hooks);
    const ticket = this.#ticketOf(signal);
    if (!ticket) {
      return api;
    }

    for (const method of ['chat', 'generate'] as const) {
      const original = (api[method] as (request: unknown) => Promise<unknown>).bind(api);
      (api as unknown as Record<string, unknown>)[method] = (request: unknown) => ticket.request(signal, () => original(request));
    }

    return api;
  }

  #ticketOf(signal: AbortSignal | undefined): GateTicket | undefined {
    for (const source of signalLineage(signal)) {
      const ticket = this.#tickets.get(source);
      if (ticket) {
        return ticket;
      }
    }

    return undefined;
  }
}
