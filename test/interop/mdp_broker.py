#!/usr/bin/python3
"""A small 7/MDP (MDP/0.1) broker with 8/MMI, written from the RFCs (rfc.zeromq.org/spec/7 and /8)
for interop tests: the "foreign broker" dsat's client and satellite must work through in mdp mode.

Usage: mdp_broker.py [--heartbeat-ms N] ENDPOINT

One ROUTER bound on ENDPOINT. A client request ["", MDPC01, service, body...] waits in its
service's queue until a worker of that service is idle (least recently used first). A worker sends
READY for one service, gets one REQUEST at a time, and is idle again once it sends REPLY. As 7/MDP
allows (and like the guide's broker), this broker never retries a request lost with its worker, and
heartbeats and expires idle workers only: a worker that dies mid-request leaves its client waiting.
A worker command it does not expect gets DISCONNECT. mmi.service answers 200 when a live worker
serves the named service, else 404; other mmi.* answer 501.
Prints on stdout: "ready" once bound, "worker SERVICE" per READY, "dispatch SERVICE" per REQUEST sent.
Exits 0 on SIGTERM.
"""
import argparse
import signal
import sys
import time
from collections import deque

import zmq

# mdp_common.py is in this script's folder, which python3 puts first on sys.path.
from mdp_common import MDP_CLIENT, MDP_WORKER, READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT, LIVENESS, say, on_sigterm


class Worker:
    def __init__(self, identity: bytes, service: bytes):
        self.identity = identity
        self.service = service
        self.expiry = 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description="7/MDP broker")
    parser.add_argument("endpoint")
    parser.add_argument("--heartbeat-ms", type=int, default=2500)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, on_sigterm)
    interval = args.heartbeat_ms / 1000
    context = zmq.Context()
    router = context.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.bind(args.endpoint)
    say("ready")
    workers = {}  # identity -> Worker, idle or busy
    idle = {}  # service -> deque of idle Workers, least recently used first
    waiting = {}  # service -> deque of (client identity, body frames)

    def to_worker(identity: bytes, command: bytes, *frames: bytes) -> None:
        router.send_multipart([identity, b"", MDP_WORKER, command, *frames])

    def forget(worker: Worker, disconnect: bool) -> None:
        if disconnect:
            to_worker(worker.identity, DISCONNECT)
        workers.pop(worker.identity, None)
        queue = idle.get(worker.service)
        if queue is not None and worker in queue:
            queue.remove(worker)

    def dispatch(service: bytes) -> None:
        queue, requests = idle.get(service), waiting.get(service)
        while queue and requests:
            worker = queue.popleft()
            client, body = requests.popleft()
            to_worker(worker.identity, REQUEST, client, b"", *body)
            say(f"dispatch {service.decode('latin-1')}")

    def make_idle(worker: Worker, now: float) -> None:
        worker.expiry = now + LIVENESS * interval
        idle.setdefault(worker.service, deque()).append(worker)
        dispatch(worker.service)

    def on_client(client: bytes, service: bytes, body: list) -> None:
        if service.startswith(b"mmi."):
            if service == b"mmi.service":
                name = body[0] if body else b""
                found = any(worker.service == name for worker in workers.values())
                answer = b"200" if found else b"404"
            else:
                answer = b"501"
            router.send_multipart([client, b"", MDP_CLIENT, service, answer])
            return
        waiting.setdefault(service, deque()).append((client, body))
        dispatch(service)

    def on_worker(identity: bytes, command: bytes, rest: list, now: float) -> None:
        worker = workers.get(identity)
        busy = worker is not None and worker not in idle.get(worker.service, ())
        if command == READY and worker is None and len(rest) == 1 and not rest[0].startswith(b"mmi."):
            worker = workers[identity] = Worker(identity, rest[0])
            say(f"worker {rest[0].decode('latin-1')}")
            make_idle(worker, now)
        elif command == REPLY and busy and len(rest) >= 2 and rest[1] == b"":
            router.send_multipart([rest[0], b"", MDP_CLIENT, worker.service, *rest[2:]])
            make_idle(worker, now)
        elif command == HEARTBEAT and worker is not None:
            worker.expiry = now + LIVENESS * interval
        elif command == DISCONNECT:
            if worker is not None:
                forget(worker, False)
        elif worker is not None:
            forget(worker, True)  # READY twice, REPLY while idle, an unknown command
        else:
            to_worker(identity, DISCONNECT)  # not registered: reconnect and send READY

    heartbeat_at = time.monotonic() + interval
    try:
        while True:
            timeout_ms = max(0, int((heartbeat_at - time.monotonic()) * 1000)) + 1
            if router.poll(timeout_ms, zmq.POLLIN):
                frames = router.recv_multipart()
                now = time.monotonic()
                if len(frames) >= 4 and frames[1] == b"":
                    if frames[2] == MDP_CLIENT:
                        on_client(frames[0], frames[3], frames[4:])
                    elif frames[2] == MDP_WORKER and len(frames[3]) == 1:
                        on_worker(frames[0], frames[3], frames[4:], now)
            now = time.monotonic()
            if now >= heartbeat_at:
                for queue in idle.values():
                    for worker in list(queue):
                        if worker.expiry < now:
                            forget(worker, False)  # silent for LIVENESS intervals
                        else:
                            to_worker(worker.identity, HEARTBEAT)
                heartbeat_at = now + interval
    finally:
        router.close()
        context.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
