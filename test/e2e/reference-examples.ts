/**
 * envoyproxy/ratelimit's published examples as one table: README examples 1–11 and the files of
 * examples/ratelimit/config/, each with the requests its README describes and what they yield.
 * The configs are test/fixtures/reference/examples/*.yaml, as published; reference-examples.test.ts
 * loads them through the real config loader and sends the requests over gRPC.
 *
 * Every expectation is the reference's answer (fixed windows, every matched counter charged). Where
 * rateguard's default differs on purpose, a step carries `rateguard`: the default's answer, with
 * `why`. docs/migrating.md's matrix lists the same differences.
 */
import { Code, ResponseUnit } from '../../src/rls/codec.js';

export type Entries = readonly (readonly [string, string])[];
export type UnitName = 'second' | 'minute' | 'hour' | 'day';

export const UNIT_SECONDS: Record<UnitName, number> = { second: 1, minute: 60, hour: 3600, day: 86_400 };
export const UNIT_CODES: Record<UnitName, number> = {
  second: ResponseUnit.SECOND,
  minute: ResponseUnit.MINUTE,
  hour: ResponseUnit.HOUR,
  day: ResponseUnit.DAY,
};

/** One descriptor status as the wire carries it, without duration_until_reset (checked apart). */
export interface StatusExpectation {
  readonly code: number;
  readonly currentLimit?: { readonly requestsPerUnit: number; readonly unit: number; readonly name: string };
  readonly limitRemaining: number;
}

export interface Answer {
  readonly overall: number;
  readonly statuses: readonly StatusExpectation[];
}

/** The same request sent one after another; answers[i] is the i-th reply. */
export interface Sequence {
  readonly kind: 'sequence';
  readonly says: string;
  readonly send: readonly Entries[];
  readonly answers: readonly Answer[];
  /** rateguard's default answers where they differ from the reference's. */
  readonly rateguard?: { readonly answers: readonly Answer[]; readonly why: string };
  /** The request's hits_addend (0: the default, one hit). */
  readonly hits?: number;
  /**
   * A per-second limit: a token bucket refills while the sequence runs, so with rateguard's default
   * each limit_remaining may exceed the reference's by what refilled meanwhile (codes stay exact).
   */
  readonly refills?: boolean;
  /** With rateguard's default, the exact duration_until_reset (seconds) of the first reply's first status. */
  readonly rateguardFirstReset?: number;
}

/**
 * `size` copies of a one-descriptor request at once on a bucket not used before, for per-second
 * limits: a fixed window grants exactly `limit`; a token bucket refills while the burst runs, so the default grants between
 * `limit` and `limit` plus what refilled meanwhile.
 */
export interface Burst {
  readonly kind: 'burst';
  readonly says: string;
  readonly send: Entries;
  readonly size: number;
  readonly limit: number;
  readonly unit: UnitName;
  /** shadow_mode: every answer OK, the statuses too. */
  readonly shadow?: boolean;
}

/** The `key` labels of the per-limit Prometheus family for a domain (the reference's stats keys). */
export interface MetricKeys {
  readonly kind: 'metric-keys';
  readonly says: string;
  readonly domain: string;
  readonly keys: readonly string[];
}

/**
 * How many hits of one limit the local over-limit cache denied without asking the store: `hits`
 * where the cache is on, none where it is off.
 */
export interface LocalCacheHits {
  readonly kind: 'local-cache-hits';
  readonly says: string;
  readonly domain: string;
  readonly key: string;
  readonly hits: number;
}

export type Step = Sequence | Burst | MetricKeys | LocalCacheHits;

export interface Example {
  readonly name: string;
  /** The fixtures this example needs; files of one config set share a sidecar. */
  readonly set: 'main' | 'apart';
  readonly domain: string;
  readonly steps: readonly Step[];
}

const limit = (requestsPerUnit: number, unit: UnitName, name = '') => ({ requestsPerUnit, unit: UNIT_CODES[unit], name });
export const ok = (remaining: number, rpu: number, unit: UnitName, name?: string): StatusExpectation => ({
  code: Code.OK,
  currentLimit: limit(rpu, unit, name),
  limitRemaining: remaining,
});
export const over = (rpu: number, unit: UnitName, name?: string): StatusExpectation => ({
  code: Code.OVER_LIMIT,
  currentLimit: limit(rpu, unit, name),
  limitRemaining: 0,
});
/** No limit matched (or the matched one was replaced). */
export const NONE: StatusExpectation = { code: Code.OK, limitRemaining: 0 };
export const UNLIMITED: StatusExpectation = { code: Code.OK, limitRemaining: 4_294_967_295 };

export const answer = (...statuses: StatusExpectation[]): Answer => ({
  overall: statuses.some((s) => s.code === Code.OVER_LIMIT) ? Code.OVER_LIMIT : Code.OK,
  statuses,
});
/** An answer whose overall code is not the OR of its statuses (shadow and quota modes). */
export const answerWith = (overall: number, ...statuses: StatusExpectation[]): Answer => ({ overall, statuses });

/** A one-descriptor request `allowed` times OK (remaining counting down to 0), then `denied` times over. */
function countdown(allowed: number, denied: number, rpu: number, unit: UnitName, from = allowed): Answer[] {
  return [...Array.from({ length: allowed }, (_, i) => answer(ok(from - 1 - i, rpu, unit))), ...Array.from({ length: denied }, () => answer(over(rpu, unit)))];
}

const seq = (
  says: string,
  send: Entries[],
  answers: Answer[],
  more: Partial<Pick<Sequence, 'rateguard' | 'hits' | 'refills' | 'rateguardFirstReset'>> = {},
): Sequence => ({ kind: 'sequence', says, send, answers, ...more });
const once = (says: string, send: Entries[], ...statuses: StatusExpectation[]): Sequence => seq(says, send, [answer(...statuses)]);

const marketing: Entries = [
  ['message_type', 'marketing'],
  ['to_number', '2061111111'],
];
const number: Entries = [['to_number', '2061111111']];

export const EXAMPLES: readonly Example[] = [
  {
    name: 'README Example 1: two values of one key, 500 per second each',
    set: 'main',
    domain: 'mongo_cps',
    steps: [
      // 500 single requests take longer than one second here (2 shared cores), so a window would
      // end midway; requests of cost 100 spend the same 500 within one window.
      seq(
        '("database", "users") gets 500 per second: five requests of cost 100 pass, the sixth is over',
        [[['database', 'users']]],
        [...[400, 300, 200, 100, 0].map((left) => answer(ok(left, 500, 'second'))), answer(over(500, 'second'))],
        { hits: 100, refills: true },
      ),
      seq('("database", "default") has its own 500', [[['database', 'default']]], [answer(ok(499, 500, 'second'))], { refills: true }),
      once('a value the config does not list has no limit', [[['database', 'orders']]], NONE),
    ],
  },
  {
    name: 'README Example 2: nested descriptors, several descriptors in one request, a logical OR',
    set: 'main',
    domain: 'messaging',
    steps: [
      seq(
        '5 marketing messages a day to one number; the 100-a-day limit of that number counts every request',
        [marketing, number],
        [
          ...[4, 3, 2, 1, 0].map((left) => answer(ok(left, 5, 'day'), ok(95 + left, 100, 'day'))),
          answer(over(5, 'day'), ok(94, 100, 'day')),
          // The marketing bucket is known over now, the number's is not: the store answers (the local
          // cache answers only requests whose every bucket it knows to be over).
          answer(over(5, 'day'), ok(93, 100, 'day')),
        ],
        {
          rateguardFirstReset: 86_400 / 5, // the bucket is full again one token's time later
          rateguard: {
            answers: [
              ...[4, 3, 2, 1, 0].map((left) => answer(ok(left, 5, 'day'), ok(95 + left, 100, 'day'))),
              answer(over(5, 'day'), ok(95, 100, 'day')),
              answer(over(5, 'day'), ok(95, 100, 'day')),
            ],
            why: 'all-or-nothing: a denied request charges none of its descriptors (--charge-rejected charges the allowing ones, as the reference)',
          },
        },
      ),
      seq('the marketing descriptor alone: over, and known over', [marketing], [answer(over(5, 'day'))]),
      { kind: 'local-cache-hits', says: 'that answer came from the local cache', domain: 'messaging', key: 'message_type_marketing.to_number', hits: 1 },
      seq('the number alone: its 100-a-day limit', [number], [answer(ok(92, 100, 'day'))], {
        rateguard: { answers: [answer(ok(94, 100, 'day'))], why: 'the two denied requests charged nothing' },
      }),
      once(
        'another number has its own 5 marketing messages',
        [
          [
            ['message_type', 'marketing'],
            ['to_number', '2062222222'],
          ],
        ],
        ok(4, 5, 'day'),
      ),
    ],
  },
  {
    name: 'README Example 3: the most specific match first (key/value before key)',
    set: 'main',
    domain: 'edge_proxy_per_ip',
    steps: [
      { kind: 'burst', says: '("remote_address", "50.0.0.1") gets 10 per second', send: [['remote_address', '50.0.0.1']], size: 11, limit: 10, unit: 'second' },
      seq('any other address too', [[['remote_address', '50.0.0.2']]], [answer(ok(9, 10, 'second'))], { refills: true }),
      seq('the blacklisted 50.0.0.5 matches its own 0 per second', [[['remote_address', '50.0.0.5']]], [answer(over(0, 'second')), answer(over(0, 'second'))]),
    ],
  },
  {
    name: 'README Example 4: a limit applies only at the depth of the request descriptor (the nested config)',
    set: 'main',
    domain: 'example4',
    steps: [
      once(
        '("key", "value"),("subkey", "subvalue") matches the nested limit',
        [
          [
            ['key', 'value'],
            ['subkey', 'subvalue'],
          ],
        ],
        ok(299, 300, 'second'),
      ),
      once('("key", "value") alone matches nothing', [[['key', 'value']]], NONE),
    ],
  },
  {
    name: 'README Example 4: the flat config does not match the two-entry request',
    set: 'apart',
    domain: 'example4',
    steps: [
      once(
        '("key", "value"),("subkey", "subvalue") matches nothing',
        [
          [
            ['key', 'value'],
            ['subkey', 'subvalue'],
          ],
        ],
        NONE,
      ),
      once('("key", "value") alone matches the 300 per second', [[['key', 'value']]], ok(299, 300, 'second')),
    ],
  },
  {
    name: 'README Example 5: unlimited descriptors',
    set: 'main',
    domain: 'internal',
    steps: [
      seq('ldap: OK with LimitRemaining MaxUint32, every time', [[['ldap', 'x']]], [answer(UNLIMITED), answer(UNLIMITED)]),
      once('azure: 100 per minute', [[['azure', 'x']]], ok(99, 100, 'minute')),
      once('a key the config does not know: no limit (distinct from unlimited)', [[['gcp', 'x']]], NONE),
    ],
  },
  {
    name: 'README Example 6: shadow_mode',
    set: 'main',
    domain: 'example6',
    steps: [
      {
        kind: 'burst',
        says: 'user-a of auth-service is never limited, though over its 10 per second',
        send: [
          ['service', 'auth-service'],
          ['user', 'user-a'],
        ],
        size: 11,
        limit: 10,
        unit: 'second',
        shadow: true,
      },
      {
        kind: 'burst',
        says: 'user-b is limited to 20 per second',
        send: [
          ['service', 'auth-service'],
          ['user', 'user-b'],
        ],
        size: 21,
        limit: 20,
        unit: 'second',
      },
    ],
  },
  {
    name: 'README Example 7: replaces',
    set: 'main',
    domain: 'example7',
    steps: [
      once(
        '(key_1, value_1), (user, bkthomps): 5 / sec',
        [
          [
            ['key_1', 'value_1'],
            ['user', 'bkthomps'],
          ],
        ],
        ok(4, 5, 'second', 'specific_limit'),
      ),
      once(
        '(key_2, value_2), (user, bkthomps): 10 / sec',
        [
          [
            ['key_2', 'value_2'],
            ['user', 'bkthomps'],
          ],
        ],
        ok(9, 10, 'second'),
      ),
      once(
        'both in one request: the 10 / sec replaces the 5 / sec',
        [
          [
            ['key_1', 'value_1'],
            ['user', 'bkthomps'],
          ],
          [
            ['key_2', 'value_2'],
            ['user', 'bkthomps'],
          ],
        ],
        NONE,
        ok(8, 10, 'second'),
      ),
      once(
        'the replaced 5 / sec was not affected',
        [
          [
            ['key_1', 'value_1'],
            ['user', 'bkthomps'],
          ],
        ],
        ok(3, 5, 'second', 'specific_limit'),
      ),
    ],
  },
  {
    name: 'README Example 8: detailed_metric',
    set: 'main',
    domain: 'example8',
    steps: [
      once('(key1, unspecified_value): 10 / min', [[['key1', 'unspecified_value']]], ok(9, 10, 'minute')),
      once('(key1, unspecified_value2): 10 / min of its own', [[['key1', 'unspecified_value2']]], ok(9, 10, 'minute')),
      once('(key1, value1): 20 / min', [[['key1', 'value1']]], ok(19, 20, 'minute')),
      {
        kind: 'metric-keys',
        says: 'the metrics keys carry the runtime values',
        domain: 'example8',
        keys: ['key1_unspecified_value', 'key1_unspecified_value2', 'key1_value1'],
      },
    ],
  },
  {
    name: 'README Example 9: wildcard values',
    set: 'main',
    domain: 'example9',
    steps: [
      once('(key1, value_1): 20 / min', [[['key1', 'value_1']]], ok(19, 20, 'minute')),
      once('(key1, value_2): 20 / min of its own', [[['key1', 'value_2']]], ok(19, 20, 'minute')),
      once('a value the pattern does not match: no limit', [[['key1', 'other']]], NONE),
    ],
  },
  {
    name: 'README Example 10: value_to_metric',
    set: 'main',
    domain: 'example10',
    steps: [
      once(
        'route=api, http_method=GET, subject_id=123',
        [
          [
            ['route', 'api'],
            ['http_method', 'GET'],
            ['subject_id', '123'],
          ],
        ],
        ok(59, 60, 'minute'),
      ),
      once(
        'route=web, http_method=POST, subject_id=456',
        [
          [
            ['route', 'web'],
            ['http_method', 'POST'],
            ['subject_id', '456'],
          ],
        ],
        ok(59, 60, 'minute'),
      ),
      {
        kind: 'metric-keys',
        says: 'one metric key per runtime route and method',
        domain: 'example10',
        keys: ['route_api.http_method_GET.subject_id', 'route_web.http_method_POST.subject_id'],
      },
    ],
  },
  {
    name: 'README Example 10: value_to_metric with a wildcard',
    set: 'main',
    domain: 'example10_wildcard',
    steps: [
      once(
        'user=alice, action=readfile, resource=documents',
        [
          [
            ['user', 'alice'],
            ['action', 'readfile'],
            ['resource', 'documents'],
          ],
        ],
        ok(99, 100, 'minute'),
      ),
      once(
        'an action the wildcard does not match: no limit',
        [
          [
            ['user', 'alice'],
            ['action', 'write'],
            ['resource', 'documents'],
          ],
        ],
        NONE,
      ),
      {
        kind: 'metric-keys',
        says: 'the full runtime value of the wildcard entry',
        domain: 'example10_wildcard',
        keys: ['user_alice.action_readfile.resource'],
      },
    ],
  },
  {
    name: 'README Example 11: share_threshold',
    set: 'main',
    domain: 'example11',
    steps: [
      seq('5 requests for files/a.pdf', [[['files', 'files/a.pdf']]], countdown(5, 0, 10, 'hour', 10)),
      seq('5 for files/b.csv share the same 10 per hour', [[['files', 'files/b.csv']]], countdown(5, 0, 10, 'hour', 5)),
      once('so files/c.txt is OVER_LIMIT', [[['files', 'files/c.txt']]], over(10, 'hour')),
      seq('10 for files_no_share/a.pdf exhaust its own threshold', [[['files_no_share', 'files_no_share/a.pdf']]], countdown(10, 1, 10, 'hour')),
      once('files_no_share/b.csv is still allowed', [[['files_no_share', 'files_no_share/b.csv']]], ok(9, 10, 'hour')),
    ],
  },
  {
    name: 'README Example 11: share_threshold with value_to_metric',
    set: 'main',
    domain: 'example11_metrics',
    steps: [
      once(
        'route=api/v1, method=GET',
        [
          [
            ['route', 'api/v1'],
            ['method', 'GET'],
          ],
        ],
        ok(59, 60, 'minute'),
      ),
      once(
        'route=api/v2 shares the api/* threshold',
        [
          [
            ['route', 'api/v2'],
            ['method', 'GET'],
          ],
        ],
        ok(58, 60, 'minute'),
      ),
      // The README's prose says route_api.method_GET; the reference's code (src/config/config_impl.go at
      // the same commit) writes the wildcard's prefix as it is ("api/") and, on the `method` level that
      // has no value_to_metric, the key alone. rateguard builds the key as that code does.
      { kind: 'metric-keys', says: 'the metric key has the wildcard prefix, not the full value', domain: 'example11_metrics', keys: ['route_api/.method'] },
    ],
  },
  {
    name: 'examples/ratelimit/config/config.yaml: 5 per minute per database',
    set: 'apart',
    domain: 'mongo_cps',
    steps: [
      seq('("database", "users"): five, then OVER_LIMIT', [[['database', 'users']]], countdown(5, 1, 5, 'minute')),
      once('("database", "default") is apart', [[['database', 'default']]], ok(4, 5, 'minute')),
    ],
  },
  {
    // The descriptors Envoy sends for the curl commands of the reference's README, through the
    // actions of its examples/envoy/proxy.yaml (source_cluster "proxy", destination_cluster "mock").
    name: "examples/ratelimit/config/example.yaml through the README's curl commands",
    set: 'main',
    domain: 'rl',
    steps: [
      seq(
        'curl /test: source_cluster=proxy, destination_cluster=mock, 1 per minute',
        [
          [
            ['source_cluster', 'proxy'],
            ['destination_cluster', 'mock'],
          ],
        ],
        countdown(1, 1, 1, 'minute'),
      ),
      seq('curl /header -H "foo: foo": 2 per minute', [[['foo', 'foo']]], countdown(2, 1, 2, 'minute')),
      seq(
        'curl /twoheader -H "foo: foo" -H "bar: bar": 3 per minute',
        [
          [
            ['foo', 'foo'],
            ['bar', 'bar'],
          ],
        ],
        countdown(3, 1, 3, 'minute'),
      ),
      seq(
        'curl /twoheader -H "foo: foo" -H "baz: baz": "This will be rate limited"',
        [
          [
            ['foo', 'foo'],
            ['baz', 'baz'],
          ],
        ],
        countdown(1, 1, 1, 'second'),
      ),
      seq(
        'curl /twoheader -H "foo: foo" -H "bar: banned": banned',
        [
          [
            ['foo', 'foo'],
            ['bar', 'banned'],
          ],
        ],
        countdown(0, 2, 0, 'minute'),
      ),
      seq(
        'curl /twoheader -H "foo: foo" -H "baz: shady": "never be ratelimited" (shadow_mode)',
        [
          [
            ['foo', 'foo'],
            ['baz', 'shady'],
          ],
        ],
        [answer(ok(0, 1, 'minute')), answer(ok(0, 1, 'minute')), answer(ok(0, 1, 'minute'))],
      ),
      seq(
        'curl /twoheader -H "foo: foo" -H "baz: not-so-shady": subject to rate limiting',
        [
          [
            ['foo', 'foo'],
            ['baz', 'not-so-shady'],
          ],
        ],
        countdown(1, 1, 1, 'second'),
      ),
      once(
        'bay and qux are unlimited',
        [
          [
            ['foo', 'foo'],
            ['bay', 'x'],
          ],
          [['qux', 'x']],
        ],
        UNLIMITED,
        UNLIMITED,
      ),
    ],
  },
  {
    name: 'examples/ratelimit/config/quota.yaml: quota_mode',
    set: 'main',
    domain: 'quota',
    steps: [
      seq(
        'a quota-mode descriptor over its quota alone does not deny; all of them over does',
        [[['service', 'service_1']], [['service', 'service_2']]],
        [
          answer(ok(0, 1, 'minute'), ok(1, 2, 'minute')),
          answerWith(Code.OK, over(1, 'minute'), ok(0, 2, 'minute')),
          answerWith(Code.OVER_LIMIT, over(1, 'minute'), over(2, 'minute')),
        ],
      ),
    ],
  },
];

const UNIT_NAMES = new Map(Object.entries(UNIT_CODES).map(([name, code]) => [code, name as UnitName]));

/** The unit of a response's current_limit (the table's examples use these four). */
export function unitName(code: number): UnitName {
  const name = UNIT_NAMES.get(code);
  if (name === undefined) throw new Error(`no unit ${code} in the examples`);
  return name;
}

/** The units a step's answers name, so a fixed-window run can start it in a fresh window. */
export function unitsOf(step: Step): UnitName[] {
  if (step.kind === 'burst') return [step.unit];
  if (step.kind === 'metric-keys' || step.kind === 'local-cache-hits') return [];
  return step.answers.flatMap((a) => a.statuses.flatMap((s) => (s.currentLimit === undefined ? [] : [unitName(s.currentLimit.unit)])));
}
