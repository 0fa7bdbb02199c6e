/**
 * What a method served by the node:http2 gRPC server looks like: bytes in, bytes out. Decoding and
 * encoding stay with the method (the hand-written codec for RLS); the server only frames them.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import type { status } from '@grpc/grpc-js';
import type { CallRefusal } from './request-message.js';

export interface CallInfo {
  /** The request headers, metadata included (lower-case names, as HTTP/2 carries them). */
  readonly headers: IncomingHttpHeaders;
  /** From grpc-timeout, epoch ms; undefined without one. */
  readonly deadlineMs: number | undefined;
}

export type UnaryReply = { readonly ok: true; readonly message: Uint8Array } | ({ readonly ok: false } & CallRefusal);

/**
 * One request, one answer. A unary method answers DEADLINE_EXCEEDED itself when it finds the deadline
 * passed (it knows whether its work started); the server does not race it with a timer.
 */
export interface UnaryMethod {
  readonly kind: 'unary';
  handle(message: Buffer, call: CallInfo): UnaryReply | Promise<UnaryReply>;
}

/** The answer side of a server-streaming call. */
export interface MessageSink {
  write(message: Uint8Array): void;
  end(code: status, details: string): void;
  /** `listener` runs once when the call is over, whoever ended it (the method, the peer, the deadline, a drain). */
  onEnd(listener: () => void): void;
}

/** One request, a stream of answers; the server ends the stream at the call's deadline (DEADLINE_EXCEEDED). */
export interface ServerStreamingMethod {
  readonly kind: 'server-streaming';
  handle(message: Buffer, call: CallInfo, out: MessageSink): void;
}

export type Method = UnaryMethod | ServerStreamingMethod;

/** Methods by their path, `/package.Service/Method`. */
export type MethodTable = ReadonlyMap<string, Method>;
