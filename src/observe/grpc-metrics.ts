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

/** The counter's name (the statsd push reads it back). */
export const GRPC_HANDLED = 'grpc_server_handled_total';

/**
 * A counter of ShouldRateLimit calls by status code, with one pre-labelled child per code so a call
 * only increments (no label hashing per call).
 */
export function grpcCallCounter(registry: Registry, service: string, method: string): (code: grpc.status) => void {
  const handled = new Counter({
    name: GRPC_HANDLED,
    help: 'gRPC calls completed on the server, by service, method and status code.',
    labelNames: ['grpc_service', 'grpc_method', 'grpc_code'],
    registers: [registry],
  });
  const byCode = new Map<number, { inc(): void }>();
  return (code) => {
    let child = byCode.get(code);
    if (child === undefined) {
      child = handled.labels({ grpc_service: service, grpc_method: method, grpc_code: CODE_NAMES.get(code) ?? String(code) });
      byCode.set(code, child);
    }
    child.inc();
  };
}
