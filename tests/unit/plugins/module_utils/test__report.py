# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the evidence report (plugins/module_utils/_report.py).

The stored baselines in tests/unit/fixtures/report/stored/ have the shape baseline_info
returns (see that directory's README.md): mx1 tuned with a higher delay= and more throughput,
mx2 with no mail on a small, full, rotational host, mx3 measured once, broken (newest file cut
short) and future (newest file in schema 2).
"""

from __future__ import annotations

import copy
import json
import os
import pathlib
import re
import shutil

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils import _report

BASELINES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "report" / "stored"
MX1 = "mx1.example.net"
MX2 = "mx2.example.net"


def _load(host, name):
    return json.loads((BASELINES / host / f"{name}.json").read_text())


def _pair(host, before, after):
    return {
        role: {
            "name": f"{name}.json",
            "path": str(BASELINES / host / f"{name}.json"),
            "document": _load(host, name),
        }
        for role, name in (("before", before), ("after", after))
    }


@pytest.fixture(scope="module")
def mx1():
    return _report.host_report(MX1, _pair(MX1, "20261128T090000Z", "20261205T090000Z"))


@pytest.fixture(scope="module")
def mx2():
    return _report.host_report(MX2, _pair(MX2, "20261128T091500Z", "20261205T091500Z"))


def _row(report, key):
    (row,) = [row for row in report["figures"] if row["figure"] == key]
    return row


# ---------------------------------------------------------------------------------------------
# reading and checking
# ---------------------------------------------------------------------------------------------


def test_a_stored_baseline_without_schema_is_schema_1():
    path = BASELINES / MX1 / "20261128T090000Z.json"
    document, problem = _report.read_document(str(path), MX1)
    assert problem is None
    assert "schema" not in document
    assert document["baseline"]["measured_at"] == "2026-11-28T09:00:00Z"


def test_a_cut_short_file_is_not_json_and_says_what_to_do():
    path = BASELINES / "broken.example.net" / "20261205T094500Z.json"
    document, problem = _report.read_document(str(path), "broken.example.net")
    assert document is None
    assert problem.startswith(f"broken.example.net: {path} is not JSON (line ")
    assert "move it out of the host's directory or choose other files with before/after" in problem


def test_an_unknown_schema_is_refused_with_a_clear_message():
    path = BASELINES / "future.example.net" / "20261205T100000Z.json"
    document, problem = _report.read_document(str(path), "future.example.net")
    assert document is None
    assert problem == (
        f"future.example.net: {path} has schema 2 (written by a newer sbs.postfix); this "
        "sbs.postfix reads schema 1 only: update the sbs.postfix collection on the controller, "
        "or choose other files with before/after"
    )


def _good():
    return _load(MX1, "20261205T090000Z")


def _without(key):
    document = _good()
    del document[key]
    return document


def _with(path, value):
    document = _good()
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return document


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([1, 2], "holds a JSON list, not a stored baseline"),
        ("text", "holds a JSON str, not a stored baseline"),
        (_with(["schema"], "1"), "schema must be a whole number, got '1'"),
        (_with(["schema"], True), "schema must be a whole number, got True"),
        (_with(["schema"], 0), "has schema 0; this sbs.postfix reads schema 1 only"),
        (_without("host"), "has no 'host'"),
        (_without("baseline"), "has no 'baseline' object"),
        (_with(["baseline", "mail"], "lots"), "'baseline.mail' must be an object or null"),
        (_with(["baseline", "warnings"], "none"), "'baseline.warnings' must be a list of texts"),
        (_with(["baseline", "measured_at"], 5), "has no 'baseline.measured_at' time"),
        (
            _with(["baseline"], {"measured_at": "x", "mail": None, "queue": None}),
            "measured none of mail, queue, system, postfix",
        ),
        (_with(["sizing"], "big"), "'sizing' must be a list of {parameter, value, reason}"),
        (_with(["sizing"], [{"value": 1}]), "'sizing' must be a list"),
        (_with(["sizing"], {"a": 1}), "'sizing' must be a list"),
        (_with(["sizing"], {"a": {"reason": 5}}), "'sizing' must be a list"),
        (_with(["sender"], [1]), "'sender' must be an object or null"),
    ],
)
def test_wrong_shapes_are_named(document, expected):
    problems = _report.document_problems(document)
    assert any(expected in problem for problem in problems), problems


def test_both_sizing_forms_are_accepted():
    listed = _good()
    assert _report.document_problems(listed) == []
    as_dict = _with(["sizing"], {"default_process_limit": {"value": 250, "reason": "why"}})
    assert _report.document_problems(as_dict) == []
    assert _report.sizing_decisions(as_dict) == {
        "default_process_limit": {"value": 250, "reason": "why"}
    }
    assert _report.sizing_decisions(listed)["smtpd_maxproc"]["value"] == 250
    assert _report.sizing_decisions(_without("sizing")) == {}


def test_wrong_shape_problem_says_what_to_do(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"host": "mx1", "baseline": []}))
    _document, problem = _report.read_document(str(path), "mx1")
    assert problem == (
        f"mx1: {path} has no 'baseline' object (baseline_info's result); move it out of the "
        "host's directory or choose other files with before/after"
    )


def test_a_baseline_of_another_host_is_refused(tmp_path):
    path = tmp_path / "x.json"
    shutil.copy(BASELINES / MX1 / "20261205T090000Z.json", path)
    _document, problem = _report.read_document(str(path), "mx9")
    assert "holds the baseline of 'mx1.example.net', not of 'mx9'" in problem


def test_unreadable_and_binary_files(tmp_path):
    _document, problem = _report.read_document(str(tmp_path), "mx1")
    assert problem.startswith(f"mx1: cannot read {tmp_path}: ")
    binary = tmp_path / "b.json"
    binary.write_bytes(b"\xff\xfe\x00")
    _document, problem = _report.read_document(str(binary), "mx1")
    assert "is not UTF-8 text" in problem


# ---------------------------------------------------------------------------------------------
# choosing the pair
# ---------------------------------------------------------------------------------------------

NAMES = ["20261120T090000Z.json", "20261128T090000Z.json", "20261205T090000Z.json"]


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, None, ("20261128T090000Z.json", "20261205T090000Z.json")),
        ("20261120T090000Z", None, ("20261120T090000Z.json", "20261205T090000Z.json")),
        ("20261120T090000Z.json", None, ("20261120T090000Z.json", "20261205T090000Z.json")),
        ("20261120", "20261128", ("20261120T090000Z.json", "20261128T090000Z.json")),
        (None, "20261128", ("20261120T090000Z.json", "20261128T090000Z.json")),
    ],
)
def test_choose_pair(before, after, expected):
    assert _report.choose_pair("mx1", "/b/mx1", NAMES, before, after) == (expected, None)


def test_choose_pair_skips_a_previous_runs_after_for_before():
    # site.yml stores a before and an after per run; a run that measured no before of its own
    # (site_baseline: stored) compares with the newest baseline measured before a change.
    names = [*NAMES, "20261206T090000Z.json"]
    measured_after = {"20261205T090000Z.json", "20261206T090000Z.json"}
    pair, problem = _report.choose_pair(
        "mx1", "/b/mx1", names, is_after=lambda name: name in measured_after
    )
    assert (pair, problem) == (("20261128T090000Z.json", "20261206T090000Z.json"), None)
    # Only afters older than after: the newest of them, rather than no report.
    pair = _report.choose_pair("mx1", "/b/mx1", names, is_after=lambda name: True)[0]
    assert pair == ("20261205T090000Z.json", "20261206T090000Z.json")


def test_measured_after_a_change(tmp_path):
    after = tmp_path / "a.json"
    after.write_text(json.dumps({"schema": 1, "phase": "after", "baseline": {}}, indent=2))
    before = tmp_path / "b.json"
    before.write_text(json.dumps({"schema": 1, "phase": "before", "baseline": {}}))
    assert _report.measured_after_a_change(str(after))
    assert not _report.measured_after_a_change(str(before))
    assert not _report.measured_after_a_change(str(tmp_path / "missing.json"))


@pytest.mark.parametrize(
    ("names", "before", "after", "expected"),
    [
        (
            [],
            None,
            None,
            "mx1: no baseline in /b/mx1; run sbs.postfix.baseline before the change and again "
            "after it",
        ),
        (
            NAMES[:1],
            None,
            None,
            "mx1: only one baseline in /b/mx1 (20261120T090000Z.json); run sbs.postfix.baseline "
            "again after the change",
        ),
        (NAMES, "2025", None, "mx1: no baseline named '2025' in /b/mx1 (newest: 20261120T0"),
        (NAMES, None, "20261120", "mx1: no baseline older than 20261120T090000Z.json"),
        (NAMES, "20261128", "20261128", "before and after are the same file"),
        (NAMES, "20261205", "20261120", "is newer than after (20261120T090000Z.json); swap"),
    ],
)
def test_choose_pair_problems(names, before, after, expected):
    pair, problem = _report.choose_pair("mx1", "/b/mx1", names, before, after)
    assert pair is None
    assert problem.startswith("mx1: ")
    assert expected in problem


def test_collect_pairs_lists_every_problem_of_every_host():
    hosts = [MX1, "mx3.example.net", "broken.example.net", "future.example.net", "ghost", "../x"]
    pairs, problems = _report.collect_pairs(str(BASELINES), hosts)
    assert list(pairs) == [MX1]
    assert pairs[MX1]["before"]["name"] == "20261128T090000Z.json"
    assert pairs[MX1]["after"]["name"] == "20261205T090000Z.json"
    assert len(problems) == 5
    assert problems[0] == (
        f"mx3.example.net: only one baseline in {BASELINES}/mx3.example.net "
        "(20261128T093000Z.json); run sbs.postfix.baseline again after the change"
    )
    assert "is not JSON" in problems[1]
    assert "has schema 2" in problems[2]
    assert problems[3] == (
        f"ghost: no baselines: {BASELINES}/ghost does not exist; run sbs.postfix.baseline for "
        "this host before the change and again after it"
    )
    assert problems[4].startswith("'../x' cannot be a directory name")


def test_collect_pairs_without_the_directory_or_hosts(tmp_path):
    _pairs, problems = _report.collect_pairs(str(tmp_path / "none"), [])
    assert problems == [
        "no hosts given; list the inventory hosts to report on",
        f"the baseline directory {tmp_path}/none does not exist; run sbs.postfix.baseline first "
        "or give the directory it wrote to",
    ]


def test_hidden_and_other_files_are_not_baselines(tmp_path):
    for name in ("20261128T090000Z.json", ".20261129T090000Z.json", "notes.txt"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "20261130T090000Z.json").mkdir()
    assert _report.baseline_names(str(tmp_path)) == ["20261128T090000Z.json"]


# ---------------------------------------------------------------------------------------------
# where the reports go
# ---------------------------------------------------------------------------------------------


def test_a_new_dest_below_a_writable_directory_is_fine(tmp_path):
    assert _report.destination_problems(str(tmp_path / "a" / "reports"), [MX1]) == []
    assert _report.destination_problems(str(tmp_path), [MX1]) == []


def test_dest_below_a_file_cannot_be_created(tmp_path):
    (tmp_path / "file").write_text("")
    dest = tmp_path / "file" / "reports"
    assert _report.destination_problems(str(dest), [MX1]) == [
        f"cannot create dest {dest}: {tmp_path}/file is not a directory; choose another dest"
    ]


def test_dest_that_is_a_file(tmp_path):
    (tmp_path / "reports").write_text("")
    problems = _report.destination_problems(str(tmp_path / "reports"), [MX1])
    assert problems == [
        f"dest {tmp_path}/reports exists and is not a directory; remove it or choose another dest"
    ]


def test_unwritable_dest(tmp_path, monkeypatch):
    # the tests may run as root, for whom every directory is writable: ask os.access instead
    locked = str(tmp_path / "locked")
    os.mkdir(locked)
    real_access = os.access
    monkeypatch.setattr(
        _report.os, "access", lambda path, mode: path != locked and real_access(path, mode)
    )
    assert _report.destination_problems(locked, [MX1]) == [
        f"dest {locked} is not writable by the user running Ansible on the controller; fix its "
        "permissions or choose another dest"
    ]
    assert _report.destination_problems(os.path.join(locked, "new"), [MX1]) == [
        f"cannot create dest {locked}/new: {locked} is not writable by the user running Ansible "
        "on the controller; create dest first or choose another"
    ]


def test_things_in_the_way_inside_dest(tmp_path):
    (tmp_path / MX1).write_text("")
    (tmp_path / MX2 / "index.html").mkdir(parents=True)
    (tmp_path / "index.html").mkdir()
    problems = _report.destination_problems(str(tmp_path), [MX1, MX2])
    assert problems == [
        f"{MX1}: report directory {tmp_path}/{MX1} exists and is not a directory; remove it or "
        "choose another dest",
        f"{MX2}: {tmp_path}/{MX2}/index.html is a directory; remove it so the report can be "
        "written",
        f"{tmp_path}/index.html is a directory; remove it so the index can be written",
    ]


# ---------------------------------------------------------------------------------------------
# verdicts
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "rule", "resolution", "verdict"),
    [
        (0.23, 1.4, _report.LOWER, 0.05, "worse"),  # latency up
        (1.4, 0.23, _report.LOWER, 0.05, "better"),  # latency down
        (0.06, 0.09, _report.LOWER, 0.05, "neutral"),  # below the log's resolution
        (320, 120, _report.LOWER, 1, "better"),  # deferrals down
        (0, 3, _report.LOWER, 1, "worse"),  # from none: no relative change, still worse
        (100, 104, _report.LOWER, 1, "neutral"),  # within 5 %
        (40, 38, _report.LOWER, 1, "neutral"),  # exactly 5 %: noise
        (13500, 29700, _report.NEUTRAL, 1, "neutral"),  # volume
        (100, 260, _report.NEUTRAL, 1, "neutral"),  # rejects up: neither
        (24.9, 86.4, _report.LOWER, 1.0, "worse"),  # disk used up
        (93.5, 100.0, _report.HIGHER, 0.1, "better"),
        (7, 7, _report.LOWER, 1, "same"),
        ("3.7.11", "3.10.5", _report.SETTING, 0, "neutral"),
        ("3.7.11", "3.7.11", _report.SETTING, 0, "same"),
        (None, 5, _report.LOWER, 1, "neutral"),
        (5, None, _report.LOWER, 1, "neutral"),
    ],
)
def test_judge(before, after, rule, resolution, verdict):
    assert _report.judge(before, after, rule, resolution)[2] == verdict


def test_judge_returns_absolute_and_relative_change():
    assert _report.judge(0.23, 1.4, _report.LOWER, 0.05) == (1.17, 1.17 / 0.23, "worse")
    assert _report.judge(0, 3, _report.LOWER, 1) == (3, None, "worse")


def test_every_figure_of_the_issue_is_compared(mx1):
    keys = {row["figure"] for row in mx1["figures"]}
    for part in _report.DELAY_PARTS:
        assert {f"mail.latency.delays.{part}.p50", f"mail.latency.delays.{part}.p95"} <= keys
    assert {
        "mail.received",
        "mail.delivered",
        "mail.deferred",
        "mail.bounced",
        "mail.rejected",
        "mail.expired",
        "mail.volume.messages_per_hour",
        "mail.volume.peak_messages_per_minute",
        "mail.sessions.peak_concurrency",
        "mail.size.average",
        "mail.size.p95",
        "mail.latency.delay.p50",
        "mail.latency.delay.p95",
        "mail.latency.delay.p99",
        "queue.total.count",
        "queue.deferred.count",
        "queue.oldest_age_seconds",
        "system.load.1m",
        "system.memory.used_percent",
        "system.queue_fs.used_percent",
        "system.disk_io.busy_percent",
        "postfix.version",
        "postfix.default_process_limit",
        "postfix.parameters.qmgr_message_active_limit",
        "postfix.services.smtp/inet.process_limit",
    } <= keys


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("mail.latency.delay.p95", (0.23, 1.4, 1.17, "worse")),
        ("mail.latency.delays.before_qmgr.p95", (0.17, 1.1, 0.93, "worse")),
        ("mail.deferred", (320, 120, -200, "better")),
        ("mail.received", (13500, 29700, 16200, "neutral")),
        ("mail.rejected", (100, 260, 160, "neutral")),
        ("queue.deferred.count", (6, 2, -4, "better")),
        ("system.queue_fs.used_percent", (24.9, 25.3, 0.4, "neutral")),
        ("system.disk_io.busy_percent", (12.5, 31.0, 18.5, "worse")),
        ("postfix.version", ("3.7.11", "3.7.11", None, "same")),
        ("postfix.default_process_limit", (100, 250, 150, "neutral")),
        ("postfix.services.smtp/inet.process_limit", ("-", 250, None, "neutral")),
    ],
)
def test_mx1_figures(mx1, key, expected):
    row = _row(mx1, key)
    assert (row["before"], row["after"], row["change"], row["verdict"]) == expected


def test_mx1_counts_and_lists(mx1):
    assert mx1["counts"] == {"better": 6, "worse": 7, "neutral": 18, "same": 10}
    assert "Delivery delay p95" in mx1["worse"]
    assert "Deferrals" in mx1["better"]
    assert "Received" not in mx1["better"] + mx1["worse"]


# ---------------------------------------------------------------------------------------------
# the delay explanation
# ---------------------------------------------------------------------------------------------


def test_higher_delay_with_more_throughput_names_the_part_and_the_listen_queue(mx1):
    text = " ".join(mx1["delay"])
    assert text.startswith("Delivery delay p95 grew from 0.23 s to 1.4 s (+1.17 s, +509 %).")
    assert "before_qmgr grew most: p95 0.17 s to 1.1 s (+0.93 s, +547 %)" in text
    assert "Also grew: in_qmgr +0.14 s." in text
    assert "Throughput is 2.2 times what it was" in text
    assert "kernel's listen queue" in text
    assert (
        "The test sender waited 9.5 s before and 0.05 s after for the greeting (p95), the wait at "
        "the door no log shows."
    ) in text
    assert "The test sender waited 12 s before and 0.4 s after for the 250 reply (p95)." in text


def _rows(delay, parts, per_hour=(1000, 1000)):
    """Figure rows for a delay p95 change and p95 changes of the delays= parts."""
    before, after = {"mail": {"latency": {"delays": {}}}}, {"mail": {"latency": {"delays": {}}}}
    before["mail"]["latency"]["delay"] = {"p95": delay[0]}
    after["mail"]["latency"]["delay"] = {"p95": delay[1]}
    for part, (b, a) in parts.items():
        before["mail"]["latency"]["delays"][part] = {"p95": b}
        after["mail"]["latency"]["delays"][part] = {"p95": a}
    before["mail"]["volume"] = {"messages_per_hour": per_hour[0]}
    after["mail"]["volume"] = {"messages_per_hour": per_hour[1]}
    return _report.compare_figures(before, after)


def test_higher_delay_at_the_same_throughput_is_a_real_wait():
    text = " ".join(_report.delay_explanation(_rows((1.0, 3.0), {"in_qmgr": (0.1, 2.0)})))
    assert "in_qmgr grew most" in text
    assert "a real wait inside Postfix" in text
    assert "listen queue" not in text


@pytest.mark.parametrize(
    ("part", "says"),
    [("connection_setup", "at the next hop"), ("transmission", "message size")],
)
def test_growth_outside_postfix_says_where_to_look(part, says):
    text = " ".join(_report.delay_explanation(_rows((1.0, 3.0), {part: (0.1, 2.0)})))
    assert f"{part} grew most" in text
    assert says in text


def test_growth_spread_over_the_parts():
    text = " ".join(_report.delay_explanation(_rows((1.0, 3.0), {"in_qmgr": (0.1, 0.1)})))
    assert "No part of delays= grew at p95" in text


def test_lower_delay_names_the_part_that_fell():
    text = " ".join(_report.delay_explanation(_rows((3.0, 1.0), {"in_qmgr": (2.0, 0.1)})))
    assert text == (
        "Delivery delay p95 fell: 3 s to 1 s. in_qmgr fell most: 2 s to 0.1 s (-1.9 s, -95 %)."
    )


def test_host_without_mail_has_no_delay_to_explain(mx2):
    assert mx2["delay"] == [
        "No delivery delays to compare: at least one baseline has no delivered mail (or no mail "
        "part)."
    ]


# ---------------------------------------------------------------------------------------------
# settings, findings, sender
# ---------------------------------------------------------------------------------------------


def test_settings_changed_carry_the_sizing_reason(mx1):
    settings = {row["name"]: row for row in mx1["settings"]}
    assert list(settings) == [
        "default_process_limit",
        "queue_minfree",
        "smtpd_client_connection_count_limit",
        "smtp/inet maxproc",
        "smtp/unix maxproc",
    ]
    assert settings["default_process_limit"]["before"] == "100"
    assert settings["default_process_limit"]["after"] == "250"
    assert settings["default_process_limit"]["reason"].startswith("125 sessions per CPU")
    # master.cf services find the reason under the name sizing_info gives them
    assert settings["smtp/inet maxproc"]["reason"].startswith("as many smtpd as")
    assert settings["smtp/unix maxproc"]["reason"] == "outbound connections: 50 per CPU x 2 CPUs"
    assert mx1["other_decisions"] == [
        {
            "name": "net.core.somaxconn",
            "value": 4096,
            "reason": "room in the kernel's listen queue for bursts, instead of refused SYNs",
        }
    ]


def test_settings_with_the_dict_form_of_sizing(mx2):
    assert mx2["settings"] == [
        {
            "name": "default_process_limit",
            "before": "100",
            "after": "40",
            "reason": "2 GiB RAM: about 20 MiB per process",
        }
    ]


def test_settings_without_sizing_have_no_reason():
    before = _load(MX1, "20261128T090000Z")["baseline"]
    after = _load(MX1, "20261205T090000Z")["baseline"]
    rows = _report.changed_settings(before, after, {})
    assert len(rows) == 5
    assert {row["reason"] for row in rows} == {None}
    assert _report.changed_settings(before, dict(after, postfix=None), {}) == []


def test_findings_of_a_small_full_rotational_host(mx2):
    assert [(f["severity"], f["title"]) for f in mx2["findings"]] == [
        ("warning", "queue on a rotational disk"),
        ("warning", "queue file system 87 % full"),
        ("warning", "queue file system 91.2 % of inodes used"),
        ("warning", "2.0 GiB RAM"),
        ("info", "measurement gap"),
    ]
    assert mx2["findings"][0]["message"].startswith(
        "/var/spool/postfix is on a rotational disk (sda): "
    )
    assert mx2["findings"][-1]["message"] == "measurement: mail: no Postfix lines in the window"


def test_no_findings_on_a_healthy_host(mx1):
    assert mx1["findings"] == []


def test_a_baseline_without_system_part():
    assert _report.findings({"system": None, "warnings": ["system: oops"]}) == [
        {
            "severity": "info",
            "title": "system not measured",
            "message": "the system part was not measured: disk and memory were not checked",
        },
        {"severity": "info", "title": "measurement gap", "message": "measurement: system: oops"},
    ]


def test_sender_figures(mx1, mx2):
    rows = {row["figure"]: row for row in mx1["sender"]}
    assert rows["sender.accepted_percent"]["before"] == 93.5
    assert rows["sender.accepted_percent"]["verdict"] == "better"
    assert rows["sender.time_to_250.p95"]["verdict"] == "better"
    assert (
        rows["sender.time_to_banner.p95"]["before"],
        rows["sender.time_to_banner.p95"]["after"],
    ) == (
        9.5,
        0.05,
    )
    assert rows["sender.time_to_banner.p95"]["verdict"] == "better"
    assert rows["sender.messages"]["verdict"] == "same"
    assert mx2["sender"] is None


def test_sender_only_after():
    after = _good()
    before = copy.deepcopy(after)
    del before["sender"]
    rows = _report.compare_sender(before, after)
    assert rows[0]["before"] is None
    assert rows[0]["verdict"] == "neutral"


# ---------------------------------------------------------------------------------------------
# charts
# ---------------------------------------------------------------------------------------------


def test_chart_data_of_mx1(mx1):
    data = mx1["charts"]
    assert len(data["volume"]["before"]) == 24
    assert data["volume"]["after"][9] == ("2026-12-04T09:00:00Z", 2244)
    assert data["delay"] == [
        ("delay p50", 0.06, 0.09),
        ("delay p95", 0.23, 1.4),
        ("delay p99", 0.96, 2.9),
    ]
    assert [label for label, _b, _a in data["delays"]] == list(_report.DELAY_PARTS)
    assert data["deferrals"][0][1:] == (190, 60)
    assert data["queue_age"][0] == ("0-5 min", 1, 1)
    assert data["queue_age"][-1] == ("1280+ min", 0, 0)


def test_every_chart_of_mx1_is_an_accessible_svg(mx1):
    charts = _report.charts(mx1)
    assert [c["id"] for c in charts] == [
        "chart-volume-before",
        "chart-volume-after",
        "chart-delay",
        "chart-delays",
        "chart-deferrals",
        "chart-queue-age",
    ]
    for chart in charts:
        svg = chart["svg"]
        assert svg.startswith("<svg ")
        assert svg.endswith("</svg>")
        assert f'aria-labelledby="{chart["id"]}-title {chart["id"]}-desc"' in svg
        assert f'<title id="{chart["id"]}-title">' in svg
        assert 'class="bar"' in svg
        assert chart["table"][1], "a text fallback"


def test_no_chart_for_a_host_without_mail(mx2):
    charts = _report.charts(mx2)
    assert [c["svg"] for c in charts] == [None] * 6
    assert {c["id"]: c["missing"] for c in charts}["chart-queue-age"] == (
        "the queue was empty in both baselines"
    )


def test_svg_columns_draws_one_bar_per_value():
    svg = _report.svg_columns(
        "c",
        "T",
        "D",
        categories=["a", "b", "c"],
        series=[("before", "#000", [1, None, 3]), ("after", "#111", [2, 2, 0])],
        unit="s",
    )
    assert svg.count('class="bar"') == 5
    assert ">5 s</text>" in svg  # 3 rounds up to a nice axis maximum of 5
    assert 'class="legend">before<' in svg


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0, 1), (0.23, 0.25), (1.4, 2), (2.9, 5), (7, 10), (2244, 2500), (100, 100)],
)
def test_nice_ceiling(value, expected):
    assert _report._nice_ceiling(value) == pytest.approx(expected)


# ---------------------------------------------------------------------------------------------
# HTML and Markdown
# ---------------------------------------------------------------------------------------------


def test_host_page_is_self_contained(mx1):
    page = _report.render_host_html(mx1)
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">')
    assert "<script" not in page
    assert not re.search(r"\b(src|href)=\"(https?:)?//", page)
    assert "<link" not in page
    assert "@media print" in page
    assert '<a href="../index.html">All hosts</a>' in page
    assert page.count('<figure class="chart"') == 6
    assert "before_qmgr grew most" in page


def test_hostile_strings_are_escaped(mx1):
    page = _report.render_host_html(mx1)
    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in page
    assert "<img" not in page
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot; &#x27;reply&#x27;" in page
    markdown = _report.render_host_markdown(mx1)
    assert "<script>" not in markdown
    assert '&lt;script&gt;alert("x")&lt;/script&gt; &amp; more' in markdown


def test_hostile_warning_host_and_title_are_escaped(mx2):
    report = copy.deepcopy(mx2)
    report["findings"].append(
        {"severity": "info", "title": "<b>t</b>", "message": "measurement: <i>x</i>"}
    )
    report["host"] = "mx<2>"
    page = _report.render_host_html(report, title="<u>T</u>")
    assert "<i>x</i>" not in page
    assert "measurement: &lt;i&gt;x&lt;/i&gt;" in page
    assert "<h1>mx&lt;2&gt;</h1>" in page
    assert "<title>&lt;u&gt;T&lt;/u&gt;: mx&lt;2&gt;</title>" in page
    index = _report.render_index_html([report], title="<u>T</u>")
    assert "<b>t</b>" not in index
    assert '<a href="mx%3C2%3E/index.html">mx&lt;2&gt;</a>' in index


def test_host_page_without_mail_says_why(mx2):
    page = _report.render_host_html(mx2)
    assert "<svg" not in page
    assert "No chart: no mail received in the before baseline&#x27;s window." in page
    assert "Not measured in the before baseline: mail (its warnings say why)" in page
    assert "queue on a rotational disk" not in page  # the page has the whole sentences
    assert "is on a rotational disk (sda)" in page


def test_markdown_has_the_same_content(mx1):
    markdown = _report.render_host_markdown(mx1)
    assert markdown.startswith("# mx1.example.net\n")
    for heading in (
        "## Summary",
        "## Delivery delay: where the time went",
        "## Settings changed",
        "## To act on by hand",
        "## Sender side",
        "## Volume, deferrals and queue",
        "### Top deferral reasons",
        "### Queued messages by age (qshape buckets)",
        "## Every figure",
    ):
        assert f"\n{heading}\n" in markdown
    assert "| Delivery delay p95 | 0.23 s | 1.4 s | +1.17 s, +509 % | worse |" in markdown
    assert "| Memory used | 20 % | 26.5 % | +6.5 points, +32 % | worse |" in markdown


def test_md_escape():
    assert _report.md_escape("a|b <x> *y* [z](u) _w_\nv") == (
        "a\\|b &lt;x&gt; \\*y\\* \\[z\\](u) \\_w\\_ v"
    )


def test_index_page(mx1, mx2):
    page = _report.render_index_html([mx1, mx2])
    assert page.index(MX1) < page.index(MX2)
    assert f'<a href="{MX1}/index.html">{MX1}</a>' in page
    assert "smtp/inet maxproc" in page
    assert "Delivery delay p95" in page
    assert "queue on a rotational disk" in page
    assert "<script" not in page


def test_render_all_lists_every_file(tmp_path):
    pairs, problems = _report.collect_pairs(str(BASELINES), [MX1, MX2])
    assert problems == []
    files, reports = _report.render_all(pairs, [MX2, MX1, MX2], str(tmp_path), title="T")
    assert [path for path, _text in files] == [
        f"{tmp_path}/{MX2}/index.html",
        f"{tmp_path}/{MX2}/report.md",
        f"{tmp_path}/{MX1}/index.html",
        f"{tmp_path}/{MX1}/report.md",
        f"{tmp_path}/index.html",
    ]
    assert [report["host"] for report in reports] == [MX2, MX1]
    # the same input renders the same bytes: nothing in a page depends on the time of the run
    again, _reports = _report.render_all(pairs, [MX2, MX1], str(tmp_path), title="T")
    assert again == files


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [
        (None, "s", "-"),
        ("-", "processes", "default (-)"),
        (0.23, "s", "0.23 s"),
        (3600, "s", "3,600 s (60 min)"),
        (40192, "bytes", "39.2 KiB"),
        (512, "bytes", "512 B"),
        (1237.5, "msg/h", "1,237.5 msg/h"),
        (26.5, "%", "26.5 %"),
        (20.0, "%", "20 %"),
        ("1s", "", "1s"),
    ],
)
def test_fmt(value, unit, expected):
    assert _report._fmt(value, unit) == expected


def test_hours_without_mail_are_drawn_as_zero():
    baseline = {
        "mail": {
            "volume": {
                "per_hour": [
                    {"hour": "2026-11-28T23:00:00Z", "received": 5},
                    {"hour": "2026-11-29T02:00:00Z", "received": 7},
                ]
            }
        }
    }
    assert _report._per_hour(baseline) == [
        ("2026-11-28T23:00:00Z", 5),
        ("2026-11-29T00:00:00Z", 0),
        ("2026-11-29T01:00:00Z", 0),
        ("2026-11-29T02:00:00Z", 7),
    ]
    odd = {"mail": {"volume": {"per_hour": [{"hour": "noon", "received": 1}]}}}
    assert _report._per_hour(odd) == [("noon", 1)]


def _mail_window(first, last, deferred):
    return {
        "mail": {
            "deferred": deferred,
            "sources": {"first": first, "last": last},
            "latency": {"delay": {"p95": 0.5}},
        }
    }


def test_counts_of_windows_of_about_the_same_length_are_compared_as_counts():
    before = _mail_window("2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z", 100)
    after = _mail_window("2026-11-30T00:00:00Z", "2026-11-30T22:00:00Z", 50)
    assert _report.window_basis(before, after) == ("count", None)
    (row,) = [r for r in _report.compare_figures(before, after) if r["figure"] == "mail.deferred"]
    assert (row["verdict"], row.get("basis")) == ("better", None)


def test_counts_of_windows_of_different_lengths_are_judged_per_hour():
    # 100 deferrals in 24 h (4.2/h) against 10 in 1 h (10/h): fewer, but worse.
    before = _mail_window("2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z", 100)
    after = _mail_window("2026-11-30T01:00:00Z", "2026-11-30T02:00:00Z", 10)
    basis, note = _report.window_basis(before, after)
    assert basis == "per hour"
    assert "24 h before, 1 h after" in note
    rows = {r["figure"]: r for r in _report.compare_figures(before, after)}
    assert rows["mail.deferred"]["verdict"] == "worse"
    assert rows["mail.deferred"]["per_hour"] == [4.167, 10.0]
    assert rows["mail.deferred"]["label"] == "Deferrals (judged per hour)"
    # Latency is not a count: judged as it is.
    assert rows["mail.latency.delay.p95"].get("basis") is None


def test_counts_of_a_window_without_mail_are_not_judged():
    before = _mail_window("2026-11-29T00:00:00Z", "2026-11-30T00:00:00Z", 100)
    after = _mail_window(None, None, 0)
    basis, note = _report.window_basis(before, after)
    assert basis == "none"
    assert note.startswith("The after baseline's log window holds no mail")
    (row,) = [r for r in _report.compare_figures(before, after) if r["figure"] == "mail.deferred"]
    assert row["verdict"] == "neutral"


def test_every_delay_part_the_parser_reports_has_a_meaning():
    """The report explains each part of delays=a/b/c/d the log parser measures, no other."""
    assert tuple(_report.DELAY_PART_MEANING) == _report.DELAY_PARTS
