/**
 * Broken gRPC framing from a raw node:http2 client: truncated length-prefixed messages, partial
 * frame headers, compressed flags without an encoding, several messages in a unary call, resets
 * mid-message, wrong content types, garbage that is not HTTP/2. Every stream ends within a bound
 * with a gRPC (or HTTP) error, nothing crashes, and normal calls still answer correctly. Against both
 * gRPC servers (`--grpc-server`); they answer alike except where grpc-js departs from the spec.
 */
import { connect, type ClientHttp2Session, constants } from 'node:http2';
import { connect as tcpConnect } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeRateLimitRequest, SHOULD_RATE_LIMIT_PATH } from '../../src/rls/codec.js';
import { GRPC_SERVERS, grpcServerFlags } from '../support/grpc-servers.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { CALL_BOUND_MS, expectHealthy, HARDENING_CONFIG, within } from './helpers.js';

let rg: TestSidecar;
let session: ClientHttp2Session;

const GRPC_HEADERS = {
  [constants.HTTP2_HEADER_METHOD]: 'POST',
  [constants.HTTP2_HEADER_PATH]: SHOULD_RATE_LIMIT_PATH,
  [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
  te: 'trailers',
};

interface StreamOutcome {
  readonly httpStatus: number | undefined;
  /** From the trailers, or the headers of a trailers-only answer; undefined when the stream was reset. */
  readonly grpcStatus: number | undefined;
  readonly grpcMessage: string | undefined;
  readonly body: Buffer;
}

/** Opens a stream, writes `chunks`, then ends it, resets it, or leaves it open; resolves when the stream closes. */
function rawStream(chunks: Buffer[], finish: 'end' | 'reset', headers: Record<string, string> = GRPC_HEADERS): Promise<StreamOutcome> {
  return new Promise((resolve) => {
    const stream = session.request(headers);
    let httpStatus: number | undefined;
    let grpcStatus: string | undefined;
    let grpcMessage: string | undefined;
    const body: Buffer[] = [];
    stream.on('response', (h) => {
      httpStatus = Number(h[':status']);
      grpcStatus ??= h['grpc-status'] as string | undefined;
      grpcMessage ??= h['grpc-message'] as string | undefined;
    });
    stream.on('trailers', (t) => {
      grpcStatus = t['grpc-status'] as string | undefined;
      grpcMessage = t['grpc-message'] as string | undefined;
    });
    stream.on('data', (chunk: Buffer) => body.push(chunk));
    stream.on('error', () => {});
    stream.on('close', () =>
      resolve({
        httpStatus,
        grpcStatus: grpcStatus === undefined ? undefined : Number(grpcStatus),
        grpcMessage: grpcMessage === undefined ? undefined : decodeURIComponent(grpcMessage),
        body: Buffer.concat(body),
      }),
    );
    for (const chunk of chunks) stream.write(chunk);
    if (finish === 'end') stream.end();
    else setImmediate(() => stream.close(constants.NGHTTP2_CANCEL));
  });
}

/** The 5-byte gRPC message prefix: compressed flag and big-endian length. */
function prefix(length: number, compressed = 0): Buffer {
  const b = Buffer.alloc(5);
  b[0] = compressed;
  b.writeUInt32BE(length, 1);
  return b;
}

const message = encodeRateLimitRequest(request('hard', [['k', 'frames']]));

describe.each(GRPC_SERVERS)('broken gRPC framing (%s)', (server) => {
  beforeAll(async () => {
    rg = await startTestSidecar({ 'hard.yaml': HARDENING_CONFIG }, grpcServerFlags(server));
    session = connect(`http://127.0.0.1:${rg.sidecar.grpcPort}`);
    session.on('error', () => {});
  });
  afterAll(async () => {
    session.close();
    await rg.stop();
  });
  afterEach(async () => {
    await expectHealthy(rg);
  });

  it('a well-formed raw call is answered OK (the harness itself works)', async () => {
    const outcome = await within(rawStream([prefix(message.length), message], 'end'), CALL_BOUND_MS, 'raw');
    expect(outcome.grpcStatus).toBe(grpc.status.OK);
    expect(outcome.body.readUInt32BE(1)).toBe(outcome.body.length - 5);
  });

  it.each<[string, () => Buffer[], grpc.status]>([
    // grpc-js reports a unary call that did not carry exactly one whole message as UNIMPLEMENTED.
    ['a message shorter than its length prefix', () => [prefix(100), message], grpc.status.UNIMPLEMENTED],
    ['a partial 5-byte prefix', () => [Buffer.from([0, 0, 0])], grpc.status.UNIMPLEMENTED],
    ['no message at all', () => [], grpc.status.UNIMPLEMENTED],
    ['two messages in a unary call', () => [prefix(message.length), message, prefix(message.length), message], grpc.status.UNIMPLEMENTED],
    // compression.md: a compressed flag without a grpc-encoding MUST fail with INTERNAL; grpc-js instead
    // reads the flagged bytes as identity.
    ['a compressed flag without grpc-encoding', () => [prefix(message.length, 1), message], server === 'grpc-js' ? grpc.status.OK : grpc.status.INTERNAL],
    ['a prefix claiming 4 GiB', () => [prefix(0xffffffff), message], grpc.status.RESOURCE_EXHAUSTED],
  ])('%s: answered with gRPC status %i, not a crash', async (_name, chunks, code) => {
    const outcome = await within(rawStream(chunks(), 'end'), CALL_BOUND_MS, 'raw');
    expect(outcome.httpStatus).toBe(200);
    expect(outcome.grpcStatus).toBe(code);
  });

  it('a stream reset in the middle of a message leaves the server serving', async () => {
    const outcome = await within(rawStream([prefix(message.length), message.subarray(0, 4)], 'reset'), CALL_BOUND_MS, 'reset');
    expect(outcome.grpcStatus).toBeUndefined();
  });

  it('a wrong content-type is HTTP 415', async () => {
    const outcome = await within(
      rawStream([prefix(message.length), message], 'end', { ...GRPC_HEADERS, [constants.HTTP2_HEADER_CONTENT_TYPE]: 'text/plain' }),
      CALL_BOUND_MS,
      'content-type',
    );
    expect(outcome.httpStatus).toBe(415);
  });

  it('an unknown method is UNIMPLEMENTED', async () => {
    const outcome = await within(
      rawStream([prefix(message.length), message], 'end', {
        ...GRPC_HEADERS,
        [constants.HTTP2_HEADER_PATH]: '/envoy.service.ratelimit.v3.RateLimitService/Nope',
      }),
      CALL_BOUND_MS,
      'path',
    );
    expect(outcome.grpcStatus).toBe(grpc.status.UNIMPLEMENTED);
  });

  it('bytes that are not HTTP/2 get the connection closed', async () => {
    const closed = await within(
      new Promise<boolean>((resolve) => {
        const socket = tcpConnect(rg.sidecar.grpcPort, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\x01\x02garbage'));
        socket.on('error', () => {});
        socket.on('close', () => resolve(true));
        socket.resume();
      }),
      CALL_BOUND_MS,
      'garbage',
    );
    expect(closed).toBe(true);
  });
});
