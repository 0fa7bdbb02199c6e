/**
 * The node:http2 gRPC server's protocol pieces on their own: the request message gathered from DATA
 * chunks split anywhere, its refusals, grpc-timeout in every unit, grpc-message percent-encoding.
 */
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { parseGrpcTimeoutMs } from '../../src/transport/grpc-timeout.js';
import { percentEncode } from '../../src/transport/percent-encoding.js';
import { RequestMessageReader } from '../../src/transport/request-message.js';

function framed(message: Buffer, flag = 0): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

function read(chunks: Buffer[], max = 100, encoding?: string) {
  const reader = new RequestMessageReader(max, encoding);
  for (const chunk of chunks) {
    const refusal = reader.push(chunk);
    if (refusal !== undefined) return { ok: false, ...refusal };
  }
  return reader.finish();
}

const message = Buffer.from('0a0568656c6c6f', 'hex');

describe('the request message', () => {
  it('is the same whole or split at every byte', () => {
    const whole = framed(message);
    expect(read([whole])).toEqual({ ok: true, message });
    const bytes = [...whole].map((b) => Buffer.from([b]));
    expect(read(bytes)).toEqual({ ok: true, message });
    for (let cut = 1; cut < whole.length; cut++) expect(read([whole.subarray(0, cut), whole.subarray(cut)])).toEqual({ ok: true, message });
  });

  it('may be empty (a message with every field at its default)', () => {
    expect(read([framed(Buffer.alloc(0))])).toEqual({ ok: true, message: Buffer.alloc(0) });
  });

  it('at exactly the limit is taken; one byte over is RESOURCE_EXHAUSTED from the prefix alone', () => {
    expect(read([framed(Buffer.alloc(100))])).toMatchObject({ ok: true });
    expect(read([framed(Buffer.alloc(101)).subarray(0, 5)])).toEqual({
      ok: false,
      code: status.RESOURCE_EXHAUSTED,
      details: 'Received message larger than max (101 vs. 100)',
    });
  });

  it.each<[string, Buffer[]]>([
    ['nothing', []],
    ['a partial prefix', [Buffer.from([0, 0, 0])]],
    ['a message shorter than its prefix says', [framed(message).subarray(0, 8)]],
  ])('%s at the end is UNIMPLEMENTED', (_name, chunks) => {
    expect(read(chunks)).toEqual({ ok: false, code: status.UNIMPLEMENTED, details: 'the request did not carry one whole message' });
  });

  it('a second message, even a partial one, is refused as soon as its first byte arrives', () => {
    const second = { ok: false, code: status.UNIMPLEMENTED, details: 'more than one request message for a method that takes one' };
    expect(read([framed(message), framed(message)])).toEqual(second);
    expect(read([Buffer.concat([framed(message), Buffer.from([0])])])).toEqual(second);
  });

  it('a compressed flag is INTERNAL without grpc-encoding or with identity, UNIMPLEMENTED with another encoding', () => {
    expect(read([framed(message, 1)])).toEqual({ ok: false, code: status.INTERNAL, details: 'compressed flag set on a message without a grpc-encoding' });
    expect(read([framed(message, 1)], 100, 'identity')).toMatchObject({ ok: false, code: status.INTERNAL });
    expect(read([framed(message, 1)], 100, 'gzip')).toEqual({
      ok: false,
      code: status.UNIMPLEMENTED,
      details: 'grpc-encoding gzip is not supported; this server accepts identity',
    });
    expect(read([framed(message, 2)])).toEqual({ ok: false, code: status.INTERNAL, details: 'invalid compressed flag 2 (only 0 and 1 exist)' });
  });

  it('an uncompressed message under a grpc-encoding header is read (the flag says whether this message is compressed)', () => {
    expect(read([framed(message)], 100, 'gzip')).toEqual({ ok: true, message });
  });
});

describe('grpc-timeout', () => {
  it.each<[string, number]>([
    ['2H', 7_200_000],
    ['3M', 180_000],
    ['20S', 20_000],
    ['20m', 20],
    ['1500u', 1.5],
    ['99999999n', 99.999999],
    ['0m', 0],
  ])('%s is %d ms', (value, ms) => {
    expect(parseGrpcTimeoutMs(value)).toBeCloseTo(ms, 9);
  });

  it.each(['', '20', 'm', '123456789m', '20 m', '-1m', '1.5S', '20ms', '20s'])('%j is not a grpc-timeout', (value) => {
    expect(parseGrpcTimeoutMs(value)).toBeUndefined();
  });
});

describe('grpc-message percent-encoding', () => {
  it('leaves printable ASCII as it is and encodes %, control characters and UTF-8 bytes', () => {
    expect(percentEncode('descriptors[0].entries[1].key must not be empty')).toBe('descriptors[0].entries[1].key must not be empty');
    expect(percentEncode('100% "quoted"')).toBe('100%25 "quoted"');
    expect(percentEncode('line\nbreak\ttab')).toBe('line%0Abreak%09tab');
    expect(percentEncode('café ✓')).toBe('caf%C3%A9 %E2%9C%93');
    expect(decodeURIComponent(percentEncode('café ✓ 100%'))).toBe('café ✓ 100%');
  });
});
