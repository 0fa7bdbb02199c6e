/** The config subsystem: loading with precise errors, matching, snapshots, watching. */
export { CONFIG_ERROR_CODES, formatConfigError, type ConfigError, type ConfigErrorCode, type Position } from './errors.js';
export { loadConfig, loadConfigSources, listConfigFiles, type ConfigSource, type LoadOptions, type LoadResult } from './load.js';
export { applyReplaces, findRule, matchDescriptor, metricKeyFor } from './match.js';
export { ConfigSnapshot, diffSnapshots, type LimitOverride, type SnapshotDiff, type SnapshotJson } from './snapshot.js';
export type { ConfiguredLimit, DescriptorEntry, DescriptorMatch, DescriptorRule, ResponseRateLimit } from './types.js';
export { parseUnit, UNIT_ENUM, unitFromEnum, unitProtoName, type RateLimitUnitName } from './units.js';
export { watchConfig, type ConfigEvent, type ConfigOrigin, type ConfigWatcher, type ReloadOutcome, type ReloadReason, type WatchOptions } from './watch.js';
export { watchXdsConfig, type XdsConnectionEvent, type XdsWatchOptions } from './xds-source.js';
export { backoffDelayMs, type BackoffPolicy } from './xds-backoff.js';
export { RULES, type Rule } from './rules.js';
