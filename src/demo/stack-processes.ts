/**
 * Child processes for `npm run demo:stack`: started with piped output, awaited until they print the
 * line that says they serve, stopped with SIGTERM. Their warnings and errors reach the terminal.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface StackProcess {
  readonly label: string;
  readonly child: ChildProcessWithoutNullStreams;
  /** Resolves when the process exits (with its code or signal). */
  readonly exited: Promise<string>;
  stop(): Promise<void>;
}

/** Of the JSON lines pino writes, warn and above (level >= 40) are worth showing; Redis' chatter is not. */
function forwardWorthShowing(label: string, line: string): void {
  const level = /^\{.*"level":(\d+)/.exec(line)?.[1];
  if (level !== undefined && Number(level) >= 40) process.stderr.write(`[${label}] ${line}\n`);
}

/**
 * Spawns a process and resolves once a stdout line matches `ready` (with that line), or rejects
 * with the tail of its stderr when it exits first or takes longer than `timeoutMs`.
 */
export function startProcess(label: string, command: string, args: readonly string[], ready: RegExp, env: NodeJS.ProcessEnv = {}) {
  // Generous: on a busy laptop a Node process can take seconds to load.
  const timeoutMs = 60_000;
  const child = spawn(command, args, { stdio: 'pipe', env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
    process.stderr.write(`[${label}] ${chunk.toString()}`);
  });
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? String(code)));
    child.once('error', (error) => resolve(error.message));
  });
  const process_: StackProcess = {
    label,
    child,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  const line = new Promise<string>((resolve, reject) => {
    let waiting = true;
    const timer = setTimeout(() => reject(new Error(`${label}: not ready within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    createInterface({ input: child.stdout }).on('line', (text) => {
      if (waiting && ready.test(text)) {
        waiting = false;
        clearTimeout(timer);
        resolve(text);
      } else {
        forwardWorthShowing(label, text);
      }
    });
    void exited.then((how) => {
      clearTimeout(timer);
      if (waiting) reject(new Error(`${label} exited (${how}) before it was ready; stderr: ${stderr}`));
    });
  });
  return { process: process_, line };
}

/** Node with this process's loader flags (tsx when run from source), for a sibling entry point. */
export function nodeEntry(relativeToThisDir: string): { command: string; args: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const file = fileURLToPath(new URL(fromSource ? relativeToThisDir.replace(/\.js$/, '.ts') : relativeToThisDir, import.meta.url));
  return { command: process.execPath, args: [...process.execArgv, file] };
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
