#!/usr/bin/python
# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: smtp_load
short_description: Send test mail to a Postfix host and time it from the sender's side
version_added: 0.1.0
description:
  - Runs on the mail host itself and sends O(count) test messages of O(size) bytes to O(host)
    on O(port) (loopback by default) through O(sessions) concurrent SMTP sessions, O(per_session)
    messages per connection, optionally at O(rate) messages per second. Each message carries a
    unique header C(X-SBS-Load) with the value C(<run id>-<n>).
  - It records what the sender sees, which Postfix's log cannot show. Postfix's C(delay=) starts
    only once smtpd has accepted the connection; a client that waits in the kernel's listen queue
    first (every smtpd busy, the backlog full) waits where no log line shows it. RV(load.time_to_banner)
    and RV(load.time_to_250) include that wait, RV(load.first_attempt_to_delivery) adds the time to
    delivery.
  - A refused connection, a time-out, a dropped connection or a 4xx reply is retried after
    O(retry_pause) seconds, at most O(retries) times per message; a 5xx reply rejects the message
    for good.
  - With O(wait_delivered=true) it then reads the mail log (the same sources as
    M(sbs.postfix.baseline_info), and its time stamp parsing) until every accepted message has
    left the queue or O(delivery_timeout) has passed, and times each delivery from the
    message's first attempt to its C(status=sent) line.
  - Percentiles are nearest rank, the smallest value that at least p percent of the values are
    less than or equal to (no interpolation).
  - The module fails when no message at all was accepted, with the counts and the most frequent
    error in the message.
  - Test traffic must never reach the Internet. O(host) must resolve to loopback addresses only
    unless O(allow_remote=true), and O(recipient) should be in a domain that is delivered to a
    sink (C(smtp-sink), a C(discard) transport) on the host or inside your own test network.
requirements:
  - Python 3.9 or later on the mail host to send; Python 3.11 or later (Debian 12 and 13 have
    it) for the delivery times of O(wait_delivered), which use the collection's log parser.
author:
  - sbs.postfix maintainers (@sbs-postfix)
options:
  host:
    description:
      - Address or name of the SMTP server. Every address it resolves to must be a loopback
        address unless O(allow_remote=true); the connection goes to the first one.
    type: str
    default: 127.0.0.1
  port:
    description: Its SMTP port.
    type: int
    default: 25
  allow_remote:
    description:
      - Allow a O(host) that is not a loopback address. Only for a server inside your own test
        network (the project's containers) whose recipient domains end in a sink; test traffic
        must never reach the Internet.
    type: bool
    default: false
  sender:
    description:
      - Envelope sender of the test messages. The default, the null sender C(<>), means a test
        message that cannot be delivered produces no bounce.
    type: str
    default: ""
  recipient:
    description:
      - Envelope recipient of every test message, in a domain that ends in a sink.
    type: str
    required: true
  count:
    description: How many messages to send.
    type: int
    default: 100
  size:
    description:
      - Size of each message as sent (headers and body), in bytes; never less than its headers
        (about 300 bytes).
    type: int
    default: 2048
  sessions:
    description: How many SMTP sessions send at the same time (threads, one connection each).
    type: int
    default: 10
  per_session:
    description: How many messages one connection carries before it is closed with C(QUIT) and
      opened again.
    type: int
    default: 10
  rate:
    description:
      - Messages per second started in all sessions together; message n is started
        (n - 1) / O(rate) seconds after the run began, or as soon as a session is free when the
        sessions fall behind (see RV(load.behind_schedule)).
      - Unset or V(0) sends as fast as the sessions can.
    type: float
  retries:
    description: How many times a message is sent again after a temporary failure (refused or
      dropped connection, time-out, 4xx reply).
    type: int
    default: 3
  retry_pause:
    description: Seconds to wait before sending a message again.
    type: float
    default: 0.5
  connect_timeout:
    description: Seconds allowed for the TCP connection to be established.
    type: float
    default: 10.0
  timeout:
    description: Seconds allowed for each reply (the greeting included) and each write.
    type: float
    default: 30.0
  run_id:
    description:
      - Identifies this run in the C(X-SBS-Load) header, the C(Subject) and the C(Message-ID).
      - Default is the start time and six random hex digits, V(20261130T101500Z-3fa2c1).
    type: str
  wait_delivered:
    description:
      - After sending, read the mail log until every accepted message has left the queue (its
        C(removed) line) or O(delivery_timeout) has passed, and report the delivery times.
    type: bool
    default: false
  delivery_timeout:
    description: Seconds to wait for the accepted messages to leave the queue.
    type: float
    default: 120.0
  log_source:
    description:
      - Where the delivery lines are read for O(wait_delivered).
      - V(files) reads O(log_paths) from where they ended before the first message was sent.
      - V(journal) reads the systemd journal after its cursor at that moment
        (C(journalctl -o short-iso-precise SYSLOG_FACILITY=2)).
      - V(auto) reads the files when one can be read, the journal otherwise.
    type: str
    choices: [auto, files, journal]
    default: auto
  log_paths:
    description:
      - Log files to read for O(wait_delivered).
      - Default is V(/var/log/mail.log), V(/var/log/maillog) and Postfix's own C(maillog_file)
        with their rotated siblings, those that exist, as for M(sbs.postfix.baseline_info); a
        file rotated during the run is read to its end.
    type: list
    elements: path
attributes:
  check_mode:
    description: Can run in check mode and return changed status prediction without modifying
      target.
    support: full
    details: In check mode the options are checked (a non-loopback O(host) is refused the same
      way), nothing is sent, RV(load) is V(null) and the result is C(changed), the prediction
      of a run that sends mail.
  diff_mode:
    description: Would return a diff; sending mail has none.
    support: none
notes:
  - Every figure is measured on the mail host, so the sender's clock and the log's clock are the
    same clock.
  - Classic syslog stamps (C(Nov 28 14:18:32)) have a resolution of one second, RFC 3339 stamps
    with a fraction (rsyslog's high precision format, C(journalctl -o short-iso-precise)) of one
    microsecond; RV(load.log_resolution_seconds) says which. A stamp is cut to its resolution, so
    each delivery time is counted to the end of its stamp's second (or microsecond), at most one
    resolution step above the truth, never below it.
  - A connection that drops after the end of the data leaves the sender without an answer while
    Postfix may have queued the message (RFC 1047); the retry then delivers a second copy.
seealso:
  - module: sbs.postfix.baseline_info
  - name: docs/baseline.md
    description: "Sender-side figures: sbs.postfix.smtp_load"
    link: https://github.com/sbs-postfix/sbs.postfix/blob/main/docs/baseline.md
"""

EXAMPLES = r"""
- name: Send 100 messages of 2 KiB through 10 sessions to the local Postfix
  sbs.postfix.smtp_load:
    recipient: sink@sink.test
  register: load

- name: Show what the clients waited for
  ansible.builtin.debug:
    msg: >-
      {{ load.load.accepted }}/{{ load.load.messages }} accepted, banner p95
      {{ load.load.time_to_banner.p95 }} s, 250 p95 {{ load.load.time_to_250.p95 }} s

- name: 1000 messages at 50 per second, then wait for their delivery
  sbs.postfix.smtp_load:
    recipient: sink@sink.test
    count: 1000
    rate: 50
    sessions: 20
    wait_delivered: true
    delivery_timeout: 300
  register: load

- name: Keep the sender's figures beside the baseline
  ansible.builtin.set_fact:
    sender_figures: "{{ load.load }}"
  when: load.load is not none
"""

RETURN = r"""
load:
  description:
    - The sender's figures; V(null) in check mode. Times in seconds. Each distribution is
      C(count) (values), C(p50), C(p95) (and C(p99) where named), C(max), nearest rank,
      rounded to 0.1 ms; V(null) values when C(count) is 0.
  returned: always
  type: dict
  contains:
    run_id:
      description: The run's identifier, the first part of each C(X-SBS-Load) value.
      type: str
      sample: 20261130T101500Z-3fa2c1
    started:
      description: When the first message was started (ISO 8601, UTC).
      type: str
    messages:
      description: Messages sent or attempted (O(count)), in messages.
      type: int
    accepted:
      description: Messages the server accepted with 250 after the end of their data.
      type: int
    rejected:
      description: Messages refused for good with a 5xx reply (to the greeting, C(MAIL FROM),
        C(RCPT TO), C(DATA) or the end of the data).
      type: int
    gave_up:
      description: Messages still failing temporarily after O(retries) retries.
      type: int
    connections:
      description: Connection attempts, in connections.
      type: int
    refused_connections:
      description: Connection attempts that failed (refused, unreachable), in attempts.
      type: int
    timeouts:
      description: Attempts that ran out of O(connect_timeout) or O(timeout), in attempts.
      type: int
    dropped_connections:
      description: Connections the server closed or reset in the middle of an exchange (or
        before its greeting), in connections.
      type: int
    temporary_failures:
      description: 4xx replies, in replies.
      type: int
    retries:
      description: Messages sent again after a temporary failure, in attempts.
      type: int
    elapsed_seconds:
      description: From the first message's start to the last message's final reply, in
        seconds (the wait for delivery is not included).
      type: float
    messages_per_second:
      description: RV(load.accepted) divided by RV(load.elapsed_seconds), in messages per second.
      type: float
    time_to_banner:
      description: Per connection that got its greeting, from the start of C(connect()) to the
        220 greeting (the listen-queue wait, TCP handshake, postscreen or smtpd greeting), in
        seconds. C(count), C(p50), C(p95), C(max).
      type: dict
      sample: {"count": 100, "p50": 0.0011, "p95": 1.0213, "max": 3.0412}
    time_to_250:
      description: Per accepted message, from its first attempt (the connection it opened, or
        its C(MAIL FROM) on a connection already open) to the 250 reply to the end of its
        data, retries and pauses included, in seconds. C(count), C(p50), C(p95), C(p99), C(max).
      type: dict
    behind_schedule:
      description: With O(rate), how late each message was started against its schedule
        (sessions all busy), in seconds, C(count), C(p50), C(p95), C(max); V(null) without
        O(rate).
      type: dict
    first_attempt_to_delivery:
      description: With O(wait_delivered), per delivered message, from its first attempt to
        the time stamp of its C(status=sent) line counted to the end of that stamp's resolution,
        in seconds. C(count), C(p50), C(p95), C(max). V(null) without O(wait_delivered) or
        when no log could be read.
      type: dict
    delivered:
      description: With O(wait_delivered), accepted messages the log shows as sent, in
        messages; V(null) otherwise.
      type: int
    undelivered:
      description: With O(wait_delivered), accepted messages without a C(status=sent) line
        (bounced, deferred, still queued, not in the log), in messages; RV(load.warnings) says
        which. V(null) otherwise.
      type: int
    log_resolution_seconds:
      description: Resolution of the log's time stamps behind RV(load.first_attempt_to_delivery),
        in seconds, V(1.0) for classic syslog stamps, V(1e-06) for RFC 3339 stamps with
        microseconds (the coarsest seen); V(null) when no delivery line was read.
      type: float
    log_source:
      description: Where the delivery lines came from, V(files) or V(journal); V(null) without
        O(wait_delivered) or when no log could be read.
      type: str
    queue_ids:
      description: The queue ids of the first 20 accepted messages (from C(queued as) in the
        250 reply), in order of sending.
      type: list
      elements: str
    errors:
      description: The 5 most frequent failures, C(error) (phase and reply or system error)
        and C(count) (attempts).
      type: list
      elements: dict
      sample: [{"error": "connect: [Errno 111] Connection refused", "count": 12}]
    warnings:
      description: What could not be measured (no log, Python older than 3.11 for delivery
        times, messages still queued at O(delivery_timeout)); each is also an Ansible warning.
      type: list
      elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sbs.postfix.plugins.module_utils import _smtpload
from ansible_collections.sbs.postfix.plugins.module_utils._runner import CommandRunner


def main():
    module = AnsibleModule(
        argument_spec={
            "host": {"type": "str", "default": "127.0.0.1"},
            "port": {"type": "int", "default": 25},
            "allow_remote": {"type": "bool", "default": False},
            "sender": {"type": "str", "default": ""},
            "recipient": {"type": "str", "required": True},
            "count": {"type": "int", "default": 100},
            "size": {"type": "int", "default": 2048},
            "sessions": {"type": "int", "default": 10},
            "per_session": {"type": "int", "default": 10},
            "rate": {"type": "float"},
            "retries": {"type": "int", "default": 3},
            "retry_pause": {"type": "float", "default": 0.5},
            "connect_timeout": {"type": "float", "default": 10.0},
            "timeout": {"type": "float", "default": 30.0},
            "run_id": {"type": "str"},
            "wait_delivered": {"type": "bool", "default": False},
            "delivery_timeout": {"type": "float", "default": 120.0},
            "log_source": {
                "type": "str",
                "choices": ["auto", "files", "journal"],
                "default": "auto",
            },
            "log_paths": {"type": "list", "elements": "path"},
        },
        supports_check_mode=True,
    )
    p = module.params
    # What shapes the load, checked and then used as given.
    settings = {
        name: p[name]
        for name in ("count", "size", "sessions", "per_session", "rate", "retries", "retry_pause")
    }
    try:
        target = _smtpload.resolve_target(p["host"], p["port"], allow_remote=p["allow_remote"])
        _smtpload.check_settings(
            **settings,
            timeouts=(
                ("connect_timeout", p["connect_timeout"]),
                ("timeout", p["timeout"]),
                ("delivery_timeout", p["delivery_timeout"]),
            ),
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if module.check_mode:
        module.exit_json(changed=True, load=None)

    run = CommandRunner(module, missing_ok=True)
    log = None
    early_warnings = []
    if p["wait_delivered"]:
        try:
            maillog_file, syslog_name = _smtpload.log_settings(run)
            log = _smtpload.DeliveryLog(
                run,
                log_source=p["log_source"],
                log_paths=p["log_paths"],
                maillog_file=maillog_file,
                syslog_name=syslog_name,
            )
        except RuntimeError as exc:
            early_warnings.append(f"no delivery times: {exc}")
        else:
            # before the first message: only lines written from here on are read
            log.mark()

    load, records = _smtpload.send_load(
        recipient=p["recipient"],
        target=target,
        sender=p["sender"],
        **settings,
        connect_timeout=p["connect_timeout"],
        timeout=p["timeout"],
        run_id=p["run_id"],
    )
    load["warnings"].extend(early_warnings)
    if not load["accepted"]:
        module.fail_json(msg=_smtpload.failure_message(load, p["host"], p["port"]), load=load)
    if log is not None:
        queue_ids = [r["queue_id"] for r in records if r["outcome"] == "accepted" and r["queue_id"]]
        left = _smtpload.wait_for_delivery(
            log,
            queue_ids,
            p["delivery_timeout"],
            queued=lambda: _smtpload.queue_ids_in_queue(run),
        )
        _smtpload.add_delivery(load, records, log, left, p["delivery_timeout"])
    for warning in load["warnings"]:
        module.warn(warning)
    module.exit_json(changed=True, load=load)


if __name__ == "__main__":
    main()
