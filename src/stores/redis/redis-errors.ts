/**
 * Redis failures named for what they are: a wrong password, a refused or lost connection and a
 * silent Redis read differently in logs, metrics and gRPC messages (docs/redis.md).
 */
import { StoreError, type StoreErrorKind } from '../store.js';
import { RedisSilentError } from './silence-watch.js';

/** ioredis' messages when it has no connection to write to (no offline queue, closed, refused...). */
const UNAVAILABLE =
  /Stream isn't writeable|Connection is closed|Cluster isn't ready|Cluster is ended|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|MaxRetriesPerRequest|max retries per request|CLUSTERDOWN|LOADING|MASTERDOWN|READONLY|Socket closed/;
/** Replies that mean the credentials are wrong or missing. */
const AUTH = /^(NOAUTH|WRONGPASS|NOPERM)|invalid password|invalid username-password/i;

/** What a connection-level error says, in words, for "not connected" messages. */
export function connectionProblem(error: Error): { kind: StoreErrorKind; text: string } {
  const code = (error as NodeJS.ErrnoException).code;
  if (AUTH.test(error.message)) return { kind: 'auth', text: `authentication failed (${error.message})` };
  if (code === 'ECONNREFUSED') return { kind: 'unavailable', text: `connection refused (${error.message.replace(/^connect ECONNREFUSED /, '')})` };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { kind: 'unavailable', text: `host not found (${error.message})` };
  if (code === 'ETIMEDOUT') return { kind: 'unavailable', text: `connect timed out (${error.message})` };
  return { kind: 'unavailable', text: error.message };
}

/**
 * A call's failure as a StoreError. `lastProblem` is the connection's latest error: it explains a
 * bare "not connected" from ioredis (refused? wrong password?).
 */
export function toStoreError(error: unknown, lastProblem: { kind: StoreErrorKind; text: string } | undefined): StoreError {
  if (error instanceof StoreError) return error;
  if (error instanceof RedisSilentError) return new StoreError('timeout', `redis: ${error.message}`, { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  if (AUTH.test(message)) return new StoreError('auth', `redis: authentication failed (${message})`, { cause: error });
  if (UNAVAILABLE.test(message)) {
    const why = lastProblem === undefined ? message : lastProblem.text;
    return new StoreError(lastProblem?.kind ?? 'unavailable', `redis: not connected: ${why}`, { cause: error });
  }
  return new StoreError('failed', `redis: ${message}`, { cause: error });
}
