# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/modules/baseline_report.py, on the stored-baseline fixtures."""

from __future__ import annotations

import json
import os
import pathlib
import shutil

import pytest

from ansible_collections.sbs.postfix.plugins.modules import baseline_report
from ansible_collections.sbs.postfix.tests.unit.plugins.modules.utils import (
    run_module as run_module_main,
)

BASELINES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "report" / "stored"
MX1 = "mx1.example.net"
MX2 = "mx2.example.net"


@pytest.fixture
def baselines(tmp_path):
    copy = tmp_path / "baselines"
    shutil.copytree(BASELINES, copy)
    return copy


def run_module(args, capsys, check_mode=False):
    return run_module_main(baseline_report.main, args, capsys, check_mode=check_mode)


def _files(directory):
    return sorted(str(path.relative_to(directory)) for path in pathlib.Path(directory).rglob("*"))


def test_writes_each_host_and_the_index(baselines, tmp_path, capsys):
    dest = tmp_path / "reports"
    result = run_module(
        {"baseline_dir": str(baselines), "hosts": [MX1, MX2], "dest": str(dest)}, capsys
    )
    assert result["rc"] == 0, result
    assert result["changed"] is True
    assert _files(dest) == [
        "index.html",
        MX1,
        f"{MX1}/index.html",
        f"{MX1}/report.md",
        MX2,
        f"{MX2}/index.html",
        f"{MX2}/report.md",
    ]
    assert result["index"] == f"{dest}/index.html"
    assert result["index_changed"] is True
    mx1 = result["reports"][MX1]
    assert mx1["html"] == f"{dest}/{MX1}/index.html"
    assert mx1["markdown"] == f"{dest}/{MX1}/report.md"
    assert (mx1["before"], mx1["after"]) == ("20261128T090000Z.json", "20261205T090000Z.json")
    assert (mx1["better"], mx1["worse"], mx1["neutral"], mx1["same"]) == (6, 7, 18, 10)
    assert "Delivery delay p95" in mx1["worse_figures"]
    assert mx1["settings_changed"][0] == "default_process_limit"
    assert mx1["findings"] == []
    assert result["reports"][MX2]["findings"][0]["title"] == "queue on a rotational disk"
    page = (dest / MX1 / "index.html").read_text()
    assert "<script>alert(" not in page
    assert "before_qmgr grew most" in page
    assert not list(dest.rglob(".baseline_report.*")), "no temporary file left behind"


def test_a_second_run_changes_nothing(baselines, tmp_path, capsys):
    args = {"baseline_dir": str(baselines), "hosts": [MX1, MX2], "dest": str(tmp_path / "r")}
    run_module(args, capsys)
    before = {p: os.stat(p).st_mtime_ns for p in (tmp_path / "r").rglob("*.*")}
    result = run_module(args, capsys)
    assert result["changed"] is False
    assert result["index_changed"] is False
    assert {r["changed"] for r in result["reports"].values()} == {False}
    assert {p: os.stat(p).st_mtime_ns for p in (tmp_path / "r").rglob("*.*")} == before


def test_a_new_baseline_rewrites_only_what_changed(baselines, tmp_path, capsys):
    args = {"baseline_dir": str(baselines), "hosts": [MX1, MX2], "dest": str(tmp_path / "r")}
    run_module(args, capsys)
    newer = json.loads((baselines / MX2 / "20261205T091500Z.json").read_text())
    newer["baseline"]["measured_at"] = "2026-12-06T09:15:00Z"
    (baselines / MX2 / "20261206T091500Z.json").write_text(json.dumps(newer))
    result = run_module(args, capsys)
    assert result["changed"] is True
    assert result["reports"][MX1]["changed"] is False
    assert result["reports"][MX2]["changed"] is True
    assert result["reports"][MX2]["after"] == "20261206T091500Z.json"
    assert result["index_changed"] is True


def test_check_mode_writes_nothing(baselines, tmp_path, capsys):
    dest = tmp_path / "r"
    result = run_module(
        {"baseline_dir": str(baselines), "hosts": [MX1], "dest": str(dest)},
        capsys,
        check_mode=True,
    )
    assert result["rc"] == 0
    assert result["changed"] is True
    assert result["reports"][MX1]["changed"] is True
    assert not dest.exists()


def test_before_and_after_by_name(baselines, tmp_path, capsys):
    result = run_module(
        {
            "baseline_dir": str(baselines),
            "hosts": [MX1],
            "dest": str(tmp_path / "r"),
            "before": "20261120",
            "after": "20261128T090000Z.json",
            "title": "December <run>",
        },
        capsys,
    )
    assert result["rc"] == 0, result
    assert result["reports"][MX1]["before"] == "20261120T090000Z.json"
    assert result["reports"][MX1]["after"] == "20261128T090000Z.json"
    index = (tmp_path / "r" / "index.html").read_text()
    assert "<title>December &lt;run&gt;</title>" in index


def test_one_baseline_only_fails_and_writes_nothing(baselines, tmp_path, capsys):
    dest = tmp_path / "r"
    result = run_module(
        {
            "baseline_dir": str(baselines),
            "hosts": [MX1, "mx3.example.net"],
            "dest": str(dest),
        },
        capsys,
    )
    assert result["rc"] == 1
    assert result["failed"] is True
    assert result["problems"] == [
        f"mx3.example.net: only one baseline in {baselines}/mx3.example.net "
        "(20261128T093000Z.json); run sbs.postfix.baseline again after the change"
    ]
    assert result["msg"] == "nothing was written; 1 problem: " + result["problems"][0]
    assert not dest.exists(), "not even the good host's report is written"


def test_every_problem_is_listed_at_once(baselines, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    result = run_module(
        {
            "baseline_dir": str(baselines),
            "hosts": [MX1, "mx3.example.net", "broken.example.net", "future.example.net"],
            "dest": str(tmp_path / "file" / "r"),
        },
        capsys,
    )
    assert result["rc"] == 1
    problems = result["problems"]
    assert len(problems) == 4
    assert problems[0].startswith("mx3.example.net: only one baseline")
    assert "20261205T094500Z.json is not JSON" in problems[1]
    assert "has schema 2" in problems[2]
    assert problems[3] == (
        f"cannot create dest {tmp_path}/file/r: {tmp_path}/file is not a directory; choose "
        "another dest"
    )
    assert result["msg"].startswith("nothing was written; 4 problems: mx3.example.net: ")


def test_unwritable_dest_fails_before_writing(baselines, tmp_path, capsys, monkeypatch):
    dest = tmp_path / "r"
    dest.mkdir()
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: path != str(dest) and real_access(path, mode)
    )
    result = run_module({"baseline_dir": str(baselines), "hosts": [MX1], "dest": str(dest)}, capsys)
    assert result["rc"] == 1
    assert result["problems"] == [
        f"dest {dest} is not writable by the user running Ansible on the controller; fix its "
        "permissions or choose another dest"
    ]
    assert list(dest.iterdir()) == []


def test_files_go_through_atomic_move(baselines, tmp_path, capsys, monkeypatch):
    from ansible.module_utils import basic

    moved = []
    real = basic.AnsibleModule.atomic_move

    def atomic_move(self, src, dest, *args, **kwargs):
        moved.append((os.path.dirname(src), dest))
        return real(self, src, dest, *args, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "atomic_move", atomic_move)
    dest = tmp_path / "r"
    run_module({"baseline_dir": str(baselines), "hosts": [MX1], "dest": str(dest)}, capsys)
    assert moved == [
        (f"{dest}/{MX1}", f"{dest}/{MX1}/index.html"),
        (f"{dest}/{MX1}", f"{dest}/{MX1}/report.md"),
        (str(dest), f"{dest}/index.html"),
    ]
