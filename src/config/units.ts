/**
 * Units of the config file and their names in the RLS v3 proto
 * (`RateLimitResponse.RateLimit.Unit`: UNKNOWN=0, SECOND=1, MINUTE=2, HOUR=3, DAY=4, MONTH=5,
 * YEAR=6, WEEK=7). Config units are case-insensitive, as in envoyproxy/ratelimit.
 */
import { UNIT_SECONDS, type Unit } from '../engine/limit.js';
import { ResponseUnit } from '../rls/codec-types.js';

export type RateLimitUnitName = keyof typeof ResponseUnit;

export const UNIT_NAMES: readonly Unit[] = Object.freeze(Object.keys(UNIT_SECONDS) as Unit[]);

/** The proto enum number of each unit name (the wire's own table). */
export const UNIT_ENUM: Readonly<Record<RateLimitUnitName, number>> = ResponseUnit;

/** A config unit string (any case) to the engine unit, or undefined when unknown. */
export function parseUnit(text: string): Unit | undefined {
  const lower = text.toLowerCase();
  return Object.hasOwn(UNIT_SECONDS, lower) ? (lower as Unit) : undefined;
}

export function unitProtoName(unit: Unit): RateLimitUnitName {
  return unit.toUpperCase() as RateLimitUnitName;
}

/** The proto enum number (as sent in a request's limit override) to a unit; undefined for UNKNOWN/other. */
export function unitFromEnum(value: number): Unit | undefined {
  for (const [name, number] of Object.entries(UNIT_ENUM)) {
    if (number === value && name !== 'UNKNOWN') return name.toLowerCase() as Unit;
  }
  return undefined;
}
