/**
 * Writing gRPC answers on a node:http2 stream (PROTOCOL-HTTP2.md, Responses): headers, then
 * length-prefixed messages, then trailers with `grpc-status` (and a percent-encoded `grpc-message`);
 * an error before any message is one trailers-only HEADERS frame. Every function here is a no-op on a
 * stream the peer already closed.
 */
import { constants, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { status } from '@grpc/grpc-js';
import { percentEncode } from './percent-encoding.js';
import { PREFIX_BYTES } from './request-message.js';

const RESPONSE_HEADERS: OutgoingHttpHeaders = Object.freeze({ ':status': 200, 'content-type': 'application/grpc' });
const OK_TRAILERS: OutgoingHttpHeaders = Object.freeze({ 'grpc-status': '0' });

/** gRPC has no use for a `date` header; building and encoding one was a visible share of `respond` in profiles. */
const END_NOW = Object.freeze({ endStream: true, sendDate: false });
const TRAILERS_LATER = Object.freeze({ waitForTrailers: true, sendDate: false });

/** A listener of the stream's own 'wantTrailers' (called with the stream as `this`): no closure per call; it fires once, hence `on`. */
function sendOkTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

function usable(stream: ServerHttp2Stream): boolean {
  return !stream.destroyed && !stream.closed;
}

/** `message` with its uncompressed 5-byte prefix. */
export function lengthPrefixed(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(PREFIX_BYTES + message.length);
  framed[0] = 0;
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, PREFIX_BYTES);
  return framed;
}

function statusHeaders(code: status, details: string): OutgoingHttpHeaders {
  return details === '' ? { 'grpc-status': String(code) } : { 'grpc-status': String(code), 'grpc-message': percentEncode(details) };
}

/** A call that ends before any message: status in the only HEADERS frame (`extra`: e.g. grpc-accept-encoding). */
export function respondTrailersOnly(stream: ServerHttp2Stream, code: status, details: string, extra?: OutgoingHttpHeaders): void {
  if (!usable(stream) || stream.headersSent) return;
  stream.respond({ ...RESPONSE_HEADERS, ...statusHeaders(code, details), ...extra }, END_NOW);
}

/** An HTTP-level refusal (not gRPC at all: wrong method or content-type). */
export function respondHttpError(stream: ServerHttp2Stream, httpStatus: number): void {
  if (!usable(stream) || stream.headersSent) return;
  stream.respond({ ':status': httpStatus, ...(httpStatus === constants.HTTP_STATUS_METHOD_NOT_ALLOWED ? { allow: 'POST' } : {}) }, END_NOW);
}

/** A unary answer: headers, the one message, OK trailers. */
export function respondMessage(stream: ServerHttp2Stream, message: Uint8Array): void {
  if (!usable(stream)) return;
  stream.respond(RESPONSE_HEADERS, TRAILERS_LATER);
  stream.on('wantTrailers', sendOkTrailers);
  stream.end(lengthPrefixed(message));
}

/** A streaming answer's headers (before its first message). */
export function startMessages(stream: ServerHttp2Stream): void {
  if (!usable(stream) || stream.headersSent) return;
  stream.respond(RESPONSE_HEADERS, TRAILERS_LATER);
}

/** One more message of a streaming answer. */
export function writeMessage(stream: ServerHttp2Stream, message: Uint8Array): void {
  if (usable(stream)) stream.write(lengthPrefixed(message));
}

/** Ends a streaming answer with its status; trailers-only if no message was sent. */
export function endMessages(stream: ServerHttp2Stream, code: status, details: string): void {
  if (!stream.headersSent) {
    respondTrailersOnly(stream, code, details);
    return;
  }
  if (!usable(stream)) return;
  stream.on('wantTrailers', () => stream.sendTrailers(statusHeaders(code, details)));
  stream.end();
}
