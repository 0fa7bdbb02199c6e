/**
 * Limits on what one request may carry, checked before any work: a rate limiter is the first thing
 * an attacker reaches. Violations are INVALID_ARGUMENT (HTTP 400) with a message naming the field.
 * Bounds and defaults: docs/hardening.md (the defaults live in the settings table).
 */
import { type RateLimitRequest, validateRateLimitRequest } from '../rls/codec.js';

export interface RequestLimits {
  readonly maxDescriptors: number;
  readonly maxEntries: number;
  readonly maxKeyLength: number;
  readonly maxValueLength: number;
  /**
   * Largest hits_addend, request-level (uint32) or per descriptor (uint64, which the codec clamps to
   * 2^53-1): every cost the engine and the Lua script see is a safe integer no larger than this.
   */
  readonly maxHitsAddend: number;
}

/** Lone UTF-16 surrogates cannot be carried in UTF-8: two such strings could share one bucket key. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkText(what: string, text: string, max: number): string | undefined {
  if (text.length > max) return `${what} is ${text.length} characters long; at most ${max} are allowed`;
  if (LONE_SURROGATE.test(text)) return `${what} is not valid Unicode (lone surrogate)`;
  return undefined;
}

function checkHits(what: string, hits: number | undefined, max: number): string | undefined {
  if (hits === undefined || hits <= max) return undefined;
  return `${what} is ${hits}; at most ${max} is allowed`;
}

export function checkRequest(request: RateLimitRequest, limits: RequestLimits): string | undefined {
  const basic = validateRateLimitRequest(request);
  if (basic !== undefined) return basic;
  if (request.descriptors.length > limits.maxDescriptors) {
    return `${request.descriptors.length} descriptors; at most ${limits.maxDescriptors} are allowed`;
  }
  const requestProblem =
    checkText('domain', request.domain, limits.maxValueLength) ?? checkHits('hits_addend', request.hitsAddend, limits.maxHitsAddend);
  if (requestProblem !== undefined) return requestProblem;
  for (const [i, descriptor] of request.descriptors.entries()) {
    if (descriptor.entries.length > limits.maxEntries) {
      return `descriptors[${i}] has ${descriptor.entries.length} entries; at most ${limits.maxEntries} are allowed`;
    }
    const hitsProblem = checkHits(`descriptors[${i}].hits_addend`, descriptor.hitsAddend, limits.maxHitsAddend);
    if (hitsProblem !== undefined) return hitsProblem;
    for (const [j, entry] of descriptor.entries.entries()) {
      const problem =
        checkText(`descriptors[${i}].entries[${j}].key`, entry.key, limits.maxKeyLength) ??
        checkText(`descriptors[${i}].entries[${j}].value`, entry.value, limits.maxValueLength);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}
