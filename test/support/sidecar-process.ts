/**
 * `rateguard serve` as an OS process on free loopback ports, as operators run it: ready once it
 * logged "rateguard serving" and, with Redis, "redis available" (its health is NOT_SERVING until then).
 */
import { type Child, spawnNode } from './processes.js';

export interface SidecarProcess {
  readonly child: Child;
  readonly grpcPort: number;
  readonly httpPort: number;
  /** Every JSON log line so far. */
  readonly logs: { readonly level: number; readonly msg: string }[];
  /** The value of one sample of GET /metrics (0 when the sample is absent). */
  metric(sample: string): Promise<number>;
  stop(): Promise<void>;
}

const LOOPBACK_FREE_PORTS = ['--grpc-port', '0', '--http-port', '0', '--debug-port', '0', '--host', '127.0.0.1'];

/** `env` is added to this process's environment (a reference deployment's variables). */
export async function startSidecarProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<SidecarProcess> {
  const child = spawnNode('src/cli/main.ts', ['serve', ...LOOPBACK_FREE_PORTS, ...args], env);
  const logs: { level: number; msg: string }[] = [];
  child.process.stdout.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.startsWith('{')) logs.push(JSON.parse(line) as { level: number; msg: string });
  });
  const { grpcPort, httpPort } = JSON.parse(await child.waitForLine(/"msg":"rateguard serving"/)) as { grpcPort: number; httpPort: number };
  if (args.includes('--redis') || env.REDIS_URL !== undefined) await child.waitForLine(/"msg":"redis available"/);
  return {
    child,
    grpcPort,
    httpPort,
    logs,
    async metric(sample) {
      const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
      return line === undefined ? 0 : Number(line.slice(sample.length + 1));
    },
    stop: () => child.stop(),
  };
}

/** `rateguard serve` expected to refuse to start: its exit code and everything it printed. */
export async function refusedSidecarProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  const child = spawnNode('src/cli/main.ts', ['serve', ...LOOPBACK_FREE_PORTS, ...args], env);
  let output = '';
  child.process.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.process.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.process.once('close', resolve));
  return { code, output };
}
