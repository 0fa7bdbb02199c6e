/**
 * One gRPC call on one HTTP/2 stream: headers checked, the request message gathered, the method run,
 * its answer framed, and its status reported exactly once (`onCallEnd`), whether the method, a
 * refusal, the deadline or the peer (CANCELLED: the stream closed before a status) ended it. A request
 * refused at the HTTP level (405, 415) is not a gRPC call and is not reported.
 */
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { status } from '@grpc/grpc-js';
import type { MessageSink, Method, MethodTable, ServerStreamingMethod, UnaryMethod, UnaryReply } from './methods.js';
import { checkRequestHeaders } from './request-headers.js';
import { ACCEPTED_ENCODINGS, type CallRefusal, RequestMessageReader } from './request-message.js';
import { endMessages, respondHttpError, respondMessage, respondTrailersOnly, startMessages, writeMessage } from './responses.js';

export interface CallLimits {
  readonly maxReceiveMessageBytes: number;
  readonly maxSendMessageBytes: number;
}

/** Told every call's path and final status code (metrics). */
export type CallEndListener = (path: string, code: status) => void;

const ignore = () => undefined;

export function serveCall(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, methods: MethodTable, limits: CallLimits, onCallEnd: CallEndListener): void {
  // Stream errors (a reset, a destroyed session) are followed by 'close', which reports the call.
  // A stream emits 'close', 'end' and 'wantTrailers' at most once: `on`, not `once`, spares a
  // wrapper and a removeListener per event (a visible share of a call in profiles).
  stream.on('error', ignore);
  const path = headers[':path'] ?? '';
  let ended = false;
  const end = (code: status) => {
    if (ended) return false;
    ended = true;
    onCallEnd(path, code);
    return true;
  };
  const refuse = (refusal: CallRefusal) => {
    if (!end(refusal.code)) return;
    respondTrailersOnly(
      stream,
      refusal.code,
      refusal.details,
      refusal.code === status.UNIMPLEMENTED ? { 'grpc-accept-encoding': ACCEPTED_ENCODINGS } : undefined,
    );
    stream.resume(); // whatever else the peer sends is read and dropped
  };
  stream.on('close', () => end(status.CANCELLED));

  const checked = checkRequestHeaders(headers);
  if (!checked.ok) {
    if (checked.httpStatus !== undefined) {
      ended = true; // an HTTP refusal (405, 415) is no gRPC call: nothing to report
      respondHttpError(stream, checked.httpStatus);
      stream.resume();
    } else refuse(checked);
    return;
  }
  const method: Method | undefined = methods.get(path);
  if (method === undefined) {
    refuse({ code: status.UNIMPLEMENTED, details: `The server does not implement the method ${path}` });
    return;
  }
  const reader = new RequestMessageReader(limits.maxReceiveMessageBytes, checked.encoding);
  stream.on('data', (chunk: Buffer) => {
    if (ended) return;
    const refusal = reader.push(chunk);
    if (refusal !== undefined) refuse(refusal);
  });
  stream.on('end', () => {
    if (ended) return;
    const request = reader.finish();
    if (!request.ok) refuse(request);
    else if (method.kind === 'unary') runUnary(method, request.message);
    else runServerStreaming(method, request.message);
  });

  const call = { headers, deadlineMs: checked.deadlineMs };
  const reply = (answer: UnaryReply) => {
    if (!answer.ok) refuse(answer);
    else if (answer.message.length > limits.maxSendMessageBytes) {
      refuse({ code: status.RESOURCE_EXHAUSTED, details: `Sent message larger than max (${answer.message.length} vs. ${limits.maxSendMessageBytes})` });
    } else if (end(status.OK)) respondMessage(stream, answer.message);
  };
  const fail = (error: unknown) => refuse({ code: status.INTERNAL, details: error instanceof Error ? error.message : String(error) });

  function runUnary(unary: UnaryMethod, message: Buffer): void {
    const answer = unary.handle(message, call);
    if (answer instanceof Promise) answer.then(reply, fail);
    else reply(answer);
  }

  function runServerStreaming(streaming: ServerStreamingMethod, message: Buffer): void {
    const listeners: (() => void)[] = [];
    const over = () => {
      clearTimeout(deadline);
      for (const listener of listeners.splice(0)) listener();
    };
    const sink: MessageSink = {
      write(bytes) {
        if (ended) return;
        startMessages(stream);
        writeMessage(stream, bytes);
      },
      end(code, details) {
        if (!end(code)) return;
        endMessages(stream, code, details);
        over();
      },
      onEnd(listener) {
        if (ended) listener();
        else listeners.push(listener);
      },
    };
    stream.on('close', over);
    const deadline =
      call.deadlineMs === undefined ? undefined : setTimeout(() => sink.end(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), call.deadlineMs - Date.now());
    streaming.handle(message, call, sink);
  }
}
