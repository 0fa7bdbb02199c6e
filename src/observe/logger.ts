import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  level?: string;
  /** `pretty`: human-readable lines through pino-pretty (an optional dependency); JSON otherwise. */
  format?: LogFormat;
  /** Where JSON lines go (default stdout); tests pass a stream to read them. */
  destination?: DestinationStream;
}

function isInstalled(module: string): boolean {
  try {
    createRequire(import.meta.url).resolve(module);
    return true;
  } catch {
    return false;
  }
}

/**
 * pino JSON logs. Redaction is a second line of defence: secrets are never passed to the logger
 * in the first place (URLs are logged without credentials, tokens not at all).
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = options.format === 'pretty' && isInstalled('pino-pretty');
  const config = {
    name: 'rateguard',
    level: options.level ?? 'info',
    redact: { paths: ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization'], censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty' } } : {}),
  };
  const logger = options.destination === undefined || pretty ? pino(config) : pino(config, options.destination);
  if (options.format === 'pretty' && !pretty) logger.warn('--log-format pretty needs the optional package pino-pretty; logging JSON');
  return logger;
}
