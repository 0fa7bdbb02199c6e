/**
 * The xDS client's re-dialling, observed through its connection events against real sockets: waits
 * follow the backoff while nothing answers, the connect-retry interval once a server had answered,
 * and the first answer resets the backoff.
 */
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigWatcher, XdsConnectionEvent } from '../../src/config/index.js';
import { findFreePort } from '../support/redis-server.js';
import { startBareXdsClient } from '../support/xds/bare-client.js';
import { TestXdsServer } from '../support/xds/xds-server.js';

let watcher: ConfigWatcher | undefined;
afterEach(async () => {
  await watcher?.close();
});

/** A client of `serverUrl` with exact waits (no randomisation); resolves with its first `count` connection events. */
function connectionEvents(serverUrl: string, count: number, onEvent?: (event: XdsConnectionEvent) => void): Promise<XdsConnectionEvent[]> {
  const events: XdsConnectionEvent[] = [];
  return new Promise((resolve) => {
    watcher = startBareXdsClient(serverUrl, {
      connectRetryMs: 15,
      backoff: { initialMs: 10, maxMs: 40, randomFactor: 0, exponential: true },
      onConnection: (event) => {
        events.push(event);
        onEvent?.(event);
        if (events.length === count) resolve(events);
      },
    });
  });
}

const waits = (events: XdsConnectionEvent[]) => events.map((e) => (e.type === 'disconnected' ? e.retryInMs : 'connected'));

describe('xDS client re-dialling', () => {
  it('backs off 10, 20, 40, 40 ms while nothing listens', async () => {
    const events = await connectionEvents(`127.0.0.1:${await findFreePort()}`, 4);
    expect(waits(events)).toEqual([10, 20, 40, 40]);
    expect(events.every((e) => e.type === 'disconnected' && e.code === grpc.status.UNAVAILABLE)).toBe(true);
  });

  it('waits the connect-retry interval after a server that had answered goes away, then backs off from the start', async () => {
    const xds = await TestXdsServer.start();
    xds.setSnapshot('1', []);
    const events = await connectionEvents(xds.address, 4, (event) => {
      if (event.type === 'connected') void xds.answerTo('1').then(() => xds.stop());
    });
    expect(waits(events)).toEqual(['connected', 15, 10, 20]);
  });
});
