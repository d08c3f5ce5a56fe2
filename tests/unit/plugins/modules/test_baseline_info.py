# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/modules/baseline_info.py.

Commands are mocked at the ``run_command`` boundary with real Postfix 3.7 output; the log is a
real Postfix log; /proc comes from a fixture tree built from a real host's files.
"""

from __future__ import annotations

import pathlib

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils import _baseline
from ansible_collections.sbs.postfix.plugins.modules import baseline_info
from ansible_collections.sbs.postfix.tests.unit.plugins.modules.utils import (
    FakeCommands,
)
from ansible_collections.sbs.postfix.tests.unit.plugins.modules.utils import (
    run_module as run_module_main,
)

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures"
LOG = FIXTURES / "maillog" / "deb12-postfix-3.7.log"


@pytest.fixture
def host(tmp_path, monkeypatch):
    sysinfo = FIXTURES / "sysinfo" / "vm-2cpu-24g"
    root = tmp_path / "root"
    for name in ("cpuinfo", "meminfo", "loadavg", "diskstats"):
        (root / "proc").mkdir(parents=True, exist_ok=True)
        (root / "proc" / name).write_text((sysinfo / name).read_text())
    (root / "proc/self").mkdir(parents=True)
    (root / "proc/self/cgroup").write_text("0::/\n")
    (root / "proc/self/mountinfo").write_text((sysinfo / "mountinfo").read_text())
    spool = tmp_path / "spool"
    spool.mkdir()

    def postconf(argv):
        values = {"mail_version": "3.7.11", "queue_directory": str(spool)}
        return 0, "".join("{} = {}\n".format(n, values.get(n, "")) for n in argv[1:]), ""

    commands = FakeCommands(
        {
            "postconf": postconf,
            "postconf -M": (
                0,
                (FIXTURES / "postconf" / "debian12-postconf-M.txt").read_text(),
                "",
            ),
            "postqueue -j": (
                0,
                (FIXTURES / "maillog" / "postqueue-j-deb12.json").read_text(),
                "",
            ),
            "journalctl": (1, b"", b"No journal files were found."),
            "systemd-detect-virt --container": (0, "podman\n", ""),
            "systemctl show -p DefaultLimitNOFILE": (
                0,
                "DefaultLimitNOFILE=20000\nDefaultLimitNOFILESoft=1024\n",
                "",
            ),
        }
    ).install(monkeypatch)

    real_collect = _baseline.collect

    def collect(run, **kwargs):
        kwargs["root"] = str(root)
        return real_collect(run, **kwargs)

    monkeypatch.setattr(baseline_info._baseline, "collect", collect)
    return {"calls": commands.calls, "missing": commands.missing, "outputs": commands.outputs}


def run_module(args, capsys, check_mode=False):
    return run_module_main(baseline_info.main, args, capsys, check_mode=check_mode)


def test_measures_every_part_read_only(host, capsys):
    result = run_module(
        {"log_paths": [str(LOG)], "since": "all", "io_sample_seconds": 0},
        capsys,
        check_mode=True,
    )
    assert result["rc"] == 0
    assert result["changed"] is False
    baseline = result["baseline"]
    assert baseline["mail"]["received"] == 142
    assert baseline["mail"]["latency"]["delay"]["p95"] is not None
    assert baseline["queue"]["deferred"]["count"] == 6
    assert baseline["system"]["cpu"]["online"] == 2
    assert baseline["postfix"]["version"] == "3.7.11"
    assert baseline["parts"] == ["mail", "queue", "system", "postfix"]
    # every command the module ran only reads
    assert all(
        c.split()[0] in ("postconf", "postqueue", "systemd-detect-virt", "systemctl")
        for c in host["calls"]
    )
    assert not any(c.startswith("postconf -e") for c in host["calls"])
    assert all(c.startswith("systemctl show") for c in host["calls"] if c.startswith("systemctl"))


def test_gaps_are_warnings(host, capsys, tmp_path, module_warnings):
    host["missing"].add("postqueue")
    result = run_module(
        {
            "log_paths": [str(tmp_path / "missing.log")],
            "parts": ["mail", "queue", "postfix"],
        },
        capsys,
    )
    assert result["rc"] == 0
    assert result["baseline"]["mail"] is None
    assert result["baseline"]["queue"] is None
    assert "queue: postqueue is not installed" in result["baseline"]["warnings"]
    # also issued as Ansible warnings
    assert "queue: postqueue is not installed" in module_warnings


def test_fails_only_when_nothing_can_be_measured(host, capsys, tmp_path):
    host["missing"].update({"postqueue", "postconf", "journalctl"})
    result = run_module(
        {
            "log_paths": [str(tmp_path / "missing.log")],
            "parts": ["mail", "queue", "postfix"],
        },
        capsys,
    )
    assert result["rc"] == 1
    assert result["failed"] is True
    assert result["msg"].startswith("nothing could be measured: ")
    assert "postconf" in result["msg"]


def test_bad_time_fails_with_an_actionable_message(host, capsys):
    result = run_module({"since": "yesterdayish"}, capsys)
    assert result["rc"] == 1
    assert "relative age such as '24h'" in result["msg"]


def test_parts_choice_is_validated(host, capsys):
    result = run_module({"parts": ["mail", "disk"]}, capsys)
    assert result["rc"] == 1
    assert "parts" in result["msg"]
