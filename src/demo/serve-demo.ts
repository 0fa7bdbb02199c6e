import type { Express } from 'express';
import type { Logger } from '../observe/logger.js';

/** Every interface, IPv6 and IPv4: the demo is meant to be reached from a browser or a container. */
export const DEMO_HOST = '::';

/** Listens on `port`, logs the URL, and returns a closer that also drops idle keep-alive sockets. */
export function serveDemo(app: Express, port: number, logger: Logger): Promise<{ port: number; close: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, DEMO_HOST, (error?: Error) => {
      if (error) {
        reject(error);
        return;
      }
      const bound = (server.address() as { port: number }).port;
      logger.info({ port: bound }, `demo API listening on http://localhost:${bound}`);
      resolve({
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
