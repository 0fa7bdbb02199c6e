/**
 * Slow, stalled and idle peers do not starve others, and the connection bounds of both gRPC servers
 * (src/server/grpc-server.ts on grpc-js, src/transport/connection-lifetime.ts on node:http2) hold: idle connections close, old ones get a GOAWAY and their stalled
 * streams end after the grace period, and no connection gets more than its streams.
 */
import { connect, type ClientHttp2Session, constants } from 'node:http2';
import { connect as tcpConnect, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, encodeRateLimitRequest, RateLimitServiceClient, SHOULD_RATE_LIMIT_PATH, shouldRateLimit } from '../../src/rls/codec.js';
import type { GrpcConnectionLimits } from '../../src/settings/grpc-connection-limits.js';
import { GRPC_SERVERS, grpcServerFlags, startGrpcListener, type TestGrpcListener } from '../support/grpc-servers.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { CALL_BOUND_MS, HARDENING_CONFIG, within } from './helpers.js';

const GRPC_HEADERS = {
  [constants.HTTP2_HEADER_METHOD]: 'POST',
  [constants.HTTP2_HEADER_PATH]: SHOULD_RATE_LIMIT_PATH,
  [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
  te: 'trailers',
};

/** A stream that sends its headers and 3 bytes of a 5-byte message prefix, then nothing more. */
function stalledStream(session: ClientHttp2Session) {
  const stream = session.request(GRPC_HEADERS);
  stream.on('error', () => {});
  stream.write(Buffer.from([0, 0, 0]));
  return stream;
}

function openSession(port: number): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.on('error', () => {});
    session.once('remoteSettings', () => resolve(session));
    session.once('close', () => reject(new Error('session closed before its settings arrived')));
  });
}

function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1', () => resolve(socket));
    socket.on('error', () => {});
  });
}

describe.each(GRPC_SERVERS)('hostile peers beside a normal client (%s)', (server) => {
  let rg: TestSidecar;
  const sockets: Socket[] = [];
  const sessions: ClientHttp2Session[] = [];
  beforeAll(async () => {
    rg = await startTestSidecar({ 'hard.yaml': HARDENING_CONFIG }, grpcServerFlags(server));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    for (const s of sessions) s.destroy();
    await rg.stop();
  });

  it('200 idle sockets, 50 half-sent prefaces and 20 connections with 50 stalled streams each: 100 normal calls are answered exactly', async () => {
    const port = rg.sidecar.grpcPort;
    for (let i = 0; i < 200; i++) sockets.push(await rawSocket(port));
    for (let i = 0; i < 50; i++) {
      const socket = await rawSocket(port);
      socket.write('PRI * HTTP/2.0\r\n'); // the first half of the client preface, and then silence
      sockets.push(socket);
    }
    for (let i = 0; i < 20; i++) {
      const session = await openSession(port);
      for (let s = 0; s < 50; s++) stalledStream(session);
      sessions.push(session);
    }
    const started = performance.now();
    const answers = await within(
      Promise.all(Array.from({ length: 100 }, (_, i) => rg.call(request('hard', [['k', `beside-${i % 20}`]])))),
      CALL_BOUND_MS,
      'normal calls beside hostile peers',
    );
    // 20 identities x 5 calls each: every one allowed, remaining 4..0 in some order per identity.
    expect(answers.every((a) => a.overallCode === Code.OK)).toBe(true);
    expect(answers.map((a) => a.statuses[0]!.limitRemaining).sort()).toEqual(Array.from({ length: 100 }, (_, i) => Math.floor(i / 20)));
    expect(performance.now() - started).toBeLessThan(CALL_BOUND_MS);
  });
});

describe.each(GRPC_SERVERS)('connection bounds, timers shortened for the test (%s)', (kind) => {
  const LIMITS: Partial<GrpcConnectionLimits> = {
    maxConcurrentStreams: 8,
    maxConnectionIdleMs: 300,
    maxConnectionAgeMs: 1_000,
    maxConnectionAgeGraceMs: 300,
  };
  let server: TestGrpcListener;
  let port: number;
  beforeAll(async () => {
    server = await startGrpcListener(kind, HARDENING_CONFIG, LIMITS);
    port = server.port;
  });
  afterAll(async () => {
    await server.stop();
  });

  it('advertises max concurrent streams to every connection', async () => {
    const session = await openSession(port);
    expect(session.remoteSettings.maxConcurrentStreams).toBe(8);
    session.destroy();
  });

  it('closes a connection that stays idle (GOAWAY after maxConnectionIdleMs)', async () => {
    const session = await openSession(port);
    const started = performance.now();
    await within(new Promise((resolve) => session.once('goaway', resolve)), CALL_BOUND_MS, 'idle GOAWAY');
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    session.destroy();
  });

  it('ends a stalled stream after maxConnectionAge + grace, and a fresh connection is served', async () => {
    const session = await openSession(port);
    const stream = stalledStream(session);
    const started = performance.now();
    await within(new Promise((resolve) => stream.once('close', resolve)), CALL_BOUND_MS, 'stalled stream');
    // age 1000 ms (+-10% jitter) + grace 300 ms; the upper bound leaves room for a loaded machine.
    expect(performance.now() - started).toBeGreaterThanOrEqual(850);
    session.destroy();
    const client = new RateLimitServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const answer = await shouldRateLimit(client, request('hard', [['k', 'after-age']]), { deadline: Date.now() + CALL_BOUND_MS });
    expect(answer.statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 4 });
    client.close();
  });

  it('a connection holding its 8 streams stalled does not block another connection', async () => {
    const greedy = await openSession(port);
    for (let i = 0; i < 8; i++) stalledStream(greedy);
    const other = await openSession(port);
    const body = encodeRateLimitRequest(request('hard', [['k', 'other']]));
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(body.length, 1);
    const status = await within(
      new Promise<string>((resolve) => {
        const stream = other.request(GRPC_HEADERS);
        stream.on('trailers', (t) => resolve(String(t['grpc-status'])));
        stream.on('error', () => {});
        stream.end(Buffer.concat([prefix, body]));
        stream.resume();
      }),
      CALL_BOUND_MS,
      'other connection',
    );
    expect(status).toBe('0');
    greedy.destroy();
    other.destroy();
  });
});
