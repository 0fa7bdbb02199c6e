import * as grpc from '@grpc/grpc-js';
import { parseArgs } from 'node:util';
import { RateLimitServiceClient, type RateLimitRequest, responseToJson, shouldRateLimit } from '../rls/codec.js';

const USAGE = 'usage: rateguard check --addr HOST:PORT --domain D --descriptor k=v[,k2=v2] [--descriptor ...] [--hits N] [--timeout MS]';

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

/** `rateguard check`: one ShouldRateLimit call, the response printed as proto3 JSON (a grpcurl for this API). */
export async function check(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        addr: { type: 'string', default: 'localhost:8081' },
        domain: { type: 'string' },
        descriptor: { type: 'string', multiple: true },
        hits: { type: 'string', default: '0' },
        timeout: { type: 'string', default: '2000' },
      },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const descriptors = (values.descriptor ?? []).map(parseDescriptor);
  const bad = descriptors.find((d) => typeof d === 'string');
  if (values.domain === undefined || descriptors.length === 0 || bad !== undefined || !/^\d+$/.test(values.hits)) {
    console.error(typeof bad === 'string' ? `${bad}\n${USAGE}` : USAGE);
    return 2;
  }
  const request: RateLimitRequest = {
    domain: values.domain,
    descriptors: descriptors.map((entries) => ({ entries: entries as { key: string; value: string }[] })),
    hitsAddend: Number(values.hits),
  };
  const client = new RateLimitServiceClient(values.addr, grpc.credentials.createInsecure());
  try {
    const response = await shouldRateLimit(client, request, { deadline: Date.now() + Number(values.timeout) });
    console.log(JSON.stringify(responseToJson(response), null, 2));
    return 0;
  } catch (error) {
    const e = error as grpc.ServiceError;
    console.error(`ShouldRateLimit failed: ${grpc.status[e.code] ?? e.code}: ${e.details ?? e.message}`);
    return 1;
  } finally {
    client.close();
  }
}
