import { formatConfigError, loadConfig } from '../config/index.js';
import { resolveSettings } from '../settings/settings.js';

export const VALIDATE_USAGE = 'usage: rateguard validate PATH [--default-algorithm token_bucket|fixed_window]';

/** `rateguard validate PATH`: 0 for a good config (with a summary), 1 with every problem listed. */
export async function validate(argv: readonly string[]): Promise<number> {
  const resolved = resolveSettings(argv, {});
  const problems = !resolved.ok
    ? resolved.errors
    : resolved.rest.length === 0
      ? ['give the config PATH (a file or a directory)']
      : resolved.rest.length > 1
        ? [`one PATH only, got ${resolved.rest.length}: ${resolved.rest.join(' ')}`]
        : [];
  if (!resolved.ok || problems.length > 0) {
    for (const problem of problems) console.error(`rateguard validate: ${problem}`);
    console.error(VALIDATE_USAGE);
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
