import type { ShowResponse } from 'ollama';

import { InvalidOptionError } from '../errors.js';
import type { OllamaClient } from './client.js';
import { InvalidRequestError } from './errors.js';

/**
 * The model used when neither --model, STEPPER_MODEL nor git config stepper.model names one.
 * Qwen2.5-Coder 7B Instruct is trained on code and follows a JSON schema well for its size, and
 * Ollama's library ships it as this tag at 4-bit quantization (about 4.7 GB), which runs on a
 * CPU with 8 GB of free memory. Its weights are Apache-2.0 licensed, unlike the 3B size, which
 * has a research-only license, and it does not spend output tokens on a thinking phase the way
 * qwen3 models do by default. Its 32K-token context holds a large diff.
 */
export const DEFAULT_MODEL = 'qwen2.5-coder:7b';

/** Ollama versions from 0.5.0 accept a JSON Schema object as `format`; older ones only "json". */
export const STRUCTURED_OUTPUTS_VERSION = '0.5.0';

/** Origin of the chosen model name; the members are listed in order of precedence. */
export type ModelSource = '--model' | 'STEPPER_MODEL' | 'git config stepper.model' | 'default';

export interface ModelChoice {
  name: string;
  source: ModelSource;
}

export interface ModelSettings {
  /** The --model option; an empty string is an error, because it was given on purpose. */
  flag?: string;
  /** Environment that STEPPER_MODEL is read from; an empty value counts as unset. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** The value of `git config stepper.model`, read by the caller; empty counts as unset. */
  gitConfig?: string;
}

/** Picks the model name: --model, then STEPPER_MODEL, then git config stepper.model, then DEFAULT_MODEL. */
export function chooseModel(settings: ModelSettings = {}): ModelChoice {
  if (settings.flag !== undefined) {
    return { name: checkModelName('--model', settings.flag), source: '--model' };
  }

  const fromEnv = (settings.env ?? process.env).STEPPER_MODEL?.trim();
  if (fromEnv) {
    return { name: checkModelName('STEPPER_MODEL', fromEnv), source: 'STEPPER_MODEL' };
  }

  const fromGit = settings.gitConfig?.trim();
  if (fromGit) {
    return { name: checkModelName('git config stepper.model', fromGit), source: 'git config stepper.model' };
  }

  return { name: DEFAULT_MODEL, source: 'default' };
}

/** Checks the shape Ollama requires of a name, `[host[:port]/][namespace/]model[:tag]`, so a typo fails before any request. */
function checkModelName(option: string, value: string): string {
  const name = value.trim();
  if (name.length > 350 || !/^[A-Za-z0-9][A-Za-z0-9._-]*(:\d+)?(\/[A-Za-z0-9][A-Za-z0-9._-]*)*(:[A-Za-z0-9_][A-Za-z0-9._-]*)?$/.test(name)) {
    throw new InvalidOptionError(option, 'an Ollama model name such as qwen2.5-coder:7b ([namespace/]model[:tag])', value);
  }

  return name;
}

/** Limits and capabilities of a model, and facts about the server that runs it. */
export interface ModelDescription {
  /** The name as requested. */
  name: string;
  /** The context length the model was trained for (`<arch>.context_length`); the server caps num_ctx at it. */
  contextLength: number | undefined;
  /** `PARAMETER num_ctx` of the Modelfile, the default when a request sets no num_ctx. */
  modelfileNumCtx: number | undefined;
  /** Such as completion, tools, thinking, vision; undefined from servers before 0.6.4, which do not report them. */
  capabilities: string[] | undefined;
  /** The manifest digest from /api/tags, which identifies the exact weights. */
  digest: string | undefined;
  family: string | undefined;
  parameterSize: string | undefined;
  quantizationLevel: string | undefined;
  /** From /api/version; undefined when the server is too old to have it. */
  serverVersion: string | undefined;
  /** Whether `format` may be a JSON Schema object (server 0.5.0 or later). */
  structuredOutputs: boolean;
}

/**
 * Reads a model's limits and capabilities from /api/show, its digest from /api/tags, and the
 * server version from /api/version.
 *
 * @throws ModelNotFoundError when the model is not installed, or another classified Ollama error
 */
export async function describeModel(client: OllamaClient, name: string, options: { signal?: AbortSignal } = {}): Promise<ModelDescription> {
  const requestOptions = { signal: options.signal, model: name };
  const show = await client.request((api) => api.show({ model: name }), requestOptions);
  const [serverVersion, digest] = await Promise.all([
    readServerVersion(client, options.signal),
    client.request((api) => api.list(), requestOptions).then((list) => findDigest(list.models, name)),
  ]);

  const details = (show.details ?? {}) as Partial<ShowResponse['details']> & { context_length?: unknown };
  return {
    name,
    contextLength: contextLengthOf(show) ?? positiveInteger(details.context_length),
    modelfileNumCtx: modelfileNumCtx(show.parameters),
    capabilities: Array.isArray(show.capabilities) ? [...show.capabilities] : undefined,
    digest,
    family: stringOrUndefined(details.family),
    parameterSize: stringOrUndefined(details.parameter_size),
    quantizationLevel: stringOrUndefined(details.quantization_level),
    serverVersion,
    structuredOutputs: serverVersion !== undefined && supportsStructuredOutputs(serverVersion),
  };
}

/** Compares release numbers only, so 0.5.0-rc1 counts as 0.5.0. Source builds report 0.0.0 and count as current. */
export function supportsStructuredOutputs(version: string): boolean {
  const parts = parseVersion(version);
  if (parts === undefined) {
    return false;
  }

  if (parts.every((part) => part === 0)) {
    return true;
  }

  return compareVersions(parts, parseVersion(STRUCTURED_OUTPUTS_VERSION) as number[]) >= 0;
}

async function readServerVersion(client: OllamaClient, signal: AbortSignal | undefined): Promise<string | undefined> {
  try {
    const { version } = await client.request((api) => api.version(), { signal });
    return typeof version === 'string' ? version : undefined;
  } catch (error) {
    // Servers before 0.1.14 have no /api/version and return 404.
    if (error instanceof InvalidRequestError && error.status === 404) {
      return undefined;
    }

    throw error;
  }
}

/** Reads `<arch>.context_length`, or any numeric `*.context_length` key when the architecture key is missing. */
function contextLengthOf(show: ShowResponse): number | undefined {
  // ollama-js declares model_info as a Map, but it is the parsed JSON object.
  const raw: unknown = show.model_info;
  const info: Record<string, unknown> = raw instanceof Map ? Object.fromEntries(raw) : ((raw ?? {}) as Record<string, unknown>);

  const architecture = info['general.architecture'];
  if (typeof architecture === 'string') {
    const value = positiveInteger(info[`${architecture}.context_length`]);
    if (value !== undefined) {
      return value;
    }
  }

  for (const [key, value] of Object.entries(info)) {
    if (key.endsWith('.context_length') && positiveInteger(value) !== undefined) {
      return value as number;
    }
  }

  return undefined;
}

// Each Modelfile PARAMETER is one line, the name padded to 30 columns, such as "num_ctx    8192".
function modelfileNumCtx(parameters: unknown): number | undefined {
  if (typeof parameters !== 'string') {
    return undefined;
  }

  const match = /^num_ctx\s+(\d+)\s*$/m.exec(parameters);
  return match ? positiveInteger(Number(match[1])) : undefined;
}

function findDigest(models: Array<{ name?: string; model?: string; digest?: string }> | undefined, name: string): string | undefined {
  const wanted = withTag(name);
  const entry = (models ?? []).find((model) => [model.name, model.model].some((candidate) => candidate !== undefined && withTag(candidate) === wanted));
  return stringOrUndefined(entry?.digest);
}

/**
 * Normalises a name the way Ollama compares names: the default registry and the `library/`
 * namespace are dropped and the default tag is added, so `library/qwen2.5-coder` equals
 * `qwen2.5-coder:latest`.
 */
function withTag(name: string): string {
  const short = name.replace(/^registry\.ollama\.ai\//, '').replace(/^library\//, '');
  const lastSegment = short.slice(short.lastIndexOf('/') + 1);
  return lastSegment.includes(':') ? short : `${short}:latest`;
}

function parseVersion(version: string): number[] | undefined {
  const match = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  return match ? match.slice(1, 4).map(Number) : undefined;
}

function compareVersions(left: number[], right: number[]): number {
  for (let index = 0; index < Math.max(left.length, right.length); index += 1) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) {
      return difference;
    }
  }

  return 0;
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
