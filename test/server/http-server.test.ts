import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestSidecar, type TestSidecar } from '../support/sidecar.js';

const CONFIG = 'domain: web\ndescriptors:\n  - key: k\n    rate_limit: { unit: minute, requests_per_unit: 1 }\n';

let rg: TestSidecar;
beforeAll(async () => {
  rg = await startTestSidecar({ 'web.yaml': CONFIG });
});
afterAll(async () => {
  await rg.stop();
});

const postJson = (body: string) => fetch(`${rg.httpUrl}/json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('the HTTP port', () => {
  it('POST /json answers 200 then 429 with the proto3-JSON response', async () => {
    const body = JSON.stringify({ domain: 'web', descriptors: [{ entries: [{ key: 'k', value: 'j' }] }] });
    const first = await postJson(body);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({
      overallCode: 'OK',
      statuses: [{ code: 'OK', currentLimit: { requestsPerUnit: 1, unit: 'MINUTE' }, durationUntilReset: '60s' }],
    });
    const second = await postJson(body);
    expect(second.status).toBe(429);
    expect(((await second.json()) as { overallCode: string }).overallCode).toBe('OVER_LIMIT');
  });

  it('POST /json answers 400 with a message for malformed JSON, a wrong shape and an empty domain', async () => {
    for (const [body, message] of [
      ['{"domain": ', /JSON|Unexpected|position/i],
      ['{"domain": 5, "descriptors": []}', /domain/],
      ['{"domain": "", "descriptors": [{"entries": [{"key": "k", "value": "v"}]}]}', /domain must not be empty/],
    ] as const) {
      const res = await postJson(body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(message);
    }
  });

  it('GET /rlconfig dumps the loaded limits', async () => {
    expect(await (await fetch(`${rg.httpUrl}/rlconfig`)).text()).toContain('web.k: unit=MINUTE requests_per_unit=1');
  });

  it('GET /healthcheck is 200 while serving, and draining turns HTTP and gRPC health to NOT_SERVING', async () => {
    const res = await fetch(`${rg.httpUrl}/healthcheck`);
    expect([res.status, await res.text()]).toEqual([200, 'OK']);
    const other = await startTestSidecar({ 'web.yaml': CONFIG });
    const healthClient = new (grpc.makeGenericClientConstructor({}, 'x'))(`127.0.0.1:${other.sidecar.grpcPort}`, grpc.credentials.createInsecure());
    expect(await healthCheck(healthClient, '')).toBe('SERVING');
    expect(await healthCheck(healthClient, 'ratelimit')).toBe('SERVING');
    other.sidecar.health.drain();
    expect(await healthCheck(healthClient, 'ratelimit')).toBe('NOT_SERVING');
    const draining = await fetch(`http://127.0.0.1:${other.sidecar.httpPort}/healthcheck`);
    expect([draining.status, await draining.text()]).toEqual([500, 'NOT_SERVING']);
    healthClient.close();
    await other.stop();
  });
});

/** grpc.health.v1.Health/Check with hand-encoded bytes: HealthCheckRequest{service(1)} → status(1). */
function healthCheck(client: grpc.Client, service: string): Promise<string> {
  const names = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (s: string) => (s === '' ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, s.length]), Buffer.from(s)])),
      (b: Buffer) => (b.length === 0 ? 0 : b[1]!),
      service,
      (error, status) => (error ? reject(error) : resolve(names[status ?? 0]!)),
    );
  });
}
