#!/usr/bin/env python3
# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One measurement point of the throughput benchmark, run INSIDE the benchmark container.

Standard library only (the container's python3). Traffic stays on loopback: smtp-source ->
127.0.0.1:25 (Postfix) -> relayhost [127.0.0.1]:2525 (smtp-sink), or smtp-source straight into
the sink for the ceiling.

    driver.py sink-start                 start the sink (idempotent)
    driver.py point --senders N --messages M --size BYTES [--ceiling] [--timeout S]

``point`` prints one JSON object: messages/s end to end (first connection until the queue is
empty and the sink has every accepted message), how many messages Postfix accepted with 250
(cleanup's message-id lines in the window), how many the sink counted, and the delay= p50/p95
of the window's deliveries from Postfix's log.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

SINK_PORT = 2525
SINK_OUT = "/var/tmp/sbs-bench-sink.out"
SINK_PID = "/var/tmp/sbs-bench-sink.pid"
MAILLOG = "/var/log/postfix-bench.log"
QUEUE = "/var/spool/postfix"
SENDER = "bench@source.test"
RECIPIENT = "rcpt@sink.test"

_MESG = re.compile(rb"mesg=(\d+)")
_DELAY = re.compile(rb" delay=([0-9.]+),.* status=sent ")
_CLEANUP = re.compile(rb"postfix/cleanup\[\d+\]: [0-9A-Za-z]+: message-id=")


def sink_count():
    """Messages the sink received so far (its -c counter, updated at every '.' and QUIT)."""
    try:
        with open(SINK_OUT, "rb") as handle:
            handle.seek(max(0, os.path.getsize(SINK_OUT) - 4096))
            tail = handle.read()
    except OSError:
        return 0
    found = _MESG.findall(tail)
    return int(found[-1]) if found else 0


def sink_start():
    if os.path.exists(SINK_PID):
        try:
            with open(SINK_PID) as handle:
                os.kill(int(handle.read()), 0)
            return
        except (OSError, ValueError):
            pass
    out = open(SINK_OUT, "ab")  # noqa: SIM115 - handed to the daemon
    proc = subprocess.Popen(
        ["smtp-sink", "-u", "nobody", "-c", f"127.0.0.1:{SINK_PORT}", "4096"],
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    with open(SINK_PID, "w") as handle:
        handle.write(str(proc.pid))
    time.sleep(0.5)


def queue_files():
    count = 0
    for sub in ("maildrop", "incoming", "active", "deferred", "hold"):
        for _dir, _subdirs, files in os.walk(os.path.join(QUEUE, sub)):
            count += len(files)
    return count


def deferred_files():
    return sum(len(files) for _d, _s, files in os.walk(os.path.join(QUEUE, "deferred")))


def log_size():
    try:
        return os.path.getsize(MAILLOG)
    except OSError:
        return 0


def log_window(offset):
    try:
        with open(MAILLOG, "rb") as handle:
            handle.seek(offset)
            return handle.read()
    except OSError:
        return b""


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    index = max(0, min(len(values) - 1, round(p / 100.0 * len(values) + 0.5) - 1))
    return values[index]


def point(senders, messages, size, ceiling, timeout):
    target = f"127.0.0.1:{SINK_PORT}" if ceiling else "127.0.0.1:25"
    sink_before = sink_count()
    log_before = log_size()
    start = time.monotonic()
    source = subprocess.run(
        [
            "smtp-source",
            "-s",
            str(senders),
            "-m",
            str(messages),
            "-l",
            str(size),
            "-f",
            SENDER,
            "-t",
            RECIPIENT,
            target,
        ],
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    injected = time.monotonic()
    deadline = start + timeout
    drained = False
    while time.monotonic() < deadline:
        if ceiling:
            if sink_count() - sink_before >= messages:
                drained = True
                break
        elif queue_files() == 0:
            drained = True
            break
        time.sleep(0.02)
    end = time.monotonic()
    # The sink's counter is updated when a session ends; give the last QUITs a moment.
    settle = time.monotonic() + 5
    window = b""
    accepted = messages if ceiling else None
    while time.monotonic() < settle:
        received = sink_count() - sink_before
        if not ceiling:
            window = log_window(log_before)
            accepted = len(_CLEANUP.findall(window))
        if received >= accepted:
            break
        time.sleep(0.1)
    received = sink_count() - sink_before
    delays = [float(d) for d in _DELAY.findall(window)] if not ceiling else []
    elapsed = end - start
    return {
        "senders": senders,
        "messages": messages,
        "size": size,
        "ceiling": ceiling,
        "source_rc": source.returncode,
        "source_errors": source.stderr.decode("utf-8", "replace").strip().splitlines()[-3:],
        "inject_seconds": round(injected - start, 3),
        "seconds": round(elapsed, 3),
        "drained": drained,
        "rate": round(messages / elapsed, 1) if drained else None,
        "accepted": accepted,
        "received": received,
        "lost": (accepted - received) if accepted is not None else None,
        "deferred": 0 if ceiling else deferred_files(),
        "delay_p50": percentile(delays, 50),
        "delay_p95": percentile(delays, 95),
        "delivered_logged": len(delays),
    }


def main(argv=None):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("sink-start")
    p = sub.add_parser("point")
    p.add_argument("--senders", type=int, required=True)
    p.add_argument("--messages", type=int, required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--ceiling", action="store_true")
    p.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)
    if args.cmd == "sink-start":
        sink_start()
        return 0
    sink_start()
    json.dump(point(args.senders, args.messages, args.size, args.ceiling, args.timeout), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
