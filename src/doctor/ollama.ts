import dns from 'node:dns';

import { describeOllamaHost, InvalidOllamaHostError, type OllamaHost, resolveOllamaHost } from '../ollama/host.js';
import { STRUCTURED_OUTPUTS_VERSION, supportsStructuredOutputs } from '../ollama/model.js';
import type { ProbeResult } from '../ollama/probe.js';
import type { Check, CheckOutcome, DoctorContext, HostLookup } from './types.js';

const START_OLLAMA = 'start Ollama with "ollama serve", or set OLLAMA_HOST to the address it listens on';

export const ollamaCheck: Check = {
  id: 'ollama',
  title: 'Ollama',
  run: checkOllama,
};

/** Resolves a host name with the system resolver, keeping its order of IPv6 and IPv4 addresses. */
export const systemLookup: HostLookup = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/**
 * Probes Ollama at OLLAMA_HOST (or the default address). When the host is `localhost`, the
 * probe fails, the resolver returns an IPv6 address first and 127.0.0.1 responds, the result
 * is a warning with the address to set. Ollama listens on 127.0.0.1 by default, while some
 * systems resolve `localhost` to ::1 first, and a client that tries only the first address
 * never reaches it.
 */
async function checkOllama(context: DoctorContext): Promise<CheckOutcome> {
  let host: OllamaHost;
  try {
    host = resolveOllamaHost(context.env);
  } catch (error) {
    if (error instanceof InvalidOllamaHostError) {
      return { status: 'fail', ...splitHostError(error.message) };
    }

    throw error;
  }

  const probe = await context.probe(host, context.timeoutMs);
  if (probe.reachable) {
    return reachableOutcome(host, probe);
  }

  const url = new URL(host.url);
  const failure = splitProbeDetail(probe.detail ?? 'no response');
  if (url.hostname === 'localhost') {
    const fallback = await probeLoopbackFallback(context, host, url);
    if (fallback) {
      return fallback;
    }
  }

  return { status: 'fail', detail: `not reachable at ${describeOllamaHost(host)}: ${failure.detail}`, fix: failure.fix ?? START_OLLAMA };
}

function reachableOutcome(host: OllamaHost, probe: ProbeResult): CheckOutcome {
  const version = probe.version === null ? 'version unknown' : `version ${probe.version}`;
  const detail = `reachable at ${describeOllamaHost(host)}, ${version}`;
  if (probe.version !== null && !supportsStructuredOutputs(probe.version)) {
    return {
      status: 'warn',
      detail: `${detail}, which accepts only format "json", so the report's JSON schema does not constrain the model's output`,
      fix: `upgrade Ollama to ${STRUCTURED_OUTPUTS_VERSION} or later`,
    };
  }

  return { status: 'pass', detail };
}

/**
 * Returns a warning when `localhost` resolves to an IPv6 address first and Ollama responds at
 * 127.0.0.1 on the same port, or undefined when that is not the case.
 */
async function probeLoopbackFallback(context: DoctorContext, host: OllamaHost, url: URL): Promise<CheckOutcome | undefined> {
  let addresses;
  try {
    addresses = await context.lookup(url.hostname);
  } catch {
    return undefined;
  }

  const first = addresses[0];
  if (first === undefined || first.family !== 6) {
    return undefined;
  }

  const loopback = new URL(host.url);
  loopback.hostname = '127.0.0.1';
  const fallbackHost: OllamaHost = { ...host, url: loopback.href.replace(/\/$/, '') };
  const probe = await context.probe(fallbackHost, context.timeoutMs);
  if (!probe.reachable) {
    return undefined;
  }

  const port = loopback.port || (loopback.protocol === 'https:' ? '443' : '80');
  const plain = loopback.protocol === 'http:' && (loopback.pathname === '/' || loopback.pathname === '');
  const value = plain ? `127.0.0.1:${port}` : fallbackHost.url;
  return {
    status: 'warn',
    detail: `not reachable at ${host.url}, because localhost resolves to ${first.address} first, but Ollama responds at ${fallbackHost.url}`,
    fix: `set OLLAMA_HOST=${value}`,
  };
}

/** Splits InvalidOllamaHostError's `invalid OLLAMA_HOST "x": problem; set it to ...` into the problem and the fix. */
function splitHostError(message: string): { detail: string; fix?: string } {
  const index = message.indexOf('; set it to ');
  return index < 0 ? { detail: message } : { detail: message.slice(0, index), fix: message.slice(index + 2) };
}

/** Splits probeOllama's `reason; what to do` details, such as the one for ECONNREFUSED. */
function splitProbeDetail(detail: string): { detail: string; fix?: string } {
  const index = detail.indexOf('; ');
  return index < 0 ? { detail } : { detail: detail.slice(0, index), fix: detail.slice(index + 2) };
}
