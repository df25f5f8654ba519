import type { LookupAddress } from 'node:dns';

import type { Repository } from '../git/types.js';
import type { OllamaHost } from '../ollama/host.js';
import type { ModelChoice, ModelDescription } from '../ollama/model.js';
import type { ProbeResult } from '../ollama/probe.js';

/** Outcome of one check: `skip` when it does not apply, such as the hook check outside a repository. */
export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** One line of `stepper doctor`. The keys are part of the JSON contract. */
export interface CheckResult {
  /** Stable identifier, such as `database-integrity`. */
  id: string;
  title: string;
  status: CheckStatus;
  /** Finding of the check, in one line. */
  detail: string;
  /** Action that resolves a warning or failure, such as a command to run. */
  fix?: string;
}

/** A check's own result, before the runner adds its id and title. */
export type CheckOutcome = Omit<CheckResult, 'id' | 'title'>;

/** Resolves a host name to all of its addresses in the system resolver's order, as `dns.lookup` with `all: true` does. */
export type HostLookup = (hostname: string) => Promise<LookupAddress[]>;

/** Requests Ollama's version, as probeOllama does. */
export type OllamaProbe = (host: OllamaHost, timeoutMs: number) => Promise<ProbeResult>;

export interface DoctorOptions {
  /** A folder inside the repository whose hooks and `stepper.model` are checked. @default process.cwd() */
  cwd?: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  /** The --model option; wins over STEPPER_MODEL and git config stepper.model. */
  model?: string;
  /** Time each check may take, in milliseconds. @default DEFAULT_CHECK_TIMEOUT_MS */
  timeoutMs?: number;
  /** Resolver for the `localhost` check. @default dns.lookup with all addresses in system order */
  lookup?: HostLookup;
  /** Ollama probe. @default probeOllama */
  probe?: OllamaProbe;
}

/** The data directory, or the error that resolving it raised (an invalid STEPPER_HOME). */
export type DataDirResolution = { path: string; error?: undefined } | { path?: undefined; error: Error };

/** Values the checks share. Each lazy value is computed once, by the first check that needs it. */
export interface DoctorContext {
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  dataDir: DataDirResolution;
  lookup: HostLookup;
  probe: OllamaProbe;
  modelFlag: string | undefined;
  /** The repository around `cwd`, or undefined outside one. */
  repository(): Promise<Repository | undefined>;
  /** The model stepper would use; raises InvalidOptionError for an invalid name. */
  model(): Promise<ModelChoice>;
  /** The model's description from Ollama; raises the Ollama errors of describeModel. */
  modelDescription(): Promise<ModelDescription>;
}

/** One check: `run` may throw, and the runner turns the error into a failure. */
export interface Check {
  id: string;
  title: string;
  run(context: DoctorContext): Promise<CheckOutcome> | CheckOutcome;
}
