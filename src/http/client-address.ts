import { isIPv4, isIPv6 } from 'node:net';

/** Expands an IPv6 address into its 8 hextets (numbers), or undefined when it is not one. */
function hextets(address: string): number[] | undefined {
  const zoneless = address.split('%')[0]!;
  if (!isIPv6(zoneless)) return undefined;
  let text = zoneless;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (isIPv4(tail)) {
    // An embedded IPv4 tail (::ffff:1.2.3.4) becomes the last two hextets.
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const missing = 8 - left.length - right.length;
  const all = rest === undefined ? left : [...left, ...Array<string>(missing).fill('0'), ...right];
  return all.map((h) => parseInt(h, 16));
}

/** The IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) carries, or undefined. */
function mappedIPv4(parts: readonly number[]): string | undefined {
  if (!parts.slice(0, 5).every((h) => h === 0) || parts[5] !== 0xffff) return undefined;
  const [hi, lo] = [parts[6]!, parts[7]!];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/**
 * A client address as one form per client: IPv4-mapped IPv6 as its IPv4. A dual-stack server
 * (listening on `::`) sees an IPv4 client as `::ffff:127.0.0.1`, an IPv4 one as `127.0.0.1`; keys
 * and admin resets must name it the same either way. Anything else is returned as it is.
 */
export function unmappedAddress(address: string): string {
  const parts = hextets(address);
  return (parts === undefined ? undefined : mappedIPv4(parts)) ?? address;
}

/**
 * The rate-limit identity of a client address. IPv4 as is; IPv4-mapped IPv6 as its IPv4; other
 * IPv6 masked to a /`subnet` prefix, because one host usually owns a whole /64 or more and could
 * otherwise rotate addresses to escape its limit.
 */
export function addressIdentity(address: string | undefined, subnet: number): string {
  if (address === undefined || address === '') return '';
  const parts = hextets(address);
  if (parts === undefined) return address;
  const ipv4 = mappedIPv4(parts);
  if (ipv4 !== undefined) return ipv4;
  const masked = parts.map((h, i) => {
    const bitsBefore = i * 16;
    if (bitsBefore >= subnet) return 0;
    const keep = Math.min(16, subnet - bitsBefore);
    return h & ((0xffff << (16 - keep)) & 0xffff);
  });
  return `${masked.map((h) => h.toString(16)).join(':')}/${subnet}`;
}
