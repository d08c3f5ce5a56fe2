# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Send test mail to an SMTP server and time it from the sender's side (used by smtp_load).

PRIVATE to the sbs.postfix collection: the interface may change without notice.

Runs on the managed host: standard library only. The sending code runs on Python 3.9 and
later. The delivery times come from the mail log through :mod:`._maillog` (its time stamp
parsing and its line expression), whose expression needs Python 3.11 (possessive repeats):
that module is imported only when delivery times are asked for, and on an older Python they
are reported as missing instead of failing the whole run.

Why the sender's side: Postfix's ``delay=`` starts when smtpd has accepted a connection. A
client that waits in the kernel's listen queue (every smtpd busy, the backlog full, SYNs
dropped and sent again) waits before Postfix knows about it, so no log line shows that wait
and a log-based latency can look better on a host that serves its clients worse. Only the
client sees it, and this module is the client.

What is timed (seconds, from the host's clocks; durations with ``time.perf_counter``):

* ``time_to_banner``: per connection opened, from the start of ``connect()`` to the 220
  greeting: the listen-queue wait, the TCP handshake (SYN retries included) and smtpd's or
  postscreen's greeting delay.
* ``time_to_250``: per accepted message, from its first attempt (the connection it opened,
  or its ``MAIL FROM`` on a connection already open) to the 250 reply to the end of its data,
  every retry and pause included.
* ``first_attempt_to_delivery``: per delivered message, from its first attempt (wall clock,
  ``time.time``) to the time stamp of its ``status=sent`` line in the mail log.

Percentiles are nearest rank: the smallest value that at least p % of the values are less
than or equal to (no interpolation; with 20 values p95 is the 19th smallest).
"""

from __future__ import annotations

import collections
import email.utils
import ipaddress
import json
import math
import os
import re
import socket
import sys
import threading
import time
import uuid

HEADER = "X-SBS-Load"
QUEUE_IDS_KEPT = 20
ERRORS_KEPT = 5
# how long a reply line may be before it is cut (RFC 5321 allows 512 octets)
REPLY_LINE_LIMIT = 8192
# once postqueue no longer holds a message, how long the log may take to show its lines
LOG_GRACE = 3.0
# how often the queue is asked while waiting for delivery (seconds)
QUEUE_CHECK_INTERVAL = 2.0

_QUEUED_AS = re.compile(r"queued as ([0-9A-Za-z]+)")
_JOURNAL_CURSOR = re.compile(rb"^-- cursor: (\S+)", re.M)

# how a failed attempt ended; all but REJECTED are sent again (at most ``retries`` times)
REFUSED, TIMEOUT, DROPPED, TEMPORARY, REJECTED = (
    "refused",
    "timeout",
    "dropped",
    "temporary",
    "rejected",
)


# ---------------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------------


def percentile(ordered, p):
    """Nearest-rank percentile of an ascending list (``None`` when it is empty)."""
    if not ordered:
        return None
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[rank - 1]


def summarise(values, percentiles=(50, 95)):
    """``{"count", "p50", ..., "max"}`` of ``values`` (seconds, rounded to 0.1 ms)."""
    ordered = sorted(values)
    result = {"count": len(ordered)}
    for p in percentiles:
        value = percentile(ordered, p)
        result[f"p{p}"] = None if value is None else round(value, 4)
    result["max"] = round(ordered[-1], 4) if ordered else None
    return result


# ---------------------------------------------------------------------------------------------
# where the mail goes
# ---------------------------------------------------------------------------------------------


def resolve_target(host, port, allow_remote=False, getaddrinfo=socket.getaddrinfo):
    """``(family, sockaddr)`` to connect to for ``host``:``port``.

    Every address ``host`` resolves to must be a loopback one unless ``allow_remote``: test
    traffic must never reach the Internet. The connection goes to the first address, the one
    that was checked. Raises ``ValueError`` with a message a person can act on.
    """
    if not 0 < port < 65536:
        raise ValueError(f"port must be between 1 and 65535 (got {port})")
    try:
        infos = getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValueError(f"cannot resolve host {host!r}: {exc}") from exc
    if not infos:
        raise ValueError(f"host {host!r} resolves to no address")
    if not allow_remote:
        for info in infos:
            address = str(info[4][0]).split("%", 1)[0]
            try:
                loopback = ipaddress.ip_address(address).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise ValueError(
                    f"host {host!r} ({address}) is not a loopback address: smtp_load sends "
                    "real messages, and test traffic must never reach the Internet. Send to "
                    "127.0.0.1 or ::1, or set allow_remote to true for a host of your own "
                    "test network whose domains all end in a sink"
                )
    family, _type, _proto, _name, sockaddr = infos[0]
    return family, sockaddr


def build_message(run_id, n, *, sender, recipient, size, hostname="localhost"):
    """The message ``n`` of a run as bytes with CRLF line ends: headers with the unique
    ``X-SBS-Load: <run id>-<n>``, then a body that brings it to ``size`` bytes (never less than
    the headers). No line starts with a dot, so nothing needs dot-stuffing."""
    ident = f"{run_id}-{n}"
    head = (
        f"From: <{sender or 'MAILER-DAEMON@' + hostname}>\r\n"
        f"To: <{recipient}>\r\n"
        f"Subject: sbs.postfix load test {ident}\r\n"
        f"Date: {email.utils.formatdate(localtime=False, usegmt=True)}\r\n"
        f"Message-ID: <{ident}@{hostname}>\r\n"
        f"{HEADER}: {ident}\r\n"
        "\r\n"
    ).encode()
    remaining = size - len(head)
    filler = f"sbs.postfix load test message {ident} " * 4
    lines = []
    while remaining >= 2:
        # lines of at most 78 bytes; never leave a single byte that cannot hold a line end
        chunk = min(78, remaining)
        if remaining - chunk == 1:
            chunk -= 1
        lines.append(filler[: chunk - 2].encode("ascii") + b"\r\n")
        remaining -= chunk
    return head + b"".join(lines)


# ---------------------------------------------------------------------------------------------
# one SMTP session
# ---------------------------------------------------------------------------------------------


class Failure(Exception):
    """One attempt failed: ``kind`` (REFUSED, TIMEOUT, DROPPED, TEMPORARY, REJECTED), ``text``
    for a person, ``usable`` when the connection can carry the next attempt (after RSET)."""

    def __init__(self, kind, text, usable=False):
        super().__init__(text)
        self.kind = kind
        self.text = text
        self.usable = usable


def _os_failure(phase, exc):
    # socket.timeout: Python 3.9 has no TimeoutError for sockets yet
    if isinstance(exc, socket.timeout):
        return Failure(TIMEOUT, f"{phase}: timed out")
    if phase == "connect":
        return Failure(REFUSED, f"connect: {exc}")
    return Failure(DROPPED, f"{phase}: {exc}")


def _reply_failure(phase, code, text):
    reply = f"{phase}: {code} {text}"[:300]
    if code == 421 or phase == "banner":
        # 421: the server closes the connection; a greeting other than 220 ends it too
        kind = REJECTED if 500 <= code < 600 else TEMPORARY
        return Failure(kind, reply)
    if 400 <= code < 500:
        return Failure(TEMPORARY, reply, usable=True)
    if 500 <= code < 600:
        return Failure(REJECTED, reply, usable=True)
    return Failure(DROPPED, f"{phase}: unexpected reply {code} {text}"[:300])


class Session:
    """An SMTP connection that sends messages one after another."""

    def __init__(self, target, connect_timeout, timeout, helo):
        self.target = target
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.helo = helo
        self.sock = None
        self.reader = None
        self.transactions = 0

    def open(self):
        """Connect, read the greeting, EHLO; returns the seconds from connect() to the 220."""
        family, sockaddr = self.target
        started = time.perf_counter()
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.connect_timeout)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            raise _os_failure("connect", exc) from exc
        sock.settimeout(self.timeout)
        self.sock = sock
        self.reader = sock.makefile("rb")
        code, text = self._reply("banner")
        banner = time.perf_counter() - started
        if code != 220:
            self.close()
            raise _reply_failure("banner", code, text)
        try:
            self.command("ehlo", f"EHLO {self.helo}", (250,))
        except Failure as failure:
            # no transaction can follow a refused EHLO: the next attempt starts over
            self.close()
            failure.usable = False
            raise
        return banner

    def _reply(self, phase):
        lines = []
        while True:
            try:
                line = self.reader.readline(REPLY_LINE_LIMIT)
            except OSError as exc:
                self.close()
                raise _os_failure(phase, exc) from exc
            if not line:
                self.close()
                raise Failure(DROPPED, f"{phase}: connection closed by the server")
            lines.append(line.rstrip(b"\r\n"))
            if line[3:4] != b"-":
                break
        last = lines[-1]
        if not last[:3].isdigit():
            self.close()
            raise Failure(DROPPED, f"{phase}: not an SMTP reply: {last[:80]!r}")
        text = " ".join(item[4:].decode("utf-8", "replace") for item in lines)
        return int(last[:3]), text

    def _send(self, phase, data):
        try:
            self.sock.sendall(data)
        except OSError as exc:
            self.close()
            raise _os_failure(phase, exc) from exc

    def command(self, phase, line, expected):
        self._send(phase, line.encode("utf-8") + b"\r\n")
        code, text = self._reply(phase)
        if code not in expected:
            failure = _reply_failure(phase, code, text)
            if not failure.usable:
                self.close()
            raise failure
        return text

    def send(self, sender, recipient, message):
        """One transaction; returns the text of the 250 reply to the end of the data."""
        self.command("mail", f"MAIL FROM:<{sender}>", (250,))
        self.command("rcpt", f"RCPT TO:<{recipient}>", (250, 251))
        self.command("data", "DATA", (354,))
        self._send("data", message + b".\r\n")
        # From here a failure is ambiguous: Postfix may have queued the message before the
        # connection broke (RFC 1047), so a retry can deliver it twice.
        self.transactions += 1
        code, text = self._reply("end of data")
        if code != 250:
            failure = _reply_failure("end of data", code, text)
            if not failure.usable:
                self.close()
            raise failure
        return text

    def reset(self):
        """RSET after a refused command; closes the connection when that fails too."""
        try:
            self.command("rset", "RSET", (250,))
        except Failure:
            self.close()

    def close(self, polite=False):
        if self.sock is None:
            return
        if polite:
            try:
                self._send("quit", b"QUIT\r\n")
                self._reply("quit")
            except Failure:
                pass
        for handle in (self.reader, self.sock):
            try:
                if handle is not None:
                    handle.close()
            except OSError:
                pass
        self.sock = None
        self.reader = None

    @property
    def is_open(self):
        return self.sock is not None


# ---------------------------------------------------------------------------------------------
# the load
# ---------------------------------------------------------------------------------------------


class _Run:
    """What the sending threads share: the next message number and the tallies."""

    def __init__(self, settings):
        self.settings = settings
        self.lock = threading.Lock()
        self.next = 0
        self.start = None  # epoch and perf_counter of the start
        self.start_perf = None
        self.records = []
        self.banners = []
        self.events = collections.Counter()  # failed attempts per kind, retries, connections
        self.errors = collections.Counter()
        self.crash = None

    def take(self):
        with self.lock:
            if self.next >= self.settings["count"]:
                return None
            self.next += 1
            return self.next

    def failed(self, failure):
        with self.lock:
            self.events[failure.kind] += 1
            self.errors[failure.text] += 1

    def count(self, name, n=1):
        with self.lock:
            self.events[name] += n


def _worker(run):
    try:
        _send_messages(run)
    except BaseException as exc:  # handed to the main thread, raised there
        run.crash = exc


def _send_messages(run):
    s = run.settings
    session = Session(s["target"], s["connect_timeout"], s["timeout"], s["helo"])
    try:
        while True:
            n = run.take()
            if n is None:
                return
            scheduled = None
            if s["rate"]:
                scheduled = run.start + (n - 1) / s["rate"]
                pause = scheduled - time.time()
                if pause > 0:
                    time.sleep(pause)
            record = _send_one(run, session, n, scheduled)
            with run.lock:
                run.records.append(record)
    finally:
        session.close(polite=True)


def _send_one(run, session, n, scheduled):
    s = run.settings
    message = build_message(
        s["run_id"],
        n,
        sender=s["sender"],
        recipient=s["recipient"],
        size=s["size"],
        hostname=s["helo"],
    )
    record = {"n": n, "first_attempt": time.time(), "scheduled": scheduled, "attempts": 0}
    started = time.perf_counter()
    while True:
        record["attempts"] += 1
        try:
            if session.is_open and session.transactions >= s["per_session"]:
                session.close(polite=True)
            if not session.is_open:
                session.transactions = 0
                run.count("connections")
                banner = session.open()
                with run.lock:
                    run.banners.append(banner)
            reply = session.send(s["sender"], s["recipient"], message)
        except Failure as failure:
            run.failed(failure)
            if failure.usable:
                session.reset()
            if failure.kind == REJECTED:
                record.update(outcome="rejected", reply=failure.text)
                return record
            if record["attempts"] > s["retries"]:
                record.update(outcome="gave_up", reply=failure.text)
                return record
            run.count("retries")
            time.sleep(s["retry_pause"])
            continue
        found = _QUEUED_AS.search(reply)
        record.update(
            outcome="accepted",
            time_to_250=time.perf_counter() - started,
            queue_id=found.group(1) if found else None,
        )
        return record


def check_settings(*, count, size, sessions, per_session, rate, retries, retry_pause, timeouts):
    """Refuse values that cannot make a run; ``ValueError`` names every one of them."""
    problems = []
    for name, value, low in (
        ("count", count, 1),
        ("size", size, 1),
        ("sessions", sessions, 1),
        ("per_session", per_session, 1),
        ("retries", retries, 0),
    ):
        if value < low:
            problems.append(f"{name} must be at least {low} (got {value})")
    if rate is not None and rate < 0:
        problems.append(f"rate must be positive, or 0 for no limit (got {rate})")
    if retry_pause < 0:
        problems.append(f"retry_pause must not be negative (got {retry_pause})")
    for name, value in timeouts:
        if value <= 0:
            problems.append(f"{name} must be more than 0 seconds (got {value})")
    if problems:
        raise ValueError("; ".join(problems))


def new_run_id(now=None):
    """``YYYYmmddTHHMMSSZ-xxxxxx``: when the run started (UTC) and six random hex digits."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    return f"{stamp}-{uuid.uuid4().hex[:6]}"


def send_load(
    *,
    recipient,
    target,
    sender="",
    count=100,
    size=2048,
    sessions=10,
    per_session=10,
    rate=None,
    retries=3,
    retry_pause=0.5,
    connect_timeout=10.0,
    timeout=30.0,
    run_id=None,
    helo=None,
):
    """Send ``count`` messages to ``target`` (from :func:`resolve_target`) through ``sessions``
    concurrent SMTP sessions; returns ``(load, records)``.

    ``load`` holds the figures (see the module's RETURN), ``records`` one dict per message:
    ``n``, ``first_attempt`` (epoch), ``scheduled`` (epoch or ``None``), ``attempts``,
    ``outcome`` (accepted, rejected, gave_up), ``time_to_250``, ``queue_id``, ``reply``.
    """
    check_settings(
        count=count,
        size=size,
        sessions=sessions,
        per_session=per_session,
        rate=rate,
        retries=retries,
        retry_pause=retry_pause,
        timeouts=(("connect_timeout", connect_timeout), ("timeout", timeout)),
    )
    run = _Run(
        {
            "target": target,
            "sender": sender,
            "recipient": recipient,
            "count": count,
            "size": size,
            "per_session": per_session,
            "rate": rate or None,
            "retries": retries,
            "retry_pause": retry_pause,
            "connect_timeout": connect_timeout,
            "timeout": timeout,
            "run_id": run_id or new_run_id(),
            "helo": helo or socket.gethostname() or "localhost",
        }
    )
    run.start = time.time()
    run.start_perf = time.perf_counter()
    threads = [
        threading.Thread(target=_worker, args=(run,), name=f"smtp_load-{i}", daemon=True)
        for i in range(min(sessions, count))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if run.crash is not None:
        raise run.crash
    elapsed = time.perf_counter() - run.start_perf
    records = sorted(run.records, key=lambda record: record["n"])
    return load_figures(run, records, elapsed), records


def load_figures(run, records, elapsed):
    outcomes = collections.Counter(record["outcome"] for record in records)
    accepted = [record for record in records if record["outcome"] == "accepted"]
    lag = [
        max(0.0, record["first_attempt"] - record["scheduled"])
        for record in records
        if record["scheduled"] is not None
    ]
    events = run.events
    return {
        "run_id": run.settings["run_id"],
        "started": _iso(run.start),
        "messages": len(records),
        "accepted": outcomes["accepted"],
        "rejected": outcomes["rejected"],
        "gave_up": outcomes["gave_up"],
        "connections": events["connections"],
        "refused_connections": events[REFUSED],
        "timeouts": events[TIMEOUT],
        "dropped_connections": events[DROPPED],
        "temporary_failures": events[TEMPORARY],
        "retries": events["retries"],
        "elapsed_seconds": round(elapsed, 3),
        "messages_per_second": round(len(accepted) / elapsed, 2) if elapsed > 0 else None,
        "time_to_banner": summarise(run.banners),
        "time_to_250": summarise(
            [record["time_to_250"] for record in accepted], percentiles=(50, 95, 99)
        ),
        "behind_schedule": summarise(lag) if lag else None,
        "first_attempt_to_delivery": None,
        "delivered": None,
        "undelivered": None,
        "log_resolution_seconds": None,
        "log_source": None,
        "queue_ids": [record["queue_id"] for record in accepted if record["queue_id"]][
            :QUEUE_IDS_KEPT
        ],
        "errors": [
            {"error": text, "count": n}
            for text, n in sorted(run.errors.items(), key=lambda item: (-item[1], item[0]))[
                :ERRORS_KEPT
            ]
        ],
        "warnings": [],
    }


def failure_message(load, host, port):
    """Why nothing was accepted, for ``fail_json``."""
    parts = [f"no message was accepted by {host}:{port} ({load['messages']} messages"]
    for key, label in (
        ("rejected", "rejected with 5xx"),
        ("gave_up", "given up after retries"),
        ("refused_connections", "connection attempts refused"),
        ("timeouts", "time-outs"),
        ("dropped_connections", "connections dropped"),
        ("temporary_failures", "4xx replies"),
    ):
        if load[key]:
            parts.append(f"{load[key]} {label}")
    text = ", ".join(parts) + ")"
    if load["errors"]:
        top = load["errors"][0]
        text += f"; most frequent error: {top['error']} ({top['count']} times)"
    if load["refused_connections"] and not load["connections"] - load["refused_connections"]:
        text += "; is Postfix running and listening on that address and port?"
    return text


def _iso(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


# ---------------------------------------------------------------------------------------------
# delivery times from the mail log
# ---------------------------------------------------------------------------------------------


def log_modules():
    """``(_maillog, _baseline)``: the collection's log parser and how baseline_info finds the
    logs. Imported here, not at the top: their expression needs Python 3.11. Raises
    ``RuntimeError`` with a message a person can act on when they cannot be imported."""
    version = ".".join(str(part) for part in sys.version_info[:3])
    # ruff assumes Python 3.11; the sending code runs on older ones, which stop here
    if sys.version_info < (3, 11):  # noqa: UP036
        raise RuntimeError(
            "delivery times need Python 3.11 or later on the mail host (the collection's log "
            f"parser uses possessive repeats); this is Python {version}"
        )
    try:
        from ansible_collections.sbs.postfix.plugins.module_utils import (  # noqa: PLC0415
            _baseline,
            _maillog,
        )
    except ImportError as exc:
        raise RuntimeError(f"cannot load the collection's log parser: {exc}") from exc
    return _maillog, _baseline


# the groups of _maillog's line expression that close the lines wanted here
_EVENT_GROUPS = ("sent", "forwarded", "status", "expired", "removed")


def line_time(maillog, parser, data, pos):
    """``(epoch, resolution)`` of the line of ``data`` holding ``pos``, or ``(None, None)``.

    The stamp is read by :mod:`._maillog`'s expression and converted by its parser (year of
    classic stamps, offsets, cache). That parser drops fractions of a second because the
    baseline counts per second; here the fraction its expression matched is added back, and
    its number of digits is the resolution (1 s for classic stamps, 1 µs for rsyslog's high
    precision and ``journalctl -o short-iso-precise``).
    """
    start = data.rfind(b"\n", 0, pos) + 1
    m = maillog._STAMP.match(data, start)
    if m is None:
        return None, None
    seconds = parser._epoch(m.group(1), m.group(2))
    if seconds is None:
        return None, None
    end = m.start(2) if m.group(2) is not None else m.end() - 1
    fraction = data[m.end(1) : end]
    if len(fraction) > 1:
        digits = fraction[1:]
        return seconds + int(digits) / 10 ** len(digits), 10.0 ** -len(digits)
    return float(seconds), 1.0


def delivery_events(maillog, parser, rx, data, wanted=None):
    """Yield ``(queue_id, event, epoch, resolution)`` for the lines of ``data`` (bytes, whole
    lines) that deliver, bounce, defer, expire or remove a message: ``event`` is ``sent``
    (``status=sent``, also ``forwarded as``), the status of another delivery line
    (``bounced``, ``deferred``, ...), ``expired`` or ``removed``. ``rx`` is
    :func:`._maillog.compile_line_regex`'s expression; ``wanted`` limits the queue ids."""
    for m in rx.finditer(data):
        group = m.lastgroup
        if group not in _EVENT_GROUPS:
            continue
        qid = m.group("qid")
        if qid is None:
            continue
        qid = qid.decode("ascii", "replace")
        if wanted is not None and qid not in wanted:
            continue
        if group == "forwarded":
            event = "sent"
        elif group == "status":
            event = m.group("status").decode("ascii", "replace")
        else:
            event = group
        when, resolution = line_time(maillog, parser, data, m.start())
        if when is not None:
            yield qid, event, when, resolution


class DeliveryLog:
    """The mail log from a mark on: log files read from where they ended at :meth:`mark` (by
    inode, so a file rotated meanwhile is read to its end and its successor from its start),
    or the journal after the cursor it had at :meth:`mark`.

    ``events[queue_id][event] = (epoch, resolution)`` keeps the first line of each event.
    """

    def __init__(
        self,
        run,
        *,
        log_source="auto",
        log_paths=None,
        maillog_file=None,
        syslog_name=None,
        now=None,
    ):
        self.maillog, baseline = log_modules()
        self.run = run
        self.log_source = log_source
        self._explicit = list(log_paths) if log_paths else None
        self._maillog_file = maillog_file
        self._find = baseline.default_log_paths
        names = [b"postfix"]
        if syslog_name and not syslog_name.startswith("postfix") and "$" not in syslog_name:
            names.append(syslog_name.encode())
        self.rx = self.maillog.compile_line_regex(names)
        self.parser = self.maillog.MailLogParser(now=now)
        self.source = None
        self.events = {}
        self.warnings = []
        self._offsets = {}  # (device, inode) -> bytes read
        self._rest = {}  # (device, inode) -> an unfinished last line
        self._cursor = None
        self._since = None

    def paths(self):
        if self._explicit is not None:
            return self._explicit
        return self._find(self._maillog_file)

    def mark(self, now=None):
        """Remember where the log ends: call before the first message is sent."""
        self._since = time.time() if now is None else now
        if self.log_source in ("auto", "files"):
            for path in self.paths():
                try:
                    st = os.stat(path)
                    with open(path, "rb"):
                        pass
                except OSError:
                    continue
                self._offsets[(st.st_dev, st.st_ino)] = st.st_size
                self.source = "files"
            if self.source is None and self.log_source == "files":
                self.warnings.append(
                    "no log file could be read ({}): no delivery times".format(
                        ", ".join(self.paths()) or "none found"
                    )
                )
                return
        if self.source is None:
            rc, out, _err = self.run(["journalctl", "--show-cursor", "-n", "0", "-q"], binary=True)
            if rc == 0:
                self.source = "journal"
                found = _JOURNAL_CURSOR.search(out or b"")
                self._cursor = found.group(1).decode() if found else None
            else:
                self.warnings.append(
                    "no log file and no journal could be read"
                    + (" (journalctl is not installed)" if rc == 127 else f" (journalctl rc={rc})")
                    + ": no delivery times"
                )

    def read(self, wanted=None):
        """Read what the log gained since the last call; returns the number of new events."""
        if self.source == "files":
            chunks = self._read_files()
        elif self.source == "journal":
            chunks = self._read_journal()
        else:
            return 0
        self.parser.begin_source(time.time())
        found = 0
        for data in chunks:
            for qid, event, when, resolution in delivery_events(
                self.maillog, self.parser, self.rx, data, wanted
            ):
                seen = self.events.setdefault(qid, {})
                if event not in seen:
                    seen[event] = (when, resolution)
                    found += 1
        return found

    def _read_files(self):
        chunks = []
        for path in self.paths():
            if path.endswith(".gz"):
                continue  # written before the run: compressed copies are old ones
            try:
                with open(path, "rb") as handle:
                    st = os.fstat(handle.fileno())
                    key = (st.st_dev, st.st_ino)
                    offset = self._offsets.get(key, 0)
                    if st.st_size < offset:  # truncated (copytruncate): start over
                        offset = 0
                        self._rest.pop(key, None)
                    handle.seek(offset)
                    data = handle.read()
            except OSError:
                continue
            self._offsets[key] = offset + len(data)
            data = self._rest.pop(key, b"") + data
            cut = data.rfind(b"\n") + 1
            if cut < len(data):
                self._rest[key] = data[cut:]
            if cut:
                chunks.append(data[:cut])
        return chunks

    def _read_journal(self):
        argv = ["journalctl", "-q", "--no-pager", "-o", "short-iso-precise", "--show-cursor"]
        if self._cursor:
            argv.append(f"--after-cursor={self._cursor}")
        else:
            argv.append(f"--since=@{int(self._since)}")
        argv.append("SYSLOG_FACILITY=2")
        rc, out, err = self.run(argv, binary=True)
        if rc != 0:
            text = err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err)
            message = f"journalctl failed (rc={rc}): {text.strip()}"
            if message not in self.warnings:
                self.warnings.append(message)
            return []
        if isinstance(out, str):
            out = out.encode("utf-8", "surrogateescape")
        found = _JOURNAL_CURSOR.search(out)
        if found:
            self._cursor = found.group(1).decode()
            out = out[: found.start()]
        return [out if out.endswith(b"\n") or not out else out + b"\n"]


def log_settings(run):
    """``(maillog_file, syslog_name)`` from ``postconf`` (``None`` for what it cannot tell):
    where Postfix's own log file is and under which name it logs."""
    rc, out, _err = run(["postconf", "maillog_file", "syslog_name"])
    values = {}
    if rc == 0:
        for line in (out or "").splitlines():
            name, sep, value = line.partition(" = ")
            if sep:
                values[name.strip()] = value.strip()
    return values.get("maillog_file") or None, values.get("syslog_name") or None


def queue_ids_in_queue(run):
    """The queue ids ``postqueue -j`` lists, or ``None`` when it cannot tell."""
    rc, out, _err = run(["postqueue", "-j"])
    if rc != 0:
        return None
    ids = set()
    for line in (out or "").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("queue_id"):
            ids.add(entry["queue_id"])
    return ids


def wait_for_delivery(
    log,
    queue_ids,
    timeout,
    *,
    queued=None,
    poll=0.5,
    clock=time.monotonic,
    sleep=time.sleep,
):
    """Read the log until each of ``queue_ids`` has left the queue (its ``removed`` line) or
    ``timeout`` seconds passed. ``queued()`` (optional) returns the ids still queued or
    ``None``: once the queue holds none of those the log has not shown leaving, the log gets
    :data:`LOG_GRACE` seconds more (a log that never shows them does not cost the whole
    timeout). Returns the ids whose ``removed`` line was not seen."""
    wanted = set(queue_ids)
    deadline = clock() + timeout
    grace_until = None
    checked = None
    while True:
        log.read(wanted)
        left = {qid for qid in wanted if "removed" not in log.events.get(qid, {})}
        now = clock()
        if not left or now >= deadline or (grace_until is not None and now >= grace_until):
            return left
        if (
            queued is not None
            and grace_until is None
            and (checked is None or now - checked >= QUEUE_CHECK_INTERVAL)
        ):
            checked = now
            still = queued()
            if still is not None and not left & still:
                grace_until = now + LOG_GRACE
        sleep(max(0.0, min(poll, deadline - now)))


def add_delivery(load, records, log, left, timeout):
    """Put the delivery figures of ``records`` (accepted messages) into ``load``."""
    durations = []
    resolution = None
    outcomes = collections.Counter()
    for record in records:
        qid = record.get("queue_id")
        if record["outcome"] != "accepted" or not qid:
            continue
        seen = log.events.get(qid, {})
        if "sent" in seen:
            when, step = seen["sent"]
            # a stamp is cut to its resolution: the delivery happened within the stamp's
            # second (or microsecond); counting to its end never flatters
            durations.append(max(0.0, when + step - record["first_attempt"]))
            resolution = step if resolution is None else max(resolution, step)
            outcomes["delivered"] += 1
        else:
            # the latest status says where it ended (bounced after deferrals, for example)
            statuses = [event for event in seen if event not in ("removed", "sent")]
            last = max(statuses, key=lambda event: seen[event][0]) if statuses else "unknown"
            outcomes[last] += 1
    accepted = load["accepted"]
    load["log_source"] = log.source
    load["warnings"].extend(log.warnings)
    without_id = accepted - sum(outcomes.values())
    if without_id:
        load["warnings"].append(
            f"{without_id} accepted messages had no queue id in the 250 reply: no delivery time"
        )
    if log.source is None:
        return load
    load["delivered"] = outcomes["delivered"]
    load["undelivered"] = accepted - outcomes["delivered"]
    load["first_attempt_to_delivery"] = summarise(durations)
    load["log_resolution_seconds"] = resolution
    other = {k: n for k, n in outcomes.items() if k not in ("delivered", "unknown")}
    if other:
        load["warnings"].append(
            "not delivered: " + ", ".join(f"{n} {status}" for status, n in sorted(other.items()))
        )
    if left:
        load["warnings"].append(
            f"{len(left)} accepted messages had not left the queue (no 'removed' line in the log) "
            f"after {timeout:g} s"
        )
    if outcomes["unknown"] and not left:
        load["warnings"].append(
            f"the log shows no delivery for {outcomes['unknown']} accepted messages "
            f"(log source: {log.source})"
        )
    return load
