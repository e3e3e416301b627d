"""What the 7/MDP (MDP/0.1) peers in this folder share, from the RFC (rfc.zeromq.org/spec/7): the
protocol headers, the worker commands, the liveness and two small process helpers.

Imported by mdp_broker.py and mdp_worker.py: they are started as `python3 path/to/script.py`,
which puts this folder on sys.path.
"""

MDP_CLIENT = b"MDPC01"
MDP_WORKER = b"MDPW01"
READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT = (bytes([code]) for code in range(1, 6))
LIVENESS = 3


def say(line: str) -> None:
    print(line, flush=True)


def on_sigterm(_signum, _frame):
    raise SystemExit(0)
