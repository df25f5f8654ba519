import { runDiagnostics } from '../../doctor/run.js';
import { InvalidOptionError } from '../../errors.js';
import { chooseModel } from '../../ollama/model.js';
import { CommandExit } from '../exit.js';
import { renderDoctor } from '../render/doctor.js';
import { paintFor } from '../render/paint.js';

/** Largest --timeout: an hour is longer than any check needs, and keeps the timer in setTimeout's range. */
const MAX_TIMEOUT_SECONDS = 3600;

export interface DoctorCommandOptions {
  json?: boolean;
  model?: string;
  /** Time each check may take, in seconds. */
  timeout?: number;
}

/**
 * Runs every check and prints the results. Exits 1 when any check failed and 0 otherwise,
 * warnings included, so a script can gate on `stepper doctor`.
 */
export async function runDoctor(options: DoctorCommandOptions): Promise<void> {
  if (options.timeout !== undefined && (options.timeout < 1 || options.timeout > MAX_TIMEOUT_SECONDS)) {
    throw new InvalidOptionError('--timeout', `a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}`, options.timeout);
  }

  // A mistyped --model is a usage error, unlike an invalid STEPPER_MODEL, which a check reports.
  if (options.model !== undefined) {
    chooseModel({ flag: options.model });
  }

  const results = await runDiagnostics({
    model: options.model,
    ...(options.timeout === undefined ? {} : { timeoutMs: options.timeout * 1000 }),
  });
  const ok = results.every((result) => result.status !== 'fail');

  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ok, checks: results }, null, 2)}\n`);
  } else {
    process.stdout.write(renderDoctor(results, await paintFor(process.stdout)));
  }

  if (!ok) {
    throw new CommandExit(1);
  }
}
