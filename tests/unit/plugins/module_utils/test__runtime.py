# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/module_utils/_runtime.py.

The parsers are fed real ``ss -Hltn``, ``systemctl show``, ``/proc/<pid>/limits``,
``/proc/<pid>/cgroup`` and ``postconf -M`` output from Debian 12 and 13
(tests/unit/fixtures/runtime/README.md says how each was captured). :func:`collect` runs against
a fake ``run`` with that output and a fixture tree for /proc and /etc/systemd. The ``files`` and
``contents`` readers run on real files in tmp_path.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pathlib
import pwd
import stat
import subprocess
import tempfile

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils import _runtime as rt
from ansible_collections.sbs.postfix.plugins.module_utils._postconf import parse_postconf_M

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "unit" / "fixtures" / "runtime"
# postconf -d and -m of Debian 12's Postfix 3.7.11 with postfix-lmdb, shared with the tls tests.
TLS_FIXTURES = FIXTURES.parent / "tls"
SERVICES_DB = {"smtp": 25, "submission": 587, "submissions": 465, "smtps": 465}


POSTCONF_M = (TLS_FIXTURES / "postconf-m-3.7.11-lmdb.txt").read_text()


def fixture(name):
    return (FIXTURES / name).read_text()


def getservbyname(name, proto):
    assert proto == "tcp"
    if name not in SERVICES_DB:
        raise OSError("service/proto not found")
    return SERVICES_DB[name]


# -- ss -Hltn ----------------------------------------------------------------------------------


def test_parse_ss_debian12_after_a_reload():
    sockets = rt.parse_ss_listen(fixture("debian12-ss-Hltn-before.txt"))
    assert sockets == [
        {"address": "0.0.0.0", "port": 587, "backlog": 150, "queued": 0},
        {"address": "0.0.0.0", "port": 25, "backlog": 100, "queued": 0},
        {"address": "127.0.0.1", "port": 10025, "backlog": 150, "queued": 0},
        {"address": "::", "port": 587, "backlog": 150, "queued": 0},
        {"address": "::", "port": 25, "backlog": 100, "queued": 0},
    ]


def test_parse_ss_debian13():
    sockets = rt.parse_ss_listen(fixture("debian13-ss-Hltn.txt"))
    assert [(s["address"], s["port"], s["backlog"]) for s in sockets] == [
        ("0.0.0.0", 25, 100),
        ("::", 25, 100),
    ]


def test_parse_ss_header_interfaces_and_wildcards():
    text = (
        "State  Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
        "LISTEN 0      4096   127.0.0.53%lo:53        0.0.0.0:*          \n"
        "LISTEN 3      128                *:22              *:*          \n"
        "LISTEN 0      100    [fe80::1%eth0]:25          [::]:*          \n"
        "LISTEN 0      100    [::ffff:127.0.0.1]:2525    [::]:*\n"
        "garbage\n"
    )
    assert rt.parse_ss_listen(text) == [
        {"address": "127.0.0.53", "port": 53, "backlog": 4096, "queued": 0},
        {"address": "*", "port": 22, "backlog": 128, "queued": 3},
        {"address": "fe80::1", "port": 25, "backlog": 100, "queued": 0},
        {"address": "::ffff:127.0.0.1", "port": 2525, "backlog": 100, "queued": 0},
    ]


# -- systemctl show ----------------------------------------------------------------------------


def test_unit_debian12_drop_in_written_but_not_loaded():
    unit = rt.parse_unit_show(fixture("debian12-systemctl-show-dropin-not-loaded.txt"))
    assert unit == {
        "name": "postfix@-.service",
        "load_state": "loaded",
        "active_state": "active",
        "sub_state": "running",
        "main_pid": None,  # Type=forking without PIDFile on Debian 12
        "invocation_id": "33d3266dc9b743a2aa5cf89ca6f89792",
        "limit_nofile": {"soft": 1024, "hard": 524288},
        "need_daemon_reload": False,
        "drop_in_paths": [],
        "fragment_path": "/lib/systemd/system/postfix@.service",
    }


def test_unit_debian12_after_daemon_reload_and_restart():
    unit = rt.parse_unit_show(fixture("debian12-systemctl-show-after.txt"))
    assert unit["limit_nofile"] == {"soft": 8192, "hard": 8192}
    assert unit["drop_in_paths"] == ["/etc/systemd/system/postfix@-.service.d/60-sbs-tuning.conf"]
    assert unit["invocation_id"] == "e6f07ae89e244bffb415d6c802720889"
    assert unit["need_daemon_reload"] is False


def test_unit_debian12_drop_in_changed():
    assert rt.parse_unit_show(fixture("debian12-systemctl-show-need-daemon-reload.txt"))[
        "need_daemon_reload"
    ]


def test_unit_debian13_has_a_main_pid():
    unit = rt.parse_unit_show(fixture("debian13-systemctl-show.txt"))
    assert unit["name"] == "postfix.service"
    assert unit["main_pid"] == 224
    assert unit["fragment_path"] == "/usr/lib/systemd/system/postfix.service"
    new = rt.parse_unit_show(fixture("debian13-systemctl-show-new-dropin.txt"))
    assert new["need_daemon_reload"] is True


def test_unit_not_found():
    unit = rt.parse_unit_show(fixture("debian12-systemctl-show-not-found.txt"))
    assert unit["load_state"] == "not-found"
    assert unit["invocation_id"] is None
    assert unit["fragment_path"] is None


# -- which unit, which drop-ins ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (fixture("debian12-master-cgroup-v1.txt"), "postfix@-.service"),
        ("0::/system.slice/postfix.service\n", "postfix.service"),
        ("0::/system.slice/system-postfix.slice/postfix@-.service\n", "postfix@-.service"),
        ("1:name=systemd:/user.slice/user-0.slice/session-3.scope\n0::/init.scope\n", None),
        ("", None),
    ],
)
def test_unit_from_cgroup(text, expected):
    assert rt.unit_from_cgroup(text) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("postfix@-", "postfix@-.service"),
        ("postfix", "postfix.service"),
        ("postfix.service", "postfix.service"),
        ("postfix@-.service", "postfix@-.service"),
        (None, None),
        ("", None),
    ],
)
def test_unit_name(name, expected):
    assert rt.unit_name(name) == expected


def test_dropin_directories():
    assert rt.dropin_directories("postfix@-.service") == [
        "postfix@-.service.d",
        "postfix@.service.d",
        "service.d",
    ]
    assert rt.dropin_directories("postfix.service") == ["postfix.service.d", "service.d"]


def _listing(files):
    def listing(directory):
        return [os.path.basename(f) for f in files if os.path.dirname(f) == directory]

    return listing


def test_dropins_not_loaded():
    on_disk = [
        "/etc/systemd/system/postfix@-.service.d/60-sbs-tuning.conf",
        "/etc/systemd/system/postfix@.service.d/10-site.conf",
        "/usr/lib/systemd/system/postfix@.service.d/10-site.conf",  # shadowed by /etc
        "/lib/systemd/system/postfix@.service.d/20-vendor.conf",
        "/etc/systemd/system/service.d/masked.conf",
    ]

    def resolve(path):
        if path.endswith("masked.conf"):
            return "/dev/null"
        return path.replace("/lib/systemd", "/usr/lib/systemd").replace("/usr/usr/", "/usr/")

    loaded = [
        "/etc/systemd/system/postfix@.service.d/10-site.conf",
        "/usr/lib/systemd/system/postfix@.service.d/20-vendor.conf",
    ]
    assert rt.dropins_not_loaded("postfix@-.service", loaded, _listing(on_disk), resolve) == [
        "/etc/systemd/system/postfix@-.service.d/60-sbs-tuning.conf"
    ]
    assert rt.dropins_not_loaded("postfix@-.service", loaded, _listing([]), resolve) == []


def test_list_conf_files(tmp_path):
    (tmp_path / "a.conf").write_text("")
    (tmp_path / "b.conf.dpkg-old").write_text("")
    assert rt.list_conf_files(str(tmp_path)) == ["a.conf"]
    assert rt.list_conf_files(str(tmp_path / "missing")) == []


# -- inet services and their sockets -----------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ("smtp", (None, 25)),
        ("submission", (None, 587)),
        ("2525", (None, 2525)),
        ("127.0.0.1:10025", ("127.0.0.1", 10025)),
        ("[::1]:smtp", ("::1", 25)),
        ("127.0.0.1:nosuch", ("127.0.0.1", None)),
        ("nosuch", (None, None)),
    ],
)
def test_service_address(service, expected):
    assert rt.service_address(service, getservbyname) == expected


def test_listener_sockets():
    sockets = rt.parse_ss_listen(fixture("debian12-ss-Hltn-before.txt"))
    assert rt.listener_sockets(sockets, None, 25) == [
        {"address": "0.0.0.0", "port": 25, "backlog": 100},
        {"address": "::", "port": 25, "backlog": 100},
    ]
    assert rt.listener_sockets(sockets, "127.0.0.1", 10025) == [
        {"address": "127.0.0.1", "port": 10025, "backlog": 150}
    ]
    assert rt.listener_sockets(sockets, "::1", 25) == []


@pytest.mark.parametrize(
    ("field", "dpl", "expected"),
    [("-", 100, 100), ("20", 100, 20), ("0", 100, 0), ("x", 100, None), ("-", None, None)],
)
def test_maxproc_effective(field, dpl, expected):
    assert rt.maxproc_effective(field, dpl) == expected


def test_service_view_of_real_postconf_M():
    services = parse_postconf_M(fixture("debian12-postconf-M-listeners.txt"))
    assert rt.service_view(services["submission/inet"], 150) == {
        "private": "n",
        "unprivileged": "-",
        "chroot": "y",
        "wakeup": "-",
        "maxproc": "20",
        "maxproc_effective": 20,
        "command": "smtpd",
        "args": ["-o", "syslog_name=postfix/submission"],
        "options": {"syslog_name": "postfix/submission"},
    }
    assert rt.service_view(services["smtp/inet"], 150)["maxproc_effective"] == 150


# -- expect ------------------------------------------------------------------------------------


def test_check_expect_normalises():
    expect, errors = rt.check_expect(
        {
            "nofile": "8192",
            "sysctl": {"net.core.somaxconn": 4096},
            "parameters": {"smtpd_helo_required": True, "default_process_limit": 150},
            "services": {"smtp/inet": {"process_limit": 150, "unpriv": "-", "chroot": False}},
        }
    )
    assert errors == []
    assert expect == {
        "nofile": 8192,
        "sysctl": {"net.core.somaxconn": "4096"},
        "parameters": {"smtpd_helo_required": "yes", "default_process_limit": "150"},
        "services": {"smtp/inet": {"maxproc": "150", "unprivileged": "-", "chroot": "no"}},
    }
    assert rt.check_expect(None) == (None, [])
    assert rt.check_expect({})[0] == {
        "nofile": None,
        "sysctl": {},
        "parameters": {},
        "services": {},
    }


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ({"limits": 1}, "expect: unknown key(s) limits"),
        ({"nofile": 0}, "expect.nofile: 0 is not a number"),
        ({"nofile": True}, "expect.nofile: True is not a number"),
        ({"nofile": "lots"}, "expect.nofile: 'lots' is not a number"),
        ({"sysctl": ["net.core.somaxconn"]}, "expect.sysctl: must be a dictionary"),
        ({"sysctl": {"net/core/somaxconn": 1}}, "is not a sysctl key"),
        ({"sysctl": {"net..core": 1}}, "is not a sysctl key"),
        ({"parameters": {"bad name": 1}}, "is not a main.cf parameter name"),
        ({"parameters": {"mynetworks": ["a"]}}, "expect.parameters.mynetworks: ['a'] is not"),
        ({"parameters": {"relayhost": None}}, "expect.parameters.relayhost: None is not"),
        ({"services": {"smtp": {"maxproc": 1}}}, "'smtp' is not name/type"),
        ({"services": {"smtp/inet": 100}}, "expect.services.smtp/inet: must be a dictionary"),
        ({"services": {"smtp/inet": {"limit": 1}}}, "unknown field 'limit'"),
        ({"services": []}, "expect.services: must be a dictionary"),
    ],
)
def test_check_expect_refuses(expect, message):
    _expect, errors = rt.check_expect(expect)
    assert any(message in error for error in errors), errors


def test_check_names():
    assert rt.check_names(["default_process_limit"], ["smtp/inet"], ["fs.file-max"]) == []
    errors = rt.check_names(["a b"], ["smtp"], ["../etc", ".x"])
    assert len(errors) == 4


# -- collect and compare, on a fake Debian 12 host ---------------------------------------------

PID = 347


class Host:
    """A Debian 12 host as the fixtures show it: Postfix running under postfix@-.service."""

    def __init__(self, tmp_path):
        self.root = tmp_path / "root"
        self.spool = tmp_path / "spool"
        self.values = {
            "queue_directory": str(self.spool),
            "default_process_limit": "150",
            "smtpd_helo_required": "no",
        }
        self.defaults = {"queue_directory": "/var/spool/postfix", "default_process_limit": "100"}
        self.outputs = {
            "postconf -M": (0, fixture("debian12-postconf-M-listeners.txt"), ""),
            "ss": (0, fixture("debian12-ss-Hltn-before.txt"), ""),
            "systemctl": (0, fixture("debian12-systemctl-show-dropin-not-loaded.txt"), ""),
            "dpkg-query": (0, fixture("debian12-dpkg-query.txt"), ""),
            "debconf-show": (0, fixture("debian12-debconf-show-postfix.txt"), ""),
            "postconf -d": (0, (TLS_FIXTURES / "postconf-d-3.7.11.txt").read_text(), ""),
            "postconf -m": lambda directory: (0, POSTCONF_M, ""),
        }
        self.missing = set()
        self.calls = []
        self.write("etc/postfix/main.cf", "")
        self.write("proc/meminfo", "MemTotal:        4014768 kB\nMemFree:  1000 kB\n")
        self.write("proc/sys/net/core/somaxconn", "4096\n")
        self.write("proc/sys/net/ipv4/ip_local_port_range", "32768\t60999\n")
        self.start(fixture("debian12-master-limits-before.txt"))
        self.write(
            "etc/systemd/system/postfix@-.service.d/60-sbs-tuning.conf",
            "[Service]\nLimitNOFILE=8192\n",
        )

    def write(self, rel, text):
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def start(self, limits):
        (self.spool / "pid").mkdir(parents=True, exist_ok=True)
        (self.spool / "pid" / "master.pid").write_text(f"{PID:>10}\n")
        self.write(f"proc/{PID}/comm", "master\n")
        self.write(f"proc/{PID}/limits", limits)
        self.write(f"proc/{PID}/cgroup", fixture("debian12-master-cgroup-v1.txt"))

    def stop(self):
        (self.spool / "pid" / "master.pid").unlink()

    def __call__(self, argv, binary=False):
        self.calls.append(" ".join(argv))
        name = argv[0]
        if name in self.missing:
            return 127, "", f"{name}: command not found"
        if name == "postconf" and argv[3:] == ["-M"]:
            return self.outputs["postconf -M"]
        if name == "postconf" and argv[1:] == ["-d"]:
            return self.outputs["postconf -d"]
        if name == "postconf" and argv[1] == "-d":
            known = [n for n in argv[2:] if n in self.defaults]
            return 0, "".join(f"{n} = {self.defaults[n]}\n" for n in known), ""
        if name == "postconf" and argv[-1] == "-m":
            return self.outputs["postconf -m"](argv[2])
        if name == "postconf":
            assert argv[1:3] == ["-c", "/etc/postfix"]
            known = [n for n in argv[3:] if n in self.values]
            return 0, "".join(f"{n} = {self.values[n]}\n" for n in known), ""
        return self.outputs[name]

    def collect(self, **kwargs):
        return rt.collect(self, root=str(self.root), getservbyname=getservbyname, **kwargs)


@pytest.fixture
def host(tmp_path):
    return Host(tmp_path)


EXPECT = {
    "nofile": 8192,
    "sysctl": {"net.core.somaxconn": 4096},
    "parameters": {"default_process_limit": 150},
    "services": {"smtp/inet": {"maxproc": "-"}, "submission/inet": {"maxproc": 20}},
}


def _expect(**changes):
    expect, errors = rt.check_expect(dict(EXPECT, **changes))
    assert errors == []
    return expect


def test_collect_reads_everything_in_one_pass(host):
    runtime, warnings = host.collect(
        parameters=["default_process_limit", "nosuchparam"],
        services=["smtp/inet", "submission/inet", "smtps/inet"],
        sysctl=["net.ipv4.ip_local_port_range"],
    )
    assert warnings == []
    assert runtime["installed"] is True
    assert runtime["running"] is True
    assert runtime["master_pid"] == PID
    assert runtime["queue_directory"] == str(host.spool)
    assert runtime["nofile"] == {"soft": 20000, "hard": 20000}
    assert runtime["somaxconn"] == 4096
    assert runtime["sysctl"] == {"net.ipv4.ip_local_port_range": "32768 60999"}
    assert runtime["default_process_limit"] == 150
    assert runtime["parameters"] == {"default_process_limit": "150", "nosuchparam": None}
    assert runtime["services"]["smtp/inet"]["maxproc_effective"] == 150
    assert runtime["services"]["submission/inet"]["maxproc"] == "20"
    assert runtime["services"]["smtps/inet"] is None
    assert runtime["unit"]["name"] == "postfix@-.service"  # from the master's cgroup
    assert runtime["unit"]["drop_ins_not_loaded"] == [
        "/etc/systemd/system/postfix@-.service.d/60-sbs-tuning.conf"
    ]
    assert runtime["daemon_reload_needed"] is True
    assert runtime["listen_backlogs"] == {
        "127.0.0.1:10025/inet": [{"address": "127.0.0.1", "port": 10025, "backlog": 150}],
        "smtp/inet": [
            {"address": "0.0.0.0", "port": 25, "backlog": 100},
            {"address": "::", "port": 25, "backlog": 100},
        ],
        "submission/inet": [
            {"address": "0.0.0.0", "port": 587, "backlog": 150},
            {"address": "::", "port": 587, "backlog": 150},
        ],
    }
    assert runtime["listen_backlog_expected"] == 150
    assert "mismatches" not in runtime
    assert "restart_reasons" not in runtime
    # Only reads: postconf (values, then master.cf), systemctl show, ss.
    assert [c.split()[0].rpartition("/")[2] for c in host.calls] == [
        "postconf",
        "postconf",
        "systemctl",
        "ss",
    ]
    assert host.calls[2].startswith("systemctl show -p Id -p LoadState")
    assert host.calls[2].endswith(" postfix@-.service")


def test_first_run_needs_daemon_reload_and_one_restart(host):
    runtime, _warnings = host.collect(service="postfix@-", expect=_expect())
    assert runtime["daemon_reload_needed"] is True
    assert runtime["restart_reasons"] == [
        "open-file limit 20000 -> 8192 (LimitNOFILE)",
        "listen backlog of smtp/inet 100 -> 150 (0.0.0.0:25, [::]:25; set when master(8) "
        "opens the socket)",
    ]
    fixes = {(m["what"], m["fix"]) for m in runtime["mismatches"]}
    assert fixes == {
        ("systemd drop-ins of postfix@-.service", "daemon-reload"),
        ("LimitNOFILE of postfix@-.service (loaded by systemd)", "daemon-reload"),
        ("open-file limit of the master (hard)", "restart"),
        ("listen backlog of smtp/inet on 0.0.0.0:25", "restart"),
        ("listen backlog of smtp/inet on [::]:25", "restart"),
    }
    nofile = next(m for m in runtime["mismatches"] if m["what"].startswith("open-file"))
    assert nofile == {
        "what": "open-file limit of the master (hard)",
        "expected": 8192,
        "in_force": 20000,
        "fix": "restart",
        "detail": f"/proc/{PID}/limits; fixed when the master starts",
    }
    assert all(m["fix"] in rt.FIXES for m in runtime["mismatches"])


def test_after_daemon_reload_and_restart_everything_is_in_force(host):
    host.outputs["systemctl"] = (0, fixture("debian12-systemctl-show-after.txt"), "")
    host.outputs["ss"] = (0, fixture("debian12-ss-Hltn-after.txt"), "")
    host.start(fixture("debian12-master-limits-after.txt"))
    runtime, warnings = host.collect(service="postfix@-.service", expect=_expect())
    assert warnings == []
    assert runtime["mismatches"] == []
    assert runtime["restart_reasons"] == []
    assert runtime["daemon_reload_needed"] is False
    assert runtime["unit"]["drop_ins_not_loaded"] == []


def test_a_changed_drop_in_asks_for_daemon_reload(host):
    host.outputs["systemctl"] = (0, fixture("debian12-systemctl-show-need-daemon-reload.txt"), "")
    host.start(fixture("debian12-master-limits-after.txt"))
    runtime, _warnings = host.collect(service="postfix@-", expect=_expect(nofile=4096))
    assert runtime["daemon_reload_needed"] is True
    assert [m["fix"] for m in runtime["mismatches"]][:2] == ["daemon-reload", "daemon-reload"]
    assert runtime["restart_reasons"][0] == "open-file limit 8192 -> 4096 (LimitNOFILE)"


def test_files_and_kernel_that_differ_are_fixed_by_no_service_action(host):
    host.outputs["ss"] = (0, fixture("debian12-ss-Hltn-after.txt"), "")
    expect = _expect(
        nofile=None,
        sysctl={"net.core.somaxconn": 8192},
        parameters={"default_process_limit": 150, "smtpd_helo_required": True},
        services={"submission/inet": {"maxproc": 30}, "smtps/inet": {"maxproc": 10}},
    )
    runtime, _warnings = host.collect(service="postfix@-", expect=expect)
    none = [(m["what"], m["expected"], m["in_force"]) for m in runtime["mismatches"]]
    assert none[1:] == [
        ("sysctl net.core.somaxconn", "8192", "4096"),
        ("main.cf smtpd_helo_required", "yes", "no"),
        ("master.cf smtps/inet maxproc", "10", None),
        ("master.cf submission/inet maxproc", "30", "20"),
    ]
    assert runtime["mismatches"][0]["what"] == "systemd drop-ins of postfix@-.service"
    assert all(m["fix"] == "none" for m in runtime["mismatches"][1:])
    assert runtime["restart_reasons"] == []


def test_expected_values_set_the_expected_backlog(host):
    host.outputs["ss"] = (0, fixture("debian12-ss-Hltn-after.txt"), "")
    # smtp/inet asked for 300 processes, but the kernel caps the backlog at somaxconn 256.
    expect = _expect(
        nofile=None,
        sysctl={"net.core.somaxconn": 256},
        services={"smtp/inet": {"maxproc": 300}},
    )
    runtime, _warnings = host.collect(expect=expect)
    assert runtime["listen_backlog_expected"] == 256
    assert "listen backlog of smtp/inet 150 -> 256" in runtime["restart_reasons"][0]
    # Without the expectation, the files and /proc/sys decide: 150 is in force.
    plain, _warnings = host.collect(expect=rt.check_expect({})[0])
    assert plain["listen_backlog_expected"] == 150
    assert plain["restart_reasons"] == []


def test_not_running(host):
    host.stop()
    runtime, warnings = host.collect(service="postfix@-", expect=_expect())
    assert warnings == []
    assert runtime["running"] is False
    assert runtime["master_pid"] is None
    assert runtime["nofile"] is None
    assert runtime["listen_backlogs"] == {}
    assert runtime["restart_reasons"] == []
    assert not any(c.startswith("ss ") for c in host.calls)
    # systemd still has to read the drop-in before Postfix starts.
    assert runtime["daemon_reload_needed"] is True


def test_not_running_and_no_service_named_has_no_unit(host):
    host.stop()
    runtime, _warnings = host.collect()
    assert runtime["unit"] is None
    assert not any(c.startswith("systemctl") for c in host.calls)


def test_stale_pid_file_is_not_running(host):
    host.write(f"proc/{PID}/comm", "bash\n")
    runtime, _warnings = host.collect()
    assert runtime["running"] is False


def test_postfix_not_installed(host):
    host.stop()
    host.missing.update({"postconf"})
    expect = _expect(services={"smtp/inet": {"maxproc": 100}})
    runtime, warnings = host.collect(service="postfix@-", parameters=["relayhost"], expect=expect)
    assert warnings == []
    assert runtime["installed"] is False
    assert runtime["running"] is False
    assert runtime["parameters"] == {"relayhost": None, "default_process_limit": None}
    assert runtime["services"] == {"smtp/inet": None}
    assert runtime["default_process_limit"] is None
    assert runtime["listen_backlog_expected"] is None
    assert runtime["queue_directory"] == "/var/spool/postfix"
    details = {m["what"]: m["detail"] for m in runtime["mismatches"]}
    assert details["master.cf smtp/inet maxproc"].startswith("Postfix is not installed")


def test_no_systemd_no_ss(host):
    host.missing.update({"systemctl", "ss"})
    runtime, warnings = host.collect(service="postfix@-", expect=_expect())
    assert runtime["unit"] is None
    assert runtime["daemon_reload_needed"] is False
    assert runtime["listen_backlogs"] == {}
    assert warnings == [
        "ss -Hltn failed (rc=127): ss: command not found; listen backlogs not read "
        "(ss is in the iproute2 package)"
    ]
    # The master's own limit is still read and compared.
    assert runtime["restart_reasons"] == ["open-file limit 20000 -> 8192 (LimitNOFILE)"]


def test_unit_not_found_is_a_warning(host):
    host.outputs["systemctl"] = (0, fixture("debian12-systemctl-show-not-found.txt"), "")
    runtime, warnings = host.collect(service="nosuch", expect=_expect())
    assert runtime["unit"]["load_state"] == "not-found"
    assert runtime["unit"]["drop_ins_not_loaded"] == []
    assert "systemd unit nosuch.service is not-found" in warnings[0]
    assert not any(m["fix"] == "daemon-reload" for m in runtime["mismatches"])


def test_postconf_that_fails_is_retried_name_by_name(host):
    calls = []

    def run(argv, binary=False):
        calls.append(argv)
        if argv[0] == "postconf" and len(argv) > 4 and argv[3] != "-M":
            return 1, "", "postconf: fatal: old Postfix"
        return host(argv, binary)

    runtime, warnings = rt.collect(
        run, root=str(host.root), getservbyname=getservbyname, parameters=["nosuch"]
    )
    assert runtime["default_process_limit"] == 150
    assert runtime["parameters"] == {"nosuch": None}
    assert warnings == []


def test_postconf_failing_altogether_is_a_warning(host):
    def run(argv, binary=False):
        if argv[0] == "postconf":
            return 1, "", "postconf: fatal: open /etc/postfix/main.cf: Permission denied"
        return host(argv, binary)

    runtime, warnings = rt.collect(run, root=str(host.root), getservbyname=getservbyname)
    assert runtime["installed"] is True
    assert any("Permission denied" in w for w in warnings)


def test_an_inet_service_with_an_unknown_port_name_is_a_warning(host):
    host.outputs["postconf -M"] = (0, "nosuch inet n - y - - smtpd\n", "")
    runtime, warnings = host.collect()
    assert runtime["listen_backlogs"] == {}
    assert warnings == ["master.cf nosuch/inet: no TCP port known for 'nosuch'"]


def test_resolver_maps_links_inside_the_root(tmp_path):
    (tmp_path / "usr" / "lib").mkdir(parents=True)
    (tmp_path / "lib").symlink_to("usr/lib")
    resolve = rt._resolver(str(tmp_path))
    assert resolve("/lib/systemd/x.conf") == "/usr/lib/systemd/x.conf"
    (tmp_path / "masked.conf").symlink_to("/dev/null")
    assert resolve("/masked.conf") == "/dev/null"


def test_parse_dpkg_query_keeps_only_installed_packages():
    assert rt.parse_dpkg_query(fixture("debian12-dpkg-query.txt")) == {
        "opendkim": "2.11.0~beta2-8+deb12u1",
        "postfix": "3.7.11-0+deb12u1",
        "postfix-lmdb": "3.7.11-0+deb12u1",
    }
    # Architecture-qualified names (multi-arch) count as the package; half-installed does not.
    text = "libc6:amd64\tii \t2.36-9\npostfix\tiF \t3.7.11-0+deb12u1\n"
    assert rt.parse_dpkg_query(text) == {"libc6": "2.36-9"}


def test_packages_are_read_only_when_asked(host):
    runtime, _warnings = host.collect(service="postfix@-")
    assert runtime["packages"] == {}
    assert not any(call.startswith("dpkg-query") for call in host.calls)
    runtime, warnings = host.collect(packages=["postfix", "opendkim-tools", "postfix-mysql"])
    assert warnings == []
    assert runtime["packages"] == {
        "postfix": "3.7.11-0+deb12u1",
        "opendkim-tools": None,
        "postfix-mysql": None,
    }
    assert runtime["packages_missing"] == ["opendkim-tools", "postfix-mysql"]


def test_packages_without_dpkg_query_are_unknown_with_a_warning(host):
    host.missing.add("dpkg-query")
    runtime, warnings = host.collect(packages=["postfix"])
    assert runtime["packages"] == {"postfix": None}
    assert runtime["packages_missing"] == ["postfix"]
    assert warnings == ["dpkg-query is missing: installed packages not read"]


def test_capabilities_of_the_installed_postfix(host):
    runtime, warnings = host.collect(capabilities=True)
    assert warnings == []
    postfix = runtime["postfix"]
    assert postfix["version"] == "3.7.11"
    assert len(postfix["parameter_names"]) == 1043
    assert {"smtpd_tls_chain_files", "tls_ssl_options", "mail_version"} <= set(
        postfix["parameter_names"]
    )
    assert {"lmdb", "hash", "cidr", "texthash"} <= set(postfix["map_types"])
    assert "postconf -c /etc/postfix -m" in host.calls
    assert host.collect()[0]["postfix"] is None


def test_capabilities_before_main_cf_exists_use_a_scratch_configuration(host):
    asked = []

    def map_types(directory):
        asked.append(directory)
        if directory == "/etc/postfix":
            return 1, "", "postconf: fatal: open /etc/postfix/main.cf: No such file or directory"
        assert os.path.isfile(os.path.join(directory, "main.cf"))
        return 0, POSTCONF_M, ""

    host.outputs["postconf -m"] = map_types
    runtime, warnings = host.collect(capabilities=True)
    assert warnings == []
    assert "lmdb" in runtime["postfix"]["map_types"]
    assert asked[0] == "/etc/postfix" and not os.path.exists(asked[1])


def test_capabilities_of_a_host_without_postfix(host):
    host.stop()
    host.missing.add("postconf")
    runtime, warnings = host.collect(capabilities=True)
    assert warnings == []
    assert runtime["postfix"] is None
    assert not any(call.startswith("postconf -d") for call in host.calls)


def test_check_names_refuses_a_package_name_that_is_not_debian():
    assert rt.check_names([], [], [], ["postfix", "Postfix", "-rf"]) == [
        "packages: 'Postfix' is not a Debian package name",
        "packages: '-rf' is not a Debian package name",
    ]


def test_debconf_answers_are_read_only_when_asked(host):
    assert host.collect()[0]["debconf"] == {}
    runtime, warnings = host.collect(debconf=["postfix"])
    assert warnings == []
    answers = runtime["debconf"]
    assert answers["postfix/main_mailer_type"] == "No configuration"
    assert answers["postfix/mynetworks"] == "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128"
    assert answers["postfix/root_address"] == ""
    assert "debconf-show postfix" in host.calls


def test_debconf_without_debconf_show_is_unknown_with_a_warning(host):
    host.missing.add("debconf-show")
    runtime, warnings = host.collect(debconf=["postfix"])
    assert runtime["debconf"] is None
    assert warnings == ["debconf-show is missing: debconf answers not read"]


def test_installed_but_not_configured_reads_the_defaults_without_a_warning(host):
    host.stop()
    (host.root / "etc/postfix/main.cf").unlink()
    runtime, warnings = host.collect(service="postfix@-", parameters=["queue_directory"])
    assert warnings == []
    assert runtime["installed"] is True
    assert runtime["configured"] is False
    assert runtime["parameters"] == {"queue_directory": "/var/spool/postfix"}
    assert runtime["default_process_limit"] == 100
    assert not any(call.endswith("-M") for call in host.calls)


def test_memory_total_is_meminfo_or_a_tighter_cgroup_limit(host):
    assert host.collect()[0]["memory_total"] == 4014768 * 1024
    host.write("proc/self/cgroup", "0::/sbs\n")
    host.write("sys/fs/cgroup/cgroup.controllers", "memory\n")
    host.write("sys/fs/cgroup/sbs/memory.max", str(1024**3) + "\n")
    assert host.collect()[0]["memory_total"] == 1024**3
    (host.root / "proc/meminfo").unlink()
    assert host.collect()[0]["memory_total"] is None


# -- units: one systemctl show for several units -----------------------------------------------

# debian13-systemctl-show-units.txt is not a capture: it is written from the captured Debian 13
# output above (debian13-systemctl-show.txt, debian12-systemctl-show-not-found.txt) for
# `systemctl show -p Id -p LoadState -p ActiveState -p SubState -p UnitFileState -p MainPID
# postfix.service opendkim.service` on a host without opendkim: the properties in the order
# systemd prints them (service properties first, UnitFileState after SubState), one block per
# unit, blocks separated by an empty line.
UNITS_SHOW = fixture("debian13-systemctl-show-units.txt")
POSTFIX_UNIT = {
    "load": "loaded",
    "active": "active",
    "sub": "running",
    "enabled": "enabled",
    "main_pid": 224,
}
MISSING_UNIT = {
    "load": "not-found",
    "active": "inactive",
    "sub": "dead",
    "enabled": None,
    "main_pid": None,
}


def test_parse_units_show_two_units_one_not_found():
    blocks = rt.parse_units_show(UNITS_SHOW, 2)
    assert [block["Id"] for block in blocks] == ["postfix.service", "opendkim.service"]
    assert [rt.unit_state(block) for block in blocks] == [POSTFIX_UNIT, MISSING_UNIT]


def test_parse_units_show_one_unit_and_trailing_blank_lines():
    blocks = rt.parse_units_show(fixture("debian13-systemctl-show.txt") + "\n\n", 1)
    assert rt.unit_state(blocks[0])["main_pid"] == 224


def test_parse_units_show_that_cannot_be_matched_is_none():
    assert rt.parse_units_show(UNITS_SHOW, 3) is None
    assert rt.parse_units_show("", 1) is None


def test_unit_state_of_a_unit_that_is_not_a_service():
    show = {"Id": "postfix.timer", "LoadState": "loaded", "ActiveState": "inactive"}
    show |= {"SubState": "dead", "UnitFileState": "static"}
    assert rt.unit_state(show) == {
        "load": "loaded",
        "active": "inactive",
        "sub": "dead",
        "enabled": "static",
        "main_pid": None,
    }


def test_read_units_asks_systemctl_once_in_the_order_given():
    calls = []

    def run(argv, binary=False):
        calls.append(argv)
        return 0, UNITS_SHOW, ""

    warnings = []
    units = rt.read_units(run, ["postfix", "opendkim.service"], warnings)
    assert units == {"postfix": POSTFIX_UNIT, "opendkim.service": MISSING_UNIT}
    assert warnings == []
    assert calls == [
        [
            "systemctl",
            "show",
            *("-p", "Id", "-p", "LoadState", "-p", "ActiveState", "-p", "SubState"),
            *("-p", "UnitFileState", "-p", "MainPID"),
            "postfix.service",
            "opendkim.service",
        ]
    ]
    assert rt.read_units(run, [], warnings) == {}
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("answer", "warning"),
    [
        ((127, "", "systemctl: command not found"), "systemctl is missing: units not read"),
        (
            (1, "", "System has not been booted with systemd as init system (PID 1).\n"),
            "systemctl show failed (rc=1): System has not been booted with systemd as init "
            "system (PID 1).; units not read",
        ),
        (
            (0, fixture("debian13-systemctl-show.txt"), ""),
            "systemctl show printed another number of units than the 2 asked for; units not read",
        ),
    ],
)
def test_units_that_cannot_be_read_are_null_with_a_warning(answer, warning):
    warnings = []
    units = rt.read_units(lambda argv, binary=False: answer, ["postfix", "opendkim"], warnings)
    assert units == {"postfix": None, "opendkim": None}
    assert warnings == [warning]


# -- files and contents ------------------------------------------------------------------------

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (stat.S_IFREG | 0o640, "0640"),
        (stat.S_IFDIR | 0o2750, "2750"),
        (stat.S_IFREG | 0o4755, "4755"),
        (stat.S_IFDIR | 0o1777, "1777"),
        (stat.S_IFREG, "0000"),
    ],
)
def test_file_mode_is_four_octal_digits_as_stat_writes_it(mode, expected):
    assert rt.file_mode(mode) == expected


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (stat.S_IFREG, "file"),
        (stat.S_IFDIR, "directory"),
        (stat.S_IFIFO, "other"),
        (stat.S_IFSOCK, "other"),
        (stat.S_IFCHR, "other"),
    ],
)
def test_file_type(mode, expected):
    assert rt.file_type(mode) == expected


def test_owner_and_group_without_a_name_are_the_number():
    def nobody(_id):
        raise KeyError(_id)

    assert rt.owner_name(54321, nobody) == "54321"
    assert rt.group_name(54322, nobody) == "54322"
    assert rt.owner_name(0) == "root"


@pytest.fixture
def tree(tmp_path):
    """/etc/opendkim.conf (0640), /etc/opendkim/keys (setgid 2750), a link to the first, a
    link to nothing, and a link that points at itself."""
    root = tmp_path / "root"
    (root / "etc" / "opendkim" / "keys").mkdir(parents=True)
    conf = root / "etc" / "opendkim.conf"
    conf.write_bytes(b"Syslog yes\nSocket local:/run/opendkim/opendkim.sock\n")
    conf.chmod(0o640)
    (root / "etc" / "opendkim" / "keys").chmod(0o2750)
    (root / "etc" / "opendkim" / "conf-link").symlink_to("../opendkim.conf")
    (root / "etc" / "opendkim" / "dangling").symlink_to("nosuch")
    (root / "etc" / "opendkim" / "loop").symlink_to("loop")
    return root


def test_read_files_of_a_real_tree(tree):
    data = (tree / "etc" / "opendkim.conf").read_bytes()
    warnings = []
    files = rt.read_files(
        [
            "/etc/opendkim.conf",
            "/etc/opendkim/keys",
            "/etc/opendkim/conf-link",
            "/etc/opendkim/dangling",
            "/etc/nosuch.conf",
            "/etc/opendkim.conf/below-a-file",
        ],
        warnings,
        str(tree),
    )
    assert warnings == []
    assert files["/etc/opendkim.conf"] == {
        "exists": True,
        "type": "file",
        "mode": "0640",
        "owner": ME,
        "group": MY_GROUP,
        "size": len(data),
        "mtime": (tree / "etc/opendkim.conf").stat().st_mtime,
        "sha1": hashlib.sha1(data).hexdigest(),
    }
    keys = files["/etc/opendkim/keys"]
    assert (keys["exists"], keys["type"], keys["mode"], keys["sha1"]) == (
        True,
        "directory",
        "2750",
        None,
    )
    # A link is followed: the target's state, as copy/template with follow=true write it.
    assert files["/etc/opendkim/conf-link"] == files["/etc/opendkim.conf"]
    missing = dict.fromkeys(("type", "mode", "owner", "group", "size", "mtime", "sha1"))
    assert files["/etc/opendkim/dangling"] == {"exists": False, **missing}
    assert files["/etc/nosuch.conf"] == {"exists": False, **missing}
    assert files["/etc/opendkim.conf/below-a-file"] == {"exists": False, **missing}


def test_sha1_is_what_hash_sha1_gives_for_the_text_written():
    # ansible's hash filter: hashlib over the UTF-8 bytes of the string.
    text = "Domain example.org\nSelector sel2026 # é\n"
    with tempfile.NamedTemporaryFile() as handle:
        handle.write(text.encode("utf-8"))
        handle.flush()
        assert rt.file_sha1(handle.name) == hashlib.sha1(text.encode("utf-8")).hexdigest()


def test_a_large_file_is_hashed_in_blocks(tmp_path):
    data = os.urandom(3 * 64 * 1024 + 17)
    (tmp_path / "big").write_bytes(data)
    assert rt.file_sha1(str(tmp_path / "big")) == hashlib.sha1(data).hexdigest()


def test_a_file_that_cannot_be_read_has_no_sha1_and_a_warning(tree, monkeypatch):
    # Root reads any file: the permission error is simulated where the file is opened.
    def denied(path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(rt, "file_sha1", denied)
    warnings = []
    state = rt.read_file("/etc/opendkim.conf", warnings, str(tree))
    assert state["exists"] is True
    assert state["mode"] == "0640"
    assert state["sha1"] is None
    assert warnings == [
        "files: cannot read /etc/opendkim.conf (Permission denied); its sha1 is not known"
    ]


def test_a_path_that_cannot_be_looked_at_is_unknown_with_a_warning(tree):
    warnings = []
    state = rt.read_file("/etc/opendkim/loop", warnings, str(tree))
    assert state == {"exists": None, **dict.fromkeys(state.keys() - {"exists"})}
    assert warnings == [
        "files: cannot stat /etc/opendkim/loop (Too many levels of symbolic links); "
        "its state is not known"
    ]


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_owner_without_a_name_is_the_number(tree):
    os.chown(tree / "etc" / "opendkim.conf", 54321, 54322)
    state = rt.read_file("/etc/opendkim.conf", [], str(tree))
    assert (state["owner"], state["group"]) == ("54321", "54322")


def test_read_contents_of_small_public_files(tree):
    record = (FIXTURES.parent / "dkim" / "opendkim-genkey-sel2026.txt").read_bytes()
    (tree / "etc" / "opendkim" / "sel2026.txt").write_bytes(record)
    (tree / "etc" / "latin1.txt").write_bytes(b"caf\xe9\n")
    (tree / "etc" / "limit.txt").write_bytes(b"x" * rt.CONTENTS_LIMIT)
    (tree / "etc" / "large.pem").write_bytes(b"x" * (rt.CONTENTS_LIMIT + 1))
    warnings = []
    contents = rt.read_contents(
        [
            "/etc/opendkim/sel2026.txt",
            "/etc/latin1.txt",
            "/etc/limit.txt",
            "/etc/large.pem",
            "/etc/nosuch.txt",
            "/etc/opendkim/keys",
            "/etc/opendkim/loop",
        ],
        warnings,
        str(tree),
    )
    assert contents["/etc/opendkim/sel2026.txt"] == record.decode("utf-8")
    assert contents["/etc/latin1.txt"] == "caf\ufffd\n"
    assert len(contents["/etc/limit.txt"]) == 64 * 1024
    assert contents["/etc/large.pem"] is None
    assert contents["/etc/nosuch.txt"] is None
    assert contents["/etc/opendkim/keys"] is None
    assert contents["/etc/opendkim/loop"] is None
    assert warnings == [
        "contents: /etc/large.pem has 65537 bytes, more than 65536; not read (contents is for "
        "small public files such as DKIM records and certificates)",
        "contents: /etc/opendkim/keys is not a regular file; not read",
        "contents: cannot read /etc/opendkim/loop (Too many levels of symbolic links); not read",
    ]


def test_check_names_refuses_relative_paths_and_names_that_are_not_units():
    assert (
        rt.check_names(
            [], [], [], files=["/etc/opendkim.conf"], contents=["/x.txt"], units=["postfix@-"]
        )
        == []
    )
    assert rt.check_names(
        [],
        [],
        [],
        files=["etc/opendkim.conf", ""],
        contents=["./x.txt"],
        units=["--now", "a b", "opendkim.service"],
    ) == [
        "files: 'etc/opendkim.conf' is not an absolute path",
        "files: '' is not an absolute path",
        "contents: './x.txt' is not an absolute path",
        "units: '--now' is not a systemd unit name",
        "units: 'a b' is not a systemd unit name",
    ]


def test_files_contents_and_units_in_the_same_collect(host):
    runtime, _warnings = host.collect()
    assert (runtime["files"], runtime["contents"], runtime["units"]) == ({}, {}, {})
    assert not any(" UnitFileState " in call for call in host.calls)
    host.write("etc/opendkim/keys/example.org/sel2026.txt", "sel2026._domainkey IN TXT ...\n")

    def run(argv, binary=False):
        if argv[0] == "systemctl" and "UnitFileState" in argv:
            host.calls.append(" ".join(argv))
            return 0, UNITS_SHOW, ""
        return host(argv, binary)

    host.calls.clear()
    runtime, warnings = rt.collect(
        run,
        root=str(host.root),
        getservbyname=getservbyname,
        service="postfix@-",
        files=["/etc/postfix/main.cf", "/etc/postfix/main.cf"],
        contents=["/etc/opendkim/keys/example.org/sel2026.txt"],
        units=["postfix", "opendkim"],
    )
    assert warnings == []
    assert runtime["files"] == {
        "/etc/postfix/main.cf": {
            "exists": True,
            "type": "file",
            "mode": rt.file_mode((host.root / "etc/postfix/main.cf").stat().st_mode),
            "owner": ME,
            "group": MY_GROUP,
            "size": 0,
            "mtime": (host.root / "etc/postfix/main.cf").stat().st_mtime,
            "sha1": hashlib.sha1(b"").hexdigest(),
        }
    }
    assert runtime["contents"] == {
        "/etc/opendkim/keys/example.org/sel2026.txt": "sel2026._domainkey IN TXT ...\n"
    }
    assert runtime["units"] == {"postfix": POSTFIX_UNIT, "opendkim": MISSING_UNIT}
    # One more command than without the options: the one systemctl show for every unit.
    assert [c.split()[0] for c in host.calls] == [
        "postconf",
        "postconf",
        "systemctl",
        "systemctl",
        "ss",
    ]
    assert host.calls[3] == (
        "systemctl show -p Id -p LoadState -p ActiveState -p SubState -p UnitFileState "
        "-p MainPID postfix.service opendkim.service"
    )


# --- public_keys ---------------------------------------------------------------------------------


def _real_run(argv, binary=False):
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout, done.stderr


def test_read_public_keys_with_the_real_openssl(tmp_path):
    key = tmp_path / "sel.private"
    key.write_bytes((FIXTURES.parent / "dkim" / "rsa512-weak-test-only.key").read_bytes())
    warnings = []
    keys = rt.read_public_keys(_real_run, [str(key), str(tmp_path / "next.private")], warnings)
    assert keys[str(key)].startswith("-----BEGIN PUBLIC KEY-----\n")
    assert "PRIVATE" not in keys[str(key)]
    # A key still to be generated: null, and no warning.
    assert keys[str(tmp_path / "next.private")] is None
    assert warnings == []


def test_read_public_keys_of_a_file_that_is_not_a_key(tmp_path):
    path = tmp_path / "KeyTable"
    path.write_text("sel._domainkey.example.org example.org:sel:/etc/dkimkeys/sel.private\n")
    warnings = []
    assert rt.read_public_keys(_real_run, [str(path)], warnings) == {str(path): None}
    assert warnings and warnings[0].startswith(f"openssl pkey -in {path} failed")


def test_read_public_keys_without_openssl(tmp_path):
    path = tmp_path / "sel.private"
    path.write_text("x")
    warnings = []
    missing = rt.read_public_keys(lambda argv, binary=False: (127, "", ""), [str(path)], warnings)
    assert missing == {str(path): None}
    assert warnings == ["openssl is missing: public keys not read"]


def test_public_keys_need_absolute_paths():
    assert rt.check_names([], [], [], public_keys=["keys/sel.private"]) == [
        "public_keys: 'keys/sel.private' is not an absolute path"
    ]
