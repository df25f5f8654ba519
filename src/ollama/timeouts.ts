import { InvalidOptionError, InvalidSettingError } from '../errors.js';

/**
 * Largest delay setTimeout and setInterval accept (2^31 - 1 ms, about 24.8 days). Node fires a
 * larger one after 1 ms instead, with a TimeoutOverflowWarning, so every millisecond setting
 * that reaches a timer is capped at this value.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/** stepper's own time limits on Ollama requests, in milliseconds. */
export interface OllamaTimeouts {
  /**
   * From sending a chat request to its first streamed chunk. Ollama sends nothing, not even
   * response headers, while the request waits for the model, the model loads and the prompt is
   * evaluated, so this covers all three.
   * @default 900000 (15 minutes)
   */
  firstTokenTimeoutMs: number;
  /** Maximum gap between two streamed chunks once the first arrived. @default 300000 (5 minutes) */
  idleTimeoutMs: number;
  /** From sending a chat request to its last chunk. @default 3600000 (60 minutes) */
  totalTimeoutMs: number;
  /** Whole duration of a request that generates nothing, such as /api/show or /api/version. @default 60000 */
  requestTimeoutMs: number;
}

/**
 * Defaults sized for CPU-only machines, the slowest setup stepper supports. The numbers below are
 * estimates for a 7B model at 4-bit quantization, not measurements.
 * - firstTokenTimeoutMs, 15 minutes: the request may first wait behind another one, because
 *   Ollama runs one request per model at a time by default. Loading the model may then take
 *   minutes, and Ollama itself gives up on a stalled load after 5 minutes. An old CPU may then
 *   evaluate the prompt at a few tokens per second, so a diff of a few thousand tokens alone
 *   takes about 10 minutes.
 * - idleTimeoutMs, 5 minutes: once generation runs, chunks arrive every few seconds at worst, so
 *   a gap this long means the runner is stuck.
 * - totalTimeoutMs, 60 minutes: the first-token allowance plus about 1,000 output tokens at one
 *   token per second, with room for models that think before they answer.
 * - requestTimeoutMs, 1 minute: /api/show, /api/tags and /api/version read metadata and load
 *   no model.
 */
export const DEFAULT_OLLAMA_TIMEOUTS: Readonly<OllamaTimeouts> = Object.freeze({
  firstTokenTimeoutMs: 15 * 60_000,
  idleTimeoutMs: 5 * 60_000,
  totalTimeoutMs: 60 * 60_000,
  requestTimeoutMs: 60_000,
});

/**
 * The environment variable that sets each time limit, in milliseconds. The daemon inherits
 * them from the command that starts it, so a slow machine sets them once in the shell.
 */
export const OLLAMA_TIMEOUT_ENV_VARIABLES: Readonly<Record<keyof OllamaTimeouts, string>> = Object.freeze({
  firstTokenTimeoutMs: 'STEPPER_OLLAMA_FIRST_TOKEN_MS',
  idleTimeoutMs: 'STEPPER_OLLAMA_IDLE_MS',
  totalTimeoutMs: 'STEPPER_OLLAMA_TOTAL_MS',
  requestTimeoutMs: 'STEPPER_OLLAMA_REQUEST_MS',
});

/** Fills in and checks the time limits; each must be a whole number of milliseconds that setTimeout accepts. */
export function resolveTimeouts(timeouts: Partial<OllamaTimeouts> = {}): Readonly<OllamaTimeouts> {
  const resolved = { ...DEFAULT_OLLAMA_TIMEOUTS };
  for (const key of Object.keys(DEFAULT_OLLAMA_TIMEOUTS) as Array<keyof OllamaTimeouts>) {
    const value = timeouts[key];
    if (value === undefined) {
      continue;
    }

    if (!Number.isSafeInteger(value) || value < 1 || value > MAX_TIMER_MS) {
      throw new InvalidOptionError(key, `an integer from 1 to ${MAX_TIMER_MS} (milliseconds)`, value);
    }

    resolved[key] = value;
  }

  return Object.freeze(resolved);
}

/**
 * Reads the time limits set by OLLAMA_TIMEOUT_ENV_VARIABLES. Raises InvalidOptionError, naming
 * the variable and its default, for a value that is not a whole number of milliseconds that
 * setTimeout accepts.
 */
export function readTimeoutsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<OllamaTimeouts> {
  const timeouts: Partial<OllamaTimeouts> = {};
  for (const [key, variable] of Object.entries(OLLAMA_TIMEOUT_ENV_VARIABLES) as Array<[keyof OllamaTimeouts, string]>) {
    const raw = env[variable]?.trim();
    if (raw === undefined || raw === '') {
      continue;
    }

    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < 1 || value > MAX_TIMER_MS) {
      throw new InvalidSettingError(variable, `a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`, env[variable] ?? raw, DEFAULT_OLLAMA_TIMEOUTS[key]);
    }

    timeouts[key] = value;
  }

  return timeouts;
}

