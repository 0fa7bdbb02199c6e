/** Child processes of the bench, killed if the bench process exits early (an error, Ctrl-C). */
import { type Child, spawnNode } from '../test/support/processes.js';

const running = new Set<Child>();
process.once('exit', () => {
  for (const child of running) child.process.kill('SIGKILL');
});

/** Starts a TypeScript entry point as a tracked child process. */
export function spawnTracked(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawnNode(file, args, env);
  running.add(child);
  void child.process.once('exit', () => running.delete(child));
  return child;
}
