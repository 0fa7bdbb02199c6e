/**
 * What a request's headers must be before its message is read (PROTOCOL-HTTP2.md, Requests):
 * - `:method` POST, else HTTP 405;
 * - `content-type` application/grpc, else HTTP 415 (the spec's SHOULD: a plain HTTP client must not
 *   read a gRPC error's 200 as success); of its subtypes only `+proto` is served, others are INTERNAL,
 *   as in grpc-go ("no codec registered");
 * - `te: trailers`, else INTERNAL: the status travels in trailers, and a proxy that drops them
 *   would turn every answer into a missing status;
 * - `grpc-timeout` well-formed, else INTERNAL (grpc-js's answer), giving the call's deadline.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import { status } from '@grpc/grpc-js';
import { parseGrpcTimeoutMs } from './grpc-timeout.js';
import type { CallRefusal } from './request-message.js';

export interface CallHeaders {
  /** Epoch ms, or undefined without a grpc-timeout. */
  readonly deadlineMs: number | undefined;
  /** The request's grpc-encoding, undefined when absent. */
  readonly encoding: string | undefined;
}

export type HeaderCheck =
  | ({ readonly ok: true } & CallHeaders)
  | { readonly ok: false; readonly httpStatus: number }
  | ({ readonly ok: false; readonly httpStatus?: undefined } & CallRefusal);

const SERVED_CONTENT_TYPES = new Set(['application/grpc', 'application/grpc+proto']);

export function checkRequestHeaders(headers: IncomingHttpHeaders): HeaderCheck {
  if (headers[':method'] !== 'POST') return { ok: false, httpStatus: 405 };
  const contentType = headers['content-type'];
  if (contentType === undefined || !contentType.startsWith('application/grpc')) return { ok: false, httpStatus: 415 };
  if (!SERVED_CONTENT_TYPES.has(contentType) && !SERVED_CONTENT_TYPES.has(contentType.split(';', 1)[0]!.trim())) {
    return { ok: false, code: status.INTERNAL, details: `content-type ${contentType} is not served; use application/grpc or application/grpc+proto` };
  }
  if (headers.te !== 'trailers') return { ok: false, code: status.INTERNAL, details: 'te: trailers is required (gRPC sends its status in trailers)' };
  const timeout = headers['grpc-timeout'];
  let deadlineMs: number | undefined;
  if (timeout !== undefined) {
    const ms = typeof timeout === 'string' ? parseGrpcTimeoutMs(timeout) : undefined;
    if (ms === undefined) return { ok: false, code: status.INTERNAL, details: `Invalid grpc-timeout value "${timeout}"` };
    deadlineMs = Date.now() + ms;
  }
  const encoding = headers['grpc-encoding'];
  return { ok: true, deadlineMs, encoding: typeof encoding === 'string' ? encoding : undefined };
}
