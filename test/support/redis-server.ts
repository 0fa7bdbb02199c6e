/**
 * Real redis-server processes for tests: started on free ports, polled until they answer PING,
 * killed with the test process. No mocks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type Cluster, Redis, type RedisOptions } from 'ioredis';
import { LOCALHOST, info, redisCommand, type RespValue } from './redis-resp.js';

export { LOCALHOST } from './redis-resp.js';

// ---------------------------------------------------------------------------------------------
// Free ports
// ---------------------------------------------------------------------------------------------

/** Ports this process already handed out; never handed out twice (avoids intra-process races). */
const handedOut = new Set<number>();

function listenOnce(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(undefined));
    srv.listen({ host: LOCALHOST, port, exclusive: true }, () => {
      const addr = srv.address();
      const got = typeof addr === 'object' && addr ? addr.port : undefined;
      srv.close(() => resolve(got));
    });
  });
}

export interface FreePortOptions {
  /** Also require port+10000 (the Redis Cluster bus port) to be free. */
  withBusPort?: boolean;
}

/**
 * Finds a free TCP port on 127.0.0.1 by binding port 0. Another process can still grab it before
 * Redis binds it; {@link startRedis} detects that ("Address already in use") and retries.
 */
export async function findFreePort(opts: FreePortOptions = {}): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await listenOnce(0);
    if (port === undefined || handedOut.has(port)) continue;
    if (opts.withBusPort) {
      if (port + 10000 > 65535 || handedOut.has(port + 10000)) continue;
      if ((await listenOnce(port + 10000)) === undefined) continue;
      handedOut.add(port + 10000);
    }
    handedOut.add(port);
    return port;
  }
  throw new Error(`could not find a free port on ${LOCALHOST}${opts.withBusPort ? ' (with free bus port +10000)' : ''} after 200 attempts`);
}

// ---------------------------------------------------------------------------------------------
// Process bookkeeping: everything we spawn dies with this process
// ---------------------------------------------------------------------------------------------

interface Tracked {
  child: ChildProcess;
  watchdog: ChildProcess | undefined;
}
const live = new Set<Tracked>();
const tempDirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const t of live) {
      try {
        if (t.child.pid !== undefined && t.child.exitCode === null && t.child.signalCode === null) process.kill(t.child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      killWatchdog(t.watchdog);
    }
    for (const dir of tempDirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  });
}

/**
 * A detached `sh` loop that SIGKILLs the Redis child (and removes its temp dir) if this Node
 * process dies without running exit hooks (SIGKILL, crash of a vitest worker, ...). It exits by
 * itself when the child exits first.
 */
function startWatchdog(childPid: number, dir: string): ChildProcess | undefined {
  const script = [
    `p=${process.pid}; c=${childPid}`,
    'while kill -0 "$p" 2>/dev/null && kill -0 "$c" 2>/dev/null; do sleep 1; done',
    `if ! kill -0 "$p" 2>/dev/null; then kill -9 "$c" 2>/dev/null; rm -rf '${dir.replace(/'/g, `'\\''`)}'; fi`,
  ].join('\n');
  try {
    const wd = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
    wd.on('error', () => undefined);
    wd.unref();
    return wd;
  } catch {
    return undefined;
  }
}

function killWatchdog(wd: ChildProcess | undefined): void {
  if (!wd?.pid) return;
  try {
    process.kill(-wd.pid, 'SIGKILL'); // its own process group (detached): sh + sleep
  } catch {
    /* gone */
  }
}

/**
 * Registers a test client in `clients` until it ends. Tests kill servers on purpose: an error
 * listener keeps ioredis' "Unhandled error event" noise out (commands still reject).
 */
export function trackClient<C extends Redis | Cluster>(clients: Set<C>, client: C): C {
  client.on('error', () => undefined);
  clients.add(client);
  client.once('end', () => clients.delete(client));
  return client;
}

export function makeTempDir(prefix: string): string {
  installExitHook();
  const dir = mkdtempSync(path.join(os.tmpdir(), `rateguard-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

// ---------------------------------------------------------------------------------------------
// RedisProcess
// ---------------------------------------------------------------------------------------------

/**
 * ioredis options for harness clients. (ioredis 6 types `replyMapping?: X | undefined` in
 * RedisOptions but not in the constructor, which clashes with exactOptionalPropertyTypes.)
 */
export type TestRedisOptions = Omit<RedisOptions, 'replyMapping'>;

export interface RedisProcess {
  readonly host: string;
  readonly port: number;
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  /** Current OS pid (changes on restart); undefined while not running. */
  readonly pid: number | undefined;
  /** Temp working dir (removed by stop()). */
  readonly dir: string;
  /** Label used in error messages, e.g. "redis 127.0.0.1:41234". */
  readonly label: string;
  readonly running: boolean;
  readonly paused: boolean;
  /** Graceful: SIGTERM, wait for exit (SIGKILL after 5 s), close tracked clients, remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGTERM and wait for exit, keeping dir and clients so restart() can follow. */
  terminate(): Promise<void>;
  /** SIGKILL and wait for exit (dir and clients kept, restart() possible). */
  kill9(): Promise<void>;
  /** SIGSTOP: the process stays alive but answers nothing (simulates a hung server). */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** (Stops the process if still running, then) starts again on the SAME port with empty data; resolves once it answers PING. */
  restart(): Promise<void>;
  /** A new ioredis client for this server, tracked and disconnected by stop(); a no-op `error` listener is attached. */
  client(options?: TestRedisOptions): Redis;
  /** One-shot raw command on a fresh connection (harness probes; no ioredis). */
  command(...args: (string | number)[]): Promise<RespValue>;
  /** Last lines of the server's stdout/stderr. */
  logTail(lines?: number): string;
}

export interface StartRedisOptions {
  /** Fixed port; default: a free one (retried if another process grabs it first). */
  port?: number;
  /**
   * Extra command-line args appended after the defaults, e.g. ['--maxmemory', '10mb'], or a
   * function of the (possibly retried) port and the temp dir.
   */
  args?: readonly string[] | ((port: number, dir: string) => readonly string[]);
  /** Also require port+10000 to be free (Redis Cluster bus). */
  withBusPort?: boolean;
  /** Deadline for answering PING after spawn. Default 10 000 ms. */
  startTimeoutMs?: number;
  /** Prefix for the temp dir and labels. Default "redis". */
  name?: string;
}

/** Lower-level spec shared by startRedis and the sentinel harness. */
export interface LaunchSpec {
  binary: string;
  name: string;
  /** Builds the argv for a given port/dir (called on every (re)start). */
  argv: (port: number, dir: string) => string[];
  port?: number;
  withBusPort?: boolean;
  startTimeoutMs?: number;
  /** Use this dir instead of creating one (it is still removed by stop()). */
  dir?: string;
}

/** Default args for every redis-server the harness starts. */
export function defaultServerArgs(port: number, dir: string): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    LOCALHOST,
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--protected-mode',
    'no',
    '--daemonize',
    'no',
    // Replicas sync immediately instead of the 5 s diskless-sync batching delay.
    '--repl-diskless-sync-delay',
    '0',
  ];
}

/** Starts a real redis-server on a free port and waits until it answers PING. */
export function startRedis(opts: StartRedisOptions = {}): Promise<RedisProcess> {
  const extra = opts.args ?? [];
  const spec: LaunchSpec = {
    binary: 'redis-server',
    name: opts.name ?? 'redis',
    argv: (port, dir) => [...defaultServerArgs(port, dir), ...(typeof extra === 'function' ? extra(port, dir) : extra)],
  };
  if (opts.port !== undefined) spec.port = opts.port;
  if (opts.withBusPort !== undefined) spec.withBusPort = opts.withBusPort;
  if (opts.startTimeoutMs !== undefined) spec.startTimeoutMs = opts.startTimeoutMs;
  return launchRedisProcess(spec);
}

const LOG_LINES = 200;
const ADDR_IN_USE = /Address already in use|EADDRINUSE/i;

class StartFailure extends Error {
  constructor(
    message: string,
    readonly addressInUse: boolean,
  ) {
    super(message);
  }
}

class RedisProcessImpl implements RedisProcess {
  readonly host = LOCALHOST;
  private child: ChildProcess | undefined;
  private tracked: Tracked | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log: string[] = [];
  private clients = new Set<Redis>();
  private isPaused = false;
  private stopped = false;

  constructor(
    private readonly spec: LaunchSpec,
    readonly port: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }
  get label(): string {
    return `${this.spec.name} ${this.host}:${this.port}`;
  }
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }
  get running(): boolean {
    const c = this.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null && c.pid !== undefined;
  }
  get paused(): boolean {
    return this.isPaused;
  }

  logTail(lines = 30): string {
    return this.log.slice(-lines).join('\n');
  }

  private pushLog(chunk: Buffer | string): void {
    for (const line of String(chunk).split('\n')) {
      if (line.trim() === '') continue;
      this.log.push(line);
    }
    if (this.log.length > LOG_LINES) this.log.splice(0, this.log.length - LOG_LINES);
  }

  /** Spawns once and waits for PONG. Throws StartFailure on early exit / timeout. */
  async spawnAndWait(): Promise<void> {
    installExitHook();
    mkdirSync(this.dir, { recursive: true });
    tempDirs.add(this.dir); // again, in case stop() removed it and restart() recreated it
    const argv = this.spec.argv(this.port, this.dir);
    const child = spawn(this.spec.binary, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.isPaused = false;
    const logStart = this.log.length;
    child.stdout?.on('data', (d: Buffer) => this.pushLog(d));
    child.stderr?.on('data', (d: Buffer) => this.pushLog(d));
    let exitInfo: string | undefined;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exitInfo = signal ? `signal ${signal}` : `exit code ${String(code)}`;
        if (this.tracked) live.delete(this.tracked);
        killWatchdog(this.tracked?.watchdog);
        resolve();
      });
      child.once('error', (err) => {
        exitInfo = `spawn error: ${err.message}`;
        this.pushLog(`[harness] spawn ${this.spec.binary} failed: ${err.message}`);
        if (this.tracked) live.delete(this.tracked);
        resolve();
      });
    });
    if (child.pid !== undefined) {
      this.tracked = { child, watchdog: startWatchdog(child.pid, this.dir) };
      live.add(this.tracked);
    }

    const timeoutMs = this.spec.startTimeoutMs ?? 10_000;
    const started = Date.now();
    let lastProbe = 'no probe yet';
    while (Date.now() - started < timeoutMs) {
      if (exitInfo !== undefined) break;
      try {
        // PING is not enough: if the port was taken, another server may be answering it.
        const reply = await redisCommand(this.port, ['PING'], { timeoutMs: 500 });
        if (reply === 'PONG') {
          const pid = (await info(this.port, 'server', { timeoutMs: 500 })).process_id;
          if (pid === String(child.pid)) return;
          lastProbe = `port ${this.port} is answered by another process (pid ${pid}, ours is ${child.pid})`;
        } else {
          lastProbe = `PING replied ${JSON.stringify(reply)}`;
        }
      } catch (err) {
        lastProbe = (err as Error).message;
      }
      if (exitInfo !== undefined) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    // Give the exit event a moment to land so the log tail is complete.
    if (exitInfo === undefined) {
      await this.killAndWait('SIGKILL');
    } else {
      await this.exited;
    }
    const tail = this.log.slice(logStart).slice(-25).join('\n');
    const why =
      exitInfo !== undefined && !exitInfo.startsWith('signal SIGKILL')
        ? `exited before answering PING (${exitInfo})`
        : `did not answer PING within ${timeoutMs} ms (last probe: ${lastProbe})`;
    throw new StartFailure(
      `${this.label} (${this.spec.binary} ${argv.map((a) => (a === '' ? "''" : a)).join(' ')}) ${why}.\n--- server output (tail) ---\n${tail || '(no output)'}`,
      ADDR_IN_USE.test(tail),
    );
  }

  private async killAndWait(signal: NodeJS.Signals, graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child || !this.running || child.pid === undefined) {
      await this.exited;
      return;
    }
    try {
      child.kill(signal);
      if (this.isPaused && signal !== 'SIGKILL') child.kill('SIGCONT');
    } catch {
      /* already exited */
    }
    const timedOut = await Promise.race([this.exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref())]);
    if (timedOut) {
      this.pushLog(`[harness] ${signal} did not stop ${this.label} within ${graceMs} ms; sending SIGKILL`);
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
      await this.exited;
    }
    this.isPaused = false;
  }

  async terminate(): Promise<void> {
    await this.killAndWait('SIGTERM');
  }

  async kill9(): Promise<void> {
    await this.killAndWait('SIGKILL');
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const c of this.clients) c.disconnect();
    this.clients.clear();
    await this.killAndWait('SIGTERM');
    removeTempDir(this.dir);
  }

  pause(): void {
    if (!this.running) throw new Error(`${this.label} is not running; cannot pause`);
    this.child?.kill('SIGSTOP');
    this.isPaused = true;
  }

  resume(): void {
    if (!this.running) throw new Error(`${this.label} is not running; cannot resume`);
    this.child?.kill('SIGCONT');
    this.isPaused = false;
  }

  async restart(): Promise<void> {
    if (this.running) await this.terminate();
    this.stopped = false;
    // The same port can in principle be taken in between; retry briefly, then report.
    const deadline = Date.now() + 3000;
    for (;;) {
      try {
        await this.spawnAndWait();
        return;
      } catch (err) {
        if (!(err instanceof StartFailure) || !err.addressInUse || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  client(options: TestRedisOptions = {}): Redis {
    return trackClient(this.clients, new Redis({ ...options, host: this.host, port: this.port }));
  }

  command(...args: (string | number)[]): Promise<RespValue> {
    return redisCommand(this.port, args, { timeoutMs: 2000 });
  }
}

/**
 * Spawns a Redis-family binary (redis-server / redis-sentinel) per spec and waits for PING.
 * With no fixed port, retries on a new port when the picked one turned out to be taken.
 */
export async function launchRedisProcess(spec: LaunchSpec): Promise<RedisProcess> {
  const attempts = spec.port === undefined ? 5 : 1;
  let lastErr: unknown;
  for (let i = 0; i < attempts; i++) {
    const port = spec.port ?? (await findFreePort({ withBusPort: spec.withBusPort ?? false }));
    const ownDir = spec.dir === undefined;
    const dir = spec.dir ?? makeTempDir(`${spec.name.replace(/[^a-z0-9]+/gi, '-')}-${port}`);
    if (!ownDir) tempDirs.add(dir);
    const proc = new RedisProcessImpl(spec, port, dir);
    try {
      await proc.spawnAndWait();
      return proc;
    } catch (err) {
      lastErr = err;
      if (ownDir) removeTempDir(dir);
      if (!(err instanceof StartFailure && err.addressInUse)) throw err;
    }
  }
  throw lastErr;
}
