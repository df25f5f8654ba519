/**
 * Bytes per token assumed when estimating. Code and diffs tokenize at roughly 3 to 4 bytes
 * per token with common model tokenizers; 3 overestimates, so a prompt sized with it fits.
 * NOTE: an estimate, not a tokenizer; the report generator compares it with Ollama's count.
 */
export const BYTES_PER_TOKEN = 3;

/** Estimates how many tokens `text` costs a model. */
export function estimateTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / BYTES_PER_TOKEN);
}

/** Converts a token count to the bytes of text it is assumed to buy. */
export function tokensToBytes(tokens: number): number {
  return Math.max(0, Math.floor(tokens * BYTES_PER_TOKEN));
}
