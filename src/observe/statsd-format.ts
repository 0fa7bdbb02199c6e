/**
 * statsd lines as envoyproxy/ratelimit's stats library (gostats) writes them: `name:value|type`,
 * tags as `.__key=value` name suffixes for plain statsd and `|#key:value` for DogStatsD, lines
 * packed into datagrams that fit an Ethernet MTU.
 */
export type StatType = 'c' | 'ms' | 'g';

export interface StatLine {
  readonly name: string;
  readonly value: number;
  readonly type: StatType;
  readonly tags?: Readonly<Record<string, string>>;
  /** statsd's `@rate`: the share of samples sent (timers only). */
  readonly sampleRate?: number;
}

/** 1500-byte MTU less IP and UDP headers, as statsd clients commonly use. */
export const MAX_DATAGRAM_BYTES = 1432;

/** Characters that would end a name, a value or a tag: descriptor values are client-chosen. */
const RESERVED = /[:|@#,=\s]/g;
const clean = (text: string) => text.replace(RESERVED, '_');

export function formatLine(line: StatLine, dogStatsd: boolean): string {
  const tags = Object.entries(line.tags ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const name = dogStatsd ? clean(line.name) : clean(line.name) + tags.map(([k, v]) => `.__${clean(k)}=${clean(v)}`).join('');
  const rate = line.sampleRate === undefined || line.sampleRate >= 1 ? '' : `|@${line.sampleRate}`;
  const dogTags = dogStatsd && tags.length > 0 ? `|#${tags.map(([k, v]) => `${clean(k)}:${clean(v)}`).join(',')}` : '';
  return `${name}:${line.value}|${line.type}${rate}${dogTags}`;
}

/** Newline-joined lines, as few datagrams as fit `max` bytes each (a longer line goes alone). */
export function packDatagrams(lines: readonly string[], max = MAX_DATAGRAM_BYTES): Buffer[] {
  const out: Buffer[] = [];
  let current = '';
  for (const line of lines) {
    if (current !== '' && Buffer.byteLength(current) + 1 + Buffer.byteLength(line) > max) {
      out.push(Buffer.from(current));
      current = '';
    }
    current = current === '' ? line : `${current}\n${line}`;
  }
  if (current !== '') out.push(Buffer.from(current));
  return out;
}
