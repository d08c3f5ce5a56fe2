# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/module_utils/_sizing.py: a table of machines, then the properties
every recommendation must keep (bounded by the host, never below stock where stock is safe)."""

from __future__ import annotations

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


def test_baseline_inputs_accepts_both_shapes():
    assert sz.baseline_inputs(None) == {
        "peak_messages_per_minute": None,
        "average_size": None,
        "peak_concurrency": None,
    }
    full = {
        "mail": {
            "volume": {"peak_messages_per_minute": 420},
            "size": {"average": 35000},
        }
    }
    assert sz.baseline_inputs(full)["peak_messages_per_minute"] == 420
    assert sz.baseline_inputs(full)["average_size"] == 35000
    assert sz.baseline_inputs({"peak_concurrency": True})["peak_concurrency"] is None


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
