/** The tracing and statsd settings under the reference's environment names. */
import { describe, expect, it } from 'vitest';
import { resolveSettings } from '../../src/settings/settings.js';

describe('telemetry settings', () => {
  it('are off by default', () => {
    const resolved = resolveSettings([], {});
    if (!resolved.ok) throw new Error(resolved.errors.join('; '));
    expect(resolved.settings).toMatchObject({
      tracingEnabled: false,
      tracingExporterProtocol: 'http',
      tracingServiceName: 'RateLimit',
      tracingSamplingRate: 1,
      useStatsd: false,
      useDogStatsd: false,
      statsdHost: 'localhost',
      statsdPort: 8125,
      statsFlushIntervalMs: 10_000,
      extraTags: {},
    });
  });

  it('read the reference environment, durations as Go writes them', () => {
    const resolved = resolveSettings([], {
      TRACING_ENABLED: 'true',
      TRACING_EXPORTER_PROTOCOL: 'grpc',
      TRACING_SERVICE_NAME: 'rl',
      TRACING_SERVICE_NAMESPACE: 'edge',
      TRACING_SERVICE_INSTANCE_ID: 'pod-1',
      TRACING_SAMPLING_RATE: '0.25',
      USE_DOG_STATSD: 'true',
      STATSD_HOST: 'agent',
      STATSD_PORT: '9125',
      STATS_FLUSH_INTERVAL: '1m30s',
      EXTRA_TAGS: 'env:prod,team:edge',
    });
    if (!resolved.ok) throw new Error(resolved.errors.join('; '));
    expect(resolved.settings).toMatchObject({
      tracingEnabled: true,
      tracingExporterProtocol: 'grpc',
      tracingServiceName: 'rl',
      tracingServiceNamespace: 'edge',
      tracingServiceInstanceId: 'pod-1',
      tracingSamplingRate: 0.25,
      useDogStatsd: true,
      statsdHost: 'agent',
      statsdPort: 9125,
      statsFlushIntervalMs: 90_000,
      extraTags: { env: 'prod', team: 'edge' },
    });
  });

  it('refuse values that mean nothing here, naming the variable', () => {
    const resolved = resolveSettings([], { TRACING_EXPORTER_PROTOCOL: 'zipkin', TRACING_SAMPLING_RATE: '2', STATS_FLUSH_INTERVAL: 'soon' });
    expect(resolved.ok).toBe(false);
    if (resolved.ok) return;
    expect(resolved.errors).toEqual([
      'TRACING_EXPORTER_PROTOCOL: expected one of http, grpc, got "zipkin"',
      'TRACING_SAMPLING_RATE: expected a number from 0 to 1, got "2"',
      'STATS_FLUSH_INTERVAL: expected a duration like 10s, 500ms or 1m30s, got "soon"',
    ]);
    const tooOften = resolveSettings(['--stats-flush-interval', '0s'], {});
    expect(tooOften.ok ? [] : tooOften.errors).toEqual(['--stats-flush-interval: expected at least 100 ms, got "0s"']);
  });
});
