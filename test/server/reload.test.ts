/**
 * Hot reload through a running sidecar: new limits apply, unchanged limits keep their buckets, a
 * broken file changes nothing; a SIGHUP with nothing changed is a no-op (real serve process, real
 * signal); what a rejected config's log line says is true whether or not a config loaded before.
 */
import { renameSync, symlinkSync, writeFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitServiceClient, shouldRateLimit } from '../../src/rls/codec.js';
import { refusedSidecarProcess, type SidecarProcess, startSidecarProcess } from '../support/sidecar-process.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';

const config = (keptRpu: number, changedRpu: number) =>
  `domain: reload\ndescriptors:\n  - key: kept\n    rate_limit: { unit: hour, requests_per_unit: ${keptRpu} }\n  - key: changed\n    rate_limit: { unit: hour, requests_per_unit: ${changedRpu} }\n`;

let rg: TestSidecar;
beforeAll(async () => {
  rg = await startTestSidecar({ 'reload.yaml': config(10, 10) });
});
afterAll(async () => {
  await rg.stop();
});

/** Polls /rlconfig (bounded) until it contains `text`: the reload has been applied. */
async function waitForConfig(text: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await (await fetch(`${rg.httpUrl}/rlconfig`)).text()).includes(text)) {
    if (Date.now() > deadline) throw new Error(`config never showed ${text}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
const remaining = async (key: string) => (await rg.call(request('reload', [[key, 'x']]))).statuses[0]!.limitRemaining;

it('applies an edited file; unchanged limits keep their buckets, changed ones start fresh', async () => {
  expect([await remaining('kept'), await remaining('kept'), await remaining('changed')]).toEqual([9, 8, 9]);
  writeFileSync(join(rg.dir, 'reload.yaml'), config(10, 20));
  await waitForConfig('reload.changed: unit=HOUR requests_per_unit=20');
  expect(await remaining('kept')).toBe(7); // the same bucket, charged a third time
  expect(await remaining('changed')).toBe(19); // a new limit, a new bucket
});

it('keeps serving the last good config when the new one is broken', async () => {
  writeFileSync(join(rg.dir, 'reload.yaml'), 'domain: reload\ndescriptors:\n  - key: kept\n    rate_limit: { unit: fortnight, requests_per_unit: 1 }\n');
  const { event } = await rg.sidecar.watcher.reload();
  expect(event.type).toBe('rejected');
  expect(await (await fetch(`${rg.httpUrl}/rlconfig`)).text()).toContain('reload.changed: unit=HOUR requests_per_unit=20');
  expect(await remaining('changed')).toBe(18);
});

it('follows a Kubernetes ConfigMap update (the ..data symlink swapped atomically)', async () => {
  const mount = mkdtempSync(join(tmpdir(), 'rg-configmap-'));
  const generation = (name: string, rpu: number) => {
    mkdirSync(join(mount, name));
    writeFileSync(join(mount, name, 'reload.yaml'), config(rpu, rpu));
  };
  generation('..2026_11_27_01', 3);
  symlinkSync('..2026_11_27_01', join(mount, '..data'));
  symlinkSync('..data/reload.yaml', join(mount, 'reload.yaml'));
  const cm = await startTestSidecar({}, ['--config', mount]);
  try {
    expect((await cm.call(request('reload', [['kept', 'y']]))).statuses[0]!.limitRemaining).toBe(2);
    generation('..2026_11_27_02', 30);
    symlinkSync('..2026_11_27_02', join(mount, '..data_tmp'));
    renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
    const deadline = Date.now() + 10_000;
    while (!(await (await fetch(`${cm.httpUrl}/rlconfig`)).text()).includes('requests_per_unit=30')) {
      if (Date.now() > deadline) throw new Error('the ConfigMap update was never loaded');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await cm.call(request('reload', [['kept', 'y']]))).statuses[0]!.limitRemaining).toBe(29);
  } finally {
    await cm.stop();
    rmSync(mount, { recursive: true, force: true });
  }
});

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly reason?: string;
  readonly version?: string;
}

/** Resolves with the first log line from `from` on that `match`es, as the process prints it. */
function logLine(sidecar: SidecarProcess, from: number, match: (line: LogLine) => boolean): Promise<LogLine> {
  const lines = () => (sidecar.logs as readonly LogLine[]).slice(from);
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = lines().find(match);
      if (found === undefined) return;
      clearTimeout(timer);
      sidecar.child.process.stdout.off('data', check);
      resolve(found);
    };
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `no log line matched; got ${lines()
              .map((l) => l.msg)
              .join(' | ')}`,
          ),
        ),
      15_000,
    );
    sidecar.child.process.stdout.on('data', check);
    check();
  });
}

const CONFIG_LOADED = 'config loaded';
const UNCHANGED = 'SIGHUP: config unchanged, nothing reloaded';
const BROKEN = 'domain: reload\ndescriptors:\n  - key: kept\n    rate_limit: { unit: fortnight, requests_per_unit: 1 }\n';

describe('serve processes and their config logs', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const configDir = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'rg-reload-'));
    writeFileSync(join(dir, 'reload.yaml'), text);
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  const serve = async (args: string[]) => {
    const sidecar = await startSidecarProcess(args);
    cleanups.push(() => sidecar.stop());
    return sidecar;
  };
  const messages = (sidecar: SidecarProcess) => sidecar.logs.map((l) => l.msg);
  const loadCounters = async (sidecar: SidecarProcess) => [
    await sidecar.metric('ratelimit_service_config_load_success'),
    await sidecar.metric('ratelimit_service_config_load_error'),
  ];

  it('a SIGHUP with the files unchanged reloads nothing: one info line, no "config loaded", no config_load counter', async () => {
    const dir = configDir(config(10, 10));
    const sidecar = await serve(['--config', dir]);
    expect(await loadCounters(sidecar)).toEqual([1, 0]);
    let from = sidecar.logs.length;
    sidecar.child.process.kill('SIGHUP');
    expect(await logLine(sidecar, from, (l) => l.msg === UNCHANGED)).toMatchObject({ level: 30 });
    expect(await loadCounters(sidecar)).toEqual([1, 0]);

    // A real change is loaded (by the directory watch) and counted once ...
    from = sidecar.logs.length;
    writeFileSync(join(dir, 'reload.yaml'), config(10, 20));
    const changed = await logLine(sidecar, from, (l) => l.msg === CONFIG_LOADED);
    expect(await loadCounters(sidecar)).toEqual([2, 0]);
    // ... and a SIGHUP after it finds that same version: a no-op again.
    from = sidecar.logs.length;
    sidecar.child.process.kill('SIGHUP');
    expect(await logLine(sidecar, from, (l) => l.msg === UNCHANGED)).toMatchObject({ version: changed.version });
    expect(await loadCounters(sidecar)).toEqual([2, 0]);
    expect(messages(sidecar).filter((m) => m === CONFIG_LOADED)).toHaveLength(2);
  });

  it('a first bad config at start: "rateguard does not start", never "the last good config keeps serving"', async () => {
    const refused = await refusedSidecarProcess(['--config', configDir(BROKEN)]);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain('"msg":"config rejected; rateguard does not start without a valid config"');
    expect(refused.output).not.toContain('keeps serving');
  });

  it('with --force-start-without-initial-config: "no config serves yet" (and calls are UNAVAILABLE) until one loads, then "the last good config keeps serving"', async () => {
    const dir = configDir(BROKEN);
    const sidecar = await serve(['--config', dir, '--force-start-without-initial-config']);
    expect(sidecar.logs.filter((l) => l.level === 50).map((l) => l.msg)).toEqual([
      'config rejected; no config serves yet: calls are answered UNAVAILABLE until a valid one loads',
    ]);
    const client = new RateLimitServiceClient(`127.0.0.1:${sidecar.grpcPort}`, grpc.credentials.createInsecure());
    cleanups.push(() => client.close());
    await expect(shouldRateLimit(client, request('reload', [['kept', 'x']]), { deadline: Date.now() + 5000 })).rejects.toMatchObject({
      code: grpc.status.UNAVAILABLE,
    });

    let from = sidecar.logs.length;
    writeFileSync(join(dir, 'reload.yaml'), config(10, 10));
    await logLine(sidecar, from, (l) => l.msg === CONFIG_LOADED);
    from = sidecar.logs.length;
    writeFileSync(join(dir, 'reload.yaml'), BROKEN);
    expect((await logLine(sidecar, from, (l) => l.level === 50)).msg).toBe('config rejected; the last good config keeps serving');
    expect((await shouldRateLimit(client, request('reload', [['kept', 'x']]), { deadline: Date.now() + 5000 })).statuses[0]!.limitRemaining).toBe(9);
  });
});
