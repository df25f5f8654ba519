import { RetryLaterError } from '../errors.js';
import type { OllamaClient } from '../ollama/client.js';
import type { DaemonLogger } from './log.js';
import { type OllamaState, describeHeldModel, describeUnreachable } from './state.js';

/** The worker's claim controls, which the monitor uses to stop and restart claiming. */
export interface ClaimControl {
  pause(): void;
  resume(): void;
  wake(): void;
}

export interface OllamaMonitorOptions {
  client: OllamaClient;
  logger: DaemonLogger;
  /** First wait between probes in milliseconds, doubled after each failure. */
  probeMs: number;
  /** Maximum wait between probes, in milliseconds. */
  probeMaxMs: number;
  /** Called after every change of state, detail or held models. */
  onChange: () => void;
}

interface HeldModel {
  pullCommand: string;
  delayMs: number;
  timer?: NodeJS.Timeout;
}

/**
 * Tracks whether Ollama is reachable and which models are missing. When a job finds Ollama
 * unreachable, claiming pauses and Ollama is probed with a doubling wait up to
 * `probeMaxMs`, and claiming resumes once a probe succeeds. A job whose model is not installed
 * puts that model on hold: its jobs stay waiting, other models' jobs go on, and the model is
 * looked up with the same backoff until it appears. In both cases the job is released, so
 * no attempt is spent.
 */
export class OllamaMonitor {
  readonly host: string;
  readonly #options: OllamaMonitorOptions;
  readonly #held = new Map<string, HeldModel>();
  #state: OllamaState = 'unknown';
  #unreachableDetail = '';
  #probeDelayMs: number;
  #probeTimer?: NodeJS.Timeout;
  #claims?: ClaimControl;
  #stopped = false;

  constructor(options: OllamaMonitorOptions) {
    this.#options = options;
    this.host = options.client.host.url;
    this.#probeDelayMs = options.probeMs;
  }

  get state(): OllamaState {
    return this.#state;
  }

  /** Models whose jobs are held because the model is not installed. */
  get heldModels(): string[] {
    return [...this.#held.keys()];
  }

  /** Status line for `stepper daemon status`, or null while Ollama is reachable and no model is held. */

  get detail(): string | null {
    const parts: string[] = [];
    if (this.#state === 'unreachable') {
      parts.push(describeUnreachable(this.host, this.#unreachableDetail));
    }

    for (const [model, held] of this.#held) {
      parts.push(describeHeldModel({ model, pullCommand: held.pullCommand }));
    }

    return parts.length === 0 ? null : parts.join('; ');
  }

  /** Connects the worker whose claiming the monitor pauses and resumes. */
  attach(claims: ClaimControl): void {
    this.#claims = claims;
  }

  /**
   * Runs each job through `run` and turns "Ollama unreachable" and "model not found" into
   * a release without an attempt spent, after pausing claims or holding the model.
   */
  async guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      const result = await run();
      this.#markReachable();
      return result;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'OLLAMA_UNREACHABLE') {
        this.#markUnreachable(error as Error);
        throw new RetryLaterError(`Ollama at ${this.host} is unreachable (${this.#unreachableDetail})`, 0, { cause: error });
      }

      if (code === 'OLLAMA_MODEL_NOT_FOUND') {
        const { model, pullCommand } = error as { model?: unknown; pullCommand?: unknown };
        if (typeof model === 'string' && typeof pullCommand === 'string') {
          this.#hold(model, pullCommand);
          throw new RetryLaterError(`model ${JSON.stringify(model)} not found: run "${pullCommand}"`, 0, { cause: error });
        }
      }

      if (typeof code === 'string' && code.startsWith('OLLAMA_')) {
        this.#markReachable();
      }

      throw error;
    }
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#probeTimer);
    for (const held of this.#held.values()) {
      clearTimeout(held.timer);
    }
  }

  #markReachable(): void {
    if (this.#state === 'ok') {
      return;
    }

    const wasDown = this.#state === 'unreachable';
    this.#state = 'ok';
    this.#probeDelayMs = this.#options.probeMs;
    clearTimeout(this.#probeTimer);
    if (wasDown) {
      this.#options.logger.info(`Ollama at ${this.host} is reachable again; claiming resumes`);
      this.#claims?.resume();
    }

    this.#options.onChange();
  }

  #markUnreachable(error: Error): void {
    this.#unreachableDetail = (error as { reason?: unknown }).reason === undefined ? error.message : String((error as { reason?: unknown }).reason);
    if (this.#state === 'unreachable') {
      return;
    }

    this.#state = 'unreachable';
    this.#claims?.pause();
    this.#options.logger.warn(`${describeUnreachable(this.host, this.#unreachableDetail)}; claiming paused`);
    this.#options.onChange();
    this.#scheduleProbe();
  }

  #scheduleProbe(): void {
    if (this.#stopped) {
      return;
    }

    clearTimeout(this.#probeTimer);
    this.#probeTimer = setTimeout(() => void this.#probe(), this.#probeDelayMs);
  }

  async #probe(): Promise<void> {
    try {
      await this.#options.client.request((api) => api.version());
      this.#markReachable();
    } catch (error) {
      if (this.#stopped) {
        return;
      }

      this.#probeDelayMs = Math.min(this.#probeDelayMs * 2, this.#options.probeMaxMs);
      const code = (error as { code?: unknown }).code;
      if (code !== 'OLLAMA_UNREACHABLE') {
        // A server responds, but not as Ollama does yet (it may still be starting), so probing goes on.
        this.#unreachableDetail = (error as Error).message;
      }

      this.#scheduleProbe();
    }
  }

  #hold(model: string, pullCommand: string): void {
    if (this.#held.has(model)) {
      return;
    }

    this.#held.set(model, { pullCommand, delayMs: this.#options.probeMs });
    this.#options.logger.warn(`holding the jobs of model ${JSON.stringify(model)}: it is not installed on Ollama at ${this.host}; run "${pullCommand}"`);
    this.#options.onChange();
    this.#scheduleModelCheck(model);
  }

  #scheduleModelCheck(model: string): void {
    const held = this.#held.get(model);
    if (!held || this.#stopped) {
      return;
    }

    held.timer = setTimeout(() => void this.#checkModel(model), held.delayMs);
  }

  async #checkModel(model: string): Promise<void> {
    const held = this.#held.get(model);
    if (!held) {
      return;
    }

    try {
      await this.#options.client.request((api) => api.show({ model }), { model });
      this.#held.delete(model);
      this.#options.logger.info(`model ${JSON.stringify(model)} is installed now; its jobs run again`);
      this.#options.onChange();
      this.#claims?.wake();
    } catch {
      held.delayMs = Math.min(held.delayMs * 2, this.#options.probeMaxMs);
      this.#scheduleModelCheck(model);
    }
  }
}
