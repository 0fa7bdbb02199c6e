/**
 * rateguard as its users run it: the compiled package (dist/, which `npm run bench` builds first),
 * typed by its sources. Bench code under load imports rateguard from here, never from src/ through
 * tsx, whose transform (kept function names, ...) would tax rateguard but not the peers it is
 * compared with, which load compiled JavaScript from node_modules.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/index.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) throw new Error('dist/ is missing: run `npm run build` (npm run bench does it first)');

export const rateguard = (await import(entry.href)) as typeof import('../src/index.js');
