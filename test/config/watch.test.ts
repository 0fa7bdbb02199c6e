import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchConfig, type ConfigEvent, type ConfigWatcher } from '../../src/config/watch.js';
import { ConfigMapDir } from './configmap.js';
import { limitsOf } from './helpers.js';

const config = (rpu: number): string => `domain: api\ndescriptors:\n  - key: user\n    rate_limit: {unit: second, requests_per_unit: ${rpu}}\n`;

/** Events as a queue the test awaits: no sleeps, the test proceeds when the watcher speaks. */
class EventQueue {
  private readonly events: ConfigEvent[] = [];
  private readonly waiting: ((event: ConfigEvent) => void)[] = [];

  readonly push = (event: ConfigEvent): void => {
    const waiter = this.waiting.shift();
    if (waiter !== undefined) waiter(event);
    else this.events.push(event);
  };

  next(): Promise<ConfigEvent> {
    const event = this.events.shift();
    if (event !== undefined) return Promise.resolve(event);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  get pending(): number {
    return this.events.length;
  }
}

function rpuOf(event: ConfigEvent): string[] | undefined {
  return event.type === 'loaded' ? limitsOf(event.snapshot, 'api', 'user', 'u') : undefined;
}

let dir: string;
let watcher: ConfigWatcher | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rateguard-watch-'));
});
afterEach(async () => {
  await watcher?.close();
  watcher = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('watchConfig', () => {
  it('loads, then reloads when a file of the directory is edited', async () => {
    await writeFile(join(dir, 'api.yaml'), config(1));
    const events = new EventQueue();
    watcher = await watchConfig({ path: dir, onEvent: events.push, debounceMs: 20 });
    const initial = await events.next();
    expect(initial.reason).toBe('initial');
    expect(rpuOf(initial)).toEqual(['1/SECOND']);
    await writeFile(join(dir, 'api.yaml'), config(2));
    const changed = await events.next();
    expect(changed.reason).toBe('change');
    expect(rpuOf(changed)).toEqual(['2/SECOND']);
    expect(watcher.current).toBe(changed.type === 'loaded' ? changed.snapshot : undefined);
  });

  it('follows a ConfigMap ..data symlink swap', async () => {
    const map = await ConfigMapDir.create({ 'api.yaml': config(1) });
    try {
      const events = new EventQueue();
      watcher = await watchConfig({ path: map.dir, onEvent: events.push, debounceMs: 20 });
      expect(rpuOf(await events.next())).toEqual(['1/SECOND']);
      await map.update({ 'api.yaml': config(7) });
      expect(rpuOf(await events.next())).toEqual(['7/SECOND']);
      await map.update({ 'api.yaml': config(8) });
      expect(rpuOf(await events.next())).toEqual(['8/SECOND']);
    } finally {
      await watcher?.close();
      await map.remove();
    }
  });

  it('rejects a broken config whole and keeps the last good snapshot', async () => {
    await writeFile(join(dir, 'api.yaml'), config(1));
    const events = new EventQueue();
    watcher = await watchConfig({ path: dir, onEvent: events.push, debounceMs: 20 });
    const initial = await events.next();
    await writeFile(join(dir, 'api.yaml'), 'domain: api\ndescriptors: [\n');
    const rejected = await events.next();
    expect(rejected.type).toBe('rejected');
    expect(rejected.type === 'rejected' && rejected.errors.map((e) => e.code)).toEqual(['RG_CONFIG_YAML_SYNTAX']);
    expect(watcher.current).toBe(initial.type === 'loaded' ? initial.snapshot : 'not loaded');
    // Fixing it loads again.
    await writeFile(join(dir, 'api.yaml'), config(3));
    expect(rpuOf(await events.next())).toEqual(['3/SECOND']);
  });

  it('watches a single file through atomic replacement (editor-style rename)', async () => {
    const file = join(dir, 'api.yaml');
    await writeFile(file, config(1));
    const events = new EventQueue();
    watcher = await watchConfig({ path: file, onEvent: events.push, debounceMs: 20 });
    expect(rpuOf(await events.next())).toEqual(['1/SECOND']);
    await writeFile(join(dir, '.api.yaml.swp'), config(4));
    await rename(join(dir, '.api.yaml.swp'), file);
    expect(rpuOf(await events.next())).toEqual(['4/SECOND']);
  });

  it('reload() of unchanged files reports the last load without emitting it again; a failed first load leaves no snapshot', async () => {
    const events = new EventQueue();
    watcher = await watchConfig({ path: join(dir, 'missing.yaml'), onEvent: events.push, debounceMs: 20 });
    const first = await events.next();
    expect(first.type === 'rejected' && first.errors.map((e) => e.code)).toEqual(['RG_CONFIG_READ_FAILED']);
    expect(watcher.current).toBeUndefined();
    const stillMissing = await watcher.reload();
    expect(stillMissing).toEqual({ event: first, changed: false });
    await writeFile(join(dir, 'missing.yaml'), config(5));
    // The reload or the directory watch loads the new file first; either way it is emitted once.
    const reloaded = await watcher.reload();
    const emitted = await events.next();
    expect(rpuOf(emitted)).toEqual(['5/SECOND']);
    expect(reloaded.event).toBe(emitted);
    expect(await watcher.reload()).toEqual({ event: emitted, changed: false });
    await watcher.close();
    expect(events.pending).toBe(0);
  });

  it('close() is idempotent and stops further events', async () => {
    await writeFile(join(dir, 'api.yaml'), config(1));
    const events = new EventQueue();
    watcher = await watchConfig({ path: dir, onEvent: events.push, debounceMs: 20 });
    await events.next();
    await watcher.close();
    await watcher.close();
    await writeFile(join(dir, 'api.yaml'), config(2));
    // A reload after close still answers its caller, but emits nothing and keeps `current`.
    const before = watcher.current;
    const { event } = await watcher.reload();
    expect(rpuOf(event)).toEqual(['2/SECOND']);
    expect(watcher.current).toBe(before);
    expect(events.pending).toBe(0);
  });
});
