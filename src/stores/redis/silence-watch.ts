/**
 * Judges Redis by its silence, not by how long a call took (docs/redis.md#what-counts-as-a-redis-failure).
 *
 * A per-call timer started when a call enters the store measures this process's own queue: at
 * saturation it fires for calls Redis answered in microseconds. And Node runs timers before it
 * reads sockets, so after a busy stretch a timer fires before a reply that already arrived is read.
 * So instead: Redis answers each connection's commands in order, so it is late exactly when the
 * OLDEST command waiting on a connection stays unanswered for `silenceMs`. A check runs a few times
 * per `silenceMs` while commands wait, always after the event loop has read the sockets (a timer
 * schedules it with setImmediate, which runs after the poll phase). A connection found silent has
 * every command waiting on it rejected (they are not resent: one may have run); it counts as heard
 * again as soon as its oldest command changes.
 *
 * When nothing was sent for `heartbeatMs`, idle connections get a PING, so a Redis that stops
 * answering is noticed without traffic too.
 */
import type { Redis } from 'ioredis';

export interface SilenceWatchOptions {
  readonly silenceMs: number;
  readonly heartbeatMs: number;
  /** The connections to watch, read at every check (a Cluster's nodes come and go). */
  readonly connections: () => readonly Redis[];
  /** A connection fell silent (once per episode); `waiting` commands on it were rejected. */
  readonly onSilent: (connection: Redis, silentMs: number, waiting: number) => void;
  /** A silent connection answered again. */
  readonly onHeard: (connection: Redis) => void;
}

/** The error every command waiting on a silent connection is rejected with. */
export class RedisSilentError extends Error {
  override readonly name = 'RedisSilentError';
}

interface Watched {
  /** The oldest command waiting when last checked. */
  head: unknown;
  /** When that command was first seen as the oldest. */
  since: number;
  silent: boolean;
}

/** Checks per silence budget: a silent Redis is found between 1 and 1.25 budgets after it went quiet. */
const CHECKS_PER_BUDGET = 4;

export class SilenceWatch {
  private readonly watched = new WeakMap<Redis, Watched>();
  /** Commands already rejected, so one waiting a long time is rejected once. */
  private readonly rejected = new WeakSet<object>();
  private readonly intervalMs: number;
  private checkTimer: NodeJS.Timeout | undefined;
  private readonly heartbeatTimer: NodeJS.Timeout;
  private stopped = false;
  /** When the store last sent a command (heartbeat PINGs do not count). */
  private lastSentAt = -Infinity;

  constructor(private readonly options: SilenceWatchOptions) {
    this.intervalMs = Math.max(1, options.silenceMs / CHECKS_PER_BUDGET);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), options.heartbeatMs);
    // Watching alone never keeps the process alive.
    this.heartbeatTimer.unref();
  }

  /** Tells the watch that a command was sent: a check is scheduled if none is. */
  arm(): void {
    this.lastSentAt = performance.now();
    this.schedule();
  }

  private schedule(): void {
    if (this.checkTimer !== undefined || this.stopped) return;
    this.checkTimer = setTimeout(this.afterPoll, this.intervalMs);
    this.checkTimer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.heartbeatTimer);
    if (this.checkTimer !== undefined) clearTimeout(this.checkTimer);
  }

  private readonly afterPoll = (): void => {
    setImmediate(this.check);
  };

  private readonly check = (): void => {
    this.checkTimer = undefined;
    const now = performance.now();
    let waiting = false;
    for (const connection of this.options.connections()) {
      if (this.checkConnection(connection, now)) waiting = true;
    }
    if (waiting) this.schedule();
  };

  /** Returns whether commands are still waiting on the connection. */
  private checkConnection(connection: Redis, now: number): boolean {
    const head = connection.commandQueue.peekFront();
    const watched = this.watched.get(connection);
    if (head === undefined || watched === undefined || watched.head !== head) {
      if (watched?.silent === true) this.options.onHeard(connection);
      if (head === undefined) this.watched.delete(connection);
      else this.watched.set(connection, { head, since: now, silent: false });
      return head !== undefined;
    }
    const silentMs = now - watched.since;
    if (silentMs < this.options.silenceMs) return true;
    const failed = this.rejectWaiting(connection, silentMs);
    if (!watched.silent) {
      watched.silent = true;
      this.options.onSilent(connection, silentMs, failed);
    }
    return true;
  }

  private rejectWaiting(connection: Redis, silentMs: number): number {
    const error = new RedisSilentError(`no reply from Redis ${describe(connection)} for ${Math.round(silentMs)} ms`);
    let failed = 0;
    for (const { command } of connection.commandQueue.toArray()) {
      if (this.rejected.has(command)) continue;
      this.rejected.add(command);
      command.reject(error);
      failed += 1;
    }
    return failed;
  }

  /** PINGs the idle connections when nothing was sent for a whole interval (traffic says enough). */
  private heartbeat(): void {
    if (performance.now() - this.lastSentAt < this.options.heartbeatMs) return;
    for (const connection of this.options.connections()) {
      if (connection.status !== 'ready' || connection.commandQueue.length > 0) continue;
      connection.ping().catch(() => undefined);
      this.schedule();
    }
  }
}

/** host:port of a connection, for messages. */
export function describe(connection: Redis): string {
  const { host, port, path } = connection.options;
  return path !== undefined && path !== null ? path : `${host ?? '?'}:${port ?? '?'}`;
}
