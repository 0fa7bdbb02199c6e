/** `--force-start-without-initial-config` with files: serve at once, UNAVAILABLE until a valid file loads. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Code } from '../../src/rls/codec.js';
import { request, startTestSidecar, type TestSidecar } from '../support/sidecar.js';

describe('--force-start-without-initial-config with a file config', () => {
  let rg: TestSidecar;
  beforeAll(async () => {
    rg = await startTestSidecar({ 'web.yaml': 'domain: web\ndescriptors: [ {key: ' }, ['--force-start-without-initial-config']);
  });
  afterAll(async () => {
    await rg.stop();
  });

  it('starts despite an invalid config and answers UNAVAILABLE until a valid one loads', async () => {
    const error = await rg.callError(request('web', [['user', 'a']]));
    expect([error.code, error.details]).toEqual([grpc.status.UNAVAILABLE, 'no rate limit configuration loaded']);
    writeFileSync(join(rg.dir, 'web.yaml'), 'domain: web\ndescriptors:\n  - key: user\n    rate_limit: {unit: minute, requests_per_unit: 2}\n');
    expect((await rg.sidecar.watcher.reload()).event.type).toBe('loaded');
    expect((await rg.call(request('web', [['user', 'a']]))).statuses[0]).toMatchObject({ code: Code.OK, limitRemaining: 1 });
  });
});
