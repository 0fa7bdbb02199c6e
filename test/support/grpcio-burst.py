"""Bursts of ShouldRateLimit calls from grpcio (gRPC C-core), counted by answer.

    /usr/bin/python3 grpcio-burst.py HOST:PORT MESSAGE_FILE WARMUP BURST...

MESSAGE_FILE holds one encoded RateLimitRequest (grpcio frames it). The warm-up calls connect the
channel and are not counted; then each BURST calls are started at once and awaited. Prints one JSON
list: per burst, counts by answer (OK, OVER_LIMIT, or the gRPC error code's name).
"""
import json
import sys

import grpc

METHOD = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit'
OVERALL = {1: 'OK', 2: 'OVER_LIMIT'}


def answer_of(future):
    try:
        response = future.result()
    except grpc.RpcError as error:
        return error.code().name
    # overall_code is field 1, a varint: tag byte 0x08, then the code (1 OK, 2 OVER_LIMIT).
    if len(response) < 2 or response[0] != 0x08:
        return 'BAD_RESPONSE'
    return OVERALL.get(response[1], 'BAD_RESPONSE')


def burst(call, message, calls):
    futures = [call.future(message, timeout=30) for _ in range(calls)]
    counts = {}
    for future in futures:
        name = answer_of(future)
        counts[name] = counts.get(name, 0) + 1
    return counts


def main():
    target, message_file, warmup, *bursts = sys.argv[1:]
    with open(message_file, 'rb') as f:
        message = f.read()
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_unary(METHOD)  # bytes in, bytes out
        burst(call, message, int(warmup))
        print(json.dumps([burst(call, message, int(calls)) for calls in bursts]))


main()
