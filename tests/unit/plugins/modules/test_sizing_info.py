# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/modules/sizing_info.py.

Commands are mocked at the ``run_command`` boundary with real Postfix 3.7 / systemd 252 output;
/proc and /sys come from a fixture tree built from a real host's files.
"""

from __future__ import annotations

import pathlib

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils import _sysinfo
from ansible_collections.sbs.postfix.plugins.modules import sizing_info
from ansible_collections.sbs.postfix.tests.unit.plugins.modules.utils import (
    FakeCommands,
)
from ansible_collections.sbs.postfix.tests.unit.plugins.modules.utils import (
    run_module as run_module_main,
)

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "sysinfo" / "vm-2cpu-24g"

# `postconf -h` prints the values in the order asked: the module asks for these.
# default_process_limit .. queue_minfree, relayhost, queue_directory, message_size_limit
POSTCONF_H = "100\n20\n50\n20000\n1s\n0\n\n/var/spool/postfix\n10240000\n"
POSTCONF_M = (
    "smtp       inet  n       -       y       -       -       smtpd\n"
    "lmtp       unix  -       -       y       -       -       lmtp\n"
    "relay      unix  -       -       y       -       -       smtp\n"
    "        -o syslog_name=postfix/$service_name\n"
    "smtp       unix  -       -       y       -       -       smtp\n"
)


def _tree(tmp_path, init_hard="20000", capeff="00000000a80425fb"):
    def write(rel, text):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    for name in ("cpuinfo", "meminfo", "loadavg", "diskstats"):
        write(f"proc/{name}", (FIXTURES / name).read_text())
    write("proc/self/cgroup", "0::/\n")
    write("proc/self/mountinfo", (FIXTURES / "mountinfo").read_text())
    write("proc/1/limits", (FIXTURES / "limits").read_text().replace("32768", init_hard))
    write("proc/1/status", f"Name:\tsystemd\nCapEff:\t{capeff}\n")
    write("proc/sys/fs/nr_open", "1048576\n")
    write("proc/sys/fs/file-max", "9223372036854775807\n")
    write("proc/sys/net/core/somaxconn", "4096\n")
    write("proc/sys/net/ipv4/tcp_max_syn_backlog", "512\n")
    write("proc/sys/net/ipv4/ip_local_port_range", "32768\t60999\n")
    write("proc/sys/net/ipv4/tcp_fin_timeout", "60\n")
    write("proc/sys/net/ipv4/tcp_tw_reuse", "2\n")
    write("proc/sys/vm/swappiness", "60\n")
    write("sys/fs/cgroup/cgroup.controllers", "memory\n")
    return str(tmp_path)


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A Debian 12 container: Postfix installed, systemd as PID 1, podman, nofile 20000."""
    root = _tree(tmp_path)
    commands = FakeCommands(
        {
            "postconf -h": (0, POSTCONF_H, ""),
            "postconf -M": (0, POSTCONF_M, ""),
            "systemctl show -p LimitNOFILE": (
                0,
                "LimitNOFILE=20000\nLimitNOFILESoft=20000\n",
                "",
            ),
            "systemctl show -p DefaultLimitNOFILE": (
                0,
                "DefaultLimitNOFILE=20000\nDefaultLimitNOFILESoft=1024\n",
                "",
            ),
            "systemd-detect-virt --container": (0, "podman\n", ""),
        }
    ).install(monkeypatch)
    real_collect = _sysinfo.collect_system

    def collect(path, **kwargs):
        # The real collector, reading /proc and /sys from the fixture tree.
        kwargs["root"] = root
        return real_collect(path, **kwargs)

    monkeypatch.setattr(sizing_info._sysinfo, "collect_system", collect)
    monkeypatch.setattr(sizing_info, "_existing", lambda path: str(tmp_path))
    return {
        "calls": commands.calls,
        "outputs": commands.outputs,
        "missing": commands.missing,
        "root": root,
    }


def run_module(args, capsys, check_mode=False):
    return run_module_main(sizing_info.main, args, capsys, check_mode=check_mode)


def test_sizes_a_container_host(host, capsys):
    result = run_module({}, capsys)
    assert result["rc"] == 0
    assert result["changed"] is False
    sizing = result["sizing"]
    hw = sizing["hardware"]
    assert hw["cpus"] >= 1
    assert hw["mem_total"] == 24684092 * 1024
    assert hw["container"] == "podman"
    assert hw["nofile"]["grantable"] == 20000
    assert hw["nofile"]["init_can_raise"] is False
    assert hw["nofile"]["systemd"] == {"soft": 20000, "hard": 20000}
    assert sizing["current"]["default_process_limit"] == "100"
    assert sizing["current"]["smtpd_maxproc"] is None  # "-" in master.cf
    assert sizing["current"]["LimitNOFILE"] == 20000
    assert sizing["current"]["net.ipv4.tcp_max_syn_backlog"] == "512"
    rec = sizing["recommended"]
    assert rec["LimitNOFILE"]["value"] == 20000
    assert rec["net.ipv4.tcp_max_syn_backlog"]["value"] >= rec["smtpd_maxproc"]["value"]
    assert rec["default_process_limit"]["value"] == rec["smtpd_maxproc"]["value"]
    assert all(set(item) == {"value", "reason", "inputs"} for item in rec.values())
    assert sizing["final"] == {k: v["value"] for k, v in rec.items()}
    assert sizing["overridden"] == []
    assert sizing["master_services"]["smtp_maxproc"] == ["smtp/unix", "relay/unix"]
    # Kernel-global keys are never applied from inside a container.
    assert sizing["sysctl"]["vm.swappiness"]["apply"] is False
    assert "podman container" in sizing["sysctl"]["fs.file-max"]["skip"]
    assert sizing["sysctl"]["net.ipv4.tcp_max_syn_backlog"]["current"] == "512"
    contrib = sizing["contribution"]
    assert contrib["master"]["smtp/inet"] == {"maxproc": rec["smtpd_maxproc"]["value"]}
    assert contrib["main"]["default_process_limit"] == rec["default_process_limit"]["value"]
    assert len(sizing["report"]) == len(rec) + len(sizing["findings"])
    assert any("podman container" in f["message"] for f in sizing["findings"])
    assert "postconf -M lmtp/unix relay/unix smtp/inet smtp/unix" in host["calls"]
    assert "systemctl show -p LimitNOFILE -p LimitNOFILESoft postfix@-.service" in host["calls"]


def test_relayhost_raises_destination_concurrency(host, capsys):
    host["outputs"]["postconf -h"] = (
        0,
        POSTCONF_H.replace("1s\n0\n\n", "1s\n0\n[127.0.0.1]:2525\n"),
        "",
    )
    result = run_module({"profile": "burst"}, capsys)
    rec = result["sizing"]["recommended"]["default_destination_concurrency_limit"]
    # Two CPUs: the relayhost is named, but 2 x 10 deliveries per CPU stay at Postfix's 20.
    assert rec["value"] == 20
    assert rec["inputs"]["relayhost"] == "[127.0.0.1]:2525"
    assert "[127.0.0.1]:2525" in rec["reason"]


def test_relayhost_option_wins_over_main_cf(host, capsys):
    result = run_module({"profile": "burst", "relayhost": "[smtp.example.net]:587"}, capsys)
    rec = result["sizing"]["recommended"]["default_destination_concurrency_limit"]
    assert "[smtp.example.net]:587" in rec["reason"]
    assert (
        run_module({"relayhost": ""}, capsys)["sizing"]["recommended"][
            "default_destination_concurrency_limit"
        ]["value"]
        == 20
    )


def test_postfix_not_installed_yet(host, capsys):
    host["missing"].update({"postconf"})
    result = run_module({"profile": "small"}, capsys)
    assert result["rc"] == 0
    assert result["sizing"]["current"]["default_process_limit"] is None
    assert result["sizing"]["hardware"]["queue_directory"] == "/var/spool/postfix"
    assert result["sizing"]["recommended"]["smtpd_maxproc"]["value"] == 100


def test_baseline_raises_smtpd_maxproc(host, capsys):
    plain = run_module({}, capsys)["sizing"]["recommended"]["smtpd_maxproc"]["value"]
    result = run_module(
        {
            "baseline": {
                "mail": {"volume": {"peak_messages_per_minute": 600}},
                "peak_concurrency": 300,
            }
        },
        capsys,
    )
    sizing = result["sizing"]
    assert sizing["hardware"]["baseline"]["peak_messages_per_minute"] == 600
    assert sizing["recommended"]["smtpd_maxproc"]["value"] == 600 > plain
    assert "300 concurrent sessions" in sizing["recommended"]["smtpd_maxproc"]["reason"]


def test_overrides_are_merged(host, capsys):
    result = run_module({"overrides": {"LimitNOFILE": 16384, "smtpd_maxproc": "300"}}, capsys)
    sizing = result["sizing"]
    assert sizing["final"]["LimitNOFILE"] == 16384
    assert sizing["final"]["smtpd_maxproc"] == 300
    assert sizing["overridden"] == ["LimitNOFILE", "smtpd_maxproc"]
    # The recommendation itself is untouched: the admin can compare.
    assert sizing["recommended"]["LimitNOFILE"]["value"] == 20000


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"LimitNOFILE": 2000000},
            "tuning_overrides.LimitNOFILE = 2000000 is above 20000",
        ),
        (
            {"smtpd_maxproc": "many"},
            "tuning_overrides.smtpd_maxproc must be an integer, got str 'many'",
        ),
        ({"smtpd_maxproc": True}, "tuning_overrides.smtpd_maxproc must be an integer"),
        (
            {"smtpd_maxproc": 0},
            "tuning_overrides.smtpd_maxproc = 0 is below the minimum 1",
        ),
        (
            {"in_flow_delay": "fast"},
            "tuning_overrides.in_flow_delay must be a Postfix duration",
        ),
        (
            {"net.ipv4.ip_local_port_range": "60999 1024"},
            "tuning_overrides.net.ipv4.ip_local_port_range must be",
        ),
        ({"vm.swappiness": 500}, "tuning_overrides.vm.swappiness = 500 is above 200"),
        ({"smtpd_max_proc": 10}, "tuning_overrides.smtpd_max_proc: unknown name"),
    ],
)
def test_bad_overrides_fail_naming_the_variable(host, capsys, overrides, message):
    result = run_module({"overrides": overrides, "overrides_variable": "tuning_overrides"}, capsys)
    assert result["rc"] == 1
    assert result["failed"] is True
    assert message in result["msg"]
    assert result["msg"].startswith("Invalid overrides, nothing was changed")


def test_limit_over_nr_open_on_a_host(host, capsys, tmp_path):
    # A real host: PID 1 holds CAP_SYS_RESOURCE, so fs.nr_open is the ceiling.
    _tree(tmp_path, init_hard="524288", capeff="000001ffffffffff")
    result = run_module({"overrides": {"LimitNOFILE": 2000000}}, capsys)
    assert result["rc"] == 1
    assert "overrides.LimitNOFILE = 2000000 is above 1048576" in result["msg"]


def test_unknown_profile_is_refused(host, capsys):
    result = run_module({"profile": "huge"}, capsys)
    assert result["rc"] == 1
    assert "profile must be one of: small, medium, burst, got: huge" in result["msg"]


def test_check_mode_is_the_same_read(host, capsys):
    normal = run_module({}, capsys)
    checked = run_module({}, capsys, check_mode=True)
    for result in (normal, checked):
        result["sizing"]["hardware"].pop("load")
        result["sizing"]["hardware"].pop("mem_available")
        result["sizing"]["hardware"]["queue_filesystem"] = None
        result.pop("invocation", None)
    assert normal["sizing"] == checked["sizing"]
    assert checked["changed"] is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            POSTCONF_M,
            {
                "smtp/inet": None,
                "lmtp/unix": None,
                "relay/unix": None,
                "smtp/unix": None,
            },
        ),
        ("smtp inet n - y - 250 smtpd\n  -o smtpd_x=y\n", {"smtp/inet": 250}),
        ("", {}),
    ],
)
def test_parse_master_maxproc(text, expected):
    assert sizing_info._sizing.parse_master_maxproc(text) == expected


def test_queue_minfree_follows_message_size_limit(host, capsys):
    rec = run_module({}, capsys)["sizing"]["recommended"]["queue_minfree"]
    assert rec["inputs"]["message_size_limit"] == 10240000
    assert rec["value"] >= 1.5 * 10240000
    rec = run_module({"message_size_limit": 52428800}, capsys)["sizing"]["recommended"]
    assert rec["queue_minfree"]["value"] >= 1.5 * 52428800
