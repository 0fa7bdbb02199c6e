#!/usr/bin/env node
/**
 * `npm run demo:stack`: the Envoy demo's topology on this machine, without Docker or Envoy — Redis,
 * two rateguard sidecars on it, and two demo APIs each asking its own sidecar on every request
 * (`--sidecar`, the descriptors Envoy would send). Prints the commands that show the limit is
 * shared. Ctrl-C stops everything it started.
 *
 * Redis: REDIS_URL when set, else a redis-server started here when one is installed. Without
 * Redis both APIs ask one sidecar (memory store): still one shared limit, without the fleet.
 * The APIs listen on PORT and PORT+1 (default 3001, 3002; PORT=0 picks free ports).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, nodeEntry, type StackProcess, startProcess } from './stack-processes.js';

const CONFIG_DIR = fileURLToPath(new URL('../../config/', import.meta.url));
const started: StackProcess[] = [];
let redisDir: string | undefined;

interface RedisChoice {
  readonly url: string | undefined;
  readonly note: string;
}

async function chooseRedis(): Promise<RedisChoice> {
  const configured = process.env.REDIS_URL;
  if (configured !== undefined && configured !== '') return { url: configured, note: '(REDIS_URL)' };
  if (spawnSync('redis-server', ['--version']).error !== undefined) {
    return { url: undefined, note: 'none: redis-server is not installed, so both APIs share one sidecar (memory store)' };
  }
  const port = await freePort();
  redisDir = mkdtempSync(join(tmpdir(), 'rateguard-stack-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', redisDir];
  const redis = startProcess('redis', 'redis-server', args, /Ready to accept connections/);
  started.push(redis.process);
  await redis.line;
  return { url: `redis://127.0.0.1:${port}`, note: '(redis-server started here, no persistence)' };
}

async function startSidecar(index: number, redisUrl: string | undefined): Promise<{ grpcPort: number; httpPort: number }> {
  const { command, args } = nodeEntry('../cli/main.js');
  // draft-10 headers and Retry-After on 429s, as `npm start` gives them.
  const flags = [
    'serve',
    '--config',
    CONFIG_DIR,
    '--grpc-port',
    '0',
    '--http-port',
    '0',
    '--debug-port',
    '0',
    '--host',
    '127.0.0.1',
    '--response-headers',
    'draft-10',
  ];
  const redis = redisUrl === undefined ? [] : ['--redis', redisUrl];
  const sidecar = startProcess(`sidecar ${index}`, command, [...args, ...flags, ...redis], /"msg":"rateguard serving"/, { LOG_LEVEL: 'info' });
  started.push(sidecar.process);
  return JSON.parse(await sidecar.line) as { grpcPort: number; httpPort: number };
}

async function startApi(index: number, port: number, grpcPort: number): Promise<number> {
  const { command, args } = nodeEntry('./main.js');
  const env = { RATEGUARD_ADDRESS: `127.0.0.1:${grpcPort}`, PORT: String(port), LOG_LEVEL: 'info' };
  const api = startProcess(`demo API ${index}`, command, [...args, '--sidecar'], /"msg":"demo API listening/, env);
  started.push(api.process);
  return (JSON.parse(await api.line) as { port: number }).port;
}

async function stopAll(): Promise<void> {
  // APIs first, then sidecars, then Redis: the reverse of starting.
  for (const process_ of [...started].reverse()) await process_.stop();
  if (redisDir !== undefined) rmSync(redisDir, { recursive: true, force: true });
}

function printGuide(redis: RedisChoice, sidecars: { grpcPort: number; httpPort: number }[], apiPorts: number[]): void {
  const [a, b] = apiPorts as [number, number];
  console.log(
    [
      'rateguard demo stack — on this machine, no Docker, no Envoy:',
      `  Redis        ${redis.url ?? ''} ${redis.note}`,
      ...sidecars.map((s, i) => `  sidecar ${i + 1}    gRPC 127.0.0.1:${s.grpcPort}   health http://127.0.0.1:${s.httpPort}/healthcheck`),
      ...apiPorts.map((port, i) => `  demo API ${i + 1}   http://localhost:${port}   asks sidecar ${Math.min(i, sidecars.length - 1) + 1}`),
      '',
      'The limit is shared: 5 per minute per client on /api/expensive, whichever API answers.',
      `  for i in $(seq 10); do curl -s -o /dev/null -w '%{http_code} ' localhost:$((i % 2 ? ${a} : ${b}))/api/expensive; done; echo`,
      '  → 200 200 200 200 200 429 429 429 429 429',
      'Each API counts what it served (together: five allowed, five limited):',
      `  curl -s localhost:${a}/api/admin/stats; echo; curl -s localhost:${b}/api/admin/stats; echo`,
      'Ctrl-C stops everything.',
    ].join('\n'),
  );
}

async function main(): Promise<void> {
  const basePort = Number(process.env.PORT ?? 3001);
  const redis = await chooseRedis();
  const sidecars = await Promise.all((redis.url === undefined ? [1] : [1, 2]).map((n) => startSidecar(n, redis.url)));
  const apiPorts = await Promise.all([startApi(1, basePort, sidecars[0]!.grpcPort), startApi(2, basePort === 0 ? 0 : basePort + 1, sidecars.at(-1)!.grpcPort)]);
  printGuide(redis, sidecars, apiPorts);
  // A child that dies takes the stack down: a half stack would show the wrong thing.
  const died = await Promise.race(started.map((p) => p.exited.then((how) => `${p.label} exited (${how})`)));
  if (!stopping) {
    console.error(`${died}; stopping the stack`);
    await stopAll();
    process.exit(1);
  }
}

let stopping = false;
const shutdown = () => {
  if (stopping) return;
  stopping = true;
  void stopAll().then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);

main().catch(async (error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  await stopAll();
  process.exit(1);
});
