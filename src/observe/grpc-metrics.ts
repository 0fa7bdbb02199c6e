/**
 * gRPC calls by method and status code, as go-grpc-prometheus names them
 * (`grpc_server_handled_total{grpc_service, grpc_method, grpc_code}`), counted by a server
 * interceptor so no handler counts anything itself. Codes include the ones the transport decides
 * (a malformed message, a deadline), which the service never sees.
 */
import * as grpc from '@grpc/grpc-js';
import { Counter, type Registry } from 'prom-client';

const CODE_NAMES = new Map<number, string>(
  Object.entries(grpc.status)
    .filter((entry): entry is [string, number] => typeof entry[1] === 'number')
    .map(([name, code]) => [code, name]),
);

/** `/pkg.Service/Method` → [`pkg.Service`, `Method`]. */
function splitPath(path: string): [string, string] {
  const slash = path.lastIndexOf('/');
  return [path.slice(1, slash), path.slice(slash + 1)];
}

export function grpcMetricsInterceptor(registry: Registry): grpc.ServerInterceptor {
  const handled = new Counter({
    name: 'grpc_server_handled_total',
    help: 'gRPC calls completed on the server, by service, method and status code.',
    labelNames: ['grpc_service', 'grpc_method', 'grpc_code'],
    registers: [registry],
  });
  return (method, call) => {
    const [grpcService, grpcMethod] = splitPath(method.path);
    const responder = new grpc.ResponderBuilder()
      .withSendStatus((status, next) => {
        handled.inc({ grpc_service: grpcService, grpc_method: grpcMethod, grpc_code: CODE_NAMES.get(status.code) ?? String(status.code) });
        next(status);
      })
      .build();
    return new grpc.ServerInterceptingCall(call, responder);
  };
}
