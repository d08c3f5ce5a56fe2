#!/usr/bin/python
# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: baseline_info
short_description: Measure a Postfix host before anything changes (mail log, queue, system, postfix)
version_added: 0.1.0
description:
  - Returns one structured result, RV(baseline), in four parts.
  - C(mail) comes from the Postfix log (files, rotated C(.1) and C(.gz) copies included, or the
    systemd journal), with counts that follow the definitions as pflogsumm's "Grand Totals", volume per
    hour and per minute, message sizes, delivery latency with the four parts of C(delays=), top
    deferral, bounce and reject reasons.
  - C(queue) comes from C(postqueue -j) (Postfix 3.1 or later), with messages and bytes per queue,
    the oldest message's age and an age histogram in qshape's buckets.
  - C(system) holds CPU, load, memory and swap, the file system of C(queue_directory) (with the
    rotational flag of its disk), that disk's I/O over a short sample, the open-file limits of
    Postfix's master process and whether the host is a container.
  - C(postfix) holds the version, C(default_process_limit), the C(main.cf) parameters that
    M(sbs.postfix.sizing_info) sizes and the process limits of the master.cf services it sizes.
  - The module only reads. A part that cannot be measured is V(null) and each gap is reported
    in RV(baseline.warnings); the module fails only when no part at all could be measured.
  - The log parser streams (memory does not grow with the log) and reads a log several times
    faster than pflogsumm; see C(docs/baseline.md) for the counting rules and
    C(docs/benchmarks.md) for the measurements.
requirements:
  - Python 3.11 or later on the managed host (Debian 12 and 13 have it); the parser's regular
    expression uses possessive repeats.
  - C(postqueue) for the queue part (Postfix 3.1 or later for C(postqueue -j)).
author:
  - sbs.postfix maintainers (@sbs-postfix)
options:
  log_paths:
    description:
      - Log files to read, oldest first. Files ending in C(.gz) are decompressed on the fly.
      - Default is V(/var/log/mail.log), V(/var/log/maillog) and Postfix's own C(maillog_file),
        each with its rotated siblings (C(.1), C(.2.gz), ...), those that exist.
      - Files last written before O(since) are skipped without being opened.
    type: list
    elements: path
  log_source:
    description:
      - V(files) reads only O(log_paths).
      - V(journal) reads the systemd journal (C(journalctl -o short-iso SYSLOG_FACILITY=2)).
      - V(auto) reads the files and uses the journal only when no log file can be read.
    type: str
    choices: [auto, files, journal]
    default: auto
  since:
    description:
      - Start of the window. V(all) for no start, a relative age such as V(90m), V(24h), V(7d)
        or V(2w) (before now), or an absolute time such as V(2026-11-28 14:00) (local time) or
        V(2026-11-28T14:00:00+01:00).
    type: str
    default: 24h
  until:
    description:
      - End of the window (exclusive), in the same forms as O(since). Default is no end.
    type: str
  parts:
    description:
      - Which parts to measure.
    type: list
    elements: str
    choices: [mail, queue, system, postfix]
    default: [mail, queue, system, postfix]
  io_sample_seconds:
    description:
      - How long to sample C(/proc/diskstats) for the disk I/O of the queue's device. V(0) skips
        the sample.
    type: float
    default: 1.0
attributes:
  check_mode:
    description: Can run in check mode and return the same result.
    support: full
    details: The module never changes the host; it runs the same in check mode.
  diff_mode:
    description: Would return a diff; the module changes nothing, so there is none.
    support: none
notes:
  - Classic syslog time stamps carry no year; it is taken from each file's modification date
    (a file last written in January that starts in December started last year).
  - Reading the journal holds C(journalctl)'s output in memory; for very large windows prefer
    log files.
seealso:
  - module: sbs.postfix.sizing_info
  - name: pflogsumm
    description: The log summariser whose Grand Totals the counts match.
    link: https://jimsun.linxnet.com/postfix_contrib.html
"""

EXAMPLES = r"""
- name: Measure the last 24 hours
  sbs.postfix.baseline_info:
  register: baseline

- name: Show the 95th percentile delivery delay
  ansible.builtin.debug:
    msg: "p95 delay {{ baseline.baseline.mail.latency.delay.p95 }} s"

- name: One week from given files, mail part only
  sbs.postfix.baseline_info:
    log_paths:
      - /var/log/mail.log.1
      - /var/log/mail.log
    since: 7d
    parts: [mail]

- name: A fixed window from the journal
  sbs.postfix.baseline_info:
    log_source: journal
    since: "2026-11-27 00:00"
    until: "2026-11-28 00:00"
"""

RETURN = r"""
baseline:
  description: The measurements. A part that could not be measured (or was not asked for) is
    V(null) or absent; RV(baseline.warnings) says why.
  returned: always
  type: dict
  contains:
    warnings:
      description: One entry per gap (a part or a source that could not be measured); each is
        also issued as an Ansible warning.
      type: list
      elements: str
    schema:
      description: The version of this result's layout, V(1). M(sbs.postfix.sizing_info) reads
        a baseline of this version only (and one without the field, written before it existed,
        as version 1); it changes when a key sizing reads moves. See C(docs/sizing.md).
      type: int
      sample: 1
    measured_at:
      description: When the measurement ran (ISO 8601, UTC).
      type: str
      sample: "2026-11-28T15:00:00Z"
    parts:
      description: The parts asked for.
      type: list
      elements: str
    mail:
      description: Figures from the Postfix log, for the window.
      type: dict
      contains:
        received:
          description: Messages that entered the queue from an SMTP client (smtpd, including
            submission/smtps) or from local submission (pickup), in messages. Equal to
            pflogsumm's "received".
          type: int
        reinjected:
          description: Messages that came back from a content filter through a re-injection
            listener (a C(postfix/<service>/smtpd) with a loopback client, such as
            C(postfix/10025/smtpd)), in messages. Not counted in RV(baseline.mail.received).
          type: int
        delivered:
          description: Recipients with C(status=sent), not counting C(forwarded as), in
            recipients. A hand-over to a content filter counts, as in pflogsumm.
          type: int
        forwarded:
          description: Recipients with C(status=sent (forwarded as ...)), in recipients.
          type: int
        deferred:
          description: Deferral lines (C(status=deferred)), in delivery attempts.
            pflogsumm's "deferrals".
          type: int
        deferred_messages:
          description: Distinct messages with at least one deferral, in messages. pflogsumm's
            "deferred".
          type: int
        bounced:
          description: Recipients with C(status=bounced), in recipients.
          type: int
        expired:
          description: Messages returned to the sender after C(maximal_queue_lifetime)
            (C(status=expired)), in messages.
          type: int
        rejected:
          description: Rejects by smtpd and postscreen (C(NOQUEUE) and queue-file rejects,
            including milter rejects) and by cleanup's header/body checks, in rejects.
          type: int
        reject_warnings:
          description: C(reject_warning) lines and cleanup header/body C(warning) actions, in
            lines.
          type: int
        held:
          description: C(hold) actions (smtpd access maps, cleanup header/body checks), in
            messages.
          type: int
        discarded:
          description: C(discard) actions, in messages.
          type: int
        bytes_received:
          description: Sum of the sizes of the received messages, in bytes.
          type: int
        bytes_delivered:
          description: Sum over delivered recipients of their message's size, in bytes.
          type: int
        volume:
          description: Message rate over the window.
          type: dict
          contains:
            messages_per_hour:
              description: RV(baseline.mail.received) divided by the time the log covers in
                the window, in messages per hour.
              type: float
            peak_messages_per_minute:
              description: Most messages received in one calendar minute, in messages per
                minute.
              type: int
            peak_minute:
              description: Start of that minute (ISO 8601, UTC).
              type: str
            per_hour:
              description: Messages received per clock hour, C(hour) (ISO 8601, UTC) and
                C(received) (messages); hours without mail are left out.
              type: list
              elements: dict
        size:
          description: Sizes of the received messages, in bytes. Percentiles are within 0.8 %
            (binned); count, average, max and histogram are exact.
          type: dict
          contains:
            count:
              description: Messages measured.
              type: int
            average:
              description: Mean size, in bytes.
              type: int
            p50:
              description: Median size, in bytes.
              type: int
            p95:
              description: 95th percentile, in bytes.
              type: int
            p99:
              description: 99th percentile, in bytes.
              type: int
            max:
              description: Largest message, in bytes.
              type: int
            histogram:
              description: Messages per size class, C(below) (bytes, upper bound exclusive,
                V(null) for the last class) and C(count) (messages).
              type: list
              elements: dict
        latency:
          description: Delivery delays of the delivered recipients, in seconds, from C(delay=)
            and C(delays=a/b/c/d). Percentiles are exact (nearest rank) while fewer than 4096
            distinct values are seen, within 1 % beyond.
          type: dict
          contains:
            delay:
              description: C(count) (recipients), C(p50), C(p95), C(p99), C(max) (seconds),
                C(exact) (bool) of the total delay from arrival to delivery.
              type: dict
            delays:
              description: C(count), C(p50), C(p95), C(max) (seconds) of each part of
                C(delays=), that is C(before_qmgr) (a, arrival until the queue manager),
                C(in_qmgr) (b, waiting in the queue manager), C(connection_setup) (c, DNS, HELO,
                TLS), C(transmission) (d).
              type: dict
            by_transport:
              description: The same two blocks per delivery program (C(smtp), C(lmtp),
                C(local), C(virtual), C(pipe), ...).
              type: dict
        top_deferral_reasons:
          description: The 10 most frequent deferral reasons, C(dsn), C(reason) (the remote
            reply with addresses, host addresses and ids masked), C(count) (deferrals).
          type: list
          elements: dict
        top_bounce_reasons:
          description: The 10 most frequent bounce reasons, as RV(baseline.mail.top_deferral_reasons)
            (count in recipients).
          type: list
          elements: dict
        top_reject_reasons:
          description: The 10 most frequent reject reasons, C(kind) (reject, milter-reject,
            reject_warning, warning), C(reason) (the reply, addresses masked), C(count) (rejects).
          type: list
          elements: dict
        sessions:
          description: smtpd sessions, C(count) (disconnects, in sessions),
            C(peak_concurrency) (most sessions open at once, in sessions),
            C(peak_concurrency_time) (ISO 8601, UTC), C(commands) and C(commands_failed)
            (SMTP commands from the disconnect counters, Postfix 3.0 and later),
            C(sessions_with_errors) (sessions with at least one failed command).
          type: dict
        other:
          description: C(removed) (messages removed by the queue manager), C(removed_by_postsuper)
            (messages an admin deleted), C(other_status) (recipients with another status),
            C(notifications) (bounce daemon notices per kind, in notices), C(warnings),
            C(fatal), C(panic) (Postfix daemon lines of that severity); all counts.
          type: dict
        sources:
          description: What was read. C(files) (C(path), C(lines), C(bytes) per file; the path
            V(journal) for the journal), C(lines_read), C(lines_recognised) (lines the parser
            matched; message-id, TLS and other lines it does not need count as unrecognised),
            C(lines_in_window), C(first)/C(last) (the window the log actually covered, ISO
            8601 UTC), C(source) (V(files) or V(journal)).
          type: dict
        window:
          description: The window asked for, C(since)/C(until) (ISO 8601 UTC or V(null)) and
            the values given.
          type: dict
    queue:
      description: The queue from C(postqueue -j), at measurement time.
      type: dict
      contains:
        total:
          description: C(count) (messages), C(bytes) (bytes), C(recipients) (recipients) over
            all queues.
          type: dict
        deferred:
          description: For each queue (C(maildrop), C(incoming), C(active), C(deferred),
            C(hold)) a dict like this one, C(count) (messages), C(bytes) (bytes), C(recipients),
            C(oldest_age_seconds) (seconds) and C(age_histogram).
          type: dict
        oldest_age_seconds:
          description: Age of the oldest queued message, in seconds (V(null) when empty).
          type: int
        age_histogram:
          description: Messages per age class in qshape's buckets, C(max_minutes) (upper bound
            exclusive, in minutes, 5, 10, 20, 40, 80, 160, 320, 640, 1280, V(null)) and C(count).
          type: list
          elements: dict
        invalid_lines:
          description: Lines of output that were not JSON.
          type: int
    system:
      description: The host.
      type: dict
      contains:
        cpu:
          description: C(count) (usable CPUs), C(online), C(affinity), C(quota) (CPUs) and C(model).
          type: dict
        load:
          description: Load averages over 1, 5 and 15 minutes (runnable tasks).
          type: dict
        memory:
          description: C(total), C(available), C(used), C(swap_total), C(swap_free),
            C(swap_used) (bytes), C(used_percent) (percent).
          type: dict
        queue_fs:
          description: The file system of C(queue_directory), C(path), C(mount_point),
            C(fstype), C(device), C(rotational) (bool), C(size), C(used), C(free) (bytes),
            C(used_percent), C(inodes_used_percent) (percent), C(inodes), C(inodes_used).
          type: dict
        disk_io:
          description: I/O of that device over the sample, C(reads_per_s), C(writes_per_s)
            (I/Os per second), C(read_bytes_per_s), C(write_bytes_per_s) (bytes per second),
            C(busy_percent) (percent of the interval with I/O in flight), C(interval) (seconds).
          type: dict
        master_nofile:
          description: C(pid) of Postfix's master and its open-file C(soft) and C(hard) limits
            (file descriptors, V(null) for unlimited).
          type: dict
        container:
          description: C(container) (bool), C(type) (for example V(podman)), C(source) (how it
            was detected).
          type: dict
    postfix:
      description: Postfix's configuration.
      type: dict
      contains:
        version:
          description: C(mail_version).
          type: str
          sample: "3.7.11"
        default_process_limit:
          description: C(default_process_limit), in processes.
          type: int
        queue_directory:
          description: C(queue_directory).
          type: str
        parameters:
          description: The C(main.cf) parameters sizing_info reads, as postconf prints them.
          type: dict
        services:
          description: master.cf services sizing_info sizes, C(process_limit) (as written,
            V(-) for the default) and C(command).
          type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sbs.postfix.plugins.module_utils import _baseline
from ansible_collections.sbs.postfix.plugins.module_utils._runner import CommandRunner


def main():
    module = AnsibleModule(
        argument_spec={
            "log_paths": {"type": "list", "elements": "path"},
            "log_source": {
                "type": "str",
                "choices": list(_baseline.LOG_SOURCES),
                "default": "auto",
            },
            "since": {"type": "str", "default": "24h"},
            "until": {"type": "str"},
            "parts": {
                "type": "list",
                "elements": "str",
                "choices": list(_baseline.PARTS),
                "default": list(_baseline.PARTS),
            },
            "io_sample_seconds": {"type": "float", "default": 1.0},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        baseline, warnings = _baseline.collect(
            CommandRunner(module, missing_ok=True),
            parts=params["parts"],
            log_paths=params["log_paths"],
            log_source=params["log_source"],
            since=params["since"],
            until=params["until"],
            sample_seconds=max(0.0, params["io_sample_seconds"]),
        )
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    baseline["warnings"] = warnings
    if not _baseline.measured_anything(baseline):
        module.fail_json(msg="nothing could be measured: " + "; ".join(warnings), baseline=baseline)
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, baseline=baseline)


if __name__ == "__main__":
    main()
