# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/modules/runtime_info.py.

Commands are mocked at the ``run_command`` boundary with real Debian 13 output
(tests/unit/fixtures/runtime/); /proc and /etc/systemd come from a fixture tree.
"""

from __future__ import annotations

import functools
import hashlib
import pathlib

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils import _runtime
from ansible_collections.sbs.postfix.plugins.modules import runtime_info
from ansible_collections.sbs.postfix.tests.unit.plugins.modules.utils import (
    FakeCommands,
)
from ansible_collections.sbs.postfix.tests.unit.plugins.modules.utils import (
    run_module as run_module_main,
)

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures"
RUNTIME = FIXTURES / "runtime"
PID = 224
UNITS_CALL = "systemctl show -p Id -p LoadState -p ActiveState -p SubState -p UnitFileState"


@pytest.fixture
def host(tmp_path, monkeypatch):
    """Debian 13: Postfix 3.10 running under postfix.service, a new drop-in not loaded yet."""
    root = tmp_path / "root"
    spool = tmp_path / "spool"

    def write(rel, text):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    (spool / "pid").mkdir(parents=True)
    (spool / "pid" / "master.pid").write_text(f"{PID:>10}\n")
    write(f"proc/{PID}/comm", "master\n")
    write(f"proc/{PID}/limits", (RUNTIME / "debian13-master-limits.txt").read_text())
    write(f"proc/{PID}/cgroup", "0::/system.slice/postfix.service\n")
    write("proc/sys/net/core/somaxconn", "4096\n")
    write("etc/postfix/main.cf", "")
    write("etc/opendkim/keys/example.org/sel2026.txt", "sel2026._domainkey\tIN\tTXT\t( ... )\n")
    (root / "etc/opendkim/keys").chmod(0o2750)
    write(
        "etc/systemd/system/postfix.service.d/60-sbs-tuning.conf", "[Service]\nLimitNOFILE=8192\n"
    )

    def postconf(argv):
        values = {"queue_directory": str(spool), "default_process_limit": "100"}
        names = [n for n in argv[3:] if n in values]
        return 0, "".join(f"{n} = {values[n]}\n" for n in names), ""

    commands = FakeCommands(
        {
            "postconf -c /etc/postfix": postconf,
            "postconf -c /etc/postfix -M": (
                0,
                (FIXTURES / "postconf" / "debian13-postconf-M.txt").read_text(),
                "",
            ),
            "systemctl show": (
                0,
                (RUNTIME / "debian13-systemctl-show-new-dropin.txt").read_text(),
                "",
            ),
            "ss -Hltn": (0, (RUNTIME / "debian13-ss-Hltn.txt").read_text(), ""),
            # The units option's one call (a longer start than "systemctl show" above).
            UNITS_CALL: (0, (RUNTIME / "debian13-systemctl-show-units.txt").read_text(), ""),
        }
    ).install(monkeypatch)
    monkeypatch.setattr(
        runtime_info._runtime,
        "collect",
        functools.partial(_runtime.collect, root=str(root)),
    )
    return commands


def run_module(args, capsys, check_mode=False):
    return run_module_main(runtime_info.main, args, capsys, check_mode=check_mode)


def test_reads_what_is_in_force_in_check_mode(host, capsys):
    result = run_module(
        {
            "service": "postfix",
            "services": ["smtp/inet"],
            "expect": {"nofile": 8192, "services": {"smtp/inet": {"maxproc": "-"}}},
        },
        capsys,
        check_mode=True,
    )
    assert result["rc"] == 0
    assert result["changed"] is False
    runtime = result["runtime"]
    assert runtime["running"] is True
    assert runtime["master_pid"] == PID
    assert runtime["nofile"] == {"soft": 20000, "hard": 20000}
    assert runtime["unit"]["name"] == "postfix.service"
    assert runtime["unit"]["main_pid"] == PID
    assert runtime["unit"]["need_daemon_reload"] is True
    assert runtime["daemon_reload_needed"] is True
    assert runtime["listen_backlogs"]["smtp/inet"] == [
        {"address": "0.0.0.0", "port": 25, "backlog": 100},
        {"address": "::", "port": 25, "backlog": 100},
    ]
    assert runtime["listen_backlog_expected"] == 100
    assert runtime["restart_reasons"] == ["open-file limit 20000 -> 8192 (LimitNOFILE)"]
    assert {m["fix"] for m in runtime["mismatches"]} == {"daemon-reload", "restart"}
    # Read-only: postconf reads, systemctl show, ss; nothing else.
    assert [c.split()[0] for c in host.calls] == ["postconf", "postconf", "systemctl", "ss"]
    assert host.calls[2].endswith(" postfix.service")


def test_without_expect_there_is_no_verdict(host, capsys):
    runtime = run_module({}, capsys)["runtime"]
    assert "mismatches" not in runtime
    assert "restart_reasons" not in runtime
    assert runtime["unit"]["name"] == "postfix.service"  # from the master's cgroup
    assert runtime["daemon_reload_needed"] is True


def test_a_host_without_postfix_or_systemd_answers(host, capsys, module_warnings):
    host.missing.update({"postconf", "systemctl", "ss"})
    result = run_module({"service": "postfix@-", "parameters": ["relayhost"]}, capsys)
    assert result["rc"] == 0
    runtime = result["runtime"]
    assert runtime["installed"] is False
    assert runtime["unit"] is None
    assert runtime["parameters"] == {"relayhost": None}
    assert module_warnings == []


def test_warnings_reach_the_user(host, capsys, module_warnings):
    host.missing.add("ss")
    result = run_module({}, capsys)
    assert result["rc"] == 0
    assert module_warnings == [
        "ss -Hltn failed (rc=127): ss: command not found; listen backlogs not read "
        "(ss is in the iproute2 package)"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"expect": {"nofile": "many"}}, "expect.nofile: 'many' is not a number"),
        ({"services": ["smtp"]}, "services: 'smtp' is not name/type"),
        ({"parameters": ["a=b"]}, "parameters: 'a=b' is not a main.cf parameter name"),
        ({"sysctl": ["net/core"]}, "sysctl: 'net/core' is not a sysctl key"),
        ({"files": ["etc/opendkim.conf"]}, "files: 'etc/opendkim.conf' is not an absolute path"),
        ({"contents": ["key.txt"]}, "contents: 'key.txt' is not an absolute path"),
        ({"units": ["-H"]}, "units: '-H' is not a systemd unit name"),
    ],
)
def test_invalid_options_fail_before_reading(host, capsys, args, message):
    result = run_module(args, capsys)
    assert result["rc"] == 1
    assert result["failed"] is True
    assert result["msg"].startswith("Invalid options, nothing was read: ")
    assert message in result["msg"]
    assert host.calls == []


def test_files_contents_and_units_in_one_read_only_call(host, capsys, module_warnings):
    result = run_module(
        {
            "files": ["/etc/postfix/main.cf", "/etc/opendkim/keys", "/etc/opendkim.conf"],
            "contents": ["/etc/opendkim/keys/example.org/sel2026.txt"],
            "units": ["postfix", "opendkim"],
        },
        capsys,
        check_mode=True,
    )
    assert result["rc"] == 0
    assert result["changed"] is False
    assert module_warnings == []
    files = result["runtime"]["files"]
    assert files["/etc/postfix/main.cf"]["sha1"] == hashlib.sha1(b"").hexdigest()
    assert files["/etc/postfix/main.cf"]["type"] == "file"
    assert (files["/etc/opendkim/keys"]["type"], files["/etc/opendkim/keys"]["mode"]) == (
        "directory",
        "2750",
    )
    assert files["/etc/opendkim.conf"]["exists"] is False
    assert result["runtime"]["contents"] == {
        "/etc/opendkim/keys/example.org/sel2026.txt": "sel2026._domainkey\tIN\tTXT\t( ... )\n"
    }
    assert result["runtime"]["units"] == {
        "postfix": {
            "load": "loaded",
            "active": "active",
            "sub": "running",
            "enabled": "enabled",
            "main_pid": PID,
        },
        "opendkim": {
            "load": "not-found",
            "active": "inactive",
            "sub": "dead",
            "enabled": None,
            "main_pid": None,
        },
    }
    units_calls = [c for c in host.calls if c.startswith(UNITS_CALL)]
    assert units_calls == [UNITS_CALL + " -p MainPID postfix.service opendkim.service"]


def test_without_the_options_the_keys_are_empty(host, capsys):
    runtime = run_module({}, capsys)["runtime"]
    assert (runtime["files"], runtime["contents"], runtime["units"]) == ({}, {}, {})
    assert not any(c.startswith(UNITS_CALL) for c in host.calls)


def test_units_without_systemctl_are_null_with_a_warning(host, capsys, module_warnings):
    host.missing.add("systemctl")
    runtime = run_module({"units": ["opendkim"]}, capsys)["runtime"]
    assert runtime["units"] == {"opendkim": None}
    assert module_warnings == ["systemctl is missing: units not read"]


def test_a_large_file_is_not_returned_as_contents(host, capsys, module_warnings, tmp_path):
    (tmp_path / "root" / "etc" / "big.pem").write_bytes(b"-" * (64 * 1024 + 1))
    runtime = run_module({"contents": ["/etc/big.pem"]}, capsys)["runtime"]
    assert runtime["contents"] == {"/etc/big.pem": None}
    assert module_warnings[0].startswith("contents: /etc/big.pem has 65537 bytes")
