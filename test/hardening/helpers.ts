/**
 * Shared by the hardening tests: bounded calls (nothing may hang), raw gRPC bytes, raw POST /json,
 * and the "still answers a normal request correctly" probe.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'vitest';
import { Code, SHOULD_RATE_LIMIT_PATH } from '../../src/rls/codec.js';
import { request, type TestSidecar } from '../support/sidecar.js';

/** Every hostile call must settle within this; generous for a shared 2-core machine. */
export const CALL_BOUND_MS = 5_000;

/** The config every hardening sidecar serves: `k` allows 5 per hour per value. */
export const HARDENING_CONFIG = `
domain: hard
descriptors:
  - key: k
    rate_limit: { unit: hour, requests_per_unit: 5 }
  - key: fw
    rate_limit: { unit: hour, requests_per_unit: 5, algorithm: fixed_window }
`;

/** Rejects when `work` does not settle within `ms`: a stuck call fails the test instead of hanging it. */
export function within<T>(work: Promise<T>, ms: number, label: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: not settled within ${ms} ms`)), ms);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

export type RawOutcome = { ok: true; bytes: Buffer } | { ok: false; code: grpc.status; details: string };

/** One ShouldRateLimit call carrying `bytes` as the message, whatever they are. */
export function rawCall(client: grpc.Client, bytes: Buffer): Promise<RawOutcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      SHOULD_RATE_LIMIT_PATH,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      new grpc.Metadata(),
      { deadline: Date.now() + CALL_BOUND_MS },
      (error, value) => resolve(error ? { ok: false, code: error.code, details: error.details } : { ok: true, bytes: value! }),
    );
  });
}

/** POST /json with a raw body; resolves with the status and the parsed JSON answer. */
export async function postJson(baseUrl: string, body: string | Buffer): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}/json`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(CALL_BOUND_MS),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

let probes = 0;

/** A fresh identity on `k`: the answer must be exactly OK with 4 of 5 left, over gRPC and /json. */
export async function expectHealthy(rg: TestSidecar): Promise<void> {
  const grpcAnswer = await within(rg.call(request('hard', [['k', `probe-${++probes}`]])), CALL_BOUND_MS, 'gRPC probe');
  expect(grpcAnswer.overallCode).toBe(Code.OK);
  expect(grpcAnswer.statuses[0]!.limitRemaining).toBe(4);
  const json = await postJson(rg.httpUrl, JSON.stringify({ domain: 'hard', descriptors: [{ entries: [{ key: 'k', value: `probe-${++probes}` }] }] }));
  expect(json.status).toBe(200);
  expect(json.body).toMatchObject({ overallCode: 'OK', statuses: [{ code: 'OK', limitRemaining: 4 }] });
}
