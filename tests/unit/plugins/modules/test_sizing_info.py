# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/modules/sizing_info.py.

Commands are mocked at the ``run_command`` boundary with real Postfix 3.7 / systemd 252 output;
/proc and /sys come from a fixture tree built from a real host's files.
"""

from __future__ import annotations

import json
import pathlib
import time

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


SIZING_FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "sizing"


def stored_baseline(age_seconds=3600, **mail):
    """The document the baseline playbook stored on the test bed, measured ``age_seconds`` ago;
    ``mail`` replaces figures of its mail part."""
    doc = json.loads((SIZING_FIXTURES / "stored-before-schema.json").read_text())
    doc["baseline"]["measured_at"] = time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - age_seconds)
    )
    doc["baseline"]["mail"].update(mail)
    return doc


def test_a_stored_baseline_raises_smtpd_maxproc(host, capsys):
    plain = run_module({}, capsys)["sizing"]
    doc = stored_baseline()
    doc["baseline"]["mail"]["sessions"]["peak_concurrency"] = 300
    sizing = run_module({"baseline": doc, "baseline_variable": "tuning_baseline"}, capsys)["sizing"]
    when = doc["baseline"]["measured_at"]
    assert sizing["baseline"]["used"] is True
    assert sizing["baseline"]["measured_at"] == when
    assert sizing["baseline"]["messages"] == 200
    assert sizing["baseline"]["ignored_because"] is None
    assert sizing["baseline"]["figures"]["peak_concurrency"] == 300
    smtpd = sizing["recommended"]["smtpd_maxproc"]
    assert smtpd["value"] == 600 > plain["recommended"]["smtpd_maxproc"]["value"]
    assert smtpd["reason"] == (
        f"twice the peak of 300 concurrent sessions in the baseline of {when[:10]}"
    )
    assert smtpd["inputs"]["baseline_measured_at"] == when
    assert sizing["report"][0] == (
        f"baseline of {when} (200 messages) used by net.ipv4.ip_local_port_range, smtpd_maxproc"
    )
    assert len(sizing["report"]) == len(sizing["recommended"]) + len(sizing["findings"]) + 1
    assert "baseline" not in sizing["hardware"]


def test_without_a_baseline_the_sizing_is_the_hardware_alone(host, capsys):
    sizing = run_module({}, capsys)["sizing"]
    assert sizing["baseline"] == {
        "used": False,
        "measured_at": None,
        "messages": None,
        "ignored_because": None,
        "figures": {},
    }
    assert len(sizing["report"]) == len(sizing["recommended"]) + len(sizing["findings"])


@pytest.mark.parametrize(
    ("args", "because"),
    [
        (
            {"baseline_max_age_days": 30, "age": 30 * 86400 + 600},
            "more than tuning_baseline_max_age_days (30) days before this run",
        ),
        (
            {"baseline_min_messages": 201},
            "200 messages received, fewer than tuning_baseline_min_messages (201)",
        ),
    ],
)
def test_a_baseline_too_old_or_too_small_is_reported_and_ignored(
    host, capsys, module_warnings, args, because
):
    plain = run_module({}, capsys)["sizing"]
    args = dict(args)
    doc = stored_baseline(args.pop("age", 3600))
    doc["baseline"]["mail"]["sessions"]["peak_concurrency"] = 300
    result = run_module({"baseline": doc, "baseline_variable": "tuning_baseline", **args}, capsys)
    sizing = result["sizing"]
    assert sizing["baseline"]["used"] is False
    assert because in sizing["baseline"]["ignored_because"]
    # Never silently: a line in the report and a warning.
    assert sizing["report"][0].startswith(f"baseline of {doc['baseline']['measured_at']} ")
    assert because in sizing["report"][0]
    assert sizing["report"][0].endswith("; sized from the hardware alone")
    assert module_warnings == [sizing["report"][0]]
    # ... and sized exactly as without a baseline.
    assert sizing["recommended"] == plain["recommended"]
    assert sizing["report"][1:] == plain["report"]


def test_no_age_limit_with_zero(host, capsys, module_warnings):
    doc = stored_baseline(age_seconds=400 * 86400)
    result = run_module({"baseline": doc, "baseline_max_age_days": 0}, capsys)
    assert result["sizing"]["baseline"]["used"] is True
    assert module_warnings == []


def test_a_bad_baseline_fails_like_a_bad_override(host, capsys):
    result = run_module(
        {
            "baseline": {"peak_concurrency": 300},
            "baseline_variable": "tuning_baseline",
            "overrides": {"smtpd_maxproc": 0},
            "overrides_variable": "tuning_overrides",
        },
        capsys,
    )
    assert result["rc"] == 1
    assert "sizing" not in result
    assert result["errors"] == [
        "tuning_overrides.smtpd_maxproc = 0 is below the minimum 1",
        "tuning_baseline is not a baseline: measured_at is missing (keys: peak_concurrency); "
        "give the baseline result of sbs.postfix.baseline_info or a file the "
        "sbs.postfix.baseline playbook stored "
        "(<inventory dir>/baselines/<host>/<YYYYmmddTHHMMSSZ>.json)",
    ]
    assert result["msg"] == (
        "Invalid overrides and baseline, nothing was changed: " + "; ".join(result["errors"])
    )
    doc = stored_baseline()
    doc["baseline"]["schema"] = 2
    result = run_module({"baseline": doc}, capsys)
    assert result["msg"] == (
        "Invalid baseline, nothing was changed: baseline.baseline.schema is 2: this collection "
        "reads baseline schema 1 only (written by a newer sbs.postfix: update the collection "
        "on the controller)"
    )


def test_negative_baseline_limits_are_refused(host, capsys):
    result = run_module(
        {
            "baseline_min_messages": -1,
            "baseline_max_age_days": -2,
            "baseline_variable": "tuning_baseline",
        },
        capsys,
    )
    assert result["rc"] == 1
    assert result["errors"] == [
        "tuning_baseline_min_messages = -1 is below the minimum 0",
        "tuning_baseline_max_age_days = -2 is below the minimum 0 (0 means no limit)",
    ]


def _waiting_relay(host, rate_delay="$default_destination_rate_delay\n0s\n"):
    host["outputs"]["postconf -h"] = (
        0,
        POSTCONF_H.replace("1s\n0\n\n", "1s\n0\n[relay.example.net]:587\n") + rate_delay,
        "",
    )
    doc = stored_baseline()
    smtp = doc["baseline"]["mail"]["latency"]["by_transport"]["smtp"]["delays"]["in_qmgr"]
    smtp.update(count=5100, p95=3.2)
    return doc


def test_in_queue_wait_raises_the_relay_concurrency(host, capsys):
    doc = _waiting_relay(host)
    sizing = run_module({"baseline": doc}, capsys)["sizing"]
    assert sizing["current"]["smtp_destination_rate_delay"] == "0s"
    rec = sizing["recommended"]["smtp_destination_concurrency_limit"]
    default = sizing["recommended"]["default_destination_concurrency_limit"]["value"]
    assert rec["value"] == min(2 * default, sizing["recommended"]["smtp_maxproc"]["value"], 50)
    assert rec["value"] > default
    assert rec["reason"].startswith("one smtp delivery in twenty waited 3.2 s or longer")
    assert "relayhost [relay.example.net]:587" in rec["reason"]
    assert sizing["contribution"]["main"]["smtp_destination_concurrency_limit"] == rec["value"]
    assert "smtp_destination_concurrency_limit" in sizing["report"][0]


def test_in_queue_wait_with_a_rate_delay_is_reported(host, capsys):
    doc = _waiting_relay(host, rate_delay="1s\n0s\n")
    sizing = run_module({"baseline": doc}, capsys)["sizing"]
    assert sizing["current"]["smtp_destination_rate_delay"] == "1s"
    assert "smtp_destination_concurrency_limit" not in sizing["recommended"]
    assert "smtp_destination_concurrency_limit" not in sizing["contribution"]["main"]
    assert any("smtp_destination_rate_delay is 1s" in line for line in sizing["report"])


def test_in_queue_wait_towards_the_internet_keeps_postfix_defaults(host, capsys):
    doc = _waiting_relay(host)
    sizing = run_module({"baseline": doc, "relayhost": ""}, capsys)["sizing"]
    assert "smtp_destination_concurrency_limit" not in sizing["recommended"]
    assert sizing["report"][-1].startswith("INFO: In the baseline of ")
    assert "but mail goes straight to the Internet" in sizing["report"][-1]


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
