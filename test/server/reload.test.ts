/** Hot reload through a running sidecar: new limits apply, unchanged limits keep their buckets, a broken file changes nothing. */
import { renameSync, symlinkSync, writeFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
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
  const reload = await rg.sidecar.watcher.reload();
  expect(reload.type).toBe('rejected');
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
