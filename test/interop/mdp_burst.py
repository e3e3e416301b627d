#!/usr/bin/python3
"""An asynchronous 7/MDP (MDP/0.1) client, written from the RFC for interop tests: it sends N
requests at once from one DEALER (as the Majordomo guide's async client does), then reads replies
until it has N or the time is up.

Usage: mdp_burst.py [--count N] [--timeout-ms N] ENDPOINT SERVICE BODY

Prints one JSON object: {"sent": N, "replies": R, "ok": K, "errors": {first-frame: count}}, where a
reply whose first frame starts with "DSAT_ERR_" counts as an error (the orchestrator's documented
convention for refusals to plain clients) and any other reply as ok (ok replies must echo BODY).
Exit code 0 when every request got a reply, 2 otherwise.
"""
import argparse
import json
import sys
import time

import zmq

MDP_CLIENT = b"MDPC01"


def main() -> int:
    parser = argparse.ArgumentParser(description="7/MDP burst client")
    parser.add_argument("endpoint")
    parser.add_argument("service")
    parser.add_argument("body")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--timeout-ms", type=int, default=30000)
    args = parser.parse_args()
    service = args.service.encode("ascii")
    body = args.body.encode("latin-1")
    context = zmq.Context()
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.SNDHWM, 0)
    socket.setsockopt(zmq.RCVHWM, 0)
    socket.connect(args.endpoint)
    for _ in range(args.count):
        socket.send_multipart([b"", MDP_CLIENT, service, body])
    replies = ok = 0
    errors = {}
    deadline = time.monotonic() + args.timeout_ms / 1000
    while replies < args.count:
        left = deadline - time.monotonic()
        if left <= 0 or socket.poll(int(left * 1000) + 1, zmq.POLLIN) == 0:
            break
        frames = socket.recv_multipart()
        replies += 1
        reply_body = frames[3:]
        first = reply_body[0] if reply_body else b""
        if first.startswith(b"DSAT_ERR_"):
            key = first.decode("latin-1")
            errors[key] = errors.get(key, 0) + 1
        elif reply_body == [body]:
            ok += 1
        else:
            errors["wrong body"] = errors.get("wrong body", 0) + 1
    socket.close()
    context.term()
    print(json.dumps({"sent": args.count, "replies": replies, "ok": ok, "errors": errors}), flush=True)
    return 0 if replies == args.count else 2


if __name__ == "__main__":
    sys.exit(main())
