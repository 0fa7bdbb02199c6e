/**
 * The node:http2 gRPC server (src/transport/) against real clients: raw HTTP/2 for the protocol's
 * edges (headers, compression, deadlines, split messages), grpc-js's client and Python's grpcio
 * (C-core) for interoperability, h2load under load with every answer counted, PINGs, GOAWAY on
 * drain, a unix socket. The grpc-js server's answers to the same interop calls sit beside them.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runH2load } from '../../bench/h2load.js';
import { parseServerCounts } from '../../bench/server-counts.js';
import { Code, decodeRateLimitResponse, encodeRateLimitRequest, RateLimitServiceClient, SHOULD_RATE_LIMIT_PATH, shouldRateLimit } from '../../src/rls/codec.js';
import { CALL_BOUND_MS, HARDENING_CONFIG, within } from '../hardening/helpers.js';
import { GRPC_SERVERS, grpcServerFlags, startGrpcListener, type TestGrpcListener } from '../support/grpc-servers.js';
import type { MemoryStore } from '../../src/stores/memory-store.js';
import type { BucketStore } from '../../src/stores/store.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { DEBIAN_PYTHON } from '../support/system-packages.js';

const run = promisify(execFile);

/** HTTP/2 frame type of PING (RFC 9113 §6.7). */
const PING_FRAME = 6;

const GRPC_HEADERS: OutgoingHttpHeaders = {
  ':method': 'POST',
  ':path': SHOULD_RATE_LIMIT_PATH,
  'content-type': 'application/grpc',
  te: 'trailers',
};

function framed(message: Uint8Array, flag = 0): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

interface Answer {
  readonly httpStatus: number;
  /** Every header of the first HEADERS frame (a trailers-only answer's status is there). */
  readonly headers: Record<string, unknown>;
  readonly grpcStatus: number | undefined;
  readonly grpcMessage: string | undefined;
  readonly body: Buffer;
}

/** One raw call: `chunks` written one DATA frame each (setImmediate between them), then END_STREAM. */
function rawCall(session: ClientHttp2Session, chunks: Buffer[], headers: OutgoingHttpHeaders = GRPC_HEADERS): Promise<Answer> {
  return within(
    new Promise<Answer>((resolve) => {
      const stream = session.request(headers);
      let first: Record<string, unknown> = {};
      let trailers: Record<string, unknown> = {};
      const body: Buffer[] = [];
      stream.on('response', (h) => (first = { ...h }));
      stream.on('trailers', (t) => (trailers = { ...t }));
      stream.on('data', (chunk: Buffer) => body.push(chunk));
      stream.on('error', () => {});
      stream.on('close', () => {
        const status = trailers['grpc-status'] ?? first['grpc-status'];
        const message = trailers['grpc-message'] ?? first['grpc-message'];
        resolve({
          httpStatus: Number(first[':status']),
          headers: first,
          grpcStatus: status === undefined ? undefined : Number(status),
          grpcMessage: message === undefined ? undefined : decodeURIComponent(String(message)),
          body: Buffer.concat(body),
        });
      });
      const write = (i: number) => {
        if (i === chunks.length) stream.end();
        else stream.write(chunks[i], () => setImmediate(() => write(i + 1)));
      };
      write(0);
    }),
    CALL_BOUND_MS,
    'raw call',
  );
}

function overallCode(answer: Answer): number {
  const decoded = decodeRateLimitResponse(answer.body.subarray(5));
  if (!decoded.ok) throw new Error(decoded.error);
  return decoded.response.overallCode;
}

/** Never denies, and its answer has one size: what h2load's DATA bytes are checked against. */
const FREE_CONFIG = 'domain: free\ndescriptors:\n  - key: any\n    rate_limit: { unlimited: true }\n';

let probes = 0;
const fresh = () => encodeRateLimitRequest(request('hard', [['k', `h2-${++probes}`]]));

describe('the protocol edges, from a raw HTTP/2 client', () => {
  let rg: TestSidecar;
  let session: ClientHttp2Session;
  beforeAll(async () => {
    rg = await startTestSidecar({ 'hard.yaml': HARDENING_CONFIG }, grpcServerFlags('node-http2'));
    session = connect(`http://127.0.0.1:${rg.sidecar.grpcPort}`);
    session.on('error', () => {});
  });
  afterAll(async () => {
    session.close();
    await rg.stop();
  });

  it('a message written one byte per DATA frame is answered as a whole one is', async () => {
    const bytes = [...framed(fresh())].map((b) => Buffer.from([b]));
    const answer = await rawCall(session, bytes);
    expect([answer.httpStatus, answer.grpcStatus, answer.headers['content-type'], overallCode(answer)]).toEqual([200, 0, 'application/grpc', Code.OK]);
  });

  it('application/grpc+proto is served; another subtype is INTERNAL; not application/grpc at all is HTTP 415', async () => {
    const proto = await rawCall(session, [framed(fresh())], { ...GRPC_HEADERS, 'content-type': 'application/grpc+proto' });
    expect(proto.grpcStatus).toBe(grpc.status.OK);
    const json = await rawCall(session, [framed(fresh())], { ...GRPC_HEADERS, 'content-type': 'application/grpc+json' });
    expect([json.httpStatus, json.grpcStatus, json.grpcMessage]).toEqual([
      200,
      grpc.status.INTERNAL,
      'content-type application/grpc+json is not served; use application/grpc or application/grpc+proto',
    ]);
    const text = await rawCall(session, [framed(fresh())], { ...GRPC_HEADERS, 'content-type': 'text/plain' });
    expect([text.httpStatus, text.grpcStatus]).toEqual([415, undefined]);
  });

  it('without te: trailers the call is INTERNAL, trailers-only (the status readable in the headers)', async () => {
    const { te: _te, ...withoutTe } = GRPC_HEADERS;
    const answer = await rawCall(session, [framed(fresh())], withoutTe);
    expect([answer.httpStatus, answer.grpcStatus, answer.grpcMessage, answer.body.length]).toEqual([
      200,
      grpc.status.INTERNAL,
      'te: trailers is required (gRPC sends its status in trailers)',
      0,
    ]);
  });

  it('GET is HTTP 405 naming POST', async () => {
    const answer = await rawCall(session, [], { ...GRPC_HEADERS, ':method': 'GET' });
    expect([answer.httpStatus, answer.headers.allow]).toEqual([405, 'POST']);
  });

  it('a gzip-compressed message is UNIMPLEMENTED with grpc-accept-encoding: identity; an uncompressed one under grpc-encoding: gzip is served', async () => {
    const compressed = await rawCall(session, [framed(fresh(), 1)], { ...GRPC_HEADERS, 'grpc-encoding': 'gzip' });
    expect([compressed.grpcStatus, compressed.headers['grpc-accept-encoding']]).toEqual([grpc.status.UNIMPLEMENTED, 'identity']);
    const plain = await rawCall(session, [framed(fresh())], { ...GRPC_HEADERS, 'grpc-encoding': 'gzip' });
    expect(plain.grpcStatus).toBe(grpc.status.OK);
  });

  it('grpc-timeout: every unit is read; a malformed one is INTERNAL', async () => {
    for (const timeout of ['1H', '1M', '5S', '5000m', '5000000u', '99999999n']) {
      const answer = await rawCall(session, [framed(fresh())], { ...GRPC_HEADERS, 'grpc-timeout': timeout });
      expect([timeout, answer.grpcStatus]).toEqual([timeout, grpc.status.OK]);
    }
    const bad = await rawCall(session, [framed(fresh())], { ...GRPC_HEADERS, 'grpc-timeout': '20 ms' });
    expect([bad.grpcStatus, bad.grpcMessage]).toEqual([grpc.status.INTERNAL, 'Invalid grpc-timeout value "20 ms"']);
  });

  it("an oversized message is RESOURCE_EXHAUSTED with grpc-js's words, and the stream is answered before the body is sent", async () => {
    const answer = await rawCall(session, [framed(Buffer.alloc(70_000)).subarray(0, 5)]);
    expect([answer.grpcStatus, answer.grpcMessage]).toEqual([grpc.status.RESOURCE_EXHAUSTED, 'Received message larger than max (70000 vs. 65536)']);
  });
});

describe.each(GRPC_SERVERS)('interoperability (%s server)', (server) => {
  let rg: TestSidecar;
  let dir: string;
  beforeAll(async () => {
    rg = await startTestSidecar({ 'hard.yaml': HARDENING_CONFIG, 'free.yaml': FREE_CONFIG }, grpcServerFlags(server));
    dir = mkdtempSync(join(tmpdir(), 'rg-interop-'));
  });
  afterAll(async () => {
    await rg.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('grpcio (C-core): ShouldRateLimit, deadlines, compression and both health methods', async () => {
    const message = join(dir, 'request.bin');
    writeFileSync(message, encodeRateLimitRequest(request('hard', [['k', `grpcio-${server}`]])));
    const { stdout } = await run(DEBIAN_PYTHON, ['test/support/grpcio-interop.py', `127.0.0.1:${rg.sidecar.grpcPort}`, message], { timeout: 60_000 });
    expect(JSON.parse(stdout)).toEqual({
      should_rate_limit: 'OK',
      with_deadline: 'OK',
      // C-core sends this small message uncompressed (flag 0) under grpc-encoding: gzip, which both servers read;
      // a message that is compressed is refused by node-http2 (the raw-client test above).
      gzip: 'OK',
      health_check: 'SERVING',
      health_unknown: 'NOT_FOUND',
      health_watch_first: 'SERVING',
    });
  });

  it("h2load: 4000 calls on 2 connections × 32 streams, every one OK by the server's own count and by the DATA bytes", async () => {
    const metrics = async () => parseServerCounts(await (await fetch(`${rg.httpUrl}/metrics`)).text()).codes;
    const body = join(dir, 'h2load.bin');
    writeFileSync(body, framed(encodeRateLimitRequest(request('free', [['any', 'h2load']]))));
    const probe = await (async () => {
      const session = connect(`http://127.0.0.1:${rg.sidecar.grpcPort}`);
      try {
        return await rawCall(session, [framed(encodeRateLimitRequest(request('free', [['any', 'h2load']])))]);
      } finally {
        session.close();
      }
    })();
    expect(probe.grpcStatus).toBe(grpc.status.OK);
    const before = await metrics();
    const result = await runH2load({
      url: `http://127.0.0.1:${rg.sidecar.grpcPort}${SHOULD_RATE_LIMIT_PATH}`,
      bodyFile: body,
      connections: 2,
      streams: 32,
      calls: 4000,
      logFile: join(dir, 'h2load.log'),
    });
    const after = await metrics();
    expect([result.requests, result.failed, result.dataBytes]).toEqual([4000, 0, 4000 * probe.body.length]);
    expect((after.OK ?? 0) - (before.OK ?? 0)).toBe(4000);
    expect(Object.keys(after).filter((code) => code !== 'OK' && (after[code] ?? 0) !== (before[code] ?? 0))).toEqual([]);
  });
});

/** A MemoryStore that takes `ms` before each decision: a store slower than the caller's deadline. */
function slowStore(ms: number) {
  return (store: MemoryStore): BucketStore => ({
    decide: (plan) => new Promise((resolve) => setTimeout(resolve, ms)).then(() => store.decide(plan)),
    reset: (keys) => store.reset(keys),
    probe: () => store.probe(),
    close: () => store.close(),
  });
}

describe.each(GRPC_SERVERS)('deadlines (%s server, a store slower than the deadline)', (server) => {
  let listener: TestGrpcListener;
  let session: ClientHttp2Session;
  beforeAll(async () => {
    listener = await startGrpcListener(server, HARDENING_CONFIG, {}, slowStore(100));
    session = connect(`http://127.0.0.1:${listener.port}`);
    session.on('error', () => {});
  });
  afterAll(async () => {
    session.close();
    await listener.stop();
  });

  it('a decision ready after the grpc-timeout is DEADLINE_EXCEEDED; with time to spare it is OK', async () => {
    const late = await rawCall(session, [framed(fresh())], { ...GRPC_HEADERS, 'grpc-timeout': '20m' });
    expect([late.grpcStatus, late.grpcMessage]).toEqual([grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded']);
    const inTime = await rawCall(session, [framed(fresh())], { ...GRPC_HEADERS, 'grpc-timeout': '5S' });
    expect(inTime.grpcStatus).toBe(grpc.status.OK);
  });
});

describe('a unix socket (--grpc-uds) and a drain, on node-http2', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rg-uds-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('grpc-js reaches it on unix:PATH; a call in flight when the drain starts is answered, its connection gets a GOAWAY, and the drain then ends', async () => {
    const path = join(dir, 'grpc.sock');
    const rg = await startTestSidecar({ 'hard.yaml': HARDENING_CONFIG }, [...grpcServerFlags('node-http2'), '--grpc-uds', path]);
    const client = new RateLimitServiceClient(`unix:${path}`, grpc.credentials.createInsecure());
    try {
      const answer = await shouldRateLimit(client, request('hard', [['k', 'uds']]), { deadline: Date.now() + CALL_BOUND_MS });
      expect(answer.statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 4 });
      const session = connect('http://localhost', { createConnection: () => tcpConnectUnix(path) });
      session.on('error', () => {});
      const goaway = new Promise((resolve) => session.once('goaway', resolve));
      const stream = session.request(GRPC_HEADERS);
      const whole = framed(encodeRateLimitRequest(request('hard', [['k', 'in-flight']])));
      stream.write(whole.subarray(0, 3));
      const status = new Promise<string>((resolve) => stream.on('trailers', (t) => resolve(String(t['grpc-status']))));
      stream.on('error', () => {});
      stream.resume();
      await new Promise((resolve) => setTimeout(resolve, 50)); // the stream's headers reach the server before the drain
      const drained = rg.sidecar.drain();
      await within(goaway, CALL_BOUND_MS, 'GOAWAY on drain');
      stream.end(whole.subarray(3));
      expect(await within(status, CALL_BOUND_MS, 'the call in flight')).toBe('0');
      await within(drained, CALL_BOUND_MS, 'drain');
      session.destroy();
    } finally {
      client.close();
      await rg.stop();
    }
  });
});

function tcpConnectUnix(path: string) {
  return tcpConnect({ path });
}

describe('keepalive PINGs (timers shortened)', () => {
  let server: TestGrpcListener;
  let port: number;
  beforeAll(async () => {
    server = await startGrpcListener('node-http2', HARDENING_CONFIG, { keepaliveTimeMs: 200, keepaliveTimeoutMs: 300 });
    port = server.port;
  });
  afterAll(async () => {
    await server.stop();
  });

  it('a client that answers PINGs keeps its connection; a peer that never answers is cut after keepaliveTimeMs + keepaliveTimeoutMs', async () => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
    let pings = 0;
    session.on('ping', () => pings++);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(session.closed || session.destroyed).toBe(false);
    session.destroy();

    // A peer that sends the HTTP/2 preface and an empty SETTINGS frame, then reads and never answers.
    const received: Buffer[] = [];
    const started = performance.now();
    const closedAfter = await within(
      new Promise<number>((resolve) => {
        const socket = tcpConnect(port, '127.0.0.1', () =>
          socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])])),
        );
        socket.on('data', (chunk: Buffer) => received.push(chunk));
        socket.on('error', () => {});
        socket.on('close', () => resolve(performance.now() - started));
      }),
      CALL_BOUND_MS,
      'silent peer',
    );
    expect(closedAfter).toBeGreaterThanOrEqual(450);
    expect(hasFrameOfType(Buffer.concat(received), PING_FRAME)).toBe(true);
  });
});

/** Whether the server's bytes hold a frame of `type` (6: PING), walking the frame headers after its SETTINGS. */
function hasFrameOfType(bytes: Buffer, type: number): boolean {
  for (let at = 0; at + 9 <= bytes.length; at += 9 + bytes.readUIntBE(at, 3)) {
    if (bytes[at + 3] === type) return true;
  }
  return false;
}
