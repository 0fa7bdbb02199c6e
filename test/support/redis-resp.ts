/**
 * Tiny dependency-free RESP2 client and polling helpers used by the Redis test harness.
 *
 * The harness probes servers with one-shot raw TCP commands instead of ioredis so readiness checks
 * never leave reconnecting clients behind and every probe has a hard timeout.
 */
import net from 'node:net';

export const LOCALHOST = '127.0.0.1';

/** A `-ERR ...` reply from the server. */
export class RespError extends Error {
  override readonly name = 'RespError';
}

export type RespValue = string | number | null | RespError | RespValue[];

interface Parsed {
  value: RespValue;
  next: number;
}

/** Parses one RESP2 value from buf at offset; undefined when the buffer holds only part of it. */
function parse(buf: Buffer, offset: number): Parsed | undefined {
  if (offset >= buf.length) return undefined;
  const eol = buf.indexOf('\r\n', offset);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[offset] ?? 0);
  const line = buf.toString('utf8', offset + 1, eol);
  const after = eol + 2;
  switch (type) {
    case '+':
      return { value: line, next: after };
    case '-':
      return { value: new RespError(line), next: after };
    case ':':
      return { value: Number(line), next: after };
    case '$': {
      const len = Number(line);
      if (len < 0) return { value: null, next: after };
      if (buf.length < after + len + 2) return undefined;
      return { value: buf.toString('utf8', after, after + len), next: after + len + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) return { value: null, next: after };
      const items: RespValue[] = [];
      let pos = after;
      for (let i = 0; i < count; i++) {
        const item = parse(buf, pos);
        if (!item) return undefined;
        items.push(item.value);
        pos = item.next;
      }
      return { value: items, next: pos };
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)} in reply`);
  }
}

function encode(args: readonly (string | number)[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) {
    const s = String(arg);
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`;
  }
  return out;
}

export interface CommandOptions {
  host?: string;
  /** Whole round trip (connect + reply) deadline. Default 1000 ms. */
  timeoutMs?: number;
}

/**
 * Sends one command on a fresh connection and resolves with its reply. Rejects on connection
 * errors, on timeout, and when the server replies with an error.
 */
export function redisCommand(port: number, args: readonly (string | number)[], opts: CommandOptions = {}): Promise<RespValue> {
  const host = opts.host ?? LOCALHOST;
  const timeoutMs = opts.timeoutMs ?? 1000;
  return new Promise<RespValue>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let settled = false;
    const socket = net.connect({ host, port });
    const finish = (err: Error | undefined, value?: RespValue): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? null);
    };
    const timer = setTimeout(() => finish(new Error(`${host}:${port} did not answer ${String(args[0])} within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => socket.write(encode(args)));
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      let parsed: Parsed | undefined;
      try {
        parsed = parse(buf, 0);
      } catch (err) {
        finish(err as Error);
        return;
      }
      if (!parsed) return;
      if (parsed.value instanceof RespError) finish(new RespError(`${host}:${port} ${String(args[0])}: ${parsed.value.message}`));
      else finish(undefined, parsed.value);
    });
    socket.on('error', (err) => finish(new Error(`${host}:${port} ${String(args[0])}: ${err.message}`)));
    socket.on('close', () => finish(new Error(`${host}:${port} closed the connection before answering ${String(args[0])}`)));
  });
}

/** Parses an INFO / CLUSTER INFO style `key:value` text reply. */
export function parseInfo(text: RespValue): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof text !== 'string') return out;
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/** Runs INFO [section] (or CLUSTER INFO when section is 'cluster-info') and parses it. */
export async function info(port: number, section?: string, opts: CommandOptions = {}): Promise<Record<string, string>> {
  const args = section === 'cluster-info' ? ['CLUSTER', 'INFO'] : section ? ['INFO', section] : ['INFO'];
  return parseInfo(await redisCommand(port, args, opts));
}

/** Turns a flat `[k1, v1, k2, v2, ...]` reply (SENTINEL MASTER/REPLICAS entries) into an object. */
export function pairs(value: RespValue): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(value)) return out;
  for (let i = 0; i + 1 < value.length; i += 2) out[String(value[i])] = String(value[i + 1]);
  return out;
}

export type PollResult<T> = { done: true; value: T } | { done: false; state: string };

export interface PollOptions {
  timeoutMs: number;
  intervalMs?: number;
}

/**
 * Polls `check` until it reports done or the deadline passes. On timeout throws an error naming
 * what was awaited and the last observed state (or the last exception thrown by `check`).
 */
export async function poll<T>(what: string, opts: PollOptions, check: () => Promise<PollResult<T>>): Promise<T> {
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  const interval = opts.intervalMs ?? 50;
  let last = 'not checked yet';
  for (;;) {
    try {
      const r = await check();
      if (r.done) return r.value;
      last = r.state;
    } catch (err) {
      last = `error: ${(err as Error).message}`;
    }
    if (Date.now() >= deadline) {
      throw new Error(`Timed out after ${Date.now() - started} ms waiting for ${what}; last state: ${last}`);
    }
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(1, deadline - Date.now()))));
  }
}

export const done = <T>(value: T): PollResult<T> => ({ done: true, value });
export const notYet = (state: string): PollResult<never> => ({ done: false, state });
