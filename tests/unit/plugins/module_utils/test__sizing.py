# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/module_utils/_sizing.py: a table of machines, then the properties
every recommendation must keep (bounded by the host, never below stock where stock is safe)."""

from __future__ import annotations

import calendar
import json
import pathlib

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils import _sizing as sz

GIB = sz.GIB
MIB = sz.MIB
HOST_SYSCTLS = {
    "fs.file-max": "2466177",
    "net.core.somaxconn": "4096",
    "net.ipv4.tcp_max_syn_backlog": "2048",
    "net.ipv4.ip_local_port_range": "32768\t60999",
    "net.ipv4.tcp_fin_timeout": "60",
    "net.ipv4.tcp_tw_reuse": "2",
    "vm.swappiness": "60",
}


def machine(  # noqa: PLR0917 - reads like a table row
    cpus,
    mem_gib,
    rotational=False,
    swap_gib=0,
    grantable=1048576,
    systemd=524288,
    relayhost=None,
):
    return {
        "cpus": cpus,
        "mem_total": int(mem_gib * GIB),
        "swap_total": int(swap_gib * GIB),
        "rotational": rotational,
        "nofile_grantable": grantable,
        "systemd_nofile": systemd,
        "relayhost": relayhost,
    }


# name, hardware, profile -> smtpd, smtp, lmtp, dest. concurrency, conn. count, active, LimitNOFILE
# fmt: off
MACHINES = [
    ("vps-1c-1g-ssd", machine(1, 1), "medium", 25, 25, 4, 20, 10, 13107, 524288),
    ("vps-1c-1g-small", machine(1, 1), "small", 20, 16, 4, 16, 10, 13107, 524288),
    ("vps-2c-2g-ssd", machine(2, 2, swap_gib=1), "medium", 59, 59, 8, 20, 14, 20000, 524288),
    ("sbs-2c-4g-ssd", machine(2, 4), "medium", 122, 100, 8, 20, 30, 20000, 524288),
    ("sbs-2c-4g-relayhost", machine(2, 4, relayhost="[smtp.example.net]:587"), "medium",
     122, 100, 8, 20, 30, 20000, 524288),
    ("office-4c-8g-relayhost", machine(4, 8, relayhost="[smtp.example.net]:587"), "medium",
     245, 200, 16, 40, 50, 20000, 524288),
    ("testbed-2c-24g", machine(2, 24.0), "medium", 250, 100, 8, 20, 50, 20000, 524288),
    ("office-4c-8g-hdd", machine(4, 8, rotational=True, swap_gib=2), "medium",
     245, 200, 16, 20, 50, 20000, 524288),
    ("office-4c-8g-small", machine(4, 8), "small", 100, 100, 16, 20, 25, 20000, 524288),
    ("server-8c-16g-ssd", machine(8, 16), "medium", 491, 400, 32, 20, 50, 20000, 524288),
    ("server-32c-128g-ssd", machine(32, 128, swap_gib=8), "medium",
     1000, 500, 64, 20, 50, 20000, 524288),
    ("server-32c-128g-burst", machine(32, 128), "burst", 2000, 1000, 64, 20, 50, 50000, 524288),
    ("container-2c-24g", machine(2, 24, grantable=20000, systemd=20000), "medium",
     250, 100, 8, 20, 50, 20000, 20000),
    ("container-2c-2g-cgroup", machine(2, 2, grantable=20000, systemd=20000), "burst",
     74, 74, 8, 20, 18, 26214, 20000),
    ("old-systemd-4096", machine(4, 8, systemd=4096), "burst", 307, 300, 16, 20, 50, 50000, 5944),
]
# fmt: on


@pytest.mark.parametrize(
    (
        "hardware",
        "profile",
        "smtpd",
        "smtp",
        "lmtp",
        "dest",
        "conn",
        "active",
        "nofile",
    ),
    [m[1:] for m in MACHINES],
    ids=[m[0] for m in MACHINES],
)
def test_machine_table(  # noqa: PLR0917 - one argument per table column
    hardware, profile, smtpd, smtp, lmtp, dest, conn, active, nofile
):
    rec = sz.recommend(hardware, profile, current=HOST_SYSCTLS)
    got = {k: rec[k]["value"] for k in rec}
    assert got["smtpd_maxproc"] == smtpd
    assert got["default_process_limit"] == smtpd
    assert got["smtp_maxproc"] == smtp
    assert got["lmtp_maxproc"] == lmtp
    assert got["default_destination_concurrency_limit"] == dest
    assert got["smtpd_client_connection_count_limit"] == conn
    assert got["qmgr_message_active_limit"] == active
    assert got["LimitNOFILE"] == nofile
    assert got["in_flow_delay"] == "1s"


@pytest.mark.parametrize(
    ("hardware", "profile"), [m[1:3] for m in MACHINES], ids=[m[0] for m in MACHINES]
)
def test_every_recommendation_explains_itself(hardware, profile):
    rec = sz.recommend(hardware, profile, current=HOST_SYSCTLS)
    assert set(rec) == {
        "default_process_limit",
        "smtpd_maxproc",
        "smtp_maxproc",
        "lmtp_maxproc",
        "default_destination_concurrency_limit",
        "smtpd_client_connection_count_limit",
        "qmgr_message_active_limit",
        "in_flow_delay",
        "queue_minfree",
        "LimitNOFILE",
        "fs.file-max",
        "net.core.somaxconn",
        "net.ipv4.tcp_max_syn_backlog",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_tw_reuse",
        "vm.swappiness",
    }
    for name, item in rec.items():
        assert set(item) == {"value", "reason", "inputs"}, name
        assert item["reason"] and "\n" not in item["reason"], name
        assert isinstance(item["inputs"], dict) and item["inputs"], name


@pytest.mark.parametrize(
    ("hardware", "profile"), [m[1:3] for m in MACHINES], ids=[m[0] for m in MACHINES]
)
def test_limits_stay_within_what_the_host_grants(hardware, profile):
    rec = sz.recommend(hardware, profile, current=HOST_SYSCTLS)
    smtpd = rec["smtpd_maxproc"]["value"]
    smtp = rec["smtp_maxproc"]["value"]
    # Memory: the sized processes fit in half of RAM even when every one of them runs.
    planned = smtpd * sz.MEM_PER_INBOUND_SESSION + smtp * sz.MEM_PER_DELIVERY_AGENT
    assert planned <= hardware["mem_total"] * 0.5 or smtpd == sz.SMTPD_FLOOR
    # File descriptors: never above what the kernel / container can grant.
    assert rec["LimitNOFILE"]["value"] <= hardware["nofile_grantable"]
    # The kernel's system-wide table is at least as large as the unit's limit.
    assert rec["fs.file-max"]["value"] >= rec["LimitNOFILE"]["value"]
    # The listen backlog Postfix asks for (smtpd maxproc) is not cut by the kernel.
    assert rec["net.core.somaxconn"]["value"] >= smtpd
    assert rec["net.ipv4.tcp_max_syn_backlog"]["value"] >= smtpd
    # One client never gets more than Postfix's default share.
    assert rec["smtpd_client_connection_count_limit"]["value"] <= 50
    assert rec["lmtp_maxproc"]["value"] <= smtp


def test_same_inputs_same_outputs():
    hw = machine(4, 8, rotational=True, swap_gib=2)
    assert sz.recommend(hw, "medium", {"peak_concurrency": 40}, HOST_SYSCTLS) == sz.recommend(
        dict(hw), "medium", {"peak_concurrency": 40}, dict(HOST_SYSCTLS)
    )


def test_more_hardware_never_means_fewer_processes():
    previous = 0
    for cpus, mem in [
        (1, 1),
        (1, 2),
        (2, 2),
        (2, 4),
        (4, 8),
        (8, 16),
        (16, 64),
        (32, 128),
    ]:
        value = sz.recommend(machine(cpus, mem), "medium")["smtpd_maxproc"]["value"]
        assert value >= previous
        previous = value


def test_profiles_are_ordered():
    hw = machine(8, 32)
    values = [sz.recommend(hw, p)["smtpd_maxproc"]["value"] for p in ("small", "medium", "burst")]
    assert values == sorted(values)
    assert values[0] < values[2]


def test_unknown_profile_names_the_choices():
    with pytest.raises(
        ValueError, match=r"unknown profile 'huge'; choose one of burst, medium, small"
    ):
        sz.recommend(machine(2, 4), "huge")


# -- individual formulas, with their reasons --------------------------------------------------


def test_smtpd_reason_memory_bound():
    rec = sz.size_smtpd_maxproc(8, 2 * GIB, False, "medium")
    assert rec["value"] == rec["inputs"]["by_memory"] == 59
    assert rec["reason"].startswith("memory-bound")


def test_smtpd_reason_cpu_bound_and_rotational():
    ssd = sz.size_smtpd_maxproc(2, 24 * GIB, False, "medium")
    hdd = sz.size_smtpd_maxproc(2, 24 * GIB, True, "medium")
    assert (ssd["value"], hdd["value"]) == (250, 124)
    assert "rotational" in hdd["reason"]
    assert "125 sessions per CPU" in ssd["reason"]


def test_smtpd_baseline_concurrency_raises_the_limit_within_memory():
    rec = sz.size_smtpd_maxproc(2, 24 * GIB, False, "medium", peak_concurrency=300)
    assert rec["value"] == 600
    assert "300 concurrent sessions" in rec["reason"]
    capped = sz.size_smtpd_maxproc(2, 4 * GIB, False, "medium", peak_concurrency=300)
    assert capped["value"] == 122
    assert capped["reason"].startswith("memory-bound")


def test_smtpd_floor():
    rec = sz.size_smtpd_maxproc(1, 512 * MIB, False, "small")
    assert rec["value"] == sz.SMTPD_FLOOR
    assert "floor" in rec["reason"]


def test_limit_nofile_keeps_systemd_default_and_caps_at_grantable():
    keep = sz.size_limit_nofile(3000, 1048576, 524288)
    assert keep["value"] == 524288
    assert "keeps systemd's 524288" in keep["reason"]
    capped = sz.size_limit_nofile(30000, 20000, 20000)
    assert capped["value"] == 20000
    assert capped["reason"].startswith("capped at 20000")
    raised = sz.size_limit_nofile(6640, 1048576, 4096)
    assert raised["value"] == 6640
    unknown = sz.size_limit_nofile(3000, None, None)
    assert unknown["value"] == sz.SYSTEMD_DEFAULT_NOFILE


def test_fd_need_grows_with_processes():
    assert sz.postfix_fd_need(100, 100, 8, 100) == (100 + 200 + 8 + 100) * 4 + 1024


@pytest.mark.parametrize(
    ("current", "expected"),
    [(None, 1024), (128, 1024), (4096, 4096), (65535, 65535)],
)
def test_somaxconn_is_raise_only(current, expected):
    assert sz.size_somaxconn(250, current)["value"] == expected


def test_somaxconn_follows_big_smtpd():
    assert sz.size_somaxconn(2000, 4096)["value"] == 4096
    assert sz.size_somaxconn(3000, 4096)["value"] == 6000


def test_syn_backlog_is_raise_only():
    assert sz.size_syn_backlog(1000, 128)["value"] == 2000
    assert sz.size_syn_backlog(100, 2048)["value"] == 2048


def test_file_max_is_raise_only():
    assert sz.size_file_max(524288, 9223372036854775807)["value"] == 9223372036854775807
    assert sz.size_file_max(524288, 1000000)["value"] == 2097152
    assert sz.size_file_max(20000, None)["value"] == 80000


@pytest.mark.parametrize(
    ("profile", "current", "peak", "expected"),
    [
        (
            "medium",
            "32768\t60999",
            None,
            "32768 60999",
        ),  # 50/s x 90 = 4500 ports: plenty
        ("burst", "32768 60999", None, "32768 60999"),  # 200/s x 90 = 18000
        ("burst", "50000 60999", None, "43000 60999"),
        ("medium", "32768 60999", 30000, "16000 60999"),  # 500/s x 90 = 45000
        ("medium", "32768 60999", 60000, "10240 60999"),  # never below 10240
        ("medium", None, None, "32768 60999"),
    ],
)
def test_port_range(profile, current, peak, expected):
    assert sz.size_port_range(profile, current, peak)["value"] == expected


def test_port_range_parsing():
    assert sz.parse_port_range("32768\t60999") == (32768, 60999)
    assert sz.parse_port_range("bogus") is None
    assert sz.parse_port_range(None) is None


def test_fin_timeout_tw_reuse_swappiness():
    assert sz.size_fin_timeout("medium", 60)["value"] == 30
    assert sz.size_fin_timeout("medium", 15)["value"] == 15
    assert sz.size_fin_timeout("small", 60)["value"] == 60
    assert sz.size_tw_reuse("medium", 2)["value"] == 1
    assert sz.size_tw_reuse("small", 2)["value"] == 2
    assert sz.size_swappiness(2 * GIB, 60)["value"] == 10
    no_swap = sz.size_swappiness(0, 60)
    assert no_swap["value"] == 60
    assert "no swap" in no_swap["reason"]


def test_destination_concurrency_only_rises_for_a_relayhost():
    assert sz.size_destination_concurrency(100, "burst", cpus=16)["value"] == 20
    assert sz.size_destination_concurrency(100, "burst", "[relay.example.net]", 16)["value"] == 100
    assert sz.size_destination_concurrency(16, "medium", "[relay.example.net]", 8)["value"] == 16
    assert sz.size_destination_concurrency(10, "medium")["value"] == 10


def test_destination_concurrency_follows_the_cpus():
    # Measured on 2 CPUs: 50 parallel deliveries to a fast relayhost were slower than 20.
    two = sz.size_destination_concurrency(100, "medium", "[relay.example.net]", 2)
    assert two["value"] == 20
    assert "2 CPUs x 10 deliveries per CPU" in two["reason"]
    four = sz.size_destination_concurrency(200, "medium", "[relay.example.net]", 4)
    assert four["value"] == 40
    assert "10 per CPU x 4 CPUs" in four["reason"]


def test_qmgr_active_limit():
    assert sz.size_qmgr_message_active_limit(512 * MIB, "medium")["value"] == 6553
    assert sz.size_qmgr_message_active_limit(256 * MIB, "medium")["value"] == 5000
    assert sz.size_qmgr_message_active_limit(128 * GIB, "burst")["value"] == 50000


# -- findings -------------------------------------------------------------------------------


def _messages(found):
    return " | ".join(f["message"] for f in found)


def test_findings_for_a_poor_host():
    found = sz.findings(
        machine(1, 1, rotational=True),
        {"mount_point": "/", "used_percent": 91.5, "inodes_used_percent": 85.0},
        container=None,
        peak_messages_per_minute=6000,
    )
    text = _messages(found)
    assert "rotational disk" in text and "6000 messages/minute" in text
    assert "91.5% full" in text
    assert "85.0% of its inodes" in text
    assert "Only 1024 MiB of RAM" in text
    assert "/var is not a separate file system" in text
    assert {f["severity"] for f in found} == {"warning", "info"}


def test_no_findings_for_a_good_host():
    found = sz.findings(
        machine(8, 32),
        {"mount_point": "/var", "used_percent": 20.0, "inodes_used_percent": 3.0},
    )
    assert found == []


def test_findings_in_a_container():
    found = sz.findings(
        machine(2, 24, grantable=20000),
        {"mount_point": "/", "used_percent": 10.0},
        container="podman",
    )
    text = _messages(found)
    assert "at most 20000 open files" in text
    assert "podman container" in text
    # The root-file-system advice makes no sense for a container's overlay.
    assert "/var is not a separate" not in text


# -- what the role may apply, and the report ----------------------------------------------------

FINAL = {
    "fs.file-max": 2466177,
    "net.core.somaxconn": 4096,
    "net.ipv4.tcp_max_syn_backlog": 2048,
    "net.ipv4.ip_local_port_range": "32768 60999",
    "net.ipv4.tcp_fin_timeout": 30,
    "net.ipv4.tcp_tw_reuse": 1,
    "vm.swappiness": 10,
}
ALL_WRITABLE = dict.fromkeys(FINAL, True)


def test_sysctl_plan_on_a_host():
    plan = sz.sysctl_plan(FINAL, HOST_SYSCTLS, None, ALL_WRITABLE)
    assert all(item["apply"] for item in plan.values())
    # The port range compares equal despite the kernel's tab.
    assert plan["net.ipv4.ip_local_port_range"]["changed"] is False
    assert plan["net.ipv4.tcp_fin_timeout"] == {
        "value": "30",
        "current": "60",
        "apply": True,
        "changed": True,
        "skip": None,
    }
    assert plan["vm.swappiness"]["changed"] is True


def test_sysctl_plan_never_applies_global_keys_in_a_container():
    plan = sz.sysctl_plan(FINAL, HOST_SYSCTLS, "podman", ALL_WRITABLE)
    for key in ("vm.swappiness", "fs.file-max"):
        assert plan[key]["apply"] is False
        assert "never from inside a podman container" in plan[key]["skip"]
    assert plan["net.ipv4.tcp_fin_timeout"]["apply"] is True


def test_sysctl_plan_read_only_proc_sys_and_switch():
    read_only = dict.fromkeys(FINAL, False)
    read_only["net.ipv4.tcp_tw_reuse"] = None
    plan = sz.sysctl_plan(FINAL, HOST_SYSCTLS, "podman", read_only)
    assert "read-only" in plan["net.core.somaxconn"]["skip"]
    assert "no /proc/sys entry" in plan["net.ipv4.tcp_tw_reuse"]["skip"]
    assert not any(item["changed"] for item in plan.values())
    off = sz.sysctl_plan(FINAL, HOST_SYSCTLS, None, ALL_WRITABLE, apply_enabled=False)
    assert {item["skip"] for item in off.values()} == {"tuning_sysctl_apply is false"}


def test_report_lines():
    rec = sz.recommend(machine(2, 4), "medium", current=HOST_SYSCTLS)
    final = sz.final_values(rec, {"LimitNOFILE": 65536})
    lines = sz.report_lines(rec, ["LimitNOFILE"], final, [{"severity": "info", "message": "x"}])
    assert lines[0].startswith("LimitNOFILE = 65536 (tuning_overrides; recommended 524288: ")
    assert "smtpd_maxproc = 122 (memory-bound: " in "\n".join(lines)
    assert lines[-1] == "INFO: x"


@pytest.mark.parametrize(
    ("overrides", "clean", "errors"),
    [
        ({"LimitNOFILE": "65536"}, {"LimitNOFILE": 65536}, []),
        ({"in_flow_delay": 0}, {"in_flow_delay": "0"}, []),
        ({"in_flow_delay": "2s"}, {"in_flow_delay": "2s"}, []),
        (
            {"net.ipv4.ip_local_port_range": "20000\t60999"},
            {"net.ipv4.ip_local_port_range": "20000 60999"},
            [],
        ),
        ({"LimitNOFILE": 512}, {}, ["ovr.LimitNOFILE = 512 is below the minimum 1024"]),
        (
            {"LimitNOFILE": 2**21},
            {},
            ["ovr.LimitNOFILE = 2097152 is above 1048576 (the most this host can grant"],
        ),
        (
            {"net.core.somaxconn": -1},
            {},
            ["ovr.net.core.somaxconn = -1 is below the minimum 0"],
        ),
        (
            {"net.ipv4.tcp_tw_reuse": 3},
            {},
            ["ovr.net.ipv4.tcp_tw_reuse = 3 is above 2"],
        ),
        (
            {"qmgr_message_active_limit": [1]},
            {},
            ["ovr.qmgr_message_active_limit must be an integer, got list"],
        ),
    ],
)
def test_validate_overrides(overrides, clean, errors):
    got_clean, got_errors = sz.validate_overrides(
        overrides, "ovr", grantable=1048576, nr_open=1048576
    )
    assert got_clean == clean
    assert len(got_errors) == len(errors)
    for got, want in zip(got_errors, errors, strict=True):
        assert got.startswith(want)


def test_hardware_from_system():
    system = {
        "cpu": {"count": 2},
        "memory": {"total": 4 * GIB, "swap_total": 0},
        "filesystem": {"rotational": None},
        "nofile": {
            "grantable": 20000,
            "systemd_default": {"soft": 1024, "hard": 524288},
        },
    }
    assert sz.hardware_from_system(system, "") == {
        "cpus": 2,
        "mem_total": 4 * GIB,
        "swap_total": 0,
        "rotational": None,
        "nofile_grantable": 20000,
        "systemd_nofile": 524288,
        "relayhost": None,
        "queue_fs_size": None,
        "message_size_limit": None,
    }


def test_contribution_follows_the_handoff_contract():
    rec = sz.recommend(machine(2, 24), "medium", current=HOST_SYSCTLS)
    final = sz.final_values(rec, {"smtp_maxproc": 40})
    contrib = sz.contribution(rec, ["smtp_maxproc"], final)
    assert set(contrib) == {"main", "master", "reasons"}
    assert contrib["main"] == {
        "default_process_limit": 250,
        "default_destination_concurrency_limit": 20,
        "smtpd_client_connection_count_limit": 50,
        "qmgr_message_active_limit": 20000,
        "in_flow_delay": "1s",
        "queue_minfree": 15728640,
    }
    assert contrib["master"] == {
        "smtp/inet": {"maxproc": 250},
        "smtp/unix": {"maxproc": 40},
        "relay/unix": {"maxproc": 40},
        "lmtp/unix": {"maxproc": 8},
    }
    assert contrib["reasons"]["relay/unix maxproc"] == "tuning_overrides (recommended 100)"
    assert set(contrib["reasons"]) == set(contrib["main"]) | {
        f"{s} maxproc" for s in contrib["master"]
    }


MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("fs_size", "message_size_limit", "expected"),
    [
        # No file system known: Postfix's own floor, 1.5 x message_size_limit, rounded to a MiB.
        (None, 10240000, 15 * MIB),
        (None, None, 15 * MIB),
        # 5% of a 100 GiB file system is above the 2 GiB ceiling.
        (100 * 1024 * MIB, 52428800, 2048 * MIB),
        # 5% of 20 GiB (1 GiB) is above 1.5 x 50 MiB.
        (20 * 1024 * MIB, 52428800, 1024 * MIB),
        # 5% of 1 GiB (51.2 MiB) is below 1.5 x 50 MiB = 75 MiB: the floor wins.
        (1024 * MIB, 52428800, 75 * MIB),
        # The boundary: 5% of 1500 MiB is exactly 75 MiB.
        (1500 * MIB, 52428800, 75 * MIB),
        (1520 * MIB, 52428800, 76 * MIB),
    ],
)
def test_queue_minfree(fs_size, message_size_limit, expected):
    rec = sz.size_queue_minfree(fs_size, message_size_limit)
    assert rec["value"] == expected
    assert rec["value"] >= 1.5 * (message_size_limit or 10240000)
    assert rec["reason"]


def test_a_queue_file_system_too_small_for_the_message_size_is_a_finding():
    hardware = {"mem_total": 8 * 1024 * MIB, "message_size_limit": 52428800}
    small = {"mount_point": "/var/spool/postfix", "size": 200 * MIB}
    messages = [f["message"] for f in sz.findings(hardware, small)]
    assert any("has 200 MiB" in m and "message_size_limit (50 MiB)" in m for m in messages)
    large = dict(small, size=300 * MIB)
    assert not any("has 300 MiB" in f["message"] for f in sz.findings(hardware, large))


# -- what sizing takes from a baseline (docs/sizing.md) ------------------------------------------

# What the sbs.postfix.baseline playbook stored on the test bed (demo run, before the schema
# field existed): {"host", "baseline"}, 200 messages, measured 2026-11-30T04:27:17Z.
STORED = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "sizing"
MEASURED_AT = "2026-11-30T04:27:17Z"
MEASURED = calendar.timegm((2026, 11, 30, 4, 27, 17, 0, 0, 0))
DAY = 86400
LABEL = "tuning_baseline"


def stored(**changes):
    """The stored document; ``changes`` set dotted paths inside its ``baseline``."""
    doc = json.loads((STORED / "stored-before-schema.json").read_text())
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = doc["baseline"]
        for key in parents:
            node = node[key]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return doc


DELETE = object()


def read(value, **kwargs):
    kwargs.setdefault("now", MEASURED + 3600)
    return sz.read_baseline(value, LABEL, **kwargs)


def test_no_baseline_is_neither_used_nor_ignored():
    for value in (None, {}):
        assert read(value) == (
            {
                "used": False,
                "measured_at": None,
                "messages": None,
                "ignored_because": None,
                "figures": {},
            },
            [],
        )
    assert sz.baseline_report_line(read(None)[0], {}) is None


def test_the_stored_document_is_read_from_its_baseline_key():
    summary, problems = read(stored())
    assert problems == []
    assert summary["used"] is True
    assert summary["measured_at"] == MEASURED_AT
    assert summary["messages"] == 200
    assert summary["ignored_because"] is None
    assert summary["figures"] == {
        "measured_at": MEASURED_AT,
        "messages": 200,
        "reinjected": 0,
        "deferred_messages": 0,
        "deferral_rate": 0.0,
        "peak_messages_per_minute": 200,
        "peak_concurrency": 5,
        "size_average": 422,
        "size_p95": 422,
        "size_max": 422,
        "deliveries": 200,
        "delay_p95": 0.1,
        "before_qmgr_p95": 0.09,
        "in_qmgr_p95": 0.0,
        "connection_setup_p95": 0.0,
        "transmission_p95": 0.0,
        "smtp_deliveries": 200,
        "smtp_in_qmgr_p95": 0.0,
        "queue_oldest_age_seconds": None,
    }


def test_every_shape_of_the_same_baseline_gives_the_same_figures():
    doc = stored()
    want = read(doc)
    assert read(doc["baseline"]) == want  # the bare baseline_info result
    assert read({"changed": False, "baseline": doc["baseline"]}) == want  # the registered result
    assert read(dict(doc, schema=1)) == want
    assert read({**doc, "baseline": {**doc["baseline"], "schema": 1}}) == want


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            {"peak_concurrency": 300, "peak_messages_per_minute": 600},
            "tuning_baseline is not a baseline: measured_at is missing (keys: "
            "peak_concurrency, peak_messages_per_minute); give the baseline result of "
            "sbs.postfix.baseline_info or a file the sbs.postfix.baseline playbook stored "
            "(<inventory dir>/baselines/<host>/<YYYYmmddTHHMMSSZ>.json)",
        ),
        (
            ["mx1.json"],
            "tuning_baseline is not a baseline (list): give the baseline result of "
            "sbs.postfix.baseline_info or a file the sbs.postfix.baseline playbook stored "
            "(<inventory dir>/baselines/<host>/<YYYYmmddTHHMMSSZ>.json)",
        ),
        (
            {"host": "mx1", "baseline": "mx1.json"},
            "tuning_baseline.baseline is not a baseline (str): give the baseline result of ",
        ),
        (
            {"host": "mx1", "baseline": {"mail": {}}},
            "tuning_baseline.baseline is not a baseline: measured_at is missing (keys: mail); ",
        ),
        (
            {"host": "mx1", "schema": 2, "baseline": {"measured_at": MEASURED_AT}},
            "tuning_baseline.schema is 2: this collection reads baseline schema 1 only (written "
            "by a newer sbs.postfix: update the collection on the controller)",
        ),
    ],
)
def test_an_unknown_shape_is_refused_naming_what_is_wrong(value, problem):
    summary, problems = read(value)
    assert summary["used"] is False
    assert len(problems) == 1
    assert problems[0].startswith(problem)


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        (
            2,
            "tuning_baseline.baseline.schema is 2: this collection reads baseline schema 1 only "
            "(written by a newer sbs.postfix: update the collection on the controller)",
        ),
        (0, "tuning_baseline.baseline.schema is 0: this collection reads baseline schema 1 only"),
        (
            "1",
            "tuning_baseline.baseline.schema is '1': this collection reads baseline schema 1 only",
        ),
        (
            True,
            "tuning_baseline.baseline.schema is True: this collection reads baseline schema 1 only",
        ),
    ],
)
def test_another_schema_version_is_refused(schema, problem):
    assert read(stored(schema=schema)) == (read(None)[0], [problem])


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        (
            {"mail__sessions__peak_concurrency": DELETE},
            ["tuning_baseline.baseline.mail.sessions.peak_concurrency is missing"],
        ),
        # One problem for a missing part, however many figures sit below it.
        (
            {"mail__latency": DELETE},
            ["tuning_baseline.baseline.mail.latency is missing"],
        ),
        (
            {"mail__volume__peak_messages_per_minute": "240", "mail__received": None},
            [
                "tuning_baseline.baseline.mail.received must be a number, got NoneType None",
                "tuning_baseline.baseline.mail.volume.peak_messages_per_minute must be a "
                "number, got str '240'",
            ],
        ),
        (
            {"mail__size": [422]},
            [
                "tuning_baseline.baseline.mail.size must be a dict, got list",
            ],
        ),
        (
            {"mail__latency__by_transport__smtp__delays__in_qmgr": {"p95": 3.2}},
            [
                "tuning_baseline.baseline.mail.latency.by_transport.smtp.delays.in_qmgr.count "
                "is missing"
            ],
        ),
        (
            {"measured_at": "30.11.2026 04:27"},
            [
                "tuning_baseline.baseline.measured_at must be an ISO 8601 UTC time such as "
                "2026-11-28T15:00:00Z, got '30.11.2026 04:27'"
            ],
        ),
        ({"mail": DELETE}, ["tuning_baseline.baseline.mail is missing"]),
        ({"queue": 3}, ["tuning_baseline.baseline.queue must be a dict or null, got int"]),
        (
            {"queue__oldest_age_seconds": DELETE},
            ["tuning_baseline.baseline.queue.oldest_age_seconds is missing"],
        ),
    ],
)
def test_a_missing_or_wrong_figure_is_refused_naming_its_key(changes, problems):
    summary, got = read(stored(**changes))
    assert got == problems
    assert summary["used"] is False


def test_figures_that_may_be_null_are_null_not_missing():
    # A window without deliveries: baseline_info reports null percentiles, which is no problem.
    summary, problems = read(
        stored(
            mail__latency__delay__p95=None,
            mail__size__average=None,
            mail__latency__by_transport={},
            queue=None,
        )
    )
    assert problems == []
    figures = summary["figures"]
    assert figures["delay_p95"] is None
    assert figures["size_average"] is None
    assert figures["smtp_deliveries"] is None
    assert figures["smtp_in_qmgr_p95"] is None
    assert figures["queue_oldest_age_seconds"] is None
    assert summary["used"] is True


@pytest.mark.parametrize(
    ("received", "minimum", "used"),
    [(100, 100, True), (99, 100, False), (101, 100, True), (0, 0, True), (200, 201, False)],
)
def test_min_messages_boundary(received, minimum, used):
    summary, problems = read(stored(mail__received=received), min_messages=minimum)
    assert problems == []
    assert summary["used"] is used
    assert summary["messages"] == received
    if used:
        assert summary["ignored_because"] is None
    else:
        assert summary["ignored_because"] == (
            f"{received} messages received, fewer than tuning_baseline_min_messages "
            f"({minimum}): too few to show the traffic"
        )


@pytest.mark.parametrize(
    ("age", "max_days", "used"),
    [
        (30 * DAY, 30, True),  # exactly at the limit
        (30 * DAY + 1, 30, False),  # one second over
        (30 * DAY - 1, 30, True),
        (3650 * DAY, 0, True),  # 0: no limit
        (-DAY, 30, True),  # measured "tomorrow" (clock skew) is not old
        (DAY + 1, 1, False),
    ],
)
def test_max_age_boundary(age, max_days, used):
    summary, problems = read(stored(), max_age_days=max_days, now=MEASURED + age)
    assert problems == []
    assert summary["used"] is used
    if not used:
        assert summary["ignored_because"] == (
            f"measured at {MEASURED_AT}, more than tuning_baseline_max_age_days ({max_days}) "
            "days before this run: the traffic may have changed"
        )


def test_too_small_and_too_old_gives_both_reasons_in_the_report():
    summary, _problems = read(stored(mail__received=42), now=MEASURED + 31 * DAY)
    assert summary["ignored_because"].startswith("42 messages received, fewer than ")
    assert (
        "; measured at 2026-11-30T04:27:17Z, more than tuning_baseline_max_age_days (30)"
        in (summary["ignored_because"])
    )
    line = sz.baseline_report_line(summary, {})
    assert line.startswith("baseline of 2026-11-30T04:27:17Z (42 messages) ignored: 42 messages")
    assert line.endswith("; sized from the hardware alone")
    # Reported, never silently: the figures are still there for the admin to see.
    assert summary["figures"]["messages"] == 42


@pytest.mark.parametrize(
    ("changes", "because"),
    [
        ({"mail": None}, "its mail part could not be measured (see the baseline's warnings)"),
        (
            {"mail": DELETE, "parts": ["queue", "system"]},
            "it was measured without its mail part (parts: queue, system)",
        ),
    ],
)
def test_a_baseline_without_mail_figures_is_ignored(changes, because):
    summary, problems = read(stored(**changes), min_messages=0)
    assert problems == []
    assert (summary["used"], summary["messages"], summary["ignored_because"]) == (
        False,
        None,
        because,
    )
    assert sz.baseline_report_line(summary, {}).startswith(
        f"baseline of {MEASURED_AT} (no mail figures) ignored: {because}"
    )


@pytest.mark.parametrize(
    ("deferred", "received", "reinjected", "rate"),
    [(5, 90, 10, 0.05), (0, 200, 0, 0.0), (3, 0, 0, None), (1, 3, 0, 0.3333)],
)
def test_deferral_rate_is_deferred_messages_over_queued_messages(
    deferred, received, reinjected, rate
):
    summary, _problems = read(
        stored(
            mail__deferred_messages=deferred,
            mail__received=received,
            mail__reinjected=reinjected,
        ),
        min_messages=0,
    )
    assert summary["figures"]["deferral_rate"] == rate


# Figures of a usable baseline, as read_baseline returns them (only what the formulas read).
def figures(**values):
    base = {
        "measured_at": "2026-11-29T10:00:00Z",
        "peak_messages_per_minute": 240,
        "peak_concurrency": 12,
        "deferral_rate": 0.004,
        "smtp_deliveries": 5100,
        "smtp_in_qmgr_p95": 3.2,
    }
    base.update(values)
    return base


def test_smtpd_maxproc_says_when_the_baseline_decides():
    rec = sz.size_smtpd_maxproc(2, 24 * GIB, False, "medium", 300, "2026-11-29T10:00:00Z")
    assert rec["value"] == 600
    assert (
        rec["reason"] == "twice the peak of 300 concurrent sessions in the baseline of 2026-11-29"
    )
    assert rec["inputs"]["baseline_measured_at"] == "2026-11-29T10:00:00Z"
    assert rec["inputs"]["by_baseline"] == 600


def test_smtpd_maxproc_says_what_the_baseline_asked_when_something_else_decides():
    cpu = sz.size_smtpd_maxproc(2, 24 * GIB, False, "medium", 12, "2026-11-29T10:00:00Z")
    assert cpu["value"] == 250
    assert cpu["reason"] == (
        "125 sessions per CPU (sessions mostly wait on the network) x 2 CPUs; twice the peak of "
        "12 concurrent sessions in the baseline of 2026-11-29 would be 24"
    )
    memory = sz.size_smtpd_maxproc(2, 4 * GIB, False, "medium", 300, "2026-11-29T10:00:00Z")
    assert memory["value"] == 122
    assert memory["reason"].startswith("memory-bound: ")
    assert memory["reason"].endswith(
        "; twice the peak of 300 concurrent sessions in the baseline of 2026-11-29 would be 600"
    )
    # The boundary: twice the peak equal to the per-CPU figure is the baseline's decision.
    tie = sz.size_smtpd_maxproc(2, 24 * GIB, False, "medium", 125, "2026-11-29T10:00:00Z")
    assert tie["value"] == 250
    assert tie["reason"].startswith("twice the peak of 125 concurrent sessions")
    # No sessions seen: the figure moves nothing and is not named.
    none = sz.size_smtpd_maxproc(2, 24 * GIB, False, "medium", 0, "2026-11-29T10:00:00Z")
    assert "baseline" not in none["reason"]
    assert "baseline_measured_at" not in none["inputs"]


@pytest.mark.parametrize(
    ("peak", "rate", "value", "reason"),
    [
        (
            240,
            4,
            "32768 60999",
            "peak 240 msg/min in the baseline of 2026-11-29 = 4 connections/s: 28232 ports "
            "cover 4 connections/s held 60 s in TIME_WAIT",
        ),
        # ceil(peak / 60): exactly 60 per minute is one connection per second, 61 is two.
        (60, 1, "32768 60999", None),
        (61, 2, "32768 60999", None),
        (
            30000,
            500,
            "16000 60999",
            "peak 30000 msg/min in the baseline of 2026-11-29 = 500 connections/s: 500 "
            "connections/s x 60 s TIME_WAIT x 1.5 needs 45000 ports",
        ),
    ],
)
def test_port_range_from_the_baseline_peak(peak, rate, value, reason):
    rec = sz.size_port_range("medium", "32768 60999", peak, "2026-11-29T10:00:00Z")
    assert rec["value"] == value
    assert rec["inputs"]["connections_per_second"] == rate
    assert rec["inputs"]["baseline_measured_at"] == "2026-11-29T10:00:00Z"
    assert rec["reason"].startswith(f"peak {peak} msg/min in the baseline of 2026-11-29 = ")
    if reason:
        assert rec["reason"] == reason


def test_rotational_finding_names_the_baseline():
    found = sz.findings(machine(1, 1, rotational=True), {}, None, 6000, "2026-11-29T10:00:00Z")
    assert "The peak of 6000 messages/minute in the baseline of 2026-11-29 is near that limit." in (
        _messages(found)
    )


RELAY = "[relay.example.net]:587"


def relay_rule(default=20, smtp=100, profile="medium", relayhost=RELAY, rate_delay="0s", **f):
    return sz.size_smtp_destination_concurrency(
        default, smtp, profile, relayhost, figures(**f), rate_delay
    )


def test_in_queue_wait_raises_the_relay_concurrency():
    rec, finding = relay_rule()
    assert finding is None
    assert rec["value"] == 40
    assert rec["reason"] == (
        "one smtp delivery in twenty waited 3.2 s or longer for a slot in the baseline of "
        "2026-11-29 and all go to relayhost [relay.example.net]:587: twice 20, within "
        "smtp_maxproc 100 and profile medium's 50 (smtp_destination_rate_delay stays 0)"
    )
    assert rec["inputs"] == {
        "default_concurrency": 20,
        "smtp_maxproc": 100,
        "profile": "medium",
        "relayhost": RELAY,
        "relayhost_concurrency": 50,
        "smtp_in_qmgr_p95": 3.2,
        "smtp_deliveries": 5100,
        "deferral_rate": 0.004,
        "rate_delay": "0s",
        "baseline_measured_at": "2026-11-29T10:00:00Z",
    }


@pytest.mark.parametrize(
    ("values", "raised"),
    [
        ({"smtp_in_qmgr_p95": 1.0}, False),  # exactly at the threshold: no wait
        ({"smtp_in_qmgr_p95": 1.1}, True),  # just over
        ({"smtp_deliveries": 99}, False),  # too few deliveries to trust the p95
        ({"smtp_deliveries": 100}, True),  # exactly enough
        ({"smtp_in_qmgr_p95": None, "smtp_deliveries": None}, False),  # no smtp deliveries
        ({"deferral_rate": 0.05}, True),  # exactly at the deferral ceiling
        ({"deferral_rate": 0.0501}, False),  # just over: the relay pushes back
        ({"deferral_rate": None}, True),
    ],
)
def test_in_queue_wait_boundaries(values, raised):
    rec, _finding = relay_rule(**values)
    assert (rec is not None) is raised


def test_in_queue_wait_below_the_threshold_says_nothing():
    assert relay_rule(smtp_in_qmgr_p95=0.9) == (None, None)
    assert relay_rule(relayhost=None, smtp_in_qmgr_p95=0.9) == (None, None)


def test_in_queue_wait_towards_the_internet_keeps_the_polite_defaults():
    rec, finding = relay_rule(relayhost=None)
    assert rec is None
    assert finding == {
        "severity": "info",
        "message": "In the baseline of 2026-11-29 one smtp delivery in twenty waited 3.2 s or "
        "longer in the queue manager for a delivery slot (p95 of delays=b over 5100 deliveries, "
        "above 1 s), but mail goes straight to the Internet: Postfix's polite per-destination "
        "limits stay (default_destination_concurrency_limit 20), since more parallel "
        "connections would press receiving sites that never asked for them. 'qshape deferred' "
        "shows which destinations are slow.",
    }


@pytest.mark.parametrize(
    ("rate_delay", "raised"),
    [("0s", True), ("0", True), (None, True), ("1s", False), ("2m", False), ("$other", False)],
)
def test_a_rate_delay_serialises_the_relay(rate_delay, raised):
    rec, finding = relay_rule(rate_delay=rate_delay)
    assert (rec is not None) is raised
    if not raised:
        assert (
            f"but smtp_destination_rate_delay is {rate_delay}: Postfix then delivers"
            in (finding["message"])
        )


def test_a_relay_that_defers_is_not_pushed_harder():
    _rec, finding = relay_rule(deferral_rate=0.12)
    assert (
        "but 12.0% of the messages were deferred (more than 5%): relayhost " in (finding["message"])
    )


@pytest.mark.parametrize(
    ("default", "smtp", "profile", "value"),
    [
        (20, 100, "medium", 40),  # 2 CPUs: twice the per-CPU figure
        (20, 25, "medium", 25),  # 1 CPU, 1 GiB: smtp_maxproc (CPUs and memory) bounds it
        (40, 200, "medium", 50),  # 4 CPUs: the profile's relayhost concurrency bounds it
        (50, 400, "medium", None),  # 8 CPUs: already at the profile's bound
        (20, 50, "small", None),  # small never exceeds Postfix's 20
        (20, 150, "burst", 40),
        (100, 1000, "burst", None),
    ],
)
def test_in_queue_raise_stays_within_the_hardware_and_profile(default, smtp, profile, value):
    rec, finding = relay_rule(default=default, smtp=smtp, profile=profile)
    if value is None:
        assert rec is None
        assert (
            f"but its {default} parallel deliveries are already at the bound"
            in (finding["message"])
        )
    else:
        assert rec["value"] == value
        assert default < value <= smtp


def test_recommend_with_a_waiting_relay():
    hw = machine(2, 24, relayhost=RELAY)
    plain = sz.recommend(hw, "medium", None, HOST_SYSCTLS)
    rec = sz.recommend(hw, "medium", figures(), HOST_SYSCTLS)
    assert "smtp_destination_concurrency_limit" not in plain
    assert rec["smtp_destination_concurrency_limit"]["value"] == 40
    assert (
        rec["default_destination_concurrency_limit"]
        == plain["default_destination_concurrency_limit"]
    )
    final = sz.final_values(rec, {})
    contrib = sz.contribution(rec, [], final)
    assert contrib["main"]["smtp_destination_concurrency_limit"] == 40
    assert rec["smtp_destination_concurrency_limit"]["reason"].startswith(
        "one smtp delivery in twenty waited 3.2 s"
    )
    # main.cf carries a reason without the figures, which change with every measurement.
    assert contrib["reasons"]["smtp_destination_concurrency_limit"] == sz.BASELINE_FILE_REASON
    # A rate delay in main.cf keeps the limits, and the findings say why.
    slow = dict(HOST_SYSCTLS, smtp_destination_rate_delay="1s")
    kept = sz.recommend(hw, "medium", figures(), slow)
    assert "smtp_destination_concurrency_limit" not in kept
    found = sz.baseline_findings(figures(), hw, "medium", kept, slow)
    assert len(found) == 1
    assert "smtp_destination_rate_delay is 1s" in found[0]["message"]
    assert sz.baseline_findings(figures(), hw, "medium", rec, HOST_SYSCTLS) == []
    assert sz.baseline_findings({}, hw, "medium", rec, HOST_SYSCTLS) == []


def test_without_a_baseline_nothing_names_one():
    for hardware, profile in [(m[1], m[2]) for m in MACHINES]:
        rec = sz.recommend(hardware, profile, None, HOST_SYSCTLS)
        assert rec == sz.recommend(hardware, profile, {}, HOST_SYSCTLS)
        assert "smtp_destination_concurrency_limit" not in rec
        for item in rec.values():
            assert "baseline" not in item["reason"]
            assert "baseline_measured_at" not in item["inputs"]


def test_the_report_says_which_values_used_the_baseline():
    summary, _problems = read(stored(), now=MEASURED + 3600)
    rec = sz.recommend(machine(2, 24), "medium", summary["figures"], HOST_SYSCTLS)
    line = sz.baseline_report_line(summary, rec)
    assert line == (
        "baseline of 2026-11-30T04:27:17Z (200 messages) used by net.ipv4.ip_local_port_range, "
        "smtpd_maxproc"
    )
    lines = sz.report_lines(rec, [], sz.final_values(rec, {}), [], line)
    assert lines[0] == line
    assert len(lines) == len(rec) + 1


def test_an_override_without_a_recommendation_is_contributed():
    rec = sz.recommend(machine(2, 24), "medium", current=HOST_SYSCTLS)
    clean, errors = sz.validate_overrides({"smtp_destination_concurrency_limit": "30"}, "ovr")
    assert (clean, errors) == ({"smtp_destination_concurrency_limit": 30}, [])
    final = sz.final_values(rec, clean)
    contrib = sz.contribution(rec, sorted(clean), final)
    assert contrib["main"]["smtp_destination_concurrency_limit"] == 30
    assert contrib["reasons"]["smtp_destination_concurrency_limit"] == "tuning_overrides"
    lines = sz.report_lines(rec, sorted(clean), final, [])
    assert "smtp_destination_concurrency_limit = 30 (tuning_overrides)" in lines


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0), ("0s", 0), ("1s", 1), ("2m", 120), ("1h", 3600), ("1w", 604800), ("x", None)],
)
def test_duration_seconds(text, seconds):
    assert sz.duration_seconds(text) == seconds


def test_file_reasons_keep_figures_and_dates_of_a_baseline_out_of_files():
    recommended = {
        "smtpd_maxproc": {
            "value": 600,
            "reason": "twice the peak of 300 concurrent sessions in the baseline of 2026-11-29",
            "inputs": {"peak_concurrency": 300, "baseline_measured_at": "2026-11-29T10:00:00Z"},
        },
        "default_process_limit": {
            "value": 250,
            "reason": "125 per CPU x 2 CPUs; twice the peak of 12 in the baseline of 2026-11-29"
            " would be 24",
            "inputs": {"baseline_measured_at": "2026-11-29T10:00:00Z"},
        },
        "LimitNOFILE": {"value": 8192, "reason": "enough for 250 processes", "inputs": {}},
    }
    reasons = sz.file_reasons(recommended, ["LimitNOFILE"])
    assert reasons == {
        "smtpd_maxproc": sz.BASELINE_FILE_REASON,
        "default_process_limit": "125 per CPU x 2 CPUs",
        "LimitNOFILE": "tuning_overrides (recommended 8192)",
    }
    # The same measurement a day later gives the same reason: the file does not change.
    later = dict(recommended)
    later["smtpd_maxproc"] = dict(
        recommended["smtpd_maxproc"],
        reason="twice the peak of 300 concurrent sessions in the baseline of 2026-11-30",
        inputs={"peak_concurrency": 300, "baseline_measured_at": "2026-11-30T10:00:00Z"},
    )
    assert sz.file_reasons(later, ["LimitNOFILE"]) == reasons
