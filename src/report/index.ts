// Report generation: the report's schema and validator, the prompt, the parser for what models
// return, the context size for a request, and generateReport, which runs them against Ollama.
export {
  chooseContext,
  type ContextChoice,
  type ContextRequest,
  CONTEXT_SIZES,
  ContextTooSmallError,
  IMPLAUSIBLE_RATIO,
  isTruncatedPrompt,
  OUTPUT_BUDGET_TOKENS,
  TRUNCATED_WINDOW_SHARE,
  TRUNCATION_RATIO,
  UNKNOWN_CONTEXT_LENGTH,
} from './context.js';
export { EXCERPT_LENGTH, excerptOf, type ModelAnswer, type ParseFailureReason, parseReport, type ParseResult } from './parse.js';
export { buildMessages, describeCoverage, PROMPT_FIXED_TOKENS, PROMPT_VERSION, type PromptMessage, type PromptOptions } from './prompt.js';
export {
  formatProblems,
  type Report,
  REPORT_FIELD_NAMES,
  REPORT_FIELDS,
  REPORT_SCHEMA_VERSION,
  type ReportField,
  type ReportJsonSchema,
  reportJsonSchema,
  type ReportProblem,
  type ReportValidation,
  validateReport,
} from './schema.js';
export {
  CONVENTIONAL_TYPES,
  type ConventionalSubject,
  type ConventionalType,
  describeGitFacts,
  type GeneratedReport,
  generateReport,
  type GenerateReportOptions,
  type GitFacts,
  type GitFileFacts,
  InvalidReportError,
  MAX_PART_CALLS,
  MAX_REPORT_CALLS,
  parseConventionalSubject,
  REPORT_TEMPERATURE,
  type ReportProgress,
  type ReportProvenance,
  type SummaryStore,
} from './generate.js';
export { MAX_PARTS, needsParts, type PartSummary, splitIntoParts } from './parts.js';
export {
  type CacheKeyInput,
  createReportProcessor,
  REPORT_JOB_KIND,
  reportCacheKey,
  type ReportContent,
  reportJob,
  type ReportJobInput,
  type ReportJobPayload,
  type ReportProcessorOptions,
  type StoredProvenance,
} from './processor.js';
