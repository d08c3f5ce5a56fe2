# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Build the evidence report from two stored baselines per host (the baseline_report module).

PRIVATE to the sbs.postfix collection: the interface may change without notice.

Runs on the controller only, but keeps to the standard library like every module_utils file.

A stored baseline is what the ``sbs.postfix.baseline`` playbook writes,
``<baseline_dir>/<host>/<YYYYmmddTHHMMSSZ>.json``::

    {"schema": 1, "host": "mx1", "baseline": {...baseline_info's result...},
     "sizing": [{"parameter": ..., "value": ..., "reason": ...}, ...],   # optional
     "sender": {"messages": ..., "time_to_250": {"p50": ..}, ...}}       # optional

The work is split in three steps a caller runs in order, so that nothing is written unless
everything can be: :func:`collect_pairs` and :func:`destination_problems` return every problem
(each one says what to do), :func:`host_report` compares one host's pair (pure data), and the
``render_*`` functions turn that data into HTML (self-contained: inline CSS and SVG, no script,
no external address) and Markdown. Every string that comes from a baseline is escaped.
"""

from __future__ import annotations

import datetime
import html
import json
import math
import os
import re
import urllib.parse

from ansible_collections.sbs.postfix.plugins.module_utils._maillog import DELAY_PARTS
from ansible_collections.sbs.postfix.plugins.module_utils._paths import (
    can_create_in,
    nearest_existing,
)
from ansible_collections.sbs.postfix.plugins.module_utils._sizing import (
    MAIN_PARAMETERS,
    MASTER_SERVICES,
    parse_utc,
)

SCHEMA = 1
PARTS = ("mail", "queue", "system", "postfix")
# The parts of delays=a/b/c/d, in the order the log gives them (_maillog.DELAY_PARTS).
DELAY_PART_MEANING = {
    "before_qmgr": "arrival until the queue manager: smtpd, cleanup, milters, the incoming queue",
    "in_qmgr": "waiting in the queue manager: concurrency limits, a slow transport",
    "connection_setup": "DNS, TCP, greeting, HELO and TLS with the next hop",
    "transmission": "sending the message to the next hop",
}
GIB = 1024**3
MIN_MEMORY = 4 * GIB
FULL_PERCENT = 80.0
# A change is judged only when it is more than this share of the before value (and at least the
# figure's resolution, FIGURES' last column): two baselines of the same host never match exactly.
NOISE_RELATIVE = 0.05
# "Much higher throughput" in the delay explanation: after / before messages per hour.
THROUGHPUT_RATIO = 1.5
VERDICTS = ("better", "worse", "neutral", "same")
DEFAULT_TITLE = "Postfix tuning report"

# Verdict rules: LOWER (a fall is better), HIGHER (a rise is better), NEUTRAL (a change is
# neither: volume, rejects, sizes), SETTING (configuration, neither better nor worse).
LOWER, HIGHER, NEUTRAL, SETTING = "lower", "higher", "neutral", "setting"

# (dotted key, path into the baseline, label, unit, rule, resolution)
_MAIL_FIGURES = [
    ("mail.received", "Received", "messages", NEUTRAL, 1),
    ("mail.delivered", "Delivered", "recipients", NEUTRAL, 1),
    ("mail.deferred", "Deferrals", "attempts", LOWER, 1),
    ("mail.deferred_messages", "Deferred messages", "messages", LOWER, 1),
    ("mail.bounced", "Bounced", "recipients", LOWER, 1),
    ("mail.expired", "Expired", "messages", LOWER, 1),
    ("mail.rejected", "Rejected", "rejects", NEUTRAL, 1),
    ("mail.volume.messages_per_hour", "Messages per hour", "msg/h", NEUTRAL, 0.1),
    ("mail.volume.peak_messages_per_minute", "Peak messages per minute", "msg/min", NEUTRAL, 1),
    ("mail.sessions.peak_concurrency", "Peak concurrent smtpd sessions", "sessions", NEUTRAL, 1),
    ("mail.size.average", "Message size, average", "bytes", NEUTRAL, 1),
    ("mail.size.p95", "Message size, p95", "bytes", NEUTRAL, 1),
    ("mail.latency.delay.p50", "Delivery delay p50", "s", LOWER, 0.05),
    ("mail.latency.delay.p95", "Delivery delay p95", "s", LOWER, 0.05),
    ("mail.latency.delay.p99", "Delivery delay p99", "s", LOWER, 0.05),
]
for _part in DELAY_PARTS:
    for _p in ("p50", "p95"):
        _MAIL_FIGURES.append(
            (f"mail.latency.delays.{_part}.{_p}", f"delays= {_part} {_p}", "s", LOWER, 0.05)
        )
_OTHER_FIGURES = [
    ("queue.total.count", "Queue, all messages", "messages", LOWER, 1),
    ("queue.deferred.count", "Queue, deferred", "messages", LOWER, 1),
    ("queue.oldest_age_seconds", "Queue, oldest message", "s", LOWER, 60),
    ("system.load.1m", "Load (1 min)", "tasks", LOWER, 0.1),
    ("system.memory.used_percent", "Memory used", "%", LOWER, 1.0),
    ("system.queue_fs.used_percent", "Queue file system used", "%", LOWER, 1.0),
    ("system.disk_io.busy_percent", "Queue disk busy", "%", LOWER, 1.0),
    ("postfix.version", "Postfix version", "", SETTING, 0),
    ("postfix.default_process_limit", "default_process_limit", "processes", SETTING, 0),
]
_OTHER_FIGURES += [
    (f"postfix.parameters.{name}", name, "", SETTING, 0)
    for name in MAIN_PARAMETERS
    if name != "default_process_limit"
]
_SIZED_SERVICES = sorted({service for names in MASTER_SERVICES.values() for service in names})
_OTHER_FIGURES += [
    (f"postfix.services.{service}.process_limit", f"{service} maxproc", "processes", SETTING, 0)
    for service in _SIZED_SERVICES
]
FIGURES = [
    (key, tuple(key.split(".")), label, unit, rule, resolution)
    for key, label, unit, rule, resolution in _MAIL_FIGURES + _OTHER_FIGURES
]
GROUPS = {
    "mail": "Mail (from the log)",
    "queue": "Queue (at measurement time)",
    "system": "System (at measurement time)",
    "postfix": "Postfix configuration",
    "sender": "Sender side (from the test sender)",
}

SENDER_NOTE = (
    "Measured by the test sender (sbs.postfix.smtp_load) on the host, through port 25: what a "
    "client sees, including the wait before smtpd accepts it, which Postfix's log does not show."
)
SENDER_FIGURES = [
    ("sender.messages", ("messages",), "Messages sent", "messages", NEUTRAL, 1),
    ("sender.accepted", ("accepted",), "Accepted", "messages", NEUTRAL, 1),
    ("sender.accepted_percent", ("accepted_percent",), "Accepted share", "%", HIGHER, 0.1),
    (
        "sender.refused_connections",
        ("refused_connections",),
        "Refused connections",
        "connections",
        LOWER,
        1,
    ),
    ("sender.timeouts", ("timeouts",), "Timeouts", "attempts", LOWER, 1),
    (
        "sender.time_to_banner.p50",
        ("time_to_banner", "p50"),
        "Time to banner p50",
        "s",
        LOWER,
        0.05,
    ),
    (
        "sender.time_to_banner.p95",
        ("time_to_banner", "p95"),
        "Time to banner p95",
        "s",
        LOWER,
        0.05,
    ),
    ("sender.time_to_250.p50", ("time_to_250", "p50"), "Time to 250 p50", "s", LOWER, 0.05),
    ("sender.time_to_250.p95", ("time_to_250", "p95"), "Time to 250 p95", "s", LOWER, 0.05),
    (
        "sender.first_attempt_to_delivery.p50",
        ("first_attempt_to_delivery", "p50"),
        "First attempt to delivery p50",
        "s",
        LOWER,
        0.05,
    ),
    (
        "sender.first_attempt_to_delivery.p95",
        ("first_attempt_to_delivery", "p95"),
        "First attempt to delivery p95",
        "s",
        LOWER,
        0.05,
    ),
]

# Parameters that describe the installation rather than a setting a tuning run changes.
_NOT_SETTINGS = {"mail_version", "queue_directory"}


# ---------------------------------------------------------------------------------------------
# reading and checking the stored baselines
# ---------------------------------------------------------------------------------------------


def _number(value):
    """``value`` when it is an int or float (not a bool), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dig(data, path):
    """Follow ``path`` (keys) into nested dicts; ``None`` when any step is missing."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def schema_of(document):
    """The document's schema number (absent means 1, the layout before the key existed)."""
    return document.get("schema", 1)


def document_problems(document):
    """What is wrong with a parsed stored baseline, as a list of short texts (empty: fine)."""
    if not isinstance(document, dict):
        return [f"holds a JSON {type(document).__name__}, not a stored baseline (an object)"]
    schema = schema_of(document)
    if isinstance(schema, bool) or not isinstance(schema, int):
        return [f"schema must be a whole number, got {schema!r}"]
    if schema != SCHEMA:
        newer = " (written by a newer sbs.postfix)" if schema > SCHEMA else ""
        return [
            f"has schema {schema}{newer}; this sbs.postfix reads schema {SCHEMA} only: "
            "update the sbs.postfix collection on the controller, or choose other files with "
            "before/after"
        ]
    problems = []
    if not isinstance(document.get("host"), str) or not document.get("host"):
        problems.append("has no 'host' (the inventory host name)")
    baseline = document.get("baseline")
    if not isinstance(baseline, dict):
        problems.append("has no 'baseline' object (baseline_info's result)")
        return problems
    if not isinstance(baseline.get("measured_at"), str):
        problems.append("has no 'baseline.measured_at' time")
    for part in PARTS:
        if baseline.get(part) is not None and not isinstance(baseline[part], dict):
            problems.append(f"'baseline.{part}' must be an object or null")
    warnings = baseline.get("warnings")
    if warnings is not None and not (
        isinstance(warnings, list) and all(isinstance(w, str) for w in warnings)
    ):
        problems.append("'baseline.warnings' must be a list of texts")
    if not any(isinstance(baseline.get(part), dict) for part in PARTS):
        problems.append("measured none of mail, queue, system, postfix")
    problems.extend(_sizing_problems(document.get("sizing")))
    sender = document.get("sender")
    if sender is not None and not isinstance(sender, dict):
        problems.append("'sender' must be an object or null")
    return problems


def _sizing_problems(sizing):
    if sizing is None:
        return []
    shape = (
        "'sizing' must be a list of {parameter, value, reason} or an object "
        "{parameter: {value, reason}}"
    )
    if isinstance(sizing, list):
        for entry in sizing:
            if not (isinstance(entry, dict) and isinstance(entry.get("parameter"), str)):
                return [shape]
            if entry.get("reason") is not None and not isinstance(entry["reason"], str):
                return [shape]
        return []
    if isinstance(sizing, dict):
        for entry in sizing.values():
            if not isinstance(entry, dict):
                return [shape]
            if entry.get("reason") is not None and not isinstance(entry["reason"], str):
                return [shape]
        return []
    return [shape]


def sizing_decisions(document):
    """The document's ``sizing`` as ``{parameter: {"value", "reason"}}`` (either stored form)."""
    sizing = document.get("sizing")
    if isinstance(sizing, list):
        return {
            entry["parameter"]: {"value": entry.get("value"), "reason": entry.get("reason")}
            for entry in sizing
        }
    if isinstance(sizing, dict):
        return {
            name: {"value": entry.get("value"), "reason": entry.get("reason")}
            for name, entry in sizing.items()
        }
    return {}


def read_document(path, host):
    """Read and check one stored baseline: ``(document, None)`` or ``(None, problem)``.

    The problem names the host and the file and says what to do.
    """
    elsewhere = "move it out of the host's directory or choose other files with before/after"
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        return None, (
            f"{host}: cannot read {path}: {exc.strerror or exc}; "
            "let the user running Ansible on the controller read it"
        )
    try:
        document = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, f"{host}: {path} is not UTF-8 text, so not a stored baseline; {elsewhere}"
    except ValueError as exc:
        where = f" (line {exc.lineno} column {exc.colno}: {exc.msg})" if exc.msg else ""
        return None, (
            f"{host}: {path} is not JSON{where}: a cut-short or foreign file; {elsewhere}, "
            "or run sbs.postfix.baseline again"
        )
    problems = document_problems(document)
    schema = schema_of(document) if isinstance(document, dict) else SCHEMA
    if isinstance(schema, int) and not isinstance(schema, bool) and schema != SCHEMA:
        return None, f"{host}: {path} {problems[0]}"  # already says what to do
    if problems:
        return None, f"{host}: {path} {'; '.join(problems)}; {elsewhere}"
    if document["host"] != host:
        return None, (
            f"{host}: {path} holds the baseline of {document['host']!r}, not of {host!r}; "
            "put it in the directory of its own host"
        )
    return document, None


def host_name_problem(host):
    """A host name that cannot be a directory name of its own, or ``None``."""
    if not isinstance(host, str) or host in ("", ".", "..") or "/" in host or "\0" in host:
        return (
            f"{host!r} cannot be a directory name (a slash, '.', '..' or nothing); "
            "give inventory host names"
        )
    return None


def baseline_names(directory):
    """Stored baseline file names of one host directory, oldest first (names are UTC times)."""
    return sorted(
        name
        for name in os.listdir(directory)
        if name.endswith(".json")
        and not name.startswith(".")
        and os.path.isfile(os.path.join(directory, name))
    )


def _find(names, wanted):
    """A file named ``wanted`` (``.json`` optional), else the newest that starts with it."""
    stem = wanted[:-5] if wanted.endswith(".json") else wanted
    if stem + ".json" in names:
        return stem + ".json"
    matches = [name for name in names if name.startswith(stem)]
    return matches[-1] if matches else None


def measured_after_a_change(path):
    """Whether the stored document says it was measured after a change (``"phase": "after"``,
    written by sbs.postfix.site); an unreadable file is judged later, by read_document."""
    try:
        with open(path, "rb") as handle:
            text = handle.read()
    except OSError:
        return False
    return re.search(rb'"phase"\s*:\s*"after"', text) is not None


def choose_pair(host, directory, names, before=None, after=None, *, is_after=None):
    """``((before_name, after_name), None)`` or ``(None, problem)`` for one host.

    Default: the newest file, and before it the newest older file that was not measured after
    a change (``is_after(name)``, when given: site.yml stores a before and an after per run, so
    a run that sized from a stored baseline compares with that one, not with the previous
    run's after). ``before``/``after`` are file names, with or without ``.json``, or the start
    of one (``20261128`` picks that day's newest). With only ``before``, ``after`` is the newest.
    """
    if not names:
        return None, (
            f"{host}: no baseline in {directory}; run sbs.postfix.baseline before the change "
            "and again after it"
        )
    if len(names) == 1 and not (before and after):
        return None, (
            f"{host}: only one baseline in {directory} ({names[0]}); "
            "run sbs.postfix.baseline again after the change"
        )
    listing = ", ".join(names[-6:]) + (" ..." if len(names) > 6 else "")
    chosen = {}
    for role, wanted in (("before", before), ("after", after)):
        if wanted:
            found = _find(names, wanted)
            if found is None:
                return None, (
                    f"{host}: no baseline named {wanted!r} in {directory} (newest: {listing}); "
                    f"give {role} as a file name or the start of one"
                )
            chosen[role] = found
    if "after" not in chosen:
        chosen["after"] = names[-1]
    if "before" not in chosen:
        older = [name for name in names if name < chosen["after"]]
        if not older:
            return None, (
                f"{host}: no baseline older than {chosen['after']} in {directory}; "
                "choose a later after or run sbs.postfix.baseline again after the change"
            )
        measured_before = [name for name in older if not (is_after and is_after(name))]
        chosen["before"] = (measured_before or older)[-1]
    if chosen["before"] == chosen["after"]:
        return None, (
            f"{host}: before and after are the same file ({chosen['after']}); "
            "choose two different baselines"
        )
    if chosen["before"] > chosen["after"]:
        return None, (
            f"{host}: before ({chosen['before']}) is newer than after ({chosen['after']}); "
            "swap them"
        )
    return (chosen["before"], chosen["after"]), None


def collect_pairs(baseline_dir, hosts, before=None, after=None):
    """Read and check the two baselines of every host: ``(pairs, problems)``.

    ``pairs[host]`` is ``{"before": entry, "after": entry}``, each entry ``{"name", "path",
    "document"}``. Every problem of every host is returned, not only the first.
    """
    problems = []
    pairs = {}
    if not hosts:
        problems.append("no hosts given; list the inventory hosts to report on")
    if not os.path.isdir(baseline_dir):
        problems.append(
            f"the baseline directory {baseline_dir} does not exist; run sbs.postfix.baseline "
            "first or give the directory it wrote to"
        )
        return pairs, problems
    seen = set()
    for host in hosts:
        if host in seen:
            continue
        seen.add(host)
        problem = host_name_problem(host)
        if problem:
            problems.append(problem)
            continue
        directory = os.path.join(baseline_dir, host)
        if not os.path.isdir(directory):
            problems.append(
                f"{host}: no baselines: {directory} does not exist; run sbs.postfix.baseline "
                "for this host before the change and again after it"
            )
            continue
        try:
            names = baseline_names(directory)
        except OSError as exc:
            problems.append(f"{host}: cannot list {directory}: {exc.strerror or exc}")
            continue
        chosen, problem = choose_pair(
            host,
            directory,
            names,
            before,
            after,
            is_after=lambda name, directory=directory: measured_after_a_change(
                os.path.join(directory, name)
            ),
        )
        if problem:
            problems.append(problem)
            continue
        entries = {}
        for role, name in zip(("before", "after"), chosen, strict=True):
            path = os.path.join(directory, name)
            document, problem = read_document(path, host)
            if problem:
                problems.append(problem)
            else:
                entries[role] = {"name": name, "path": path, "document": document}
        if len(entries) == 2:
            pairs[host] = entries
    return pairs, problems


def report_paths(dest, host):
    """Where one host's report goes: ``{"html": ..., "markdown": ...}``."""
    return {
        "html": os.path.join(dest, host, "index.html"),
        "markdown": os.path.join(dest, host, "report.md"),
    }


def _writable_directory_problem(path, what):
    if not os.path.isdir(path):
        return f"{what} {path} exists and is not a directory; remove it or choose another dest"
    if not can_create_in(path):
        return (
            f"{what} {path} is not writable by the user running Ansible on the controller; "
            "fix its permissions or choose another dest"
        )
    return None


def destination_problems(dest, hosts):
    """Whether the reports can be written under ``dest``; a list of problems (empty: fine)."""
    if os.path.lexists(dest):
        problem = _writable_directory_problem(dest, "dest")
        if problem:
            return [problem]
        problems = []
        for host in hosts:
            if host_name_problem(host):
                continue  # collect_pairs reports it
            directory = os.path.join(dest, host)
            if os.path.lexists(directory):
                problem = _writable_directory_problem(directory, f"{host}: report directory")
                if problem:
                    problems.append(problem)
                    continue
            for path in [*report_paths(dest, host).values()]:
                if os.path.isdir(path):
                    problems.append(
                        f"{host}: {path} is a directory; remove it so the report can be written"
                    )
        index = os.path.join(dest, "index.html")
        if os.path.isdir(index):
            problems.append(f"{index} is a directory; remove it so the index can be written")
        return problems
    parent = nearest_existing(os.path.dirname(os.path.abspath(dest)))
    if not os.path.isdir(parent):
        return [f"cannot create dest {dest}: {parent} is not a directory; choose another dest"]
    if not can_create_in(parent):
        return [
            f"cannot create dest {dest}: {parent} is not writable by the user running Ansible "
            "on the controller; create dest first or choose another"
        ]
    return []


# ---------------------------------------------------------------------------------------------
# comparing two baselines
# ---------------------------------------------------------------------------------------------


def _setting_value(value):
    """A configuration value as compared: ``"100"`` and ``100`` are the same number."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def judge(before, after, rule, resolution=0):
    """``(change, relative, verdict)`` of one figure.

    ``change`` is ``after - before`` (numbers only), ``relative`` that change as a share of
    ``before`` (``None`` when ``before`` is 0 or not a number). ``verdict``: ``same`` when equal;
    ``neutral`` when the rule is NEUTRAL or SETTING, when a side is missing, or when the change is
    at most ``NOISE_RELATIVE`` of ``before`` or smaller than ``resolution``; otherwise ``better``
    or ``worse`` as the rule says.
    """
    b_num, a_num = _number(before), _number(after)
    if before is None or after is None:
        return None, None, "neutral"
    if b_num is None or a_num is None:
        return None, None, ("same" if before == after else "neutral")
    change = a_num - b_num
    if isinstance(change, float):
        change = round(change, 6)
    relative = change / b_num if b_num else None
    if change == 0:
        return change, relative, "same"
    if rule in (NEUTRAL, SETTING):
        return change, relative, "neutral"
    if abs(change) < resolution or (relative is not None and abs(relative) <= NOISE_RELATIVE):
        return change, relative, "neutral"
    rose_is_good = rule == HIGHER
    return change, relative, ("better" if (change > 0) == rose_is_good else "worse")


def _figure_row(spec, group, before, after):
    """``spec``: ``(key, label, unit, rule, resolution)``."""
    key, label, unit, rule, resolution = spec
    if rule == SETTING:
        before, after = _setting_value(before), _setting_value(after)
    change, relative, verdict = judge(before, after, rule, resolution)
    return {
        "figure": key,
        "group": group,
        "label": label,
        "unit": unit,
        "rule": rule,
        "before": before,
        "after": after,
        "change": change,
        "relative": relative,
        "verdict": verdict,
    }


# Counts from log windows whose lengths differ more than this are judged per hour.
WINDOW_RATIO = 1.25


def mail_hours(baseline):
    """Hours of log the mail part covers (its first to its last line in the window), or
    ``None`` when it has no mail part or no line."""
    sources = dig(baseline, ("mail", "sources")) or {}
    first, last = parse_utc(sources.get("first")), parse_utc(sources.get("last"))
    if first is None or last is None:
        return None
    return max(last - first, 60.0) / 3600.0


def window_basis(before, after):
    """``(basis, note)``: ``"count"`` when both logs cover about the same time, ``"per hour"``
    when they differ more than WINDOW_RATIO (counts are then judged as rates), ``"none"`` when a
    side covers no log at all (its counts say nothing about the time after a change)."""
    hours_before, hours_after = mail_hours(before), mail_hours(after)
    if dig(before, ("mail",)) is None or dig(after, ("mail",)) is None:
        return "count", None
    if hours_before is None or hours_after is None:
        side = "before" if hours_before is None else "after"
        return "none", (
            f"The {side} baseline's log window holds no mail, so its counts (deferrals, bounces, "
            "expired) are not compared; measure again after mail has flowed "
            "(sbs.postfix.baseline, then sbs.postfix.report)."
        )
    ratio = max(hours_before, hours_after) / min(hours_before, hours_after)
    if ratio <= WINDOW_RATIO:
        return "count", None
    return "per hour", (
        f"The logs cover different times ({hours_before:.2g} h before, {hours_after:.2g} h "
        "after): deferrals, bounces and expired messages are judged per hour, and latency from "
        "a short window rests on few deliveries."
    )


def compare_figures(before, after):
    """One row per figure measured in at least one of the two baselines (see ``FIGURES``).

    Counts where fewer is better (deferrals, bounces, expired) are judged per hour when the two
    log windows differ in length (``window_basis``), and not judged when a side has no mail."""
    basis, _note = window_basis(before, after)
    hours = (mail_hours(before), mail_hours(after))
    rows = []
    for key, path, label, unit, rule, resolution in FIGURES:
        b, a = dig(before, path), dig(after, path)
        if b is None and a is None:
            continue
        row = _figure_row((key, label, unit, rule, resolution), path[0], b, a)
        if path[0] == "mail" and rule == LOWER and unit != "s" and basis != "count":
            row["basis"] = basis
            if basis == "per hour":
                row["label"] = f"{label} (judged per hour)"
            if basis == "none" or _number(b) is None or _number(a) is None:
                row["verdict"] = "neutral"
            else:
                rates = (_number(b) / hours[0], _number(a) / hours[1])
                _change, _relative, row["verdict"] = judge(rates[0], rates[1], rule, 0.1)
                row["per_hour"] = [round(rates[0], 3), round(rates[1], 3)]
        rows.append(row)
    return rows


def _sender_view(sender):
    if not isinstance(sender, dict):
        return None
    view = dict(sender)
    messages, accepted = _number(sender.get("messages")), _number(sender.get("accepted"))
    if messages and accepted is not None:
        view["accepted_percent"] = round(100.0 * accepted / messages, 1)
    return view


def compare_sender(before_doc, after_doc):
    """Rows of the sender-side figures, or ``None`` when neither document has them."""
    before, after = _sender_view(before_doc.get("sender")), _sender_view(after_doc.get("sender"))
    if before is None and after is None:
        return None
    rows = []
    for key, path, label, unit, rule, resolution in SENDER_FIGURES:
        b, a = dig(before, path), dig(after, path)
        if b is None and a is None:
            continue
        rows.append(_figure_row((key, label, unit, rule, resolution), "sender", b, a))
    return rows


def changed_settings(before, after, sizing):
    """Configuration values that differ between the two ``postfix`` parts.

    Each ``{"name", "before", "after", "reason"}``; the reason comes from the after document's
    ``sizing`` (``None`` when it has none for that name). A master.cf service is named
    ``<service> maxproc`` (``smtp/inet maxproc``), as in the tuning role's contribution.
    """
    b_part = before.get("postfix") if isinstance(before.get("postfix"), dict) else {}
    a_part = after.get("postfix") if isinstance(after.get("postfix"), dict) else {}
    if not b_part or not a_part:
        return []
    rows = []
    b_params = b_part.get("parameters") if isinstance(b_part.get("parameters"), dict) else {}
    a_params = a_part.get("parameters") if isinstance(a_part.get("parameters"), dict) else {}
    for name in sorted(set(b_params) | set(a_params)):
        if name in _NOT_SETTINGS:
            continue
        b, a = b_params.get(name), a_params.get(name)
        if _setting_value(b) != _setting_value(a):
            rows.append({"name": name, "before": b, "after": a, "reason": _reason(sizing, [name])})
    b_services = b_part.get("services") if isinstance(b_part.get("services"), dict) else {}
    a_services = a_part.get("services") if isinstance(a_part.get("services"), dict) else {}
    for service in sorted(set(b_services) | set(a_services)):
        b = dig(b_services, (service, "process_limit"))
        a = dig(a_services, (service, "process_limit"))
        if _setting_value(b) != _setting_value(a):
            sized_as = [name for name, services in MASTER_SERVICES.items() if service in services]
            rows.append(
                {
                    "name": f"{service} maxproc",
                    "before": b,
                    "after": a,
                    "reason": _reason(sizing, [f"{service} maxproc", service, *sized_as]),
                }
            )
    return rows


def _reason(sizing, names):
    for name in names:
        entry = sizing.get(name)
        if entry and entry.get("reason"):
            return entry["reason"]
    return None


def other_decisions(sizing, settings):
    """Sizing decisions the ``postfix`` part cannot show (sysctls, LimitNOFILE, ...)."""
    shown = {row["name"] for row in settings}
    covered = set(MAIN_PARAMETERS) | set(MASTER_SERVICES) | shown
    return [
        {"name": name, "value": entry.get("value"), "reason": entry.get("reason")}
        for name, entry in sorted(sizing.items())
        if name not in covered
    ]


def _finding(severity, title, message):
    return {"severity": severity, "title": title, "message": message}


def findings(baseline):
    """What to act on by hand, from one (the after) baseline.

    Each ``{"severity", "title", "message"}``: ``warning`` or ``info``, a few words for the
    index page and the whole sentence (what was seen and what to do).
    """
    found = []
    system = baseline.get("system")
    if not isinstance(system, dict):
        found.append(
            _finding(
                "info",
                "system not measured",
                "the system part was not measured: disk and memory were not checked",
            )
        )
        system = {}
    fs = system.get("queue_fs") if isinstance(system.get("queue_fs"), dict) else {}
    where = fs.get("path") or "the queue directory"
    if fs.get("rotational") is True:
        device = f" ({fs['device']})" if fs.get("device") else ""
        found.append(
            _finding(
                "warning",
                "queue on a rotational disk",
                f"{where} is on a rotational disk{device}: Postfix syncs every queue file "
                "several times, so a spinning disk caps the message rate; move the queue to an "
                "SSD",
            )
        )
    used = _number(fs.get("used_percent"))
    if used is not None and used > FULL_PERCENT:
        found.append(
            _finding(
                "warning",
                f"queue file system {_fmt_plain(used)} % full",
                f"the file system of {where} ({fs.get('mount_point') or '?'}) is "
                f"{_fmt_plain(used)} % full (over {FULL_PERCENT:g} %): smtpd answers 452 "
                "(insufficient system storage) once free space falls below queue_minfree or 1.5 "
                "times message_size_limit; free space or grow the file system",
            )
        )
    inodes = _number(fs.get("inodes_used_percent"))
    if inodes is not None and inodes > FULL_PERCENT:
        found.append(
            _finding(
                "warning",
                f"queue file system {_fmt_plain(inodes)} % of inodes used",
                f"the file system of {where} ({fs.get('mount_point') or '?'}) has "
                f"{_fmt_plain(inodes)} % of its inodes used (over {FULL_PERCENT:g} %): with none "
                "left Postfix cannot create queue files; delete small files or move the queue",
            )
        )
    memory = system.get("memory") if isinstance(system.get("memory"), dict) else {}
    total = _number(memory.get("total"))
    if total is not None and total < MIN_MEMORY:
        found.append(
            _finding(
                "warning",
                f"{total / GIB:.1f} GiB RAM",
                f"only {total / GIB:.1f} GiB RAM (less than 4 GiB): the sizing keeps process "
                "limits low; add memory before raising them",
            )
        )
    for warning in baseline.get("warnings") or []:
        found.append(_finding("info", "measurement gap", f"measurement: {warning}"))
    return found


def _row(rows, key):
    for row in rows:
        if row["figure"] == key:
            return row
    return None


def delay_explanation(rows, sender_rows=None):
    """Sentences on how the delivery delay changed and which ``delays=`` part moved most.

    A tuned host often shows a higher ``delay=``: it accepts at once the clients that stock
    Postfix left waiting in the kernel's listen queue, a wait no log shows, and then the mail
    waits inside Postfix (``before_qmgr``, ``in_qmgr``) where the log does count it.
    """
    total = _row(rows, "mail.latency.delay.p95") or _row(rows, "mail.latency.delay.p50")
    if total is None or _number(total["before"]) is None or _number(total["after"]) is None:
        return [
            "No delivery delays to compare: at least one baseline has no delivered mail "
            "(or no mail part)."
        ]
    which = total["figure"].rsplit(".", 1)[1]
    parts = []
    for part in DELAY_PARTS:
        row = _row(rows, f"mail.latency.delays.{part}.{which}")
        if row and _number(row["change"]) is not None:
            parts.append((row["change"], part, row))
    sentences = []
    span = f"{_fmt(total['before'], 's')} to {_fmt(total['after'], 's')}"
    if total["verdict"] == "worse":
        sentences.append(
            f"Delivery delay {which} grew from {span} ({_fmt_change(total)}). "
            "Not every growth means slower mail; the four parts of delays= say where it went."
        )
        grown = sorted((p for p in parts if p[0] > 0), key=lambda p: -p[0])
        if not grown:
            sentences.append(
                f"No part of delays= grew at {which}: the growth is spread thinly over all four."
            )
            return sentences
        _change, part, row = grown[0]
        sentences.append(
            f"{part} grew most: {which} {_fmt(row['before'], 's')} to "
            f"{_fmt(row['after'], 's')} ({_fmt_change(row)}); it is "
            f"{DELAY_PART_MEANING[part]}."
        )
        others = [f"{p} {_fmt_signed(c, 's')}" for c, p, _r in grown[1:]]
        if others:
            sentences.append("Also grew: " + ", ".join(others) + ".")
        ratio = _throughput_ratio(rows)
        if part in ("before_qmgr", "in_qmgr") and ratio is not None and ratio >= THROUGHPUT_RATIO:
            sentences.append(
                f"Throughput is {ratio:.1f} times what it was. Mail is accepted sooner and "
                "queued inside Postfix, where delay= counts the wait; before the change the "
                "same clients waited in the kernel's listen queue (or were refused), which no "
                "log shows. Judge by the deferrals, the queue and the sender's time to 250, "
                "not by delay= alone."
            )
        elif part in ("before_qmgr", "in_qmgr"):
            sentences.append(
                "With about the same throughput this is a real wait inside Postfix: look at "
                "content filters and milters (before_qmgr), the destination concurrency and "
                "the CPU and disk figures below."
            )
        elif part == "connection_setup":
            sentences.append(
                "Connection setup happens at the next hop: DNS, the remote servers and TLS, "
                "rarely this host's settings."
            )
        else:
            sentences.append(
                "Transmission depends on the network, the remote servers and message size "
                "(see the size figures)."
            )
    else:
        word = {"better": "fell", "same": "did not change", "neutral": "barely changed"}
        sentences.append(f"Delivery delay {which} {word[total['verdict']]}: {span}.")
        moved = sorted(parts, key=lambda p: -abs(p[0]))
        if total["verdict"] == "better" and moved and moved[0][0] < 0:
            _change, part, row = moved[0]
            sentences.append(
                f"{part} fell most: {_fmt(row['before'], 's')} to {_fmt(row['after'], 's')} "
                f"({_fmt_change(row)})."
            )
    waits = {
        "sender.time_to_banner.p95": "for the greeting (p95), the wait at the door no log shows",
        "sender.time_to_250.p95": "for the 250 reply (p95)",
    }
    for row in sender_rows or []:
        if row["figure"] in waits and _number(row["change"]) is not None:
            sentences.append(
                f"The test sender waited {_fmt(row['before'], 's')} before and "
                f"{_fmt(row['after'], 's')} after {waits[row['figure']]}."
            )
    return sentences


def _throughput_ratio(rows):
    for key in ("mail.volume.messages_per_hour", "mail.volume.peak_messages_per_minute"):
        row = _row(rows, key)
        if row and _number(row["before"]) and _number(row["after"]) is not None:
            return row["after"] / row["before"]
    return None


_HOUR = "%Y-%m-%dT%H:%M:%SZ"


def _per_hour(baseline):
    """``[(hour, received), ...]`` with the hours without mail between two hours with mail
    filled in as 0 (the baseline leaves them out), so that a chart's time axis is even."""
    series = dig(baseline, ("mail", "volume", "per_hour"))
    if not isinstance(series, list):
        return []
    found = [
        (str(entry.get("hour")), _number(entry.get("received")) or 0)
        for entry in series
        if isinstance(entry, dict)
    ]
    try:
        hours = {datetime.datetime.strptime(hour, _HOUR): n for hour, n in found}
    except ValueError:
        return found
    if not hours:
        return found
    first, last = min(hours), max(hours)
    filled = []
    hour = first
    while hour <= last:
        filled.append((hour.strftime(_HOUR), hours.get(hour, 0)))
        hour += datetime.timedelta(hours=1)
    return filled


def _reasons(baseline):
    reasons = dig(baseline, ("mail", "top_deferral_reasons"))
    if not isinstance(reasons, list):
        return {}
    found = {}
    for entry in reasons:
        if isinstance(entry, dict) and entry.get("reason") is not None:
            dsn = entry.get("dsn")
            label = f"{dsn} {entry['reason']}" if dsn else str(entry["reason"])
            found[label] = found.get(label, 0) + (_number(entry.get("count")) or 0)
    return found


def _age_histogram(baseline):
    histogram = dig(baseline, ("queue", "age_histogram"))
    if not isinstance(histogram, list):
        return None
    return {
        entry.get("max_minutes"): _number(entry.get("count")) or 0
        for entry in histogram
        if isinstance(entry, dict)
    }


def chart_data(before, after, rows):
    """The numbers behind the charts (``None`` where there is nothing to draw)."""
    charts = {}
    b_hours, a_hours = _per_hour(before), _per_hour(after)
    charts["volume"] = {"before": b_hours, "after": a_hours} if b_hours or a_hours else None

    def pairs(keys):
        found = []
        for key, label in keys:
            row = _row(rows, key)
            if row and (_number(row["before"]) is not None or _number(row["after"]) is not None):
                found.append((label, _number(row["before"]), _number(row["after"])))
        return found or None

    charts["delay"] = pairs(
        [(f"mail.latency.delay.{p}", f"delay {p}") for p in ("p50", "p95", "p99")]
    )
    charts["delays"] = pairs([(f"mail.latency.delays.{p}.p95", p) for p in DELAY_PARTS])
    b_reasons, a_reasons = _reasons(before), _reasons(after)
    labels = sorted(
        set(b_reasons) | set(a_reasons),
        key=lambda label: (-a_reasons.get(label, 0), -b_reasons.get(label, 0), label),
    )[:8]
    charts["deferrals"] = [
        (label, b_reasons.get(label, 0), a_reasons.get(label, 0)) for label in labels
    ] or None
    b_ages, a_ages = _age_histogram(before), _age_histogram(after)
    if b_ages is None and a_ages is None:
        charts["queue_age"] = None
    else:
        bounds = list((b_ages or a_ages).keys())
        for bound in a_ages or {}:
            if bound not in bounds:
                bounds.append(bound)
        labels, previous = [], 0
        for bound in bounds:
            labels.append(f"{previous}-{bound} min" if bound is not None else f"{previous}+ min")
            previous = bound if bound is not None else previous
        charts["queue_age"] = [
            (label, (b_ages or {}).get(bound, 0), (a_ages or {}).get(bound, 0))
            for label, bound in zip(labels, bounds, strict=True)
        ]
    return charts


def _side(entry):
    baseline = entry["document"]["baseline"]
    mail = baseline.get("mail") if isinstance(baseline.get("mail"), dict) else {}
    sources = mail.get("sources") if isinstance(mail.get("sources"), dict) else {}
    return {
        "name": entry["name"],
        "path": entry["path"],
        "measured_at": baseline.get("measured_at"),
        "log_first": sources.get("first"),
        "log_last": sources.get("last"),
        "missing": [part for part in PARTS if not isinstance(baseline.get(part), dict)],
    }


def host_report(host, pair):
    """Everything one host's report shows, as plain data (see the module's RETURN)."""
    before_doc, after_doc = pair["before"]["document"], pair["after"]["document"]
    before, after = before_doc["baseline"], after_doc["baseline"]
    rows = compare_figures(before, after)
    sender_rows = compare_sender(before_doc, after_doc)
    sizing = sizing_decisions(after_doc)
    settings = changed_settings(before, after, sizing)
    counts = dict.fromkeys(VERDICTS, 0)
    for row in rows:
        counts[row["verdict"]] += 1
    return {
        "host": host,
        "before": _side(pair["before"]),
        "after": _side(pair["after"]),
        "figures": rows,
        "counts": counts,
        "worse": [row["label"] for row in rows if row["verdict"] == "worse"],
        "better": [row["label"] for row in rows if row["verdict"] == "better"],
        "delay": delay_explanation(rows, sender_rows),
        "settings": settings,
        "other_decisions": other_decisions(sizing, settings),
        "findings": findings(after),
        "window_note": window_basis(before, after)[1],
        "sender": sender_rows,
        "charts": chart_data(before, after, rows),
    }


# ---------------------------------------------------------------------------------------------
# formatting numbers
# ---------------------------------------------------------------------------------------------


def _fmt_plain(value):
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    return f"{value:.3g}"


def _fmt_bytes(value):
    if abs(value) < 1024:
        return f"{_fmt_plain(value)} B"
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if abs(value) >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value} B"  # pragma: no cover


def _fmt(value, unit=""):
    """One value with its unit, for people; ``-`` when not measured."""
    if value is None:
        return "-"
    if value == "-":
        return "default (-)"  # a master.cf process limit left to default_process_limit
    if _number(value) is None:
        return str(value)
    if unit == "bytes":
        return _fmt_bytes(value)
    if unit == "s" and abs(value) >= 120:
        return f"{_fmt_plain(value)} s ({_fmt_duration(value)})"
    suffix = {"": "", "%": " %"}.get(unit, f" {unit}")
    return _fmt_plain(value) + suffix


def _fmt_duration(seconds):
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _fmt_signed(value, unit=""):
    # a change of a percentage is in percentage points, not a share of itself
    text = f"{_fmt_plain(abs(value))} points" if unit == "%" else _fmt(abs(value), unit)
    return ("+" if value > 0 else "-" if value < 0 else "") + text


def _fmt_relative(relative):
    if relative is None:
        return ""
    percent = relative * 100
    return f"{percent:+.0f} %" if abs(percent) >= 10 else f"{percent:+.1f} %"


def _fmt_change(row):
    """``+0.87 s, +378 %`` for a row with a numeric change; ``changed`` otherwise."""
    if row["before"] is None or row["after"] is None:
        return "only after" if row["before"] is None else "only before"
    if _number(row["change"]) is None:
        return "changed" if row["before"] != row["after"] else ""
    if row["change"] == 0:
        return ""
    text = _fmt_signed(row["change"], row["unit"])
    relative = _fmt_relative(row["relative"])
    return f"{text}, {relative}" if relative else text


# ---------------------------------------------------------------------------------------------
# charts: small hand-written SVG
# ---------------------------------------------------------------------------------------------

BEFORE_COLOUR = "#8c959f"
AFTER_COLOUR = "#1f5fa8"
_WIDTH = 640


def _esc(value):
    return html.escape("" if value is None else str(value), quote=True)


def _nice_ceiling(value):
    """The smallest of 1, 2, 2.5, 5 x 10^n at or above ``value`` (1 for nothing to show)."""
    if not value or value <= 0:
        return 1
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent * (1 + 1e-9):
            return step * exponent
    return 10 * exponent  # pragma: no cover


def _svg_open(chart_id, title, description, height):
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{chart_id}" role="img" '
        f'viewBox="0 0 {_WIDTH} {height}" width="{_WIDTH}" height="{height}" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" aria-label="{_esc(title)}">',
        f'<title id="{chart_id}-title">{_esc(title)}</title>',
        f'<desc id="{chart_id}-desc">{_esc(description)}</desc>',
    ]


def _legend(series, x, y):
    parts = []
    for name, colour in series:
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{y}" class="legend">{_esc(name)}</text>')
        x += 14 + 8 * len(name) + 16
    return parts


def svg_columns(chart_id, title, description, *, categories, series, unit, y_max=None):
    """Vertical bars: one group per category, one bar per series.

    ``series`` is ``[(name, colour, [value or None, ...]), ...]``; a ``None`` value draws no
    bar. With many categories (a day of hours) only every n-th label is written.
    """
    height, left, right, top, bottom = 230, 64, 12, 26, 40
    plot_w, plot_h = _WIDTH - left - right, height - top - bottom
    values = [v for _name, _colour, vals in series for v in vals if v is not None]
    peak = _nice_ceiling(y_max if y_max is not None else max(values, default=0))
    parts = _svg_open(chart_id, title, description, height)
    for fraction in (0, 0.5, 1):
        y = top + plot_h - fraction * plot_h
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{_WIDTH - right}" y2="{y:.1f}" class="grid"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
            f"{_esc(_fmt(peak * fraction, unit))}</text>"
        )
    count = max(len(categories), 1)
    group = plot_w / count
    bar_width = max(min(28.0, group * 0.8 / max(len(series), 1)), 1.0)
    step = max(1, math.ceil(count / 8))
    for index, category in enumerate(categories):
        x0 = left + index * group + (group - bar_width * len(series)) / 2
        for offset, (name, colour, vals) in enumerate(series):
            value = vals[index]
            if value is None:
                continue
            h = max(plot_h * min(value / peak, 1.0), 0.5 if value else 0)
            x = x0 + offset * bar_width
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_width:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{_esc(category)}, {_esc(name)}: '
                f"{_esc(_fmt(value, unit))}</title></rect>"
            )
        if index % step == 0:
            parts.append(
                f'<text x="{left + index * group + group / 2:.1f}" y="{height - bottom + 16}" '
                f'class="axis" text-anchor="middle">{_esc(category)}</text>'
            )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{_WIDTH - right}" y2="{top + plot_h}" '
        'class="baseline"/>'
    )
    if len(series) > 1:
        parts += _legend([(name, colour) for name, colour, _vals in series], left, 14)
    parts.append("</svg>")
    return "".join(parts)


def _shorten(text, limit=84):
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def svg_bars(chart_id, title, description, *, labels, series, unit):
    """Horizontal bars, one row per label (its text above the bars), for long labels."""
    row_h = 18 + 12 * len(series) + 8
    top = 26
    height = top + row_h * max(len(labels), 1) + 4
    left, right = 8, 70
    plot_w = _WIDTH - left - right
    values = [v for _name, _colour, vals in series for v in vals if v is not None]
    peak = max(values, default=0) or 1
    parts = _svg_open(chart_id, title, description, height)
    parts += _legend([(name, colour) for name, colour, _vals in series], left, 14)
    for index, label in enumerate(labels):
        y = top + index * row_h
        parts.append(
            f'<text x="{left}" y="{y + 13}" class="label"><title>{_esc(label)}</title>'
            f"{_esc(_shorten(label))}</text>"
        )
        for offset, (name, colour, vals) in enumerate(series):
            value = vals[index] or 0
            w = max(plot_w * value / peak, 0.5 if value else 0)
            by = y + 18 + offset * 12
            parts.append(
                f'<rect class="bar" x="{left}" y="{by}" width="{w:.1f}" height="10" '
                f'fill="{colour}"><title>{_esc(name)}: {_esc(_fmt(value, unit))}</title></rect>'
            )
            parts.append(
                f'<text x="{left + w + 4:.1f}" y="{by + 9}" class="axis">'
                f"{_esc(_fmt(value, unit))}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _hour_label(hour):
    # "2026-11-28T14:00:00Z" -> "11-28 14h"
    if len(hour) >= 13 and hour[10] == "T":
        return f"{hour[5:10]} {hour[11:13]}h"
    return hour


def charts(report):
    """The charts of one report: ``[{"id", "title", "svg", "table", "missing"}]``.

    ``table`` (header, rows) is the text fallback; ``svg`` is ``None`` and ``missing`` says why
    when there is nothing to draw.
    """
    data = report["charts"]
    before = ("before", BEFORE_COLOUR)
    after = ("after", AFTER_COLOUR)
    result = []

    volume = data["volume"]
    peak = max((n for side in (volume or {}).values() for _h, n in side), default=0)
    for role, colour in (before, after):
        side = (volume or {}).get(role) or []
        title = f"Messages received per hour, {role} ({report[role]['name']})"
        entry = {"id": f"chart-volume-{role}", "title": title}
        if side:
            labels = [_hour_label(hour) for hour, _n in side]
            entry["svg"] = svg_columns(
                entry["id"],
                title,
                f"{len(side)} hours with mail, at most {peak} messages in one hour (UTC hours).",
                categories=labels,
                series=[(role, colour, [n for _h, n in side])],
                unit="",
                y_max=peak,
            )
            entry["table"] = (["hour (UTC)", "received"], [[h, _fmt(n)] for h, n in side])
        else:
            entry["svg"] = None
            entry["missing"] = f"no mail received in the {role} baseline's window"
        result.append(entry)

    for key, title, missing in (
        ("delay", "Delivery delay, before and after", "no delivered mail to measure delay on"),
        (
            "delays",
            "Parts of delays= at p95, before and after",
            "no delays= parts in either baseline",
        ),
    ):
        entry = {"id": f"chart-{key}", "title": title}
        triples = data[key]
        if triples:
            entry["svg"] = svg_columns(
                entry["id"],
                title,
                "; ".join(
                    f"{label}: {_fmt(b, 's')} before, {_fmt(a, 's')} after"
                    for label, b, a in triples
                ),
                categories=[label for label, _b, _a in triples],
                series=[
                    (before[0], before[1], [b for _l, b, _a in triples]),
                    (after[0], after[1], [a for _l, _b, a in triples]),
                ],
                unit="s",
            )
            entry["table"] = (
                ["figure", "before", "after"],
                [[label, _fmt(b, "s"), _fmt(a, "s")] for label, b, a in triples],
            )
        else:
            entry["svg"] = None
            entry["missing"] = missing
        result.append(entry)

    for key, title, unit, missing in (
        ("deferrals", "Top deferral reasons", "", "no deferrals in either baseline"),
        (
            "queue_age",
            "Queued messages by age (qshape buckets)",
            "",
            "the queue was not measured",
        ),
    ):
        entry = {"id": f"chart-{key.replace('_', '-')}", "title": title}
        triples = data[key]
        if triples and any(b or a for _l, b, a in triples):
            series = [
                (before[0], before[1], [b for _l, b, _a in triples]),
                (after[0], after[1], [a for _l, _b, a in triples]),
            ]
            description = "; ".join(f"{label}: {b} before, {a} after" for label, b, a in triples)
            labels = [label for label, _b, _a in triples]
            if key == "deferrals":
                entry["svg"] = svg_bars(
                    entry["id"], title, description, labels=labels, series=series, unit=unit
                )
            else:
                entry["svg"] = svg_columns(
                    entry["id"], title, description, categories=labels, series=series, unit=unit
                )
            entry["table"] = (
                ["reason" if key == "deferrals" else "age", "before", "after"],
                [[label, _fmt(b), _fmt(a)] for label, b, a in triples],
            )
        else:
            entry["svg"] = None
            entry["missing"] = (
                "the queue was empty in both baselines"
                if key == "queue_age" and triples
                else missing
            )
        result.append(entry)
    return result


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------

CSS = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: #1b1f24; background: #fff; max-width: 1000px; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.6rem; margin: .3rem 0; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 1px solid #d0d7de;
  padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .3rem; }
a { color: #0b5cad; }
nav { font-size: .9rem; }
.sub { color: #57606a; margin: 0; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: .92rem; }
th, td { text-align: left; padding: .25rem .5rem; border-bottom: 1px solid #e5e8eb;
  vertical-align: top; }
th { background: #f6f8fa; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.group th { background: #eef1f4; }
.v-better { color: #116329; font-weight: 600; }
.v-worse { color: #a40e26; font-weight: 600; }
.v-neutral { color: #57606a; }
.v-same { color: #8c959f; }
.worse { color: #a40e26; }
table.index td:nth-child(2) { white-space: nowrap; font-size: .85rem; }
table.index td:nth-child(4) { min-width: 12rem; }
table.index td:nth-child(5) { min-width: 15rem; }
.badges span { display: inline-block; padding: .1rem .6rem; border-radius: 1rem;
  margin: 0 .3rem .3rem 0; background: #eef1f4; }
.explain { background: #f6f8fa; border-left: 4px solid #1f5fa8; padding: .5rem .9rem; }
.explain p { margin: .3rem 0; }
ul.findings li { margin: .2rem 0; }
.sev-warning { color: #a40e26; font-weight: 600; }
.sev-info { color: #57606a; font-weight: 600; }
figure { margin: 1rem 0 1.5rem; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
svg { max-width: 100%; height: auto; display: block; font-family: inherit; }
svg .grid { stroke: #e5e8eb; stroke-width: 1; }
svg .baseline { stroke: #57606a; stroke-width: 1; }
svg .axis { font-size: 11px; fill: #57606a; }
svg .label { font-size: 12px; fill: #1b1f24; }
svg .legend { font-size: 12px; fill: #1b1f24; }
.nodata { color: #57606a; font-style: italic; }
details summary { cursor: pointer; color: #57606a; font-size: .9rem; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9em; }
footer { margin-top: 2.5rem; color: #57606a; font-size: .85rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav, details { display: none; }
  a { color: inherit; text-decoration: none; }
  h2 { break-after: avoid; }
  figure, tr, .explain, ul.findings li { break-inside: avoid; }
  th { background: none; }
}
"""


def _page(title, body):
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="sbs.postfix.baseline_report">\n'
        f"<title>{_esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"{body}\n</body>\n</html>\n"
    )


def _table(header, rows, numeric=()):
    """An HTML table; cells are escaped here, except those given as ``("raw", html)``."""
    out = ["<table><thead><tr>"]
    for index, name in enumerate(header):
        css = ' class="num"' if index in numeric else ""
        out.append(f"<th{css}>{_esc(name)}</th>")
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        for index, cell in enumerate(row):
            css = ' class="num"' if index in numeric else ""
            text = cell[1] if isinstance(cell, tuple) else _esc(cell)
            out.append(f"<td{css}>{text}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _verdict_cell(verdict):
    return ("raw", f'<span class="v-{verdict}">{verdict}</span>')


def _figure_table(rows, with_groups=True):
    out = [
        '<table class="figures"><thead><tr><th>figure</th><th class="num">before</th>'
        '<th class="num">after</th><th class="num">change</th><th>verdict</th></tr></thead>'
        "<tbody>"
    ]
    group = None
    for row in rows:
        if with_groups and row["group"] != group:
            group = row["group"]
            out.append(f'<tr class="group"><th colspan="5">{_esc(GROUPS[group])}</th></tr>')
        out.append(
            f"<tr><td>{_esc(row['label'])}</td>"
            f'<td class="num">{_esc(_fmt(row["before"], row["unit"]))}</td>'
            f'<td class="num">{_esc(_fmt(row["after"], row["unit"]))}</td>'
            f'<td class="num">{_esc(_fmt_change(row))}</td>'
            f"<td>{_verdict_cell(row['verdict'])[1]}</td></tr>"
        )
    out.append("</tbody></table>")
    return "".join(out)


def _side_text(side):
    text = f"{side['name']} (measured {side['measured_at'] or '?'}"
    if side["log_first"]:
        text += f"; log {side['log_first']} to {side['log_last']}"
    return text + ")"


def _missing_text(report):
    notes = [report["window_note"]] if report.get("window_note") else []
    for role in ("before", "after"):
        if report[role]["missing"]:
            notes.append(
                f"Not measured in the {role} baseline: {', '.join(report[role]['missing'])} "
                "(its warnings say why); those figures show '-'."
            )
    return notes


def _chart_html(chart):
    parts = [f'<figure class="chart-block" id="{chart["id"]}-figure">']
    parts.append(f"<figcaption>{_esc(chart['title'])}</figcaption>")
    if chart["svg"] is None:
        parts.append(f'<p class="nodata">No chart: {_esc(chart["missing"])}.</p></figure>')
        return "".join(parts)
    parts[0] = f'<figure class="chart" id="{chart["id"]}-figure">'
    parts.append(chart["svg"])
    header, rows = chart["table"]
    parts.append("<details><summary>The values as a table</summary>")
    parts.append(_table(header, rows, numeric=range(1, len(header))))
    parts.append("</details></figure>")
    return "".join(parts)


def render_host_html(report, title=DEFAULT_TITLE):
    """One host's report as a self-contained HTML page."""
    host = report["host"]
    counts = report["counts"]
    chart_list = {chart["id"]: chart for chart in charts(report)}
    out = ['<nav><a href="../index.html">All hosts</a></nav>', "<header>"]
    out.append(f'<p class="sub">{_esc(title)}</p><h1>{_esc(host)}</h1>')
    out.append(f'<p class="sub">Before: {_esc(_side_text(report["before"]))}<br>')
    out.append(f"After: {_esc(_side_text(report['after']))}</p></header>")

    out.append('<section id="summary"><h2>Summary</h2><p class="badges">')
    for verdict in VERDICTS:
        out.append(f'<span class="v-{verdict}">{counts[verdict]} {verdict}</span>')
    out.append(
        f"<span>{len(report['settings'])} settings changed</span>"
        f"<span>{len(report['findings'])} findings</span></p>"
    )
    for verdict in ("worse", "better"):
        if report[verdict]:
            out.append(
                f'<p><span class="v-{verdict}">Got {verdict}:</span> '
                f"{_esc(', '.join(report[verdict]))}.</p>"
            )
    for note in _missing_text(report):
        out.append(f"<p>{_esc(note)}</p>")
    out.append("</section>")

    out.append('<section id="delay"><h2>Delivery delay: where the time went</h2>')
    out.append('<div class="explain">')
    out.extend(f"<p>{_esc(sentence)}</p>" for sentence in report["delay"])
    out.append("</div>")
    out.append(_chart_html(chart_list["chart-delay"]))
    out.append(_chart_html(chart_list["chart-delays"]))
    out.append("</section>")

    out.append('<section id="settings"><h2>Settings changed</h2>')
    if report["settings"]:
        out.append(
            _table(
                ["setting", "before", "after", "why (sizing)"],
                [
                    [row["name"], _fmt(row["before"]), _fmt(row["after"]), row["reason"] or "-"]
                    for row in report["settings"]
                ],
            )
        )
    else:
        out.append("<p>No Postfix setting differs between the two baselines.</p>")
    if report["other_decisions"]:
        out.append(
            "<h3>Other sizing decisions of this run</h3>"
            "<p>Kernel and systemd values the baseline does not measure.</p>"
        )
        out.append(
            _table(
                ["setting", "value", "why"],
                [
                    [row["name"], _fmt(row["value"]), row["reason"] or "-"]
                    for row in report["other_decisions"]
                ],
            )
        )
    out.append("</section>")

    out.append('<section id="findings"><h2>To act on by hand</h2>')
    if report["findings"]:
        out.append('<ul class="findings">')
        for finding in report["findings"]:
            severity = finding["severity"]
            out.append(
                f'<li><span class="sev-{severity}">{severity}:</span> '
                f"{_esc(finding['message'])}</li>"
            )
        out.append("</ul>")
    else:
        out.append("<p>Nothing: the after baseline shows no known problem.</p>")
    out.append("</section>")

    if report["sender"]:
        out.append('<section id="sender"><h2>Sender side</h2>')
        out.append(f"<p>{_esc(SENDER_NOTE)}</p>")
        out.append(_figure_table(report["sender"], with_groups=False))
        out.append("</section>")

    out.append('<section id="charts"><h2>Volume, deferrals and queue</h2>')
    for chart_id in (
        "chart-volume-before",
        "chart-volume-after",
        "chart-deferrals",
        "chart-queue-age",
    ):
        out.append(_chart_html(chart_list[chart_id]))
    out.append("</section>")

    out.append('<section id="figures"><h2>Every figure</h2>')
    out.append(
        "<p>Verdicts follow what a figure means (docs/report.md): lower delays, deferrals and "
        "queue are better; volume, rejects and settings are neutral; changes of 5 % or less are "
        "neutral.</p>"
    )
    out.append(_figure_table(report["figures"]))
    out.append("</section>")
    out.append(
        f"<footer>Generated by sbs.postfix.baseline_report from {_esc(report['before']['path'])}"
        f" and {_esc(report['after']['path'])}.</footer>"
    )
    return _page(f"{title}: {host}", "\n".join(out))


def render_index_html(reports, title=DEFAULT_TITLE):
    """The cross-host page: one row per host with a link to its report."""
    out = [f"<header><h1>{_esc(title)}</h1>"]
    out.append(f'<p class="sub">{len(reports)} hosts, each compared before and after.</p></header>')
    out.append(
        '<table class="index"><thead><tr><th>host</th><th>baselines</th><th>settings changed'
        "</th><th>got worse</th><th>findings</th></tr></thead><tbody>"
    )
    for report in reports:
        host = report["host"]
        href = urllib.parse.quote(host, safe="") + "/index.html"
        settings = ", ".join(row["name"] for row in report["settings"]) or "none"
        worse = ", ".join(report["worse"]) or "nothing"
        found = report["findings"]
        out.append(
            f'<tr><td><a href="{_esc(href)}">{_esc(host)}</a></td>'
            f"<td>{_esc(report['before']['name'])}<br>{_esc(report['after']['name'])}</td>"
            f"<td>{_esc(settings)}</td>"
            f'<td><span class="{"worse" if report["worse"] else "v-same"}">{_esc(worse)}'
            f"</span><br><small>{report['counts']['better']} better</small></td><td>"
        )
        if found:
            out.append(
                "<br>".join(
                    f'<span class="sev-{f["severity"]}">{f["severity"]}:</span> '
                    f'<span title="{_esc(f["message"])}">{_esc(f["title"])}</span>'
                    for f in found
                )
            )
        else:
            out.append("none")
        out.append("</td></tr>")
    out.append("</tbody></table>")
    out.append(
        "<footer>Generated by sbs.postfix.baseline_report; the rules are in docs/report.md."
        "</footer>"
    )
    return _page(title, "\n".join(out))


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans(
    {
        "\\": "\\\\",
        "`": "\\`",
        "*": "\\*",
        "_": "\\_",
        "[": "\\[",
        "]": "\\]",
        "|": "\\|",
        "<": "&lt;",
        ">": "&gt;",
        "&": "&amp;",
        "#": "\\#",
        "\n": " ",
        "\r": " ",
    }
)


def md_escape(value):
    """Text that Markdown shows as written: no markup, no HTML, safe inside a table cell."""
    return ("" if value is None else str(value)).translate(_MD_SPECIAL)


def _md_table(header, rows):
    lines = ["| " + " | ".join(md_escape(h) for h in header) + " |"]
    lines.append("|" + "|".join(" --- " for _h in header) + "|")
    lines.extend("| " + " | ".join(md_escape(cell) for cell in row) + " |" for row in rows)
    return lines


def _md_figures(rows):
    return _md_table(
        ["figure", "before", "after", "change", "verdict"],
        [
            [
                row["label"],
                _fmt(row["before"], row["unit"]),
                _fmt(row["after"], row["unit"]),
                _fmt_change(row),
                row["verdict"],
            ]
            for row in rows
        ],
    )


def render_host_markdown(report, title=DEFAULT_TITLE):
    """One host's report as Markdown: the same content, charts as tables."""
    counts = report["counts"]
    out = [f"# {md_escape(report['host'])}", "", md_escape(title), ""]
    out.append(f"- Before: {md_escape(_side_text(report['before']))}")
    out.append(f"- After: {md_escape(_side_text(report['after']))}")
    out += ["", "## Summary", ""]
    out.append(
        ", ".join(f"{counts[v]} {v}" for v in VERDICTS)
        + f"; {len(report['settings'])} settings changed; {len(report['findings'])} findings."
    )
    for verdict in ("worse", "better"):
        if report[verdict]:
            out += ["", f"Got {verdict}: {md_escape(', '.join(report[verdict]))}."]
    for note in _missing_text(report):
        out += ["", md_escape(note)]
    out += ["", "## Delivery delay: where the time went", ""]
    for sentence in report["delay"]:
        out += [md_escape(sentence), ""]
    chart_list = {chart["id"]: chart for chart in charts(report)}
    for chart_id in ("chart-delay", "chart-delays"):
        out += _md_chart(chart_list[chart_id])
    out += ["## Settings changed", ""]
    if report["settings"]:
        out += _md_table(
            ["setting", "before", "after", "why (sizing)"],
            [
                [row["name"], _fmt(row["before"]), _fmt(row["after"]), row["reason"] or "-"]
                for row in report["settings"]
            ],
        )
    else:
        out.append("No Postfix setting differs between the two baselines.")
    if report["other_decisions"]:
        out += ["", "### Other sizing decisions of this run", ""]
        out += _md_table(
            ["setting", "value", "why"],
            [
                [row["name"], _fmt(row["value"]), row["reason"] or "-"]
                for row in report["other_decisions"]
            ],
        )
    out += ["", "## To act on by hand", ""]
    if report["findings"]:
        out += [f"- {f['severity']}: {md_escape(f['message'])}" for f in report["findings"]]
    else:
        out.append("Nothing: the after baseline shows no known problem.")
    if report["sender"]:
        out += ["", "## Sender side", "", SENDER_NOTE, ""]
        out += _md_figures(report["sender"])
    out += ["", "## Volume, deferrals and queue", ""]
    for chart_id in (
        "chart-volume-before",
        "chart-volume-after",
        "chart-deferrals",
        "chart-queue-age",
    ):
        out += _md_chart(chart_list[chart_id])
    out += ["## Every figure", ""]
    for group, name in GROUPS.items():
        rows = [row for row in report["figures"] if row["group"] == group]
        if rows:
            out += [f"### {name}", "", *_md_figures(rows), ""]
    out.append(
        f"Generated by sbs.postfix.baseline_report from {md_escape(report['before']['path'])} "
        f"and {md_escape(report['after']['path'])}."
    )
    return "\n".join(out) + "\n"


def _md_chart(chart):
    out = [f"### {md_escape(chart['title'])}", ""]
    if chart["svg"] is None:
        return [*out, f"No chart: {md_escape(chart['missing'])}.", ""]
    header, rows = chart["table"]
    return out + _md_table(header, rows) + [""]


def render_all(pairs, hosts, dest, title=None):
    """Every file to write: ``(files, reports)``.

    ``files`` is ``[(path, text), ...]`` (each host's HTML and Markdown, then the index);
    ``reports`` is the list of :func:`host_report` results in the order of ``hosts``.
    """
    title = title or DEFAULT_TITLE
    reports = []
    files = []
    for host in dict.fromkeys(hosts):
        report = host_report(host, pairs[host])
        reports.append(report)
        paths = report_paths(dest, host)
        files.append((paths["html"], render_host_html(report, title)))
        files.append((paths["markdown"], render_host_markdown(report, title)))
    files.append((os.path.join(dest, "index.html"), render_index_html(reports, title)))
    return files, reports
