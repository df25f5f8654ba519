/** Awaits `promise` and returns what it rejected with; a promise that fulfils fails the test. */
export async function captureError(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }

  throw new Error('expected a rejection');
}
