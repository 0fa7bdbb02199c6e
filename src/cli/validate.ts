import { formatConfigError, loadConfig } from '../config/index.js';
import { resolveSettings } from '../settings/settings.js';

/** `rateguard validate PATH`: 0 for a good config (with a summary), 1 with every problem listed. */
export async function validate(argv: readonly string[]): Promise<number> {
  const resolved = resolveSettings(argv, {});
  if (!resolved.ok || resolved.rest.length !== 1) {
    console.error('usage: rateguard validate PATH [--default-algorithm token_bucket|fixed_window]');
    if (!resolved.ok) for (const error of resolved.errors) console.error(error);
    return 2;
  }
  const path = resolved.rest[0]!;
  const result = await loadConfig(path, { defaultAlgorithm: resolved.settings.defaultAlgorithm });
  if (!result.ok) {
    for (const error of result.errors) console.error(`${formatConfigError(error)} [${error.code}]`);
    console.error(`${path}: ${result.errors.length} problem(s); config rejected`);
    return 1;
  }
  const domains = [...result.config.domains.keys()];
  console.log(`${path}: OK — ${domains.length} domain(s) (${domains.join(', ')}), ${result.config.limits().length} limit(s) in ${result.files.length} file(s)`);
  return 0;
}
