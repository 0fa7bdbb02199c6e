/**
 * The baseline every sidecar figure is divided by: the least a Node gRPC rate limit service can do.
 * @grpc/grpc-js with the same rls.proto loaded dynamically by @grpc/proto-loader (protobufjs decode
 * and encode), answering OK with one OK status per descriptor, as any RLS answer has.
 *
 *   node --import tsx bench/baseline-server.ts PORT      prints "baseline serving PORT"
 */
import * as grpc from '@grpc/grpc-js';
import { loadProtoPackageDefinition } from '../src/rls/codec.js';

interface Request {
  descriptors: unknown[];
}

const definition = loadProtoPackageDefinition(); // rls.proto through @grpc/proto-loader, keepCase
const rls = grpc.loadPackageDefinition(definition) as unknown as {
  envoy: { service: { ratelimit: { v3: { RateLimitService: { service: grpc.ServiceDefinition } } } } };
};

const server = new grpc.Server();
server.addService(rls.envoy.service.ratelimit.v3.RateLimitService.service, {
  ShouldRateLimit(call: grpc.ServerUnaryCall<Request, unknown>, callback: grpc.sendUnaryData<unknown>) {
    callback(null, { overall_code: 'OK', statuses: call.request.descriptors.map(() => ({ code: 'OK' })) });
  },
});
const port = Number(process.argv[2] ?? 0);
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => {
  if (error) throw error;
  console.log(`baseline serving ${bound}`);
});
