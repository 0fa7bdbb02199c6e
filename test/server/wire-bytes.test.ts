/**
 * The wire format byte for byte, with a client that shares nothing with the server: raw HTTP/2
 * (node:http2), gRPC framing and protobuf bytes written out by hand from the field numbers of
 * ../shared/reference/rls-v3.md.
 */
import { connect } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRPC_SERVERS, grpcServerFlags } from '../support/grpc-servers.js';
import { startTestSidecar, type TestSidecar } from '../support/sidecar.js';

const CONFIG = 'domain: conformance\ndescriptors:\n  - key: basic\n    rate_limit: { unit: minute, requests_per_unit: 3 }\n';

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const ascii = (text: string) => Buffer.from(text, 'ascii').toString('hex');

// RateLimitRequest{ domain(1)="conformance", descriptors(2)=[{ entries(1)=[{ key(1)="basic", value(2)="wire" }] }] }
const REQUEST = hex(`0a 0b ${ascii('conformance')}  12 0f  0a 0d  0a 05 ${ascii('basic')}  12 04 ${ascii('wire')}`);
// RateLimitResponse{ overall_code(1)=OK, statuses(2)=[{ code(1)=OK, current_limit(2)={ requests_per_unit(1)=3,
//   unit(2)=MINUTE }, limit_remaining(3)=2, duration_until_reset(4)={ seconds(1)=20 } }] }
const RESPONSE = hex('08 01  12 0e  08 01  12 04 08 03 10 02  18 02  22 02 08 14');

function grpcFrame(message: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

describe.each(GRPC_SERVERS)('the wire, byte for byte (%s)', (server) => {
  let rg: TestSidecar;
  beforeAll(async () => {
    rg = await startTestSidecar({ 'c.yaml': CONFIG }, grpcServerFlags(server));
  });
  afterAll(async () => {
    await rg.stop();
  });

  it(`answers hand-encoded RLS v3 bytes with exactly the expected bytes (${server})`, async () => {
    const session = connect(`http://127.0.0.1:${rg.sidecar.grpcPort}`);
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit',
        'content-type': 'application/grpc',
        te: 'trailers',
      });
      const chunks: Buffer[] = [];
      const trailers = new Promise<Record<string, unknown>>((resolve) => stream.on('trailers', (t) => resolve(t)));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.end(grpcFrame(REQUEST));
      await new Promise((resolve) => stream.on('end', resolve));
      expect((await trailers)['grpc-status']).toBe('0');
      expect(Buffer.concat(chunks).toString('hex')).toBe(grpcFrame(RESPONSE).toString('hex'));
    } finally {
      session.close();
    }
  });
});
