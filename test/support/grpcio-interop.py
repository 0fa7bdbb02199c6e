"""One of each call rateguard serves, from grpcio (gRPC C-core), each answer reported by name.

    /usr/bin/python3 grpcio-interop.py HOST:PORT MESSAGE_FILE

MESSAGE_FILE holds one encoded RateLimitRequest. Prints one JSON object:
  should_rate_limit   overall code of a plain call (OK / OVER_LIMIT), or the error code's name
  with_deadline       the same call with a 5 s deadline (C-core sends grpc-timeout)
  gzip                the same call compressed with gzip (the server takes identity only)
  health_check        Health/Check of the whole server: the status number, or the error code's name
  health_unknown      Health/Check of a service the server does not know
  health_watch_first  the first answer of Health/Watch for the whole server
"""
import json
import sys

import grpc

RLS = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit'
CHECK = '/grpc.health.v1.Health/Check'
WATCH = '/grpc.health.v1.Health/Watch'
OVERALL = {1: 'OK', 2: 'OVER_LIMIT'}
SERVING = {0: 'UNKNOWN', 1: 'SERVING', 2: 'NOT_SERVING', 3: 'SERVICE_UNKNOWN'}


def health_request(service):
    raw = service.encode()
    return b'' if not raw else bytes([0x0a, len(raw)]) + raw


def serving_of(response):
    # HealthCheckResponse: status is field 1, a varint (absent when UNKNOWN = 0).
    return SERVING.get(response[1], 'BAD') if len(response) == 2 and response[0] == 0x08 else 'BAD'


def outcome(call, decode):
    try:
        return decode(call())
    except grpc.RpcError as error:
        return error.code().name


def main():
    target, message_file = sys.argv[1:]
    with open(message_file, 'rb') as f:
        message = f.read()
    overall = lambda response: OVERALL.get(response[1], 'BAD') if len(response) >= 2 and response[0] == 0x08 else 'BAD'
    with grpc.insecure_channel(target) as channel:
        rls = channel.unary_unary(RLS)
        check = channel.unary_unary(CHECK)
        watch = channel.unary_stream(WATCH)
        report = {
            'should_rate_limit': outcome(lambda: rls(message, timeout=30), overall),
            'with_deadline': outcome(lambda: rls(message, timeout=5), overall),
            'gzip': outcome(lambda: rls(message, timeout=30, compression=grpc.Compression.Gzip), overall),
            'health_check': outcome(lambda: check(health_request(''), timeout=30), serving_of),
            'health_unknown': outcome(lambda: check(health_request('nope'), timeout=30), serving_of),
        }
        stream = watch(health_request(''), timeout=30)
        report['health_watch_first'] = outcome(lambda: next(stream), serving_of)
        stream.cancel()
    print(json.dumps(report, sort_keys=True))


if __name__ == '__main__':
    main()
