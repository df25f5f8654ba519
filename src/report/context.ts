import { UnrecoverableError } from '../errors.js';
import { MIN_TOKEN_BUDGET } from '../evidence/build.js';
import { BYTES_PER_TOKEN } from '../evidence/tokens.js';
import { PROMPT_FIXED_TOKENS } from './prompt.js';
import { REPORT_FIELD_NAMES, REPORT_FIELDS } from './schema.js';

/**
 * The num_ctx values stepper sends. Ollama reloads a model whenever num_ctx changes, so
 * requests use a few fixed sizes instead of one fitted to each prompt, and jobs of similar
 * size share a loaded model.
 */
export const CONTEXT_SIZES = [4096, 8192, 16384, 32768] as const;

/** The largest of CONTEXT_SIZES, and the cap on num_ctx when the caller sets none. */
export const LARGEST_CONTEXT_SIZE = 32768;

/**
 * Assumed context length when /api/show does not report one. 8192 is a guess that most
 * current instruction models meet; a smaller real context shows up as a truncated prompt.
 */
export const UNKNOWN_CONTEXT_LENGTH = 8192;

/**
 * Tokens reserved for the response, sent as num_predict: the longest report REPORT_FIELDS
 * allows, as JSON, estimated at BYTES_PER_TOKEN and rounded up to a multiple of 128. With every
 * field at its limit that is about 4,500 bytes of English, so a complete report always fits,
 * and a model that does not stop is cut off there.
 * NOTE: thinking models spend output tokens on thinking first; this budget does not cover that.
 */
export const OUTPUT_BUDGET_TOKENS = maxReportTokens();

export interface ContextRequest {
  /** `contextLength` from describeModel; undefined when the server did not report it. */
  contextLength: number | undefined;
  /** Estimated tokens of the whole evidence the caller would like to send, such as a first build's estimatedTokens. */
  evidenceTokens: number;
  /** A user's cap on num_ctx, to bound memory. @default the largest of CONTEXT_SIZES */
  maxNumCtx?: number;
}

export interface ContextChoice {
  /** The num_ctx to send. */
  numCtx: number;
  /** The tokenBudget to pass to buildEvidence: what remains of numCtx after the fixed prompt and the response. */
  evidenceTokenBudget: number;
  /** The num_predict to send. */
  numPredict: number;
  /** Whether the evidence wanted fits the budget whole; when false, buildEvidence leaves parts out. */
  fitsWhole: boolean;
}

/** Raised when a model's context cannot fit the fixed prompt, the response and the smallest evidence. */
export class ContextTooSmallError extends UnrecoverableError {
  override name = 'ContextTooSmallError';
  readonly numCtx: number;

  constructor(numCtx: number, needed: number) {
    super(
      `the model's context of ${numCtx} tokens is too small for a report: at least ${needed} tokens are needed; use a model with a longer context`,
    );
    this.numCtx = numCtx;
  }
}

/**
 * Chooses num_ctx: the smallest of CONTEXT_SIZES that fits the fixed prompt, the evidence and
 * the response, and the largest allowed when none does. The result is capped at the model's
 * context length (the server would cap it anyway, and then cut the prompt silently) and at
 * `maxNumCtx`. A model whose context is below 4096 therefore always gets its own length,
 * which is still one stable value per model.
 *
 * @throws ContextTooSmallError when the capped size leaves less than MIN_TOKEN_BUDGET for evidence
 */
export function chooseContext(request: ContextRequest): ContextChoice {
  const evidenceTokens = Math.max(0, Math.ceil(request.evidenceTokens));
  const limit = Math.min(request.contextLength ?? UNKNOWN_CONTEXT_LENGTH, request.maxNumCtx ?? LARGEST_CONTEXT_SIZE);
  const reserved = PROMPT_FIXED_TOKENS + OUTPUT_BUDGET_TOKENS;
  const needed = reserved + evidenceTokens;

  const fitting = CONTEXT_SIZES.find((size) => size >= needed) ?? LARGEST_CONTEXT_SIZE;
  const numCtx = Math.min(fitting, limit);
  const evidenceTokenBudget = numCtx - reserved;
  if (evidenceTokenBudget < MIN_TOKEN_BUDGET) {
    throw new ContextTooSmallError(numCtx, reserved + MIN_TOKEN_BUDGET);
  }

  return { numCtx, evidenceTokenBudget, numPredict: OUTPUT_BUDGET_TOKENS, fitsWhole: evidenceTokens <= evidenceTokenBudget };
}

/**
 * Ratio of prompt_eval_count to the local estimate below which a prompt cannot be whole.
 * BYTES_PER_TOKEN = 3 overestimates: code and English take about 3.5 to 4.5 bytes per token,
 * so a whole prompt counts about 0.65 to 0.85 of the estimate. Below 0.5 more than 6 bytes
 * would share a token, which happens only in long runs of spaces.
 */
export const TRUNCATION_RATIO = 0.5;

/** Below this ratio no tokenizer explains the count (12 bytes per token), whatever num_ctx is. */
export const IMPLAUSIBLE_RATIO = 0.25;

/**
 * Share of num_ctx that a truncated prompt keeps at least: Ollama's runner keeps the first few
 * tokens and about the last half of the window when a prompt does not fit.
 */
export const TRUNCATED_WINDOW_SHARE = 0.4;

/**
 * Tells whether Ollama probably shortened the prompt without an error. It does so only for
 * a prompt longer than num_ctx, and then keeps about half the window. The signs are therefore
 * a prompt_eval_count far below the estimate but still near half of num_ctx or more, or a
 * count that fills num_ctx. A count far below any tokenizer's rate is flagged too. Returns
 * false when the server did not send prompt_eval_count, because nothing can be concluded.
 */
export function isTruncatedPrompt(estimatedTokens: number, promptEvalCount: number | undefined, numCtx: number): boolean {
  if (promptEvalCount === undefined || estimatedTokens <= 0) {
    return false;
  }

  if (promptEvalCount >= numCtx) {
    return true;
  }

  if (promptEvalCount < estimatedTokens * IMPLAUSIBLE_RATIO) {
    return true;
  }

  return promptEvalCount < estimatedTokens * TRUNCATION_RATIO && promptEvalCount >= numCtx * TRUNCATED_WINDOW_SHARE;
}

function maxReportTokens(): number {
  let bytes = 2;
  for (const name of REPORT_FIELD_NAMES) {
    const spec = REPORT_FIELDS[name];
    // Key, quotes, colon, comma and space.
    bytes += name.length + 6;
    if (spec.kind === 'list') {
      bytes += 2 + spec.maxItems * (spec.maxItemLength + 4);
    } else {
      bytes += spec.maxLength + 2;
    }
  }

  return Math.ceil(bytes / BYTES_PER_TOKEN / 128) * 128;
}
