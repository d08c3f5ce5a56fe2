# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the streaming Postfix log parser.

Two kinds of input: logs captured from a real Postfix (tests/unit/fixtures/maillog/, made with
bench/baseline/generate.sh, with pflogsumm's Grand Totals of the same file recorded next to
them), and hand-checked lines for formats a test container cannot produce (postscreen, content
filter re-injection, Postfix 3.11 ``tls=``, pre-2.3 lines, other time stamp formats).
"""

from __future__ import annotations

import calendar
import gzip
import os
import re
import time

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils._maillog import (
    MailLogParser,
    SizeCounter,
    ValueCounter,
    compile_line_regex,
    normalise_reason,
    parse_time,
)

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "maillog")
NOW = calendar.timegm((2026, 11, 28, 12, 0, 0, 0, 0, 0))


def parse(lines, **kwargs):
    kwargs.setdefault("now", NOW)
    parser = MailLogParser(**kwargs)
    parser.feed_lines(lines)
    return parser


def counts(lines, **kwargs):
    return parse(lines, **kwargs).counts()


def nonzero(result):
    return {k: v for k, v in result.items() if v}


# ---------------------------------------------------------------------------------------------
# one message through Postfix, line formats
# ---------------------------------------------------------------------------------------------

SIMPLE = [
    "Nov 28 10:00:00 mx postfix/smtpd[1201]: connect from mail.example.org[198.51.100.7]",
    "Nov 28 10:00:00 mx postfix/smtpd[1201]: 4C2A71A8C58: client=mail.example.org[198.51.100.7]",
    "Nov 28 10:00:00 mx postfix/cleanup[1203]: 4C2A71A8C58: message-id=<1@example.org>",
    (
        "Nov 28 10:00:00 mx postfix/qmgr[99]: 4C2A71A8C58: from=<a@example.org>, size=2324, "
        "nrcpt=2 (queue active)"
    ),
    (
        "Nov 28 10:00:01 mx postfix/smtpd[1201]: disconnect from mail.example.org[198.51.100.7] "
        "ehlo=1 mail=1 rcpt=2 data=1 quit=1 commands=6"
    ),
    (
        "Nov 28 10:00:01 mx postfix/smtp[1204]: 4C2A71A8C58: to=<u1@example.com>, "
        "relay=mx.example.com[192.0.2.25]:25, delay=0.52, delays=0.01/0.02/0.2/0.29, dsn=2.0.0, "
        "status=sent (250 2.0.0 Ok: queued as 3F0311A8D44)"
    ),
    (
        "Nov 28 10:00:01 mx postfix/smtp[1204]: 4C2A71A8C58: to=<u2@example.com>, "
        "relay=mx.example.com[192.0.2.25]:25, conn_use=2, delay=0.6, delays=0.01/0.02/0.01/0.56, "
        "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 3F0311A8D45)"
    ),
    "Nov 28 10:00:01 mx postfix/qmgr[99]: 4C2A71A8C58: removed",
]


def test_one_message_two_recipients():
    parser = parse(SIMPLE)
    assert nonzero(parser.counts()) == {
        "received": 1,
        "delivered": 2,
        "bytes_received": 2324,
        "bytes_delivered": 4648,
    }
    result = parser.result()
    assert result["latency"]["delay"]["p50"] == 0.52
    assert result["latency"]["delay"]["max"] == 0.6
    assert result["latency"]["delays"]["transmission"]["p95"] == 0.56
    assert result["latency"]["by_transport"]["smtp"]["delay"]["count"] == 2
    assert result["sessions"] == {
        "count": 1,
        "peak_concurrency": 1,
        "peak_concurrency_time": "2026-11-28T10:00:00Z",
        "commands": 6,
        "commands_failed": 0,
        "sessions_with_errors": 0,
    }
    assert result["sources"]["lines_read"] == 8
    # message-id is not needed: not recognised, counted as unknown
    assert result["sources"]["lines_recognised"] == 7
    assert parser.open_state() == 0


def test_size_counted_once_when_a_deferred_message_returns_to_the_active_queue():
    lines = [
        "Nov 28 10:00:00 mx postfix/smtpd[1]: 8BBB11A8D79: client=a.example[192.0.2.1]",
        (
            "Nov 28 10:00:00 mx postfix/qmgr[9]: 8BBB11A8D79: from=<a@a.example>, size=700, nrcpt=1 "
            "(queue active)"
        ),
        (
            "Nov 28 10:00:01 mx postfix/smtp[3]: 8BBB11A8D79: to=<later@soft.test>, "
            "relay=127.0.0.1[127.0.0.1]:2527, delay=0.03, delays=0.01/0/0/0.02, dsn=4.0.0, "
            "status=deferred (host 127.0.0.1[127.0.0.1] said: 450 4.0.0 Error: command failed "
            "(in reply to RCPT TO command))"
        ),
        (
            "Nov 28 10:05:01 mx postfix/qmgr[9]: 8BBB11A8D79: from=<a@a.example>, size=700, nrcpt=1 "
            "(queue active)"
        ),
        (
            "Nov 28 10:05:01 mx postfix/smtp[3]: 8BBB11A8D79: to=<later@soft.test>, "
            "relay=127.0.0.1[127.0.0.1]:2527, delay=301, delays=300/0/0/0.02, dsn=4.0.0, "
            "status=deferred (host 127.0.0.1[127.0.0.1] said: 450 4.0.0 Error: command failed "
            "(in reply to RCPT TO command))"
        ),
        (
            "Nov 28 10:10:01 mx postfix/qmgr[9]: 8BBB11A8D79: from=<a@a.example>, status=expired, "
            "returned to sender"
        ),
        (
            "Nov 28 10:10:01 mx postfix/bounce[5]: 8BBB11A8D79: sender non-delivery notification: "
            "9C0D11A8D80"
        ),
        "Nov 28 10:10:01 mx postfix/qmgr[9]: 8BBB11A8D79: removed",
    ]
    parser = parse(lines)
    assert nonzero(parser.counts()) == {
        "received": 1,
        "deferred": 2,
        "deferred_messages": 1,
        "expired": 1,
        "bytes_received": 700,
    }
    result = parser.result()
    assert result["top_deferral_reasons"] == [
        {
            "dsn": "4.0.0",
            "reason": "450 4.0.0 Error: command failed (in reply to RCPT TO command)",
            "count": 2,
        }
    ]
    assert result["other"]["notifications"] == {"sender_non-delivery": 1}
    assert parser.open_state() == 0


def test_bounce_and_forward_and_local_and_pickup():
    lines = [
        "Nov 28 10:00:00 mx postfix/pickup[700]: 1D2E31A8C5E: uid=0 from=<root>",
        (
            "Nov 28 10:00:00 mx postfix/qmgr[9]: 1D2E31A8C5E: from=<root@mx.example>, size=320, "
            "nrcpt=1 (queue active)"
        ),
        (
            "Nov 28 10:00:00 mx postfix/local[744]: 1D2E31A8C5E: to=<alice@mx.example>, "
            "orig_to=<alice>, relay=local, delay=0.06, delays=0.04/0/0/0.02, dsn=2.0.0, "
            "status=sent (delivered to mailbox)"
        ),
        (
            "Nov 28 10:00:00 mx postfix/local[744]: 1D2E31A8C5E: to=<fwd@localhost>, relay=local, "
            "delay=0.04, delays=0.03/0/0/0, dsn=2.0.0, status=sent (forwarded as 2E3F41A8C5F)"
        ),
        (
            "Nov 28 10:00:00 mx postfix/smtp[736]: 1D2E31A8C5E: to=<nobody@hard.test>, "
            "relay=127.0.0.1[127.0.0.1]:2526, delay=0.03, delays=0.01/0.02/0/0.01, dsn=5.3.0, "
            "status=bounced (host 127.0.0.1[127.0.0.1] said: 500 5.3.0 Error: command failed "
            "(in reply to RCPT TO command))"
        ),
    ]
    parser = parse(lines)
    assert nonzero(parser.counts()) == {
        "received": 1,
        "delivered": 1,
        "forwarded": 1,
        "bounced": 1,
        "bytes_received": 320,
        "bytes_delivered": 320,
    }
    result = parser.result()
    assert list(result["latency"]["by_transport"]) == ["local"]
    assert result["top_bounce_reasons"][0]["reason"] == (
        "500 5.3.0 Error: command failed (in reply to RCPT TO command)"
    )


# ---------------------------------------------------------------------------------------------
# syslog names, queue ids, pids, optional fields
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, expected",
    [
        pytest.param(
            "Nov 28 10:00:00 mx postfix/submission/smtpd[5000]: 8CC1A8C58: "
            "client=laptop.example.com[203.0.113.5], sasl_method=PLAIN, sasl_username=alice",
            {"received": 1},
            id="submission-smtpd",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/smtpd[5000]: [ID 197553 mail.info] 8CC1A8C58: "
            "client=laptop.example.com[203.0.113.5]",
            {"received": 1},
            id="solaris-syslog-id",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/smtps/smtpd[5000]: 8CC1A8C58: "
            "client=laptop.example.com[203.0.113.5], sasl_method=PLAIN, sasl_username=alice",
            {"received": 1},
            id="smtps-smtpd",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/10025/smtpd[2002]: 5DEF5678: client=localhost[127.0.0.1]",
            {"reinjected": 1},
            id="10025-reinjection-loopback",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/10025/smtpd[2002]: 5DEF5678: client=localhost[::1]",
            {"reinjected": 1},
            id="10025-reinjection-ipv6-loopback",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/smtpd[2002]: 5DEF5678: client=localhost[127.0.0.1]",
            {"received": 1},
            id="plain-smtpd-loopback-is-received",
        ),
        pytest.param(
            # the loopback test reads the client, not orig_client (the original sender's host)
            "Nov 28 10:00:00 mx postfix/10025/smtpd[2002]: 5DEF5678: client=localhost[127.0.0.1], "
            "orig_queue_id=4ABC1234, orig_client=mail.example.net[198.51.100.7]",
            {"reinjected": 1},
            id="10025-reinjection-with-orig-client",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/10025/smtpd[2002]: 5DEF5678: "
            "client=mail.example.net[198.51.100.7], orig_client=localhost[127.0.0.1]",
            {"received": 1},
            id="10025-remote-client-is-received",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix-inst/amavis/smtp[3000]: 6AAA1B2C3D: to=<u@example.com>, "
            "relay=127.0.0.1[127.0.0.1]:10024, conn_use=2, delay=0.5, delays=0.1/0/0.1/0.3, "
            "dsn=2.0.0, status=sent (250 2.0.0 Ok)",
            {"delivered": 1},
            id="multi-instance-amavis-smtp",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/smtp[793146]: 4cbdb56t4MzPjfw: to=<list@example.org>, "
            "relay=list.example.org[192.0.2.195]:25, delay=5.4, "
            "delays=0.08/0.01/3.5/1.9, tls=dane, dsn=2.0.0, status=sent "
            "(250 2.0.0 Ok: queued as 4cbdb56t4MzPjfx)",
            {"delivered": 1},
            id="postfix-3.11-tls-field-long-queue-id",
        ),
        pytest.param(
            "Jan  5 08:00:00 mx postfix/smtp[123]: A1B2C3D4E5: to=<x@example.net>, "
            "relay=mx.example.net[192.0.2.25], delay=2, status=sent (250 Ok: queued as 12345)",
            {"delivered": 1},
            id="pre-2.3-no-delays-no-dsn",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/smtp[1]: 3Wb1Zq5n2Mz9vQb: to=<a@example.net>, "
            "orig_to=<b@example.com>, relay=none, delay=30, delays=0.1/0/30/0, dsn=4.4.1, "
            "status=deferred (connect to mx.example.net[192.0.2.1]:25: Connection timed out)",
            {"deferred": 1, "deferred_messages": 1},
            id="orig-to-deferred-long-id",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/postscreen[1234]: NOQUEUE: reject: RCPT from "
            "[192.0.2.10]:51234: 550 5.7.1 Service unavailable; client [192.0.2.10] blocked "
            "using zen.spamhaus.org; from=<spam@example.net>, to=<user@example.com>, "
            "proto=ESMTP, helo=<bad.example.net>",
            {"rejected": 1},
            id="postscreen-noqueue-reject",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/smtpd[718]: NOQUEUE: reject: RCPT from "
            "unknown[192.0.2.9]: 554 5.7.1 <victim@elsewhere.test>: Relay access denied; "
            "from=<s@example.net> to=<victim@elsewhere.test> proto=ESMTP helo=<x>",
            {"rejected": 1},
            id="smtpd-noqueue-relay-denied",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/smtpd[718]: NOQUEUE: reject_warning: RCPT from "
            "unknown[192.0.2.9]: 450 4.7.1 Client host rejected: cannot find your hostname; "
            "from=<s@example.net> to=<u@example.com> proto=ESMTP helo=<x>",
            {"reject_warnings": 1},
            id="smtpd-reject-warning",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/smtpd[718]: 7A8B9C0D1E: hold: RCPT from "
            "unknown[192.0.2.9]: <u@example.com>: Recipient address triggers HOLD action; "
            "from=<s@example.net> to=<u@example.com> proto=ESMTP helo=<x>",
            {"held": 1},
            id="smtpd-hold",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/smtpd[718]: 7A8B9C0D1E: discard: RCPT from "
            "unknown[192.0.2.9]: <u@example.com>: Recipient address triggers DISCARD action; "
            "from=<s@example.net> to=<u@example.com> proto=ESMTP helo=<x>",
            {"discarded": 1},
            id="smtpd-discard",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/cleanup[100]: 1ABC2DEF3A: reject: header Subject: buy "
            "now from mail.example.net[192.0.2.9]; from=<s@example.net> to=<u@example.com> "
            "proto=ESMTP helo=<mail.example.net>: 5.7.1 Spam not welcome",
            {"rejected": 1},
            id="cleanup-header-reject",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/cleanup[100]: 1ABC2DEF3A: warning: header Subject: buy "
            "now from mail.example.net[192.0.2.9]; from=<s@example.net> to=<u@example.com> "
            "proto=ESMTP helo=<mail.example.net>",
            {"reject_warnings": 1},
            id="cleanup-header-warning",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/cleanup[100]: 1ABC2DEF3A: hold: body click here from "
            "mail.example.net[192.0.2.9]; from=<s@example.net> to=<u@example.com> proto=ESMTP "
            "helo=<mail.example.net>",
            {"held": 1},
            id="cleanup-body-hold",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/cleanup[100]: 1ABC2DEF3A: discard: header X-Spam: yes "
            "from mail.example.net[192.0.2.9]; from=<s@example.net> to=<u@example.com> "
            "proto=ESMTP helo=<mail.example.net>",
            {"discarded": 1},
            id="cleanup-header-discard",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/cleanup[100]: 1ABC2DEF3A: milter-reject: END-OF-MESSAGE "
            "from mail.example.net[192.0.2.9]: 5.7.1 Command rejected; from=<s@example.net> "
            "to=<u@example.com> proto=ESMTP helo=<mail.example.net>",
            {"rejected": 1},
            id="cleanup-milter-reject",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/smtpd[100]: warning: hostname x.example does not resolve "
            "to address 192.0.2.9",
            {},
            id="smtpd-warning-is-not-a-reject-warning",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx postfix/cleanup[100]: 1ABC2DEF3A: message-id=<x@example>",
            {},
            id="message-id-ignored",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx dovecot: imap-login: Login: user=<alice>, method=PLAIN",
            {},
            id="other-daemon",
        ),
        pytest.param(
            "Nov 28 10:00:00 mx sm-mta[100]: x: to=<a@b>, relay=x, delay=1, status=sent (ok)",
            {},
            id="other-mta-tag",
        ),
    ],
)
def test_line_formats(line, expected):
    assert nonzero(counts([line])) == expected


@pytest.mark.parametrize("pid", ["1", "42", "99999", "4194304"])
def test_pid_of_any_length(pid):
    line = f"Nov 28 10:00:00 mx postfix/pickup[{pid}]: 1D2E31A8C5E: uid=1000 from=<alice>"
    assert counts([line])["received"] == 1


def test_pickup_needs_the_pickup_program():
    line = "Nov 28 10:00:00 mx postfix/smtpd[1]: 1D2E31A8C5E: uid=1000 from=<alice>"
    assert counts([line])["received"] == 0


def test_reinjected_message_is_not_counted_twice():
    lines = [
        "Nov 28 10:00:02 mx postfix/smtpd[2000]: 4ABC1234A: client=mail.example.org[198.51.100.7]",
        (
            "Nov 28 10:00:02 mx postfix/qmgr[99]: 4ABC1234A: from=<a@example.org>, size=1500, "
            "nrcpt=1 (queue active)"
        ),
        (
            "Nov 28 10:00:03 mx postfix/smtp[2001]: 4ABC1234A: to=<u@example.com>, "
            "relay=127.0.0.1[127.0.0.1]:10024, delay=1.1, delays=0.1/0/0/1, dsn=2.0.0, status=sent "
            "(250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 5DEF5678B)"
        ),
        "Nov 28 10:00:03 mx postfix/qmgr[99]: 4ABC1234A: removed",
        "Nov 28 10:00:03 mx postfix/10025/smtpd[2002]: 5DEF5678B: client=localhost[127.0.0.1]",
        (
            "Nov 28 10:00:03 mx postfix/qmgr[99]: 5DEF5678B: from=<a@example.org>, size=2100, "
            "nrcpt=1 (queue active)"
        ),
        (
            "Nov 28 10:00:03 mx postfix/local[2003]: 5DEF5678B: to=<u@example.com>, relay=local, "
            "delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)"
        ),
        "Nov 28 10:00:03 mx postfix/qmgr[99]: 5DEF5678B: removed",
    ]
    parser = parse(lines)
    assert nonzero(parser.counts()) == {
        "received": 1,
        "reinjected": 1,
        "delivered": 2,
        "bytes_received": 1500,
        "bytes_delivered": 3600,
    }
    assert parser.open_state() == 0


def test_disconnect_counters():
    lines = [
        (
            "Nov 28 10:00:00 mx postfix/smtpd[6000]: disconnect from unknown[192.0.2.66] ehlo=1 "
            "mail=1 rcpt=0/1 data=0/1 rset=1 quit=1 commands=4/6"
        ),
        (
            "Nov 28 10:00:00 mx postfix/smtpd[6001]: disconnect from unknown[192.0.2.67] ehlo=1 "
            "quit=1 commands=2"
        ),
        # before Postfix 3.0 there were no counters
        "Nov 28 10:00:00 mx postfix/smtpd[6002]: disconnect from unknown[192.0.2.68]",
        "Nov 28 10:00:00 mx postfix/postscreen[6003]: DISCONNECT [192.0.2.69]:4711",
    ]
    assert parse(lines).result()["sessions"] == {
        "count": 3,
        "peak_concurrency": 0,
        "peak_concurrency_time": None,
        "commands": 8,
        "commands_failed": 2,
        "sessions_with_errors": 1,
    }


def test_peak_concurrency_of_smtpd_sessions():
    lines = [
        "2026-11-28T10:00:00Z mx postfix/smtpd[1]: connect from a[192.0.2.1]",
        "2026-11-28T10:00:01Z mx postfix/smtpd[2]: connect from b[192.0.2.2]",
        "2026-11-28T10:00:02Z mx postfix/submission/smtpd[3]: connect from c[192.0.2.3]",
        "2026-11-28T10:00:03Z mx postfix/smtpd[1]: disconnect from a[192.0.2.1] commands=2",
        (
            "2026-11-28T10:00:04Z mx postfix/postscreen[4]: CONNECT from [192.0.2.4]:4711 to "
            "[192.0.2.25]:25"
        ),
        "2026-11-28T10:00:05Z mx postfix/smtpd[4]: connect from d[192.0.2.4]",
        "2026-11-28T10:00:06Z mx postfix/smtpd[2]: disconnect from b[192.0.2.2] commands=2",
    ]
    sessions = parse(lines).result()["sessions"]
    assert sessions["peak_concurrency"] == 3
    assert sessions["peak_concurrency_time"] == "2026-11-28T10:00:02Z"
    assert sessions["count"] == 2


def test_concurrency_of_a_log_that_starts_inside_sessions():
    # two sessions were open before the log begins: their disconnects must not drive the count
    # below zero, or the later peak of 2 would show as 0
    lines = [
        "2026-11-28T10:00:00Z mx postfix/smtpd[1]: disconnect from a[192.0.2.1] commands=5",
        "2026-11-28T10:00:01Z mx postfix/smtpd[2]: disconnect from b[192.0.2.2] commands=4/6",
        "2026-11-28T10:00:02Z mx postfix/smtpd[3]: connect from c[192.0.2.3]",
        "2026-11-28T10:00:03Z mx postfix/smtpd[4]: connect from d[192.0.2.4]",
        "2026-11-28T10:00:04Z mx postfix/smtpd[3]: disconnect from c[192.0.2.3] commands=0/1",
        "2026-11-28T10:00:05Z mx postfix/smtpd[5]: connect from e[192.0.2.5]",
    ]
    sessions = parse(lines).result()["sessions"]
    assert sessions == {
        "count": 3,
        "peak_concurrency": 2,
        "peak_concurrency_time": "2026-11-28T10:00:03Z",
        "commands": 12,
        "commands_failed": 3,
        "sessions_with_errors": 2,
    }


def test_removed_by_qmgr_and_by_postsuper():
    lines = [
        (
            "Nov 28 10:00:00 mx postfix/qmgr[9]: 1D2E31A8C5E: from=<a@x>, size=10, nrcpt=1 "
            "(queue active)"
        ),
        "Nov 28 10:00:00 mx postfix/postsuper[7000]: 1D2E31A8C5E: removed",
        "Nov 28 10:00:00 mx postfix/postsuper[7000]: Deleted: 1 message",
        "Nov 28 10:00:00 mx postfix/qmgr[9]: 2E3F41A8C5F: removed",
    ]
    parser = parse(lines)
    other = parser.result()["other"]
    assert (other["removed"], other["removed_by_postsuper"]) == (1, 1)
    assert parser.open_state() == 0


def test_lines_that_are_not_utf8_never_raise():
    lines = [
        (
            b"Nov 28 10:00:00 mx postfix/smtpd[718]: NOQUEUE: reject: RCPT from unknown[192.0.2.9]: "
            b"550 5.1.1 <\xff\xfe@example.com>: Recipient address rejected: Us\xe9r unknown; "
            b"from=<\xc3\x28@example.net> to=<\xff@example.com> proto=ESMTP helo=<\x80\x81>"
        ),
        (
            b"Nov 28 10:00:00 mx postfix/smtp[1]: 3Wb1Zq5n2Mz9vQb: to=<\xff@example.net>, relay=none, "
            b"delay=30, delays=0.1/0/30/0, dsn=4.4.1, status=deferred (\xe9chec \xff)"
        ),
        b"\xff\xfe\xfd garbage \x00 line",
        b"Nov 28 10:00:00 mx postfix/qmgr[9]: 1D2E31A8C5E: from=<\xe9@x>, size=10, nrcpt=1",
    ]
    parser = parse(lines)
    result = parser.result()
    assert nonzero(parser.counts()) == {
        "rejected": 1,
        "deferred": 1,
        "deferred_messages": 1,
    }
    assert "\ufffd" in result["top_reject_reasons"][0]["reason"]
    assert result["sources"]["lines_read"] == 4


def test_unknown_lines_are_counted_not_fatal():
    lines = ["random text", "", "Nov 28 10:00:00 mx kernel: something", SIMPLE[1]]
    result = parse(lines).result()
    assert result["sources"]["lines_read"] == 4
    assert result["sources"]["lines_recognised"] == 1
    assert result["received"] == 1


# ---------------------------------------------------------------------------------------------
# time stamps and the window
# ---------------------------------------------------------------------------------------------

CLIENT = " mx postfix/smtpd[1]: %s: client=a.example[192.0.2.1]"


def _epochs(stamps, **kwargs):
    parser = parse([s + CLIENT % f"A{i}B" for i, s in enumerate(stamps)], **kwargs)
    return sorted(m * 60 for m in parser.per_minute), parser


@pytest.mark.parametrize(
    "stamp, expected",
    [
        ("2026-11-28T10:00:05.123456+01:00", "2026-11-28T09:00:00Z"),
        ("2026-11-28T10:00:05.123+0100", "2026-11-28T09:00:00Z"),
        ("2026-11-28T10:00:05+0100", "2026-11-28T09:00:00Z"),  # journalctl -o short-iso
        ("2026-11-28T10:00:05-05:00", "2026-11-28T15:00:00Z"),
        ("2026-11-28T10:00:05Z", "2026-11-28T10:00:00Z"),
        ("2026-11-28T10:00:05.5Z", "2026-11-28T10:00:00Z"),
    ],
)
def test_rfc3339_stamps(stamp, expected):
    result = parse([stamp + CLIENT % "A1B"]).result()
    assert result["volume"]["peak_minute"] == expected
    assert result["sources"]["first"] == expected[:-3] + "05Z"


@pytest.mark.parametrize("stamp", ["Nov  1 10:00:05", "Nov 01 10:00:05"])
def test_classic_stamp_space_or_zero_padded(stamp, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        result = parse([stamp + CLIENT % "A1B"]).result()
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert result["sources"]["first"] == "2026-11-01T10:00:05Z"


def test_classic_stamp_year_across_new_year(tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        log = tmp_path / "mail.log"
        log.write_text(
            "Dec 31 23:59:58" + CLIENT % "A1B" + "\n"
            "Jan  1 00:00:01" + CLIENT % "A2B" + "\n"
            # logged a moment late by a slow process: still last year
            "Dec 31 23:59:59" + CLIENT % "A3B" + "\n"
            "Jan  1 00:00:02" + CLIENT % "A4B" + "\n"
        )
        # the file was last written in January 2027: December is 2026
        mtime = calendar.timegm((2027, 1, 1, 0, 0, 3, 0, 0, 0))
        os.utime(log, (mtime, mtime))
        parser = MailLogParser(now=calendar.timegm((2027, 6, 1, 0, 0, 0, 0, 0, 0)))
        parser.feed_path(str(log))
        result = parser.result()
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert result["sources"]["first"] == "2026-12-31T23:59:58Z"
    assert result["sources"]["last"] == "2027-01-01T00:00:02Z"
    assert [h["hour"] for h in result["volume"]["per_hour"]] == [
        "2026-12-31T23:00:00Z",
        "2027-01-01T00:00:00Z",
    ]


def test_classic_year_from_file_date_not_from_now(tmp_path, monkeypatch):
    """An old rotated file: its year comes from its own date, not from today's."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        log = tmp_path / "mail.log.1"
        log.write_text("Mar  3 10:00:00" + CLIENT % "A1B" + "\n")
        mtime = calendar.timegm((2024, 3, 4, 0, 0, 0, 0, 0, 0))
        os.utime(log, (mtime, mtime))
        parser = MailLogParser(now=NOW)
        parser.feed_path(str(log))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert parser.result()["sources"]["first"] == "2024-03-03T10:00:00Z"


def test_window_since_until():
    lines = [
        "2026-11-28T09:59:59Z" + CLIENT % "A1B",
        "2026-11-28T10:00:00Z" + CLIENT % "A2B",
        "2026-11-28T10:30:00Z" + CLIENT % "A3B",
        "2026-11-28T11:00:00Z" + CLIENT % "A4B",
    ]
    since = calendar.timegm((2026, 11, 28, 10, 0, 0, 0, 0, 0))
    until = calendar.timegm((2026, 11, 28, 11, 0, 0, 0, 0, 0))
    parser = parse(lines, since=since, until=until)
    result = parser.result()
    assert result["received"] == 2
    assert result["sources"]["first"] == "2026-11-28T10:00:00Z"
    assert result["sources"]["last"] == "2026-11-28T10:30:00Z"
    assert result["sources"]["lines_in_window"] == 2
    assert result["volume"]["per_hour"] == [{"hour": "2026-11-28T10:00:00Z", "received": 2}]


def test_window_with_no_data():
    parser = parse(SIMPLE, since=NOW + 3600)
    result = parser.result()
    assert result["received"] == 0
    assert result["sources"]["first"] is None
    assert result["volume"]["messages_per_hour"] is None
    assert result["latency"]["delay"]["p95"] is None


def test_volume_peak_minute_and_rate():
    lines = []
    for i in range(10):
        lines.append(f"2026-11-28T10:00:{i:02d}Z" + CLIENT % f"A{i}B")
    for i in range(3):
        lines.append(f"2026-11-28T11:59:{i:02d}Z" + CLIENT % f"C{i}D")
    volume = parse(lines).result()["volume"]
    assert volume["peak_messages_per_minute"] == 10
    assert volume["peak_minute"] == "2026-11-28T10:00:00Z"
    # 13 messages over 1 h 59 min 02 s
    assert volume["messages_per_hour"] == round(13 / (7142 / 3600.0), 1)
    assert [h["received"] for h in volume["per_hour"]] == [10, 3]


# ---------------------------------------------------------------------------------------------
# streaming: blocks, gzip, bounded memory
# ---------------------------------------------------------------------------------------------


def _synthetic(n, deferred_every=0):
    for i in range(n):
        q = "%X" % (0x1A8C580000 + i)
        s = f"2026-11-28T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"
        yield f"{s} mx postfix/smtpd[1]: {q}: client=a.example[192.0.2.1]\n"
        yield f"{s} mx postfix/qmgr[2]: {q}: from=<a@a.example>, size={1000 + i}, nrcpt=1\n"
        status = "deferred" if deferred_every and i % deferred_every == 0 else "sent"
        yield (
            f"{s} mx postfix/smtp[3]: {q}: to=<b@b.example>, relay=b.example[192.0.2.2]:25, "
            f"delay=0.{i % 100:02d}, delays=0/0/0/0.{i % 100:02d}, dsn=2.0.0, status={status} "
            "(250 ok)\n"
        )
        if status == "sent":
            yield f"{s} mx postfix/qmgr[2]: {q}: removed\n"


def test_blocks_split_anywhere_give_the_same_result(tmp_path):
    data = "".join(_synthetic(500, deferred_every=7)).encode()
    whole = MailLogParser(now=NOW)
    whole.feed_lines(data.decode().splitlines())
    import io

    for block in (1, 7, 100, 4096):
        parser = MailLogParser(now=NOW)
        parser.begin_source()
        parser.feed_stream(io.BytesIO(data), block_size=block)
        parser.end_source()
        assert parser.counts() == whole.counts()
        assert parser.result()["latency"] == whole.result()["latency"]


def test_sessions_split_across_blocks_give_the_same_figures():
    # the open-session count and the peak carry from one block to the next
    lines = []
    for i in range(60):
        second = f"2026-11-28T10:{i // 60:02d}:{i % 60:02d}Z"
        lines.append(f"{second} mx postfix/smtpd[{i}]: connect from c{i}[192.0.2.{i}]\n")
        if i % 3 == 2:  # one in three connects closes two sessions: the count rises, then falls
            for j in (i - 1, i):
                commands = "5" if j % 2 else "3/4"
                lines.append(
                    f"{second} mx postfix/smtpd[{j}]: disconnect from c{j}[192.0.2.{j}] "
                    f"ehlo=1 quit=1 commands={commands}\n"
                )
    data = "".join(lines).encode()
    whole = MailLogParser(now=NOW)
    whole.feed_lines(data.decode().splitlines())
    expected = whole.result()["sessions"]
    # 19 open after the group at i=56, then three connects before the last group closes
    assert expected["peak_concurrency"] == 22
    assert expected["peak_concurrency_time"] == "2026-11-28T10:00:59Z"
    assert (expected["count"], expected["commands"], expected["commands_failed"]) == (40, 180, 20)
    import io

    for block in (1, 50, 333, 4096):
        parser = MailLogParser(now=NOW)
        parser.begin_source()
        parser.feed_stream(io.BytesIO(data), block_size=block)
        parser.end_source()
        assert parser.result()["sessions"] == expected


def test_gzip_rotated_file(tmp_path):
    data = "".join(_synthetic(50)).encode()
    path = tmp_path / "mail.log.2.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(data)
    parser = MailLogParser(now=NOW)
    parser.feed_path(str(path))
    assert parser.counts()["delivered"] == 50
    assert parser.result()["sources"]["files"][0]["lines"] == 200


def test_memory_holds_only_open_messages():
    parser = MailLogParser(now=NOW)
    parser.begin_source()
    lines = list(_synthetic(20000, deferred_every=1000))
    for start in range(0, len(lines), 5000):
        parser.feed("".join(lines[start : start + 5000]).encode())
    # the 20 deferred messages are still in the queue, everything else was removed
    assert parser.open_state() == 20 * 2  # size + deferred flag
    assert parser.counts()["delivered"] == 19980


def test_state_pruned_by_age_when_the_end_never_shows():
    import ansible_collections.sbs.postfix.plugins.module_utils._maillog as mod

    parser = MailLogParser(now=NOW)
    parser.begin_source()
    # clients that vanish after DATA: client= and no qmgr line ever
    old = "".join(
        f"2026-11-01T00:00:{i % 60:02d}Z mx postfix/smtpd[1]: X{i}Y: client=a.example[192.0.2.1]\n"
        for i in range(50)
    )
    parser.feed(old.encode())
    assert parser.open_state() == 50
    limit = mod._STATE_PRUNE_AT
    mod._STATE_PRUNE_AT = 10
    try:
        parser.feed(("2026-11-28T00:00:00Z" + CLIENT % "Z1Z" + "\n").encode())
    finally:
        mod._STATE_PRUNE_AT = limit
    assert parser.open_state() == 1


# ---------------------------------------------------------------------------------------------
# distributions
# ---------------------------------------------------------------------------------------------


def test_value_counter_exact_percentiles():
    counter = ValueCounter()
    for value in range(1, 101):
        counter.add(b"%d" % value)
    summary = counter.summary()
    assert (summary["p50"], summary["p95"], summary["p99"], summary["max"]) == (
        50,
        95,
        99,
        100,
    )
    assert summary["exact"] is True


def test_value_counter_folds_within_one_percent():
    counter = ValueCounter(limit=100)
    values = [1 + i * 0.37 for i in range(5000)]
    for value in values:
        counter.add((f"{value:.2f}").encode())
    summary = counter.summary()
    assert summary["exact"] is False
    assert summary["count"] == 5000
    values.sort()
    for p in (50, 95, 99):
        true = values[int(p / 100 * 5000) - 1]
        assert abs(summary[f"p{p}"] - true) / true < 0.011
    assert summary["max"] == float(f"{values[-1]:.2f}")


def test_size_counter_histogram_is_exact_and_percentiles_close():
    counter = SizeCounter()
    sizes = [100, 1023, 1024, 4095, 4096, 70000, 20_000_000, *range(2000, 3000)]
    for size in sizes:
        counter.add_size(size)
    summary = counter.summary()
    assert summary["max"] == 20_000_000
    histogram = {b["below"]: b["count"] for b in summary["histogram"]}
    assert histogram[1024] == 2
    assert histogram[4096] == 2 + 1000
    assert histogram[16384] == 1
    assert histogram[262144] == 1
    assert histogram[None] == 1
    true = sorted(sizes)[int(0.5 * len(sizes)) - 1]
    assert abs(summary["p50"] - true) / true < 0.008


def test_normalise_reason():
    text = (
        b"host mx.example.net[192.0.2.1] said: 550 5.1.1 <bob@example.net>: Recipient address "
        b"rejected: queued as 4C2A71A8C58 (in reply to RCPT TO command)"
    )
    assert normalise_reason(text) == (
        "550 5.1.1 <>: Recipient address rejected: queued as N (in reply to RCPT TO command)"
    )
    assert normalise_reason(b"connect to mx.example.net[192.0.2.1]:25: Connection refused") == (
        "connect to mx.example.net[]: Connection refused"
    )
    # A relay refusing the credentials (Postfix 3.10 with a Dovecot-backed smarthost): the
    # cause Postfix states before the reply is what an admin must see.
    sasl = (
        b"SASL authentication failed; server 127.0.0.1[127.0.0.1] said: 535 5.7.8 Error: "
        b"authentication failed: (reason unavailable)"
    )
    assert normalise_reason(sasl) == (
        "SASL authentication failed: 535 5.7.8 Error: authentication failed: (reason unavailable)"
    )
    assert normalise_reason(
        b"TLS is required, but was not offered by host 127.0.0.1[127.0.0.1]"
    ) == ("TLS is required, but was not offered by host 127.0.0.1[]")


# ---------------------------------------------------------------------------------------------
# since / until values
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("all", None),
        ("24h", NOW - 86400),
        ("90m", NOW - 5400),
        ("7d", NOW - 7 * 86400),
        ("2w", NOW - 14 * 86400),
        ("30s", NOW - 30),
        ("now", NOW),
        ("2026-11-28T10:00:00Z", NOW - 7200),
        ("2026-11-28T11:00:00+01:00", NOW - 7200),
        ("2026-11-28T11:00:00+0100", NOW - 7200),
        ("1795860000", 1795860000.0),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text, now=NOW) == expected


def test_parse_time_local_without_offset(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert parse_time("2026-11-28 10:00", now=NOW) == NOW - 7200
        assert parse_time("2026-11-28", now=NOW) == NOW - 12 * 3600
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_parse_time_rejects_nonsense():
    with pytest.raises(ValueError, match="relative age"):
        parse_time("yesterday-ish", now=NOW)


# ---------------------------------------------------------------------------------------------
# real logs: the counts equal pflogsumm's Grand Totals
# ---------------------------------------------------------------------------------------------


def _pflogsumm_totals(path):
    """Grand Totals from a recorded ``pflogsumm`` report (same rounding as pflogsumm: values
    above 512k are printed in units of 1024)."""
    totals = {}
    names = {
        "received": "received",
        "delivered": "delivered",
        "forwarded": "forwarded",
        "deferred": "deferred_messages",
        "bounced": "bounced",
        "rejected": "rejected",
        "reject warnings": "reject_warnings",
        "held": "held",
        "discarded": "discarded",
        "bytes received": "bytes_received",
        "bytes delivered": "bytes_delivered",
    }
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            m = re.match(r"\s*(\d+)([km ])\s+([a-z ]+?)(?:\s+\(.*)?$", line.rstrip("\n"))
            if m and m.group(3) in names:
                totals[names[m.group(3)]] = (int(m.group(1)), m.group(2))
            m = re.search(r"\((\d+)\s+deferrals\)", line)
            if m:
                totals["deferred"] = (int(m.group(1)), " ")
    return totals


def _as_pflogsumm(value):
    if value > 536870912:
        return int(value / 1048576), "m"
    if value > 524288:
        return int(value / 1024), "k"
    return value, " "


REAL_LOGS = sorted(
    name
    for name in os.listdir(FIXTURES)
    if name.endswith(".log") and os.path.exists(os.path.join(FIXTURES, name + ".pflogsumm"))
)


@pytest.mark.parametrize("name", REAL_LOGS)
def test_real_log_counts_equal_pflogsumm_grand_totals(name):
    parser = MailLogParser(now=NOW)
    parser.feed_path(os.path.join(FIXTURES, name))
    ours = parser.counts()
    theirs = _pflogsumm_totals(os.path.join(FIXTURES, name + ".pflogsumm"))
    assert len(theirs) == 12
    assert {k: _as_pflogsumm(ours[k]) for k in theirs} == theirs
    assert ours["received"] > 0 and ours["delivered"] > 0


# one line of each kind and the group its branch of the expression closes last: the parser
# dispatches on Match.lastindex, so every branch has to end with a group of its own
LINE_KINDS = (
    (
        "postfix/smtp[724]: F01451AE031: to=<user@accept.test>, relay=127.0.0.1[127.0.0.1]:2525, "
        "delay=1, delays=0.3/0.67/0.03/0, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
        "sent",
    ),
    (
        "postfix/local[9]: 3C1A2B: to=<alias@example.test>, orig_to=<list@example.test>, "
        "relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (forwarded as 4D2E)",
        "forwarded",
    ),
    (
        "postfix/error[939]: 5AED21AE177: to=<later@soft.test>, relay=none, delay=12, "
        "delays=12/0.14/0/0, dsn=4.4.1, status=deferred (delivery temporarily suspended)",
        "status",
    ),
    (
        "postfix/qmgr[707]: F01451AE031: from=<sender@localhost>, size=2324, nrcpt=1 (queue active)",
        "size",
    ),
    (
        "postfix/qmgr[707]: 3C1A2B: from=<a@example.test>, status=expired, returned to sender",
        "expired",
    ),
    ("postfix/smtpd[716]: F01451AE031: client=localhost[127.0.0.1]", "client"),
    ("postfix/qmgr[707]: F01451AE031: removed", "removed"),
    ("postfix/pickup[12]: 3C1A2B: uid=0 from=<root>", "pickup"),
    ("postfix/smtpd[716]: NOQUEUE: reject: RCPT from x[192.0.2.1]: 554 5.7.1 denied", "rej"),
    ("postfix/smtpd[716]: warning: hostname x does not resolve to address 192.0.2.1", "rej"),
    ("postfix/bounce[757]: F38661AE00C: sender non-delivery notification: AD8B31AE016", "notif"),
    ("postfix/smtpd[716]: connect from localhost[127.0.0.1]", "connect"),
    (
        "postfix/10025/smtpd[716]: disconnect from localhost[127.0.0.1] ehlo=1 quit=1 commands=2",
        "disconnect",
    ),
    ("postfix/smtpd[716]: disconnect from localhost[127.0.0.1]", "disconnect"),
)


@pytest.mark.parametrize(("line", "group"), LINE_KINDS)
def test_each_branch_of_the_expression_ends_with_its_own_group(line, group):
    for names in ((b"postfix",), (b"postfix", b"postfix-out")):
        rx = compile_line_regex(names)
        m = rx.search(line.encode() + b"\n")
        assert m is not None
        assert m.lastindex == rx.groupindex[group]


@pytest.mark.parametrize(
    "line",
    (
        "postfix/cleanup[721]: F01451AE031: message-id=<02cb.0003.00be@a38e84129f7a>",
        # qmqpd has sessions too, but the figures are smtpd's
        "postfix/qmqpd[77]: connect from localhost[127.0.0.1]",
        "postfix/qmqpd[77]: disconnect from localhost[127.0.0.1]",
    ),
)
def test_lines_the_baseline_does_not_count_do_not_match(line):
    assert compile_line_regex().search(line.encode() + b"\n") is None
