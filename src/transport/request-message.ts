/**
 * The one request message of a call with a single request (unary, server streaming), gathered from
 * DATA frames that may split it anywhere (PROTOCOL-HTTP2.md: Length-Prefixed-Message).
 *
 * Refusals, each with the code gRPC gives it:
 * - a prefix longer than the limit: RESOURCE_EXHAUSTED, from the prefix alone (nothing is buffered);
 * - a compressed flag: INTERNAL without a `grpc-encoding` (compression.md: "ill-constructed"),
 *   UNIMPLEMENTED with one, since this server takes identity only;
 * - not exactly one whole message when the request ends: UNIMPLEMENTED, as grpc-js answers.
 */
import { status } from '@grpc/grpc-js';

/** Flag byte and 4-byte big-endian length. */
export const PREFIX_BYTES = 5;

export interface CallRefusal {
  readonly code: status;
  readonly details: string;
}

export type RequestMessage = { readonly ok: true; readonly message: Buffer } | ({ readonly ok: false } & CallRefusal);

export class RequestMessageReader {
  private chunks: Buffer[] = [];
  private received = 0;
  /** Prefix + message bytes, once the prefix is in. */
  private expected = -1;

  /** `encoding`: the request's grpc-encoding header (undefined when absent). */
  constructor(
    private readonly maxMessageBytes: number,
    private readonly encoding: string | undefined,
  ) {}

  /** Takes one DATA chunk; a refusal as soon as the bytes so far cannot be one acceptable message. */
  push(chunk: Buffer): CallRefusal | undefined {
    if (chunk.length === 0) return undefined;
    this.chunks.push(chunk);
    this.received += chunk.length;
    if (this.expected < 0 && this.received >= PREFIX_BYTES) {
      const refusal = this.readPrefix(this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks));
      if (refusal !== undefined) return refusal;
    }
    if (this.expected >= 0 && this.received > this.expected) return TWO_MESSAGES;
    return undefined;
  }

  /** At the end of the request: its message, or why there is none. */
  finish(): RequestMessage {
    if (this.expected < 0 || this.received < this.expected) return NO_MESSAGE;
    const whole = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    return { ok: true, message: whole.subarray(PREFIX_BYTES) };
  }

  private readPrefix(head: Buffer): CallRefusal | undefined {
    const flag = head[0]!;
    if (flag !== 0) return this.compressed(flag);
    const length = head.readUInt32BE(1);
    if (length > this.maxMessageBytes) {
      return { code: status.RESOURCE_EXHAUSTED, details: `Received message larger than max (${length} vs. ${this.maxMessageBytes})` };
    }
    this.expected = PREFIX_BYTES + length;
    return undefined;
  }

  private compressed(flag: number): CallRefusal {
    if (flag !== 1) return { code: status.INTERNAL, details: `invalid compressed flag ${flag} (only 0 and 1 exist)` };
    if (this.encoding === undefined || this.encoding === 'identity') {
      return { code: status.INTERNAL, details: 'compressed flag set on a message without a grpc-encoding' };
    }
    return { code: status.UNIMPLEMENTED, details: `grpc-encoding ${this.encoding} is not supported; this server accepts ${ACCEPTED_ENCODINGS}` };
  }
}

/** What `grpc-accept-encoding` says: messages are taken uncompressed only. */
export const ACCEPTED_ENCODINGS = 'identity';

const NO_MESSAGE: RequestMessage = { ok: false, code: status.UNIMPLEMENTED, details: 'the request did not carry one whole message' };
const TWO_MESSAGES: CallRefusal = { code: status.UNIMPLEMENTED, details: 'more than one request message for a method that takes one' };
