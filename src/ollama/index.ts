// The Ollama connection layer: where the server is, how requests run and fail, and which model to use.
export {
  type ChatPhase,
  type ChatProgress,
  type ChatResult,
  streamChat,
  type StreamChatOptions,
  type StreamChatRequest,
} from './chat.js';
export {
  createOllamaClient,
  DEFAULT_OLLAMA_TIMEOUTS,
  defaultDispatcher,
  OllamaClient,
  type OllamaClientOptions,
  type OllamaTimeouts,
  resolveTimeouts,
} from './client.js';
export {
  BUSY_RETRY_DELAY_MS,
  classifyOllamaError,
  type ClassifyContext,
  InvalidRequestError,
  ModelNotFoundError,
  OllamaBusyError,
  OllamaError,
  OllamaServerError,
  OllamaUnreachableError,
  OllamaUnrecoverableError,
  type QueueAction,
  StreamError,
  type StreamFailure,
  toQueueError,
  UNREACHABLE_RETRY_DELAY_MS,
  type Watchdog,
  WatchdogTimeoutError,
} from './errors.js';
export { DEFAULT_OLLAMA_URL, describeOllamaHost, InvalidOllamaHostError, type OllamaHost, type OllamaHostSource, resolveOllamaHost } from './host.js';
export {
  chooseModel,
  DEFAULT_MODEL,
  describeModel,
  type ModelChoice,
  type ModelDescription,
  type ModelSettings,
  type ModelSource,
  STRUCTURED_OUTPUTS_VERSION,
  supportsStructuredOutputs,
} from './model.js';
