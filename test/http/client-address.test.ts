import { describe, expect, it } from 'vitest';
import { addressIdentity } from '../../src/http/client-address.js';

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
