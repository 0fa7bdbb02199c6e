/**
 * `grpc-message` is UTF-8, percent-encoded (PROTOCOL-HTTP2.md, Status-Message): every byte outside
 * space..`~`, and `%` itself, becomes `%XX`. Most messages need nothing, and are returned as they are.
 */
const PLAIN = /^[\x20-\x24\x26-\x7e]*$/;

export function percentEncode(text: string): string {
  if (PLAIN.test(text)) return text;
  let encoded = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    encoded += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}
