/**
 * A deployment written for envoyproxy/ratelimit, run unchanged: its environment names the config,
 * Redis and listeners, and rateguard serves exactly that (issue 13).
 */
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code, RateLimitServiceClient, shouldRateLimit } from '../../src/rls/codec.js';
import { at, atList, byName, type Json, readYaml, readYamlDocuments } from '../deploy/deploy-files.js';
import { makeCertificates, makeSignedCertificate } from '../support/certificates.js';
import { done, poll } from '../support/redis-resp.js';
import { findFreePort, startRedis } from '../support/redis-server.js';
import { request } from '../support/sidecar.js';
import { refusedSidecarProcess, type SidecarProcess, startSidecarProcess } from '../support/sidecar-process.js';

/** One call of the reference's HTTP API; the status is 200 OK or 429 OVER_LIMIT. */
async function checkJson(sidecar: SidecarProcess, domain: string, init: RequestInit = {}): Promise<number> {
  const body = JSON.stringify({ domain, descriptors: [{ entries: [{ key: 'client', value: 'a' }] }] });
  const response = await fetch(`http://127.0.0.1:${sidecar.httpPort}/json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body, ...init });
  return response.status;
}

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'rg-runtime-'));
  makeCertificates(root);
  // Envoy Gateway's layout: RUNTIME_ROOT=/data, RUNTIME_SUBDIRECTORY=ratelimit, the files in config/.
  // One request a minute, as a token bucket (the default): a second request is over whatever the
  // clock says, where a fixed window could reset between the two.
  mkdirSync(join(root, 'ratelimit', 'config'), { recursive: true });
  writeFileSync(
    join(root, 'ratelimit', 'config', 'real.yaml'),
    'domain: real\ndescriptors:\n  - key: client\n    rate_limit: { unit: minute, requests_per_unit: 1 }\n',
  );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('config location', () => {
  it('RUNTIME_ROOT/RUNTIME_SUBDIRECTORY/RUNTIME_APPDIRECTORY name the config directory, never the bundled ./config', async () => {
    const sidecar = await startSidecarProcess([], {
      RUNTIME_ROOT: root,
      RUNTIME_SUBDIRECTORY: 'ratelimit',
      RUNTIME_IGNOREDOTFILES: 'true',
      RUNTIME_WATCH_ROOT: 'false',
    });
    try {
      const loaded = sidecar.logs.find((line) => line.msg === 'config loaded') as unknown as { files: string[]; domains: string[] };
      expect([loaded.files, loaded.domains]).toEqual([[join(root, 'ratelimit', 'config', 'real.yaml')], ['real']]);
      expect([await checkJson(sidecar, 'real'), await checkJson(sidecar, 'real')]).toEqual([200, 429]);
      // RUNTIME_WATCH_ROOT has no switch here: one warning says what it maps to.
      expect(sidecar.logs.filter((line) => line.msg.startsWith('RUNTIME_WATCH_ROOT=false maps to'))).toHaveLength(1);
    } finally {
      await sidecar.stop();
    }
  });

  it('without a config there, refuses to start and names the absolute path it looked in', async () => {
    const { code, output } = await refusedSidecarProcess([], { RUNTIME_ROOT: root, RUNTIME_SUBDIRECTORY: 'elsewhere' });
    expect(code).toBe(1);
    expect(output).toContain(`no valid config at ${join(root, 'elsewhere', 'config')}: `);
    expect(output).toContain('cannot read config path: ENOENT');
  });
});

describe('POST /json', () => {
  it("reads the body as JSON whatever the content type: none, or curl -d's form type", async () => {
    const sidecar = await startSidecarProcess([], { RUNTIME_ROOT: root, RUNTIME_SUBDIRECTORY: 'ratelimit' });
    try {
      const body = new TextEncoder().encode(JSON.stringify({ domain: 'real', descriptors: [{ entries: [{ key: 'client', value: 'untyped' }] }] }));
      // A Uint8Array body gets no content type from fetch: what a bare script sends.
      const untyped = await fetch(`http://127.0.0.1:${sidecar.httpPort}/json`, { method: 'POST', body });
      const form = await fetch(`http://127.0.0.1:${sidecar.httpPort}/json`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      expect([untyped.status, untyped.headers.get('content-type'), form.status]).toEqual([200, 'application/json; charset=utf-8', 429]);
      expect(((await form.json()) as { overallCode: string }).overallCode).toBe('OVER_LIMIT');
    } finally {
      await sidecar.stop();
    }
  });
});

describe('Redis', () => {
  it('REDIS_SOCKET_TYPE=tcp, REDIS_URL=host:port, REDIS_TYPE=SINGLE, REDIS_AUTH=user:password: counts land in that Redis, the password is never logged', async () => {
    const redis = await startRedis();
    await redis.command('ACL', 'SETUSER', 'limiter', 'on', '>s3cret-auth', '~*', '+@all');
    await redis.command('ACL', 'SETUSER', 'default', 'off');
    const sidecar = await startSidecarProcess(['--key-prefix', 'ref:'], {
      RUNTIME_ROOT: root,
      RUNTIME_SUBDIRECTORY: 'ratelimit',
      REDIS_SOCKET_TYPE: 'tcp',
      REDIS_URL: `127.0.0.1:${redis.port}`,
      REDIS_TYPE: 'SINGLE',
      REDIS_AUTH: 'limiter:s3cret-auth',
    });
    try {
      expect([await checkJson(sidecar, 'real'), await checkJson(sidecar, 'real')]).toEqual([200, 429]);
      const serving = sidecar.logs.find((line) => line.msg === 'rateguard serving') as unknown as { store: string };
      expect(serving.store).toBe(`single 127.0.0.1:${redis.port}`);
      expect(JSON.stringify(sidecar.logs)).not.toContain('s3cret-auth');
    } finally {
      await sidecar.stop();
    }
    try {
      expect((await redis.client({ username: 'limiter', password: 's3cret-auth' }).keys('ref:*')).length).toBeGreaterThan(0);
    } finally {
      await redis.stop();
    }
  });
});

describe('Redis over TLS', () => {
  it('REDIS_TLS=true alone speaks TLS to a host:port Redis, verified against the trusted roots', async () => {
    const tlsPort = await findFreePort();
    // The plain port stays for the harness's readiness check; the sidecar gets the TLS port.
    const redis = await startRedis({
      args: [
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        join(root, 'server.crt'),
        '--tls-key-file',
        join(root, 'server.key'),
        '--tls-ca-cert-file',
        join(root, 'ca.crt'),
        '--tls-auth-clients',
        'optional',
      ],
    });
    const sidecar = await startSidecarProcess([], {
      RUNTIME_ROOT: root,
      RUNTIME_SUBDIRECTORY: 'ratelimit',
      REDIS_SOCKET_TYPE: 'tcp',
      REDIS_URL: `127.0.0.1:${tlsPort}`,
      REDIS_TLS: 'true',
      // The test CA among the process's trusted roots, as a cluster CA bundle would be.
      NODE_EXTRA_CA_CERTS: join(root, 'ca.crt'),
    });
    try {
      expect([await checkJson(sidecar, 'real'), await checkJson(sidecar, 'real')]).toEqual([200, 429]);
    } finally {
      await sidecar.stop();
      await redis.stop();
    }
  });
});

describe('gRPC TLS', () => {
  const pem = (name: string) => readFileSync(join(root, name));
  /** The reference's environment for a TLS gRPC port with the test's server certificate. */
  const serverTls = () => ({
    RUNTIME_ROOT: root,
    RUNTIME_SUBDIRECTORY: 'ratelimit',
    GRPC_SERVER_USE_TLS: 'true',
    GRPC_SERVER_TLS_CERT: join(root, 'server.crt'),
    GRPC_SERVER_TLS_KEY: join(root, 'server.key'),
  });
  const call = (sidecar: SidecarProcess, credentials: grpc.ChannelCredentials) => {
    const client = new RateLimitServiceClient(`127.0.0.1:${sidecar.grpcPort}`, credentials);
    return shouldRateLimit(client, request('real', [['client', 'tls']]), { deadline: Date.now() + 5000 }).finally(() => client.close());
  };

  it("Envoy Gateway's GRPC_SERVER_USE_TLS, _TLS_CERT, _TLS_KEY, _TLS_CA_CERT: mutual TLS, nothing else answered", async () => {
    const sidecar = await startSidecarProcess([], { ...serverTls(), GRPC_SERVER_TLS_CA_CERT: join(root, 'ca.crt') });
    try {
      expect((await call(sidecar, grpc.credentials.createSsl(pem('ca.crt'), pem('client.key'), pem('client.crt')))).overallCode).toBe(Code.OK);
      await expect(call(sidecar, grpc.credentials.createSsl(pem('ca.crt')))).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      await expect(call(sidecar, grpc.credentials.createInsecure())).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      await sidecar.stop();
    }
  });

  it.each(['node-http2', 'grpc-js'])(
    'GRPC_CLIENT_TLS_SAN (--grpc-server %s): only a client certificate valid for that name by its SANs gets in; the others are dropped after the handshake, as the reference',
    async (grpcServer) => {
      const clients: [name: string, extensions: string, admitted: boolean][] = [
        ['envoy', 'subjectAltName=DNS:envoy.example.com\nextendedKeyUsage=clientAuth', true],
        ['wildcard', 'subjectAltName=DNS:*.example.com\nextendedKeyUsage=clientAuth', true],
        ['other', 'subjectAltName=DNS:other.example.com\nextendedKeyUsage=clientAuth', false],
        // The name in the subject CN only: Go's check (and this one) reads SANs alone.
        ['envoy.example.com', 'extendedKeyUsage=clientAuth', false],
        // The client certificate GRPC_CLIENT_TLS_CACERT signed, without a SAN: admitted without the setting (the test above).
        ['client', 'extendedKeyUsage=clientAuth', false],
      ];
      for (const [name, extensions] of clients) if (name !== 'client') makeSignedCertificate(root, name, extensions);
      const sidecar = await startSidecarProcess(['--grpc-server', grpcServer], {
        ...serverTls(),
        GRPC_CLIENT_TLS_CACERT: join(root, 'ca.crt'),
        GRPC_CLIENT_TLS_SAN: 'envoy.example.com',
      });
      const ask = (name: string) => {
        const client = new RateLimitServiceClient(
          `127.0.0.1:${sidecar.grpcPort}`,
          grpc.credentials.createSsl(pem('ca.crt'), pem(`${name}.key`), pem(`${name}.crt`)),
        );
        return shouldRateLimit(client, request('real', [['client', `san-${name}`]]), { deadline: Date.now() + 5000 })
          .then(
            (response) => response.overallCode,
            (error: grpc.ServiceError) => grpc.status[error.code],
          )
          .finally(() => client.close());
      };
      try {
        const answers = [];
        for (const [name] of clients) answers.push(await ask(name));
        expect(answers).toEqual(clients.map(([, , admitted]) => (admitted ? Code.OK : 'UNAVAILABLE')));
        // The client sees the refusal before the server's log line reaches this process's pipe.
        const refusals = () => sidecar.logs.filter((line) => line.msg === 'gRPC client refused').map((line) => (line as unknown as { reason: string }).reason);
        const refused = await poll('three refusals logged', { timeoutMs: 5000 }, async () => {
          const lines = refusals();
          return lines.length >= 3 ? done(lines) : { done: false as const, state: JSON.stringify(lines) };
        });
        expect(refused).toEqual([
          'the client certificate is not valid for envoy.example.com (its SANs: DNS:other.example.com)',
          'the client certificate is not valid for envoy.example.com (its SANs: none)',
          'the client certificate is not valid for envoy.example.com (its SANs: none)',
        ]);
      } finally {
        await sidecar.stop();
      }
    },
  );

  it('GRPC_CLIENT_TLS_SAN without a client CA refuses to start: there would be no certificate to check', async () => {
    const { code, output } = await refusedSidecarProcess([], { ...serverTls(), GRPC_CLIENT_TLS_SAN: 'envoy.example.com' });
    expect(code).toBe(2);
    expect(output).toContain('--grpc-tls-client-san (GRPC_CLIENT_TLS_SAN) needs --grpc-tls-ca (GRPC_CLIENT_TLS_CACERT)');
  });

  it('a rotated certificate (cert-manager) serves new connections; a live connection keeps answering', async () => {
    const first = join(root, 'rotation-1');
    const second = join(root, 'rotation-2');
    for (const dir of [first, second]) {
      mkdirSync(dir);
      makeCertificates(dir);
    }
    const mounted = join(root, 'rotation-mounted');
    mkdirSync(mounted);
    const mount = (from: string) => {
      // As a Secret volume updates: each file replaced whole, by rename.
      for (const [source, target] of [
        ['server.crt', 'tls.crt'],
        ['server.key', 'tls.key'],
      ] as const) {
        writeFileSync(join(mounted, `.${target}`), readFileSync(join(from, source)));
        renameSync(join(mounted, `.${target}`), join(mounted, target));
      }
    };
    mount(first);
    const sidecar = await startSidecarProcess([], {
      RUNTIME_ROOT: root,
      RUNTIME_SUBDIRECTORY: 'ratelimit',
      GRPC_SERVER_USE_TLS: 'true',
      GRPC_SERVER_TLS_CERT: join(mounted, 'tls.crt'),
      GRPC_SERVER_TLS_KEY: join(mounted, 'tls.key'),
      GRPC_TLS_REFRESH_INTERVAL: '200ms',
    });
    const live = new RateLimitServiceClient(`127.0.0.1:${sidecar.grpcPort}`, grpc.credentials.createSsl(readFileSync(join(first, 'ca.crt'))));
    const ask = (client: InstanceType<typeof RateLimitServiceClient>) =>
      shouldRateLimit(client, request('real', [['client', `rotation-${Math.random()}`]]), { deadline: Date.now() + 2000 });
    try {
      expect((await ask(live)).overallCode).toBe(Code.OK);
      mount(second);
      const answered = await poll('a new connection trusting only the second CA to be answered', { timeoutMs: 10_000, intervalMs: 100 }, async () => {
        const fresh = new RateLimitServiceClient(`127.0.0.1:${sidecar.grpcPort}`, grpc.credentials.createSsl(readFileSync(join(second, 'ca.crt'))));
        return ask(fresh)
          .then(
            (response) => done(response.overallCode),
            (error: unknown) => ({ done: false as const, state: String(error) }),
          )
          .finally(() => fresh.close());
      });
      expect(answered).toBe(Code.OK);
      expect((await ask(live)).overallCode).toBe(Code.OK);
    } finally {
      live.close();
      await sidecar.stop();
    }
  });

  it('GRPC_SERVER_USE_TLS=true without a certificate refuses to start, never plaintext', async () => {
    const { code, output } = await refusedSidecarProcess([], { RUNTIME_ROOT: root, RUNTIME_SUBDIRECTORY: 'ratelimit', GRPC_SERVER_USE_TLS: 'true' });
    expect(code).toBe(2);
    expect(output).toContain(
      'rateguard serve: --grpc-tls (GRPC_SERVER_USE_TLS) needs --grpc-tls-cert and --grpc-tls-key (GRPC_SERVER_TLS_CERT, GRPC_SERVER_TLS_KEY); the gRPC port does not fall back to plaintext',
    );
  });
});

describe('listeners', () => {
  it('GRPC_HOST binds the gRPC port apart from HOST (the HTTP port)', async () => {
    const sidecar = await startSidecarProcess([], { RUNTIME_ROOT: root, RUNTIME_SUBDIRECTORY: 'ratelimit', GRPC_HOST: '127.0.0.2' });
    const ask = (host: string) => {
      const client = new RateLimitServiceClient(`${host}:${sidecar.grpcPort}`, grpc.credentials.createInsecure());
      return shouldRateLimit(client, request('real', [['client', `host-${host}`]]), { deadline: Date.now() + 5000 }).finally(() => client.close());
    };
    try {
      expect((await ask('127.0.0.2')).overallCode).toBe(Code.OK);
      await expect(ask('127.0.0.1')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
      expect(await checkJson(sidecar, 'real')).toBe(200);
    } finally {
      await sidecar.stop();
    }
  });
});

describe('gRPC on a unix socket', () => {
  it('GRPC_UDS serves gRPC on the socket, replacing a stale one; a real client on unix: gets its answers', async () => {
    const socket = join(root, 'ratelimit.sock');
    // What a killed process leaves behind: a socket file nobody listens on.
    const killed = spawnSync(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(socket)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    expect([killed.signal, lstatSync(socket).isSocket()]).toEqual(['SIGKILL', true]);
    const sidecar = await startSidecarProcess([], { RUNTIME_ROOT: root, RUNTIME_SUBDIRECTORY: 'ratelimit', GRPC_UDS: socket });
    const client = new RateLimitServiceClient(`unix:${socket}`, grpc.credentials.createInsecure());
    try {
      const ask = () => shouldRateLimit(client, request('real', [['client', 'uds']]), { deadline: Date.now() + 5000 });
      expect([(await ask()).overallCode, (await ask()).overallCode]).toEqual([Code.OK, Code.OVER_LIMIT]);
      expect(sidecar.grpcPort).toBe(0);
    } finally {
      client.close();
      await sidecar.stop();
    }
  });
});

describe('Prometheus', () => {
  it('USE_PROMETHEUS, PROMETHEUS_ADDR, PROMETHEUS_PATH: the metrics on a listener of their own, on that path only', async () => {
    const sidecar = await startSidecarProcess([], {
      RUNTIME_ROOT: root,
      RUNTIME_SUBDIRECTORY: 'ratelimit',
      USE_PROMETHEUS: 'true',
      PROMETHEUS_ADDR: '127.0.0.1:0',
      PROMETHEUS_PATH: '/prom',
    });
    try {
      const { prometheusPort } = sidecar.logs.find((line) => line.msg === 'rateguard serving') as unknown as { prometheusPort: number };
      expect(prometheusPort).not.toBe(sidecar.httpPort);
      const scraped = await fetch(`http://127.0.0.1:${prometheusPort}/prom`);
      expect(scraped.status).toBe(200);
      expect((await scraped.text()).split('\n')).toContain('ratelimit_service_config_load_success 1');
      expect((await fetch(`http://127.0.0.1:${prometheusPort}/metrics`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${prometheusPort}/rlconfig`)).status).toBe(404);
    } finally {
      await sidecar.stop();
    }
  });
});

describe("the reference's own example deployments, whole (test/fixtures/reference/deploy/)", () => {
  const FIXTURES = 'test/fixtures/reference/deploy';
  /** A descriptor request; `[key, value]` pairs. */
  const ask = (sidecar: SidecarProcess, domain: string, ...entries: [string, string][]) => {
    const client = new RateLimitServiceClient(`127.0.0.1:${sidecar.grpcPort}`, grpc.credentials.createInsecure());
    return shouldRateLimit(client, request(domain, entries), { deadline: Date.now() + 5000 }).finally(() => client.close());
  };
  /** `curl -d` as the reference's README has it: no JSON content type. */
  const curlJson = async (sidecar: SidecarProcess, body: object) =>
    (await fetch(`http://127.0.0.1:${sidecar.httpPort}/json`, { method: 'POST', body: new TextEncoder().encode(JSON.stringify(body)) })).status;

  it("envoyproxy/ratelimit's docker-compose: its environment, its examples/ mounted at /data, its Redis", async () => {
    const service = at(readYaml(`${FIXTURES}/docker-compose.yml`), 'services', 'ratelimit') as Json;
    expect(at(service, 'volumes')).toEqual(['./examples:/data/']);
    const env = Object.fromEntries(
      (at(service, 'environment') as string[]).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect([env.RUNTIME_ROOT, env.REDIS_URL]).toEqual(['/data', 'redis:6379']);
    // The mount: examples/ratelimit/config/*.yaml of the reference's repository.
    const data = mkdtempSync(join(tmpdir(), 'rg-compose-'));
    mkdirSync(join(data, 'ratelimit', 'config'), { recursive: true });
    for (const name of ['config', 'example', 'quota'])
      writeFileSync(join(data, 'ratelimit', 'config', `${name}.yaml`), readFileSync(`test/fixtures/reference/examples/examples-${name}.yaml`));
    const redis = await startRedis();
    // Only the addresses change: the mount's place and the Redis host.
    const sidecar = await startSidecarProcess([], { ...env, RUNTIME_ROOT: data, REDIS_URL: `127.0.0.1:${redis.port}` });
    try {
      const loaded = sidecar.logs.find((line) => line.msg === 'config loaded') as unknown as { domains: string[] };
      expect([...loaded.domains].sort()).toEqual(['mongo_cps', 'quota', 'rl']);
      // rl: source_cluster=proxy, destination_cluster=mock is 1 a minute.
      const cluster: [string, string][] = [
        ['source_cluster', 'proxy'],
        ['destination_cluster', 'mock'],
      ];
      expect([(await ask(sidecar, 'rl', ...cluster)).overallCode, (await ask(sidecar, 'rl', ...cluster)).overallCode]).toEqual([Code.OK, Code.OVER_LIMIT]);
      // foo/bar=banned is 0 a minute; foo/bay is unlimited; foo/baz=shady is 1 a minute in shadow mode.
      expect((await ask(sidecar, 'rl', ['foo', 'x'], ['bar', 'banned'])).statuses[0]).toMatchObject({ code: Code.OVER_LIMIT, limitRemaining: 0 });
      expect((await ask(sidecar, 'rl', ['foo', 'x'], ['bay', 'y'])).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 4_294_967_295 });
      const shady = [];
      for (let i = 0; i < 2; i++) shady.push((await ask(sidecar, 'rl', ['foo', 'x'], ['baz', 'shady'])).overallCode);
      expect(shady).toEqual([Code.OK, Code.OK]);
      // Over /json as the reference's README curls it: foo/bar is 3 a minute.
      const fooBar = {
        domain: 'rl',
        descriptors: [
          {
            entries: [
              { key: 'foo', value: 'json' },
              { key: 'bar', value: 'json' },
            ],
          },
        ],
      };
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push(await curlJson(sidecar, fooBar));
      expect(statuses).toEqual([200, 200, 200, 429]);
      // mongo_cps (examples/ratelimit/config/config.yaml): database=users is 5 a minute.
      expect((await ask(sidecar, 'mongo_cps', ['database', 'users'])).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 4 });
    } finally {
      await sidecar.stop();
    }
    try {
      expect((await redis.client().keys('*')).length).toBeGreaterThan(0);
    } finally {
      await redis.stop();
      rmSync(data, { recursive: true, force: true });
    }
  });

  it("Istio's rate-limit sample: its Deployment's environment and its ConfigMap, mounted as Kubernetes mounts one", async () => {
    const [configMap, deployment] = readYamlDocuments(`${FIXTURES}/istio-rate-limit-service.yaml`) as [Json, Json];
    const container = byName(atList(deployment, 'spec', 'template', 'spec', 'containers'), 'ratelimit');
    expect(at(container, 'command')).toEqual(['/bin/ratelimit']);
    const env = Object.fromEntries(atList(container, 'env').map((e) => [String(e.name), String(e.value)]));
    const [mount] = atList(container, 'volumeMounts');
    expect([env.RUNTIME_ROOT, mount!.mountPath]).toEqual(['/data', '/data/ratelimit/config']);
    // A ConfigMap volume: the files are links through ..data to a timestamped directory.
    const data = mkdtempSync(join(tmpdir(), 'rg-istio-'));
    const mounted = join(data, 'ratelimit', 'config');
    mkdirSync(join(mounted, '..2026_12_01_00_00_00.000000001'), { recursive: true });
    for (const [name, text] of Object.entries(at(configMap, 'data') as Record<string, string>)) {
      writeFileSync(join(mounted, '..2026_12_01_00_00_00.000000001', name), text);
      symlinkSync(join('..data', name), join(mounted, name));
    }
    symlinkSync('..2026_12_01_00_00_00.000000001', join(mounted, '..data'));
    const redis = await startRedis();
    // Only the addresses change: the mount's place, the Redis host, and "::" (every interface) for loopback.
    const sidecar = await startSidecarProcess([], {
      ...env,
      RUNTIME_ROOT: data,
      REDIS_URL: `127.0.0.1:${redis.port}`,
      HOST: '127.0.0.1',
      GRPC_HOST: '127.0.0.1',
    });
    try {
      const path = (value: string) => ask(sidecar, 'echo-ratelimit', ['PATH', value]);
      expect([(await path('/')).overallCode, (await path('/')).overallCode]).toEqual([Code.OK, Code.OVER_LIMIT]);
      expect((await path('/other')).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 99 });
      expect(await curlJson(sidecar, { domain: 'echo-ratelimit', descriptors: [{ entries: [{ key: 'PATH', value: '/' }] }] })).toBe(429);
      const health = await fetch(`http://127.0.0.1:${sidecar.httpPort}/healthcheck`);
      expect([health.status, await health.text()]).toEqual([200, 'OK']);
      // What Istio's task then runs: curl :6070/rlconfig.
      const { debugPort } = sidecar.logs.find((line) => line.msg === 'rateguard serving') as unknown as { debugPort: number };
      const rlconfig = await (await fetch(`http://127.0.0.1:${debugPort}/rlconfig`)).text();
      expect(rlconfig).toContain('echo-ratelimit.PATH_/: unit=MINUTE requests_per_unit=1');
      expect(rlconfig).toContain('echo-ratelimit.PATH: unit=MINUTE requests_per_unit=100');
    } finally {
      await sidecar.stop();
      await redis.stop();
      rmSync(data, { recursive: true, force: true });
    }
  });
});
