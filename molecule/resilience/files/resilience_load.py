#!/usr/bin/env python3
# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Load, probe and count for the `resilience` Molecule scenario (issue 13, section 3).

Test helper, run on the test host (Python standard library only). It talks only to loopback.

``send``
    Sends messages to 127.0.0.1:25 at RATE messages per second through a few concurrent SMTP
    sessions, until STOP_FILE exists, COUNT messages have been started or DEADLINE seconds have
    passed, whichever comes first. Every message carries a unique ``X-SBS-Seq`` header. A message
    refused with a 4xx reply, a refused connection or a dropped connection is sent again after a
    short pause, on a new connection, at most RETRIES times and never after the overall DEADLINE.
    Each message's final outcome is one JSON line in LOG (``accepted`` with the queue id from the
    250 reply, ``rejected`` for a 5xx, ``gave_up``); the totals go to SUMMARY when it ends.
``probe``
    Every INTERVAL seconds opens a TCP connection to 127.0.0.1:25 and reads the 220 banner, until
    DURATION has passed or STOP_FILE exists. Writes the longest time between two banners, every
    gap with failed probes in it (start, end, errors) and each distinct banner with the time it was
    first seen. A measurement for docs/reliability.md, not an assertion.
``count``
    Reads the sender's LOG and SUMMARY, the sink's message files and the probe's summary and
    prints one JSON document: sent, accepted, temporarily refused, delivered, lost (accepted,
    never delivered), duplicated (delivered more than once; counted apart as duplicated_rfc1047
    when the message's connection dropped after the end of its data), the ids behind each
    non-zero figure, and per site run (WINDOWS, from the host's clock) the messages accepted,
    the failed attempts and the port-25 gaps that fell into it.

Times are seconds since the epoch (the host's clock, which the container shares).
"""

import argparse
import collections
import contextlib
import json
import os
import smtplib
import socket
import sys
import threading
import time

HOST = "127.0.0.1"
SEQ_HEADER = "X-SBS-Seq"


# ---------------------------------------------------------------------------------------------
# send


class TemporaryFailure(Exception):
    """A 4xx reply, a refused or dropped connection: the message is sent again."""

    def __init__(self, phase, error):
        super().__init__(f"{phase}: {error}")
        self.phase = phase
        self.error = error


class PermanentFailure(Exception):
    """A 5xx reply: the message is not sent again."""


def message_text(run_id, seq, sender, recipient, body_bytes):
    ident = f"{run_id}-{seq:06d}"
    body = "\r\n".join(
        f"line {n:04d} of the resilience test message {ident}" for n in range(body_bytes // 50 + 1)
    )
    text = (
        f"From: <{sender}>\r\n"
        f"To: <{recipient}>\r\n"
        f"Subject: resilience {ident}\r\n"
        f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime())}\r\n"
        f"Message-ID: <{ident}@resilience.example.test>\r\n"
        f"{SEQ_HEADER}: {ident}\r\n"
        "\r\n"
        f"{body}\r\n"
    )
    return ident, text


class Session:
    """One SMTP session that sends several messages, reconnecting after any failure."""

    def __init__(self, args):
        self.args = args
        self.smtp = None
        self.sent_here = 0

    def close(self, polite):
        if self.smtp is not None:
            try:
                if polite:
                    self.smtp.quit()
                else:
                    self.smtp.close()
            except (OSError, smtplib.SMTPException):
                pass
        self.smtp = None
        self.sent_here = 0

    def _open(self):
        try:
            smtp = smtplib.SMTP(timeout=self.args.timeout)
            code, reply = smtp.connect(HOST, self.args.port)
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure("connect", repr(exc)) from exc
        if code != 220:
            smtp.close()
            raise TemporaryFailure("connect", f"{code} {reply!r}")
        self.smtp = smtp
        self._command("helo", "EHLO resilience-sender.example.test", 250)

    def _command(self, phase, line, expected):
        try:
            code, reply = self.smtp.docmd(line)
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(phase, repr(exc)) from exc
        if code == expected:
            return reply
        text = f"{code} {reply.decode(errors='replace')}"
        if 400 <= code < 500:
            raise TemporaryFailure(phase, text)
        raise PermanentFailure(f"{phase}: {text}")

    def send(self, sender, recipient, text):
        """Send one message; return the 250 reply to the end of its data."""
        if self.smtp is None:
            self._open()
        self._command("mail", f"MAIL FROM:<{sender}>", 250)
        self._command("rcpt", f"RCPT TO:<{recipient}>", 250)
        self._command("data", "DATA", 354)
        stuffed = "\r\n".join(
            "." + line if line.startswith(".") else line for line in text.split("\r\n")
        )
        try:
            self.smtp.send(stuffed.encode() + b".\r\n")
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure("data", repr(exc)) from exc
        # The end of the data is on its way: a failure from here on is ambiguous, Postfix may
        # have queued the message (RFC 1047), so the phase gets its own name.
        try:
            code, reply = self.smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure("end-of-data", repr(exc)) from exc
        text_reply = reply.decode(errors="replace")
        if code == 250:
            self.sent_here += 1
            return text_reply
        if 400 <= code < 500:
            raise TemporaryFailure("end-of-data", f"{code} {text_reply}")
        raise PermanentFailure(f"end-of-data: {code} {text_reply}")


class Sender:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.next_seq = 0
        self.start = time.time()
        self.deadline = self.start + args.deadline
        self.interval = 1.0 / args.rate
        self.log = open(args.log, "w", encoding="utf-8")  # noqa: SIM115 - shared by threads
        self.totals = collections.Counter()

    def take(self):
        with self.lock:
            if (
                self.next_seq >= self.args.count
                or time.time() > self.deadline
                or os.path.exists(self.args.stop_file)
            ):
                return None
            seq = self.next_seq
            self.next_seq += 1
            return seq

    def record(self, entry):
        with self.lock:
            self.log.write(json.dumps(entry, sort_keys=True) + "\n")
            self.log.flush()
            self.totals[entry["outcome"]] += 1
            if entry["failures"]:
                self.totals["temp_refused"] += 1
                self.totals["temp_failures"] += len(entry["failures"])
            if any(f["phase"] == "end-of-data" for f in entry["failures"]):
                self.totals["ambiguous"] += 1

    def worker(self):
        args = self.args
        session = Session(args)
        while True:
            seq = self.take()
            if seq is None:
                break
            pause = self.start + seq * self.interval - time.time()
            if pause > 0:
                time.sleep(pause)
            ident, text = message_text(args.run_id, seq, args.sender, args.recipient, args.size)
            entry = {"seq": seq, "id": ident, "failures": [], "attempts": 0}
            while True:
                if session.sent_here >= args.per_session:
                    session.close(polite=True)
                entry["attempts"] += 1
                try:
                    reply = session.send(args.sender, args.recipient, text)
                except TemporaryFailure as exc:
                    session.close(polite=False)
                    entry["failures"].append(
                        {"phase": exc.phase, "error": exc.error[:200], "at": round(time.time(), 3)}
                    )
                    if entry["attempts"] > args.retries or time.time() > self.deadline:
                        entry.update(outcome="gave_up")
                        break
                    time.sleep(min(args.backoff * entry["attempts"], 2.0))
                    continue
                except PermanentFailure as exc:
                    session.close(polite=False)
                    entry.update(outcome="rejected", reply=str(exc)[:200])
                    break
                queue_id = reply.rsplit("queued as ", 1)[-1].strip() if "queued as" in reply else ""
                entry.update(
                    outcome="accepted",
                    queue_id=queue_id,
                    reply=reply[:200],
                    at=round(time.time(), 3),
                )
                break
            self.record(entry)
        session.close(polite=True)

    def run(self):
        threads = [threading.Thread(target=self.worker) for _ in range(self.args.sessions)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.log.close()
        end = time.time()
        summary = {
            "sent": self.next_seq,
            "accepted": self.totals["accepted"],
            "rejected": self.totals["rejected"],
            "gave_up": self.totals["gave_up"],
            "temp_refused": self.totals["temp_refused"],
            "temp_failures": self.totals["temp_failures"],
            "ambiguous": self.totals["ambiguous"],
            "started": round(self.start, 3),
            "finished": round(end, 3),
            "elapsed_s": round(end - self.start, 1),
        }
        write_json(self.args.summary, summary)
        return 0


# ---------------------------------------------------------------------------------------------
# probe


def banner(port, timeout):
    """The 220 banner of HOST:port, or raise OSError."""
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        data = b""
        while b"\n" not in data:
            chunk = sock.recv(512)
            if not chunk:
                raise ConnectionResetError("closed before the banner")
            data += chunk
        line = data.split(b"\r\n", 1)[0].decode(errors="replace")
        with contextlib.suppress(OSError):
            sock.sendall(b"QUIT\r\n")
    if not line.startswith("220"):
        raise ConnectionRefusedError(f"no 220 banner: {line!r}")
    return line


def probe(args):
    start = time.time()
    end = start + args.duration
    last_ok = None
    failures = []
    gaps = []
    banners = {}
    longest = {"ms": 0.0}
    probes = ok = 0
    while time.time() < end and not os.path.exists(args.stop_file):
        tick = time.time()
        probes += 1
        try:
            line = banner(args.port, args.timeout)
        except OSError as exc:
            failures.append(f"{type(exc).__name__}: {exc}"[:120])
        else:
            now = time.time()
            ok += 1
            text = line[4:]
            banners.setdefault(text, round(now, 3))
            if last_ok is not None:
                gap_ms = (now - last_ok) * 1000
                if gap_ms > longest["ms"]:
                    longest = {
                        "ms": round(gap_ms, 1),
                        "from": round(last_ok, 3),
                        "to": round(now, 3),
                    }
                if failures:
                    gaps.append(
                        {
                            "ms": round(gap_ms, 1),
                            "from": round(last_ok, 3),
                            "to": round(now, 3),
                            "failed_probes": len(failures),
                            "errors": sorted(set(failures)),
                        }
                    )
            failures = []
            last_ok = now
        pause = args.interval - (time.time() - tick)
        if pause > 0:
            time.sleep(pause)
    write_json(
        args.summary,
        {
            "probes": probes,
            "ok": ok,
            "interval_ms": args.interval * 1000,
            "longest_gap": longest,
            "gaps_with_failures": gaps,
            "banners": banners,
            "started": round(start, 3),
            "finished": round(time.time(), 3),
        },
    )
    return 0


# ---------------------------------------------------------------------------------------------
# count


def sink_ids(directory):
    """``Counter`` of the X-SBS-Seq values in the sink's message files (headers only)."""
    prefix = SEQ_HEADER.lower() + ":"
    found = collections.Counter()
    for root, _dirs, files in os.walk(directory):
        for name in files:
            with open(os.path.join(root, name), encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    if line in ("\n", "\r\n"):
                        break
                    if line.lower().startswith(prefix):
                        found[line.split(":", 1)[1].strip()] += 1
                        break
    return found


def inside(when, window):
    return window["from"] <= when <= window["to"]


def step_figures(window, outcomes, probe_report):
    """What the load met while one site run was going on: accepted messages, failed attempts,
    port-25 gaps with failed probes."""
    accepted = sum(
        1
        for entry in outcomes.values()
        if entry["outcome"] == "accepted" and inside(entry["at"], window)
    )
    failed = sum(
        1
        for entry in outcomes.values()
        for failure in entry["failures"]
        if inside(failure["at"], window)
    )
    gaps = [
        gap["ms"]
        for gap in probe_report.get("gaps_with_failures", [])
        if inside(gap["from"], window) or inside(gap["to"], window)
    ]
    return {
        "name": window["name"],
        "seconds": round(window["to"] - window["from"], 1),
        "accepted": accepted,
        "temp_failures": failed,
        "port25_gaps_ms": gaps,
    }


def probe_figures(probe_report, windows):
    if not probe_report:
        return {}
    longest = probe_report["longest_gap"]
    during = [w["name"] for w in windows if "from" in longest and inside(longest["from"], w)]
    return {
        "probes": probe_report["probes"],
        "banners_read": probe_report["ok"],
        "interval_ms": probe_report["interval_ms"],
        "longest_gap_ms": longest["ms"],
        "longest_gap_during": during[0] if during else "between runs",
        "gaps_with_failures_ms": [gap["ms"] for gap in probe_report["gaps_with_failures"]],
        "banners": sorted(probe_report["banners"], key=probe_report["banners"].get),
    }


def count(args):
    with open(args.summary, encoding="utf-8") as handle:
        summary = json.load(handle)
    outcomes = {}
    with open(args.log, encoding="utf-8") as handle:
        for line in handle:
            entry = json.loads(line)
            outcomes[entry["id"]] = entry
    delivered = sink_ids(args.sink)
    ours = {ident: n for ident, n in delivered.items() if ident.startswith(args.run_id + "-")}
    accepted = {ident for ident, entry in outcomes.items() if entry["outcome"] == "accepted"}
    lost = sorted(accepted - set(ours))
    # A message whose connection dropped after the end of its data may have been queued before
    # the drop; its retry then delivers it twice (RFC 1047). SMTP leaves that window open, so
    # such copies are counted apart; any other second copy is a fault.
    dropped_after_data = {
        ident
        for ident, entry in outcomes.items()
        if any(failure["phase"] == "end-of-data" for failure in entry["failures"])
    }
    copies = {ident: n for ident, n in ours.items() if n > 1}
    duplicated = sorted(set(copies) - dropped_after_data)
    duplicated_rfc1047 = sorted(set(copies) & dropped_after_data)
    # Delivered although the sender never saw a 250 for it: possible only after a failure at
    # the end of the data (Postfix queued it, the reply never arrived).
    unconfirmed = sorted(set(ours) - accepted)
    windows = json.loads(args.windows) if args.windows else []
    probe_report = {}
    if args.probe:
        with open(args.probe, encoding="utf-8") as handle:
            probe_report = json.load(handle)
    report = {
        "steps": [step_figures(window, outcomes, probe_report) for window in windows],
        "port25": probe_figures(probe_report, windows),
        "sent": summary["sent"],
        "logged": len(outcomes),
        "accepted": len(accepted),
        "temp_refused": summary["temp_refused"],
        "temp_failures": summary["temp_failures"],
        "ambiguous": summary["ambiguous"],
        "rejected": summary["rejected"],
        "gave_up": summary["gave_up"],
        "delivered": len(ours),
        "delivered_files": sum(ours.values()),
        "lost": len(lost),
        "duplicated": len(duplicated),
        "duplicated_rfc1047": len(duplicated_rfc1047),
        "rfc1047_extra_copies": sum(copies[ident] - 1 for ident in duplicated_rfc1047),
        "unconfirmed": len(unconfirmed),
        "lost_ids": lost[:20],
        "duplicated_ids": [
            {
                "id": ident,
                "copies": ours[ident],
                "failures": outcomes.get(ident, {}).get("failures"),
            }
            for ident in (duplicated + duplicated_rfc1047)[:20]
        ],
        "unconfirmed_ids": unconfirmed[:20],
        "sender_elapsed_s": summary["elapsed_s"],
        "sender_started": summary["started"],
        "sender_finished": summary["finished"],
    }
    json.dump(report, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


# ---------------------------------------------------------------------------------------------


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)

    send_p = sub.add_parser("send")
    send_p.add_argument("--count", type=int, default=5000, help="messages at most")
    send_p.add_argument("--rate", type=float, default=125.0, help="messages per second")
    send_p.add_argument("--deadline", type=float, default=600.0, help="seconds, hard limit")
    send_p.add_argument("--stop-file", required=True, help="no new message once it exists")
    send_p.add_argument("--sessions", type=int, default=8)
    send_p.add_argument("--per-session", type=int, default=10, help="messages per connection")
    send_p.add_argument("--retries", type=int, default=40)
    send_p.add_argument("--backoff", type=float, default=0.1, help="seconds, times the attempt")
    send_p.add_argument("--timeout", type=float, default=30.0)
    send_p.add_argument("--size", type=int, default=1024, help="approximate body bytes")
    send_p.add_argument("--port", type=int, default=25)
    send_p.add_argument("--run-id", default="r1")
    send_p.add_argument("--sender", default="load@example.test")
    send_p.add_argument("--recipient", default="sink@sink.test")
    send_p.add_argument("--log", required=True)
    send_p.add_argument("--summary", required=True)

    probe_p = sub.add_parser("probe")
    probe_p.add_argument("--interval", type=float, default=0.05)
    probe_p.add_argument("--duration", type=float, default=600.0, help="seconds, hard limit")
    probe_p.add_argument("--timeout", type=float, default=2.0)
    probe_p.add_argument("--port", type=int, default=25)
    probe_p.add_argument("--stop-file", required=True)
    probe_p.add_argument("--summary", required=True)

    count_p = sub.add_parser("count")
    count_p.add_argument("--run-id", default="r1")
    count_p.add_argument("--log", required=True)
    count_p.add_argument("--summary", required=True)
    count_p.add_argument("--sink", required=True)
    count_p.add_argument("--probe", help="the probe's summary")
    count_p.add_argument(
        "--windows", help='JSON list of {"name", "from", "to"}: the site runs, epoch seconds'
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.command == "send":
        return Sender(args).run()
    if args.command == "probe":
        return probe(args)
    return count(args)


if __name__ == "__main__":
    sys.exit(main())
