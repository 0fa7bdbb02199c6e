/**
 * A config shaped like the RateLimitConfigs Envoy Gateway pushes (one per domain, keys
 * `httproute/<ns>/<name>/rule/<i>/match/<j>` with key == value, `masked_remote_address` values,
 * `remote_address` per client, week units, shadow_mode) decides over gRPC exactly as the same YAML
 * loaded from a file does: the same /rlconfig, the same answers to the same calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, type RateLimitResponse } from '../../src/rls/codec.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { TestXdsServer, type TestRateLimitConfig } from '../support/xds/xds-server.js';

const route = (rule: number) => `httproute/default/app/rule/${rule}/match/0`;

const PUSHED: TestRateLimitConfig[] = [
  {
    name: 'default/eg/http',
    domain: 'default/eg/http',
    descriptors: [
      {
        key: route(0),
        value: route(0),
        descriptors: [{ key: 'masked_remote_address', value: '0.0.0.0/0', rateLimit: { unit: 'WEEK', requestsPerUnit: 3 } }],
      },
      {
        key: route(1),
        value: route(1),
        descriptors: [
          { key: 'masked_remote_address', value: '10.0.0.0/8', descriptors: [{ key: 'remote_address', rateLimit: { unit: 'MINUTE', requestsPerUnit: 2 } }] },
        ],
      },
      { key: route(2), value: route(2), rateLimit: { unit: 'HOUR', requestsPerUnit: 1 }, shadowMode: true },
    ],
  },
  {
    name: 'default/eg/https',
    domain: 'default/eg/https',
    descriptors: [{ key: route(0), value: route(0), rateLimit: { unit: 'MINUTE', requestsPerUnit: 0 } }],
  },
];

const YAML = {
  'http.yaml': `domain: default/eg/http
descriptors:
  - key: ${route(0)}
    value: ${route(0)}
    descriptors:
      - key: masked_remote_address
        value: 0.0.0.0/0
        rate_limit:
          unit: WEEK
          requests_per_unit: 3
  - key: ${route(1)}
    value: ${route(1)}
    descriptors:
      - key: masked_remote_address
        value: 10.0.0.0/8
        descriptors:
          - key: remote_address
            rate_limit:
              unit: MINUTE
              requests_per_unit: 2
  - key: ${route(2)}
    value: ${route(2)}
    rate_limit:
      unit: HOUR
      requests_per_unit: 1
    shadow_mode: true
`,
  'https.yaml': `domain: default/eg/https
descriptors:
  - key: ${route(0)}
    value: ${route(0)}
    rate_limit:
      unit: MINUTE
      requests_per_unit: 0
`,
};

/** The calls Envoy Gateway's Envoy makes for these routes, a few times each. */
const CALLS = [
  ...Array.from({ length: 4 }, () =>
    request('default/eg/http', [
      [route(0), route(0)],
      ['masked_remote_address', '0.0.0.0/0'],
    ]),
  ),
  ...Array.from({ length: 3 }, () =>
    request('default/eg/http', [
      [route(1), route(1)],
      ['masked_remote_address', '10.0.0.0/8'],
      ['remote_address', '10.1.2.3'],
    ]),
  ),
  request('default/eg/http', [
    [route(1), route(1)],
    ['masked_remote_address', '10.0.0.0/8'],
    ['remote_address', '10.9.9.9'],
  ]),
  ...Array.from({ length: 2 }, () => request('default/eg/http', [[route(2), route(2)]])),
  request('default/eg/https', [[route(0), route(0)]]),
  request('default/eg/http', [[route(3), route(3)]]),
];

/** An answer without its reset times, which depend on the moment of the call. */
function timeless(response: RateLimitResponse): unknown {
  return { ...response, statuses: response.statuses.map(({ durationUntilReset: _reset, ...status }) => status) };
}

describe('an Envoy-Gateway-shaped config over xDS', () => {
  let xds: TestXdsServer;
  let pushed: TestSidecar;
  let fromFiles: TestSidecar;

  beforeAll(async () => {
    xds = await TestXdsServer.start();
    xds.setSnapshot('1', PUSHED);
    pushed = await startTestSidecar({}, ['--config-type', 'GRPC_XDS_SOTW', '--xds-server-url', xds.address, '--xds-node-id', 'envoy-ratelimit']);
    fromFiles = await startTestSidecar(YAML);
  });
  afterAll(async () => {
    await Promise.all([pushed.stop(), fromFiles.stop()]);
    await xds.stop();
  });

  it('is ACKed, and /rlconfig reads as for the same YAML', async () => {
    expect(await xds.answerTo('1')).toMatchObject({ versionInfo: '1', errorDetail: undefined });
    const dump = async (rg: TestSidecar) => (await fetch(`${rg.httpUrl}/rlconfig`)).text();
    const text = await dump(pushed);
    expect(text).toBe(await dump(fromFiles));
    expect(text).toContain(`default/eg/http.${route(0)}_${route(0)}.masked_remote_address_0.0.0.0/0: unit=WEEK requests_per_unit=3, shadow_mode: false`);
  });

  it('answers every call exactly as the file config does', async () => {
    const answers: RateLimitResponse[][] = [[], []];
    for (const call of CALLS) {
      answers[0]!.push(await pushed.call(call));
      answers[1]!.push(await fromFiles.call(call));
    }
    expect(answers[0]!.map(timeless)).toEqual(answers[1]!.map(timeless));
    // And what they are: 3 per week, then over; 2 per minute per client; shadow mode never denies; 0 blocks.
    expect(answers[0]!.map((a) => a.overallCode)).toEqual([
      Code.OK,
      Code.OK,
      Code.OK,
      Code.OVER_LIMIT,
      Code.OK,
      Code.OK,
      Code.OVER_LIMIT,
      Code.OK,
      Code.OK,
      Code.OK,
      Code.OVER_LIMIT,
      Code.OK,
    ]);
  });
});
