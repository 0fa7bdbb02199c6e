/**
 * A real Redis Cluster for tests: N masters + replicas as redis-server processes on free ports,
 * created with `redis-cli --cluster create`, polled until every node reports cluster_state:ok.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { Cluster } from 'ioredis';
import { LOCALHOST, done, info, notYet, poll, redisCommand, type RespValue } from './redis-resp.js';
import { startRedis, trackClient, type RedisProcess } from './redis-server.js';

/** Options exactly as ioredis' Cluster constructor types them (see TestRedisOptions for why). */
export type TestClusterOptions = NonNullable<ConstructorParameters<typeof Cluster>[1]>;

export type ClusterRole = 'master' | 'replica';

export interface ClusterNodeHandle extends RedisProcess {
  /** Role as last observed by the harness (updated by waitForReady/waitForFailover/refreshRoles). */
  role: ClusterRole;
  /** CLUSTER MYID. */
  readonly nodeId: string;
}

export interface StartRedisClusterOptions {
  /** Default 3 (redis-cli requires at least 3). */
  masters?: number;
  /** Default 1. */
  replicasPerMaster?: number;
  /** --cluster-node-timeout in ms. Default 1000 (fast failover). */
  nodeTimeoutMs?: number;
  /** Extra redis-server args for every node. */
  args?: readonly string[];
  /** Deadline for the whole cluster to become healthy after creation. Default 30 000 ms. */
  readyTimeoutMs?: number;
}

export interface WaitForFailoverOptions {
  /** Slot whose ownership must move. Default: the slot given to the last killMaster() call. */
  slot?: number;
  /** The master that died. Default: the node killed by the last killMaster() call. */
  from?: ClusterNodeHandle;
  /** Default 15 000 ms. */
  timeoutMs?: number;
}

export interface RedisClusterHandle {
  readonly nodes: readonly ClusterNodeHandle[];
  /** redis://127.0.0.1:P for every node. */
  readonly seeds: string[];
  /** `{ host, port }` for every node (what ioredis' Cluster constructor takes). */
  readonly startupNodes: { host: string; port: number }[];
  /** The node currently serving `slot` as master, according to a running node's CLUSTER SLOTS. */
  masterForSlot(slot: number): Promise<ClusterNodeHandle>;
  /** SIGKILLs the master currently serving `slot` (default 0) and returns it. */
  killMaster(slot?: number): Promise<ClusterNodeHandle>;
  /**
   * Polls until every running node agrees that `slot` is served by a running master other than
   * `from`, that node reports role:master, and every running node reports cluster_state:ok.
   * Returns the new master.
   */
  waitForFailover(opts?: WaitForFailoverOptions): Promise<ClusterNodeHandle>;
  /** Polls until every running node reports cluster_state:ok with all slots served. */
  waitForHealthy(timeoutMs?: number): Promise<void>;
  /** Re-reads INFO replication on every running node and updates `role`. */
  refreshRoles(): Promise<void>;
  /** A new ioredis Cluster client seeded with every node, tracked and disconnected by stop(). */
  client(options?: TestClusterOptions): Cluster;
  /** Disconnects clients, kills every node, removes temp dirs. Idempotent. */
  stop(): Promise<void>;
}

export const CLUSTER_SLOTS = 16384;

// CRC16/XMODEM as used by Redis Cluster key hashing.
const CRC_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    t[i] = crc;
  }
  return t;
})();

function crc16(buf: Buffer): number {
  let crc = 0;
  for (const b of buf) crc = ((crc << 8) & 0xffff) ^ (CRC_TABLE[((crc >> 8) ^ b) & 0xff] ?? 0);
  return crc;
}

/** The cluster hash slot of a key (honours {hash tags}). */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(key)) % CLUSTER_SLOTS;
}

function runRedisCli(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`redis-cli ${args.join(' ')} failed: ${err.message}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`));
      } else {
        resolve(stdout + stderr);
      }
    });
  });
}

/** Parses CLUSTER SLOTS into [start, end, masterPort] ranges. */
function slotRanges(reply: RespValue): { start: number; end: number; port: number }[] {
  if (!Array.isArray(reply)) return [];
  const out: { start: number; end: number; port: number }[] = [];
  for (const r of reply) {
    if (!Array.isArray(r)) continue;
    const [start, end, master] = r;
    if (typeof start !== 'number' || typeof end !== 'number' || !Array.isArray(master)) continue;
    out.push({ start, end, port: Number(master[1]) });
  }
  return out;
}

async function masterPortForSlot(port: number, slot: number): Promise<number | undefined> {
  const ranges = slotRanges(await redisCommand(port, ['CLUSTER', 'SLOTS']));
  return ranges.find((r) => r.start <= slot && slot <= r.end)?.port;
}

/** Starts `masters * (1 + replicasPerMaster)` nodes and forms a healthy cluster. */
export async function startRedisCluster(opts: StartRedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = opts.masters ?? 3;
  const replicasPerMaster = opts.replicasPerMaster ?? 1;
  const nodeTimeout = opts.nodeTimeoutMs ?? 1000;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const total = masters * (1 + replicasPerMaster);
  if (masters < 3) throw new Error(`startRedisCluster: need at least 3 masters, got ${masters}`);

  const procs: RedisProcess[] = [];
  const startAll = Array.from({ length: total }, async (_, i) => {
    const p = await startRedis({
      name: `cluster-node-${i}`,
      withBusPort: true,
      args: (port, dir) => [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        path.join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        String(nodeTimeout),
        // Never refuse failover because the replica's data looks stale (tests kill masters at will).
        '--cluster-replica-validity-factor',
        '0',
        ...(opts.args ?? []),
      ],
    });
    procs.push(p);
    return p;
  });
  const settled = await Promise.allSettled(startAll);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(
      procs.map(async (p) => {
        await p.kill9();
        await p.stop();
      }),
    );
    throw failed.reason;
  }
  // Keep a stable order (by start index) for the create command.
  const ordered = settled.map((s) => (s as PromiseFulfilledResult<RedisProcess>).value);

  try {
    await runRedisCli(
      ['--cluster', 'create', ...ordered.map((p) => `${LOCALHOST}:${p.port}`), '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'],
      readyTimeoutMs,
    );
  } catch (err) {
    await Promise.all(
      ordered.map(async (p) => {
        await p.kill9();
        await p.stop();
      }),
    );
    throw err;
  }

  const ids = await Promise.all(ordered.map(async (p) => String(await redisCommand(p.port, ['CLUSTER', 'MYID']))));
  const nodes: ClusterNodeHandle[] = ordered.map((p, i) => Object.assign(p, { role: 'master' as ClusterRole, nodeId: ids[i] ?? '' }));
  const handle = new ClusterHandleImpl(nodes, masters, replicasPerMaster);
  try {
    await handle.waitForReady(readyTimeoutMs);
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}

class ClusterHandleImpl implements RedisClusterHandle {
  private clients = new Set<Cluster>();
  private lastKilled: { node: ClusterNodeHandle; slot: number } | undefined;
  private stopped = false;

  constructor(
    readonly nodes: ClusterNodeHandle[],
    private readonly masters: number,
    private readonly replicasPerMaster: number,
  ) {}

  get seeds(): string[] {
    return this.nodes.map((n) => n.url);
  }
  get startupNodes(): { host: string; port: number }[] {
    return this.nodes.map((n) => ({ host: n.host, port: n.port }));
  }

  private running(): ClusterNodeHandle[] {
    return this.nodes.filter((n) => n.running && !n.paused);
  }

  private byPort(port: number): ClusterNodeHandle | undefined {
    return this.nodes.find((n) => n.port === port);
  }

  /** Initial readiness: every node ok, all slots, all nodes known, replicas linked to masters. */
  async waitForReady(timeoutMs: number): Promise<void> {
    const total = this.nodes.length;
    await poll(`cluster of ${total} nodes to become ready`, { timeoutMs, intervalMs: 100 }, async () => {
      const problems: string[] = [];
      await Promise.all(
        this.nodes.map(async (n) => {
          const ci = await info(n.port, 'cluster-info');
          if (ci.cluster_state !== 'ok') problems.push(`${n.port}: cluster_state=${ci.cluster_state}`);
          if (ci.cluster_slots_ok !== String(CLUSTER_SLOTS)) problems.push(`${n.port}: cluster_slots_ok=${ci.cluster_slots_ok}`);
          if (ci.cluster_known_nodes !== String(total)) problems.push(`${n.port}: cluster_known_nodes=${ci.cluster_known_nodes}/${total}`);
          if (ci.cluster_size !== String(this.masters)) problems.push(`${n.port}: cluster_size=${ci.cluster_size}/${this.masters}`);
          const repl = await info(n.port, 'replication');
          if (repl.role === 'slave') {
            n.role = 'replica';
            if (repl.master_link_status !== 'up') problems.push(`${n.port}: replica master_link_status=${repl.master_link_status}`);
          } else {
            n.role = 'master';
            if (repl.connected_slaves !== String(this.replicasPerMaster)) {
              problems.push(`${n.port}: master connected_slaves=${repl.connected_slaves}/${this.replicasPerMaster}`);
            }
            // The replication link comes up before gossip tells the master's node table who its replicas are.
            const known = await redisCommand(n.port, ['CLUSTER', 'REPLICAS', n.nodeId]);
            const knownCount = Array.isArray(known) ? known.length : 0;
            if (knownCount !== this.replicasPerMaster) problems.push(`${n.port}: CLUSTER REPLICAS lists ${knownCount}/${this.replicasPerMaster}`);
          }
        }),
      );
      const nMasters = this.nodes.filter((n) => n.role === 'master').length;
      if (problems.length === 0 && nMasters !== this.masters) problems.push(`${nMasters} masters instead of ${this.masters}`);
      return problems.length === 0 ? done(undefined) : notYet(problems.join('; '));
    });
  }

  async refreshRoles(): Promise<void> {
    await Promise.all(
      this.running().map(async (n) => {
        const repl = await info(n.port, 'replication');
        n.role = repl.role === 'slave' ? 'replica' : 'master';
      }),
    );
  }

  async masterForSlot(slot: number): Promise<ClusterNodeHandle> {
    const errors: string[] = [];
    for (const n of this.running()) {
      try {
        const port = await masterPortForSlot(n.port, slot);
        const node = port === undefined ? undefined : this.byPort(port);
        if (node) return node;
        errors.push(`${n.port}: slot ${slot} ${port === undefined ? 'unassigned' : `on unknown port ${port}`}`);
      } catch (err) {
        errors.push(`${n.port}: ${(err as Error).message}`);
      }
    }
    throw new Error(`no running node could tell the master of slot ${slot}: ${errors.join('; ') || 'no running nodes'}`);
  }

  async killMaster(slot = 0): Promise<ClusterNodeHandle> {
    const master = await this.masterForSlot(slot);
    await master.kill9();
    this.lastKilled = { node: master, slot };
    return master;
  }

  async waitForFailover(opts: WaitForFailoverOptions = {}): Promise<ClusterNodeHandle> {
    const from = opts.from ?? this.lastKilled?.node;
    const slot = opts.slot ?? this.lastKilled?.slot ?? 0;
    const timeoutMs = opts.timeoutMs ?? 15_000;
    const fromDesc = from ? `away from ${from.port}` : '';
    return poll(`failover of slot ${slot} ${fromDesc}`, { timeoutMs, intervalMs: 100 }, async () => {
      const alive = this.running();
      const views = await Promise.all(
        alive.map(async (n) => ({
          n,
          owner: await masterPortForSlot(n.port, slot).catch(() => undefined),
          state: (await info(n.port, 'cluster-info').catch(() => ({}) as Record<string, string>)).cluster_state,
        })),
      );
      const problems: string[] = [];
      for (const v of views) {
        if (v.state !== 'ok') problems.push(`${v.n.port}: cluster_state=${v.state}`);
        if (v.owner === undefined) problems.push(`${v.n.port}: slot ${slot} has no master`);
        else if (from && v.owner === from.port) problems.push(`${v.n.port}: slot ${slot} still on ${from.port}`);
      }
      const owners = new Set(views.map((v) => v.owner));
      if (owners.size > 1) problems.push(`nodes disagree on slot ${slot}: ${[...owners].join(',')}`);
      if (problems.length) return notYet(problems.join('; '));
      const owner = this.byPort(views[0]?.owner ?? -1);
      if (!owner?.running) return notYet(`slot ${slot} owner ${views[0]?.owner} is not a running harness node`);
      const repl = await info(owner.port, 'replication');
      if (repl.role !== 'master') return notYet(`${owner.port} owns slot ${slot} but INFO says role=${repl.role}`);
      owner.role = 'master';
      return done(owner);
    });
  }

  async waitForHealthy(timeoutMs = 15_000): Promise<void> {
    await poll('running cluster nodes to report cluster_state:ok', { timeoutMs, intervalMs: 100 }, async () => {
      const problems: string[] = [];
      await Promise.all(
        this.running().map(async (n) => {
          const ci = await info(n.port, 'cluster-info');
          if (ci.cluster_state !== 'ok' || ci.cluster_slots_ok !== String(CLUSTER_SLOTS)) {
            problems.push(`${n.port}: cluster_state=${ci.cluster_state} slots_ok=${ci.cluster_slots_ok}`);
          }
        }),
      );
      return problems.length ? notYet(problems.join('; ')) : done(undefined);
    });
  }

  client(options: TestClusterOptions = {}): Cluster {
    return trackClient(this.clients, new Cluster(this.startupNodes, options));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const c of this.clients) c.disconnect();
    this.clients.clear();
    // Teardown: SIGKILL is fine (no persistence) and avoids masters waiting on replicas at shutdown.
    await Promise.all(
      this.nodes.map(async (n) => {
        await n.kill9();
        await n.stop();
      }),
    );
  }
}
