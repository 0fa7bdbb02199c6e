import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../../src/admin/admin-access.js';

describe('isLoopbackHost', () => {
  it('is a listener host that binds loopback only: localhost, 127.0.0.0/8, ::1; never a wildcard or a name', () => {
    for (const host of ['localhost', '127.0.0.1', '127.0.0.6', '::1', '[::1]', '::ffff:127.0.0.1']) expect([host, isLoopbackHost(host)]).toEqual([host, true]);
    for (const host of ['0.0.0.0', '::', '[::]', '', '10.0.0.7', 'rateguard.local', '127.0.0.1.nip.io'])
      expect([host, isLoopbackHost(host)]).toEqual([host, false]);
  });
});
