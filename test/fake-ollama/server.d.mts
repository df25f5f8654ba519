// Types of server.mjs, the fake Ollama server. The implementation is plain JavaScript so that
// child processes can run it with node; TypeScript tests import it through these declarations.

/** One installed model. Only `name` is required; the rest has realistic defaults. */
export interface FakeModelInput {
  /** `model:tag`; a name without a tag becomes `name:latest`. */
  name: string;
  /** 64 hex digits, with or without `sha256:`. Default: derived from the name. */
  digest?: string;
  /** Bytes on disk. */
  size?: number;
  /** Bytes in GPU memory reported by /api/ps. Default: `size`. */
  sizeVram?: number;
  /** `modified_at` as sent, e.g. "2026-05-10T08:06:48.639712648-07:00". */
  modifiedAt?: string;
  /** `details.family`, also the default architecture. Default "llama". */
  family?: string;
  /** GGUF architecture used for `model_info` keys such as `<arch>.context_length`. */
  architecture?: string;
  parameterSize?: string;
  quantizationLevel?: string;
  /** Overrides for the `details` object. */
  details?: Partial<FakeModelDetails>;
  /** `<arch>.context_length` in model_info, the cap on num_ctx. `null` leaves the key out. Default 8192. */
  contextLength?: number | null;
  embeddingLength?: number;
  parameterCount?: number;
  blockCount?: number;
  /** Subset of completion, tools, insert, vision, embedding, thinking. Default ["completion"]. */
  capabilities?: string[];
  /** Modelfile PARAMETER values; `num_ctx` and `num_predict` here act as the model's defaults. */
  parameters?: Record<string, string | number | boolean | Array<string | number>>;
  template?: string;
  system?: string;
  license?: string;
  /** Extra or replacement `model_info` keys. */
  modelInfo?: Record<string, unknown>;
}

export interface FakeModelDetails {
  parent_model: string;
  format: string;
  family: string;
  families: string[];
  parameter_size: string;
  quantization_level: string;
}

/** What an answer function receives for each chat or generate request. */
export interface AnswerRequest {
  endpoint: 'chat' | 'generate';
  /** The model name as the request sent it. */
  model: string;
  /** The decoded request body. */
  body: Record<string, any>;
  /** All prompt text: chat message contents, or generate's system, prompt and suffix. */
  prompt: string;
  format: unknown;
  requestId: number;
}

/**
 * The content a generation returns: a string is sent as is, any other value as JSON text, and
 * `undefined` from a function falls back to the default for the request's `format`.
 */
export type AnswerSource =
  | string
  | object
  | ((request: AnswerRequest) => string | object | undefined | Promise<string | object | undefined>);

export type ErrorPreset = 'runner_crash' | 'busy' | 'load_timeout' | 'invalid_schema' | 'bad_request' | 'bad_gateway';

/** Fault modes; README.md describes the exact behaviour of each. */
export type Fault =
  | { kind: 'latency'; loadDelayMs?: number; promptDelayMsPerToken?: number; tokenDelayMs?: number; reload?: boolean }
  | { kind: 'model_missing'; wording?: 'current' | 'legacy' | 'scheduler' }
  | { kind: 'http_error'; status?: number; message?: string; preset?: ErrorPreset; delayMs?: number }
  | { kind: 'http_error_text'; status?: number; message?: string; body?: string; preset?: ErrorPreset; delayMs?: number }
  | { kind: 'error_midstream'; afterLines?: number; message?: string }
  | { kind: 'drop_after'; afterLines?: number }
  | { kind: 'drop_before_headers' }
  | { kind: 'slow_headers'; delayMs?: number }
  | { kind: 'stall'; afterLines?: number; stallMs?: number }
  | { kind: 'no_done' }
  | { kind: 'malformed_line'; afterLines?: number; text?: string }
  | { kind: 'split_chunks' }
  | { kind: 'malformed_json_output'; variant?: 'trailing_comma' | 'missing_brace' | 'unescaped_newline' }
  | { kind: 'fenced_json' }
  | { kind: 'prose_wrapped_json'; before?: string; after?: string }
  | { kind: 'think_tags'; reasoning?: string }
  | { kind: 'thinking_only'; thinking?: string; pieces?: number }
  | { kind: 'truncated_length'; afterPieces?: number }
  | { kind: 'whitespace_runaway'; pieces?: number; repeatGuard?: boolean }
  | { kind: 'schema_violation'; violation?: 'missing_required' | 'wrong_type' }
  | { kind: 'ignore_format'; text?: string }
  | { kind: 'silent_truncation'; promptEvalCount?: number }
  | { kind: 'context_error' }
  | { kind: 'omit_metrics'; fields?: string[] }
  | { kind: 'final_line_has_text' }
  | { kind: 'busy_n'; count?: number }
  | { kind: 'flaky_every_n'; every?: number; failure?: Fault | Fault['kind'] }
  | { kind: 'forbidden_host' };

export type FaultKind = Fault['kind'];

/** Which requests a rule applies to. Every given field must match. */
export interface RequestMatch {
  /** Exact path(s), or "*" for any. Default: /api/chat and /api/generate. */
  path?: string | string[];
  method?: string;
  /** Model name, compared after adding `:latest` where the tag is missing. */
  model?: string;
  /** Whether the request streams (`stream` missing counts as true). */
  stream?: boolean;
  /** A substring of the raw request body. */
  bodyIncludes?: string;
}

export interface FaultRule {
  fault?: Fault | FaultKind | Array<Fault | FaultKind>;
  match?: RequestMatch | ((request: RecordedRequest) => boolean);
  /** Number of matching requests the rule applies to. Default 1. */
  times?: number | 'always';
  /** Answer for the requests this rule applies to, in place of the server-wide answer. */
  answer?: AnswerSource;
  /** Thinking text for those requests. */
  thinking?: AnswerSource;
}

export interface FaultHandle {
  readonly id: number;
  /** Requests the rule has applied to so far. */
  readonly hits: number;
  /** Uses left (Infinity for "always"). */
  readonly remaining: number;
}

export interface FakeTiming {
  /** Wait before the first byte when a model loads (first use, expiry or num_ctx change). Default 0. */
  loadDelayMs?: number;
  /** Prompt evaluation time per prompt token. Default 0. */
  promptDelayMsPerToken?: number;
  /** Wait before each generated token. Default 0. */
  tokenDelayMs?: number;
}

export interface FakeOllamaOptions {
  /** Reported by /api/version and used for version-dependent behaviour. Default "0.32.15". */
  version?: string;
  /** Installed models. Default: qwen2.5-coder:7b and the thinking model qwen3:8b. */
  models?: FakeModelInput[];
  /** Models /api/pull can fetch besides the installed ones. */
  registry?: FakeModelInput[];
  /** num_ctx when neither the request nor the Modelfile sets one. Default 4096. */
  defaultNumCtx?: number;
  timing?: FakeTiming;
  /** Server-wide answer; default depends on `format` (schema example, small JSON object or prose). */
  answer?: AnswerSource;
  /** Thinking text for thinking models. */
  thinking?: AnswerSource;
  /** Rules active from the start (child processes pass them through FAKE_OLLAMA_CONFIG). */
  faults?: FaultRule[];
  /** Reject over-long prompts with 400 even when the request does not set `truncate: false`. */
  strictContext?: boolean;
  /** Put thinking into `content` as `<think>…</think>`, as servers before 0.9.0 did. */
  legacyThinking?: boolean;
  /** Answer 403 to every request whose Host header is not local, as the real loopback server does. */
  checkHost?: boolean;
  /** Answer 500 `invalid JSON schema in format` to schemas that use `pattern`, as 0.5.x did. */
  rejectSchemaPatterns?: boolean;
  /** JSON control file re-read before every request. */
  controlFile?: string;
  /** Port on 127.0.0.1. Default 0 (the OS picks one). */
  port?: number;
  /** Receives diagnostic lines (internal errors, invalid control files). */
  log?: (line: string) => void;
}

/** One request in the log. Fields after `body` are filled in while the request runs. */
export interface RecordedRequest {
  id: number;
  method: string;
  path: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  /** The body parsed as JSON, or undefined when it is not valid JSON. */
  body: any;
  /** Date.now() values in milliseconds. */
  receivedAt: number;
  respondedAt: number | undefined;
  finishedAt: number | undefined;
  status: number | undefined;
  /** Fault kinds applied to this request. */
  faults: FaultKind[];
  ruleId: number | undefined;
  /** True when this request paid a model load (first use, expiry, num_ctx change or forced). */
  modelLoaded: boolean;
  /** Effective context length used for the request. */
  numCtx: number | undefined;
  promptTokensEstimate: number | undefined;
  promptEvalCount: number | undefined;
  /** True when the prompt was cut to fit (silently) or the silent_truncation fault applied. */
  promptTruncated: boolean;
  /** `options` keys the real server ignores. */
  unknownOptions: string[];
  /** Body lines written (NDJSON lines, or 1 for a single object written in pieces). */
  linesWritten: number;
  /** `write` calls on the socket. */
  writes: number;
  /** Error message sent, as a status body or as a mid-stream line. */
  error: string | undefined;
  /** The fake destroyed the socket on purpose (drop faults). */
  serverDropped: boolean;
  /** The client closed the connection before the fake finished its response. */
  clientClosedEarly: boolean;
}

export interface FakeState {
  url: string;
  version: string;
  models: string[];
  loaded: Array<{ name: string; numCtx: number; expiresAt: string }>;
  rules: Array<{ id: number; source: 'api' | 'file'; faults: FaultKind[]; match: RequestMatch | undefined; remaining: number | 'always'; hits: number }>;
  controlFileError: string | undefined;
}

export interface FakeOllama {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly version: string;
  /** Every request except control requests, oldest first. */
  readonly requests: RecordedRequest[];
  readonly models: ReadonlyArray<{ name: string; digest: string }>;
  /** Adds a rule after the existing ones; the first matching rule with uses left applies. */
  enqueue(rule: FaultRule): FaultHandle;
  clearFaults(): void;
  setAnswer(answer: AnswerSource | undefined): void;
  setThinking(thinking: AnswerSource | undefined): void;
  setModels(models: FakeModelInput[]): void;
  /** Installs a model, replacing one with the same name. */
  addModel(model: FakeModelInput): void;
  removeModel(name: string): void;
  /** Forgets loaded models, so the next request pays the load delay. */
  unloadAll(): void;
  clearRequests(): void;
  /** Clears rules, the request log and loaded models. */
  reset(): void;
  describeState(): FakeState;
  /** Resolves with the first logged request matching `predicate`; rejects after `timeoutMs` (default 5000). */
  waitForRequest(predicate: (request: RecordedRequest) => boolean, options?: { timeoutMs?: number }): Promise<RecordedRequest>;
  /** Closes the listener and all connections: clients get ECONNREFUSED until acceptConnections(). */
  refuseConnections(): Promise<void>;
  /** Listens again on the same port. */
  acceptConnections(): Promise<void>;
  /** Aborts running requests and stops the server. */
  close(): Promise<void>;
}

export declare const DEFAULT_VERSION: string;
export declare const DEFAULT_NUM_CTX: number;
export declare const FAULT_KINDS: FaultKind[];
export declare const CONTEXT_ERROR: string;
export declare const ERROR_PRESETS: Record<ErrorPreset, { status: number; message: string }>;

export declare function startFakeOllama(options?: FakeOllamaOptions): Promise<FakeOllama>;

/** Reads FAKE_OLLAMA_CONFIG_FILE, FAKE_OLLAMA_CONFIG, FAKE_OLLAMA_CONTROL_FILE, FAKE_OLLAMA_PORT and FAKE_OLLAMA_VERSION. */
export declare function optionsFromEnv(env?: NodeJS.ProcessEnv): FakeOllamaOptions;
