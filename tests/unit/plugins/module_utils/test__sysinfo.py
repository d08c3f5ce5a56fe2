# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/module_utils/_sysinfo.py, fed with real /proc and /sys contents."""

from __future__ import annotations

import os
import pathlib
from types import SimpleNamespace

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils import _sysinfo as si

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "unit" / "fixtures" / "sysinfo"
VM = FIXTURES / "vm-2cpu-24g"


def fixture(name, machine=VM):
    return (machine / name).read_text()


# -- CPU ------------------------------------------------------------------------------------


def test_cpuinfo_x86_real():
    info = si.parse_cpuinfo(fixture("cpuinfo"))
    assert info == {"count": 2, "model": "Intel(R) Xeon(R) Processor"}


def test_cpuinfo_arm_uses_model_line():
    text = (
        "processor\t: 0\nBogoMIPS\t: 108.00\nCPU implementer\t: 0x41\n\n"
        "processor\t: 1\nBogoMIPS\t: 108.00\n\n"
        "Hardware\t: BCM2835\nRevision\t: c03111\nModel\t\t: Raspberry Pi 4 Model B Rev 1.1\n"
    )
    assert si.parse_cpuinfo(text) == {"count": 2, "model": "BCM2835"}


def test_cpuinfo_empty():
    assert si.parse_cpuinfo("") == {"count": 0, "model": None}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("max 100000\n", None),
        ("150000 100000\n", 1.5),
        ("50000 100000", 0.5),
        ("", None),
    ],
)
def test_cpu_max(text, expected):
    assert si.parse_cpu_max(text) == expected


@pytest.mark.parametrize(
    ("quota", "period", "expected"),
    [("-1\n", "100000\n", None), ("200000\n", "100000\n", 2.0), ("0", "100000", None)],
)
def test_cfs_quota(quota, period, expected):
    assert si.parse_cfs_quota(quota, period) == expected


@pytest.mark.parametrize(
    ("online", "affinity", "quota", "expected"),
    [
        (32, None, None, 32),
        (32, 4, None, 4),  # cpuset of a container
        (32, 32, 1.5, 2),  # a fractional quota still runs two processes at once
        (32, 32, 0.5, 1),
        (2, 2, 8.0, 2),  # a quota above the hardware does not add CPUs
        (0, None, None, 1),
    ],
)
def test_effective_cpus(online, affinity, quota, expected):
    assert si.effective_cpus(online, affinity, quota) == expected


def test_loadavg_real():
    load = si.parse_loadavg(fixture("loadavg"))
    assert set(load) == {"1m", "5m", "15m", "running", "total"}
    assert si.parse_loadavg("0.16 0.28 0.14 4/98 5585\n") == {
        "1m": 0.16,
        "5m": 0.28,
        "15m": 0.14,
        "running": 4,
        "total": 98,
    }


# -- Memory ---------------------------------------------------------------------------------


def test_meminfo_real_in_bytes():
    mem = si.parse_meminfo(fixture("meminfo"))
    assert mem["MemTotal"] == 24684092 * 1024
    assert mem["SwapTotal"] == 0
    # HugePages_Total has no unit: it is a count, not KiB.
    assert mem["HugePages_Total"] == 0


def test_memory_summary_host():
    mem = si.memory_summary(si.parse_meminfo(fixture("meminfo")))
    assert mem["total"] == 24684092 * 1024
    assert mem["available"] == 24189480 * 1024
    assert mem["used"] == mem["total"] - mem["available"]
    assert mem["used_percent"] == 2.0
    assert mem["cgroup_limit"] is None


def test_memory_summary_cgroup_limit_wins():
    meminfo = si.parse_meminfo(fixture("meminfo"))
    gib = 1024**3
    mem = si.memory_summary(meminfo, cgroup_limit=2 * gib, cgroup_usage=512 * 1024**2)
    assert mem["total"] == 2 * gib
    assert mem["available"] == 2 * gib - 512 * 1024**2
    assert mem["host_total"] == 24684092 * 1024
    assert mem["used_percent"] == 25.0


def test_memory_summary_limit_above_host_is_ignored():
    meminfo = {"MemTotal": 1024**3, "MemAvailable": 512 * 1024**2}
    mem = si.memory_summary(meminfo, cgroup_limit=8 * 1024**3, cgroup_usage=10)
    assert mem["total"] == 1024**3
    assert mem["available"] == 512 * 1024**2


def test_memory_summary_old_kernel_without_memavailable():
    meminfo = {"MemTotal": 1000, "MemFree": 100, "Buffers": 50, "Cached": 250}
    assert si.memory_summary(meminfo)["available"] == 400


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("max\n", None),
        ("1073741824\n", 1073741824),
        ("9223372036854771712\n", None),
        ("", None),
    ],
)
def test_cgroup_memory_limit(text, expected):
    assert si.parse_cgroup_memory_limit(text) == expected


# -- cgroups --------------------------------------------------------------------------------


def test_proc_cgroup_hybrid_real():
    groups = si.parse_proc_cgroup(fixture("cgroup"))
    assert groups["v2"] == "/"
    assert groups["v1"]["memory"] == "/machine/session-1"
    assert groups["v1"]["cpu"] == "/"


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_container(tmp_path):
    # What a podman container with --memory 1g --cpus 1.5 sees: its own cgroup at the root.
    _write(tmp_path / "proc/self/cgroup", "0::/\n")
    cg = tmp_path / "sys/fs/cgroup"
    _write(cg / "cgroup.controllers", "cpuset cpu io memory pids\n")
    _write(cg / "memory.max", "1073741824\n")
    _write(cg / "memory.current", "52428800\n")
    _write(cg / "cpu.max", "150000 100000\n")
    limits = si.read_cgroup_limits(str(tmp_path))
    assert limits == {
        "version": 2,
        "cpu_quota": 1.5,
        "memory_limit": 1073741824,
        "memory_usage": 52428800,
    }


def test_cgroup_v2_parent_limit_applies(tmp_path):
    _write(tmp_path / "proc/self/cgroup", "0::/system.slice/postfix.service\n")
    cg = tmp_path / "sys/fs/cgroup"
    _write(cg / "cgroup.controllers", "memory\n")
    _write(cg / "system.slice/memory.max", "536870912\n")
    _write(cg / "system.slice/postfix.service/memory.max", "max\n")
    _write(cg / "system.slice/postfix.service/memory.current", "1000\n")
    limits = si.read_cgroup_limits(str(tmp_path))
    assert limits["memory_limit"] == 536870912
    assert limits["memory_usage"] == 1000
    assert limits["cpu_quota"] is None


def test_cgroup_v1_hybrid(tmp_path):
    _write(tmp_path / "proc/self/cgroup", fixture("cgroup"))
    cg = tmp_path / "sys/fs/cgroup"
    _write(cg / "memory/machine/session-1/memory.limit_in_bytes", "2147483648\n")
    _write(cg / "memory/machine/session-1/memory.usage_in_bytes", "9338880\n")
    _write(cg / "memory/memory.limit_in_bytes", "9223372036854771712\n")
    _write(cg / "cpu/cpu.cfs_quota_us", "-1\n")
    _write(cg / "cpu/cpu.cfs_period_us", "100000\n")
    limits = si.read_cgroup_limits(str(tmp_path))
    assert limits == {
        "version": 1,
        "cpu_quota": None,
        "memory_limit": 2147483648,
        "memory_usage": 9338880,
    }


def test_cgroup_missing_proc(tmp_path):
    assert si.read_cgroup_limits(str(tmp_path))["version"] is None


# -- File systems and block devices ---------------------------------------------------------


def test_mountinfo_real_and_lookup():
    mounts = si.parse_mountinfo(fixture("mountinfo"))
    root = si.mount_for_path(mounts, "/var/spool/postfix")
    assert root["mount_point"] == "/"
    assert (root["fstype"], root["source"], root["major"], root["minor"]) == (
        "ext4",
        "/dev/vda",
        254,
        0,
    )
    shm = si.mount_for_path(mounts, "/dev/shm/x")
    assert shm["fstype"] == "tmpfs"
    # Two tmpfs are stacked on /dev/shm in that file: the later one is the visible one.
    assert shm["minor"] == 27
    assert si.mount_for_path(mounts, "/devices")["mount_point"] == "/"


def test_mountinfo_separate_var_and_escapes():
    text = (
        "25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
        "26 25 8:3 / /var rw,relatime shared:2 - xfs /dev/sda3 rw\n"
        "27 25 8:4 / /srv/my\\040mail rw shared:3 - ext4 /dev/sda4 rw\n"
        "28 25 0:52 / /var/lib/containers/storage/overlay rw - overlay overlay rw\n"
    )
    mounts = si.parse_mountinfo(text)
    assert si.mount_for_path(mounts, "/var/spool/postfix")["source"] == "/dev/sda3"
    assert si.mount_for_path(mounts, "/variable")["mount_point"] == "/"
    assert si.mount_for_path(mounts, "/srv/my mail/q")["source"] == "/dev/sda4"


def test_statvfs_summary_like_df():
    st = SimpleNamespace(
        f_bsize=4096,
        f_frsize=4096,
        f_blocks=1000,
        f_bfree=300,
        f_bavail=250,
        f_files=100,
        f_ffree=75,
    )
    fs = si.statvfs_summary(st)
    assert fs["size"] == 4096000
    assert fs["used"] == 700 * 4096
    assert fs["free"] == 250 * 4096
    # df: used / (used + avail) = 700 / 950, rounded up to 73.7
    assert fs["used_percent"] == 73.7
    assert fs["inodes_used_percent"] == 25.0


def test_statvfs_without_inode_table():
    st = SimpleNamespace(
        f_bsize=4096,
        f_frsize=0,
        f_blocks=10,
        f_bfree=5,
        f_bavail=5,
        f_files=0,
        f_ffree=0,
    )
    assert si.statvfs_summary(st)["inodes_used_percent"] is None


@pytest.fixture
def sysfs(tmp_path):
    """A /sys tree shaped like the kernel's: sda (HDD) with partitions, nvme0n1 (SSD),
    an LVM volume on an sda partition and a RAID1 across an HDD and an SSD."""
    devices = tmp_path / "sys/devices"
    blocks = {
        "sda": (8, 0, "1", ["sda1", "sda2"]),
        "sdb": (8, 16, "1", []),
        "nvme0n1": (259, 0, "0", ["nvme0n1p1"]),
    }
    for name, (major, minor, rot, parts) in blocks.items():
        disk = devices / "pci0000:00" / name
        _write(disk / "queue/rotational", rot + "\n")
        (tmp_path / "sys/block").mkdir(parents=True, exist_ok=True)
        os.symlink(disk, tmp_path / "sys/block" / name)
        (tmp_path / "sys/dev/block").mkdir(parents=True, exist_ok=True)
        os.symlink(disk, tmp_path / "sys/dev/block" / f"{major}:{minor}")
        for index, part in enumerate(parts, start=1):
            _write(disk / part / "partition", f"{index}\n")
            os.symlink(disk / part, tmp_path / "sys/dev/block" / f"{major}:{minor + index}")
    virtual = devices / "virtual/block"
    for name, minor, members in (
        ("dm-0", 0, [devices / "pci0000:00/sda/sda2"]),
        (
            "dm-1",
            1,
            [devices / "pci0000:00/sda/sda1", devices / "pci0000:00/nvme0n1/nvme0n1p1"],
        ),
    ):
        _write(virtual / name / "queue/rotational", "0\n")
        (virtual / name / "slaves").mkdir()
        for member in members:
            os.symlink(member, virtual / name / "slaves" / member.name)
        os.symlink(virtual / name, tmp_path / "sys/block" / name)
        os.symlink(virtual / name, tmp_path / "sys/dev/block" / f"253:{minor}")
    return str(tmp_path)


@pytest.mark.parametrize(
    ("major", "minor", "device", "rotational"),
    [
        (8, 0, "sda", True),
        (8, 2, "sda", True),  # a partition resolves to its disk
        (259, 1, "nvme0n1", False),
        (
            253,
            0,
            "dm-0",
            True,
        ),  # LVM on an HDD partition: the member decides, not dm's own flag
        (253, 1, "dm-1", None),  # members disagree (HDD + SSD): unknown
        (0, 52, None, None),  # overlayfs / anonymous device
        (9, 9, None, None),  # not in /sys
    ],
)
def test_block_device_and_rotational(sysfs, major, minor, device, rotational):
    name = si.block_device_name(major, minor, sysfs)
    assert name == device
    assert si.is_rotational(name, sysfs) is rotational


def test_rotational_dm_without_slaves_is_unknown(tmp_path):
    _write(tmp_path / "sys/block/dm-3/queue/rotational", "1\n")
    assert si.is_rotational("dm-3", str(tmp_path)) is None


def test_diskstats_real_sample():
    before = si.parse_diskstats(fixture("diskstats"), "vda")
    after = si.parse_diskstats(fixture("diskstats.1s"), "vda")
    assert before == {
        "reads": 28774,
        "sectors_read": 1639938,
        "writes": 10691,
        "sectors_written": 3787232,
        "io_ms": 4388,
    }
    rates = si.diskstats_rates(before, after, 1.0)
    assert rates["writes_per_s"] == 206.0
    assert rates["write_bytes_per_s"] == (3893400 - 3787232) * 512
    assert rates["reads_per_s"] == 6.0
    assert rates["busy_percent"] == 3.6
    assert si.parse_diskstats(fixture("diskstats"), "sdz") is None


def test_diskstats_busy_is_capped_and_counter_reset_is_zero():
    before = {
        "reads": 10,
        "writes": 10,
        "sectors_read": 0,
        "sectors_written": 0,
        "io_ms": 0,
    }
    after = {
        "reads": 5,
        "writes": 20,
        "sectors_read": 0,
        "sectors_written": 0,
        "io_ms": 5000,
    }
    rates = si.diskstats_rates(before, after, 2.0)
    assert rates["reads_per_s"] == 0.0
    assert rates["busy_percent"] == 100.0
    with pytest.raises(ValueError, match="positive"):
        si.diskstats_rates(before, after, 0)


def test_sample_diskstats_reads_twice(tmp_path):
    samples = iter([fixture("diskstats"), fixture("diskstats.1s")])
    stats = tmp_path / "proc/diskstats"
    _write(stats, next(samples))
    clock = iter([100.0, 102.0])

    def fake_sleep(seconds):
        assert seconds == 2
        stats.write_text(next(samples))

    rates = si.sample_diskstats(
        "vda", 2, str(tmp_path), sleep=fake_sleep, clock=lambda: next(clock)
    )
    assert rates["writes_per_s"] == 103.0
    assert rates["interval"] == 2.0
    assert si.sample_diskstats(None, 2, str(tmp_path)) is None


# -- Open-file limits -----------------------------------------------------------------------


def test_proc_limits_real():
    assert si.parse_proc_limits(fixture("limits")) == {"soft": 32768, "hard": 32768}


def test_proc_limits_unlimited_and_missing():
    text = (
        "Limit                     Soft Limit           Hard Limit           Units\n"
        "Max open files            1024                 unlimited            files\n"
    )
    assert si.parse_proc_limits(text) == {"soft": 1024, "hard": None}
    assert si.parse_proc_limits("Max processes 1 1 processes\n") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("LimitNOFILE=524288\nLimitNOFILESoft=1024\n", {"soft": 1024, "hard": 524288}),
        (
            "LimitNOFILE=infinity\nLimitNOFILESoft=infinity\n",
            {"soft": None, "hard": None},
        ),
        ("LimitNOFILE=18446744073709551615\n", {"soft": None, "hard": None}),
        ("LimitNOFILE=65536\n", {"soft": 65536, "hard": 65536}),
        ("", None),
    ],
)
def test_systemd_nofile(text, expected):
    assert si.systemd_nofile(si.parse_systemctl_show(text)) == expected


def test_read_systemd_nofile_uses_systemctl_show():
    calls = []

    def run(argv):
        calls.append(argv)
        return 0, "LimitNOFILE=524288\nLimitNOFILESoft=1024\n", ""

    assert si.read_systemd_nofile("postfix@-.service", run) == {
        "soft": 1024,
        "hard": 524288,
    }
    assert calls == [
        [
            "systemctl",
            "show",
            "-p",
            "LimitNOFILE",
            "-p",
            "LimitNOFILESoft",
            "postfix@-.service",
        ]
    ]
    assert si.read_systemd_nofile("x", lambda argv: (1, "", "System has not been booted")) is None
    assert si.read_systemd_nofile("x", None) is None


def test_read_systemd_default_nofile():
    calls = []

    def run(argv):
        calls.append(argv)
        return 0, "DefaultLimitNOFILE=524288\nDefaultLimitNOFILESoft=1024\n", ""

    assert si.read_systemd_nofile(None, run) == {"soft": 1024, "hard": 524288}
    assert calls == [
        [
            "systemctl",
            "show",
            "-p",
            "DefaultLimitNOFILE",
            "-p",
            "DefaultLimitNOFILESoft",
        ]
    ]


# -- Postfix master PID -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("      4242\n", 4242),  # master(8) pads the PID to a fixed width
        ("4242", 4242),
        ("", None),
        ("\n", None),
        ("0\n", None),
        ("abc\n", None),
    ],
)
def test_parse_pid_file(text, expected):
    assert si.parse_pid_file(text) == expected


def _master(tmp_path, pid_text="      4242\n", comm="master\n", proc=True):
    spool = tmp_path / "spool"
    (spool / "pid").mkdir(parents=True)
    if pid_text is not None:
        (spool / "pid" / "master.pid").write_text(pid_text)
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    if proc:
        (root / "proc" / "4242").mkdir()
        if comm is not None:
            (root / "proc" / "4242" / "comm").write_text(comm)
    return str(spool), str(root)


def test_read_master_pid_running(tmp_path):
    spool, root = _master(tmp_path)
    assert si.read_master_pid(spool, root) == 4242


def test_read_master_pid_without_readable_comm_trusts_proc(tmp_path):
    spool, root = _master(tmp_path, comm=None)
    assert si.read_master_pid(spool, root) == 4242


@pytest.mark.parametrize(
    ("case", "kwargs"),
    [
        ("no pid file: never started", {"pid_text": None}),
        ("stale file: the process is gone", {"proc": False}),
        ("stale file: the PID now belongs to another program", {"comm": "bash\n"}),
        ("empty file", {"pid_text": ""}),
    ],
)
def test_read_master_pid_not_running(tmp_path, case, kwargs):
    spool, root = _master(tmp_path, **kwargs)
    assert si.read_master_pid(spool, root) is None, case


def test_read_master_pid_missing_queue_directory(tmp_path):
    assert si.read_master_pid(str(tmp_path / "nowhere")) is None


@pytest.mark.parametrize(
    ("nr_open", "init_hard", "can_raise", "expected"),
    [
        (1048576, 524288, True, 1048576),  # a host: systemd may go up to fs.nr_open
        (
            1048576,
            20000,
            False,
            20000,
        ),  # unprivileged container: PID 1's own hard limit
        (None, 20000, False, 20000),
        (None, None, True, None),
    ],
)
def test_grantable_nofile(nr_open, init_hard, can_raise, expected):
    assert si.grantable_nofile(nr_open, init_hard, can_raise) == expected


@pytest.mark.parametrize(
    ("capeff", "expected"),
    [
        ("000001ffffffffff", True),  # root on a host: every capability
        ("00000000a80425fb", False),  # podman's default set: no CAP_SYS_RESOURCE
        ("0000000001000000", True),
    ],
)
def test_cap_sys_resource(capeff, expected):
    status = f"Name:\tsystemd\nCapInh:\t0000000000000000\nCapEff:\t{capeff}\n"
    assert si.has_cap_sys_resource(status) is expected
    assert si.has_cap_sys_resource("Name:\tx\n") is False


def test_sysctl_readers(tmp_path):
    _write(tmp_path / "proc/sys/fs/nr_open", "1048576\n")
    _write(tmp_path / "proc/sys/net/ipv4/ip_local_port_range", "32768\t60999\n")
    _write(tmp_path / "proc/sys/fs/file-max", "garbage\n")
    assert si.read_sysctl_int("fs.nr_open", str(tmp_path)) == 1048576
    assert si.read_sysctl_int("fs.file-max", str(tmp_path)) is None
    assert si.read_sysctl("net.ipv4.ip_local_port_range", str(tmp_path)) == "32768 60999"
    assert si.read_sysctl("net.core.somaxconn", str(tmp_path)) is None


# -- Containers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("virt", "containerenv", "dockerenv", "environ", "expected"),
    [
        ("podman\n", False, False, None, (True, "podman", "systemd-detect-virt")),
        (
            "none\n",
            False,
            False,
            b"HOME=/\0TERM=linux\0",
            (False, None, "systemd-detect-virt"),
        ),
        (None, True, False, None, (True, "podman", "/run/.containerenv")),
        (None, False, True, None, (True, "docker", "/.dockerenv")),
        (
            None,
            False,
            False,
            b"PATH=/bin\0container=lxc\0",
            (True, "lxc", "/proc/1/environ"),
        ),
        (None, False, False, None, (False, None, None)),
    ],
)
def test_detect_container(virt, containerenv, dockerenv, environ, expected):
    found = si.detect_container(virt, containerenv, dockerenv, environ)
    assert (found["container"], found["type"], found["source"]) == expected


def test_read_container_from_files(tmp_path):
    _write(tmp_path / "run/.containerenv", 'engine="podman-4.3.1"\n')
    found = si.read_container(str(tmp_path), run=lambda argv: (127, "", "not found"))
    assert found == {
        "container": True,
        "type": "podman",
        "source": "/run/.containerenv",
    }


# -- Everything together --------------------------------------------------------------------


def test_collect_system_on_fixture_tree(tmp_path):
    for name in ("cpuinfo", "meminfo", "loadavg", "diskstats"):
        _write(tmp_path / "proc" / name, fixture(name))
    _write(tmp_path / "proc/self/cgroup", "0::/\n")
    _write(tmp_path / "proc/self/mountinfo", fixture("mountinfo"))
    _write(tmp_path / "proc/4242/limits", fixture("limits"))
    _write(tmp_path / "proc/1/limits", fixture("limits").replace("32768", "20000"))
    _write(tmp_path / "proc/1/status", "Name:\tsystemd\nCapEff:\t00000000a80425fb\n")
    _write(tmp_path / "proc/sys/fs/nr_open", "1048576\n")
    _write(tmp_path / "proc/sys/fs/file-max", "2466177\n")
    _write(tmp_path / "sys/fs/cgroup/cgroup.controllers", "memory\n")
    _write(tmp_path / "sys/fs/cgroup/memory.max", "2147483648\n")
    _write(tmp_path / "sys/fs/cgroup/memory.current", "1073741824\n")

    def run(argv):
        if argv[0] == "systemctl" and argv[-1] == "postfix@-.service":
            return 0, "LimitNOFILE=524288\nLimitNOFILESoft=1024\n", ""
        if argv[0] == "systemctl":
            return 0, "DefaultLimitNOFILE=20000\nDefaultLimitNOFILESoft=1024\n", ""
        return 0, "podman\n", ""

    system = si.collect_system(
        str(tmp_path), root=str(tmp_path), run=run, unit="postfix@-.service", pid=4242
    )
    assert system["cpu"]["online"] == 2
    assert system["cpu"]["count"] >= 1
    assert system["memory"]["total"] == 2147483648
    assert system["memory"]["available"] == 1073741824
    assert system["nofile"] == {
        "kernel_nr_open": 1048576,
        "kernel_file_max": 2466177,
        "systemd": {"soft": 1024, "hard": 524288},
        "systemd_default": {"soft": 1024, "hard": 20000},
        "process": {"soft": 32768, "hard": 32768},
        "init": {"soft": 20000, "hard": 20000},
        "init_can_raise": False,
        "grantable": 20000,
    }
    assert system["container"]["type"] == "podman"
    assert system["filesystem"]["path"] == str(tmp_path)
    assert 0 <= system["filesystem"]["used_percent"] <= 100
    assert system["disk_io"] is None
    assert system["load"]["total"] > 0


def test_collect_system_live_host_is_sane():
    system = si.collect_system("/", sample_seconds=0)
    assert system["cpu"]["count"] >= 1
    assert system["memory"]["total"] > 0
    assert system["filesystem"]["size"] > 0
