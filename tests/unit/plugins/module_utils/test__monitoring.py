# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the monitoring checks: every check, the spike rule, the once-per-condition
state machine and the textfile, with real ``postqueue -j`` output and real Postfix logs."""

from __future__ import annotations

import json
import os
import re

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils import _monitoring as m
from ansible_collections.sbs.postfix.plugins.module_utils import _postqueue

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, "..", "..", "fixtures")
MAILLOG = os.path.join(FIXTURES, "maillog")
SYSINFO = os.path.join(FIXTURES, "sysinfo", "vm-2cpu-24g")
NOW = 1795876000.0  # 2026-11-28T14:26:40Z, shortly after the fixtures were captured
CFG = m.settings({})
ENDDATE = "notAfter=Dec 10 12:00:00 2026 GMT\n"  # 11.9 days after NOW


def _fixture(*parts, mode="r"):
    with open(os.path.join(*parts), mode) as handle:
        return handle.read()


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def _real_queue():
    return _postqueue.parse_postqueue_json(_fixture(MAILLOG, "postqueue-j-deb12.json"), NOW)


def _by_check(results):
    return {r["check"]: r for r in results}


# ------------------------------------------------------------------------------ queue


def test_queue_checks_on_real_postqueue_output():
    # 6 deferred messages and 1 held: 7 in all
    queue = _real_queue()
    cfg = m.settings(
        {"queue_total_max": 6, "queue_deferred_max": 6, "deferred_oldest_max_seconds": 10**9}
    )
    got = _by_check(m.check_queue(queue, cfg))
    assert got["queue_total"]["status"] == "firing"
    assert got["queue_total"]["value"] == 7
    assert got["queue_deferred"]["status"] == "ok"
    assert got["queue_deferred"]["value"] == 6
    assert got["deferred_oldest"]["status"] == "ok"
    assert "7 messages, above the threshold 6 messages" in got["queue_total"]["message"]


def test_deferred_oldest_fires_with_a_low_threshold():
    queue = _real_queue()
    oldest = queue["deferred"]["oldest_age_seconds"]
    assert oldest > 0
    cfg = m.settings({"deferred_oldest_max_seconds": oldest - 1})
    got = _by_check(m.check_queue(queue, cfg))
    assert got["deferred_oldest"]["status"] == "firing"
    assert got["deferred_oldest"]["value"] == oldest


def test_empty_queue_is_ok_and_unread_queue_is_unknown():
    empty = _postqueue.parse_postqueue_json("", NOW)
    assert {r["status"] for r in m.check_queue(empty, CFG)} == {"ok"}
    assert {r["status"] for r in m.check_queue(None, CFG)} == {"unknown"}


# ------------------------------------------------------------------------- file system


@pytest.mark.parametrize(
    ("used", "inodes", "space_status", "inode_status"),
    [
        (80.0, 80.0, "ok", "ok"),
        (80.1, 12.0, "firing", "ok"),
        (10.0, 95.5, "ok", "firing"),
        (50.0, None, "ok", "unknown"),
    ],
)
def test_filesystem_thresholds(used, inodes, space_status, inode_status):
    got = _by_check(m.check_filesystem({"used_percent": used, "inodes_used_percent": inodes}, CFG))
    assert got["queue_fs_space"]["status"] == space_status
    assert got["queue_fs_inodes"]["status"] == inode_status


def test_filesystem_figures_from_statvfs():
    class Vfs:
        f_frsize = 4096
        f_bsize = 4096
        f_blocks = 1000
        f_bfree = 150
        f_bavail = 100
        f_files = 1000
        f_ffree = 900

    fs = m._sysinfo.statvfs_summary(Vfs())
    got = _by_check(m.check_filesystem(fs, CFG))
    # used 850 blocks of 850 + 100 available, as df computes it: 89.5 %
    assert got["queue_fs_space"]["value"] == 89.5
    assert got["queue_fs_space"]["status"] == "firing"
    assert got["queue_fs_inodes"]["value"] == 10.0


# ---------------------------------------------------------------------------- master


def test_master_running_and_not():
    assert m.check_master(4242)["status"] == "ok"
    down = m.check_master(None)
    assert down["status"] == "firing"
    assert "not running" in down["message"]


# ----------------------------------------------------------------------------- spikes


def test_spike_rule_against_the_time_weighted_average():
    history = [
        {"minutes": 5, "bounced": 1},
        {"minutes": 10, "bounced": 2},
        {"minutes": 5, "bounced": 1},
    ]
    # average 4 / 20 min = 0.2/min; 12 in 5 min = 2.4/min > 3 x 0.2
    assert m.spike(12, 5, history, factor=3.0, floor=10, key="bounced") == (True, 2.4, 0.2)
    # below the floor: never a spike, however quiet the history
    assert m.spike(9, 5, [], factor=3.0, floor=10, key="bounced")[0] is False
    # at the floor with no history: the floor alone decides
    assert m.spike(10, 5, [], factor=3.0, floor=10, key="bounced")[0] is True
    # a busy history: 12 in 5 min is not three times 2/min
    busy = [{"minutes": 5, "bounced": 10}] * 6
    assert m.spike(12, 5, busy, factor=3.0, floor=10, key="bounced")[0] is False
    # exactly three times the average is not above it
    assert m.spike(30, 5, busy, factor=3.0, floor=10, key="bounced")[0] is False
    assert m.spike(31, 5, busy, factor=3.0, floor=10, key="bounced")[0] is True


def test_spike_reads_only_the_last_spike_intervals():
    old_busy = [{"t": 1, "minutes": 5, "deferred": 100}] * 5
    quiet = [{"t": 2, "minutes": 5, "deferred": 0}] * 2
    cfg = m.settings({"spike_intervals": 2})
    got = _by_check(
        m.check_spikes({"minutes": 5, "deferred": 20, "bounced": 0}, old_busy + quiet, cfg)
    )
    assert got["deferral_spike"]["status"] == "firing"
    assert got["bounce_spike"]["status"] == "ok"
    cfg = m.settings({"spike_intervals": 7})
    got = _by_check(
        m.check_spikes({"minutes": 5, "deferred": 20, "bounced": 0}, old_busy + quiet, cfg)
    )
    assert got["deferral_spike"]["status"] == "ok"


def test_spike_unknown_without_a_log():
    assert {r["status"] for r in m.check_spikes(None, [], CFG)} == {"unknown"}


# ----------------------------------------------------------------------- certificates


def test_parse_openssl_enddate():
    assert m.parse_enddate(ENDDATE) == 1796904000
    # openssl pads a one-digit day with a space
    assert m.parse_enddate("notAfter=Mar  5 08:00:00 2027 GMT") == 1804233600
    assert m.parse_enddate("unable to load certificate") is None


def test_certificate_files_prefer_the_chain_files():
    params = {
        "smtpd_tls_chain_files": "/etc/ssl/a.pem, /etc/ssl/b.pem",
        "smtpd_tls_cert_file": "/etc/ssl/certs/ssl-cert-snakeoil.pem",
    }
    assert m.certificate_files(params) == ["/etc/ssl/a.pem", "/etc/ssl/b.pem"]
    del params["smtpd_tls_chain_files"]
    params["smtpd_tls_eccert_file"] = ""
    assert m.certificate_files(params) == ["/etc/ssl/certs/ssl-cert-snakeoil.pem"]
    assert m.certificate_files({"smtpd_tls_cert_file": ""}) == []


def test_certificate_expiry_uses_the_first_to_expire():
    certs = [
        {"path": "/a.pem", "not_after": NOW + 90 * 86400, "error": None},
        {"path": "/b.pem", "not_after": m.parse_enddate(ENDDATE), "error": None},
        {"path": "/c.pem", "not_after": None, "error": "unable to load certificate"},
    ]
    got = m.check_certificates(certs, NOW, m.settings({"tls_expiry_days": 14}))
    assert got["status"] == "firing"
    assert got["value"] == 11.9
    assert "/b.pem expires in 11.9 days" in got["message"]
    assert m.check_certificates(certs, NOW, m.settings({"tls_expiry_days": 11}))["status"] == "ok"
    expired = m.check_certificates([{"path": "/x", "not_after": NOW - 1}], NOW, CFG)
    assert expired["status"] == "firing"
    assert "expired" in expired["message"]
    assert m.check_certificates([], NOW, CFG)["status"] == "unknown"


# ------------------------------------------------------------------------- log silence


def test_log_silent_only_on_a_host_that_carries_mail():
    cfg = m.settings({"log_silent_seconds": 3600, "log_silent_min_messages": 10})
    busy = [{"t": NOW - 7000, "minutes": 5, "received": 12}]
    assert m.check_log_silent(NOW - 3600, busy, NOW, False, cfg)["status"] == "firing"
    assert m.check_log_silent(NOW - 3599, busy, NOW, False, cfg)["status"] == "ok"
    quiet = [{"t": NOW - 7000, "minutes": 5, "received": 9}]
    assert m.check_log_silent(NOW - 7200, quiet, NOW, False, cfg)["status"] == "ok"
    # once firing it stays so after the history has emptied, until the log speaks again
    assert m.check_log_silent(NOW - 90000, [], NOW, True, cfg)["status"] == "firing"
    assert m.check_log_silent(NOW - 10, [], NOW, True, cfg)["status"] == "ok"
    assert m.check_log_silent(None, busy, NOW, False, cfg)["status"] == "unknown"


# --------------------------------------------------------------------- state machine


def test_alert_once_then_nothing_then_clear_once():
    firing = [m.result("queue_total", "firing", 3, 2, unit="messages", message="3 > 2")]
    active, events = m.transitions({}, firing, NOW)
    assert [(e["kind"], e["check"]) for e in events] == [("alert", "queue_total")]
    assert active["queue_total"]["since"] == NOW
    # still firing five minutes later: nothing is sent again
    again, events = m.transitions(active, firing, NOW + 300)
    assert events == []
    assert again == active
    # unknown (the queue could not be read) changes nothing
    unknown = [m.result("queue_total", "unknown")]
    kept, events = m.transitions(again, unknown, NOW + 600)
    assert events == []
    assert kept == active
    ok = [m.result("queue_total", "ok", 0, 2, unit="messages", message="0 <= 2")]
    cleared, events = m.transitions(kept, ok, NOW + 900)
    assert [(e["kind"], e["since"]) for e in events] == [("clear", NOW)]
    assert cleared == {}
    # and ok stays quiet
    assert m.transitions(cleared, ok, NOW + 1200) == ({}, [])


def test_state_survives_its_file_and_a_broken_file_starts_afresh():
    state = m.empty_state()
    state["active"] = {"master_down": {"since": NOW, "message": "x"}}
    assert m.load_state(m.dump_state(state)) == state
    assert m.load_state("{not json") == m.empty_state()
    assert m.load_state(json.dumps({"version": 99})) == m.empty_state()
    assert m.load_state("") == m.empty_state()


def test_window_runs_from_the_previous_run():
    assert m.window(m.empty_state(), NOW, CFG) == (int(NOW) - 300, int(NOW))
    state = dict(m.empty_state(), last_run=int(NOW) - 290)
    assert m.window(state, NOW + 0.7, CFG) == (int(NOW) - 290, int(NOW))
    state = dict(m.empty_state(), last_run=int(NOW) - 10 * 86400)
    assert m.window(state, NOW, CFG) == (int(NOW) - 86400, int(NOW))


# ------------------------------------------------------------------ a whole run, faked host


@pytest.fixture
def host(tmp_path):
    root = tmp_path / "root"
    _write(str(root / "proc/self/mountinfo"), _fixture(SYSINFO, "mountinfo"))
    spool = tmp_path / "spool"
    _write(str(spool / "pid" / "master.pid"), "      4242\n")
    _write(str(root / "proc/4242/comm"), "master\n")
    return {"root": str(root), "spool": str(spool)}


class FakeRun:
    """Answers like a Debian 12 host: real ``postqueue -j`` output, a certificate."""

    def __init__(self, spool, queue_text=None, journal=None):
        self.spool = spool
        self.queue_text = (
            _fixture(MAILLOG, "postqueue-j-deb12.json") if queue_text is None else queue_text
        )
        self.journal = journal
        self.calls = []

    def __call__(self, argv, binary=False):
        self.calls.append(list(argv))
        if argv[0] == "postconf":
            values = {"queue_directory": self.spool, "smtpd_tls_chain_files": "/etc/ssl/mx.pem"}
            return 0, "".join(f"{n} = {values.get(n, '')}\n" for n in argv[2:]), ""
        if argv[0] == "postqueue":
            return 0, self.queue_text, ""
        if argv[0] == "openssl":
            return 0, ENDDATE, ""
        if argv[0] == "journalctl":
            return (0, self.journal, b"") if self.journal is not None else (1, b"", b"no journal")
        return 127, "", f"{argv[0]}: command not found"


def test_a_whole_run_on_a_real_log_and_queue(host):
    log = os.path.join(MAILLOG, "deb12-postfix-3.7.log")
    # the window covers the whole fixture (classic stamps are local time)
    config = {
        "log_paths": [log],
        "log_source": "files",
        "max_window_seconds": 10**8,
        "queue_total_max": 6,
    }
    state = dict(m.empty_state(), last_run=int(NOW) - 5 * 86400)
    run = FakeRun(host["spool"])
    out = m.run_checks(run, state, NOW, config, root=host["root"])
    got = _by_check(out["results"])
    assert got["master_down"]["status"] == "ok"
    assert got["queue_total"]["status"] == "firing"
    # the parser's counts equal pflogsumm's Grand Totals of the same log (4 bounced, 32 deferrals)
    assert got["bounce_spike"]["value"] == 4
    assert got["deferral_spike"]["value"] == 32
    assert got["deferral_spike"]["status"] == "firing"
    assert got["bounce_spike"]["status"] == "ok"
    assert got["tls_expiry"]["status"] == "firing"
    assert ["openssl", "x509", "-noout", "-enddate", "-in", "/etc/ssl/mx.pem"] in run.calls
    assert [e["check"] for e in out["events"]] == ["queue_total", "deferral_spike", "tls_expiry"]
    assert out["journal"][0].startswith("ALERT queue_total: the mail queue is 7 messages")
    assert out["state"]["last_run"] == int(NOW)
    assert out["state"]["history"][-1]["received"] == 142
    assert out["state"]["last_log_line"] is not None
    # five minutes later the queue is the same and the log holds nothing new: the deferral
    # spike is over (said once), the queue and the certificate are not said again
    again = m.run_checks(run, out["state"], NOW + 300, config, root=host["root"])
    assert [(e["kind"], e["check"]) for e in again["events"]] == [("clear", "deferral_spike")]
    assert sorted(again["state"]["active"]) == ["queue_total", "tls_expiry"]
    assert len(again["state"]["history"]) == 2


def test_a_run_reads_the_journal_window_and_an_empty_queue(host):
    journal = _fixture(MAILLOG, "journal-short-iso-deb12.log", mode="rb")
    run = FakeRun(host["spool"], queue_text="", journal=journal)
    state = dict(m.empty_state(), last_run=int(NOW) - 3600)
    out = m.run_checks(run, state, NOW, {"log_source": "journal"}, root=host["root"])
    assert any(c[0] == "journalctl" and f"--since=@{int(NOW) - 3600}" in c for c in run.calls)
    interval = out["state"]["history"][-1]
    assert (interval["received"], interval["delivered"], interval["bounced"]) == (71, 79, 2)
    got = _by_check(out["results"])
    assert got["queue_total"]["status"] == "ok"
    assert got["bounce_spike"]["status"] == "ok"
    # the newest line of the fixture: 2026-11-28T14:22:16+0000
    assert out["state"]["last_log_line"] == 1795875736


def test_master_down_when_the_pid_is_stale(host):
    os.remove(os.path.join(host["root"], "proc/4242/comm"))
    os.rmdir(os.path.join(host["root"], "proc/4242"))
    out = m.run_checks(
        FakeRun(host["spool"], queue_text=""), m.empty_state(), NOW, {}, root=host["root"]
    )
    assert _by_check(out["results"])["master_down"]["status"] == "firing"
    assert out["events"][0]["check"] == "master_down"


# ------------------------------------------------------------------- what leaves the host


def test_mail_and_webhook_say_what_started_and_what_cleared():
    results = [
        m.result("queue_total", "firing", 3, 2, unit="messages", message="the mail queue is 3")
    ]
    events = [
        m._event("alert", results[0], NOW),
        m._event("clear", m.result("master_down", "ok"), NOW - 60),
    ]
    text = m.mail_message(
        "mx1", "root@mx1", ["ops@example.org", "b@example.org"], events, results=results, now=NOW
    )
    head, _sep, body = text.partition("\n\n")
    assert "To: ops@example.org, b@example.org" in head
    assert "Subject: [sbs.postfix] mx1: ALERT queue_total; CLEAR master_down" in head
    assert "Auto-Submitted: auto-generated" in head
    assert "ALERT queue_total: the mail queue is 3" in body
    assert m.mail_message("mx1", "root@mx1", ["a@b.c"], [], results=results, now=NOW) is None
    hook = json.loads(m.webhook_body("mx1", events, results, NOW))
    assert hook["firing"] == ["queue_total"]
    assert [e["kind"] for e in hook["events"]] == ["alert", "clear"]


_SAMPLE = re.compile(
    r'^[a-z_]+(\{([a-z_]+="[^"]*",?)+\})? -?[0-9.e+-]+$|^[a-z_]+(\{.*\})? (NaN|[+-]Inf)$'
)


def test_textfile_has_help_and_type_for_every_metric_and_valid_samples(host):
    out = m.run_checks(
        FakeRun(host["spool"]),
        m.empty_state(),
        NOW,
        {"log_source": "files", "log_paths": ["/nonexistent"]},
        root=host["root"],
    )
    text = out["metrics"]
    for name, kind, _help in m.METRICS:
        assert f"# HELP {name} " in text
        assert f"# TYPE {name} {kind}\n" in text
    for line in text.splitlines():
        if not line.startswith("#"):
            assert _SAMPLE.match(line), line
    assert 'sbs_postfix_queue_messages{queue="deferred"} 6\n' in text
    assert 'sbs_postfix_queue_messages{queue="total"} 7\n' in text
    assert "sbs_postfix_master_up 1\n" in text
    assert 'sbs_postfix_alert_threshold{check="queue_fs_space"} 80\n' in text
    assert "sbs_postfix_tls_certificate_expiry_timestamp_seconds 1796904000\n" in text
    # the log could not be read: no window figures, the spike checks are absent (unknown)
    assert "sbs_postfix_interval_messages{" not in text
    assert 'sbs_postfix_alert_firing{check="bounce_spike"}' not in text


def test_label_values_are_escaped():
    text = m.metrics_text({"sbs_postfix_alert_firing": [({"check": 'a"b\\c\nd'}, 1)]})
    assert 'sbs_postfix_alert_firing{check="a\\"b\\\\c\\nd"} 1' in text
