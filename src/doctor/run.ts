import { readGitConfig } from '../config/git-config.js';
import { checkPositiveInteger } from '../errors.js';
import { NotARepositoryError } from '../git/errors.js';
import { openRepository } from '../git/repository.js';
import type { Repository } from '../git/types.js';
import { OllamaClient } from '../ollama/client.js';
import { resolveOllamaHost } from '../ollama/host.js';
import { chooseModel, describeModel, type ModelChoice, type ModelDescription } from '../ollama/model.js';
import { probeOllama } from '../ollama/probe.js';
import { resolveDataDir } from '../store/data-dir.js';
import { daemonCheck } from './daemon.js';
import { dataDirCheck, freeSpaceCheck } from './data-dir.js';
import { databaseIntegrityCheck, databaseJournalCheck } from './database.js';
import { gitCheck } from './git.js';
import { hookCheck } from './hook.js';
import { contextCheck, modelCheck } from './model.js';
import { ollamaCheck, systemLookup } from './ollama.js';
import { messageOf } from './outcome.js';
import type { Check, CheckResult, DataDirResolution, DoctorContext, DoctorOptions } from './types.js';
import { currentFolder } from '../git/current-folder.js';

/**
 * Time each check may take by default, in milliseconds. It is a guess: long enough for a busy
 * Ollama to return a model's metadata, short enough that a hung one does not hold up the run.
 */
export const DEFAULT_CHECK_TIMEOUT_MS = 10_000;

/** The checks in the order they are printed. */
export const CHECKS: readonly Check[] = [
  gitCheck,
  dataDirCheck,
  freeSpaceCheck,
  databaseIntegrityCheck,
  databaseJournalCheck,
  daemonCheck,
  hookCheck,
  ollamaCheck,
  modelCheck,
  contextCheck,
];

/**
 * Runs every check of `stepper doctor` side by side and returns their results in CHECKS order.
 * Checks are independent: one that throws or exceeds `timeoutMs` becomes a `fail` with the
 * error's message, and the others still run. Nothing is started, migrated or repaired.
 * NOTE: SQLite creates the -wal and -shm files of a WAL database when it opens it, even
 * read-only, with the database file's mode, and a read-only connection leaves them behind.
 */
export async function runDiagnostics(options: DoctorOptions = {}): Promise<CheckResult[]> {
  const timeoutMs = checkPositiveInteger('timeoutMs', options.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS);
  const controller = new AbortController();
  const context = createContext(options, timeoutMs, controller.signal);

  try {
    return await Promise.all(CHECKS.map((check) => runCheck(check, context)));
  } finally {
    // Ends Ollama requests that a timed-out check left behind.
    controller.abort();
  }
}

async function runCheck(check: Check, context: DoctorContext): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${formatSeconds(context.timeoutMs)}`)), context.timeoutMs);
  });

  try {
    // The async wrapper turns a synchronous throw into a rejection, so it is caught below too.
    const outcome = await Promise.race([(async () => check.run(context))(), timeout]);
    return { id: check.id, title: check.title, ...outcome };
  } catch (error) {
    return { id: check.id, title: check.title, status: 'fail', detail: messageOf(error) };
  } finally {
    clearTimeout(timer);
  }
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function createContext(options: DoctorOptions, timeoutMs: number, signal: AbortSignal): DoctorContext {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? currentFolder();

  let repository: Promise<Repository | undefined> | undefined;
  let model: Promise<ModelChoice> | undefined;
  let description: Promise<ModelDescription> | undefined;

  const context: DoctorContext = {
    cwd,
    env,
    timeoutMs,
    dataDir: resolveDataDirSafely(env),
    lookup: options.lookup ?? systemLookup,
    probe: options.probe ?? probeOllama,
    modelFlag: options.model,
    repository() {
      repository ??= openRepository(cwd).catch((error: unknown) => {
        if (error instanceof NotARepositoryError) {
          return undefined;
        }

        throw error;
      });
      return repository;
    },
    model() {
      model ??= chooseConfiguredModel(context);
      return model;
    },
    modelDescription() {
      description ??= describeConfiguredModel(context, signal);
      return description;
    },
  };

  return context;
}

function resolveDataDirSafely(env: NodeJS.ProcessEnv): DataDirResolution {
  try {
    return { path: resolveDataDir(env) };
  } catch (error) {
    return { error: error instanceof Error ? error : new Error(String(error)) };
  }
}

/** Chooses the model as `stepper report` does: --model, STEPPER_MODEL, git config stepper.model of the repository, then the default. */
async function chooseConfiguredModel(context: DoctorContext): Promise<ModelChoice> {
  const repo = await context.repository();
  const gitConfig = repo ? await readGitConfig(repo, 'stepper.model') : undefined;
  return chooseModel({ flag: context.modelFlag, env: context.env, gitConfig });
}

async function describeConfiguredModel(context: DoctorContext, signal: AbortSignal): Promise<ModelDescription> {
  const choice = await context.model();
  const client = new OllamaClient({ host: resolveOllamaHost(context.env), timeouts: { requestTimeoutMs: context.timeoutMs } });
  return describeModel(client, choice.name, { signal });
}
