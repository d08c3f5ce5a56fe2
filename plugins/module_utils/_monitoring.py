# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The health checks the sbs.postfix.monitoring role runs on the host every few minutes.

PRIVATE to the sbs.postfix collection: the interface may change without notice.

Runs on the managed host **without Ansible**: the role copies this file and the readers it
reuses (``_maillog`` parses the log, ``_postqueue`` reads ``postqueue -j``, ``_baseline`` finds
and reads the log files or the journal, ``_sysinfo`` reads the file system and master's PID)
into a private ``ansible_collections`` tree on the host, and a small script run by a systemd
timer calls :func:`run_checks`. Standard library only, Python 3.11+.

Everything here is a pure function of what was observed, except :func:`observe` (which runs
commands through the ``run(argv, binary=False)`` callable the script gives it, as
``_baseline`` does). The script owns the side effects: the state file, the journal, mail,
the webhook and the textfile.

One run:

1. :func:`observe` reads the queue (``postqueue -j``), the queue file system (``statvfs``),
   master's PID file, the TLS certificates in use (``openssl x509 -enddate``) and the log
   lines written since the previous run (the same parser as baseline_info).
2. :func:`evaluate` turns that into one result per check (``firing``, ``ok`` or ``unknown``)
   and compares it with the state kept between runs: a check that starts firing gives an
   ``alert`` event, one that stops gives a ``clear`` event, everything else gives nothing
   (:func:`transitions`). ``unknown`` (a figure that could not be read) changes nothing.
3. :func:`metrics_text` writes the figures in Prometheus' text format for the node
   exporter's textfile collector.

The spike rule (:func:`spike`): the bounces (or deferrals) counted in the log since the
previous run, as a rate per minute, against the time-weighted average rate of the previous
``spike_intervals`` runs. It fires when the count reaches ``spike_min_count`` **and** the
rate exceeds ``spike_factor`` times that average; with no history the average is 0, so the
floor alone decides.
"""

from __future__ import annotations

import calendar
import json
import math
import re
import time

from ansible_collections.sbs.postfix.plugins.module_utils import (
    _baseline,
    _maillog,
    _postqueue,
    _sysinfo,
)
from ansible_collections.sbs.postfix.plugins.module_utils._postconf import parse_postconf_n

STATE_VERSION = 1

# Every check, in the order they are reported. docs/monitoring.md describes each one.
CHECKS = (
    "master_down",
    "queue_total",
    "queue_deferred",
    "deferred_oldest",
    "queue_fs_space",
    "queue_fs_inodes",
    "bounce_spike",
    "deferral_spike",
    "tls_expiry",
    "log_silent",
)

# Thresholds and settings when the configuration does not give them (the role's defaults).
DEFAULTS = {
    "queue_total_max": 500,
    "queue_deferred_max": 100,
    "deferred_oldest_max_seconds": 14400,
    "queue_fs_used_max_percent": 80,
    "queue_fs_inodes_max_percent": 80,
    "spike_factor": 3.0,
    "spike_min_count": 10,
    "spike_intervals": 12,
    "tls_expiry_days": 14,
    "log_silent_seconds": 7200,
    "log_silent_min_messages": 10,
    "log_source": "auto",
    "first_window_seconds": 300,
    "max_window_seconds": 86400,
}

# How long the per-run history is kept (the "normally carries mail" rule looks back this far).
HISTORY_SECONDS = 86400

# postconf parameters observe() reads, in one call.
POSTCONF_PARAMETERS = (
    "queue_directory",
    "maillog_file",
    "syslog_name",
    "smtpd_tls_chain_files",
    "smtpd_tls_cert_file",
    "smtpd_tls_eccert_file",
)

# Interval counts taken from the log parser (baseline_info's names).
INTERVAL_COUNTS = ("received", "delivered", "deferred", "bounced", "rejected", "expired")


def settings(config):
    """The check settings: ``DEFAULTS`` overlaid with ``config`` (unknown keys are kept)."""
    merged = dict(DEFAULTS)
    merged.update({k: v for k, v in (config or {}).items() if v is not None})
    return merged


# ---------------------------------------------------------------------------------------------
# state between runs
# ---------------------------------------------------------------------------------------------


def empty_state():
    return {
        "version": STATE_VERSION,
        "last_run": None,
        "last_log_line": None,
        "active": {},
        "history": [],
    }


def load_state(text):
    """The state file's text -> state; an unreadable or foreign file starts afresh (the only
    cost: a condition that is still true alerts once more)."""
    try:
        state = json.loads(text) if text else None
    except ValueError:
        state = None
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION:
        return empty_state()
    fresh = empty_state()
    for key, default in fresh.items():
        if not isinstance(state.get(key, default), type(default)) and default is not None:
            state[key] = default
        state.setdefault(key, default)
    return state


def dump_state(state):
    return json.dumps(state, sort_keys=True, indent=1) + "\n"


# ---------------------------------------------------------------------------------------------
# the checks: pure functions, one result each
# ---------------------------------------------------------------------------------------------


def result(check, status, value=None, threshold=None, *, unit="", message=""):
    """One check's outcome. ``status``: ``firing``, ``ok`` or ``unknown``."""
    return {
        "check": check,
        "status": status,
        "value": value,
        "threshold": threshold,
        "unit": unit,
        "message": message,
    }


def above(check, value, threshold, unit, what):
    """``firing`` when ``value`` is above ``threshold``; ``unknown`` when it was not read."""
    if value is None:
        return result(check, "unknown", None, threshold, unit=unit, message=f"{what}: not measured")
    firing = value > threshold
    relation = "above" if firing else "at or below"
    text = f"{what} is {_fmt(value)} {unit}, {relation} the threshold {_fmt(threshold)} {unit}"
    return result(
        check,
        "firing" if firing else "ok",
        value,
        threshold,
        unit=unit,
        message=text.replace("  ", " "),
    )


def check_queue(queue, cfg):
    """Total and deferred queue length (messages) and the oldest deferred message's age (s),
    from :func:`_postqueue.parse_postqueue_json`'s summary (``None``: not read)."""
    if queue is None:
        return [
            result(name, "unknown", message="queue: postqueue -j could not be read")
            for name in ("queue_total", "queue_deferred", "deferred_oldest")
        ]
    deferred = queue.get("deferred") or {}
    oldest = deferred.get("oldest_age_seconds")
    results = [
        above(
            "queue_total",
            queue["total"]["count"],
            cfg["queue_total_max"],
            "messages",
            "the mail queue",
        ),
        above(
            "queue_deferred",
            deferred.get("count", 0),
            cfg["queue_deferred_max"],
            "messages",
            "the deferred queue",
        ),
    ]
    # an empty deferred queue has no oldest message: that is fine, not unknown
    results.append(
        above(
            "deferred_oldest",
            oldest if oldest is not None else 0,
            cfg["deferred_oldest_max_seconds"],
            "seconds",
            "the oldest deferred message's age",
        )
    )
    return results


def check_filesystem(fs, cfg):
    """Space and inode use (percent) of the file system holding the queue directory, from
    :func:`_sysinfo.statvfs_summary` (``None``: not read)."""
    if fs is None:
        return [
            result(name, "unknown", message="queue file system: not found")
            for name in ("queue_fs_space", "queue_fs_inodes")
        ]
    return [
        above(
            "queue_fs_space",
            fs.get("used_percent"),
            cfg["queue_fs_used_max_percent"],
            "%",
            "space used on the queue file system",
        ),
        # no fixed inode table (btrfs): unknown, never an alert
        above(
            "queue_fs_inodes",
            fs.get("inodes_used_percent"),
            cfg["queue_fs_inodes_max_percent"],
            "%",
            "inodes used on the queue file system",
        ),
    ]


def check_master(pid):
    """Postfix's master(8): ``pid`` from :func:`_sysinfo.read_master_pid` (``None``: it is not
    running)."""
    if pid is None:
        return result(
            "master_down", "firing", 0, 1, message="Postfix's master process is not running"
        )
    message = f"Postfix's master process is running (PID {pid})"
    return result("master_down", "ok", 1, 1, message=message)


def spike(count, minutes, history, *, factor, floor, key):
    """The spike rule. ``count``: events of kind ``key`` in this interval of ``minutes``;
    ``history``: earlier intervals (``{"minutes", key: n}``), newest last, already cut to the
    ones that count. Returns ``(firing, rate, average_rate)`` in events per minute."""
    rate = count / minutes if minutes > 0 else float(count)
    spent = sum(entry.get("minutes", 0) for entry in history)
    seen = sum(entry.get(key, 0) for entry in history)
    average = seen / spent if spent > 0 else 0.0
    firing = count >= floor and rate > factor * average
    return firing, rate, average


def check_spikes(interval, history, cfg):
    """Bounce and deferral spikes of this interval against the recent runs (:func:`spike`)."""
    out = []
    for check, key, word in (
        ("bounce_spike", "bounced", "bounces"),
        ("deferral_spike", "deferred", "deferrals"),
    ):
        if interval is None:
            out.append(result(check, "unknown", message=f"{word}: the mail log could not be read"))
            continue
        recent = history[-int(cfg["spike_intervals"]) :] if cfg["spike_intervals"] else []
        count = interval.get(key, 0)
        firing, rate, average = spike(
            count,
            interval["minutes"],
            recent,
            factor=float(cfg["spike_factor"]),
            floor=cfg["spike_min_count"],
            key=key,
        )
        out.append(
            result(
                check,
                "firing" if firing else "ok",
                count,
                cfg["spike_min_count"],
                unit=key,
                message=f"{count} {word} in the last {_fmt(interval['minutes'])} min "
                f"({_fmt(rate)}/min); average of the {len(recent)} runs before: "
                f"{_fmt(average)}/min; a spike is at least {cfg['spike_min_count']} and above "
                f"{_fmt(cfg['spike_factor'])} times the average",
            )
        )
    return out


def check_certificates(certificates, now, cfg):
    """The TLS certificate in use that expires first. ``certificates``: ``[{"path", "not_after"
    (epoch or None), "error"}]`` from :func:`observe`; none configured: ``unknown``."""
    readable = [c for c in certificates if c.get("not_after") is not None]
    if not readable:
        reason = (
            "; ".join(f"{c['path']}: {c.get('error')}" for c in certificates)
            or "no certificate configured"
        )
        return result("tls_expiry", "unknown", message=f"TLS certificate: {reason}")
    first = min(readable, key=lambda c: c["not_after"])
    days = (first["not_after"] - now) / 86400.0
    limit = cfg["tls_expiry_days"]
    firing = days < limit
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(first["not_after"]))
    state = "expired" if days < 0 else f"expires in {_fmt(days)} days"
    return result(
        "tls_expiry",
        "firing" if firing else "ok",
        round(days, 2),
        limit,
        unit="days",
        message=f"TLS certificate {first['path']} {state} ({when}); the threshold is {limit} days",
    )


def check_log_silent(last_line, history, now, active, cfg):
    """The mail log has been silent for ``log_silent_seconds`` on a host that normally carries
    mail: at least ``log_silent_min_messages`` received over the history (24 h). Once firing it
    stays so until the log speaks again (the history empties while it is silent)."""
    limit = cfg["log_silent_seconds"]
    if last_line is None:
        return result(
            "log_silent",
            "unknown",
            None,
            limit,
            unit="seconds",
            message="mail log: no Postfix line seen yet",
        )
    silent = max(0, int(now - last_line))
    received = sum(entry.get("received", 0) for entry in history)
    normal = received >= cfg["log_silent_min_messages"]
    firing = silent >= limit and (normal or active)
    since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(last_line))
    return result(
        "log_silent",
        "firing" if firing else "ok",
        silent,
        limit,
        unit="seconds",
        message=f"the last Postfix log line is {silent} s old ({since}); {received} messages "
        f"received in the last {HISTORY_SECONDS // 3600} h; the threshold is {limit} s on a "
        f"host that received at least {cfg['log_silent_min_messages']}",
    )


# ---------------------------------------------------------------------------------------------
# once per condition
# ---------------------------------------------------------------------------------------------


def transitions(active, results, now):
    """The state machine: ``active`` maps each firing check to ``{"since", "message"}``.

    Returns ``(new_active, events)``; an event is ``{"kind": "alert"|"clear", "check",
    "message", "since", "value", "threshold", "unit"}``. ``unknown`` keeps a check as it was.
    """
    new_active = dict(active)
    events = []
    for res in results:
        check = res["check"]
        was = check in active
        if res["status"] == "firing" and not was:
            new_active[check] = {"since": now, "message": res["message"]}
            events.append(_event("alert", res, now))
        elif res["status"] == "ok" and was:
            del new_active[check]
            events.append(_event("clear", res, active[check].get("since")))
    return new_active, events


def _event(kind, res, since):
    return {
        "kind": kind,
        "check": res["check"],
        "message": res["message"],
        "since": since,
        "value": res["value"],
        "threshold": res["threshold"],
        "unit": res["unit"],
    }


# ---------------------------------------------------------------------------------------------
# observe (the only function that runs commands) and evaluate
# ---------------------------------------------------------------------------------------------


_SPLIT = re.compile(r"[\s,]+")


def parse_enddate(text):
    """``notAfter=Nov 30 12:00:00 2027 GMT`` (``openssl x509 -enddate``) -> epoch seconds."""
    m = re.search(r"notAfter=(.+?)\s*$", text or "", re.MULTILINE)
    if not m:
        return None
    value = m.group(1).strip()
    try:
        return calendar.timegm(time.strptime(value, "%b %d %H:%M:%S %Y GMT"))
    except ValueError:
        return None


def certificate_files(params):
    """The files that hold the certificates smtpd presents, from postconf values: every file of
    ``smtpd_tls_chain_files`` (it takes precedence, Postfix >= 3.4), else the RSA and ECDSA
    certificate files. Keys and certificates may share a file; openssl skips the key."""
    chain = [p for p in _SPLIT.split(params.get("smtpd_tls_chain_files") or "") if p]
    if chain:
        return chain
    return [
        params[name]
        for name in ("smtpd_tls_cert_file", "smtpd_tls_eccert_file")
        if params.get(name) and params[name] != "none"
    ]


def window(state, now, cfg):
    """``(since, until)`` in whole epoch seconds: from the previous run (at most
    ``max_window_seconds`` back) to now. Log stamps have whole seconds and ``until`` is
    exclusive, so a line in the second of a run is counted by the next run, never twice."""
    until = int(now)
    last = state.get("last_run")
    if last is None:
        since = until - int(cfg["first_window_seconds"])
    else:
        since = max(int(last), until - int(cfg["max_window_seconds"]))
    return min(since, until - 1), until


def observe(run, state, now, cfg, root="/"):
    """Read everything the checks need. ``run(argv, binary=False) -> (rc, out, err)``;
    ``root`` relocates /proc (tests). ``cfg["log_paths"]``: log files to read instead of the
    ones baseline_info would find (``maillog_file``, /var/log/mail.log).

    Returns ``{"queue", "filesystem", "master_pid", "certificates", "interval", "log",
    "params", "warnings"}``; a part that cannot be read is ``None`` and says why in warnings.
    """
    warnings = []
    rc, out, err = run(["postconf", "-x", *POSTCONF_PARAMETERS])
    params = parse_postconf_n(out) if rc == 0 else {}
    if rc != 0:
        warnings.append(f"postconf failed (rc={rc}): {(err or '').strip()}")
    queue_directory = params.get("queue_directory") or "/var/spool/postfix"
    queue = _baseline.collect_queue(run, warnings, now)
    fs = _sysinfo.read_filesystem(queue_directory, root)
    pid = _sysinfo.read_master_pid(queue_directory, root)
    certificates = []
    for path in certificate_files(params):
        rc, out, err = run(["openssl", "x509", "-noout", "-enddate", "-in", path])
        not_after = parse_enddate(out) if rc == 0 else None
        error = (
            None
            if not_after is not None
            else ((err or out or "").strip().splitlines() or ["no certificate"])[0]
        )
        certificates.append({"path": path, "not_after": not_after, "error": error})
    since, until = window(state, now, cfg)
    mail = _baseline.collect_mail(
        run,
        warnings,
        log_paths=cfg.get("log_paths") or None,
        log_source=cfg["log_source"],
        since=since,
        until=until,
        maillog_file=params.get("maillog_file"),
        syslog_name=params.get("syslog_name"),
        now=now,
    )
    interval = None
    log = None
    if mail is not None:
        interval = {"t": until, "minutes": round((until - since) / 60.0, 3)}
        interval.update({key: mail.get(key, 0) for key in INTERVAL_COUNTS})
        delay = (mail.get("latency") or {}).get("delay") or {}
        log = {
            "last": _iso_epoch(mail["sources"].get("last"))
            if mail["sources"].get("lines_in_window")
            else None,
            "delay_p50": delay.get("p50"),
            "delay_p95": delay.get("p95"),
            "delay_max": delay.get("max"),
            "source": mail["sources"].get("source"),
        }
    return {
        "queue": queue,
        "filesystem": fs,
        "master_pid": pid,
        "certificates": certificates,
        "interval": interval,
        "log": log,
        "params": params,
        "warnings": warnings,
        "window": {"since": since, "until": until},
    }


def evaluate(obs, state, now, cfg):
    """Every check's result from one observation, and the next state.

    Returns ``(results, events, new_state)``. The interval joins the history after the spike
    rule has read it (a run is not compared with itself).
    """
    history = [e for e in state.get("history", []) if e.get("t", 0) > now - HISTORY_SECONDS]
    last_line = state.get("last_log_line")
    if obs.get("log") and obs["log"].get("last") is not None:
        last_line = max(last_line or 0, obs["log"]["last"])
    results = [check_master(obs.get("master_pid"))]
    results += check_queue(obs.get("queue"), cfg)
    results += check_filesystem(obs.get("filesystem"), cfg)
    results += check_spikes(obs.get("interval"), history, cfg)
    results.append(check_certificates(obs.get("certificates") or [], now, cfg))
    results.append(
        check_log_silent(last_line, history, now, "log_silent" in state.get("active", {}), cfg)
    )
    active, events = transitions(state.get("active", {}), results, now)
    if obs.get("interval") is not None:
        history.append(obs["interval"])
    new_state = {
        "version": STATE_VERSION,
        "last_run": obs.get("window", {}).get("until", int(now))
        if obs.get("interval") is not None
        else state.get("last_run"),
        "last_log_line": last_line,
        "active": active,
        "history": history,
    }
    return results, events, new_state


# ---------------------------------------------------------------------------------------------
# what leaves the host: journal lines, mail, webhook body, textfile
# ---------------------------------------------------------------------------------------------


def journal_lines(events, results, warnings):
    """One line per event (``ALERT``/``CLEAR``), then one per unreadable figure."""
    lines = [f"{e['kind'].upper()} {e['check']}: {e['message']}" for e in events]
    lines += [f"warning: {w}" for w in warnings]
    lines += [f"unknown {r['check']}: {r['message']}" for r in results if r["status"] == "unknown"]
    return lines


def summary_subject(host, events):
    alerts = [e["check"] for e in events if e["kind"] == "alert"]
    clears = [e["check"] for e in events if e["kind"] == "clear"]
    parts = []
    if alerts:
        parts.append("ALERT " + ", ".join(alerts))
    if clears:
        parts.append("CLEAR " + ", ".join(clears))
    return f"[sbs.postfix] {host}: " + "; ".join(parts)


def mail_message(host, sender, recipients, events, *, results, now):
    """The alert mail (RFC 5322 text, for ``sendmail -t -i``), or ``None`` without events.
    ``sender``: the From address, empty for sendmail's default."""
    if not events:
        return None
    # without a sender, sendmail writes From: for the user the check runs as (root)
    lines = [f"From: {sender}"] if sender else []
    lines += [
        "To: " + ", ".join(recipients),
        "Subject: " + summary_subject(host, events),
        "Date: " + time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(now)),
        "Auto-Submitted: auto-generated",
        "Content-Type: text/plain; charset=utf-8",
        "",
        f"sbs.postfix monitoring on {host}:",
        "",
    ]
    for e in events:
        lines.append(f"{e['kind'].upper()} {e['check']}: {e['message']}")
    firing = [r for r in results if r["status"] == "firing"]
    lines += ["", "Firing now: " + (", ".join(r["check"] for r in firing) or "nothing"), ""]
    lines += [f"  {r['check']} ({r['status']}): {r['message']}" for r in results]
    return "\n".join(lines) + "\n"


def webhook_body(host, events, results, now):
    """The JSON body POSTed to the webhook."""
    return json.dumps(
        {
            "host": host,
            "time": _maillog.iso_time(now),
            "summary": summary_subject(host, events),
            "events": events,
            "firing": [r["check"] for r in results if r["status"] == "firing"],
        },
        sort_keys=True,
    )


# name, TYPE, unit in the HELP text; the values come from metric_samples().
METRICS = (
    (
        "sbs_postfix_check_timestamp_seconds",
        "gauge",
        "When the check ran (seconds since the epoch)",
    ),
    ("sbs_postfix_master_up", "gauge", "1 when Postfix's master process runs, else 0"),
    (
        "sbs_postfix_queue_messages",
        "gauge",
        "Messages in each Postfix queue (postqueue -j), and the total",
    ),
    ("sbs_postfix_queue_bytes", "gauge", "Bytes of the messages in each Postfix queue"),
    (
        "sbs_postfix_deferred_oldest_age_seconds",
        "gauge",
        "Age of the oldest deferred message (seconds; 0 when none)",
    ),
    (
        "sbs_postfix_queue_fs_used_ratio",
        "gauge",
        "Share of the queue file system's space in use (0-1, as df)",
    ),
    (
        "sbs_postfix_queue_fs_inodes_used_ratio",
        "gauge",
        "Share of the queue file system's inodes in use (0-1)",
    ),
    (
        "sbs_postfix_tls_certificate_expiry_timestamp_seconds",
        "gauge",
        "When the TLS certificate in use that expires first expires (seconds since the epoch)",
    ),
    (
        "sbs_postfix_log_last_line_timestamp_seconds",
        "gauge",
        "Time of the newest Postfix log line seen (seconds since the epoch)",
    ),
    (
        "sbs_postfix_interval_seconds",
        "gauge",
        "Length of the log window the last check read (seconds)",
    ),
    (
        "sbs_postfix_interval_messages",
        "gauge",
        "Messages counted in the log window the last check read, by event",
    ),
    (
        "sbs_postfix_interval_delivery_delay_seconds",
        "gauge",
        "Delivery delay (delay=) of the deliveries in the last window, seconds: "
        "quantile 0.5, 0.95 and 1 (the longest)",
    ),
    (
        "sbs_postfix_alert_firing",
        "gauge",
        "1 while the check's condition holds, 0 when not, absent when unknown",
    ),
    (
        "sbs_postfix_alert_threshold",
        "gauge",
        "The check's threshold, in the check's unit (messages, seconds, percent, days, events)",
    ),
)


def metric_samples(obs, results, now):
    """``{metric name: [(labels dict, value), ...]}`` for :func:`metrics_text`."""
    samples = {name: [] for name, _type, _help in METRICS}
    samples["sbs_postfix_check_timestamp_seconds"].append(({}, int(now)))
    samples["sbs_postfix_master_up"].append(({}, 0 if obs.get("master_pid") is None else 1))
    queue = obs.get("queue")
    if queue is not None:
        for name in (*_postqueue.QUEUES, "total"):
            entry = queue.get(name) or {}
            samples["sbs_postfix_queue_messages"].append(({"queue": name}, entry.get("count", 0)))
            samples["sbs_postfix_queue_bytes"].append(({"queue": name}, entry.get("bytes", 0)))
        oldest = (queue.get("deferred") or {}).get("oldest_age_seconds")
        samples["sbs_postfix_deferred_oldest_age_seconds"].append(({}, oldest or 0))
    fs = obs.get("filesystem")
    if fs is not None:
        if fs.get("used_percent") is not None:
            samples["sbs_postfix_queue_fs_used_ratio"].append(
                ({}, round(fs["used_percent"] / 100.0, 4))
            )
        if fs.get("inodes_used_percent") is not None:
            samples["sbs_postfix_queue_fs_inodes_used_ratio"].append(
                ({}, round(fs["inodes_used_percent"] / 100.0, 4))
            )
    expiries = [
        c["not_after"] for c in obs.get("certificates") or [] if c.get("not_after") is not None
    ]
    if expiries:
        samples["sbs_postfix_tls_certificate_expiry_timestamp_seconds"].append(({}, min(expiries)))
    if obs.get("last_log_line") is not None:
        samples["sbs_postfix_log_last_line_timestamp_seconds"].append(
            ({}, int(obs["last_log_line"]))
        )
    interval = obs.get("interval")
    if interval is not None:
        samples["sbs_postfix_interval_seconds"].append(({}, round(interval["minutes"] * 60)))
        for key in INTERVAL_COUNTS:
            samples["sbs_postfix_interval_messages"].append(({"event": key}, interval.get(key, 0)))
    log = obs.get("log") or {}
    for quantile, key in (("0.5", "delay_p50"), ("0.95", "delay_p95"), ("1", "delay_max")):
        if log.get(key) is not None:
            samples["sbs_postfix_interval_delivery_delay_seconds"].append(
                ({"quantile": quantile}, log[key])
            )
    for res in results:
        if res["status"] != "unknown":
            samples["sbs_postfix_alert_firing"].append(
                ({"check": res["check"]}, 1 if res["status"] == "firing" else 0)
            )
        if res["threshold"] is not None and res["check"] != "master_down":
            samples["sbs_postfix_alert_threshold"].append(
                ({"check": res["check"]}, res["threshold"])
            )
    return samples


def metrics_text(samples):
    """Prometheus text exposition format 0.0.4: HELP and TYPE for every metric, then its
    samples; a metric without samples keeps its HELP and TYPE only."""
    out = []
    for name, kind, text in METRICS:
        out.append(f"# HELP {name} {text}")
        out.append(f"# TYPE {name} {kind}")
        for labels, value in samples.get(name, []):
            label_text = ",".join(f'{k}="{_escape_label(v)}"' for k, v in sorted(labels.items()))
            out.append(
                f"{name}{{{label_text}}} {_number(value)}"
                if label_text
                else f"{name} {_number(value)}"
            )
    return "\n".join(out) + "\n"


def _escape_label(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


# ---------------------------------------------------------------------------------------------
# one run
# ---------------------------------------------------------------------------------------------


def run_checks(run, state, now, config, root="/"):
    """Observe, evaluate and describe one run. Returns a dict the script acts on:
    ``results``, ``events``, ``state`` (to save), ``journal`` (lines), ``metrics`` (textfile
    text), ``observation``."""
    cfg = settings(config)
    obs = observe(run, state, now, cfg, root)
    results, events, new_state = evaluate(obs, state, now, cfg)
    obs["last_log_line"] = new_state["last_log_line"]
    return {
        "results": results,
        "events": events,
        "state": new_state,
        "journal": journal_lines(events, results, obs["warnings"]),
        "metrics": metrics_text(metric_samples(obs, results, now)),
        "observation": obs,
    }


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)


def _iso_epoch(text):
    """``YYYY-MM-DDTHH:MM:SSZ`` (``_maillog.iso_time``) -> epoch seconds."""
    if not text:
        return None
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))
