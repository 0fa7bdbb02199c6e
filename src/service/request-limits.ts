/**
 * Limits on what one request may carry, checked before any work: a rate limiter is the first thing
 * an attacker reaches. Violations are INVALID_ARGUMENT (HTTP 400) with a message naming the field.
 */
import { type RateLimitRequest, validateRateLimitRequest } from '../rls/codec.js';

export interface RequestLimits {
  readonly maxDescriptors: number;
  readonly maxEntries: number;
  readonly maxKeyLength: number;
  readonly maxValueLength: number;
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = Object.freeze({
  maxDescriptors: 64,
  maxEntries: 16,
  maxKeyLength: 256,
  maxValueLength: 1024,
});

/** Lone UTF-16 surrogates cannot be carried in UTF-8: two such strings could share one bucket key. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkText(what: string, text: string, max: number): string | undefined {
  if (text.length > max) return `${what} is ${text.length} characters long; at most ${max} are allowed`;
  if (LONE_SURROGATE.test(text)) return `${what} is not valid Unicode (lone surrogate)`;
  return undefined;
}

export function checkRequest(request: RateLimitRequest, limits: RequestLimits): string | undefined {
  const basic = validateRateLimitRequest(request);
  if (basic !== undefined) return basic;
  if (request.descriptors.length > limits.maxDescriptors) {
    return `${request.descriptors.length} descriptors; at most ${limits.maxDescriptors} are allowed`;
  }
  const domainProblem = checkText('domain', request.domain, limits.maxValueLength);
  if (domainProblem !== undefined) return domainProblem;
  for (const [i, descriptor] of request.descriptors.entries()) {
    if (descriptor.entries.length > limits.maxEntries) {
      return `descriptors[${i}] has ${descriptor.entries.length} entries; at most ${limits.maxEntries} are allowed`;
    }
    for (const [j, entry] of descriptor.entries.entries()) {
      const problem =
        checkText(`descriptors[${i}].entries[${j}].key`, entry.key, limits.maxKeyLength) ??
        checkText(`descriptors[${i}].entries[${j}].value`, entry.value, limits.maxValueLength);
      if (problem !== undefined) return problem;
    }
  }
  return undefined;
}
