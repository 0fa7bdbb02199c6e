/**
 * A TCP proxy on a free loopback port, for faults no real Redis produces on cue: a command that
 * reaches Redis and runs, but whose reply never reaches the client, whose connection then closes.
 */
import net from 'node:net';
import { findFreePort, LOCALHOST } from './redis-server.js';

export interface TcpProxy {
  readonly port: number;
  /**
   * The next client chunk containing `marker` is forwarded; the server's reply to it is swallowed.
   * When that reply has arrived (so the command surely ran), `beforeClose` runs, then every client
   * connection is destroyed. Resolves after that.
   */
  loseReplyTo(marker: string, beforeClose?: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

interface Armed {
  readonly marker: string;
  readonly beforeClose: () => Promise<void>;
  readonly done: () => void;
  /** Set once the marked command went through: the next server chunk is its reply. */
  sent: boolean;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const port = await findFreePort();
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  let armed: Armed | undefined;

  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, LOCALHOST);
    const pair = { client, upstream };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (armed !== undefined && !armed.sent && chunk.includes(armed.marker)) armed.sent = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (armed === undefined || !armed.sent) {
        client.write(chunk);
        return;
      }
      const fault = armed;
      armed = undefined;
      void fault.beforeClose().then(() => {
        for (const p of pairs) {
          p.client.destroy();
          p.upstream.destroy();
        }
        pairs.clear();
        fault.done();
      });
    });
    client.on('close', drop);
    upstream.on('close', drop);
    client.on('error', drop);
    upstream.on('error', drop);
  });
  await new Promise<void>((resolve) => server.listen(port, LOCALHOST, resolve));

  return {
    port,
    loseReplyTo(marker, beforeClose = async () => {}) {
      return new Promise<void>((resolve) => {
        armed = { marker, beforeClose, done: resolve, sent: false };
      });
    },
    async close() {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
