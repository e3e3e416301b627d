#!/usr/bin/python3
"""A minimal 7/MDP (MDP/0.1) client, written from the RFC (rfc.zeromq.org/spec/7) for interop tests.

Usage: mdp_client.py [--timeout-ms N] [--hex] ENDPOINT SERVICE [BODY_FRAME ...]

Sends one request [ "", "MDPC01", SERVICE, BODY... ] from a DEALER socket and waits for the reply
[ "", "MDPC01", SERVICE, BODY... ]. Body frames are given as text and sent as latin-1 bytes (or as
hex with --hex). Prints the reply body as a JSON list of latin-1 strings.
Exit codes: 0 reply, 1 usage, 2 timeout, 3 reply that is not a valid MDP client reply.
"""
import argparse
import json
import sys

import zmq

MDP_CLIENT = b"MDPC01"


def main() -> int:
    parser = argparse.ArgumentParser(description="7/MDP client: one request, one reply")
    parser.add_argument("endpoint")
    parser.add_argument("service")
    parser.add_argument("body", nargs="*")
    parser.add_argument("--timeout-ms", type=int, default=5000)
    parser.add_argument("--hex", action="store_true", help="body frames are hex strings")
    args = parser.parse_args()

    if args.hex:
        body = [bytes.fromhex(frame) for frame in args.body]
    else:
        body = [frame.encode("latin-1") for frame in args.body]
    service = args.service.encode("ascii")

    context = zmq.Context()
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    try:
        socket.connect(args.endpoint)
        # A DEALER client adds the empty delimiter a REQ socket would add by itself.
        socket.send_multipart([b"", MDP_CLIENT, service, *body])
        if socket.poll(args.timeout_ms, zmq.POLLIN) == 0:
            print(f"timeout: no reply within {args.timeout_ms} ms", file=sys.stderr)
            return 2
        frames = socket.recv_multipart()
    finally:
        socket.close()
        context.term()

    if len(frames) < 3 or frames[0] != b"" or frames[1] != MDP_CLIENT or frames[2] != service:
        print(f"invalid reply: {frames!r}", file=sys.stderr)
        return 3
    print(json.dumps([frame.decode("latin-1") for frame in frames[3:]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
