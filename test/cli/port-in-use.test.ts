/** A port already in use ends `serve` and `start` with one line naming it, exit 1, no stack trace. */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';

const run = promisify(execFile);
const rateguard = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { env: { ...process.env, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );

let taken: net.Server;
let port: number;
beforeAll(async () => {
  taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  port = (taken.address() as net.AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

const fatal = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.includes('"level":60'))
    .map((l) => (JSON.parse(l) as { msg: string }).msg);

it('serve: the gRPC port in use', async () => {
  const result = await rateguard(['serve', '--host', '127.0.0.1', '--grpc-port', String(port), '--http-port', '0', '--debug-port', '0']);
  expect([result.code, fatal(result.stdout)]).toEqual([1, [`cannot listen on 127.0.0.1:${port}: address already in use`]]);
  expect(result.stdout + result.stderr).not.toMatch(/^\s+at /m);
});

it("start: the demo's PORT in use", async () => {
  const result = await rateguard(['start', '--host', '127.0.0.1', '--grpc-port', '0', '--http-port', '0', '--debug-port', '0'], { PORT: String(port) });
  expect(result.code).toBe(1);
  expect(fatal(result.stdout)).toEqual([expect.stringMatching(new RegExp(`^cannot listen on .*:${port}: address already in use$`))]);
  expect(result.stdout + result.stderr).not.toMatch(/^\s+at /m);
});
