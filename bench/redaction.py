"""What redaction costs per log line: the formatter's final pass (credential parameters and
headers, the environment's keys in every spelling, and hashing candidate runs for keys known
only by their hash), on lines like vsmanager's own, with no key and with one.

    python bench/redaction.py              # about 10 seconds
    python bench/redaction.py --named 100  # a keys file of 100 keys (the cost does not grow)
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import time
import timeit

from vsmanager.ops.logs import Redactor

ALICE = "aL1ce-named-key_for-tests-0123456"
ENV_KEYS = ["admin-key-for-the-bench-012345678", "monitor-key-for-the-bench-987654321"]

LINES = {
    "access (console)": "2026-12-06T20:50:33.123456Z info uvicorn.access http_request "
                        "client=127.0.0.1:50144 method=GET path=/api/v1alpha1/console/history?after=5"
                        "&limit=100 http_version=1.1 status=200",
    "access (json)": json.dumps({"ts": "2026-12-06T20:50:33.123456Z", "level": "info",
                                 "logger": "uvicorn.access",
                                 "event": "http_request", "client": "127.0.0.1:50144", "method": "GET",
                                 "path": "/api/v1alpha1/server/status", "http_version": "1.1", "status": 200}),
    "command (json)": json.dumps({"ts": "2026-12-06T20:50:33.123456Z", "level": "info",
                                  "logger": "vsmanager.console", "event": "console_command",
                                  "command": "/say hello everyone, the server restarts at 22:00",
                                  "key_name": "alice", "client": "203.0.113.7:50144"}),
    "key in a path": f"2026-12-06T20:50:33.123456Z info uvicorn.access http_request client=127.0.0.1:50144 "
                     f"method=GET path=/api/v1alpha1/console/{ALICE}/x http_version=1.1 status=404",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--named", type=int, default=10, help="keys in the keys file (default 10)")
    parser.add_argument("--number", type=int, default=20_000, help="lines per measurement")
    args = parser.parse_args()
    digests = frozenset({hashlib.sha256(f"named-key-{i:04d}-0123456789".encode()).digest()
                         for i in range(args.named)} | {hashlib.sha256(ALICE.encode()).digest()})
    variants = {"env keys only": Redactor(ENV_KEYS),
                f"env + {args.named + 1} named": Redactor(ENV_KEYS, lambda: digests)}
    print(f"{'line':<20} {'redactor':<18} {'us/line':>8}")
    for name, line in LINES.items():
        for label, redact in variants.items():
            # CPU time, not wall time: on a shared machine the figure is the work, not the wait.
            seconds = min(timeit.repeat(functools.partial(redact, line), number=args.number, repeat=5,
                                        timer=time.process_time))
            print(f"{name:<20} {label:<18} {seconds / args.number * 1e6:8.1f}")


if __name__ == "__main__":
    main()
