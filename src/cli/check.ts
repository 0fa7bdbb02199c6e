import * as grpc from '@grpc/grpc-js';
import { parseArgs } from 'node:util';
import { Code, RateLimitServiceClient, type RateLimitRequest, responseToJson, shouldRateLimit } from '../rls/codec.js';

export const CHECK_USAGE = `usage: rateguard check --addr HOST:PORT --domain D --descriptor k=v[,k2=v2] [--descriptor ...] [--hits N] [--timeout MS]
exit status: 0 OK, 3 OVER_LIMIT, 1 the call failed, 2 bad arguments`;

/** `check`'s exit status when the answer is OVER_LIMIT: scripts can tell it from an error. */
export const OVER_LIMIT_EXIT = 3;

/** `k=v,k2=v2` → entries (a value may contain `=`; entries are separated by commas). */
export function parseDescriptor(text: string): { key: string; value: string }[] | string {
  const entries = [];
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return `descriptor entry "${part}" is not key=value`;
    entries.push({ key: part.slice(0, eq), value: part.slice(eq + 1) });
  }
  return entries;
}

/** The options, or undefined (the reason printed) when they do not parse. */
function parseCheckArgs(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      options: {
        addr: { type: 'string', default: 'localhost:8081' },
        domain: { type: 'string' },
        descriptor: { type: 'string', multiple: true },
        hits: { type: 'string', default: '0' },
        timeout: { type: 'string', default: '2000' },
      },
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n${CHECK_USAGE}`);
    return undefined;
  }
}

/** `rateguard check`: one ShouldRateLimit call, the response printed as proto3 JSON (a grpcurl for this API). */
export async function check(argv: readonly string[]): Promise<number> {
  const values = parseCheckArgs(argv);
  if (values === undefined) return 2;
  const usage = (problem: string) => {
    console.error(`${problem}\n${CHECK_USAGE}`);
    return 2;
  };
  const domain = values.domain;
  if (domain === undefined) return usage('--domain is required');
  const descriptors = (values.descriptor ?? []).map(parseDescriptor);
  if (descriptors.length === 0) return usage('give at least one --descriptor k=v');
  const bad = descriptors.find((d): d is string => typeof d === 'string');
  if (bad !== undefined) return usage(bad);
  if (!/^\d+$/.test(values.hits)) return usage(`--hits must be a whole number, got "${values.hits}"`);
  if (!/^\d+$/.test(values.timeout)) return usage(`--timeout must be a whole number of ms, got "${values.timeout}"`);
  const request: RateLimitRequest = {
    domain,
    descriptors: descriptors.map((entries) => ({ entries: entries as { key: string; value: string }[] })),
    hitsAddend: Number(values.hits),
  };
  const client = new RateLimitServiceClient(values.addr, grpc.credentials.createInsecure());
  try {
    const response = await shouldRateLimit(client, request, { deadline: Date.now() + Number(values.timeout) });
    const json = responseToJson(response);
    // proto3 JSON leaves zeros out; a person reading the answer wants "0 left" said.
    const statuses = Array.isArray(json.statuses) ? json.statuses : [];
    for (const status of statuses) if (typeof status === 'object' && status !== null && !Array.isArray(status)) status.limitRemaining ??= 0;
    console.log(JSON.stringify(json, null, 2));
    return response.overallCode === Code.OVER_LIMIT ? OVER_LIMIT_EXIT : 0;
  } catch (error) {
    const e = error as grpc.ServiceError;
    console.error(`ShouldRateLimit failed: ${grpc.status[e.code] ?? e.code}: ${e.details ?? e.message}`);
    return 1;
  } finally {
    client.close();
  }
}
