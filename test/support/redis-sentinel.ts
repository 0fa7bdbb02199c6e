/**
 * A real Redis Sentinel deployment for tests: one master, one replica (--replicaof) and N
 * redis-sentinel processes with generated, writable configs, polled until every sentinel knows
 * the master, the replica and all other sentinels.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { LOCALHOST, done, info, notYet, pairs, poll, redisCommand } from './redis-resp.js';
import { launchRedisProcess, startRedis, trackClient, type RedisProcess, type TestRedisOptions } from './redis-server.js';

export interface StartRedisSentinelOptions {
  /** Default 3. */
  sentinels?: number;
  /** Default 'rg-master'. */
  masterName?: string;
  /** Default: majority of sentinels. */
  quorum?: number;
  /** Default 1000. */
  downAfterMs?: number;
  /** Default 3000. */
  failoverTimeoutMs?: number;
  /** Extra redis-server args for master and replica. */
  args?: readonly string[];
  /** Deadline for the whole deployment to become ready. Default 30 000 ms. */
  readyTimeoutMs?: number;
}

export interface SentinelAddress {
  host: string;
  port: number;
}

export interface NewMaster extends SentinelAddress {
  /** The harness process now serving as master (the former replica, normally). */
  process: RedisProcess;
}

export interface WaitForNewMasterOptions {
  /**
   * 'all' (default): every running sentinel must report the new address — after this any
   * sentinel-aware client will find the new master at its first try. 'quorum': a majority suffices.
   */
  agreement?: 'all' | 'quorum';
}

export interface RedisSentinelHandle {
  /** Sentinel addresses (what ioredis' `sentinels` option takes). */
  readonly sentinels: SentinelAddress[];
  /** The sentinel processes themselves (kill/pause them to test sentinel loss). */
  readonly sentinelProcesses: readonly RedisProcess[];
  readonly masterName: string;
  /** The initial master (roles change on failover; see currentMaster()). */
  readonly master: RedisProcess;
  /** The initial replica. */
  readonly replica: RedisProcess;
  /** Address the first answering sentinel reports for masterName. */
  currentMaster(): Promise<NewMaster>;
  /** SIGKILLs the node the sentinels currently report as master and returns it. */
  killMaster(): Promise<RedisProcess>;
  /**
   * Polls SENTINEL GET-MASTER-ADDR-BY-NAME until it reports an address other than the master
   * killed by the last killMaster() (or the initial master) and that node says role:master.
   */
  waitForNewMaster(timeoutMs?: number, opts?: WaitForNewMasterOptions): Promise<NewMaster>;
  /** ioredis client via the sentinels (`sentinels` + `name`), tracked and disconnected by stop(). */
  client(options?: TestRedisOptions): Redis;
  /** Disconnects clients, kills every process, removes temp dirs. Idempotent. */
  stop(): Promise<void>;
}

async function masterAddr(sentinelPort: number, name: string): Promise<SentinelAddress | undefined> {
  const r = await redisCommand(sentinelPort, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name]);
  if (!Array.isArray(r) || r.length < 2) return undefined;
  return { host: String(r[0]), port: Number(r[1]) };
}

export async function startRedisSentinel(opts: StartRedisSentinelOptions = {}): Promise<RedisSentinelHandle> {
  const count = opts.sentinels ?? 3;
  const masterName = opts.masterName ?? 'rg-master';
  const quorum = opts.quorum ?? Math.floor(count / 2) + 1;
  const downAfter = opts.downAfterMs ?? 1000;
  const failoverTimeout = opts.failoverTimeoutMs ?? 3000;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + readyTimeoutMs;
  const left = (): number => Math.max(1000, deadline - Date.now());

  const started: RedisProcess[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.all(
      started.map(async (p) => {
        await p.kill9();
        await p.stop();
      }),
    );
  };

  try {
    const master = await startRedis({ name: 'sentinel-master', args: opts.args ?? [] });
    started.push(master);
    const replica = await startRedis({
      name: 'sentinel-replica',
      args: ['--replicaof', LOCALHOST, String(master.port), ...(opts.args ?? [])],
    });
    started.push(replica);

    await poll(`replica ${replica.port} to sync with master ${master.port}`, { timeoutMs: left(), intervalMs: 50 }, async () => {
      const r = await info(replica.port, 'replication');
      const m = await info(master.port, 'replication');
      if (r.master_link_status !== 'up') return notYet(`replica master_link_status=${r.master_link_status}`);
      if (!(m.slave0 ?? '').includes('state=online')) return notYet(`master slave0=${m.slave0}`);
      return done(undefined);
    });

    const sentinelProcs = await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const p = await launchRedisProcess({
          binary: 'redis-sentinel',
          name: `sentinel-${i}`,
          argv: (port, dir) => {
            const conf = path.join(dir, 'sentinel.conf');
            // Sentinel rewrites its config (myid, known replicas/sentinels): keep it on restart.
            if (!existsSync(conf)) {
              writeFileSync(
                conf,
                [
                  `port ${port}`,
                  `bind ${LOCALHOST}`,
                  'protected-mode no',
                  'daemonize no',
                  `dir ${dir}`,
                  `sentinel monitor ${masterName} ${LOCALHOST} ${master.port} ${quorum}`,
                  `sentinel down-after-milliseconds ${masterName} ${downAfter}`,
                  `sentinel failover-timeout ${masterName} ${failoverTimeout}`,
                  `sentinel parallel-syncs ${masterName} 1`,
                  '',
                ].join('\n'),
                { mode: 0o644 },
              );
            }
            return [conf];
          },
        });
        started.push(p);
        return p;
      }),
    );

    const handle = new SentinelHandleImpl(masterName, master, replica, sentinelProcs);
    await poll(
      `${count} sentinels to discover master ${master.port}, replica ${replica.port} and each other`,
      { timeoutMs: left(), intervalMs: 100 },
      async () => {
        const problems: string[] = [];
        await Promise.all(
          sentinelProcs.map(async (s) => {
            const addr = await masterAddr(s.port, masterName);
            if (addr?.port !== master.port) problems.push(`sentinel ${s.port}: master=${addr ? addr.port : 'none'}`);
            const reps = await redisCommand(s.port, ['SENTINEL', 'REPLICAS', masterName]);
            const rep = (Array.isArray(reps) ? reps : []).map(pairs).find((r) => Number(r.port) === replica.port);
            if (!rep) problems.push(`sentinel ${s.port}: replica ${replica.port} unknown`);
            else if (/s_down|o_down|disconnected/.test(rep.flags ?? '')) problems.push(`sentinel ${s.port}: replica flags=${rep.flags}`);
            const others = await redisCommand(s.port, ['SENTINEL', 'SENTINELS', masterName]);
            const n = Array.isArray(others) ? others.length : 0;
            if (n !== count - 1) problems.push(`sentinel ${s.port}: num-other-sentinels=${n}/${count - 1}`);
          }),
        );
        return problems.length ? notYet(problems.join('; ')) : done(undefined);
      },
    );
    return handle;
  } catch (err) {
    await cleanup();
    throw err;
  }
}

class SentinelHandleImpl implements RedisSentinelHandle {
  private clients = new Set<Redis>();
  private killed: RedisProcess | undefined;
  private stopped = false;

  constructor(
    readonly masterName: string,
    readonly master: RedisProcess,
    readonly replica: RedisProcess,
    readonly sentinelProcesses: RedisProcess[],
  ) {}

  get sentinels(): SentinelAddress[] {
    return this.sentinelProcesses.map((s) => ({ host: s.host, port: s.port }));
  }

  private dataNode(port: number): RedisProcess | undefined {
    return [this.master, this.replica].find((p) => p.port === port);
  }

  async currentMaster(): Promise<NewMaster> {
    const errors: string[] = [];
    for (const s of this.sentinelProcesses.filter((p) => p.running && !p.paused)) {
      try {
        const addr = await masterAddr(s.port, this.masterName);
        const proc = addr && this.dataNode(addr.port);
        if (addr && proc) return { ...addr, process: proc };
        errors.push(`sentinel ${s.port}: ${addr ? `unknown master port ${addr.port}` : 'no master'}`);
      } catch (err) {
        errors.push(`sentinel ${s.port}: ${(err as Error).message}`);
      }
    }
    throw new Error(`no sentinel reported the master of ${this.masterName}: ${errors.join('; ') || 'no running sentinels'}`);
  }

  async killMaster(): Promise<RedisProcess> {
    const { process: m } = await this.currentMaster();
    await m.kill9();
    this.killed = m;
    return m;
  }

  async waitForNewMaster(timeoutMs = 20_000, opts: WaitForNewMasterOptions = {}): Promise<NewMaster> {
    const old = this.killed ?? this.master;
    const agreement = opts.agreement ?? 'all';
    return poll(
      `sentinels to promote a new master for ${this.masterName} (old ${old.port}, agreement=${agreement})`,
      { timeoutMs, intervalMs: 100 },
      async () => {
        const sentinels = this.sentinelProcesses.filter((p) => p.running && !p.paused);
        const views = await Promise.all(sentinels.map(async (s) => ({ s, addr: await masterAddr(s.port, this.masterName).catch(() => undefined) })));
        const counts = new Map<number, number>();
        for (const v of views) if (v.addr && v.addr.port !== old.port) counts.set(v.addr.port, (counts.get(v.addr.port) ?? 0) + 1);
        const state = views.map((v) => `sentinel ${v.s.port}→${v.addr?.port ?? '?'}`).join(', ');
        const [best] = [...counts.entries()].sort((a, b) => b[1] - a[1]);
        const needed = agreement === 'all' ? sentinels.length : Math.floor(this.sentinelProcesses.length / 2) + 1;
        if (!best || best[1] < needed) return notYet(state);
        const proc = this.dataNode(best[0]);
        if (!proc) return notYet(`${state}; port ${best[0]} is not a harness node`);
        const repl = await info(proc.port, 'replication');
        if (repl.role !== 'master') return notYet(`${state}; ${proc.port} role=${repl.role}`);
        return done({ host: LOCALHOST, port: proc.port, process: proc });
      },
    );
  }

  client(options: TestRedisOptions = {}): Redis {
    return trackClient(this.clients, new Redis({ ...options, sentinels: this.sentinels, name: this.masterName }));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const c of this.clients) c.disconnect();
    this.clients.clear();
    const all = [...this.sentinelProcesses, this.master, this.replica];
    await Promise.all(
      all.map(async (p) => {
        await p.kill9();
        await p.stop();
      }),
    );
  }
}
