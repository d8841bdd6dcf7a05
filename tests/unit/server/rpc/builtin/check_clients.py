#!/usr/bin/python3
"""Checks a running server's health and reflection with Python grpcio (Debian
python3-grpcio; run with /usr/bin/python3). Raw protobuf bytes, so no generated stubs are
needed (generated grpc/health/... modules would collide with the grpc package).
Usage: check_clients.py HOST:PORT   Exit status 0 when every check passes."""
import sys

import grpc
from google.protobuf import descriptor_pb2


def field_bytes(num, data):
    """Encodes a length-delimited field (lengths < 128 only)."""
    assert len(data) < 128
    return bytes([num << 3 | 2, len(data)]) + data


def fields(buf):
    """Yields (number, value) of a message's varint and length-delimited fields."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        if key & 7 == 0:
            v, i = varint(buf, i)
            yield key >> 3, v
        elif key & 7 == 2:
            n, i = varint(buf, i)
            yield key >> 3, buf[i:i + n]
            i += n
        else:
            raise ValueError("wire type %d" % (key & 7))


def varint(buf, i):
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def main():
    target = sys.argv[1]
    ok = True
    with grpc.insecure_channel(target) as ch:
        check = ch.unary_unary("/grpc.health.v1.Health/Check")
        for service, want in (("", 1), ("helpdesk.v1.TicketService", 1)):
            resp = check(field_bytes(1, service.encode()), timeout=5)
            status = dict(fields(resp)).get(1, 0)
            print("health Check %r -> status %d (%s)" % (service, status,
                                                       {1: "SERVING", 2: "NOT_SERVING"}.get(status)))
            ok &= status == want
        try:
            check(field_bytes(1, b"no.such.Service"), timeout=5)
            print("health Check 'no.such.Service' -> OK (wrong)")
            ok = False
        except grpc.RpcError as e:
            print("health Check 'no.such.Service' -> %s %r" % (e.code().name, e.details()))
            ok &= e.code() == grpc.StatusCode.NOT_FOUND

        refl = ch.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
        reqs = [field_bytes(7, b""), field_bytes(4, b"helpdesk.v1.TicketService")]
        resps = list(refl(iter(reqs), timeout=5))
        services = [dict(fields(s))[1].decode()
                    for n, s in fields(dict(fields(resps[0]))[6]) if n == 1]
        print("reflection list_services ->", ", ".join(services))
        ok &= "grpc.health.v1.Health" in services and len(services) == 5
        files = [descriptor_pb2.FileDescriptorProto.FromString(b)
                 for n, b in fields(dict(fields(resps[1]))[4]) if n == 1]
        print("reflection file_containing_symbol helpdesk.v1.TicketService ->",
              ", ".join(f.name for f in files))
        ok &= files[0].name == "helpdesk/v1/tickets.proto"
        for svc in files[0].service:
            for m in svc.method:
                print("  rpc %s.%s(%s) returns (%s)" % (svc.name, m.name, m.input_type,
                                                       m.output_type))
    print("python grpcio checks:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
