/**
 * How many response DATA bytes one answer to a given request body carries, measured with a single call
 * before a load run: an error answer carries none, so h2load's `traffic: ... data` figure over these
 * sizes bounds how many answers had a body (bench/answer-check.ts).
 *
 * The answers to one body differ only where time shows: an over-limit status's duration_until_reset
 * runs down with the clock, so its nanos take any varint size (or none); the range re-encodes the
 * probed answer with nanos 0 and 999,999,999. A within-limit status of the bench config is always 1 µs
 * short of full after the hit (a limit of 4·10⁹/s): its size is exact.
 */
import { Code, encodeRateLimitResponse, type RateLimitResponse } from '../src/rls/codec.js';
import { answerName, callOnce, decodeAnswer } from './grpc-call.js';

/** [fewest, most] DATA bytes of one answer, by answer name (OK, OVER_LIMIT). */
export type SizeRanges = Record<string, readonly [number, number]>;

/** One call; the size range of its answer's name (an error answer gives no range). */
export async function probeSizes(url: string, body: Buffer): Promise<SizeRanges> {
  const answer = await callOnce(url, body);
  const decoded = decodeAnswer(answer);
  if (!decoded.ok) return {};
  // Anchored at the bytes received (the baseline's encoder is protobufjs, not ours): only the difference is re-encoded.
  const asReceived = encodedSize(decoded.response);
  const size = (nanos: number) => answer.data.length + encodedSize(withResetNanos(decoded.response, nanos)) - asReceived;
  return { [answerName(answer)]: [size(0), size(999_999_999)] };
}

function withResetNanos(response: RateLimitResponse, nanos: number): RateLimitResponse {
  return {
    ...response,
    statuses: response.statuses.map((s) =>
      s.code === Code.OVER_LIMIT && s.durationUntilReset !== undefined ? { ...s, durationUntilReset: { ...s.durationUntilReset, nanos } } : s,
    ),
  };
}

function encodedSize(response: RateLimitResponse): number {
  return encodeRateLimitResponse(response).length;
}
