# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Assemble the baseline of a Postfix host (used by the baseline_info module).

PRIVATE to the sbs.postfix collection: the interface may change without notice.

Runs on the managed host: standard library only, Python 3.11+.

Four parts, each measured on its own so that one missing source never hides the others:
``mail`` (the log, through :mod:`._maillog`), ``queue`` (``postqueue -j``, through
:mod:`._postqueue`), ``system`` (through :mod:`._sysinfo`, shared with sizing_info) and
``postfix`` (``postconf``). Every gap becomes one entry in ``warnings``.

Commands run through a ``run(argv, binary=False)`` callable that returns ``(rc, stdout, stderr)``
(a :class:`._runner.CommandRunner` with ``missing_ok=True`` in the module, a fake in unit tests);
``binary=True`` asks for stdout as bytes (the journal).
"""

from __future__ import annotations

import glob
import os
import re
import time

from ansible_collections.sbs.postfix.plugins.module_utils import (
    _maillog,
    _postqueue,
    _sysinfo,
)
from ansible_collections.sbs.postfix.plugins.module_utils._postconf import (
    parse_postconf_M,
    parse_postconf_n,
)
from ansible_collections.sbs.postfix.plugins.module_utils._sizing import (
    BASELINE_SCHEMA,
    MAIN_PARAMETERS,
    MASTER_SERVICES,
)

PARTS = ("mail", "queue", "system", "postfix")
LOG_SOURCES = ("auto", "files", "journal")
DEFAULT_LOGS = ("/var/log/mail.log", "/var/log/maillog")

# what baseline_info itself needs from postconf, besides what sizing reads
OWN_PARAMETERS = [
    "mail_version",
    "queue_directory",
    "maillog_file",
    "syslog_name",
    "multi_instance_enable",
    "multi_instance_directories",
]


# ---------------------------------------------------------------------------------------------
# postfix
# ---------------------------------------------------------------------------------------------


def collect_postfix(run, warnings):
    """``postconf`` values: version, ``default_process_limit``, what sizing reads, master.cf
    process limits. ``None`` when postconf is missing or fails."""
    names = OWN_PARAMETERS + [n for n in MAIN_PARAMETERS if n not in OWN_PARAMETERS]
    rc, out, err = run(["postconf", *names])
    if rc != 0:
        # an unknown parameter name (older Postfix) fails the whole call: retry one by one
        out, missing = _postconf_one_by_one(run, names)
        if not out:
            warnings.append("postfix: postconf failed (rc={}): {}".format(rc, (err or "").strip()))
            return None
        if missing:
            warnings.append(
                "postfix: this Postfix does not know {}".format(", ".join(sorted(missing)))
            )
    params = parse_postconf_n(out)
    services = {}
    rc, out, err = run(["postconf", "-M", *MASTER_SERVICES])
    if rc == 0:
        services = {
            key: {
                "process_limit": entry["process_limit"],
                "command": " ".join([entry["command"], *entry["args"]]),
            }
            for key, entry in parse_postconf_M(out).items()
        }
    else:
        warnings.append("postfix: postconf -M failed: {}".format((err or "").strip()))
    return {
        "version": params.get("mail_version"),
        "default_process_limit": _int_or_none(params.get("default_process_limit")),
        "queue_directory": params.get("queue_directory"),
        "parameters": {n: params.get(n) for n in names if n in params},
        "services": services,
    }


def _postconf_one_by_one(run, names):
    lines = []
    missing = []
    for name in names:
        rc, out, _err = run(["postconf", name])
        if rc == 0 and out.strip():
            lines.append(out.strip())
        else:
            missing.append(name)
    return "\n".join(lines), missing


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# queue
# ---------------------------------------------------------------------------------------------


def collect_queue(run, warnings, now=None):
    """``postqueue -j`` summary, or ``None`` when it cannot be read."""
    now = time.time() if now is None else now
    rc, out, err = run(["postqueue", "-j"])
    if rc == 127:
        warnings.append("queue: postqueue is not installed")
        return None
    if rc != 0:
        text = (err or out or "").strip()
        if "invalid option" in text or "illegal option" in text:
            warnings.append("queue: postqueue -j needs Postfix 3.1 or later")
        else:
            warnings.append(f"queue: postqueue -j failed (rc={rc}): {text}")
        return None
    result = _postqueue.parse_postqueue_json(out, now)
    if result["invalid_lines"]:
        warnings.append(
            f"queue: {result['invalid_lines']} lines of postqueue -j output were not JSON"
        )
    return result


# ---------------------------------------------------------------------------------------------
# system
# ---------------------------------------------------------------------------------------------


def system_part(raw, master=None):
    """Rename :func:`_sysinfo.collect_system` output into the baseline's names."""
    fs = raw.get("filesystem")
    process = (raw.get("nofile") or {}).get("process")
    return {
        "cpu": raw.get("cpu"),
        "load": raw.get("load"),
        "memory": raw.get("memory"),
        "queue_fs": fs,
        "disk_io": raw.get("disk_io"),
        "master_nofile": (
            {"pid": master, "soft": process.get("soft"), "hard": process.get("hard")}
            if process
            else None
        ),
        "container": raw.get("container"),
    }


def collect_system(run, warnings, queue_directory, sample_seconds=1.0, root="/"):
    path = queue_directory or "/var/spool/postfix"
    master = _sysinfo.read_master_pid(path, root)
    try:
        raw = _sysinfo.collect_system(
            path=path, root=root, run=run, sample_seconds=sample_seconds, pid=master
        )
    except (OSError, ValueError) as exc:
        warnings.append(f"system: {exc}")
        return None
    part = system_part(raw, master)
    if part["queue_fs"] is None:
        warnings.append(f"system: queue directory {path} not found")
    elif part["queue_fs"].get("device") is None:
        warnings.append(
            "system: no block device behind {} ({} on {}): no rotational flag, no disk I/O".format(
                path, part["queue_fs"].get("fstype"), part["queue_fs"].get("source")
            )
        )
    elif sample_seconds and part["disk_io"] is None:
        warnings.append("system: {} is not in /proc/diskstats".format(part["queue_fs"]["device"]))
    if master is None:
        warnings.append(
            "system: Postfix master is not running (no live PID in master.pid): no open-file limits"
        )
    elif part["master_nofile"] is None:
        warnings.append(f"system: cannot read /proc/{master}/limits")
    return part


# ---------------------------------------------------------------------------------------------
# mail (log files or journal)
# ---------------------------------------------------------------------------------------------

_ROTATED = re.compile(r"\.(\d+)(\.gz)?$")


def rotated_siblings(base, exists=os.path.exists, listing=glob.glob):
    """``base`` and its rotated copies (``base.1``, ``base.2.gz``, ``base.1.gz`` ...), oldest
    first, existing files only."""
    found = []
    for path in listing(glob.escape(base) + ".*"):
        m = _ROTATED.search(path[len(base) :])
        if m and path[len(base) :] == m.group(0):
            found.append((int(m.group(1)), path))
    ordered = [path for _n, path in sorted(found, reverse=True)]
    if exists(base):
        ordered.append(base)
    return ordered


def default_log_paths(maillog_file=None, exists=os.path.exists, listing=glob.glob):
    bases = list(DEFAULT_LOGS)
    if (
        maillog_file and maillog_file.startswith("/") and not maillog_file.startswith("/dev/")
    ) and maillog_file not in bases:
        bases.append(maillog_file)
    paths = []
    for base in bases:
        for path in rotated_siblings(base, exists, listing):
            if path not in paths:
                paths.append(path)
    return paths


def collect_mail(
    run,
    warnings,
    *,
    log_paths=None,
    log_source="auto",
    since=None,
    until=None,
    maillog_file=None,
    syslog_name=None,
    now=None,
):
    """Parse the log; returns the ``mail`` part or ``None`` when no log could be read."""
    now = time.time() if now is None else now
    names = [b"postfix"]
    if syslog_name and not syslog_name.startswith("postfix") and "$" not in syslog_name:
        names.append(syslog_name.encode())
    parser = _maillog.MailLogParser(since=since, until=until, syslog_names=names, now=now)
    source = None
    if log_source in ("auto", "files"):
        paths = list(log_paths) if log_paths else default_log_paths(maillog_file)
        if _read_files(parser, paths, since, warnings):
            source = "files"
        elif log_source == "files":
            warnings.append(
                "mail: no log file could be read (%s)" % (", ".join(paths) or "none found")
            )
    if (
        source is None
        and log_source in ("auto", "journal")
        and _read_journal(run, parser, since, until, warnings)
    ):
        source = "journal"
    if source is None:
        if log_source == "auto":
            warnings.append("mail: no Postfix log found (files or journal)")
        return None
    result = parser.result()
    result["sources"]["source"] = source
    if not parser.lines_recognised and not parser.lines_outside:
        warnings.append("mail: the log holds no Postfix lines")
    elif not parser.lines_in_window:
        warnings.append("mail: no Postfix lines in the window")
    return result


def _read_files(parser, paths, since, warnings):
    read = 0
    for path in paths:
        try:
            if since is not None and os.stat(path).st_mtime < since:
                # last written before the window started: nothing in it can count
                continue
            parser.feed_path(path)
            read += 1
        except OSError as exc:
            warnings.append(f"mail: cannot read {path}: {exc.strerror or exc}")
        except EOFError as exc:  # a truncated .gz: keep what was read
            warnings.append(f"mail: {path} is truncated: {exc}")
            read += 1
    if not read and paths and since is not None and all(_older(p, since) for p in paths):
        warnings.append("mail: every log file was last written before the window started")
        return 0
    return read


def _older(path, since):
    try:
        return os.stat(path).st_mtime < since
    except OSError:
        return False


def _read_journal(run, parser, since, until, warnings):
    argv = ["journalctl", "-o", "short-iso", "--no-pager", "-q", "SYSLOG_FACILITY=2"]
    if since is not None:
        argv.append(f"--since=@{int(since)}")
    if until is not None:
        argv.append(f"--until=@{int(until)}")
    rc, out, err = run(argv, binary=True)
    if rc == 127:
        warnings.append("mail: no log file and no journalctl")
        return False
    if rc != 0:
        text = err.decode("utf-8", "replace") if isinstance(err, bytes) else err
        warnings.append("mail: journalctl failed (rc={}): {}".format(rc, (text or "").strip()))
        return False
    if isinstance(out, str):
        out = out.encode("utf-8", "surrogateescape")
    parser.begin_source()
    parser.feed(out if out.endswith(b"\n") or not out else out + b"\n")
    parser.end_source()
    parser.files.append({"path": "journal", "lines": parser.lines_read, "bytes": len(out)})
    return True


# ---------------------------------------------------------------------------------------------
# everything
# ---------------------------------------------------------------------------------------------


def collect(
    run,
    *,
    parts=PARTS,
    log_paths=None,
    log_source="auto",
    since="24h",
    until=None,
    sample_seconds=1.0,
    now=None,
    root="/",
):
    """The whole baseline: ``(baseline, warnings)``; a part that cannot be measured is ``None``.

    Raises ``ValueError`` for a ``since``/``until`` that cannot be read.
    """
    now = time.time() if now is None else now
    warnings = []
    since_epoch = _maillog.parse_time(since, now) if since is not None else None
    until_epoch = _maillog.parse_time(until, now) if until is not None else None
    if since_epoch is not None and until_epoch is not None and until_epoch <= since_epoch:
        raise ValueError(f"until ({until}) must be later than since ({since})")
    # schema: the layout sizing_info reads (_sizing.read_baseline); it changes when a key it
    # reads moves, so a stored baseline is never misread by a later collection.
    baseline = {
        "schema": BASELINE_SCHEMA,
        "measured_at": _maillog.iso_time(now),
        "parts": list(parts),
    }
    postfix = collect_postfix(run, warnings)
    params = (postfix or {}).get("parameters", {})
    if "postfix" in parts:
        baseline["postfix"] = postfix
    if "mail" in parts:
        baseline["mail"] = collect_mail(
            run,
            warnings,
            log_paths=log_paths,
            log_source=log_source,
            since=since_epoch,
            until=until_epoch,
            maillog_file=params.get("maillog_file"),
            syslog_name=params.get("syslog_name"),
            now=now,
        )
        if baseline["mail"] is not None:
            baseline["mail"]["window"] = {
                "since": _maillog.iso_time(since_epoch),
                "until": _maillog.iso_time(until_epoch),
                "requested_since": since,
                "requested_until": until,
            }
    if "queue" in parts:
        baseline["queue"] = collect_queue(run, warnings, now)
    if "system" in parts:
        baseline["system"] = collect_system(
            run, warnings, params.get("queue_directory"), sample_seconds, root
        )
    return baseline, warnings


def measured_anything(baseline):
    return any(baseline.get(part) is not None for part in PARTS)
