import { ensureSystemPackages } from './system-packages.js';

/** Runs once before the suite: the tests need real redis-server binaries and Chromium, never mocks. */
export default function setup(): void {
  ensureSystemPackages();
}
