/** Rewrites the options table between the README's markers from src/settings/settings.ts. */
import { readFileSync, writeFileSync } from 'node:fs';
import { settingsTable } from '../src/settings/settings.js';

const README = new URL('../README.md', import.meta.url);
const text = readFileSync(README, 'utf8');
const updated = text.replace(/(<!-- options:start -->\n)[\s\S]*?(<!-- options:end -->)/, `$1${settingsTable()}\n$2`);
writeFileSync(README, updated);
console.log(updated === text ? 'README options table already up to date' : 'README options table updated');
