/** Connecting: URL checks, a password from a file, TLS (rediss:// with a CA, and mutual TLS). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenBucket } from '../../src/engine/limit.js';
import type { Plan } from '../../src/engine/plan.js';
import { createRedisClient } from '../../src/stores/redis/connection.js';
import { RedisStore } from '../../src/stores/redis/redis-store.js';
import { StoreError } from '../../src/stores/store.js';
import { OptionError } from '../../src/validation/option-error.js';
import { findFreePort, startRedis } from '../support/redis-server.js';

const limit = tokenBucket({ capacity: 3, refillTokens: 1, periodUs: 3_600_000_000 });
const plan: Plan = { mode: 'all_or_nothing', buckets: [{ key: 'conn', limit, cost: 1 }] };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rg-conn-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('connection options', () => {
  const codeOf = (make: () => unknown) => {
    try {
      make();
    } catch (error) {
      return error instanceof OptionError ? error.message : 'other';
    }
    return 'none';
  };

  it('rejects bad URLs and modes clearly, without echoing a password', () => {
    expect(codeOf(() => createRedisClient({ url: 'http://user:hunter2@host:6379' }))).toMatch(/unsupported scheme "http:"/);
    const bad = codeOf(() => createRedisClient({ url: 'redis//user:hunter2@nowhere' }));
    expect(bad).toMatch(/is neither host:port nor a redis:\/\/ or rediss:\/\/ URL/);
    expect(bad).not.toContain('hunter2');
    expect(codeOf(() => createRedisClient({ url: 'redis://a:1,redis://b:2' }))).toMatch(/several URLs need --redis-mode cluster or sentinel/);
    expect(codeOf(() => createRedisClient({ url: 'redis://a:1', mode: 'sentinel' }))).toMatch(/needs the master name/);
  });

  it('reads the password from a file', async () => {
    const redis = await startRedis();
    // Set after start: the harness's readiness PING has no password.
    await redis.command('CONFIG', 'SET', 'requirepass', 's3cret-from-file');
    const file = join(dir, 'password');
    writeFileSync(file, 's3cret-from-file\n');
    const withFile = new RedisStore({ url: redis.url, passwordFile: file, timeoutMs: 2000 });
    const without = new RedisStore({ url: redis.url, timeoutMs: 2000 });
    try {
      await withFile.ready();
      expect((await withFile.decide(plan)).buckets[0]!.remaining).toBe(2);
      const error = await without.ready(2000).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).kind).toBe('auth');
    } finally {
      await withFile.close();
      await without.close();
      await redis.stop();
    }
  });
});

describe('TLS', () => {
  let tlsPort: number;
  let stop: () => Promise<void>;
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

  beforeAll(async () => {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=rateguard-test-ca');
    writeFileSync(file('ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1');
    for (const who of ['server', 'client']) {
      openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who}`);
      openssl(
        'x509',
        '-req',
        '-in',
        `${who}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${who}.crt`,
        '-days',
        '1',
        '-extfile',
        'ext',
      );
    }
    tlsPort = await findFreePort();
    // The plain port stays for the harness's readiness check; clients use the TLS port.
    const redis = await startRedis({
      args: [
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        file('server.crt'),
        '--tls-key-file',
        file('server.key'),
        '--tls-ca-cert-file',
        file('ca.crt'),
        '--tls-auth-clients',
        'optional',
      ],
    });
    stop = () => redis.stop();
  });
  afterAll(async () => {
    await stop();
  });

  it('connects with rediss:// and the CA, and with a client certificate', async () => {
    for (const options of [
      { url: `rediss://127.0.0.1:${tlsPort}`, tlsCaFile: file('ca.crt') },
      { url: `rediss://127.0.0.1:${tlsPort}`, tlsCaFile: file('ca.crt'), tlsCertFile: file('client.crt'), tlsKeyFile: file('client.key') },
    ]) {
      const store = new RedisStore({ ...options, timeoutMs: 2000 });
      try {
        await store.ready(5000);
        expect((await store.decide({ ...plan, buckets: [{ ...plan.buckets[0]!, key: `tls-${Math.random()}` }] })).allowed).toBe(true);
      } finally {
        await store.close();
      }
    }
  });

  it('refuses a server it cannot verify', async () => {
    const store = new RedisStore({ url: `rediss://127.0.0.1:${tlsPort}`, timeoutMs: 300 });
    try {
      await expect(store.ready(1000)).rejects.toBeInstanceOf(StoreError);
    } finally {
      await store.close();
    }
  });
});
