#!/usr/bin/env python3
# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One measurement point of the throughput benchmark, run INSIDE the benchmark container.

Standard library only (the container's python3, 3.11 on Debian 12). Traffic stays on loopback:
the sender -> 127.0.0.1:25 (Postfix) -> relayhost [127.0.0.1]:2525 (smtp-sink), or the sender
straight into the sink for the ceiling.

The sender is the collection's own, ``plugins/module_utils/_smtpload.py`` (what
``sbs.postfix.smtp_load`` runs on a mail host): run.py copies ``plugins/module_utils/*.py`` into
the container under :data:`LIB`, as the package ``ansible_collections.sbs.postfix``, so the
driver imports them exactly as the module does (``_smtpload`` reads the log through
``_maillog`` and ``_baseline``). ``send_load`` opens ``--senders`` concurrent SMTP sessions and
times every message from the sender's side; ``--per-session 1`` (the default) opens one
connection per message, as the smtp-source runs before did, so every message passes the door
(the listen queue) and its time to 250 includes that wait.

    driver.py sink-start                 start the sink (idempotent)
    driver.py point --senders N --messages M --size BYTES [--ceiling] [--timeout S]

``point`` prints one JSON object:

* end to end, as before: messages/s (accepted ones) from the first connection attempt until the
  queue is empty and the sink holds every message Postfix accepted with 250; accepted,
  received (accepted messages found at the sink), lost (accepted, not at the sink);
* ``sender``: ``_smtpload``'s figures (smtp_load's ``load``) as they are: refused connections,
  time-outs, retries, time to banner, time to 250, and first attempt to delivery from Postfix's
  log (its ``status=sent`` lines, 1 s stamps of ``maillog_file``);
* ``sink``: first attempt to delivery at the sink, per message: the smtp-sink runs with ``-d``
  and writes every transaction to a file of its own on tmpfs, closed when the final "." has
  arrived, so the file's mtime is the moment of delivery; the message's ``X-SBS-Load`` header
  ties it to the sender's record (its first attempt). Resolution: the file system stamps with
  the kernel's coarse clock, at most one tick (``clock_getres(CLOCK_REALTIME_COARSE)``, 4 ms
  at HZ=250) below the truth; that step is added to every value (like ``_smtpload`` does with
  log stamps), so no value is below the truth;
* Postfix's own ``delay=`` p50/p95 of the window's deliveries, flat copies of the figures above
  for run.py (``to250_p95`` and so on).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time

SINK_PORT = 2525
SINK_OUT = "/var/tmp/sbs-bench-sink.out"
SINK_PID = "/var/tmp/sbs-bench-sink.pid"
# tmpfs in the container (systemd mode): dumps cost memory, not disk writes
SINK_DIR = "/tmp/sbs-bench-sink"
SINK_TEMPLATE = f"{SINK_DIR}/%H%M%S."
MAILLOG = "/var/log/postfix-bench.log"
QUEUE = "/var/spool/postfix"
SENDER = "bench@source.test"
RECIPIENT = "rcpt@sink.test"
# where run.py puts ansible_collections/sbs/postfix/plugins/module_utils/*.py
LIB = "/usr/local/lib/sbs-bench"
# how much of a dump file to read for the X-SBS-Load header (sink, Postfix and message headers)
HEAD_BYTES = 8192
# CLOCK_REALTIME_COARSE (Linux): the clock file system time stamps come from
CLOCK_REALTIME_COARSE = 5

_MESG = re.compile(rb"mesg=(\d+)")
_DELAY = re.compile(rb" delay=([0-9.]+),.* status=sent ")
_CLEANUP = re.compile(rb"postfix/cleanup\[\d+\]: [0-9A-Za-z]+: message-id=")
_LOAD_ID = re.compile(rb"^X-SBS-Load: (\S+)", re.M)


def smtpload():
    """The collection's ``_smtpload`` from :data:`LIB` (or a collections path on sys.path)."""
    if LIB not in sys.path:
        sys.path.insert(0, LIB)
    from ansible_collections.sbs.postfix.plugins.module_utils import (  # noqa: PLC0415
        _smtpload,
    )

    return _smtpload


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
    os.makedirs(SINK_DIR, exist_ok=True)
    os.chmod(SINK_DIR, 0o1777)  # the sink writes as nobody
    out = open(SINK_OUT, "ab")  # noqa: SIM115 - handed to the daemon
    proc = subprocess.Popen(
        [
            "smtp-sink",
            "-u",
            "nobody",
            "-c",
            "-d",
            SINK_TEMPLATE,
            f"127.0.0.1:{SINK_PORT}",
            "4096",
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    with open(SINK_PID, "w") as handle:
        handle.write(str(proc.pid))
    time.sleep(0.5)


def sink_clear():
    """Remove the dumps of earlier points (no transaction is open between points)."""
    for name in os.listdir(SINK_DIR):
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(SINK_DIR, name))


def sink_deliveries():
    """``({load id: [epoch of each delivery, ascending]}, dumps without an id)``."""
    found = {}
    other = 0
    for name in os.listdir(SINK_DIR):
        path = os.path.join(SINK_DIR, name)
        try:
            with open(path, "rb") as handle:
                when = os.fstat(handle.fileno()).st_mtime_ns / 1e9
                head = handle.read(HEAD_BYTES)
        except OSError:
            continue
        m = _LOAD_ID.search(head)
        if m is None:
            other += 1
            continue
        found.setdefault(m.group(1).decode("ascii", "replace"), []).append(when)
    for times in found.values():
        times.sort()
    return found, other


def stamp_resolution():
    """How far below the truth a file's mtime may be: one tick of the coarse clock."""
    try:
        return time.clock_getres(CLOCK_REALTIME_COARSE)
    except OSError:
        return 0.01  # not Linux: assume a 100 Hz tick


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


def _send(module, box, kwargs):
    try:
        box["load"], box["records"] = module.send_load(**kwargs)
    except BaseException as exc:  # reported in the point's JSON
        box["error"] = f"{type(exc).__name__}: {exc}"


def sink_figures(module, records, run_id, resolution):
    """First attempt to delivery at the sink, per accepted message; counts of what arrived."""
    deliveries, other = sink_deliveries()
    accepted = {f"{run_id}-{r['n']}": r for r in records if r["outcome"] == "accepted"}
    durations = []
    for ident, record in accepted.items():
        times = deliveries.get(ident)
        if times:
            # the stamp may be up to one tick early: count to the tick's end, never flatter
            durations.append(max(0.0, times[0] + resolution - record["first_attempt"]))
    ours = {ident: times for ident, times in deliveries.items() if ident.startswith(run_id)}
    return {
        "first_attempt_to_delivery": module.summarise(durations, percentiles=(50, 95, 99)),
        "resolution_seconds": resolution,
        "received": len(durations),
        "missing": len(accepted) - len(durations),
        "duplicates": sum(len(times) - 1 for times in ours.values()),
        # delivered although the sender got no 250 (a reply lost after the end of data)
        "unaccepted": sum(1 for ident in ours if ident not in accepted),
        "other_dumps": other,
    }


def point(args):
    module = smtpload()
    ceiling = args.ceiling
    port = SINK_PORT if ceiling else 25
    target = module.resolve_target("127.0.0.1", port)
    resolution = stamp_resolution()
    sink_clear()
    sink_before = sink_count()
    log_before = log_size()
    log = None
    log_error = None
    if not ceiling:
        try:
            log = module.DeliveryLog(None, log_source="files", log_paths=[MAILLOG])
            log.mark()
        except RuntimeError as exc:
            log_error = str(exc)
    run_id = module.new_run_id()
    box = {}
    sender = threading.Thread(
        target=_send,
        args=(
            module,
            box,
            {
                "recipient": RECIPIENT,
                "target": target,
                "sender": SENDER,
                "count": args.messages,
                "size": args.size,
                "sessions": args.senders,
                "per_session": args.per_session,
                "retries": args.retries,
                "retry_pause": args.retry_pause,
                "connect_timeout": args.connect_timeout,
                "timeout": args.reply_timeout,
                "run_id": run_id,
            },
        ),
        daemon=True,
    )
    start = time.monotonic()
    sender.start()
    sender.join(args.timeout)
    injected = time.monotonic()
    load = box.get("load")
    records = box.get("records") or []
    error = box.get("error") or (None if load else f"the sender ran longer than {args.timeout} s")
    accepted = load["accepted"] if load else 0
    deadline = start + args.timeout
    drained = False
    while load and time.monotonic() < deadline:
        if ceiling:
            if sink_count() - sink_before >= accepted:
                drained = True
                break
        elif queue_files() == 0:
            drained = True
            break
        time.sleep(0.02)
    end = time.monotonic()
    # The sink's counter is updated when a session ends; give the last QUITs a moment.
    settle = time.monotonic() + 5
    while load and time.monotonic() < settle and sink_count() - sink_before < accepted:
        time.sleep(0.1)
    sink = sink_figures(module, records, run_id, resolution)
    window = b"" if ceiling else log_window(log_before)
    if load and log is not None:
        # Postfix's log, as smtp_load reads it: status=sent lines by queue id (1 s stamps)
        ids = [r["queue_id"] for r in records if r["outcome"] == "accepted" and r["queue_id"]]
        left = module.wait_for_delivery(log, ids, 10.0)
        module.add_delivery(load, records, log, left, 10.0)
    elif load and log_error:
        load["warnings"].append(log_error)
    delays = [float(d) for d in _DELAY.findall(window)]
    elapsed = end - start
    received = sink["received"]
    if load:
        load.pop("queue_ids", None)

    def fig(block, key):
        value = (load or {}).get(block) if block != "sink" else sink["first_attempt_to_delivery"]
        return value.get(key) if value else None

    return {
        "senders": args.senders,
        "messages": args.messages,
        "size": args.size,
        "ceiling": ceiling,
        "sender_error": error,
        "inject_seconds": round(injected - start, 3),
        "seconds": round(elapsed, 3),
        "drained": drained,
        # accepted messages per second (all of them unless the sender gave some up)
        "rate": round(accepted / elapsed, 1) if drained and accepted else None,
        "accepted": accepted,
        # what Postfix counted as received (cleanup's message-id lines): more than accepted
        # when a 250 was lost after the end of data and the retry sent a second copy
        "cleanup_messages": None if ceiling else len(_CLEANUP.findall(window)),
        "received": received,
        "sink_messages": sink_count() - sink_before,
        "lost": accepted - received,
        "deferred": 0 if ceiling else deferred_files(),
        "delay_p50": percentile(delays, 50),
        "delay_p95": percentile(delays, 95),
        "delivered_logged": len(delays),
        # the sender's side, flat for run.py (seconds; counts)
        "refused": load["refused_connections"] if load else None,
        "timeouts": load["timeouts"] if load else None,
        "retries": load["retries"] if load else None,
        "dropped": load["dropped_connections"] if load else None,
        "gave_up": load["gave_up"] if load else None,
        "banner_p50": fig("time_to_banner", "p50"),
        "banner_p95": fig("time_to_banner", "p95"),
        "to250_p50": fig("time_to_250", "p50"),
        "to250_p95": fig("time_to_250", "p95"),
        "to250_p99": fig("time_to_250", "p99"),
        "delivery_p50": fig("sink", "p50"),
        "delivery_p95": fig("sink", "p95"),
        "delivery_p99": fig("sink", "p99"),
        "delivery_log_p50": fig("first_attempt_to_delivery", "p50"),
        "delivery_log_p95": fig("first_attempt_to_delivery", "p95"),
        "sender": load,
        "sink": sink,
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
    # smtp_load's defaults, but one message per connection (as smtp-source without -d)
    p.add_argument("--per-session", type=int, default=1)
    p.add_argument("--retries", type=int, default=3)
    p.add_argument("--retry-pause", type=float, default=0.5)
    p.add_argument("--connect-timeout", type=float, default=10.0)
    p.add_argument("--reply-timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    if args.cmd == "sink-start":
        sink_start()
        return 0
    sink_start()
    json.dump(point(args), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
