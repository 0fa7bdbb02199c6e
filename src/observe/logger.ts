import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: string;
  /** Human-readable output (pino-pretty must be installed); JSON otherwise. */
  pretty?: boolean;
}

/**
 * pino JSON logs. Redaction is a second line of defence: secrets are never passed to the logger
 * in the first place (URLs are logged without credentials).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino({
    name: 'rateguard',
    level: options.level ?? 'info',
    redact: { paths: ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization'], censor: '[redacted]' },
    ...(options.pretty === true ? { transport: { target: 'pino-pretty' } } : {}),
  });
}
