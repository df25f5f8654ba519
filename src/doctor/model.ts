import { InvalidOptionError } from '../errors.js';
import { InvalidOllamaHostError } from '../ollama/host.js';
import { ModelNotFoundError, OllamaUnreachableError } from '../ollama/errors.js';
import type { ModelChoice, ModelDescription } from '../ollama/model.js';
import { chooseContext, ContextTooSmallError, UNKNOWN_CONTEXT_LENGTH } from '../report/context.js';
import type { Check, CheckOutcome, DoctorContext } from './types.js';

export const modelCheck: Check = {
  id: 'model',
  title: 'model',
  run: checkModel,
};

export const contextCheck: Check = {
  id: 'context',
  title: 'model context',
  run: checkContext,
};

/** Checks that the model stepper would use is installed on Ollama and can generate text. */
async function checkModel(context: DoctorContext): Promise<CheckOutcome> {
  let choice: ModelChoice;
  try {
    choice = await context.model();
  } catch (error) {
    if (error instanceof InvalidOptionError) {
      return { status: 'fail', detail: error.message, fix: 'set it to an Ollama model name such as qwen2.5-coder:7b' };
    }

    throw error;
  }

  const named = `${choice.name} (from ${choice.source})`;
  let description: ModelDescription;
  try {
    description = await context.modelDescription();
  } catch (error) {
    if (error instanceof ModelNotFoundError) {
      return {
        status: 'fail',
        detail: `${named} is not installed on Ollama at ${error.url}`,
        fix: `run ${error.pullCommand}, or choose an installed model ("ollama list" shows them)`,
      };
    }

    const unavailable = unavailableOllama(error);
    if (unavailable) {
      return { status: 'skip', detail: `${named}: ${unavailable}` };
    }

    throw error;
  }

  const size = [description.parameterSize, description.quantizationLevel].filter((part) => part !== undefined).join(' ');
  const detail = size === '' ? `${named} is installed` : `${named} is installed, ${size}`;
  if (description.capabilities !== undefined && !description.capabilities.includes('completion')) {
    return {
      status: 'fail',
      detail: `${named} cannot generate text (capabilities: ${description.capabilities.join(', ') || 'none'})`,
      fix: 'choose a chat model with --model, STEPPER_MODEL or git config stepper.model, such as qwen2.5-coder:7b',
    };
  }

  return { status: 'pass', detail };
}

/**
 * Reports the model's context length and the num_ctx values stepper sends: the generator picks
 * the smallest of CONTEXT_SIZES that fits each commit's evidence, capped at the context length.
 */
async function checkContext(context: DoctorContext): Promise<CheckOutcome> {
  let description: ModelDescription;
  try {
    description = await context.modelDescription();
  } catch (error) {
    return { status: 'skip', detail: unavailableOllama(error) ?? 'the model could not be described, see the model check' };
  }

  let smallest: number;
  let largest: number;
  let evidenceBudget: number;
  try {
    smallest = chooseContext({ contextLength: description.contextLength, evidenceTokens: 0 }).numCtx;
    const widest = chooseContext({ contextLength: description.contextLength, evidenceTokens: Number.MAX_SAFE_INTEGER });
    largest = widest.numCtx;
    evidenceBudget = widest.evidenceTokenBudget;
  } catch (error) {
    if (error instanceof ContextTooSmallError) {
      return { status: 'fail', detail: `${description.name}: ${error.message.replace(/; use a model.*$/, '')}`, fix: 'use a model with a longer context' };
    }

    throw error;
  }

  const range = smallest === largest ? `num_ctx ${largest}` : `num_ctx ${smallest} to ${largest} by commit size`;
  const sizes = `${range}, with up to ${evidenceBudget.toLocaleString('en-US')} tokens of evidence`;
  if (description.contextLength === undefined) {
    return {
      status: 'warn',
      detail: `Ollama did not report the context length of ${description.name}, so stepper assumes ${UNKNOWN_CONTEXT_LENGTH} tokens and sends ${sizes}`,
      fix: `run ollama show ${description.name}; a model whose context is shorter gets its prompts cut, so choose one that reports its context length`,
    };
  }

  return { status: 'pass', detail: `${description.name}: context length ${description.contextLength.toLocaleString('en-US')} tokens; stepper sends ${sizes}` };
}

/** Describes an Ollama that a model check cannot use, which the Ollama check reports, or undefined for other errors. */
function unavailableOllama(error: unknown): string | undefined {
  if (error instanceof InvalidOllamaHostError) {
    return 'OLLAMA_HOST is invalid, see the Ollama check';
  }

  if (error instanceof OllamaUnreachableError) {
    return 'Ollama is not reachable, see the Ollama check';
  }

  if (error instanceof InvalidOptionError) {
    return 'the model name is invalid, see the model check';
  }

  return undefined;
}
