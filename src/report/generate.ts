import { performance } from 'node:perf_hooks';

import { StepperError } from '../errors.js';
import { type EvidenceSource, MIN_TOKEN_BUDGET, readEvidenceSource } from '../evidence/build.js';
import { estimateTokens } from '../evidence/tokens.js';
import type { Coverage, Evidence } from '../evidence/types.js';
import type { ChangeIdentity, ChangeStatus, MergePolicy, Repository } from '../git/types.js';
import { type ChatProgress, type ChatResult, streamChat, type StreamChatOptions } from '../ollama/chat.js';
import type { OllamaClient } from '../ollama/client.js';
import { describeModel, type ModelDescription } from '../ollama/model.js';
import { VERSION } from '../version.js';
import { chooseContext, type ContextChoice, isTruncatedPrompt, LARGEST_CONTEXT_SIZE } from './context.js';
import { type ParseFailureReason, type ParseResult, parseReport } from './parse.js';
import {
  MAX_PARTS,
  maxPartSummaryTokens,
  needsParts,
  partCacheKey,
  type PartSummary,
  readPartSummary,
  renderPartSummaries,
  splitIntoParts,
} from './parts.js';
import { buildMessages, PROMPT_VERSION, type PromptMessage, type PromptOptions } from './prompt.js';
import { formatProblems, type Report, REPORT_SCHEMA_VERSION, type ReportProblem, reportJsonSchema } from './schema.js';
import { type ConventionalSubject, parseConventionalSubject } from './conventional.js';

export { CONVENTIONAL_TYPES, type ConventionalSubject, type ConventionalType, parseConventionalSubject } from './conventional.js';

/**
 * Sampling temperature of every report request. Ollama's API examples use 0 for structured
 * output, and the repair and strict calls change the prompt, so they do not repeat the first answer.
 */
export const REPORT_TEMPERATURE = 0;

/**
 * Minimum time between two progress calls while a response streams, in milliseconds. The
 * queue worker stores progress at most once a second by default, so calls closer together
 * than this are not stored anyway, and skipping them saves CPU time on a fast server.
 */
const PROGRESS_INTERVAL_MS = 100;

/** Model calls for one report at most: the first, one repair and one strict retry. */
export const MAX_REPORT_CALLS = 3;

export interface GenerateReportOptions {
  client: OllamaClient;
  /** The model name, as chooseModel returns it. */
  model: string;
  /** Cancels the model calls and stops between steps. generateReport then throws the signal's reason. */
  signal?: AbortSignal;
  /**
   * Called with streamChat's progress and the number of the model call, starting at 1. It is
   * called on every phase change and for the final chunk, and at most every 100 ms (PROGRESS_INTERVAL_MS) in between.
   */
  onProgress?: (progress: ReportProgress) => void;
  /** Overrides the client's watchdogs for the chat requests. */
  timeouts?: StreamChatOptions['timeouts'];
  /** @default 'first-parent' */
  mergePolicy?: MergePolicy;
  /** Store of the part summaries of large commits, so a retry or a rebased commit reuses them. */
  summaries?: SummaryStore;
  /**
   * The commit as readEvidenceSource read it, such as for a cache key, so it is not read
   * again. It is used when it names `sha` in `repo` with the same merge policy and was read
   * for at least evidenceReadBudget(the model's context length) tokens, which
   * MAX_EVIDENCE_READ_BUDGET covers for every model. Otherwise the commit is read again.
   */
  evidenceSource?: EvidenceSource;
}

/** Storage of part summaries by cache key, such as the queue's `getSummary` and `putSummary`. */
export interface SummaryStore {
  get(key: string): unknown;
  put(key: string, value: unknown): void;
}

export interface ReportProgress extends ChatProgress {
  /** Number of model calls so far, this one and the part summaries included. */
  call: number;
  /** Set while a part of a large commit is summarized. */
  part?: { index: number; count: number };
}

/** Model calls for one part summary at most: the first and one repair. */
export const MAX_PART_CALLS = 2;

/** Provenance of a report: the inputs, versions and usage, stored with it so it can be traced and reproduced. */
export interface ReportProvenance {
  commit: string;
  /** Real path of the repository's common git directory. */
  repository: string;
  /** The change's identity (`git patch-id --stable` where git gives one), with its source. */
  patchId: ChangeIdentity;
  /** Merge policy the commit was diffed with, which matters only for merge commits. */
  mergePolicy: MergePolicy;
  model: string;
  /** Manifest digest of the model's weights, or undefined when /api/tags did not list the model. */
  modelDigest: string | undefined;
  serverVersion: string | undefined;
  numCtx: number;
  numPredict: number;
  promptVersion: number;
  schemaVersion: number;
  stepperVersion: string;
  /** Sum of prompt_eval_count over the calls. */
  promptTokens: number;
  /** Sum of eval_count over the calls. */
  completionTokens: number;
  /** Ollama's durations summed over the calls, in nanoseconds. A duration the server left out counts as 0. */
  durations: { totalNs: number; loadNs: number; promptEvalNs: number; evalNs: number };
  /** Time from the start of generateReport to the accepted response, in milliseconds. */
  elapsedMs: number;
  /**
   * Part of elapsedMs that the model calls spent before their requests were sent, mostly
   * behind another job's generation, in milliseconds. Measured only with an onProgress callback.
   */
  waitMs?: number;
  /** Number of model calls made, part summaries included. The report itself takes 1 to MAX_REPORT_CALLS. */
  modelCalls: number;
  /** Coverage mark of each changed file, by path. */
  coverage: Record<string, Coverage>;
  /** Secrets replaced by markers before the evidence was sent. */
  redactions: number;
  /** Set when any call's prompt_eval_count shows that Ollama probably cut the prompt without an error. */
  truncated: boolean;
  /** Format sent: the JSON Schema, or "json" for servers before structured outputs. */
  format: 'schema' | 'json';
  /** Repairs the parser made to the accepted response, such as a removed trailing comma. */
  adjustments: string[];
  /**
   * Part counts, set when the commit was too large for one prompt and its parts were summarized
   * first. `reused` parts came from the summary store, and `failed` parts were left out after MAX_PART_CALLS calls.
   */
  parts: { count: number; reused: number; failed: number } | null;
}

/** A changed file as git reports it, with no model involved. */
export interface GitFileFacts {
  path: string;
  oldPath?: string;
  status: ChangeStatus;
  /** Null for binary files. */
  additions: number | null;
  deletions: number | null;
  binary: boolean;
}

/** Facts about the commit that git states without a model. */
export interface GitFacts {
  subject: string;
  files: GitFileFacts[];
  /** Line counts leave binary files out. */
  totals: { files: number; additions: number; deletions: number };
  /** The parsed subject when it has the form `type(scope)!: description`; null otherwise. */
  conventional: ConventionalSubject | null;
}

export interface GeneratedReport {
  report: Report;
  provenance: ReportProvenance;
  git: GitFacts;
}

/** Raised when the model returned no valid report in MAX_REPORT_CALLS calls, so the queue retries the job. */
export class InvalidReportError extends StepperError {
  override name = 'InvalidReportError';
  readonly queueAction = 'retry';
  readonly reason: ParseFailureReason;
  readonly problems: ReportProblem[];
  /** Start and end of the last response. */
  readonly excerpt: string;
  readonly calls: number;

  constructor(model: string, calls: number, reason: ParseFailureReason, problems: ReportProblem[], excerpt: string) {
    super(
      'REPORT_INVALID',
      `model ${JSON.stringify(model)} returned no valid report in ${calls} calls, and the last response was rejected (${reason}):\n` +
        `${formatProblems(problems, 5)}\nthe job is retried; a larger or more capable model may be needed`,
    );
    this.reason = reason;
    this.problems = problems;
    this.excerpt = excerpt;
    this.calls = calls;
  }
}

/**
 * Time a model's description is reused, in milliseconds. Describing it sends three
 * requests, which cost more than the rest of a report's client work. A minute is short
 * enough that a newly pulled model version is noticed soon.
 */
const MODEL_DESCRIPTION_TTL_MS = 60_000;

const modelDescriptions = new WeakMap<OllamaClient, Map<string, { at: number; description: ModelDescription }>>();

async function describeModelCached(client: OllamaClient, name: string, signal: AbortSignal | undefined): Promise<ModelDescription> {
  const cache = modelDescriptions.get(client) ?? new Map<string, { at: number; description: ModelDescription }>();
  modelDescriptions.set(client, cache);

  const cached = cache.get(name);
  if (cached && performance.now() - cached.at < MODEL_DESCRIPTION_TTL_MS) {
    return cached.description;
  }

  // Failures are not cached: a model pulled a moment later is found on the next report.
  const description = await describeModel(client, name, { signal });
  cache.set(name, { at: performance.now(), description });
  return description;
}

/**
 * Generates the report for commit `sha`. It reads the model's limits, sizes num_ctx and the
 * evidence with chooseContext, and streams a chat request with the report schema as `format`.
 * A response that does not parse gets one repair call that quotes the problems, then one strict
 * retry. A prompt that Ollama probably cut without an error is flagged in the provenance.
 * A commit whose diffs do not fit one prompt is split into at most MAX_PARTS parts. Each
 * part's report is requested first (or read from `summaries`), and the final request gets
 * their summaries beside the evidence that fits.
 *
 * @throws InvalidReportError (queueAction 'retry') when no call returned a valid report
 * @throws the Ollama errors of describeModel and streamChat, ContextTooSmallError, or the signal's reason
 */
export async function generateReport(repo: Repository, sha: string, options: GenerateReportOptions): Promise<GeneratedReport> {
  const startedAt = performance.now();
  const model = await describeModelCached(options.client, options.model, options.signal);
  options.signal?.throwIfAborted();

  const prepared = await prepareEvidence(repo, sha, model, options);
  options.signal?.throwIfAborted();

  const session = new ModelSession(options, model, prepared.context);
  let evidence = prepared.evidence;
  let partSummaries: PartSummary[] = [];
  let parts: ReportProvenance['parts'] = null;

  if (needsParts(evidence)) {
    const summarized = await summarizeParts(prepared.source, session, options);
    if (summarized) {
      partSummaries = summarized.summaries;
      parts = summarized.parts;
      // The final prompt carries the summaries, so its evidence gets what they leave of the budget.
      const budget = Math.max(MIN_TOKEN_BUDGET, prepared.context.evidenceTokenBudget - estimateTokens(renderPartSummaries(partSummaries)));
      evidence = prepared.source.evidenceFor(budget);
    }
  }

  let promptOptions: PromptOptions = { partSummaries };
  for (let call = 1; ; call += 1) {
    const { parsed, result } = await session.ask(buildMessages(evidence, promptOptions));

    if (parsed.ok) {
      return {
        report: parsed.report,
        provenance: {
          commit: evidence.commit.sha,
          repository: evidence.repository,
          patchId: evidence.identity,
          mergePolicy: evidence.mergePolicy,
          model: model.name,
          modelDigest: model.digest,
          serverVersion: model.serverVersion,
          numCtx: prepared.context.numCtx,
          numPredict: prepared.context.numPredict,
          promptVersion: PROMPT_VERSION,
          schemaVersion: REPORT_SCHEMA_VERSION,
          stepperVersion: VERSION,
          promptTokens: session.usage.promptTokens,
          completionTokens: session.usage.completionTokens,
          durations: { ...session.usage.durations },
          elapsedMs: Math.round(performance.now() - startedAt),
          ...(options.onProgress ? { waitMs: Math.round(session.usage.waitMs) } : {}),
          modelCalls: session.calls,
          coverage: Object.fromEntries(evidence.files.map((file) => [file.path, file.coverage])),
          redactions: evidence.redactions,
          truncated: session.truncated,
          format: model.structuredOutputs ? 'schema' : 'json',
          adjustments: parsed.adjustments,
          parts,
        },
        git: describeGitFacts(evidence),
      };
    }

    if (call >= MAX_REPORT_CALLS) {
      throw new InvalidReportError(model.name, call, parsed.reason, parsed.problems, parsed.excerpt);
    }

    // NOTE: a response cut at num_predict (reason 'truncated') gets the same repair call. A larger
    // num_predict is not tried, because OUTPUT_BUDGET_TOKENS already fits the longest report.
    promptOptions = { partSummaries, ...(call === 1 ? {} : { strict: true }), repair: repairOf(parsed, result) };
  }
}

/**
 * Returns how many parts a commit may be split into when each part's prompt has
 * `partBudget` tokens of evidence. The final prompt must keep room for the summaries and a
 * useful share of evidence, so a small context gets fewer parts. Below 2 there are no parts.
 */
function maxPartsFor(partBudget: number): number {
  let maxParts = MAX_PARTS;
  while (maxParts >= 2 && partBudget - maxPartSummaryTokens(maxParts) < MIN_TOKEN_BUDGET) {
    maxParts -= 1;
  }

  return maxParts;
}

/**
 * Returns the token budget a commit is read for when the model's context length is
 * `contextLength`: enough for the evidence of every prompt generateReport may send, the
 * parts of a split included.
 */
export function evidenceReadBudget(contextLength: number | undefined): number {
  const largest = chooseContext({ contextLength, evidenceTokens: Number.MAX_SAFE_INTEGER }).evidenceTokenBudget;
  const maxParts = maxPartsFor(largest);
  return maxParts < 2 ? largest : largest * maxParts;
}

/**
 * Token budget that covers evidenceReadBudget for every model, because num_ctx never
 * exceeds the largest of CONTEXT_SIZES. A caller that reads a commit before it has the
 * model's description, such as the report processor for its cache key, reads it for this budget.
 */
export const MAX_EVIDENCE_READ_BUDGET = evidenceReadBudget(LARGEST_CONTEXT_SIZE);

/**
 * Summarizes the parts of a commit too large for one prompt. It takes the evidence for
 * the budget of every part's prompt together from the read, splits it, and requests each
 * part's report, or reads it from the summary store. A part that fails MAX_PART_CALLS
 * times is left out and counted. Returns undefined when the commit does not split into two
 * parts or more, because one part would show no more than the single prompt.
 */
async function summarizeParts(
  source: EvidenceSource,
  session: ModelSession,
  options: GenerateReportOptions,
): Promise<{ summaries: PartSummary[]; parts: NonNullable<ReportProvenance['parts']> } | undefined> {
  const partBudget = session.context.evidenceTokenBudget;
  const maxParts = maxPartsFor(partBudget);
  if (maxParts < 2) {
    return undefined;
  }

  const whole = source.evidenceFor(partBudget * maxParts);
  const split = splitIntoParts(whole, partBudget, maxParts);
  if (split.length < 2) {
    return undefined;
  }

  const summaries: PartSummary[] = [];
  const counts = { count: split.length, reused: 0, failed: 0 };
  for (const [index, part] of split.entries()) {
    const files = part.files.map((file) => file.path);
    const key = partCacheKey(session.model.name, PROMPT_VERSION, part);
    const stored = readPartSummary(options.summaries?.get(key));
    if (stored) {
      summaries.push(stored);
      counts.reused += 1;
      continue;
    }

    const position = { index: index + 1, count: split.length };
    let promptOptions: PromptOptions = { part: position };
    let summary: PartSummary | undefined;
    for (let call = 1; call <= MAX_PART_CALLS; call += 1) {
      const { parsed, result } = await session.ask(buildMessages(part, promptOptions), position);
      if (parsed.ok) {
        summary = { files, title: parsed.report.title, summary: parsed.report.summary, changes: parsed.report.changes };
        break;
      }
      promptOptions = { part: position, repair: repairOf(parsed, result) };
    }

    if (summary) {
      options.summaries?.put(key, summary);
      summaries.push(summary);
    } else {
      counts.failed += 1;
    }
  }

  return summaries.length > 0 ? { summaries, parts: counts } : undefined;
}

function repairOf(parsed: Extract<ParseResult, { ok: false }>, result: ChatResult): NonNullable<PromptOptions['repair']> {
  // The thinking text is quoted only when the content is empty, because the parser's problems then describe the thinking.
  const previousAnswer = result.content.trim() === '' ? result.thinking : result.content;
  return { previousAnswer, problems: parsed.problems };
}

/** Sender of the model calls of one report, which sums their usage and checks each prompt for silent truncation. */
class ModelSession {
  readonly model: ModelDescription;
  readonly context: ContextChoice;
  readonly usage = { promptTokens: 0, completionTokens: 0, durations: { totalNs: 0, loadNs: 0, promptEvalNs: 0, evalNs: 0 }, waitMs: 0 };
  calls = 0;
  truncated = false;
  readonly #options: GenerateReportOptions;

  constructor(options: GenerateReportOptions, model: ModelDescription, context: ContextChoice) {
    this.#options = options;
    this.model = model;
    this.context = context;
  }

  async ask(messages: PromptMessage[], part?: { index: number; count: number }): Promise<{ parsed: ParseResult; result: ChatResult }> {
    this.calls += 1;
    const result = await requestReport(this.#options, this.model, this.context, messages, this.calls, part, this.usage);

    this.usage.promptTokens += result.promptEvalCount ?? 0;
    this.usage.completionTokens += result.evalCount ?? 0;
    this.usage.durations.totalNs += result.totalDurationNs ?? 0;
    this.usage.durations.loadNs += result.loadDurationNs ?? 0;
    this.usage.durations.promptEvalNs += result.promptEvalDurationNs ?? 0;
    this.usage.durations.evalNs += result.evalDurationNs ?? 0;
    this.truncated ||= isTruncatedPrompt(estimatePromptTokens(messages), result.promptEvalCount, this.context.numCtx);

    return { parsed: parseReport(result), result };
  }
}

/**
 * Reads the commit once, or takes the caller's read, and assembles the evidence for the
 * largest num_ctx the model allows. Then it picks the smallest context size that fits that
 * evidence. The evidence is not assembled again for the smaller size: it fits that size's
 * budget by construction.
 */
async function prepareEvidence(
  repo: Repository,
  sha: string,
  model: ModelDescription,
  options: GenerateReportOptions,
): Promise<{ source: EvidenceSource; evidence: Evidence; context: ContextChoice }> {
  const largest = chooseContext({ contextLength: model.contextLength, evidenceTokens: Number.MAX_SAFE_INTEGER });
  const readBudget = evidenceReadBudget(model.contextLength);
  const mergePolicy = options.mergePolicy ?? 'first-parent';
  const earlier = options.evidenceSource;
  const usable =
    earlier !== undefined &&
    earlier.commit.sha === sha &&
    earlier.repository === repo.gitDir &&
    earlier.mergePolicy === mergePolicy &&
    earlier.maxTokenBudget >= readBudget;
  const source = usable ? earlier : await readEvidenceSource(repo, sha, { maxTokenBudget: readBudget, mergePolicy });

  const evidence = source.evidenceFor(largest.evidenceTokenBudget);
  const context = chooseContext({ contextLength: model.contextLength, evidenceTokens: evidence.estimatedTokens });
  return { source, evidence, context };
}

async function requestReport(
  options: GenerateReportOptions,
  model: ModelDescription,
  context: ContextChoice,
  messages: PromptMessage[],
  call: number,
  part: { index: number; count: number } | undefined,
  usage: { waitMs: number },
): Promise<ChatResult> {
  const onProgress = options.onProgress;
  // The phase leaves 'waiting' once the request is written, so the time until then is spent
  // behind another job's generation (the daemon's generation limit) or on the connection.
  let sent = false;
  const report = (progress: ChatProgress) => {
    if (!sent && progress.phase !== 'waiting') {
      sent = true;
      usage.waitMs += progress.elapsedMs;
    }
    onProgress?.({ ...progress, call, ...(part ? { part } : {}) });
  };
  // Thinking models think by default since Ollama 0.12.4, and thinking spends num_predict, which
  // is sized for the report alone. qwen3.5 has been reported to ignore `format` with think:false,
  // and the parser and the repair call cover such a response.
  const thinks = model.capabilities?.includes('thinking') === true;

  return streamChat(
    options.client,
    {
      model: model.name,
      messages,
      // Servers before 0.5.0 reject a schema object, and "json" still constrains the syntax.
      format: model.structuredOutputs ? reportJsonSchema() : 'json',
      options: { num_ctx: context.numCtx, num_predict: context.numPredict, temperature: REPORT_TEMPERATURE },
      ...(thinks ? { think: false } : {}),
    },
    {
      signal: options.signal,
      timeouts: options.timeouts,
      onProgress: onProgress ? report : undefined,
      progressIntervalMs: PROGRESS_INTERVAL_MS,
    },
  );
}

/** Estimates the tokens of the messages as sent, evidence included, in the evidence's own estimate. */
function estimatePromptTokens(messages: readonly PromptMessage[]): number {
  return messages.reduce((sum, message) => sum + estimateTokens(message.content), 0);
}

/** Collects the file list, line totals and conventional subject from the evidence, which took them from git. */
export function describeGitFacts(evidence: Evidence): GitFacts {
  const files = evidence.files.map((file): GitFileFacts => {
    const facts: GitFileFacts = {
      path: file.path,
      status: file.status,
      additions: file.additions,
      deletions: file.deletions,
      binary: file.binary,
    };
    if (file.oldPath !== undefined) {
      facts.oldPath = file.oldPath;
    }

    return facts;
  });

  const totals = { files: files.length, additions: 0, deletions: 0 };
  for (const file of files) {
    totals.additions += file.additions ?? 0;
    totals.deletions += file.deletions ?? 0;
  }

  return { subject: evidence.commit.subject, files, totals, conventional: parseConventionalSubject(evidence.commit.subject) };
}

