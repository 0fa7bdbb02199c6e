import { afterEach, describe, expect, it } from 'vitest';
import { demoDescriptors } from '../../src/demo/demo-app.js';
import { addressIdentity, unmappedAddress } from '../../src/http/client-address.js';
import { type RequestRateLimit, rateLimiter } from '../../src/http/rate-limiter.js';
import { cleanupList, limiterApp, listenOn, statuses } from './limiter-harness.js';

describe('addressIdentity', () => {
  it('keeps IPv4 as is and unwraps IPv4-mapped IPv6', () => {
    expect(addressIdentity('203.0.113.7', 56)).toBe('203.0.113.7');
    expect(addressIdentity('::ffff:203.0.113.7', 56)).toBe('203.0.113.7');
    expect(addressIdentity('::ffff:cb00:7107', 56)).toBe('203.0.113.7');
  });

  it('masks IPv6 to the subnet so one host cannot rotate out of its limit', () => {
    expect(addressIdentity('2001:db8:abcd:12ff:1:2:3:4', 56)).toBe('2001:db8:abcd:1200:0:0:0:0/56');
    expect(addressIdentity('2001:db8:abcd:12ff::9', 56)).toBe(addressIdentity('2001:db8:abcd:1201:ffff::1', 56));
    expect(addressIdentity('2001:db8::1', 128)).toBe('2001:db8:0:0:0:0:0:1/128');
    expect(addressIdentity('fe80::1%eth0', 64)).toBe('fe80:0:0:0:0:0:0:0/64');
  });

  it('passes through what is not an IP, and maps a missing address to ""', () => {
    expect(addressIdentity('unix-socket', 56)).toBe('unix-socket');
    expect(addressIdentity(undefined, 56)).toBe('');
  });
});

describe('unmappedAddress', () => {
  it('gives an IPv4-mapped IPv6 address as its IPv4 and leaves every other address alone', () => {
    expect(unmappedAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(unmappedAddress('::FFFF:7f00:1')).toBe('127.0.0.1');
    expect(unmappedAddress('127.0.0.1')).toBe('127.0.0.1');
    expect(unmappedAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(unmappedAddress('')).toBe('');
  });
});

describe('one identity for an IPv4 client on a dual-stack (::) and an IPv4 listener', () => {
  const cleanups = cleanupList();
  afterEach(() => cleanups.run());

  it.each([['::'], ['127.0.0.1']])(
    'listening on %s: req.ip is keyed 127.0.0.1, the admin reset by 127.0.0.1 finds it, and the demo sends 127.0.0.1',
    async (host) => {
      const limiter = cleanups.limiter(rateLimiter({ requestsPerMinute: 1, name: `dual-${host === '::' ? 6 : 4}` }));
      const { app } = limiterApp(limiter);
      app.get('/', (req, res) =>
        res.json({ ip: req.ip, key: (req as unknown as { rateLimit: RequestRateLimit }).rateLimit.key, demo: demoDescriptors(req)[0] }),
      );
      const server = await listenOn(app, host);
      cleanups.add(server.close);
      const body = await (await fetch(server.url)).json();
      expect(body).toEqual({ ip: host === '::' ? '::ffff:127.0.0.1' : '127.0.0.1', key: '127.0.0.1', demo: [{ key: 'remote_address', value: '127.0.0.1' }] });
      expect(await statuses(server.url, 1)).toEqual([429]);
      expect(await limiter.resetKey('127.0.0.1')).toBe(true);
      expect(await statuses(server.url, 1)).toEqual([200]);
    },
  );
});
