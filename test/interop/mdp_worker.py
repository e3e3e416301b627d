#!/usr/bin/python3
"""A minimal 7/MDP (MDP/0.1) echo worker, written from the RFC (rfc.zeromq.org/spec/7) for interop tests.

Usage: mdp_worker.py [--upper] [--delay-ms N] [--max-requests N] [--heartbeat-ms N] [--quiet-while-busy]
                     ENDPOINT SERVICE

A DEALER that sends READY for SERVICE, answers each REQUEST [client-addr, "", body...] with a
REPLY carrying the same body (uppercased with --upper) after --delay-ms, sends HEARTBEAT every
interval (also while a request is pending, unless --quiet-while-busy: then, like 7/MDP's reference
workers, it neither heartbeats nor watches the broker while it works), and on DISCONNECT, or when the broker is silent for
3 intervals, opens a new socket and sends READY again. Prints "ready" once registered, then
"request N" per request received, on stdout. Exits 0 after --max-requests replies or on SIGTERM.
"""
import argparse
import signal
import sys
import time

import zmq

# mdp_common.py is in this script's folder, which python3 puts first on sys.path.
from mdp_common import MDP_WORKER, READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT, LIVENESS, say, on_sigterm


def main() -> int:
    parser = argparse.ArgumentParser(description="7/MDP echo worker")
    parser.add_argument("endpoint")
    parser.add_argument("service")
    parser.add_argument("--upper", action="store_true", help="uppercase the echoed body frames")
    parser.add_argument("--delay-ms", type=int, default=0, help="wait this long before replying")
    parser.add_argument("--max-requests", type=int, default=0, help="exit after N replies (0: never)")
    parser.add_argument("--heartbeat-ms", type=int, default=2500)
    parser.add_argument("--quiet-while-busy", action="store_true", help="no heartbeats while a request is pending")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, on_sigterm)
    interval = args.heartbeat_ms / 1000
    context = zmq.Context()
    socket = None
    pending = []  # (due, client address, body) in arrival order; the delay is the same for all
    received = replied = 0

    def send(command: bytes, *frames: bytes) -> None:
        socket.send_multipart([b"", MDP_WORKER, command, *frames])

    def register():
        nonlocal socket
        if socket is not None:
            socket.close()
        socket = context.socket(zmq.DEALER)
        socket.setsockopt(zmq.LINGER, 0)
        socket.connect(args.endpoint)
        send(READY, args.service.encode("ascii"))
        pending.clear()  # the broker forgot our requests with our old connection
        return time.monotonic()

    heard_at = register()
    say("ready")
    heartbeat_at = heard_at + interval
    try:
        while args.max_requests == 0 or replied < args.max_requests:
            now = time.monotonic()
            wake = min(heartbeat_at, heard_at + LIVENESS * interval, *(due for due, _, _ in pending[:1]))
            if socket.poll(max(0, int((wake - now) * 1000) + 1), zmq.POLLIN):
                frames = socket.recv_multipart()
                heard_at = time.monotonic()  # any message from the broker proves it alive
                if len(frames) < 3 or frames[0] != b"" or frames[1] != MDP_WORKER:
                    continue  # not MDP/0.1 worker traffic: drop
                command = frames[2]
                if command == REQUEST and len(frames) >= 5 and frames[4] == b"":
                    received += 1
                    say(f"request {received}")
                    pending.append((heard_at + args.delay_ms / 1000, frames[3], frames[5:]))
                elif command == DISCONNECT:
                    heard_at = register()
                    say("reconnected")
            now = time.monotonic()
            while pending and pending[0][0] <= now:
                _, address, body = pending.pop(0)
                send(REPLY, address, b"", *(frame.upper() if args.upper else frame for frame in body))
                replied += 1
            busy = args.quiet_while_busy and pending
            if busy:
                heard_at = max(heard_at, now - interval)  # not watching the broker while working
                heartbeat_at = max(heartbeat_at, now)
            if not busy and now - heard_at > LIVENESS * interval:
                heard_at = register()
                say("reconnected")
            if not busy and now >= heartbeat_at:
                send(HEARTBEAT)
                heartbeat_at = now + interval
    finally:
        try:
            send(DISCONNECT)
        except zmq.ZMQError:
            pass
        socket.setsockopt(zmq.LINGER, 200)  # let the DISCONNECT out
        socket.close()
        context.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
