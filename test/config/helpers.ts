import { formatConfigError } from '../../src/config/errors.js';
import { loadConfigSources, type LoadOptions } from '../../src/config/load.js';
import type { ConfigSnapshot } from '../../src/config/snapshot.js';
import type { DescriptorEntry } from '../../src/config/types.js';

/** Loads YAML text that must be valid; fails the test with the formatted errors otherwise. */
export function snapshotOf(text: string, options: LoadOptions = {}, file = 'test.yaml'): ConfigSnapshot {
  const result = loadConfigSources([{ file, text }], options);
  if (!result.ok) throw new Error(result.errors.map(formatConfigError).join('\n'));
  return result.config;
}

/** `entries('a', 'x', 'b', 'y')` → [{key:'a', value:'x'}, {key:'b', value:'y'}] */
export function entries(...pairs: string[]): DescriptorEntry[] {
  const out: DescriptorEntry[] = [];
  for (let i = 0; i < pairs.length; i += 2) out.push({ key: pairs[i] ?? '', value: pairs[i + 1] ?? '' });
  return out;
}

/** What a test usually wants to see of a match: rpu/unit of each limit, or undefined. */
export function limitsOf(snapshot: ConfigSnapshot, domain: string, ...pairs: string[]): string[] | undefined {
  const match = snapshot.match(domain, entries(...pairs));
  return match?.limits.map((l) => (l.unlimited ? 'unlimited' : `${l.rateLimit.requestsPerUnit}/${l.rateLimit.unit}`));
}
