/** `serve` flags that put the gRPC, HTTP and debug listeners on free ports of loopback (the process logs what it bound). */
export const LOOPBACK_FREE_PORTS: readonly string[] = Object.freeze(['--grpc-port', '0', '--http-port', '0', '--debug-port', '0', '--host', '127.0.0.1']);
