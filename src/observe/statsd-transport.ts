/**
 * How statsd lines leave the process, as the reference sends them: plain statsd over one TCP
 * connection (gostats' TCP sink), DogStatsD over UDP datagrams. Both are best effort: a line that
 * cannot go now is dropped, never queued without bound and never waited for by a decision.
 */
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { packDatagrams } from './statsd-format.js';

export interface StatsdTransport {
  /** Resolves once the lines are handed to the OS (or dropped). */
  send(lines: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export interface StatsdAddress {
  readonly host: string;
  readonly port: number;
}

export function udpTransport(address: StatsdAddress, onError: (error: Error) => void): StatsdTransport {
  const socket = createSocket('udp4');
  socket.on('error', onError);
  socket.unref();
  const sendOne = (datagram: Buffer) =>
    new Promise<void>((resolve) =>
      socket.send(datagram, address.port, address.host, (error) => {
        if (error) onError(error);
        resolve();
      }),
    );
  return {
    send: async (lines) => {
      await Promise.all(packDatagrams(lines).map(sendOne));
    },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

/** Bytes the TCP connection may hold unsent; past it a flush is dropped rather than buffered. */
const MAX_TCP_BACKLOG_BYTES = 1 << 20;

/** One connection, dialled on first use and again on the flush after it is lost. */
export function tcpTransport(address: StatsdAddress, onError: (error: Error) => void): StatsdTransport {
  let socket: Socket | undefined;
  const connected = (): Promise<Socket | undefined> => {
    if (socket !== undefined && !socket.destroyed) return Promise.resolve(socket);
    const dialling = connect(address.port, address.host);
    // Kept for the socket's life: a lost connection is only re-dialled at the next flush.
    dialling.on('error', onError);
    dialling.unref();
    socket = dialling;
    return new Promise((resolve) => {
      dialling.once('connect', () => resolve(dialling));
      dialling.once('close', () => resolve(undefined));
    });
  };
  return {
    async send(lines) {
      if (lines.length === 0) return;
      const open = await connected();
      if (open === undefined || open.writableLength > MAX_TCP_BACKLOG_BYTES) return;
      await new Promise<void>((resolve) => open.write(`${lines.join('\n')}\n`, () => resolve()));
    },
    async close() {
      const open = socket;
      socket = undefined;
      if (open === undefined || open.destroyed) return;
      await new Promise<void>((resolve) => open.end(() => resolve()));
    },
  };
}
