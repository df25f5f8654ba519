import { AsyncLocalStorage } from 'node:async_hooks';

import type { Ollama } from 'ollama';

import { OllamaClient, type OllamaClientOptions, type RequestHooks } from '../ollama/client.js';

/**
 * Limits how many jobs generate with Ollama at once. The daemon's worker runs one job more
 * than this limit, so the next job reads its commit and builds its evidence while the
 * current one generates, and the model does not sit idle between jobs. A job takes a slot
 * with its first chat or generate request and keeps it until the job ends.
 */
export class GenerationGate {
  readonly limit: number;
  #holders = new Set<GateTicket>();
  #waiters: Array<{ ticket: GateTicket; grant: () => void; reject: (error: unknown) => void }> = [];
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

  /** Rejects every waiting and later request with `reason`. Jobs that hold a slot keep it until they end. */
  close(reason: Error): void {
    this.#closed = reason;
    for (const waiter of this.#waiters.splice(0)) {
      waiter.reject(reason);
    }
  }

  /** @internal */
  acquire(ticket: GateTicket, signal?: AbortSignal): Promise<void> {
    if (this.#closed) {
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
      this.#waiters.push({
        ticket,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          this.#holders.add(ticket);
          resolve();
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
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

  constructor(gate: GenerationGate, jobId: string) {
    this.#gate = gate;
    this.jobId = jobId;
  }

  /** Waits until this job holds a slot. Later calls share the first wait unless it failed. */

  hold(signal?: AbortSignal): Promise<void> {
    if (!this.#held) {
      const held = this.#gate.acquire(this, signal);
      // A wait that failed is not kept, so a later request may try again.
      held.catch(() => {
        if (this.#held === held) {
          this.#held = undefined;
        }
      });
      this.#held = held;
    }

    return this.#held;
  }

  release(): void {
    this.#held = undefined;
    this.#gate.release(this);
  }
}

/**
 * An OllamaClient shared by all jobs, whose chat and generate requests made inside
 * `runWithTicket` first wait for that job's generation slot. Other requests, such as
 * /api/show, and requests outside a job pass at once. One client serves every job, so
 * what callers cache per client, such as model descriptions, outlives a job.
 * NOTE: the wait counts against the request's first-token and total watchdogs, as a wait in
 * Ollama's own request queue does.
 */
export class GatedOllamaClient extends OllamaClient {
  readonly #tickets = new AsyncLocalStorage<GateTicket>();

  constructor(options: OllamaClientOptions = {}) {
    super(options);
  }

  /** Runs `task` as the job of `ticket`: every request it makes, awaited or not, carries the ticket. */
  runWithTicket<T>(ticket: GateTicket, task: () => T): T {
    return this.#tickets.run(ticket, task);
  }

  override api(signal?: AbortSignal, hooks: RequestHooks = {}): Ollama {
    const api = super.api(signal, hooks);
    const ticket = this.#tickets.getStore();
    if (!ticket) {
      return api;
    }

    for (const method of ['chat', 'generate'] as const) {
      const original = (api[method] as (request: unknown) => Promise<unknown>).bind(api);
      (api as unknown as Record<string, unknown>)[method] = async (request: unknown) => {
        await ticket.hold(signal);
        return original(request);
      };
    }

    return api;
  }
}
