/**
 * What the response needs of a configured limit, in wire form: its `current_limit` and its header
 * policy. Built once per limit object (snapshots are immutable and their limits shared), so a
 * request only looks them up.
 */
import type { ConfiguredLimit } from '../config/index.js';
import { UNIT_ENUM } from '../config/units.js';
import { quotaPolicy, type QuotaPolicy } from './rate-limit-headers.js';
import type { CurrentLimit } from '../rls/codec.js';

export interface LimitView {
  readonly currentLimit: CurrentLimit;
  /** Undefined for an unlimited limit (no quota to advertise). */
  readonly policy: QuotaPolicy | undefined;
}

const views = new WeakMap<ConfiguredLimit, LimitView>();

/** The limit's name in headers: its config `name`, else its place in the config (`domain.key_value`). */
function policyName(limit: ConfiguredLimit): string {
  return limit.name ?? limit.fingerprint.slice(0, limit.fingerprint.lastIndexOf('['));
}

export function limitView(limit: ConfiguredLimit): LimitView {
  let view = views.get(limit);
  if (view === undefined) {
    const { name, requestsPerUnit, unit } = limit.rateLimit;
    view = Object.freeze({
      currentLimit: Object.freeze({ name, requestsPerUnit, unit: UNIT_ENUM[unit] }),
      policy: limit.limit === undefined ? undefined : quotaPolicy(policyName(limit), limit.limit),
    });
    views.set(limit, view);
  }
  return view;
}
