/**
 * Reloading on change. Watches directories, never single files: editors and Kubernetes replace
 * files by rename, and a ConfigMap mount updates by atomically renaming a new `..data` symlink over
 * the old one inside the mounted directory, which a watch on `x.yaml` never sees. So the watcher
 * observes the config directory (or the file's directory), plus the directories the loaded files
 * really live in (re-resolved after every load, so a swapped `..data` target is followed), and on any
 * event reloads after a short debounce. A reload whose files are byte-identical to the last one
 * emits nothing (SIGHUP included: no log line, no config_load counter); a bad config is rejected
 * whole and the last good snapshot stays current.
 */
import { watch, type FSWatcher } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { ConfigError } from './errors.js';
import { loadConfig, type LoadOptions, type LoadResult } from './load.js';
import type { ConfigSnapshot } from './snapshot.js';

/** `push`: a config the xDS server sent. */
export type ReloadReason = 'initial' | 'change' | 'reload' | 'push';

/** Where configs come from, and which version is being served (a file config's digest). */
export interface ConfigOrigin {
  readonly source: 'file' | 'xds';
  /** The config path, or the xDS server's address. */
  readonly location: string;
  readonly version: string | undefined;
}

interface ConfigEventFacts {
  readonly reason: ReloadReason;
  readonly source: ConfigOrigin['source'];
  /** The xDS response's version_info; a file load's digest. */
  readonly version: string | undefined;
}

export type ConfigEvent =
  | ({ readonly type: 'loaded'; readonly snapshot: ConfigSnapshot } & ConfigEventFacts)
  | ({ readonly type: 'rejected'; readonly errors: readonly ConfigError[] } & ConfigEventFacts);

/** What a reload found: the event for the files as they are now, and whether it was emitted. */
export interface ReloadOutcome {
  readonly event: ConfigEvent;
  /** False when the files were byte-identical to the last load: `event` is that load's, not emitted again. */
  readonly changed: boolean;
}

export interface WatchOptions extends LoadOptions {
  /** A config file or directory. */
  readonly path: string;
  /** Called for the initial load and every reload that changed something. */
  readonly onEvent: (event: ConfigEvent) => void;
  /** Quiet time after the last filesystem event before reloading; default 100 ms. */
  readonly debounceMs?: number;
}

export interface ConfigWatcher {
  /** The last good snapshot; undefined only when the initial load failed and none succeeded since. */
  readonly current: ConfigSnapshot | undefined;
  readonly origin: ConfigOrigin;
  /**
   * Reloads now (SIGHUP) and reports the outcome; files unchanged since the last load emit nothing.
   * After `close()` it still resolves with the outcome, without emitting it or changing `current`.
   */
  reload(): Promise<ReloadOutcome>;
  /** Stops watching; pending timers are cleared. Idempotent. */
  close(): Promise<void>;
}

class DirectoryWatcher implements ConfigWatcher {
  current: ConfigSnapshot | undefined;
  /** The last load's event (its version is the files' digest): what an unchanged reload reports. */
  private last: ConfigEvent | undefined;
  private readonly watchers = new Map<string, FSWatcher>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Loads run one at a time, in order. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: WatchOptions) {}

  get origin(): ConfigOrigin {
    return { source: 'file', location: this.options.path, version: this.current?.digest };
  }

  async reload(): Promise<ReloadOutcome> {
    const outcome = await this.enqueue('reload');
    // The queue runs loads only; a reload's load always yields an outcome.
    return outcome!;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    await this.queue.catch(() => undefined);
  }

  enqueue(reason: ReloadReason): Promise<ReloadOutcome | undefined> {
    const run = this.queue.then(() => this.load(reason));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.enqueue('change');
    }, this.options.debounceMs ?? 100);
    // A pending reload must not keep the process alive on its own.
    this.timer.unref();
  }

  private async load(reason: ReloadReason): Promise<ReloadOutcome | undefined> {
    if (this.closed && reason !== 'reload') return undefined;
    const result = await loadConfig(this.options.path, this.options);
    if (!this.closed) await this.syncWatchers(result);
    if (this.last !== undefined && result.digest === this.last.version) return { event: this.last, changed: false };
    const event: ConfigEvent = result.ok
      ? { type: 'loaded', snapshot: result.config, reason, source: 'file', version: result.digest }
      : { type: 'rejected', errors: result.errors, reason, source: 'file', version: result.digest };
    // After close() a reload still answers its caller, but the watcher no longer changes or speaks.
    if (this.closed) return { event, changed: true };
    this.last = event;
    if (result.ok) this.current = result.config;
    this.options.onEvent(event);
    return { event, changed: true };
  }

  /** The directories whose events can change the config, re-resolved after each load. */
  private async directoriesToWatch(result: LoadResult): Promise<Set<string>> {
    const path = resolve(this.options.path);
    const dirs = new Set<string>();
    const add = async (make: () => Promise<string>): Promise<void> => {
      try {
        dirs.add(await make());
      } catch {
        // Gone between the load and now: the next event re-syncs.
      }
    };
    await add(async () => ((await stat(path)).isDirectory() ? path : dirname(path)));
    // A symlinked root (RUNTIME_ROOT style `current -> v2`) is swapped in its parent directory.
    await add(async () => ((await lstat(path)).isSymbolicLink() ? dirname(path) : Promise.reject(new Error('not a link'))));
    for (const file of result.files) await add(async () => dirname(await realpath(file)));
    return dirs;
  }

  private async syncWatchers(result: LoadResult): Promise<void> {
    const wanted = await this.directoriesToWatch(result);
    if (this.closed) return;
    for (const [dir, w] of this.watchers) {
      if (!wanted.has(dir)) {
        w.close();
        this.watchers.delete(dir);
      }
    }
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      try {
        // persistent: false: watching alone never keeps the process alive.
        const w = watch(dir, { persistent: false }, () => this.schedule());
        w.on('error', () => {
          // The directory went away (an old ConfigMap generation): drop it and look again.
          w.close();
          if (this.watchers.get(dir) === w) this.watchers.delete(dir);
          this.schedule();
        });
        this.watchers.set(dir, w);
      } catch {
        // Vanished since it was resolved; the next load re-resolves.
      }
    }
  }
}

/** Loads the config at `options.path`, emits the outcome, then keeps watching until `close()`. */
export async function watchConfig(options: WatchOptions): Promise<ConfigWatcher> {
  const watcher = new DirectoryWatcher(options);
  await watcher.enqueue('initial');
  return watcher;
}
