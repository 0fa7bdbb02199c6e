/**
 * The Dockerfile's steps replayed without Docker: the build context as .dockerignore leaves it,
 * the build stage's own RUN line (compile, npm pack, unpack), the deps stage's `npm ci` with
 * production dependencies only, then the runtime's ENTRYPOINT + CMD started from that folder alone —
 * healthy, answering gRPC, passing its HEALTHCHECK command, stopping cleanly on SIGTERM. Proves the
 * image needs no dev dependency and no file the pack leaves out.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Code, RateLimitServiceClient, shouldRateLimit } from '../../src/rls/codec.js';
import { type Json, REPO, readRepoText, repoFile } from './deploy-files.js';
import { execForm, instructionsOf, readDockerfile } from './dockerfile.js';

const dockerfile = readDockerfile();
const stage = (name: string | undefined) => dockerfile.stages.find((s) => s.name === name)!;
const root = mkdtempSync(join(tmpdir(), 'rg-image-'));
const app = join(root, 'app');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A Dockerfile RUN line with the image's absolute /tmp and /app pointed into this test's folder. */
const localize = (command: string) => command.replace(/(^|\s)\/(tmp|app)(?=[\s/]|$)/g, `$1${root}/$2`);

function sh(command: string, cwd: string): string {
  return execFileSync('sh', ['-c', command], {
    cwd,
    encoding: 'utf8',
    stdio: 'pipe',
    timeout: 120_000,
    // From npm's cache only: installing this repository (npm ci, as .ci/run does) put every package
    // there, and the lockfile names no download addresses that would send npm to the registry anyway.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, npm_config_offline: 'true', npm_config_update_notifier: 'false' },
  });
}

/** `.dockerignore` patterns (top-level names and * globs), as the context copy below applies them. */
function ignoredByDocker(): RegExp[] {
  return readRepoText('.dockerignore')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((pattern) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`));
}

const filesUnder = (dir: string, suffix: string) =>
  readdirSync(join(REPO, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith(suffix))
    .map((f) => join(REPO, dir, f));

/** dist/ has a .js for every source file, and each was written after the newest source file. */
function builtFromCurrentSources(): boolean {
  if (!existsSync(join(REPO, 'dist'))) return false;
  const sources = filesUnder('src', '.ts');
  const newestSource = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  return sources.every((f) => {
    const output = f.replace(join(REPO, 'src'), join(REPO, 'dist')).replace(/\.ts$/, '.js');
    return existsSync(output) && statSync(output).mtimeMs >= newestSource;
  });
}

beforeAll(() => {
  // Build context: the repository minus what .dockerignore drops.
  const context = join(root, 'context');
  const ignored = ignoredByDocker();
  for (const name of readdirSync(REPO)) {
    if (!ignored.some((pattern) => pattern.test(name))) cpSync(join(REPO, name), join(context, name), { recursive: true });
  }
  mkdirSync(join(root, 'tmp'));
  // Build stage. Its first RUN (npm ci with dev dependencies) is stood in for by the repository's own
  // node_modules; the second — compile, pack, unpack — runs as written, except that the compile's
  // output is taken from the repository when `npm run build` there is already newer than src/
  // (as under `npm test`, which builds first): the same files, without compiling twice.
  const build = instructionsOf(stage('build'), 'RUN');
  expect(build[0]).toBe('npm ci --ignore-scripts --no-audit --no-fund');
  const [compile, ...pack] = build[1]!.split(' && ');
  expect(compile).toBe('npm run build');
  symlinkSync(join(REPO, 'node_modules'), join(context, 'node_modules'), 'dir');
  if (builtFromCurrentSources()) cpSync(join(REPO, 'dist'), join(context, 'dist'), { recursive: true });
  else sh(compile!, context);
  sh(localize(pack.join(' && ')), context);
  // Deps stage: production dependencies only.
  for (const command of instructionsOf(stage('deps'), 'RUN')) sh(localize(command), app);
}, 180_000);

it('holds the packed files and exactly the production dependency tree of the lockfile', () => {
  expect(readdirSync(app).sort()).toEqual(expect.arrayContaining(['config', 'dist', 'lua', 'node_modules', 'package-lock.json', 'package.json', 'proto']));
  expect(existsSync(join(app, 'src'))).toBe(false);
  expect(existsSync(join(app, 'test'))).toBe(false);
  const lock = JSON.parse(readFileSync(repoFile('package-lock.json'), 'utf8')) as { packages: Record<string, Json> };
  const installed = Object.entries(lock.packages).filter(([path]) => path.startsWith('node_modules/'));
  const devOnly = installed.filter(([, meta]) => meta.dev === true).map(([path]) => path);
  const production = installed.filter(([, meta]) => meta.dev !== true && meta.optional !== true && meta.devOptional !== true).map(([path]) => path);
  expect(devOnly.length).toBeGreaterThan(0);
  expect(devOnly.filter((path) => existsSync(join(app, path)))).toEqual([]);
  expect(production.filter((path) => !existsSync(join(app, path)))).toEqual([]);
});

/** Starts `command args` in the image's /app folder (this test's copy) and waits until it serves. */
async function startServing(command: string, args: readonly string[]) {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, NODE_ENV: 'production', GRPC_PORT: '0', HTTP_PORT: '0', DEBUG_PORT: '0', HOST: '127.0.0.1' };
  const child = spawn(command, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const serving = await new Promise<{ grpcPort: number; httpPort: number; pid: number }>((resolve, reject) => {
    const late = setTimeout(() => reject(new Error(`not serving after 30 s: ${output}`)), 30_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      output += `${line}\n`;
      if (!line.includes('"msg":"rateguard serving"')) return;
      clearTimeout(late);
      resolve(JSON.parse(line) as { grpcPort: number; httpPort: number; pid: number });
    });
    void exited.then((code) => {
      clearTimeout(late);
      reject(new Error(`exited ${code} before serving: ${output}`));
    });
  });
  return {
    ...serving,
    env,
    /** SIGTERM to the service itself (the pid it logged: `command` may be a wrapper), then its exit code. */
    async stop(): Promise<number | null> {
      process.kill(serving.pid, 'SIGTERM');
      return exited;
    },
  };
}

it('the runtime ENTRYPOINT + CMD serve from that folder alone: healthy, answering, HEALTHCHECK passing, SIGTERM exits 0', async () => {
  const runtime = stage(undefined);
  const [node, ...entrypoint] = execForm(instructionsOf(runtime, 'ENTRYPOINT')[0]!);
  expect(node).toBe('node');
  const serving = await startServing(process.execPath, [...entrypoint, ...execForm(instructionsOf(runtime, 'CMD')[0]!)]);
  try {
    const health = await fetch(`http://127.0.0.1:${serving.httpPort}/healthcheck`);
    expect([health.status, await health.text()]).toEqual([200, 'OK']);

    const [, ...check] = execForm(instructionsOf(runtime, 'HEALTHCHECK')[0]!);
    expect(() =>
      execFileSync(process.execPath, check, { cwd: app, env: { ...serving.env, HTTP_PORT: String(serving.httpPort) }, timeout: 10_000 }),
    ).not.toThrow();

    const client = new RateLimitServiceClient(`127.0.0.1:${serving.grpcPort}`, grpc.credentials.createInsecure());
    try {
      const answer = await shouldRateLimit(
        client,
        { domain: 'rateguard-demo', descriptors: [{ entries: [{ key: 'remote_address', value: '192.0.2.1' }] }], hitsAddend: 0 },
        { deadline: Date.now() + 5000 },
      );
      expect(answer.overallCode).toBe(Code.OK);
      expect(answer.statuses[0]?.currentLimit?.requestsPerUnit).toBe(60);
    } finally {
      client.close();
    }
  } finally {
    expect(await serving.stop()).toBe(0);
  }
}, 60_000);

it('runs as UID 65534 and writes no file (a read-only root filesystem, as Envoy Gateway runs it)', async () => {
  if (process.getuid?.() !== 0) throw new Error('this test switches to UID 65534 with setpriv: run the suite as root (CI does)');
  // mkdtemp made the folder 0700; the image's /app is world-readable, as this copy's files are.
  chmodSync(root, 0o755);
  const runtime = stage(undefined);
  const [, ...entrypoint] = execForm(instructionsOf(runtime, 'ENTRYPOINT')[0]!);
  const trace = join(root, 'file-calls.log');
  const fileCalls = 'trace=open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,truncate,ftruncate';
  const asNobody = [
    'setpriv',
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    process.execPath,
    ...entrypoint,
    ...execForm(instructionsOf(runtime, 'CMD')[0]!),
  ];
  const serving = await startServing('strace', ['-f', '-qq', '-e', fileCalls, '-o', trace, ...asNobody]);
  try {
    expect((await fetch(`http://127.0.0.1:${serving.httpPort}/healthcheck`)).status).toBe(200);
  } finally {
    expect(await serving.stop()).toBe(0);
  }
  const calls = readFileSync(trace, 'utf8').split('\n');
  expect(calls.filter((call) => call.includes('openat(')).length).toBeGreaterThan(100); // it did trace the service
  const writes = calls.filter((call) => /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|mkdir|rename|unlink|truncate/.test(call) && !/"\/dev\//.test(call));
  expect(writes).toEqual([]);
}, 60_000);

it("has envoyproxy/ratelimit's /bin/ratelimit, which serves (the command Envoy Gateway forces)", async () => {
  const copy = instructionsOf(stage(undefined), 'COPY').find((args) => args.endsWith(' /bin/ratelimit'));
  expect(copy).toBe('--chmod=755 scripts/ratelimit /bin/ratelimit');
  // The script as the image holds it, with /app pointed at this test's copy of the image's /app.
  const script = join(root, 'ratelimit');
  writeFileSync(script, localize(readRepoText('scripts/ratelimit')));
  const serving = await startServing('sh', [script]);
  expect((await fetch(`http://127.0.0.1:${serving.httpPort}/healthcheck`)).status).toBe(200);
  expect(await serving.stop()).toBe(0);
}, 60_000);
