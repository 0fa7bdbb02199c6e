import { describe, expect, it } from 'vitest';
import { isLoopback } from '../../src/admin/admin-guard.js';

describe('isLoopback', () => {
  it('is the whole of 127.0.0.0/8 (plain or IPv4-mapped) and ::1, nothing else', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::ffff:127.0.0.1', '::1']) expect([address, isLoopback(address)]).toEqual([address, true]);
    for (const address of ['10.0.0.1', '::ffff:10.0.0.1', '128.0.0.1', 'fe80::1', '::', '', undefined, '127.0.0.1.evil']) {
      expect([address, isLoopback(address)]).toEqual([address, false]);
    }
  });
});
