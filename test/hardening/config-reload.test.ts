/**
 * Hot reload over the corpus of broken configs (test/fixtures/config/broken/): each is written over
 * the running sidecar's good config; the reload is rejected with errors naming the file, nothing
 * crashes, and the last good limits keep answering. Then a good config loads again.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code } from '../../src/rls/codec.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';
import { CALL_BOUND_MS, HARDENING_CONFIG, within } from './helpers.js';

const BROKEN = fileURLToPath(new URL('../fixtures/config/broken/', import.meta.url));
const corpus = readdirSync(BROKEN)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

let rg: TestSidecar;
let probe = 0;
beforeAll(async () => {
  rg = await startTestSidecar({ 'hard.yaml': HARDENING_CONFIG });
});
afterAll(async () => {
  await rg.stop();
});

/** The good config's limit (5 per hour on `k`) still decides: a fresh identity has 4 left after one call. */
async function expectOldLimits(): Promise<void> {
  const answer = await within(rg.call(request('hard', [['k', `reload-${++probe}`]])), CALL_BOUND_MS, 'call during reloads');
  expect(answer.statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 4, currentLimit: { requestsPerUnit: 5 } });
}

describe('hot reload of broken configs', () => {
  it.each(corpus)('%s replacing the good file: rejected with the file named, the old limits answer', async (name) => {
    const target = join(rg.dir, 'hard.yaml');
    writeFileSync(target, readFileSync(join(BROKEN, name)));
    const { event } = await within(rg.sidecar.watcher.reload(), CALL_BOUND_MS, 'reload');
    expect(event.type).toBe('rejected');
    if (event.type !== 'rejected') return;
    expect(event.errors.length).toBeGreaterThan(0);
    for (const error of event.errors) {
      expect(error.file).toBe(target);
      expect(error.message.length).toBeGreaterThan(0);
    }
    await expectOldLimits();
  });

  it.each(corpus)('%s added beside the good file: rejected, the old limits answer', async (name) => {
    writeFileSync(join(rg.dir, 'hard.yaml'), HARDENING_CONFIG);
    const extra = join(rg.dir, `extra-${name}`);
    writeFileSync(extra, readFileSync(join(BROKEN, name)));
    try {
      const { event } = await within(rg.sidecar.watcher.reload(), CALL_BOUND_MS, 'reload');
      expect(event.type).toBe('rejected');
      await expectOldLimits();
    } finally {
      rmSync(extra);
    }
  });

  it('after the corpus, a good config with new numbers loads and decides', async () => {
    writeFileSync(join(rg.dir, 'hard.yaml'), HARDENING_CONFIG.replace('requests_per_unit: 5 }', 'requests_per_unit: 7 }'));
    const { event } = await within(rg.sidecar.watcher.reload(), CALL_BOUND_MS, 'reload');
    expect(event.type).toBe('loaded');
    const answer = await rg.call(request('hard', [['k', 'after-corpus']]));
    expect(answer.statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 6 });
  });
});
