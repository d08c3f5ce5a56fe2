# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the baseline assembly: sources, parts, and a warning for every gap.

Commands are faked at the ``run`` boundary with real Postfix output; the system part reads a
fixture tree (``root``) instead of /proc.
"""

from __future__ import annotations

import gzip
import os
import shutil

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils import _baseline, _sizing

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, "..", "..", "fixtures")
MAILLOG = os.path.join(FIXTURES, "maillog")
SYSINFO = os.path.join(FIXTURES, "sysinfo", "vm-2cpu-24g")
NOW = 1795876000.0  # 2026-11-28T14:26:40Z, shortly after the fixtures were captured


def _fixture(*parts, mode="r"):
    with open(os.path.join(*parts), mode) as handle:
        return handle.read()


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


@pytest.fixture
def host(tmp_path):
    """A fake host: /proc files under ``root``, a queue directory with master.pid."""
    root = tmp_path / "root"
    for name in ("cpuinfo", "meminfo", "loadavg", "diskstats"):
        _write(str(root / "proc" / name), _fixture(SYSINFO, name))
    _write(str(root / "proc/self/cgroup"), "0::/\n")
    _write(str(root / "proc/self/mountinfo"), _fixture(SYSINFO, "mountinfo"))
    _write(str(root / "proc/4242/limits"), _fixture(SYSINFO, "limits"))
    spool = tmp_path / "spool"
    _write(str(spool / "pid" / "master.pid"), "      4242\n")
    return {"root": str(root), "spool": str(spool), "tmp": tmp_path}


class FakeRun:
    """``run(argv, binary=False)`` answering like a Debian 12 host."""

    def __init__(self, spool, journal=None, missing=(), fail=()):
        self.spool = spool
        self.journal = journal
        self.missing = set(missing)
        self.fail = set(fail)
        self.calls = []

    def __call__(self, argv, binary=False):
        self.calls.append(list(argv))
        name = argv[0]
        if name in self.missing:
            return 127, b"" if binary else "", f"{name}: command not found"
        if name in self.fail:
            return 1, b"" if binary else "", f"{name}: fatal: something broke"
        if name == "postconf" and argv[1:2] == ["-M"]:
            return 0, _fixture(FIXTURES, "postconf", "debian12-postconf-M.txt"), ""
        if name == "postconf":
            values = {
                "mail_version": "3.7.11",
                "queue_directory": self.spool,
                "maillog_file": "",
                "syslog_name": "${multi_instance_name?{$multi_instance_name}:{postfix}}",
                "default_process_limit": "100",
            }
            out = "".join("{} = {}\n".format(n, values.get(n, "x")) for n in argv[1:])
            return 0, out, ""
        if name == "postqueue":
            return 0, _fixture(MAILLOG, "postqueue-j-deb12.json"), ""
        if name == "journalctl":
            if self.journal is None:
                return 1, b"", b"No journal files were found."
            return 0, self.journal, b""
        if name == "systemd-detect-virt":
            return 0, "podman\n", ""
        return 1, "", f"unexpected command {argv}"


def _collect(host, run, **kwargs):
    kwargs.setdefault("since", "all")
    kwargs.setdefault("sample_seconds", 0)
    return _baseline.collect(run, now=NOW, root=host["root"], **kwargs)


def test_all_four_parts_from_a_real_log(host):
    run = FakeRun(host["spool"])
    log = os.path.join(MAILLOG, "deb12-postfix-3.7.log")
    baseline, warnings = _collect(host, run, log_paths=[log])
    assert baseline["schema"] == 1
    assert baseline["mail"]["received"] == 142
    assert baseline["mail"]["delivered"] == 162
    assert baseline["mail"]["sources"]["source"] == "files"
    assert baseline["mail"]["sources"]["files"][0]["lines"] == 1152
    assert baseline["mail"]["window"]["since"] is None
    assert baseline["queue"]["deferred"]["count"] == 6
    assert baseline["postfix"]["version"] == "3.7.11"
    assert baseline["postfix"]["default_process_limit"] == 100
    assert "smtp/inet" in baseline["postfix"]["services"]
    system = baseline["system"]
    assert system["cpu"]["online"] == 2
    assert system["memory"]["total"] > 0
    assert system["master_nofile"]["pid"] == 4242
    assert system["master_nofile"]["hard"] is not None
    assert system["queue_fs"]["path"] == host["spool"]
    assert system["container"]["type"] == "podman"
    # the fake root has no /sys/dev/block for the tmp file system: that gap is reported
    assert all(w.startswith("system:") for w in warnings), warnings


def test_sizing_reads_every_figure_of_a_real_baseline(host):
    # The keys sizing reads are the keys baseline_info writes: no figure is missing or renamed.
    baseline, _warnings = _collect(
        host, FakeRun(host["spool"]), log_paths=[os.path.join(MAILLOG, "deb12-postfix-3.7.log")]
    )
    assert baseline["schema"] == _sizing.BASELINE_SCHEMA == 1
    summary, problems = _sizing.read_baseline(baseline, "tuning_baseline", now=NOW)
    assert problems == []
    assert summary["used"] is True
    figures = summary["figures"]
    mail = baseline["mail"]
    assert figures["messages"] == summary["messages"] == mail["received"] == 142
    assert figures["peak_concurrency"] == mail["sessions"]["peak_concurrency"]
    assert figures["peak_messages_per_minute"] == mail["volume"]["peak_messages_per_minute"]
    assert figures["in_qmgr_p95"] == mail["latency"]["delays"]["in_qmgr"]["p95"]
    smtp = mail["latency"]["by_transport"]["smtp"]["delays"]["in_qmgr"]
    assert (figures["smtp_deliveries"], figures["smtp_in_qmgr_p95"]) == (
        smtp["count"],
        smtp["p95"],
    )
    assert figures["queue_oldest_age_seconds"] == baseline["queue"]["oldest_age_seconds"]
    assert None not in (figures["size_average"], figures["delay_p95"], figures["deferral_rate"])


def test_window_default_24h_skips_files_written_before_it(host, tmp_path):
    old = tmp_path / "mail.log.1"
    shutil.copy(os.path.join(MAILLOG, "deb12-postfix-3.7.log"), old)
    os.utime(old, (NOW - 3 * 86400, NOW - 3 * 86400))
    run = FakeRun(host["spool"])
    baseline, warnings = _collect(host, run, log_paths=[str(old)], since="24h", parts=["mail"])
    assert baseline["mail"] is None
    assert "mail: every log file was last written before the window started" in warnings
    assert [c[0] for c in run.calls if c[0] == "journalctl"] == ["journalctl"]


def test_missing_log_and_no_journal_still_measures_the_rest(host, tmp_path):
    run = FakeRun(host["spool"], missing={"journalctl"})
    baseline, warnings = _collect(host, run, log_paths=[str(tmp_path / "nope.log")])
    assert baseline["mail"] is None
    assert any(w.startswith("mail: cannot read") for w in warnings)
    assert "mail: no log file and no journalctl" in warnings
    assert baseline["queue"] is not None and baseline["system"] is not None
    assert _baseline.measured_anything(baseline)


def test_journal_when_no_file(host, tmp_path):
    journal = _fixture(MAILLOG, "journal-short-iso-deb12.log", mode="rb")
    run = FakeRun(host["spool"], journal=journal)
    baseline, _warnings = _collect(
        host, run, log_paths=[str(tmp_path / "nope.log")], parts=["mail"]
    )
    assert baseline["mail"]["sources"]["source"] == "journal"
    assert baseline["mail"]["received"] == 71
    argv = next(c for c in run.calls if c[0] == "journalctl")
    assert "SYSLOG_FACILITY=2" in argv and "-o" in argv


def test_journal_window_is_passed_to_journalctl(host):
    run = FakeRun(host["spool"], journal=b"")
    baseline, warnings = _collect(
        host, run, log_source="journal", since="2h", until="1h", parts=["mail"]
    )
    argv = next(c for c in run.calls if c[0] == "journalctl")
    assert f"--since=@{NOW - 7200:.0f}" in argv
    assert f"--until=@{NOW - 3600:.0f}" in argv
    assert "mail: the log holds no Postfix lines" in warnings
    assert baseline["mail"]["received"] == 0


def test_log_with_no_postfix_lines(host, tmp_path):
    log = tmp_path / "mail.log"
    log.write_text("Nov 28 10:00:00 mx dovecot: imap-login: Login\n")
    baseline, warnings = _collect(host, FakeRun(host["spool"]), log_paths=[str(log)])
    assert baseline["mail"]["sources"]["lines_read"] == 1
    assert "mail: the log holds no Postfix lines" in warnings


def test_window_with_no_data(host):
    log = os.path.join(MAILLOG, "deb12-postfix-3.7.log")
    baseline, warnings = _collect(
        host,
        FakeRun(host["spool"]),
        log_paths=[log],
        since="2020-01-01",
        until="2020-01-02",
    )
    assert baseline["mail"]["received"] == 0
    assert "mail: no Postfix lines in the window" in warnings


def test_postqueue_missing_or_failing(host):
    for fault, message in (
        ("missing", "queue: postqueue is not installed"),
        ("fail", "failed"),
    ):
        run = FakeRun(host["spool"], **{fault: {"postqueue"}})
        baseline, warnings = _collect(host, run, parts=["queue"])
        assert baseline["queue"] is None
        assert any(message in w for w in warnings), warnings


def test_postqueue_too_old_for_json(host):
    class Old(FakeRun):
        def __call__(self, argv, binary=False):
            if argv[0] == "postqueue":
                return 64, "", "postqueue: invalid option -- 'j'"
            return super().__call__(argv, binary)

    _baseline_result, warnings = _collect(host, Old(host["spool"]), parts=["queue"])
    assert "queue: postqueue -j needs Postfix 3.1 or later" in warnings


def test_nothing_measurable(host, tmp_path):
    run = FakeRun(host["spool"], missing={"postqueue", "postconf", "journalctl"})
    baseline, warnings = _collect(
        host,
        run,
        log_paths=[str(tmp_path / "nope")],
        parts=["mail", "queue", "postfix"],
    )
    assert not _baseline.measured_anything(baseline)
    assert len(warnings) >= 3


def test_postconf_of_an_older_postfix_retried_name_by_name(host):
    class Older(FakeRun):
        def __call__(self, argv, binary=False):
            if argv[0] == "postconf" and len(argv) > 2 and argv[1] != "-M":
                return 1, "", "postconf: warning: smtputf8_enable: unknown parameter"
            if argv[0] == "postconf" and argv[1:] == ["maillog_file"]:
                return 1, "", "postconf: warning: maillog_file: unknown parameter"
            return super().__call__(argv, binary)

    baseline, warnings = _collect(host, Older(host["spool"]), parts=["postfix"])
    assert baseline["postfix"]["version"] == "3.7.11"
    assert "postfix: this Postfix does not know maillog_file" in warnings


def test_bad_since_is_a_value_error(host):
    with pytest.raises(ValueError, match="cannot read time"):
        _collect(host, FakeRun(host["spool"]), since="last tuesday")
    with pytest.raises(ValueError, match="must be later"):
        _collect(host, FakeRun(host["spool"]), since="1h", until="2h")


def test_rotated_siblings_oldest_first(tmp_path):
    base = tmp_path / "mail.log"
    for name in (
        "mail.log",
        "mail.log.1",
        "mail.log.2.gz",
        "mail.log.10.gz",
        "mail.log.old",
    ):
        (tmp_path / name).write_bytes(b"")
    names = [os.path.basename(p) for p in _baseline.rotated_siblings(str(base))]
    assert names == ["mail.log.10.gz", "mail.log.2.gz", "mail.log.1", "mail.log"]


def test_default_paths_include_maillog_file(tmp_path):
    own = tmp_path / "postfix.log"
    own.write_bytes(b"")
    paths = _baseline.default_log_paths(str(own))
    assert paths[-1] == str(own)
    assert _baseline.default_log_paths("/dev/stdout") == _baseline.default_log_paths(None)


def test_rotated_gz_and_plain_read_in_order(host, tmp_path):
    text = _fixture(MAILLOG, "deb12-postfix-3.7.log", mode="rb")
    lines = text.splitlines(keepends=True)
    half = len(lines) // 2
    with gzip.open(tmp_path / "mail.log.1.gz", "wb") as handle:
        handle.write(b"".join(lines[:half]))
    (tmp_path / "mail.log").write_bytes(b"".join(lines[half:]))
    paths = _baseline.rotated_siblings(str(tmp_path / "mail.log"))
    split, _warnings = _collect(host, FakeRun(host["spool"]), log_paths=paths, parts=["mail"])
    whole, _warnings = _collect(
        host,
        FakeRun(host["spool"]),
        log_paths=[os.path.join(MAILLOG, "deb12-postfix-3.7.log")],
        parts=["mail"],
    )
    for key in (
        "received",
        "delivered",
        "bytes_received",
        "bytes_delivered",
        "deferred",
    ):
        assert split["mail"][key] == whole["mail"][key]
