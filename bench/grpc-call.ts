/**
 * One ShouldRateLimit call over node:http2 with a pre-encoded body, and what its answer was by name
 * (bench/grpc-status.ts). The status is read where gRPC puts it: in the trailers, or in the response
 * headers of a trailers-only answer (how errors usually come, with HTTP status 200 and no DATA).
 */
import http2 from 'node:http2';
import { Code, decodeRateLimitResponse, type RateLimitResponse } from '../src/rls/codec.js';
import { SHOULD_RATE_LIMIT_PATH } from './grpc-bodies.js';
import { BAD_RESPONSE, STREAM_ERROR, statusName } from './grpc-status.js';

export interface CallAnswer {
  /** undefined: the stream ended without a gRPC status (reset, connection lost). */
  readonly grpcStatus: number | undefined;
  readonly grpcMessage: string;
  /** The response DATA: the length-prefixed message (empty for an error). */
  readonly data: Buffer;
}

export function callHeaders(grpcTimeout?: string): http2.OutgoingHttpHeaders {
  return {
    ':method': 'POST',
    ':path': SHOULD_RATE_LIMIT_PATH,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...(grpcTimeout === undefined ? {} : { 'grpc-timeout': grpcTimeout }),
  };
}

/** Starts one call on `session`; `done` runs once, when the stream has closed. */
export function startCall(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body: Buffer, done: (answer: CallAnswer) => void): void {
  let stream: http2.ClientHttp2Stream;
  try {
    stream = session.request(headers);
  } catch {
    done({ grpcStatus: undefined, grpcMessage: 'the session refused a new stream', data: Buffer.alloc(0) });
    return;
  }
  const chunks: Buffer[] = [];
  let status: string | undefined;
  let message = '';
  const read = (headers: http2.IncomingHttpHeaders) => {
    if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
    if (headers['grpc-message'] !== undefined) message = decodeURIComponent(String(headers['grpc-message']));
  };
  stream.on('response', read);
  stream.on('trailers', read);
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('error', () => {}); // a reset: the close below reports it as a call without a status
  stream.on('close', () => done({ grpcStatus: status === undefined ? undefined : Number(status), grpcMessage: message, data: Buffer.concat(chunks) }));
  stream.end(body);
}

/** A single call on its own connection. */
export async function callOnce(url: string, body: Buffer): Promise<CallAnswer> {
  const session = http2.connect(url);
  session.on('error', () => {}); // the call reports it
  try {
    return await new Promise<CallAnswer>((resolve) => startCall(session, callHeaders(), body, resolve));
  } finally {
    session.close();
  }
}

/** The decoded response of an OK answer, or why there is none. */
export function decodeAnswer(answer: CallAnswer): { ok: true; response: RateLimitResponse } | { ok: false; error: string } {
  if (answer.grpcStatus !== 0) return { ok: false, error: `grpc-status ${answer.grpcStatus ?? 'missing'} ${answer.grpcMessage}`.trim() };
  const { data } = answer;
  if (data.length < 5 || data[0] !== 0 || data.readUInt32BE(1) !== data.length - 5)
    return { ok: false, error: `not one uncompressed gRPC frame (${data.length} bytes)` };
  return decodeRateLimitResponse(data.subarray(5));
}

/** OK, OVER_LIMIT, the gRPC error's name, STREAM_ERROR or BAD_RESPONSE. */
export function answerName(answer: CallAnswer): string {
  if (answer.grpcStatus === undefined) return STREAM_ERROR;
  if (answer.grpcStatus !== 0) return statusName(answer.grpcStatus);
  const decoded = decodeAnswer(answer);
  if (!decoded.ok) return BAD_RESPONSE;
  if (decoded.response.overallCode === Code.OVER_LIMIT) return 'OVER_LIMIT';
  return decoded.response.overallCode === Code.OK ? 'OK' : BAD_RESPONSE;
}
