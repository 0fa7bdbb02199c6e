/**
 * gRPC calls by method and status code, as go-grpc-prometheus names them
 * (`grpc_server_handled_total{grpc_service, grpc_method, grpc_code}`). The gRPC server reports each
 * ShouldRateLimit call's code where it decides it; codes grpc-js decides alone (a message over the
 * size limit, an unknown method) are not seen there. A grpc-js interceptor would see them, but it
 * cost every call more than the rest of the decision (docs/benchmarks.md).
 */
import * as grpc from '@grpc/grpc-js';
import { Counter, type Registry } from 'prom-client';

const CODE_NAMES = new Map<number, string>(
  Object.entries(grpc.status)
    .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
    .map(([name, code]) => [code, name]),
);

const GRPC_HANDLED = 'grpc_server_handled_total';

export interface GrpcCallCounter {
  /** Counts one call ended with `code`: one array write (the hot path). */
  count(code: grpc.status): void;
  /** Calls so far by code name, for the reference's call metrics and the statsd push. */
  byCode(): Map<string, number>;
}

const codeName = (code: number) => CODE_NAMES.get(code) ?? String(code);

/**
 * A counter of ShouldRateLimit calls by status code. A call only adds to a plain array; the counter
 * is rebuilt from it at each scrape, as the decision counters are (decision-metrics.ts): prom-client's
 * `inc` hashes the labels on every call, a bound child's too.
 */
export function grpcCallCounter(registry: Registry, service: string, method: string): GrpcCallCounter {
  const calls: number[] = [];
  const byCode = () => {
    const counts = new Map<string, number>();
    calls.forEach((count, code) => {
      counts.set(codeName(code), count);
    });
    return counts;
  };
  new Counter({
    name: GRPC_HANDLED,
    help: 'gRPC calls completed on the server, by service, method and status code.',
    labelNames: ['grpc_service', 'grpc_method', 'grpc_code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [name, count] of byCode()) this.inc({ grpc_service: service, grpc_method: method, grpc_code: name }, count);
    },
  });
  return {
    count(code) {
      calls[code] = (calls[code] ?? 0) + 1;
    },
    byCode,
  };
}
