# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/module_utils/_smtpload.py.

The sending code runs for real against :class:`FakeSMTP`, a small SMTP server on 127.0.0.1 (a
random port) in this process that answers as a test tells it to: 250, 451 then 250, 550, close
connections, greet late or never. With ``log=PATH`` it writes Postfix's delivery and
``removed`` lines for each accepted message, a little later, as postlogd would.

The log lines the delivery times are read from are real ones from
tests/unit/fixtures/maillog/; the RFC 3339 stamps with a fraction are those lines with the
stamp rewritten (rsyslog's high precision format and ``journalctl -o short-iso-precise``
cannot come from the fixtures' containers' classic-stamp logs).
"""

from __future__ import annotations

import ast
import calendar
import collections
import datetime
import email
import os
import pathlib
import socket
import socketserver
import threading
import time

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils import _maillog, _smtpload

ROOT = pathlib.Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "tests" / "unit" / "fixtures" / "maillog"
NOW = calendar.timegm((2026, 11, 30, 12, 0, 0, 0, 0, 0))
FAST = {"retry_pause": 0.01, "connect_timeout": 2.0, "timeout": 2.0}


# ---------------------------------------------------------------------------------------------
# a tiny SMTP server
# ---------------------------------------------------------------------------------------------


class _Handler(socketserver.StreamRequestHandler):
    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        server = self.server
        script = server.script
        with server.lock:
            server.connections += 1
            index = server.connections
        if index <= script["close_first"]:
            return
        if script["silent"]:
            time.sleep(script["silent"])
            return
        time.sleep(script["banner_delay"])
        self.reply(script["banner"])
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.reply("250-fake.test\r\n250-PIPELINING\r\n250 8BITMIME")
            elif verb == b"MAIL":
                self.reply("250 2.1.0 Ok")
            elif verb == b"RCPT":
                self.reply(script["rcpt"])
            elif verb == b"DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                self.data()
            elif verb == b"RSET":
                self.reply("250 2.0.0 Ok")
            elif verb == b"QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 Error: command not recognized")

    def data(self):
        server = self.server
        lines = []
        while True:
            line = self.rfile.readline()
            if line in (b".\r\n", b""):
                break
            lines.append(line)
        with server.lock:
            server.ends_of_data += 1
            n = server.ends_of_data
        replies = server.script["end_of_data"]
        time.sleep(server.script["data_delay"])
        if n <= len(replies) or server.script["always"]:
            self.reply(server.script["always"] or replies[n - 1])
            return
        qid = f"{0xABC000 + n:X}"
        with server.lock:
            server.messages.append(b"".join(lines))
            server.queue_ids.append(qid)
        if server.script["log"]:
            timer = threading.Timer(server.script["deliver_after"], server.deliver, (qid,))
            timer.daemon = True
            timer.start()
        self.reply(f"250 2.0.0 Ok: queued as {qid}")


class FakeSMTP(socketserver.ThreadingTCPServer):
    """Answers SMTP on 127.0.0.1:<random port> as ``script`` says; use as a context manager."""

    daemon_threads = True
    allow_reuse_address = True
    DEFAULTS = {
        "banner": "220 fake.test ESMTP",
        "banner_delay": 0.0,
        "close_first": 0,
        "silent": 0.0,
        "rcpt": "250 2.1.5 Ok",
        "end_of_data": (),
        "always": None,
        "data_delay": 0.0,
        "log": None,
        "stamp": "rfc3339",
        "deliver_after": 0.05,
    }

    def __init__(self, **script):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = dict(self.DEFAULTS, **script)
        self.lock = threading.Lock()
        self.connections = 0
        self.ends_of_data = 0
        self.messages = []
        self.queue_ids = []
        self.port = self.server_address[1]
        self.target = (socket.AF_INET, ("127.0.0.1", self.port))

    def deliver(self, qid):
        if self.script["stamp"] == "classic":
            stamp = time.strftime("%b %e %H:%M:%S", time.localtime())
        else:
            stamp = datetime.datetime.now(datetime.UTC).isoformat()
        text = (
            f"{stamp} fake postfix/smtp[716]: {qid}: to=<sink@sink.test>, "
            "relay=127.0.0.1[127.0.0.1]:2525, delay=0.05, delays=0.01/0.02/0.01/0.01, "
            "dsn=2.0.0, status=sent (250 2.0.0 Ok)\n"
            f"{stamp} fake postfix/qmgr[701]: {qid}: removed\n"
        )
        with self.lock, open(self.script["log"], "a", encoding="utf-8") as handle:
            handle.write(text)

    def __enter__(self):
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


def closed_port():
    """A loopback port nothing listens on (connections are refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def send(target, recipient="sink@sink.test", **kwargs):
    kwargs = dict(FAST, **kwargs)
    kwargs.setdefault("run_id", "t1")
    return _smtpload.send_load(target=target, recipient=recipient, **kwargs)


# ---------------------------------------------------------------------------------------------
# percentiles
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        (list(range(1, 101)), 50, 50),
        (list(range(1, 101)), 95, 95),
        (list(range(1, 101)), 99, 99),
        (list(range(1, 101)), 100, 100),
        (list(range(1, 21)), 95, 19),  # rank ceil(0.95 * 20) = 19
        (list(range(1, 21)), 99, 20),
        ([1, 2, 3, 4], 50, 2),  # nearest rank: no interpolation to 2.5
        ([7], 95, 7),
        ([], 50, None),
    ],
)
def test_percentile_is_nearest_rank(values, p, expected):
    assert _smtpload.percentile(values, p) == expected


def test_summarise_sorts_rounds_and_counts():
    values = [0.3, 0.1, 0.123456789, 2.0, 0.2]
    assert _smtpload.summarise(values, percentiles=(50, 95, 99)) == {
        "count": 5,
        "p50": 0.2,
        "p95": 2.0,
        "p99": 2.0,
        "max": 2.0,
    }
    assert _smtpload.summarise([0.123456789]) == {
        "count": 1,
        "p50": 0.1235,
        "p95": 0.1235,
        "max": 0.1235,
    }
    assert _smtpload.summarise([]) == {"count": 0, "p50": None, "p95": None, "max": None}


# ---------------------------------------------------------------------------------------------
# options
# ---------------------------------------------------------------------------------------------


def fake_getaddrinfo(*addresses):
    def getaddrinfo(host, port, family, kind):
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                kind,
                6,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in addresses
        ]

    return getaddrinfo


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.1.1", "::1"])
def test_loopback_targets_are_accepted(address):
    family, sockaddr = _smtpload.resolve_target(
        "localhost", 25, getaddrinfo=fake_getaddrinfo(address)
    )
    assert sockaddr[0] == address
    assert family == (socket.AF_INET6 if ":" in address else socket.AF_INET)


@pytest.mark.parametrize(
    "addresses", [("192.0.2.25",), ("127.0.0.1", "198.51.100.7"), ("2001:db8::25",)]
)
def test_non_loopback_target_is_refused_unless_allowed(addresses):
    with pytest.raises(ValueError, match=r"not a loopback address.*never reach the Internet"):
        _smtpload.resolve_target("mx", 25, getaddrinfo=fake_getaddrinfo(*addresses))
    _family, sockaddr = _smtpload.resolve_target(
        "mx", 25, allow_remote=True, getaddrinfo=fake_getaddrinfo(*addresses)
    )
    assert sockaddr[0] == addresses[0]


def test_real_resolution_of_a_loopback_literal():
    assert _smtpload.resolve_target("127.0.0.1", 25) == (socket.AF_INET, ("127.0.0.1", 25))
    with pytest.raises(ValueError, match="not a loopback"):
        _smtpload.resolve_target("192.0.2.1", 25)
    with pytest.raises(ValueError, match="port must be between 1 and 65535"):
        _smtpload.resolve_target("127.0.0.1", 0)


def test_settings_name_every_wrong_value():
    with pytest.raises(ValueError) as exc:
        _smtpload.check_settings(
            count=0,
            size=2048,
            sessions=0,
            per_session=1,
            rate=-1.0,
            retries=-1,
            retry_pause=0.5,
            timeouts=(("timeout", 0),),
        )
    text = str(exc.value)
    for name in ("count", "sessions", "rate", "retries", "timeout"):
        assert name in text
    assert "size" not in text


@pytest.mark.parametrize("size", [2048, 1000, 400, 4096 + 79, 100_000])
def test_message_has_the_size_asked_for(size):
    message = _smtpload.build_message(
        "20261130T101500Z-3fa2c1", 17, sender="", recipient="sink@sink.test", size=size
    )
    assert len(message) == size
    lines = message.split(b"\r\n")
    assert lines[-1] == b""  # ends with CRLF
    assert all(len(line) <= 78 for line in lines)
    assert not any(line.startswith(b".") for line in lines)
    parsed = email.message_from_bytes(message)
    assert parsed["X-SBS-Load"] == "20261130T101500Z-3fa2c1-17"
    assert parsed["From"] == "<MAILER-DAEMON@localhost>"


def test_message_is_never_smaller_than_its_headers():
    message = _smtpload.build_message("r", 1, sender="a@b.test", recipient="c@d.test", size=10)
    assert message.endswith(b"X-SBS-Load: r-1\r\n\r\n")


def test_the_sending_code_is_python_3_9_syntax():
    path = "plugins/module_utils/_smtpload.py"
    ast.parse((ROOT / path).read_text(), filename=path, feature_version=(3, 9))


# ---------------------------------------------------------------------------------------------
# sending against the fake server
# ---------------------------------------------------------------------------------------------


def test_every_message_accepted_through_reused_connections():
    with FakeSMTP() as server:
        load, records = send(server.target, count=25, sessions=5, per_session=3, size=1500)
    assert load["messages"] == load["accepted"] == 25
    assert (load["rejected"], load["gave_up"], load["retries"]) == (0, 0, 0)
    assert load["refused_connections"] == load["timeouts"] == load["dropped_connections"] == 0
    # each session carries at most 3 messages per connection
    assert 9 <= load["connections"] == server.connections <= 25
    assert load["time_to_banner"]["count"] == load["connections"]
    assert load["time_to_250"]["count"] == 25
    assert set(load["time_to_250"]) == {"count", "p50", "p95", "p99", "max"}
    assert load["time_to_250"]["p50"] <= load["time_to_250"]["p95"] <= load["time_to_250"]["max"]
    # the first 20 in the order of sending, as the 250 replies named them
    assert load["queue_ids"] == [r["queue_id"] for r in records][:20]
    assert sorted(r["queue_id"] for r in records) == sorted(server.queue_ids)
    assert load["behind_schedule"] is None
    assert load["first_attempt_to_delivery"] is None and load["delivered"] is None
    assert load["messages_per_second"] > 0
    headers = sorted(email.message_from_bytes(m)["X-SBS-Load"] for m in server.messages)
    assert headers == sorted(f"t1-{n}" for n in range(1, 26))
    assert all(len(m) == 1500 for m in server.messages)
    assert [r["n"] for r in records] == list(range(1, 26))


def test_temporary_4xx_is_retried_then_accepted():
    with FakeSMTP(end_of_data=["451 4.3.0 Error: queue file write error"]) as server:
        load, records = send(server.target, count=4, sessions=1)
    assert load["accepted"] == 4
    assert load["temporary_failures"] == 1
    assert load["retries"] == 1
    assert server.ends_of_data == 5
    assert records[0]["attempts"] == 2
    assert load["errors"] == [
        {"error": "end of data: 451 4.3.0 Error: queue file write error", "count": 1}
    ]
    # the retry went over the same connection, after RSET
    assert load["connections"] == 1


def test_retries_stop_after_the_limit():
    with FakeSMTP(always="451 4.7.1 Service unavailable - try again later") as server:
        load, records = send(server.target, count=3, sessions=1, retries=2)
    assert load["accepted"] == 0
    assert load["gave_up"] == 3
    assert load["retries"] == 6
    assert load["temporary_failures"] == 9
    assert server.ends_of_data == 9
    assert all(r["outcome"] == "gave_up" and r["attempts"] == 3 for r in records)


def test_5xx_rejects_without_retry():
    with FakeSMTP(rcpt="550 5.1.1 <sink@sink.test>: Recipient address rejected") as server:
        load, _records = send(server.target, count=5, sessions=2)
    assert load["rejected"] == 5
    assert load["accepted"] == load["retries"] == 0
    assert load["errors"][0]["count"] == 5
    assert load["errors"][0]["error"].startswith("rcpt: 550 5.1.1")
    assert server.ends_of_data == 0
    message = _smtpload.failure_message(load, "127.0.0.1", server.port)
    assert "no message was accepted" in message
    assert "5 rejected with 5xx" in message


def test_refused_connections_are_counted_and_retried():
    port = closed_port()
    load, records = send((socket.AF_INET, ("127.0.0.1", port)), count=3, sessions=3, retries=2)
    assert load["accepted"] == 0
    assert load["gave_up"] == 3
    assert load["refused_connections"] == load["connections"] == 9
    assert load["retries"] == 6
    assert load["time_to_banner"]["count"] == 0
    assert all(r["attempts"] == 3 for r in records)
    message = _smtpload.failure_message(load, "127.0.0.1", port)
    assert "9 connection attempts refused" in message
    assert "is Postfix running" in message
    assert "Connection refused" in message


def test_closed_connections_are_dropped_and_retried():
    with FakeSMTP(close_first=2) as server:
        load, _records = send(server.target, count=3, sessions=1)
    assert load["accepted"] == 3
    assert load["dropped_connections"] == 2
    assert load["retries"] == 2
    assert load["connections"] == 3
    assert load["errors"] == [{"error": "banner: connection closed by the server", "count": 2}]


def test_a_server_that_never_greets_times_out():
    with FakeSMTP(silent=1.0) as server:
        load, _records = send(server.target, count=2, sessions=2, retries=1, timeout=0.2)
    assert load["timeouts"] == 4
    assert load["gave_up"] == 2
    assert load["errors"] == [{"error": "banner: timed out", "count": 4}]


def test_a_slow_end_of_data_times_out_and_is_sent_again():
    # the drop after the end of the data is the RFC 1047 case: Postfix may have queued it
    with FakeSMTP(end_of_data=["250 2.0.0 Ok: queued as LATE1"], data_delay=0.3) as server:
        load, records = send(server.target, count=1, sessions=1, retries=1, timeout=0.15)
    assert load["timeouts"] == 2
    assert load["retries"] == 1
    assert records[0]["outcome"] == "gave_up"
    assert load["errors"] == [{"error": "end of data: timed out", "count": 2}]


def test_the_wait_before_the_greeting_is_in_the_sender_figures():
    # what a listen queue does to a client: the wait comes before any log line
    with FakeSMTP(banner_delay=0.3) as server:
        load, records = send(server.target, count=4, sessions=1, per_session=2)
    assert load["time_to_banner"]["count"] == load["connections"] == 2
    assert load["time_to_banner"]["p50"] >= 0.3
    # the first message of each connection waited for the greeting too, the second did not
    assert records[0]["time_to_250"] >= 0.3
    assert records[2]["time_to_250"] >= 0.3
    assert records[1]["time_to_250"] < 0.3
    assert load["accepted"] == 4


def test_a_greeting_other_than_220_ends_the_connection():
    with FakeSMTP(banner="554 5.3.2 fake.test Service currently unavailable") as server:
        load, _records = send(server.target, count=2, sessions=1)
    assert load["rejected"] == 2
    assert load["connections"] == 2
    assert load["errors"][0]["error"].startswith("banner: 554 5.3.2")


def test_rate_spaces_the_messages():
    with FakeSMTP() as server:
        load, records = send(server.target, count=10, sessions=2, rate=50.0)
    assert load["accepted"] == 10
    assert load["behind_schedule"]["count"] == 10
    scheduled = [r["scheduled"] for r in records]
    assert [round(t - scheduled[0], 6) for t in scheduled] == [n / 50.0 for n in range(10)]
    # no message starts before its time; the last one starts 0.18 s after the first's time
    # (sleep runs on the monotonic clock, the stamps on the wall clock: allow 1 ms)
    assert all(r["first_attempt"] >= r["scheduled"] - 0.001 for r in records)
    assert load["elapsed_seconds"] >= 9 / 50.0 - 0.005


# ---------------------------------------------------------------------------------------------
# delivery lines from real logs
# ---------------------------------------------------------------------------------------------


def events_of(data, wanted=None, now=NOW):
    parser = _maillog.MailLogParser(now=now)
    parser.begin_source(now)
    rx = _maillog.compile_line_regex()
    found = {}
    for qid, event, when, resolution in _smtpload.delivery_events(
        _maillog, parser, rx, data, wanted
    ):
        found.setdefault(qid, {}).setdefault(event, (when, resolution))
    return found


def test_delivery_lines_of_a_classic_syslog_log():
    data = (FIXTURES / "deb12-postfix-3.7.log").read_bytes()
    found = events_of(data, {"3A0701AA697", "EF1B61AA6B2"})
    sent = time.mktime((2026, 11, 28, 14, 18, 32, 0, 0, -1))
    assert found["3A0701AA697"]["sent"] == (sent, 1.0)
    assert "removed" in found["3A0701AA697"]
    assert "bounced" in found["EF1B61AA6B2"]
    assert "sent" not in found["EF1B61AA6B2"]
    assert set(found) == {"3A0701AA697", "EF1B61AA6B2"}


@pytest.mark.parametrize("name", ["deb12-postfix-3.7.log", "deb13-postfix-3.10.log"])
def test_every_delivery_the_baseline_counts_is_found(name):
    data = (FIXTURES / name).read_bytes()
    parser = _maillog.MailLogParser(now=NOW)
    parser.begin_source(NOW)
    events = list(_smtpload.delivery_events(_maillog, parser, _maillog.compile_line_regex(), data))
    baseline = _maillog.MailLogParser(now=NOW)
    baseline.feed_lines(data.decode().splitlines())
    counts = baseline.counts()
    kinds = collections.Counter(event for _qid, event, _when, _step in events)
    # one event per recipient line: the same lines the baseline counts
    assert kinds["sent"] == counts["delivered"] + counts["forwarded"]
    assert kinds["bounced"] == counts["bounced"]
    assert kinds["deferred"] == counts["deferred"]
    assert kinds["removed"] == baseline.result()["other"]["removed"]
    assert all(step == 1.0 for _qid, _event, _when, step in events)


JOURNAL_LINE = (
    "2026-11-28T14:22:14+0000 f0d5db0509fd postfix/smtp[715]: 667651AC420: "
    "to=<user@accept.test>, relay=127.0.0.1[127.0.0.1]:2525, delay=0.38, "
    "delays=0.26/0.11/0.01/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok)"
)


def test_the_journal_fixture_line_is_real():
    assert JOURNAL_LINE in (FIXTURES / "journal-short-iso-deb12.log").read_text()


@pytest.mark.parametrize(
    ("stamp", "fraction", "resolution"),
    [
        ("2026-11-28T14:22:14+0000", 0.0, 1.0),  # journalctl -o short-iso
        ("2026-11-28T14:22:14.381234+0000", 0.381234, 1e-06),  # -o short-iso-precise
        ("2026-11-28T14:22:14.381234+00:00", 0.381234, 1e-06),  # rsyslog high precision
        ("2026-11-28T15:22:14.381+01:00", 0.381, 1e-03),
        ("2026-11-28T14:22:14.381234Z", 0.381234, 1e-06),
    ],
)
def test_rfc3339_stamps_keep_their_fraction(stamp, fraction, resolution):
    line = JOURNAL_LINE.replace("2026-11-28T14:22:14+0000", stamp) + "\n"
    found = events_of(line.encode())
    when, step = found["667651AC420"]["sent"]
    assert when == pytest.approx(calendar.timegm((2026, 11, 28, 14, 22, 14)) + fraction)
    assert step == pytest.approx(resolution)


def test_forwarded_counts_as_sent_and_other_daemons_do_not_count():
    lines = (
        b"Nov 28 10:00:01 mx postfix/local[1]: 4C2A71A8C58: to=<a@mx.test>, relay=local, "
        b"delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (forwarded as 5D3B81A8C59)\n"
        b"Nov 28 10:00:01 mx dovecot[9]: 4C2A71A8C58: to=<a@mx.test>, status=sent\n"
    )
    found = events_of(lines)
    assert set(found["4C2A71A8C58"]) == {"sent"}


# ---------------------------------------------------------------------------------------------
# reading the log while it grows
# ---------------------------------------------------------------------------------------------


class FakeRun:
    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv, binary=False):
        self.calls.append(list(argv))
        for start, answer in self.answers:
            if argv[: len(start)] == start:
                return answer(argv) if callable(answer) else answer
        raise AssertionError(f"unexpected command {argv}")


def test_log_files_are_read_from_the_mark_and_across_a_rotation(tmp_path):
    log_file = tmp_path / "mail.log"
    old = (FIXTURES / "deb12-postfix-3.7.log").read_text().splitlines(keepends=True)
    log_file.write_text("".join(old[:40]))
    log = _smtpload.DeliveryLog(FakeRun([]), log_source="files", log_paths=[str(log_file)])
    log.mark()
    assert log.source == "files"
    assert log.read() == 0
    new = [line for line in old if "BAF" not in line][40:]
    with open(log_file, "a") as handle:
        handle.write("".join(new[:10]))
        handle.write(new[10][:20])  # a line still being written
    first = log.read()
    with open(log_file, "a") as handle:
        handle.write(new[10][20:])
    assert log.read() + first > 0
    # rotation: the old file moves away and gets more lines, a new one starts
    rotated = tmp_path / "mail.log.1"
    log_file.rename(rotated)
    log.paths = lambda: [str(rotated), str(log_file)]
    with open(rotated, "a") as handle:
        handle.write("".join(new[11:20]))
    log_file.write_text("".join(new[20:30]))
    log.read()
    expected = events_of("".join(new[:30]).encode())
    assert log.events == expected
    assert log.warnings == []


def test_log_files_that_cannot_be_read_are_a_warning(tmp_path):
    log = _smtpload.DeliveryLog(
        FakeRun([]), log_source="files", log_paths=[str(tmp_path / "missing.log")]
    )
    log.mark()
    assert log.source is None
    assert "no log file could be read" in log.warnings[0]
    assert log.read() == 0


def test_the_journal_is_read_after_its_cursor():
    lines = (FIXTURES / "journal-short-iso-deb12.log").read_bytes().splitlines(keepends=True)
    delivery = [line for line in lines if b"667651AC420" in line]
    reads = iter(
        [
            b"".join(delivery[:2]) + b"-- cursor: s=abc;i=2\n",
            b"".join(delivery[2:]) + b"-- cursor: s=abc;i=9\n",
            b"",
        ]
    )
    run = FakeRun(
        [
            (["journalctl", "--show-cursor"], (0, b"-- cursor: s=abc;i=1\n", b"")),
            (["journalctl", "-q"], lambda argv: (0, next(reads), b"")),
        ]
    )
    log = _smtpload.DeliveryLog(run, log_source="journal", now=NOW)
    log.mark()
    assert log.source == "journal"
    for _poll in range(3):
        log.read({"667651AC420"})
    assert "--after-cursor=s=abc;i=1" in run.calls[1]
    assert "--after-cursor=s=abc;i=2" in run.calls[2]
    assert "--after-cursor=s=abc;i=9" in run.calls[3]
    assert "short-iso-precise" in run.calls[1]
    assert log.events["667651AC420"]["sent"] == (
        float(calendar.timegm((2026, 11, 28, 14, 22, 14))),
        1.0,
    )
    assert "removed" in log.events["667651AC420"]


def test_auto_falls_back_to_the_journal_and_says_when_there_is_none(tmp_path):
    run = FakeRun([(["journalctl"], (127, b"", b"journalctl: command not found"))])
    log = _smtpload.DeliveryLog(run, log_paths=[str(tmp_path / "none.log")])
    log.mark()
    assert log.source is None
    assert "journalctl is not installed" in log.warnings[0]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


class GrowingLog:
    """Stands in for DeliveryLog: each read adds the events scheduled for that moment."""

    def __init__(self, clock, schedule):
        self.clock = clock
        self.schedule = schedule
        self.events = {}
        self.reads = 0

    def read(self, wanted=None):
        self.reads += 1
        for at, qid, event in self.schedule:
            if at <= self.clock.now:
                self.events.setdefault(qid, {}).setdefault(event, (at, 1.0))
        return 0


def test_waiting_ends_when_every_message_left_the_queue():
    clock = Clock()
    log = GrowingLog(clock, [(0.0, "A", "sent"), (0.0, "A", "removed"), (2.0, "B", "removed")])
    left = _smtpload.wait_for_delivery(log, ["A", "B"], 120, clock=clock, sleep=clock.sleep)
    assert left == set()
    assert clock.now == 2.0


def test_waiting_ends_at_the_timeout():
    clock = Clock()
    log = GrowingLog(clock, [(0.0, "A", "removed")])
    left = _smtpload.wait_for_delivery(log, ["A", "B"], 5, clock=clock, sleep=clock.sleep)
    assert left == {"B"}
    assert clock.now == 5.0


def test_a_log_that_misses_lines_costs_only_the_grace_period():
    clock = Clock()
    log = GrowingLog(clock, [(0.0, "A", "removed")])
    left = _smtpload.wait_for_delivery(
        log, ["A", "B"], 120, queued=set, clock=clock, sleep=clock.sleep
    )
    assert left == {"B"}
    assert clock.now == pytest.approx(_smtpload.LOG_GRACE)


def test_postqueue_ids():
    out = (FIXTURES / "postqueue-j-deb12.json").read_text()
    ids = _smtpload.queue_ids_in_queue(FakeRun([(["postqueue", "-j"], (0, out, ""))]))
    assert len(ids) == 7
    assert _smtpload.queue_ids_in_queue(FakeRun([(["postqueue"], (1, "", "fatal"))])) is None


def test_postfix_log_settings():
    run = FakeRun(
        [(["postconf"], (0, "maillog_file = /var/log/postfix.log\nsyslog_name = mx\n", ""))]
    )
    assert _smtpload.log_settings(run) == ("/var/log/postfix.log", "mx")
    assert _smtpload.log_settings(FakeRun([(["postconf"], (127, "", ""))])) == (None, None)


def test_delivery_outcomes_and_warnings():
    records = [
        {"outcome": "accepted", "queue_id": "A", "first_attempt": 100.2},
        {"outcome": "accepted", "queue_id": "B", "first_attempt": 100.4},
        {"outcome": "accepted", "queue_id": "C", "first_attempt": 100.5},
        {"outcome": "accepted", "queue_id": None, "first_attempt": 100.6},
        {"outcome": "rejected", "queue_id": None, "first_attempt": 100.7},
    ]

    class Log:
        source = "files"
        warnings = []
        events = {
            "A": {"sent": (101.0, 1.0), "removed": (101.0, 1.0)},
            "B": {"deferred": (101.0, 1.0), "bounced": (104.0, 1.0), "removed": (104.0, 1.0)},
            "C": {"deferred": (101.0, 1.0)},
        }

    load = {"accepted": 4, "warnings": []}
    _smtpload.add_delivery(load, records, Log(), {"C"}, 120.0)
    assert load["delivered"] == 1
    assert load["undelivered"] == 3
    # stamped 101 with 1 s resolution: delivered before 102, 1.8 s after the first attempt
    assert load["first_attempt_to_delivery"] == {"count": 1, "p50": 1.8, "p95": 1.8, "max": 1.8}
    assert load["log_resolution_seconds"] == 1.0
    assert load["warnings"] == [
        "1 accepted messages had no queue id in the 250 reply: no delivery time",
        "not delivered: 1 bounced, 1 deferred",
        "1 accepted messages had not left the queue (no 'removed' line in the log) after 120 s",
    ]


# ---------------------------------------------------------------------------------------------
# the whole run: send, wait, time the deliveries
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stamp", "resolution"), [("rfc3339", 1e-06), ("classic", 1.0)])
def test_first_attempt_to_delivery(tmp_path, stamp, resolution):
    log_file = tmp_path / "mail.log"
    log_file.write_text(
        (FIXTURES / "deb12-postfix-3.7.log").read_text() if stamp == "classic" else ""
    )
    log = _smtpload.DeliveryLog(FakeRun([]), log_paths=[str(log_file)])
    with FakeSMTP(log=str(log_file), stamp=stamp, deliver_after=0.05) as server:
        log.mark()
        load, records = send(server.target, count=12, sessions=3, per_session=2)
        left = _smtpload.wait_for_delivery(log, server.queue_ids, 10, poll=0.02)
    _smtpload.add_delivery(load, records, log, left, 10)
    assert left == set()
    assert load["delivered"] == 12
    assert load["undelivered"] == 0
    assert load["log_source"] == "files"
    assert load["log_resolution_seconds"] == resolution
    figures = load["first_attempt_to_delivery"]
    assert figures["count"] == 12
    # delivered after the 250 and after the fake's pause; the stamp never makes it earlier
    assert figures["p50"] >= load["time_to_250"]["p50"]
    if stamp == "rfc3339":
        assert 0.05 <= figures["p50"] <= figures["max"] < 2.0
    else:
        assert 0.05 <= figures["max"] <= 2.2
    assert load["warnings"] == []
    assert os.path.getsize(log_file) > 0
