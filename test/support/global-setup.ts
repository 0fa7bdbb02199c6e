import { ensureRedisInstalled } from './redis-install.js';

/** Runs once before the suite: the tests need real redis-server binaries, never mocks. */
export default function setup(): void {
  ensureRedisInstalled();
}
