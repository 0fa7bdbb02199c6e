/**
 * A test xDS server: a grpc-js AggregatedDiscoveryService whose messages protobufjs encodes from
 * xds-test.proto (field numbers from the reference, nothing shared with rateguard's codec), and a
 * state-of-the-world snapshot like go-control-plane's cache: every stream gets the current snapshot
 * when it subscribes, and `setSnapshot` pushes a new one to every open stream.
 * Every request the server receives is recorded, with the stream's metadata, and can be awaited.
 */
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

export const RATE_LIMIT_CONFIG_TYPE = 'type.googleapis.com/ratelimit.config.ratelimit.v3.RateLimitConfig';
const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

const root = protobuf.loadSync(fileURLToPath(new URL('./xds-test.proto', import.meta.url)));
const type = (name: string) => root.lookupType(`rateguard.test.xds.${name}`);
const DiscoveryRequestType = type('DiscoveryRequest');
const DiscoveryResponseType = type('DiscoveryResponse');
const RateLimitConfigType = type('RateLimitConfig');
const StructType = type('Struct');

/** A RateLimitConfig as protobufjs takes it (camelCase fields, unit names). */
export interface TestRateLimitConfig {
  name: string;
  domain: string;
  descriptors: TestDescriptor[];
}

export interface TestDescriptor {
  key: string;
  value?: string;
  rateLimit?: { unit?: string; requestsPerUnit?: number; unlimited?: boolean; name?: string; replaces?: { name: string }[] };
  descriptors?: TestDescriptor[];
  shadowMode?: boolean;
  detailedMetric?: boolean;
}

export interface ReceivedRequest {
  readonly stream: number;
  readonly versionInfo: string;
  readonly nodeId: string;
  readonly nodeMetadata: Record<string, unknown>;
  readonly userAgentName: string;
  readonly resourceNames: string[];
  readonly typeUrl: string;
  readonly responseNonce: string;
  readonly errorDetail: { code: number; message: string } | undefined;
  /** The stream's gRPC metadata (the client's additional headers). */
  readonly headers: Record<string, string>;
  /** The CN of the client certificate the stream's TLS connection presented, if any. */
  readonly clientCertificate: string | undefined;
}

/** A resource exactly as the server sends it: its Any type URL and bytes. */
export interface RawResource {
  readonly typeUrl: string;
  readonly value: Uint8Array;
}

export function encodeRateLimitConfig(config: TestRateLimitConfig): Uint8Array {
  return RateLimitConfigType.encode(RateLimitConfigType.fromObject(config)).finish();
}

/** Struct → plain object (string, number and bool values; what node metadata carries). */
function plainStruct(struct: unknown): Record<string, unknown> {
  if (struct === null || struct === undefined) return {};
  const fields = (StructType.toObject(struct as protobuf.Message, { defaults: false }) as { fields?: Record<string, Record<string, unknown>> }).fields ?? {};
  return Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.stringValue ?? v.numberValue ?? v.boolValue ?? null]));
}

function decodeRequest(buffer: Buffer, stream: number, headers: Record<string, string>, clientCertificate: string | undefined): ReceivedRequest {
  const message = DiscoveryRequestType.decode(buffer) as unknown as {
    versionInfo: string;
    node?: { id: string; metadata?: unknown; userAgentName: string };
    resourceNames: string[];
    typeUrl: string;
    responseNonce: string;
    errorDetail?: { code: number; message: string };
  };
  return {
    stream,
    versionInfo: message.versionInfo,
    nodeId: message.node?.id ?? '',
    nodeMetadata: plainStruct(message.node?.metadata),
    userAgentName: message.node?.userAgentName ?? '',
    resourceNames: [...message.resourceNames],
    typeUrl: message.typeUrl,
    responseNonce: message.responseNonce,
    errorDetail:
      message.errorDetail === undefined || message.errorDetail === null ? undefined : { code: message.errorDetail.code, message: message.errorDetail.message },
    headers,
    clientCertificate,
  };
}

interface Snapshot {
  readonly version: string;
  readonly resources: readonly RawResource[];
}

interface OpenStream {
  readonly id: number;
  readonly call: grpc.ServerDuplexStream<Buffer, Buffer>;
}

export interface XdsServerOptions {
  readonly port?: number;
  readonly credentials?: grpc.ServerCredentials;
}

export class TestXdsServer extends EventEmitter<{ request: [ReceivedRequest] }> {
  readonly requests: ReceivedRequest[] = [];
  /** Responses sent, in order: the nonce naming each and the version it carried. */
  readonly sent: { readonly nonce: string; readonly version: string }[] = [];
  private snapshot: Snapshot | undefined;
  private readonly streams = new Set<OpenStream>();
  private nextStream = 1;
  private nextNonce = 1;
  streamsOpened = 0;

  private constructor(
    private readonly server: grpc.Server,
    readonly port: number,
  ) {
    super();
  }

  static async start(options: XdsServerOptions = {}): Promise<TestXdsServer> {
    const server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${options.port ?? 0}`, options.credentials ?? grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    const xds = new TestXdsServer(server, port);
    const identity = (b: Buffer) => b;
    server.addService(
      {
        StreamAggregatedResources: {
          path: ADS_PATH,
          requestStream: true,
          responseStream: true,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        },
      },
      { StreamAggregatedResources: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => xds.serve(call) },
    );
    return xds;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Replaces the snapshot and pushes it to every open stream. */
  setSnapshot(version: string, configs: readonly TestRateLimitConfig[]): void {
    this.setRawSnapshot(
      version,
      configs.map((config) => ({ typeUrl: RATE_LIMIT_CONFIG_TYPE, value: encodeRateLimitConfig(config) })),
    );
  }

  setRawSnapshot(version: string, resources: readonly RawResource[]): void {
    this.snapshot = { version, resources };
    for (const stream of this.streams) this.send(stream);
  }

  /** The next request (already received or to come) matching `predicate`. */
  waitForRequest(predicate: (request: ReceivedRequest) => boolean, timeoutMs = 10_000): Promise<ReceivedRequest> {
    const found = this.requests.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('request', check);
        reject(
          new Error(
            `no matching xDS request within ${timeoutMs} ms; got ${JSON.stringify(this.requests.map((r) => [r.versionInfo, r.responseNonce, r.errorDetail?.message]))}`,
          ),
        );
      }, timeoutMs);
      const check = (request: ReceivedRequest) => {
        if (!predicate(request)) return;
        clearTimeout(timer);
        this.off('request', check);
        resolve(request);
      };
      this.on('request', check);
    });
  }

  /** The ACK or NACK of a response carrying `version` (sent already, or once a stream subscribes). */
  answerTo(version: string, timeoutMs?: number): Promise<ReceivedRequest> {
    return this.waitForRequest((r) => this.sent.some((s) => s.nonce === r.responseNonce && s.version === version), timeoutMs);
  }

  /** Kills the server: every stream breaks at once (as a control plane that crashed). */
  stop(): Promise<void> {
    this.server.forceShutdown();
    this.streams.clear();
    return Promise.resolve();
  }

  private serve(call: grpc.ServerDuplexStream<Buffer, Buffer>): void {
    const stream: OpenStream = { id: this.nextStream++, call };
    this.streamsOpened += 1;
    const headers = Object.fromEntries(Object.entries(call.metadata.getMap()).map(([k, v]) => [k, String(v)]));
    const subject = call.getAuthContext().sslPeerCertificate?.subject as { CN?: string } | undefined;
    let subscribed = false;
    call.on('data', (buffer: Buffer) => {
      const request = decodeRequest(buffer, stream.id, headers, subject?.CN);
      this.requests.push(request);
      this.emit('request', request);
      // The first request subscribes; state of the world: it gets the whole current snapshot.
      if (!subscribed) {
        subscribed = true;
        this.streams.add(stream);
        if (this.snapshot !== undefined) this.send(stream);
      }
    });
    call.on('error', () => this.streams.delete(stream));
    call.on('end', () => {
      this.streams.delete(stream);
      call.end();
    });
  }

  private send(stream: OpenStream): void {
    const snapshot = this.snapshot!;
    const nonce = String(this.nextNonce++);
    this.sent.push({ nonce, version: snapshot.version });
    const response = DiscoveryResponseType.fromObject({
      versionInfo: snapshot.version,
      resources: snapshot.resources.map((r) => ({ typeUrl: r.typeUrl, value: r.value })),
      typeUrl: RATE_LIMIT_CONFIG_TYPE,
      nonce,
    });
    stream.call.write(Buffer.from(DiscoveryResponseType.encode(response).finish()));
  }
}
