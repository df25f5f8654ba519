// The fake's installed-model table and the bodies of /api/tags, /api/show, /api/ps and /api/pull.

import { createHash } from 'node:crypto';

import { formatParameterLine } from './go-format.mjs';
import { isVersionAtLeast } from './versions.mjs';

/** Models installed when the options name none: one plain coder model and one thinking model. */
export const DEFAULT_MODELS = [
  {
    name: 'qwen2.5-coder:7b',
    family: 'qwen2',
    parameterSize: '7.6B',
    quantizationLevel: 'Q4_K_M',
    size: 4_683_087_332,
    contextLength: 32_768,
    embeddingLength: 3584,
    parameterCount: 7_615_616_512,
    blockCount: 28,
    capabilities: ['completion', 'tools', 'insert'],
    parameters: { stop: ['<|endoftext|>', '<|im_end|>'] },
    modifiedAt: '2026-05-10T08:06:48.639712648-07:00',
  },
  {
    name: 'qwen3:8b',
    family: 'qwen3',
    parameterSize: '8.2B',
    quantizationLevel: 'Q4_K_M',
    size: 5_225_387_923,
    contextLength: 40_960,
    embeddingLength: 4096,
    parameterCount: 8_190_735_360,
    blockCount: 36,
    capabilities: ['completion', 'tools', 'thinking'],
    parameters: { repeat_penalty: 1, stop: ['<|im_start|>', '<|im_end|>'], temperature: 0.6, top_k: 20, top_p: 0.95 },
    modifiedAt: '2026-04-29T19:11:02.5123-07:00',
  },
];

/**
 * Normalises a model name the way Ollama compares names: the default registry host and the
 * `library/` namespace are dropped, and a name without a tag gets `:latest`.
 */
export function normalizeModelName(name) {
  let short = name;
  for (const prefix of ['registry.ollama.ai/', 'library/']) {
    if (short.startsWith(prefix)) {
      short = short.slice(prefix.length);
    }
  }

  const colon = short.lastIndexOf(':');
  return colon > short.lastIndexOf('/') ? short : `${short}:latest`;
}

function sha256Hex(text) {
  return createHash('sha256').update(text).digest('hex');
}

function requirePositiveInteger(value, field, name) {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(`model ${name}: ${field} must be a positive integer, got ${JSON.stringify(value)}`);
  }
}

/** Validates one model description from the options and fills in the defaults. */
export function normalizeModel(input) {
  if (typeof input !== 'object' || input === null || typeof input.name !== 'string' || input.name === '') {
    throw new TypeError(`a fake model needs a non-empty string name, got ${JSON.stringify(input)}`);
  }

  const name = normalizeModelName(input.name);
  const family = input.family ?? 'llama';
  const digest = (input.digest ?? sha256Hex(`manifest:${name}`)).replace(/^sha256:/, '');
  if (!/^[0-9a-f]{64}$/.test(digest)) {
    throw new TypeError(`model ${name}: digest must be 64 lowercase hex digits, got ${JSON.stringify(input.digest)}`);
  }

  const contextLength = input.contextLength === undefined ? 8192 : input.contextLength;
  if (contextLength !== null) {
    requirePositiveInteger(contextLength, 'contextLength', name);
  }

  const size = input.size ?? 2_019_393_189;
  requirePositiveInteger(size, 'size', name);

  return {
    name,
    digest,
    size,
    sizeVram: input.sizeVram ?? size,
    modifiedAt: input.modifiedAt ?? '2026-03-02T11:20:31.418925731Z',
    details: {
      parent_model: input.details?.parent_model ?? '',
      format: input.details?.format ?? 'gguf',
      family,
      families: input.details?.families ?? [family],
      parameter_size: input.parameterSize ?? input.details?.parameter_size ?? '3.2B',
      quantization_level: input.quantizationLevel ?? input.details?.quantization_level ?? 'Q4_K_M',
    },
    architecture: input.architecture ?? family,
    contextLength,
    embeddingLength: input.embeddingLength ?? 3072,
    parameterCount: input.parameterCount ?? 3_212_749_888,
    blockCount: input.blockCount ?? 28,
    capabilities: input.capabilities ?? ['completion'],
    parameters: input.parameters ?? {},
    template: input.template ?? '{{ if .System }}{{ .System }}\n{{ end }}{{ .Prompt }}',
    system: input.system ?? '',
    license: input.license ?? '',
    modelInfo: input.modelInfo ?? {},
  };
}

/** Finds an installed model by the name a request sent, or returns undefined. */
export function findModel(models, requestedName) {
  const normalized = normalizeModelName(requestedName);
  return models.find((model) => model.name === normalized);
}

/** Builds the /api/tags body: every installed model, newest `modified_at` first. */
export function tagsBody(models) {
  const entries = models.map((model) => ({
    name: model.name,
    model: model.name,
    modified_at: model.modifiedAt,
    size: model.size,
    digest: model.digest,
    details: model.details,
  }));
  entries.sort((left, right) => Date.parse(right.modified_at) - Date.parse(left.modified_at));
  return { models: entries };
}

function parameterLines(parameters) {
  const lines = [];
  for (const [key, value] of Object.entries(parameters)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      lines.push(formatParameterLine(key, item));
    }
  }
  return lines;
}

function modelfileText(model, template, system) {
  const lines = [
    '# Modelfile generated by "ollama show"',
    '# To build a new Modelfile based on this, replace FROM with:',
    `# FROM ${model.name}`,
    '',
    `FROM /root/.ollama/models/blobs/sha256-${sha256Hex(`weights:${model.name}`)}`,
    `TEMPLATE """${template}"""`,
  ];
  if (system !== '') {
    lines.push(`SYSTEM """${system}"""`);
  }

  for (const [key, value] of Object.entries(model.parameters)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      lines.push(`PARAMETER ${key} ${item}`);
    }
  }

  if (model.license !== '') {
    lines.push(`LICENSE """${model.license}"""`);
  }

  return `${lines.join('\n')}\n`;
}

// GGUF arrays longer than this are sent empty unless the request sets `verbose`.
const MAX_ARRAY_WITHOUT_VERBOSE = 5;

function modelInfo(model, verbose) {
  const arch = model.architecture;
  const info = {
    'general.architecture': arch,
    'general.file_type': 15,
    'general.parameter_count': model.parameterCount,
    'general.quantization_version': 2,
    [`${arch}.block_count`]: model.blockCount,
    [`${arch}.embedding_length`]: model.embeddingLength,
    'tokenizer.ggml.model': 'gpt2',
    'tokenizer.ggml.token_type': [1, 1, 1, 1, 1, 1, 3, 3],
    'tokenizer.ggml.tokens': ['!', '"', '#', '$', '%', '&', '<|im_start|>', '<|im_end|>'],
  };
  if (model.contextLength !== null) {
    info[`${arch}.context_length`] = model.contextLength;
  }

  Object.assign(info, model.modelInfo);
  if (!verbose) {
    for (const [key, value] of Object.entries(info)) {
      if (Array.isArray(value) && value.length > MAX_ARRAY_WITHOUT_VERBOSE) {
        info[key] = [];
      }
    }
  }

  return Object.fromEntries(Object.entries(info).sort(([left], [right]) => left.localeCompare(right)));
}

/**
 * Builds the /api/show body. `request.system` and `request.template` replace what is echoed, as
 * on the real server; `capabilities` exists only from server version 0.6.4.
 */
export function showBody(model, request, version) {
  const template = typeof request.template === 'string' && request.template !== '' ? request.template : model.template;
  const system = typeof request.system === 'string' && request.system !== '' ? request.system : model.system;
  const parameters = parameterLines(model.parameters);
  const body = {
    license: model.license,
    modelfile: modelfileText(model, template, system),
  };
  if (parameters.length > 0) {
    body.parameters = parameters.join('\n');
  }

  body.template = template;
  if (system !== '') {
    body.system = system;
  }

  body.details = model.details;
  body.model_info = modelInfo(model, request.verbose === true);
  body.tensors = [
    { name: 'output_norm.weight', type: 'F32', shape: [model.embeddingLength] },
    { name: 'token_embd.weight', type: 'Q4_K', shape: [model.embeddingLength, 151_936] },
  ];
  if (isVersionAtLeast(version, '0.6.4')) {
    body.capabilities = model.capabilities;
  }

  body.modified_at = model.modifiedAt;
  return body;
}

/** Builds the /api/ps body from the loaded-model table, longest remaining keep-alive first. */
export function psBody(loaded, version, now) {
  const entries = [...loaded.values()]
    .filter((entry) => entry.expiresAt > now)
    .sort((left, right) => right.expiresAt - left.expiresAt)
    .map(({ model, numCtx, expiresAt }) => {
      const entry = {
        name: model.name,
        model: model.name,
        size: model.size,
        digest: model.digest,
        details: model.details,
        expires_at: new Date(expiresAt).toISOString(),
        size_vram: model.sizeVram,
      };
      if (isVersionAtLeast(version, '0.10.0')) {
        entry.context_length = numCtx;
      }
      return entry;
    });
  return { models: entries };
}

/** Lists the NDJSON progress objects of a successful pull, ending with `success`. */
export function pullProgress(model) {
  const layer = `sha256:${sha256Hex(`weights:${model.name}`)}`;
  const short = layer.slice('sha256:'.length, 'sha256:'.length + 12);
  const total = model.size;
  return [
    { status: 'pulling manifest' },
    { status: `pulling ${short}`, digest: layer, total },
    { status: `pulling ${short}`, digest: layer, total, completed: Math.floor(total / 3) },
    { status: `pulling ${short}`, digest: layer, total, completed: Math.floor((total * 2) / 3) },
    { status: `pulling ${short}`, digest: layer, total, completed: total },
    { status: 'verifying sha256 digest' },
    { status: 'writing manifest' },
    { status: 'success' },
  ];
}
