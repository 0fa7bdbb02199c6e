/**
 * Real listeners standing in for statsd: UDP (DogStatsD, one or more lines per datagram) and TCP
 * (plain statsd, newline-terminated lines on a stream). Both collect every line received.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';

export interface StatsdListener {
  readonly port: number;
  /** Every line received so far, in arrival order. */
  readonly lines: string[];
  /** Resolves with the lines once at least `count` arrived (rejects after `timeoutMs`). */
  waitForLines(count: number, timeoutMs?: number): Promise<string[]>;
  close(): Promise<void>;
}

class Lines {
  readonly lines: string[] = [];
  private waiters: { count: number; resolve: () => void }[] = [];

  add(lines: readonly string[]): void {
    this.lines.push(...lines);
    const ready = this.waiters.filter((w) => this.lines.length >= w.count);
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  waitFor(count: number, timeoutMs = 5000): Promise<string[]> {
    if (this.lines.length >= count) return Promise.resolve(this.lines);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.lines.length} lines received, expected ${count}: ${this.lines.join(' ')}`)), timeoutMs);
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.lines);
        },
      });
    });
  }
}

function listener(received: Lines, port: number, close: () => Promise<void>): StatsdListener {
  return { port, lines: received.lines, waitForLines: (count, timeoutMs) => received.waitFor(count, timeoutMs), close };
}

export async function startUdpListener(): Promise<StatsdListener> {
  const socket = createSocket('udp4');
  const received = new Lines();
  socket.on('message', (message) => received.add(message.toString('utf8').split('\n')));
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return listener(received, socket.address().port, () => new Promise((resolve) => socket.close(() => resolve())));
}

export async function startTcpListener(): Promise<StatsdListener> {
  const received = new Lines();
  const server = createServer((connection) => {
    let partial = '';
    connection.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString('utf8')).split('\n');
      partial = parts.pop()!;
      received.add(parts);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return listener(received, port, () => new Promise((resolve) => server.close(() => resolve())));
}
