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

function tooLong(what: string, length: number, max: number): string {
  return `${what} is ${length} characters long; at most ${max} are allowed`;
}

function tooManyHits(what: string, hits: number, max: number): string {
  return `${what} is ${hits}; at most ${max} is allowed`;
}

/**
 * The request's problem, or undefined. Strings are already valid Unicode here: both decoders (wire
 * and JSON) reject what UTF-8 cannot carry. Messages are built only on failure: this runs on every call.
 */
export function checkRequest(request: RateLimitRequest, limits: RequestLimits): string | undefined {
  const basic = validateRateLimitRequest(request);
  if (basic !== undefined) return basic;
  const { descriptors } = request;
  if (descriptors.length > limits.maxDescriptors) return `${descriptors.length} descriptors; at most ${limits.maxDescriptors} are allowed`;
  if (request.domain.length > limits.maxValueLength) return tooLong('domain', request.domain.length, limits.maxValueLength);
  if (request.hitsAddend > limits.maxHitsAddend) return tooManyHits('hits_addend', request.hitsAddend, limits.maxHitsAddend);
  for (let i = 0; i < descriptors.length; i++) {
    const { entries, hitsAddend } = descriptors[i]!;
    if (entries.length > limits.maxEntries) return `descriptors[${i}] has ${entries.length} entries; at most ${limits.maxEntries} are allowed`;
    if (hitsAddend !== undefined && hitsAddend > limits.maxHitsAddend) {
      return tooManyHits(`descriptors[${i}].hits_addend`, hitsAddend, limits.maxHitsAddend);
    }
    for (let j = 0; j < entries.length; j++) {
      const { key, value } = entries[j]!;
      if (key.length > limits.maxKeyLength) return tooLong(`descriptors[${i}].entries[${j}].key`, key.length, limits.maxKeyLength);
      if (value.length > limits.maxValueLength) return tooLong(`descriptors[${i}].entries[${j}].value`, value.length, limits.maxValueLength);
    }
  }
  return undefined;
}
