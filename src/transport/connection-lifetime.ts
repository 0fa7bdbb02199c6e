/**
 * The bounds of one HTTP/2 connection (src/settings/grpc-connection-limits.ts, docs/hardening.md),
 * as grpc-js applies them:
 * - keepalive: a PING every keepaliveTimeMs; one unanswered for keepaliveTimeoutMs destroys the connection;
 * - idle: no open stream for maxConnectionIdleMs, GOAWAY and close;
 * - age: after maxConnectionAgeMs (±10% jitter, so clients do not reconnect in step) a GOAWAY, then
 *   maxConnectionAgeGraceMs for the calls in flight before the connection is destroyed.
 * Every timer is unref'd and cleared when the connection closes.
 */
import { constants, type ServerHttp2Session } from 'node:http2';
import type { GrpcConnectionLimits } from '../settings/grpc-connection-limits.js';

/** The GOAWAY that announces a close: any stream id may still finish (RFC 9113 §6.8, graceful shutdown). */
const LAST_STREAM_ANY = 2 ** 31 - 1;

/** GOAWAY, then a graceful close: streams in flight finish, no new ones start. */
export function goAway(session: ServerHttp2Session, reason: string): void {
  if (session.closed || session.destroyed) return;
  session.goaway(constants.NGHTTP2_NO_ERROR, LAST_STREAM_ANY, Buffer.from(reason));
  session.close();
}

export function applyConnectionLimits(session: ServerHttp2Session, limits: GrpcConnectionLimits): void {
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timer.unref();
    timers.add(timer);
    return timer;
  };
  session.once('close', () => {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  });

  const ping = () => {
    if (session.destroyed || session.closed) return; // closing: the age grace or the drain bounds it
    const unanswered = later(limits.keepaliveTimeoutMs, () => session.destroy());
    const sent = session.ping((error) => {
      clearTimeout(unanswered);
      timers.delete(unanswered);
      if (error === null) later(limits.keepaliveTimeMs, ping);
      else session.destroy();
    });
    if (!sent) session.destroy();
  };
  later(limits.keepaliveTimeMs, ping);

  const jitter = (Math.random() * 2 - 1) * (limits.maxConnectionAgeMs / 10);
  later(limits.maxConnectionAgeMs + jitter, () => {
    goAway(session, 'max_age');
    later(limits.maxConnectionAgeGraceMs, () => session.destroy());
  });

  // Idle: counted from the last stream's close; checked lazily, so a busy connection costs a counter.
  let open = 0;
  let idleSince = Date.now();
  const streamClosed = () => {
    if (--open === 0) idleSince = Date.now();
  };
  session.on('stream', (stream) => {
    open++;
    stream.on('close', streamClosed); // emitted once: no `once` wrapper, no closure per stream
  });
  const checkIdle = () => {
    const idleFor = Date.now() - idleSince;
    if (open === 0 && idleFor >= limits.maxConnectionIdleMs) goAway(session, 'max_idle');
    else later(open === 0 ? limits.maxConnectionIdleMs - idleFor : limits.maxConnectionIdleMs, checkIdle);
  };
  later(limits.maxConnectionIdleMs, checkIdle);
}
