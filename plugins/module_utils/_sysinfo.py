# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""System detection shared by the sbs.postfix modules (sizing_info, baseline_info).

PRIVATE to the sbs.postfix collection: the interface may change without notice.

Runs on the managed host: standard library only, Python 3.11+.

Two layers:

* ``parse_*`` and the other pure functions take the *text* of a kernel file (``/proc/cpuinfo``,
  ``/proc/meminfo``, ``/proc/<pid>/limits``, ...) or plain numbers and return plain data. They
  never touch the host, so unit tests feed them real file contents.
* ``read_*`` and ``collect_system`` read the files under a ``root`` directory (``/`` on a host,
  a fixture tree in tests) and take an optional ``run`` callable for the two commands used
  (``systemctl`` and ``systemd-detect-virt``). ``run(argv)`` must return ``(rc, stdout, stderr)``
  like ``AnsibleModule.run_command``; pass ``None`` to skip commands.

Units, everywhere in this file: memory and file-system sizes in **bytes** (int), rates in
**per second** (float), shares in **percent** 0-100 (float, one decimal), CPU counts in
**CPUs** (int, or float for a cgroup quota), load averages in **runnable tasks** (float),
open-file limits in **file descriptors** (int, ``None`` = unlimited).
"""

from __future__ import annotations

import os
import time

# The value systemd and the kernel print for "no limit" on RLIMIT_NOFILE (RLIM_INFINITY).
RLIM_INFINITY = 2**64 - 1
# cgroup v1 reports "no memory limit" as a huge page-aligned number (LONG_MAX rounded down).
_CGROUP_V1_NO_LIMIT = 2**62

# ---------------------------------------------------------------------------------------------
# CPU
# ---------------------------------------------------------------------------------------------


def parse_cpuinfo(text):
    """Parse ``/proc/cpuinfo``.

    Returns ``{"count": int (logical CPUs listed), "model": str or None}``. The model is the
    first ``model name`` (x86), ``Model`` / ``Hardware`` (ARM) or ``cpu`` (POWER) line.
    """
    count = 0
    model = None
    fallback = None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip()
        value = value.strip()
        if key == "processor":
            count += 1
        elif key == "model name" and model is None:
            model = value
        elif key in ("Model", "Hardware", "cpu") and fallback is None and value:
            fallback = value
    return {"count": count, "model": model or fallback}


def parse_cpu_max(text):
    """Parse a cgroup v2 ``cpu.max`` (``"<quota> <period>"`` or ``"max <period>"``).

    Returns the quota in CPUs (float, e.g. ``1.5``) or ``None`` when unlimited.
    """
    parts = text.split()
    if not parts or parts[0] == "max":
        return None
    period = int(parts[1]) if len(parts) > 1 else 100000
    quota = int(parts[0])
    if quota <= 0 or period <= 0:
        return None
    return quota / period


def parse_cfs_quota(quota_text, period_text):
    """Parse cgroup v1 ``cpu.cfs_quota_us`` and ``cpu.cfs_period_us``.

    Returns the quota in CPUs (float) or ``None`` when unlimited (quota ``-1``).
    """
    quota = int(quota_text.strip())
    period = int(period_text.strip())
    if quota <= 0 or period <= 0:
        return None
    return quota / period


def effective_cpus(online, affinity=None, quota=None):
    """CPUs this process can really use, in CPUs (int, at least 1).

    ``online``: CPUs the kernel lists; ``affinity``: size of the scheduler affinity mask
    (``len(os.sched_getaffinity(0))``, the cpuset of a container); ``quota``: cgroup CPU quota
    in CPUs. A fractional quota rounds up: 1.5 CPUs of quota still runs two processes at once.
    """
    candidates = [c for c in (online, affinity) if c]
    cpus = min(candidates) if candidates else 1
    if quota:
        cpus = min(cpus, max(1, int(-(-quota // 1))))
    return max(1, int(cpus))


def parse_loadavg(text):
    """Parse ``/proc/loadavg``.

    Returns ``{"1m", "5m", "15m"}`` in runnable tasks (float) and ``running``/``total``
    scheduling entities (int).
    """
    fields = text.split()
    running, _sep, total = fields[3].partition("/")
    return {
        "1m": float(fields[0]),
        "5m": float(fields[1]),
        "15m": float(fields[2]),
        "running": int(running),
        "total": int(total),
    }


# ---------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------


def parse_meminfo(text):
    """Parse ``/proc/meminfo`` into ``{field: bytes}`` (the ``kB`` unit is KiB)."""
    values = {}
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        if not sep:
            continue
        parts = rest.split()
        if not parts:
            continue
        number = int(parts[0])
        if len(parts) > 1 and parts[1] == "kB":
            number *= 1024
        values[key.strip()] = number
    return values


def parse_cgroup_memory_limit(text):
    """Parse cgroup v2 ``memory.max`` or v1 ``memory.limit_in_bytes``.

    Returns the limit in bytes, or ``None`` for ``max`` and v1's "no limit" sentinel.
    """
    value = text.strip()
    if not value or value == "max":
        return None
    number = int(value)
    if number >= _CGROUP_V1_NO_LIMIT:
        return None
    return number


def memory_summary(meminfo, cgroup_limit=None, cgroup_usage=None):
    """Memory and swap as Postfix will see them, in bytes.

    ``meminfo``: the dict from :func:`parse_meminfo`. ``cgroup_limit``/``cgroup_usage``: the
    tightest cgroup memory limit and the cgroup's current usage in bytes (``None`` if none).
    In a container with a limit, ``total`` is the limit and ``available`` what is left of it
    (never more than the host's own MemAvailable).

    Returns ``total``, ``available``, ``used`` (total - available), ``used_percent``,
    ``swap_total``, ``swap_free``, ``swap_used``, ``host_total``, ``cgroup_limit``.
    """
    host_total = meminfo.get("MemTotal", 0)
    available = meminfo.get("MemAvailable")
    if available is None:
        # Kernels before 3.14 lack MemAvailable; free + page cache is the classic estimate.
        available = meminfo.get("MemFree", 0) + meminfo.get("Buffers", 0) + meminfo.get("Cached", 0)
    total = host_total
    if cgroup_limit is not None and cgroup_limit < host_total:
        total = cgroup_limit
        if cgroup_usage is not None:
            available = min(available, max(0, cgroup_limit - cgroup_usage))
        else:
            available = min(available, cgroup_limit)
    available = min(available, total)
    used = total - available
    swap_total = meminfo.get("SwapTotal", 0)
    swap_free = meminfo.get("SwapFree", 0)
    return {
        "total": total,
        "available": available,
        "used": used,
        "used_percent": _percent(used, total),
        "swap_total": swap_total,
        "swap_free": swap_free,
        "swap_used": swap_total - swap_free,
        "host_total": host_total,
        "cgroup_limit": cgroup_limit,
    }


# ---------------------------------------------------------------------------------------------
# cgroups: which cgroup are we in, and what limits apply to it
# ---------------------------------------------------------------------------------------------


def parse_proc_cgroup(text):
    """Parse ``/proc/<pid>/cgroup``.

    Returns ``{"v2": path or None, "v1": {controller: path}}``; the cgroup v2 line is
    ``0::/path``, v1 lines are ``N:controller[,controller]:/path``.
    """
    result = {"v2": None, "v1": {}}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _hid, controllers, path = parts
        if controllers == "":
            result["v2"] = path
        else:
            for controller in controllers.split(","):
                result["v1"][controller] = path
    return result


def _cgroup_dirs(base, path):
    """Directories from ``base/path`` up to ``base``, deepest first (limits are hierarchical).

    Inside a container the cgroup namespace makes the path relative to the container's root,
    or the host path does not exist at all: the candidates that do not exist are skipped.
    """
    parts = [p for p in (path or "/").split("/") if p]
    dirs = []
    for depth in range(len(parts), -1, -1):
        candidate = os.path.join(base, *parts[:depth]) if depth else base
        if os.path.isdir(candidate):
            dirs.append(candidate)
    return dirs


def read_cgroup_limits(root="/", pid="self"):
    """cgroup CPU and memory limits that apply to ``pid`` (v2, or v1 in hybrid/legacy mode).

    Returns ``{"version": 2|1|None, "cpu_quota": CPUs or None, "memory_limit": bytes or None,
    "memory_usage": bytes or None}``. The tightest limit along the hierarchy wins.
    """
    result = {
        "version": None,
        "cpu_quota": None,
        "memory_limit": None,
        "memory_usage": None,
    }
    text = _read(root, "proc", str(pid), "cgroup")
    if text is None:
        return result
    groups = parse_proc_cgroup(text)
    cg_root = _path(root, "sys", "fs", "cgroup")
    if os.path.exists(os.path.join(cg_root, "cgroup.controllers")):
        # Pure cgroup v2 (unified) hierarchy mounted at /sys/fs/cgroup.
        result["version"] = 2
        for directory in _cgroup_dirs(cg_root, groups["v2"]):
            _min_into(
                result,
                "memory_limit",
                _read_with(directory, "memory.max", parse_cgroup_memory_limit),
            )
            _min_into(result, "cpu_quota", _read_with(directory, "cpu.max", parse_cpu_max))
            if result["memory_usage"] is None:
                result["memory_usage"] = _read_with(directory, "memory.current", _int)
        return result
    if groups["v1"]:
        result["version"] = 1
        memory_base = os.path.join(cg_root, "memory")
        for directory in _cgroup_dirs(memory_base, groups["v1"].get("memory")):
            _min_into(
                result,
                "memory_limit",
                _read_with(directory, "memory.limit_in_bytes", parse_cgroup_memory_limit),
            )
            if result["memory_usage"] is None:
                result["memory_usage"] = _read_with(directory, "memory.usage_in_bytes", _int)
        cpu_base = os.path.join(cg_root, "cpu")
        if not os.path.isdir(cpu_base):
            cpu_base = os.path.join(cg_root, "cpu,cpuacct")
        for directory in _cgroup_dirs(cpu_base, groups["v1"].get("cpu")):
            quota = _read(directory, "cpu.cfs_quota_us")
            period = _read(directory, "cpu.cfs_period_us")
            if quota is not None and period is not None:
                _min_into(result, "cpu_quota", parse_cfs_quota(quota, period))
    return result


# ---------------------------------------------------------------------------------------------
# File systems and block devices
# ---------------------------------------------------------------------------------------------


def parse_mountinfo(text):
    """Parse ``/proc/<pid>/mountinfo`` into a list of mounts.

    Each mount: ``mount_point``, ``fstype``, ``source``, ``major``, ``minor`` (ints),
    ``options`` (per-mount options string).
    """
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if " - " not in line or len(fields) < 7:
            continue
        sep = fields.index("-")
        major, _sep, minor = fields[2].partition(":")
        mounts.append(
            {
                "mount_point": _unescape_mount(fields[4]),
                "options": fields[5],
                "fstype": fields[sep + 1],
                "source": _unescape_mount(fields[sep + 2]) if len(fields) > sep + 2 else "",
                "major": int(major),
                "minor": int(minor),
            }
        )
    return mounts


def mount_for_path(mounts, path):
    """The mount that holds ``path`` (an absolute, already resolved path): the longest mount
    point that is a prefix of it; the last one wins when several are stacked on the same point.
    Returns the mount dict or ``None``.
    """
    best = None
    for mount in mounts:
        point = mount["mount_point"]
        holds = point in (path, "/") or path.startswith(point.rstrip("/") + "/")
        if holds and (best is None or len(point) >= len(best["mount_point"])):
            best = mount
    return best


def statvfs_summary(st):
    """Summarise an ``os.statvfs`` result (or any object with the same attributes).

    Returns ``size``, ``used``, ``free`` (for unprivileged users) in bytes, ``used_percent``
    as ``df`` computes it (used / (used + available)), ``inodes``, ``inodes_used``,
    ``inodes_used_percent`` (``None`` when the file system has no fixed inode table, e.g. btrfs).
    """
    frsize = st.f_frsize or st.f_bsize
    size = st.f_blocks * frsize
    used = (st.f_blocks - st.f_bfree) * frsize
    avail = st.f_bavail * frsize
    inodes = st.f_files
    inodes_used = st.f_files - st.f_ffree
    return {
        "size": size,
        "used": used,
        "free": avail,
        "used_percent": _percent(used, used + avail),
        "inodes": inodes,
        "inodes_used": inodes_used,
        "inodes_used_percent": _percent(inodes_used, inodes) if inodes else None,
    }


def block_device_name(major, minor, root="/"):
    """Kernel name of the whole block device behind ``major:minor`` (a partition resolves to
    its disk: ``sda1`` -> ``sda``, ``nvme0n1p2`` -> ``nvme0n1``).

    Returns ``None`` for anonymous devices (major 0: overlayfs, tmpfs, btrfs subvolumes, NFS)
    and devices that ``/sys/dev/block`` does not know.
    """
    if major == 0:
        return None
    link = _path(root, "sys", "dev", "block", f"{major}:{minor}")
    try:
        target = os.path.realpath(link)
    except OSError:
        return None
    if not os.path.isdir(target):
        return None
    return _whole_disk(target)


def _whole_disk(sys_dir):
    """Kernel name of the disk for a resolved /sys block directory (a partition's parent)."""
    if os.path.exists(os.path.join(sys_dir, "partition")):
        sys_dir = os.path.dirname(sys_dir)
    return os.path.basename(sys_dir)


def is_rotational(device, root="/", _depth=0):
    """Whether the block device ``device`` (a kernel name like ``sda``) spins.

    ``True`` = rotational (HDD), ``False`` = SSD/NVMe/virtual disk reporting 0, ``None`` =
    unknown. Device-mapper and md devices (LVM, LUKS, RAID) report what their members report
    when all members agree, else ``None``.
    """
    if not device or _depth > 8:
        return None
    slaves_dir = _path(root, "sys", "block", device, "slaves")
    slaves = sorted(os.listdir(slaves_dir)) if os.path.isdir(slaves_dir) else []
    if slaves:
        answers = set()
        for slave in slaves:
            parent = _whole_disk(os.path.realpath(os.path.join(slaves_dir, slave)))
            answers.add(is_rotational(parent, root, _depth + 1))
        return answers.pop() if len(answers) == 1 else None
    if device.startswith(("dm-", "md")):
        return None
    value = _read(root, "sys", "block", device, "queue", "rotational")
    if value is None:
        return None
    return value.strip() == "1"


def parse_diskstats(text, device):
    """Counters of ``device`` from ``/proc/diskstats``, or ``None`` if it is not listed.

    Returns ``reads``, ``writes`` (completed I/Os), ``sectors_read``, ``sectors_written``
    (512-byte sectors) and ``io_ms`` (milliseconds spent doing I/O).
    """
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 14 and fields[2] == device:
            return {
                "reads": int(fields[3]),
                "sectors_read": int(fields[5]),
                "writes": int(fields[7]),
                "sectors_written": int(fields[9]),
                "io_ms": int(fields[12]),
            }
    return None


def diskstats_rates(before, after, seconds):
    """Rates between two :func:`parse_diskstats` samples taken ``seconds`` apart.

    Returns ``reads_per_s``, ``writes_per_s`` (I/Os per second), ``read_bytes_per_s``,
    ``write_bytes_per_s`` (bytes per second), ``busy_percent`` (share of wall time the device
    had I/O in flight, like iostat's %util), ``interval`` in seconds.
    """
    if seconds <= 0:
        raise ValueError(f"diskstats interval must be positive, got {seconds!r}")

    def delta(key):
        # Counters are unsigned longs; a wrap or a device reset reads as zero, not negative.
        return max(0, after[key] - before[key])

    return {
        "reads_per_s": round(delta("reads") / seconds, 1),
        "writes_per_s": round(delta("writes") / seconds, 1),
        "read_bytes_per_s": round(delta("sectors_read") * 512 / seconds, 1),
        "write_bytes_per_s": round(delta("sectors_written") * 512 / seconds, 1),
        "busy_percent": min(100.0, round(delta("io_ms") / (seconds * 1000.0) * 100, 1)),
        "interval": seconds,
    }


def sample_diskstats(device, seconds, root="/", sleep=time.sleep, clock=time.monotonic):
    """Sample ``/proc/diskstats`` for ``device`` twice, ``seconds`` apart.

    Returns :func:`diskstats_rates` or ``None`` when the device is unknown or not listed.
    """
    if not device or seconds <= 0:
        return None
    first = _read(root, "proc", "diskstats")
    if first is None:
        return None
    before = parse_diskstats(first, device)
    if before is None:
        return None
    started = clock()
    sleep(seconds)
    after = parse_diskstats(_read(root, "proc", "diskstats") or "", device)
    if after is None:
        return None
    return diskstats_rates(before, after, max(clock() - started, 1e-6))


# ---------------------------------------------------------------------------------------------
# Open-file limits
# ---------------------------------------------------------------------------------------------


def _limit_value(text):
    text = text.strip()
    if text in ("unlimited", "infinity"):
        return None
    number = int(text)
    return None if number >= RLIM_INFINITY else number


def parse_proc_limits(text):
    """Parse ``/proc/<pid>/limits``.

    Returns ``{"soft": fds, "hard": fds}`` for "Max open files" (``None`` = unlimited), or
    ``None`` when the line is missing.
    """
    for line in text.splitlines():
        if line.startswith("Max open files"):
            fields = line[len("Max open files") :].split()
            return {"soft": _limit_value(fields[0]), "hard": _limit_value(fields[1])}
    return None


def parse_systemctl_show(text):
    """Parse ``systemctl show -p A -p B`` output (``Key=value`` lines) into a dict of strings."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


def systemd_nofile(show, prefix="Limit"):
    """``LimitNOFILE`` (hard) and ``LimitNOFILESoft`` from :func:`parse_systemctl_show` output;
    ``prefix="DefaultLimit"`` reads the manager's ``DefaultLimitNOFILE`` instead.

    Returns ``{"soft": fds, "hard": fds}`` (``None`` = infinity) or ``None`` if not reported.
    """
    key = prefix + "NOFILE"
    if key not in show:
        return None
    hard = _limit_value(show[key])
    soft = _limit_value(show[key + "Soft"]) if key + "Soft" in show else hard
    return {"soft": soft, "hard": hard}


def has_cap_sys_resource(status_text):
    """Whether ``/proc/<pid>/status`` shows CAP_SYS_RESOURCE (bit 24) in ``CapEff``.

    A process without it cannot raise a hard limit above its own: inside an unprivileged
    container that caps every service systemd starts at PID 1's hard limit.
    """
    for line in status_text.splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) & (1 << 24))
    return False


def grantable_nofile(nr_open, init_hard=None, init_can_raise=True):
    """Highest open-file hard limit the Postfix master can be given, in file descriptors.

    The kernel refuses ``RLIMIT_NOFILE`` above ``fs.nr_open``. systemd (PID 1) sets a unit's
    limit; with CAP_SYS_RESOURCE it can go up to ``fs.nr_open``, without it (an unprivileged
    container) only up to its own hard limit ``init_hard``. ``None`` = unknown / unlimited.
    """
    candidates = [nr_open] if nr_open else []
    if not init_can_raise and init_hard:
        candidates.append(init_hard)
    return min(candidates) if candidates else None


# ---------------------------------------------------------------------------------------------
# Containers
# ---------------------------------------------------------------------------------------------


def detect_container(detect_virt=None, containerenv=False, dockerenv=False, pid1_environ=None):
    """Decide whether we run in a container.

    ``detect_virt``: stdout of ``systemd-detect-virt --container`` (``none`` or a type), or
    ``None`` if it could not run; ``containerenv``/``dockerenv``: whether ``/run/.containerenv``
    or ``/.dockerenv`` exist; ``pid1_environ``: raw bytes of ``/proc/1/environ`` (NUL-separated).

    Returns ``{"container": bool, "type": str or None, "source": str or None}``.
    """
    kind = (detect_virt or "").strip()
    if kind and kind != "none":
        return {"container": True, "type": kind, "source": "systemd-detect-virt"}
    if containerenv:
        return {"container": True, "type": "podman", "source": "/run/.containerenv"}
    if dockerenv:
        return {"container": True, "type": "docker", "source": "/.dockerenv"}
    if pid1_environ:
        for item in pid1_environ.split(b"\0"):
            if item.startswith(b"container="):
                value = item[len(b"container=") :].decode("utf-8", "replace") or "unknown"
                return {"container": True, "type": value, "source": "/proc/1/environ"}
    return {
        "container": False,
        "type": None,
        "source": "systemd-detect-virt" if kind else None,
    }


# ---------------------------------------------------------------------------------------------
# Readers (touch the host, under ``root``)
# ---------------------------------------------------------------------------------------------


def read_cpu(root="/", affinity=None, cgroup=None):
    """CPU facts: ``online`` (CPUs in /proc/cpuinfo), ``affinity`` (CPUs in the affinity mask),
    ``quota`` (cgroup CPU quota in CPUs or ``None``), ``count`` (effective CPUs), ``model``.

    ``affinity`` defaults to ``len(os.sched_getaffinity(0))`` when ``root`` is ``/``.
    """
    info = parse_cpuinfo(_read(root, "proc", "cpuinfo") or "")
    if affinity is None and root == "/" and hasattr(os, "sched_getaffinity"):
        affinity = len(os.sched_getaffinity(0))
    quota = (cgroup or {}).get("cpu_quota")
    online = info["count"] or os.cpu_count() or 1
    return {
        "online": online,
        "affinity": affinity,
        "quota": quota,
        "count": effective_cpus(online, affinity, quota),
        "model": info["model"],
    }


def read_sysctl_int(name, root="/"):
    """Integer value of a sysctl (``fs.nr_open``) from ``/proc/sys``, or ``None``."""
    return _read_with(_path(root, "proc", "sys", *name.split(".")), None, _int)


def read_sysctl(name, root="/"):
    """Raw value of a sysctl as the kernel prints it (whitespace collapsed), or ``None``."""
    text = _read(root, "proc", "sys", *name.split("."))
    return None if text is None else " ".join(text.split())


def read_filesystem(path, root="/"):
    """The file system holding ``path``: ``path`` (resolved), ``mount_point``, ``fstype``,
    ``source``, ``device`` (whole-disk kernel name or ``None``), ``rotational`` (bool or
    ``None``), plus the :func:`statvfs_summary` figures (bytes, percent).

    Returns ``None`` if ``path`` does not exist. ``root`` only relocates /proc and /sys (the
    path itself is always looked up on the live file system).
    """
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
        vfs = os.statvfs(real)
    except OSError:
        return None
    major, minor = os.major(st.st_dev), os.minor(st.st_dev)
    mounts = parse_mountinfo(_read(root, "proc", "self", "mountinfo") or "")
    mount = mount_for_path(mounts, real) or {}
    device = block_device_name(major, minor, root)
    result = {
        "path": real,
        "mount_point": mount.get("mount_point"),
        "fstype": mount.get("fstype"),
        "source": mount.get("source"),
        "device": device,
        "rotational": is_rotational(device, root) if device else None,
    }
    result.update(statvfs_summary(vfs))
    return result


def read_nofile(root="/", pid="self"):
    """Open-file soft/hard limits of ``pid`` from ``/proc/<pid>/limits`` (file descriptors)."""
    text = _read(root, "proc", str(pid), "limits")
    return parse_proc_limits(text) if text is not None else None


def parse_pid_file(text):
    """The PID in a pid file (master(8) pads it with spaces), or ``None`` if there is none."""
    fields = text.split()
    if not fields or not fields[0].isdigit() or int(fields[0]) < 1:
        return None
    return int(fields[0])


def read_master_pid(queue_directory, root="/"):
    """PID of the running Postfix master(8), or ``None`` when it is not running.

    master(8) writes its PID to ``<queue_directory>/pid/master.pid`` and leaves the file behind
    when it is killed, so the PID is trusted only if ``/proc/<pid>`` exists and, when its
    ``comm`` is readable, names ``master`` (a stale file's PID may belong to another process
    by now). ``queue_directory`` is a path on the live file system; ``root`` relocates /proc.
    """
    try:
        with open(os.path.join(queue_directory, "pid", "master.pid"), encoding="ascii") as handle:
            pid = parse_pid_file(handle.read())
    except (OSError, UnicodeDecodeError):
        return None
    if pid is None or not os.path.isdir(_path(root, "proc", str(pid))):
        return None
    comm = _read(root, "proc", str(pid), "comm")
    if comm is not None and comm.strip() != "master":
        return None
    return pid


def read_systemd_nofile(unit, run):
    """``LimitNOFILE`` systemd gives ``unit`` (file descriptors), via ``systemctl show``;
    ``unit=None`` reads the manager's ``DefaultLimitNOFILE`` (what a unit gets unless it says).

    Returns ``{"soft", "hard"}`` or ``None`` when systemd is not running or ``run`` is ``None``.
    """
    if run is None:
        return None
    prefix = "Limit" if unit else "DefaultLimit"
    argv = ["systemctl", "show", "-p", prefix + "NOFILE", "-p", prefix + "NOFILESoft"]
    rc, out, _err = run(argv + ([unit] if unit else []))
    if rc != 0:
        return None
    return systemd_nofile(parse_systemctl_show(out), prefix)


def read_container(root="/", run=None):
    """:func:`detect_container` with the evidence read from the host."""
    detect = None
    if run is not None:
        rc, out, _err = run(["systemd-detect-virt", "--container"])
        # rc 1 with "none" means "not a container"; any other failure means "could not tell".
        if rc in (0, 1) and out.strip():
            detect = out.strip()
    environ = None
    try:
        with open(_path(root, "proc", "1", "environ"), "rb") as handle:
            environ = handle.read()
    except OSError:
        pass
    return detect_container(
        detect,
        os.path.exists(_path(root, "run", ".containerenv")),
        os.path.exists(_path(root, ".dockerenv")),
        environ,
    )


def collect_system(
    path="/var/spool/postfix",
    *,
    root="/",
    run=None,
    sample_seconds=0,
    unit=None,
    pid=None,
    sysctls=(),
):
    """Everything above in one dict (the ``system`` part of baseline_info and the ``hardware``
    part of sizing_info).

    ``path``: the directory whose file system matters (the Postfix queue); ``run``: command
    runner (see module docstring) or ``None``; ``sample_seconds``: diskstats sampling interval
    (0 = no sample); ``unit``: systemd unit whose ``LimitNOFILE`` to report; ``pid``: the
    process whose open-file limits to report (the Postfix master), ``None`` to skip.

    Keys: ``cpu``, ``load``, ``memory``, ``cgroup``, ``filesystem``, ``disk_io``, ``nofile``
    (``kernel_nr_open``, ``kernel_file_max``, ``systemd`` (the unit's configured soft/hard),
    ``systemd_default`` (the manager's DefaultLimitNOFILE soft/hard),
    ``process`` (``pid``'s soft/hard), ``init`` (PID 1's soft/hard), ``init_can_raise``
    (PID 1 holds CAP_SYS_RESOURCE), ``grantable`` (see :func:`grantable_nofile`)),
    ``container``. Units as documented on each helper.
    """
    cgroup = read_cgroup_limits(root)
    meminfo = parse_meminfo(_read(root, "proc", "meminfo") or "")
    loadavg = _read(root, "proc", "loadavg")
    filesystem = read_filesystem(path, root) if path else None
    device = filesystem["device"] if filesystem else None
    nr_open = read_sysctl_int("fs.nr_open", root)
    systemd = read_systemd_nofile(unit, run) if unit else None
    systemd_default = read_systemd_nofile(None, run)
    process = read_nofile(root, pid) if pid else None
    init = read_nofile(root, 1)
    init_status = _read(root, "proc", "1", "status")
    init_can_raise = has_cap_sys_resource(init_status) if init_status is not None else True
    return {
        "cpu": read_cpu(root, cgroup=cgroup),
        "load": parse_loadavg(loadavg) if loadavg else None,
        "memory": memory_summary(meminfo, cgroup["memory_limit"], cgroup["memory_usage"]),
        "cgroup": cgroup,
        "filesystem": filesystem,
        "disk_io": sample_diskstats(device, sample_seconds, root) if sample_seconds else None,
        "nofile": {
            "kernel_nr_open": nr_open,
            "kernel_file_max": read_sysctl_int("fs.file-max", root),
            "systemd": systemd,
            "systemd_default": systemd_default,
            "process": process,
            "init": init,
            "init_can_raise": init_can_raise,
            "grantable": grantable_nofile(nr_open, (init or {}).get("hard"), init_can_raise),
        },
        "container": read_container(root, run),
        "sysctl": {name: read_sysctl(name, root) for name in sysctls},
    }


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------


def _path(root, *parts):
    return os.path.join(root, *parts)


def _read(root, *parts):
    try:
        with open(_path(root, *parts), encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def _read_with(directory, name, parse):
    text = _read(directory, name) if name else _read(directory)
    if text is None:
        return None
    try:
        return parse(text)
    except ValueError:
        return None


def _int(text):
    return int(text.strip())


def _min_into(result, key, value):
    if value is not None and (result[key] is None or value < result[key]):
        result[key] = value


def _percent(part, whole):
    return round(100.0 * part / whole, 1) if whole else 0.0


def _unescape_mount(text):
    # mountinfo escapes space, tab, newline and backslash as octal (\040 ...).
    if "\\" not in text:
        return text
    out = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 3 < len(text) and text[i + 1 : i + 4].isdigit():
            out.append(chr(int(text[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)
