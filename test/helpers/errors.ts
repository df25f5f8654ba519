/** Awaits `promise` and returns what it rejected with; a promise that fulfils fails the test. */
export async function captureError(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }

  throw new Error('expected a rejection');
}

/** Runs `action` and returns what it threw; an action that returns fails the test. */
export function captureThrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }

  throw new Error('expected a throw');
}
