/**
 * Programmer-facing option errors: thrown once, when a limiter or store is built from bad options,
 * never on the request path. Each carries a stable code so docs and tests can name it.
 */
export type OptionErrorCode = 'RG_OPTION_NOT_POSITIVE' | 'RG_OPTION_NOT_INTEGER' | 'RG_OPTION_WRONG_TYPE' | 'RG_OPTION_BAD_NAME' | 'RG_OPTION_UNKNOWN';

export class OptionError extends TypeError {
  override readonly name = 'OptionError';
  constructor(
    readonly code: OptionErrorCode,
    readonly option: string,
    message: string,
  ) {
    super(`rateguard: option "${option}": ${message} [${code}]`);
  }
}

export function requirePositiveNumber(option: string, value: unknown): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new OptionError('RG_OPTION_WRONG_TYPE', option, `must be a number, got ${typeof value}`);
  }
  if (!(value > 0) || !Number.isFinite(value)) throw new OptionError('RG_OPTION_NOT_POSITIVE', option, `must be a finite number > 0, got ${value}`);
  return value;
}

export function requireFunction<F>(option: string, value: unknown): F {
  if (typeof value !== 'function') throw new OptionError('RG_OPTION_WRONG_TYPE', option, `must be a function, got ${typeof value}`);
  return value as F;
}

export function requireOneOf<T extends string | boolean>(option: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) {
    throw new OptionError('RG_OPTION_WRONG_TYPE', option, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** Rejects option names that are not known: a typo such as `requestPerMinute` must not pass silently. */
export function rejectUnknownOptions(given: object, known: readonly string[]): void {
  for (const name of Object.keys(given)) {
    if (!known.includes(name)) throw new OptionError('RG_OPTION_UNKNOWN', name, `is not an option (known: ${known.join(', ')})`);
  }
}
