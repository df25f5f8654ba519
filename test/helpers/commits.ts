import { createHash } from 'node:crypto';

/** Returns a well-formed commit id made from `label`, for jobs that need no real commit. */
export function fakeSha(label: string): string {
  return createHash('sha1').update(label).digest('hex');
}
