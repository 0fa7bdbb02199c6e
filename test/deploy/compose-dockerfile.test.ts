/**
 * envoy/docker-compose.yaml and the Dockerfile, read from the files: the names and ports envoy.yaml
 * uses exist in compose, rateguard's settings (read by its own settings table) listen where Envoy
 * calls, and the image is multi-stage, non-root, health-checked and free of dev dependencies.
 */
import { describe, expect, it } from 'vitest';
import { resolveSettings, SETTINGS } from '../../src/settings/settings.js';
import { at, atList, atRecord, byName, clusterEndpoints, type Json, readEnvoyFront, readRepoText, readYaml } from './deploy-files.js';
import { execForm, instructionsOf, readDockerfile } from './dockerfile.js';

const compose = readYaml('envoy/docker-compose.yaml');
const services = atRecord(compose, 'services');
const service = (name: string) => atRecord(services, name);
const front = readEnvoyFront();
const dockerfile = readDockerfile();
const runtime = dockerfile.stages.at(-1)!;

/** Environment of a compose service as strings. */
const environment = (name: string): Record<string, string> =>
  Object.fromEntries(Object.entries(atRecord(service(name), 'environment')).map(([k, v]) => [k, String(v)]));

describe('docker compose', () => {
  const rateguard = resolveSettings([], environment('rateguard'));
  if (!rateguard.ok) throw new Error(rateguard.errors.join('; '));
  const settings = rateguard.settings;

  it('has Envoy, two demo APIs, two rateguard replicas and Redis', () => {
    expect(Object.keys(services).sort()).toEqual(['api-1', 'api-2', 'envoy', 'rateguard', 'redis']);
    expect(at(service('rateguard'), 'deploy', 'replicas')).toBe(2);
  });

  it('every host envoy.yaml names is a compose service, on the port that service listens on', () => {
    const rateguardCluster = byName(front.clusters, 'rateguard');
    expect(clusterEndpoints(rateguardCluster)).toEqual([{ address: 'rateguard', port: settings.grpcPort }]);
    expect(settings.grpcPort).toBe(SETTINGS.grpcPort.default);
    for (const { address, port } of clusterEndpoints(byName(front.clusters, 'demo_api'))) {
      expect(Number(environment(address).PORT)).toBe(port);
      expect(atList(service(address), 'expose').map(Number)).toContain(port);
    }
    expect(atList(service('rateguard'), 'expose').map(Number).sort()).toEqual([settings.grpcPort, settings.httpPort].sort());
  });

  it('publishes the listener, mounts envoy.yaml where Envoy reads it, and starts after rateguard is healthy', () => {
    const envoy = service('envoy');
    expect(atList(envoy, 'ports')).toContain(`${front.listenerPort}:${front.listenerPort}`);
    const command = atList(envoy, 'command') as unknown as string[];
    const configPath = command[command.indexOf('-c') + 1];
    expect(atList(envoy, 'volumes')).toContain(`./envoy.yaml:${configPath}:ro`);
    expect(at(envoy, 'depends_on', 'rateguard', 'condition')).toBe('service_healthy');
  });

  it('rateguard uses Redis by its compose name and the bundled config; the APIs leave limiting to Envoy', () => {
    expect(new URL(String(settings.redis)).hostname).toBe('redis');
    expect(settings.config).toBe('/app/config');
    expect(settings.responseHeaders).toBe('off'); // Envoy writes x-ratelimit-* itself (DRAFT_VERSION_03)
    for (const name of ['api-1', 'api-2']) {
      expect([...(atList(service(name), 'entrypoint') as unknown as string[]), ...(atList(service(name), 'command') as unknown as string[])]).toEqual([
        'node',
        'dist/demo/main.js',
        '--behind-proxy',
      ]);
    }
  });

  it('rateguard and the APIs are built from the repository’s Dockerfile', () => {
    for (const name of ['rateguard', 'api-1', 'api-2']) expect(at(service(name), 'build')).toEqual({ context: '..', dockerfile: 'Dockerfile' });
  });
});

describe('Dockerfile', () => {
  it('is multi-stage: dependencies and the build stay out of a runtime stage that only copies', () => {
    expect(dockerfile.stages.map((s) => s.name)).toEqual(['build', 'deps', undefined]);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the Dockerfile's own ARG reference, not a template
    expect(new Set(dockerfile.stages.map((s) => s.from))).toEqual(new Set(['${NODE_IMAGE}']));
    expect(dockerfile.args.NODE_IMAGE).toMatch(/^node:\d+-alpine$/);
    expect(instructionsOf(runtime, 'RUN')).toEqual([]);
    // The packed app, and envoyproxy/ratelimit's entry point (a two-line script) at its path.
    expect(instructionsOf(runtime, 'COPY')).toEqual(['--from=deps /app ./', '--chmod=755 scripts/ratelimit /bin/ratelimit']);
  });

  it('installs production dependencies only, from the lockfile, without install scripts', () => {
    const deps = dockerfile.stages.find((s) => s.name === 'deps')!;
    expect(instructionsOf(deps, 'RUN')).toEqual(['npm ci --omit=dev --ignore-scripts --no-audit --no-fund']);
  });

  it('runs as a numeric non-root user, exposes the sidecar’s default ports, and serves by default', () => {
    const [user] = instructionsOf(runtime, 'USER');
    expect(user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(instructionsOf(runtime, 'EXPOSE')).toEqual([`${SETTINGS.grpcPort.default} ${SETTINGS.httpPort.default}`]);
    expect(execForm(instructionsOf(runtime, 'ENTRYPOINT')[0]!)).toEqual(['node', 'dist/cli/main.js']);
    expect(execForm(instructionsOf(runtime, 'CMD')[0]!)).toEqual(['serve']);
    expect(instructionsOf(runtime, 'STOPSIGNAL')).toEqual(['SIGTERM']);
    expect(instructionsOf(runtime, 'ENV')).toContain('NODE_ENV=production');
  });

  it('health-checks /healthcheck on the HTTP port rateguard reads from its environment', () => {
    const [healthcheck] = instructionsOf(runtime, 'HEALTHCHECK');
    const [node, flag, script] = execForm(healthcheck!);
    expect([node, flag]).toEqual(['node', '-e']);
    expect(script).toContain('/healthcheck');
    // Same order as the settings table: HTTP_PORT, then PORT, then the default.
    const order = [...SETTINGS.httpPort.env.map((name) => `process.env.${name}`), String(SETTINGS.httpPort.default)];
    expect(script).toContain(order.join('||'));
  });

  it('.dockerignore keeps local modules, builds, git and secrets out of the build context', () => {
    const ignored = readRepoText('.dockerignore')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git', '.env', '.env.*', 'test']));
    const copied = dockerfile.stages.flatMap((s) => instructionsOf(s, 'COPY')).filter((c) => !c.startsWith('--from'));
    expect(copied).toEqual(['package.json package-lock.json ./', '. .', '--chmod=755 scripts/ratelimit /bin/ratelimit']);
  });
});

describe('what the README promises', () => {
  it('names the compose file and the listener port it documents', () => {
    const readme = readRepoText('README.md');
    expect(readme).toContain('docker compose -f envoy/docker-compose.yaml up --build');
    expect(readme).toContain(`localhost:${front.listenerPort}/api/expensive`);
  });

  it('the compose file’s own header matches', () => {
    const header = readRepoText('envoy/docker-compose.yaml');
    expect(header).toContain(`localhost:${front.listenerPort}/api/expensive`);
    expect((compose as Json).name).toBe('rateguard-demo');
  });
});
