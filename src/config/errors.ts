/**
 * Config errors: one typed list per load, never thrown for bad input. Every error carries a stable
 * code (for tests, metrics and docs), the file, the 1-based line (0 when the problem has no line,
 * e.g. an unreadable file) and the path inside the document (`descriptors[1].rate_limit.unit`).
 */

/** Every code a load can report. docs/config.md lists them with an example each. */
export const CONFIG_ERROR_CODES = [
  'RG_CONFIG_READ_FAILED',
  'RG_CONFIG_NO_FILES',
  'RG_CONFIG_YAML_SYNTAX',
  'RG_CONFIG_DUPLICATE_YAML_KEY',
  'RG_CONFIG_EMPTY_FILE',
  'RG_CONFIG_UNKNOWN_KEY',
  'RG_CONFIG_WRONG_TYPE',
  'RG_CONFIG_MISSING_KEY',
  'RG_CONFIG_EMPTY_DOMAIN',
  'RG_CONFIG_DUPLICATE_DOMAIN',
  'RG_CONFIG_EMPTY_KEY',
  'RG_CONFIG_DUPLICATE_DESCRIPTOR',
  'RG_CONFIG_BAD_REQUESTS_PER_UNIT',
  'RG_CONFIG_UNKNOWN_UNIT',
  'RG_CONFIG_UNLIMITED_WITH_LIMIT',
  'RG_CONFIG_UNLIMITED_IN_LIST',
  'RG_CONFIG_RATE_LIMIT_CONFLICT',
  'RG_CONFIG_EMPTY_RATE_LIMITS',
  'RG_CONFIG_DUPLICATE_LIMIT',
  'RG_CONFIG_UNKNOWN_ALGORITHM',
  'RG_CONFIG_BAD_CAPACITY',
  'RG_CONFIG_BAD_OVERDRAFT',
  'RG_CONFIG_DUPLICATE_LIMIT_NAME',
  'RG_CONFIG_EMPTY_REPLACES_NAME',
  'RG_CONFIG_REPLACES_SELF',
  'RG_CONFIG_UNKNOWN_REPLACES',
  'RG_CONFIG_REPLACES_CYCLE',
  'RG_CONFIG_SHARE_THRESHOLD_NOT_WILDCARD',
] as const;

export type ConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

export interface ConfigError {
  readonly code: ConfigErrorCode;
  readonly file: string;
  /** 1-based; 0 when the error is about the file or the load as a whole. */
  readonly line: number;
  /** Path inside the YAML document, e.g. `descriptors[0].rate_limit.unit`; '' for the whole file. */
  readonly path: string;
  readonly message: string;
}

/** Where a node sits: enough to build a ConfigError for it. */
export interface Position {
  readonly file: string;
  readonly line: number;
  readonly path: string;
}

export function configError(code: ConfigErrorCode, at: Position, message: string): ConfigError {
  return Object.freeze({ code, file: at.file, line: at.line, path: at.path, message });
}

/** `config/api.yaml:12: descriptors[1].rate_limit.unit: unknown unit "minutes" (...)` */
export function formatConfigError(error: ConfigError): string {
  const where = error.line > 0 ? `${error.file}:${error.line}` : error.file;
  return error.path === '' ? `${where}: ${error.message}` : `${where}: ${error.path}: ${error.message}`;
}

/** Errors in reading order: by file, then line, then path. */
export function sortConfigErrors(errors: readonly ConfigError[]): ConfigError[] {
  return [...errors].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
