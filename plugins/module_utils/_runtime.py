# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a running Postfix has in force, and what only a restart or a daemon-reload can change
(used by the runtime_info module).

PRIVATE to the sbs.postfix collection: the interface may change without notice.

Runs on the managed host: standard library only.

Some of what Postfix uses is fixed when a process starts and is not in any file Postfix reads
again: the open-file limit systemd gives master(8) (``LimitNOFILE`` of the unit, as loaded by
systemd, which a new drop-in changes only after ``systemctl daemon-reload``), and the listen(2)
backlog of each inet listener (max(maxproc, ``default_process_limit``), capped by
``net.core.somaxconn``, when master(8) opens the socket; a reload keeps the socket). This module
reads those from the running system (``/proc/<master pid>/limits``, ``systemctl show``,
``ss -Hltn``), reads main.cf and master.cf through ``postconf``, and compares them with what the
caller expects.

It also reads, in the same call, what a role would otherwise ask one module call each for: the
state of files (:func:`read_files`), the text of small public files (:func:`read_contents`) and
the state of systemd units (:func:`read_units`, one ``systemctl show`` for all of them). A role
reads everything once, renders on the controller and calls a writing module only for what
differs; each module call costs controller CPU, the reads do not.

Layers, as in ``_sysinfo``: ``parse_*`` and the other pure functions take real command output
or plain data; :func:`collect` runs the commands through a ``run(argv)`` callable
(:class:`._runner.CommandRunner` with ``missing_ok=True`` in the module, a fake in tests) and
reads /proc under ``root``.

Units: open-file limits in file descriptors (``None`` = unlimited), backlogs in connections
(the length of the accept queue), ports as numbers.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import re
import socket
import stat
import tempfile

from ansible_collections.sbs.postfix.plugins.module_utils import _sysinfo
from ansible_collections.sbs.postfix.plugins.module_utils._postconf import (
    normalize_value,
    parse_postconf_M,
    parse_postconf_n,
    parse_service_key,
)
from ansible_collections.sbs.postfix.plugins.module_utils._postfix_config import listen_backlog

# Read on every call: where master.pid is, and the process limit every backlog depends on.
OWN_PARAMETERS = ("queue_directory", "default_process_limit")
DEFAULT_QUEUE_DIRECTORY = "/var/spool/postfix"
SOMAXCONN = "net.core.somaxconn"

EXPECT_KEYS = ("nofile", "sysctl", "parameters", "services")
# master.cf fields as ``expect.services`` may name them (master(5)'s column names and
# ``postconf -F``'s), and the name runtime_info returns each under.
SERVICE_FIELDS = {
    "private": "private",
    "unprivileged": "unprivileged",
    "unpriv": "unprivileged",
    "chroot": "chroot",
    "wakeup": "wakeup",
    "maxproc": "maxproc",
    "process_limit": "maxproc",
    "command": "command",
}
FIXES = ("restart", "reload", "daemon-reload", "none")

# systemctl show properties read for the unit, in the order they are asked for.
UNIT_PROPERTIES = (
    "Id",
    "LoadState",
    "ActiveState",
    "SubState",
    "MainPID",
    "InvocationID",
    "LimitNOFILE",
    "LimitNOFILESoft",
    "NeedDaemonReload",
    "DropInPaths",
    "FragmentPath",
)
# systemctl show properties read for each unit of the ``units`` option (one call for all).
UNITS_PROPERTIES = ("Id", "LoadState", "ActiveState", "SubState", "UnitFileState", "MainPID")
# The largest file ``contents`` returns, in bytes: DKIM public key records and certificates are
# a few KiB; anything larger is not what the option is for (and would flood the output).
CONTENTS_LIMIT = 64 * 1024
# Block size for the sha1 of a file, as AnsibleModule.digest_from_file reads it.
_BLOCK = 64 * 1024
# Where systemd looks for a system unit's drop-in directories, highest priority first
# (systemd.unit(5), "Unit File Load Path"); a file there shadows one of the same name below.
UNIT_DIRECTORIES = (
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
)

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_SYSCTL_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_PACKAGE_RE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
# A unit name as systemd accepts it (systemd.unit(5)); never starting with "-", which systemctl
# would read as an option.
_UNIT_RE = re.compile(r"^[A-Za-z0-9:_.\\@][A-Za-z0-9:_.\\@-]*$")


# ---------------------------------------------------------------------------------------------
# Parsers (pure)
# ---------------------------------------------------------------------------------------------


def parse_ss_listen(text):
    """Parse ``ss -Hltn`` output into ``[{address, port, backlog, queued}]``.

    For a listening socket ss prints the backlog (the accept queue's length, the kernel's
    ``sk_max_ack_backlog``) as Send-Q and the connections waiting in it as Recv-Q. Columns are
    read from the right (Recv-Q, Send-Q, local, peer), so the output is read the same with or
    without the State column. ``address`` has no brackets and no ``%interface``; ``*`` stays.
    """
    sockets = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        recv_q, send_q, local = fields[-4], fields[-3], fields[-2]
        host, sep, port = local.rpartition(":")
        if not sep or not port.isdigit() or not send_q.isdigit() or not recv_q.isdigit():
            continue
        sockets.append(
            {
                "address": _plain_address(host),
                "port": int(port),
                "backlog": int(send_q),
                "queued": int(recv_q),
            }
        )
    return sockets


def _plain_address(host):
    if host.startswith("[") and "]" in host:
        host = host[1 : host.index("]")]
    return host.partition("%")[0]


def parse_unit_show(text):
    """``systemctl show -p ...`` output (see :data:`UNIT_PROPERTIES`) as the ``unit`` dict.

    Keys: ``name``, ``load_state``, ``active_state``, ``sub_state``, ``main_pid`` (int, ``None``
    when 0), ``invocation_id`` (``None`` when empty: never started since boot), ``limit_nofile``
    (``{soft, hard}`` in file descriptors as systemd has loaded it, ``None`` = unlimited),
    ``need_daemon_reload`` (bool), ``drop_in_paths`` (list), ``fragment_path``.
    """
    show = _sysinfo.parse_systemctl_show(text)
    return {
        "name": show.get("Id") or None,
        "load_state": show.get("LoadState") or None,
        "active_state": show.get("ActiveState") or None,
        "sub_state": show.get("SubState") or None,
        "main_pid": _main_pid(show),
        "invocation_id": show.get("InvocationID") or None,
        "limit_nofile": _sysinfo.systemd_nofile(show),
        "need_daemon_reload": show.get("NeedDaemonReload") == "yes",
        "drop_in_paths": show.get("DropInPaths", "").split(),
        "fragment_path": show.get("FragmentPath") or None,
    }


def parse_units_show(text, count):
    """The ``Key=value`` blocks of ``systemctl show -p ... UNIT1 UNIT2 ...``, one dict per unit
    (:func:`._sysinfo.parse_systemctl_show`), in the order the units were given.

    systemctl prints one block per unit, blocks separated by an empty line, also for a unit it
    does not know (``LoadState=not-found``). ``None`` when the output does not have ``count``
    blocks: then which block belongs to which unit cannot be told.
    """
    blocks = [block for block in re.split(r"\n[ \t]*\n", text.strip("\n")) if block.strip()]
    if len(blocks) != count:
        return None
    return [_sysinfo.parse_systemctl_show(block) for block in blocks]


def unit_state(show):
    """A unit as the ``units`` option returns it, from one :func:`parse_units_show` block:
    ``load`` (``LoadState``), ``active`` (``ActiveState``), ``sub`` (``SubState``),
    ``enabled`` (``UnitFileState``; ``None`` when empty, as for a unit that is not found) and
    ``main_pid`` (``MainPID``; ``None`` when 0 or not a service)."""
    return {
        "load": show.get("LoadState") or None,
        "active": show.get("ActiveState") or None,
        "sub": show.get("SubState") or None,
        "enabled": show.get("UnitFileState") or None,
        "main_pid": _main_pid(show),
    }


def _main_pid(show):
    """``MainPID`` as an int; ``None`` when 0 (not running) or absent (not a service)."""
    main_pid = show.get("MainPID", "")
    return int(main_pid) if main_pid.isdigit() and int(main_pid) > 0 else None


def file_type(mode):
    """``file``, ``directory`` or ``other`` (device, socket, FIFO) for an ``st_mode``."""
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    return "other"


def file_mode(mode):
    """The permission bits of an ``st_mode`` as ansible.builtin.stat writes them: four octal
    digits, setuid, setgid and sticky included (``0640``, ``2750``)."""
    return f"{stat.S_IMODE(mode):04o}"


def owner_name(uid, getpwuid=pwd.getpwuid):
    """The user name of ``uid``; the number as a string when the host has no name for it."""
    try:
        return getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def group_name(gid, getgrgid=grp.getgrgid):
    """The group name of ``gid``; the number as a string when the host has no name for it."""
    try:
        return getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def unit_from_cgroup(text):
    """The systemd service a process runs in, from its ``/proc/<pid>/cgroup``, or ``None``.

    ``0::/system.slice/system-postfix.slice/postfix@-.service`` (cgroup v2) or
    ``1:name=systemd:/system.slice/postfix.service`` (v1) name it as the last path component
    that ends in ``.service``.
    """
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3 or parts[1] not in ("", "name=systemd"):
            continue
        for component in reversed(parts[2].split("/")):
            if component.endswith(".service"):
                return component
    return None


def unit_name(name):
    """``postfix@-`` -> ``postfix@-.service``: systemctl's own default suffix, written out so
    that drop-in directories can be named."""
    if not name:
        return None
    return (
        name if "." in name.rpartition("@")[2] or name.endswith(".service") else name + ".service"
    )


def dropin_directories(unit):
    """Names of the directories systemd reads drop-ins of ``unit`` from, most specific first:
    ``postfix@-.service.d``, then the template's ``postfix@.service.d``, then ``service.d``."""
    names = [unit + ".d"]
    prefix, at, rest = unit.partition("@")
    if at:
        names.append(f"{prefix}@.{rest.rpartition('.')[2]}.d")
    names.append(unit.rpartition(".")[2] + ".d")
    return names


def dropins_not_loaded(unit, loaded, listing, resolve=os.path.realpath):
    """Drop-in files systemd would read for ``unit`` that it has not loaded.

    ``loaded`` is ``DropInPaths``; ``listing(directory)`` returns the ``*.conf`` file names in
    a directory (empty when it does not exist); ``resolve`` follows symbolic links (``/lib`` is
    ``/usr/lib`` on a merged-/usr system; a drop-in linked to ``/dev/null`` is masked, not
    missing). Of files with the same name the one in the
    directory with the highest priority counts (:data:`UNIT_DIRECTORIES`). systemd does not
    flag a drop-in in a directory that did not exist at its last reload as ``NeedDaemonReload``,
    which is why this looks at the disk.
    """
    loaded_real = {resolve(path) for path in loaded}
    seen = set()
    missing = []
    for base in UNIT_DIRECTORIES:
        for directory in dropin_directories(unit):
            path = os.path.join(base, directory)
            for name in sorted(listing(path)):
                if name in seen:
                    continue
                seen.add(name)
                full = os.path.join(path, name)
                real = resolve(full)
                if real == "/dev/null" or real in loaded_real:
                    continue
                missing.append(full)
    return missing


def list_conf_files(directory):
    """``*.conf`` names in ``directory``; nothing when it does not exist."""
    try:
        return [name for name in os.listdir(directory) if name.endswith(".conf")]
    except OSError:
        return []


def service_address(service, getservbyname=socket.getservbyname):
    """Host and port of an inet service's name field: ``smtp`` -> ``(None, 25)``,
    ``127.0.0.1:10025`` -> ``("127.0.0.1", 10025)``, ``[::1]:submission`` -> ``("::1", 587)``.
    The port is ``None`` when the name is not in the services database."""
    host, sep, port = service.rpartition(":")
    if not sep:
        host, port = None, service
    elif host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if port.isdigit():
        return host or None, int(port)
    try:
        return host or None, getservbyname(port, "tcp")
    except OSError:
        return host or None, None


def listener_sockets(sockets, host, port):
    """The sockets in ``sockets`` (:func:`parse_ss_listen`) that an inet service bound to
    ``host`` (``None``: every address, as ``inet_interfaces`` says) and ``port`` listens on."""
    return [
        {"address": s["address"], "port": s["port"], "backlog": s["backlog"]}
        for s in sockets
        if s["port"] == port and (host is None or s["address"] == host)
    ]


def maxproc_effective(field, default_process_limit):
    """The process limit a maxproc field means: ``-`` is ``default_process_limit``, ``0`` is no
    limit (returned as 0). ``None`` when not a number."""
    if field == "-":
        return default_process_limit
    return int(field) if field.isdigit() else None


def service_view(entry, default_process_limit):
    """A master.cf entry as runtime_info returns it."""
    return {
        "private": entry["private"],
        "unprivileged": entry["unprivileged"],
        "chroot": entry["chroot"],
        "wakeup": entry["wakeup"],
        "maxproc": entry["process_limit"],
        "maxproc_effective": maxproc_effective(entry["process_limit"], default_process_limit),
        "command": entry["command"],
        "args": entry["args"],
        "options": entry["options"],
    }


# ---------------------------------------------------------------------------------------------
# expect
# ---------------------------------------------------------------------------------------------


def _scalar(value):
    """A value as Postfix or the kernel writes it: YAML's true/false become yes/no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def check_expect(expect):
    """Validate and normalise the ``expect`` option.

    Returns ``(normalised, errors)``: ``nofile`` an int, every other value a string, service
    field names as runtime_info returns them (:data:`SERVICE_FIELDS`: ``process_limit`` and
    ``maxproc`` are ``maxproc``, ``unpriv`` is ``unprivileged``).
    """
    if expect is None:
        return None, []
    errors = []
    unknown = sorted(set(expect) - set(EXPECT_KEYS))
    if unknown:
        errors.append(
            f"expect: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(EXPECT_KEYS)}"
        )
    result = {"nofile": None, "sysctl": {}, "parameters": {}, "services": {}}
    nofile = expect.get("nofile")
    if nofile is not None:
        if isinstance(nofile, bool) or not str(nofile).strip().isdigit() or int(nofile) < 1:
            errors.append(f"expect.nofile: {nofile!r} is not a number of file descriptors (>= 1)")
        else:
            result["nofile"] = int(nofile)
    for key, pattern, what in (
        ("sysctl", _SYSCTL_RE, "a sysctl key such as net.core.somaxconn"),
        ("parameters", _NAME_RE, "a main.cf parameter name"),
    ):
        values = {} if expect.get(key) is None else expect[key]
        if not isinstance(values, dict):
            errors.append(f"expect.{key}: must be a dictionary of name: value")
            continue
        for name, value in values.items():
            if not isinstance(name, str) or not pattern.match(name) or ".." in name:
                errors.append(f"expect.{key}: {name!r} is not {what}")
            elif value is None or isinstance(value, (dict, list)):
                errors.append(f"expect.{key}.{name}: {value!r} is not a single value")
            else:
                result[key][name] = _scalar(value)
    services = {} if expect.get("services") is None else expect["services"]
    if not isinstance(services, dict):
        errors.append("expect.services: must be a dictionary of name/type: {field: value}")
        services = {}
    for key, fields in services.items():
        if parse_service_key(key) is None:
            errors.append(f"expect.services: {key!r} is not name/type (for example smtp/inet)")
            continue
        if not isinstance(fields, dict) or not fields:
            errors.append(f"expect.services.{key}: must be a dictionary such as {{maxproc: 100}}")
            continue
        result["services"][key] = {}
        for field, value in fields.items():
            if field not in SERVICE_FIELDS:
                errors.append(
                    f"expect.services.{key}: unknown field {field!r}; allowed: "
                    + ", ".join(sorted(SERVICE_FIELDS))
                )
            elif value is None or isinstance(value, (dict, list)):
                errors.append(f"expect.services.{key}.{field}: {value!r} is not a single value")
            else:
                result["services"][key][SERVICE_FIELDS[field]] = _scalar(value)
    return result, errors


def check_names(
    parameters,
    services,
    sysctl,
    packages=(),
    debconf=(),
    *,
    files=(),
    contents=(),
    units=(),
    public_keys=(),
):
    """Problems with the names in the ``parameters``, ``services``, ``sysctl``, ``packages``,
    ``debconf``, ``files``, ``contents``, ``units`` and ``public_keys`` options.

    Paths must be absolute: a relative one would be read from the directory the module happens
    to run in on the host, not the one the role means."""
    errors = [
        f"parameters: {name!r} is not a main.cf parameter name"
        for name in parameters
        if not _NAME_RE.match(name)
    ]
    errors += [
        f"services: {key!r} is not name/type (for example smtp/inet)"
        for key in services
        if parse_service_key(key) is None
    ]
    errors += [
        f"sysctl: {name!r} is not a sysctl key such as net.core.somaxconn"
        for name in sysctl
        if not _SYSCTL_RE.match(name) or ".." in name or name.startswith(".")
    ]
    errors += [
        f"{option}: {name!r} is not a Debian package name"
        for option, names in (("packages", packages), ("debconf", debconf))
        for name in names
        if not _PACKAGE_RE.match(name)
    ]
    errors += [
        f"{option}: {path!r} is not an absolute path"
        for option, paths in (
            ("files", files),
            ("contents", contents),
            ("public_keys", public_keys),
        )
        for path in paths
        if not path or not os.path.isabs(path) or "\0" in path
    ]
    errors += [
        f"units: {name!r} is not a systemd unit name" for name in units if not _UNIT_RE.match(name)
    ]
    return errors


# ---------------------------------------------------------------------------------------------
# Decisions (pure)
# ---------------------------------------------------------------------------------------------


def expected_backlogs(runtime, expect=None):
    """The listen backlog master(8) gives each inet service (:func:`listen_backlog`), from the
    configuration read and ``net.core.somaxconn``, with ``expect``'s ``default_process_limit``,
    maxproc and ``net.core.somaxconn`` taking their place when given (what will be in force once
    the expected configuration is). ``{"name/type": backlog or None}``."""
    expect = expect or {"parameters": {}, "services": {}, "sysctl": {}}
    dpl = _int_or_none(
        expect["parameters"].get("default_process_limit", runtime.get("default_process_limit"))
    )
    somaxconn = _int_or_none(expect["sysctl"].get(SOMAXCONN, runtime.get("somaxconn")))
    result = {}
    for key, entry in (runtime.get("inet_services") or {}).items():
        maxproc = expect["services"].get(key, {}).get("maxproc")
        maxproc = maxproc if maxproc is not None else entry["process_limit"]
        if dpl is None:
            result[key] = None
            continue
        result[key] = listen_backlog({"process_limit": str(maxproc)}, dpl, somaxconn)
    return result


def compare(runtime, expect):
    """``(mismatches, restart_reasons, daemon_reload_needed)`` for ``runtime`` (what
    :func:`collect` read) against ``expect`` (:func:`check_expect` output, ``None``: only the
    checks that need no expectation, for ``daemon_reload_needed``).

    ``fix`` says what brings the value in force: ``restart`` (the master's open-file limit, an
    inet listener's backlog), ``daemon-reload`` (systemd has not loaded the unit's files or
    drop-ins, or loaded another LimitNOFILE), ``none`` (no service action helps: the
    configuration files or the kernel settings themselves differ).
    """
    mismatches = []
    reasons = []
    unit = runtime.get("unit")
    dropins = (unit or {}).get("drop_ins_not_loaded") or []
    reload_needed = bool(unit and (unit["need_daemon_reload"] or dropins))
    if unit and unit["need_daemon_reload"]:
        mismatches.append(
            _mismatch(
                f"systemd unit {unit['name']}",
                "unit file as loaded",
                "changed on disk",
                "daemon-reload",
                "systemctl show says NeedDaemonReload=yes",
            )
        )
    if dropins:
        mismatches.append(
            _mismatch(
                f"systemd drop-ins of {unit['name']}",
                dropins,
                unit["drop_in_paths"],
                "daemon-reload",
                "drop-in files on disk that systemd has not loaded (not in DropInPaths)",
            )
        )
    if expect is None:
        return mismatches, reasons, reload_needed

    wanted = expect["nofile"]
    if wanted is not None:
        loaded = ((unit or {}).get("limit_nofile") or {}).get("hard", "unknown")
        if unit and unit["load_state"] == "loaded" and loaded != wanted:
            reload_needed = True
            mismatches.append(
                _mismatch(
                    f"LimitNOFILE of {unit['name']} (loaded by systemd)",
                    wanted,
                    loaded,
                    "daemon-reload",
                    "systemd starts the master with the limit it has loaded",
                )
            )
        have = (runtime.get("nofile") or {}).get("hard", "unknown")
        if runtime["running"] and have != wanted:
            mismatches.append(
                _mismatch(
                    "open-file limit of the master (hard)",
                    wanted,
                    have,
                    "restart",
                    f"/proc/{runtime['master_pid']}/limits; fixed when the master starts",
                )
            )
            reasons.append(f"open-file limit {_show(have)} -> {wanted} (LimitNOFILE)")

    for name, value in sorted(expect["sysctl"].items()):
        have = runtime["sysctl"].get(name)
        if have is None or " ".join(have.split()) != " ".join(value.split()):
            mismatches.append(
                _mismatch(
                    f"sysctl {name}",
                    value,
                    have,
                    "none",
                    f"/proc/sys/{name.replace('.', '/')}; apply the kernel setting",
                )
            )
    for name, value in sorted(expect["parameters"].items()):
        have = runtime["parameters"].get(name)
        if have is None or normalize_value(have) != normalize_value(value):
            mismatches.append(
                _mismatch(
                    f"main.cf {name}",
                    value,
                    have,
                    "none",
                    "postconf reads another value from the configuration files: apply them"
                    if runtime["installed"]
                    else _NOT_INSTALLED,
                )
            )
    for key, fields in sorted(expect["services"].items()):
        entry = runtime["services"].get(key)
        for field, value in sorted(fields.items()):
            have = None if entry is None else entry[field]
            if have != value:
                mismatches.append(
                    _mismatch(
                        f"master.cf {key} {field}",
                        value,
                        have,
                        "none",
                        _service_detail(runtime, key, entry),
                    )
                )

    if runtime["running"]:
        expected = expected_backlogs(runtime, expect)
        for key, sockets in sorted(runtime["listen_backlogs"].items()):
            want = expected.get(key)
            wrong = [s for s in sockets if want is not None and s["backlog"] != want]
            for s in wrong:
                mismatches.append(
                    _mismatch(
                        f"listen backlog of {key} on {_endpoint(s)}",
                        want,
                        s["backlog"],
                        "restart",
                        "max(maxproc, default_process_limit) capped by net.core.somaxconn, "
                        "set when master(8) opens the socket; a reload keeps it",
                    )
                )
            if wrong:
                have = "/".join(str(b) for b in sorted({s["backlog"] for s in wrong}))
                where = ", ".join(_endpoint(s) for s in wrong)
                reasons.append(
                    f"listen backlog of {key} {have} -> {want} "
                    f"({where}; set when master(8) opens the socket)"
                )
    return mismatches, reasons, reload_needed


_NOT_INSTALLED = "Postfix is not installed (no postconf): install it and apply the configuration"


def _service_detail(runtime, key, entry):
    if not runtime["installed"]:
        return _NOT_INSTALLED
    if entry is None:
        return f"postconf -M finds no {key} in master.cf: apply the configuration"
    return "postconf -M reads another value from master.cf: apply it"


def _mismatch(what, expected, in_force, fix, detail):
    return {"what": what, "expected": expected, "in_force": in_force, "fix": fix, "detail": detail}


def _endpoint(sock):
    address = sock["address"]
    return f"[{address}]:{sock['port']}" if ":" in address else f"{address}:{sock['port']}"


def _show(value):
    if value == "unknown":
        return "unknown"
    return "unlimited" if value is None else str(value)


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------
# Reading the host
# ---------------------------------------------------------------------------------------------


def read_parameters(run, config_directory, names, warnings, configured=True):
    """``{name: value}`` from ``postconf -c DIR name ...`` (values as postconf prints them:
    main.cf or Postfix's default, ``$name`` references not expanded). Names postconf does not
    know are missing from the result. ``None`` when postconf is not installed.

    Not ``configured`` (no main.cf yet: installed, not configured), Postfix's defaults are what
    it would run with, and ``postconf -d`` reads them without a main.cf."""
    source = ["-c", config_directory] if configured else ["-d"]
    rc, out, err = run(["postconf", *source, *names])
    if rc == 127:
        return None
    if rc == 0:
        return parse_postconf_n(out)
    # One unknown name fails the whole call on some Postfix versions: ask one by one.
    values = {}
    for name in names:
        rc_one, out_one, _err = run(["postconf", *source, name])
        if rc_one == 0:
            values.update(parse_postconf_n(out_one))
    if not values:
        warnings.append(f"postconf {' '.join(source)} failed (rc={rc}): {(err or '').strip()}")
    return values


def read_services(run, config_directory, warnings):
    """Every master.cf service (``postconf -c DIR -M``), parsed; ``None`` when not installed."""
    rc, out, err = run(["postconf", "-c", config_directory, "-M"])
    if rc == 127:
        return None
    if rc != 0:
        warnings.append(
            f"postconf -c {config_directory} -M failed (rc={rc}): {(err or '').strip()}"
        )
        return {}
    return parse_postconf_M(out)


def parse_dpkg_query(text):
    """``{package: version}`` for the installed packages in ``dpkg-query -W -f
    '${Package}\\t${db:Status-Abbrev}\\t${Version}\\n'`` output (status ``ii``; a package that is
    only known, removed or half-configured is not installed)."""
    installed = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) == 3 and fields[1].strip() == "ii":
            installed[fields[0].split(":")[0]] = fields[2].strip()
    return installed


def read_packages(run, names, warnings):
    """``{name: version or None}`` for ``names``; every value ``None`` (and a warning) where
    ``dpkg-query`` is missing. dpkg-query exits 1 when a name is unknown and still lists the
    others."""
    if not names:
        return {}
    rc, out, err = run(
        ["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Abbrev}\t${Version}\n", *names]
    )
    if rc not in (0, 1):
        warnings.append(
            f"dpkg-query failed (rc={rc}): {(err or '').strip()}; packages not read"
            if rc != 127
            else "dpkg-query is missing: installed packages not read"
        )
        return dict.fromkeys(names)
    installed = parse_dpkg_query(out)
    return {name: installed.get(name) for name in names}


def parse_debconf_show(text):
    """``{question: value}`` from ``debconf-show PACKAGE`` output ("* question: value", the
    star marking an answer that was seen)."""
    answers = {}
    for line in text.splitlines():
        question, sep, value = line.lstrip("* ").partition(":")
        if sep and question.strip():
            answers[question.strip()] = value.strip()
    return answers


def read_debconf(run, packages, warnings):
    """The debconf answers of each package in ``packages``, merged; ``None`` (and a warning)
    where ``debconf-show`` is missing."""
    answers = {}
    for package in packages:
        rc, out, err = run(["debconf-show", package])
        if rc == 127:
            warnings.append("debconf-show is missing: debconf answers not read")
            return None
        if rc == 0:
            answers.update(parse_debconf_show(out))
        else:
            warnings.append(f"debconf-show {package} failed (rc={rc}): {(err or '').strip()}")
    return answers


def read_public_keys(run, paths, warnings, root="/"):
    """``{path: PEM or None}``: the public half of each private key file in ``paths``, from
    ``openssl pkey -pubout`` on the host, so a role publishes what the host signs with without
    the private key ever leaving it. ``None`` without a warning where the file does not exist
    (a key still to be generated); ``None`` with a warning where openssl is missing or fails."""
    keys = {}
    for path in _unique(paths):
        if not os.path.exists(os.path.join(root, path.lstrip("/"))):
            keys[path] = None
            continue
        rc, out, err = run(["openssl", "pkey", "-in", path, "-pubout"])
        if rc == 127:
            warnings.append("openssl is missing: public keys not read")
            return dict.fromkeys(_unique(paths))
        if rc == 0 and "-----BEGIN PUBLIC KEY-----" in out:
            keys[path] = out
        else:
            keys[path] = None
            warnings.append(f"openssl pkey -in {path} failed (rc={rc}): {(err or '').strip()}")
    return keys


def read_units(run, names, warnings):
    """``{name: unit_state or None}`` for the unit names in ``names`` (as given; ``.service``
    is added for systemctl when there is no suffix, :func:`unit_name`), from ONE
    ``systemctl show`` call for all of them (:data:`UNITS_PROPERTIES`). Every value ``None``,
    with a warning, when systemctl is missing, fails (no systemd as PID 1) or prints blocks
    that cannot be matched to the names."""
    if not names:
        return {}
    args = ["systemctl", "show"]
    for prop in UNITS_PROPERTIES:
        args += ["-p", prop]
    rc, out, err = run([*args, *(unit_name(name) for name in names)])
    if rc != 0:
        warnings.append(
            "systemctl is missing: units not read"
            if rc == 127
            else f"systemctl show failed (rc={rc}): {(err or '').strip()}; units not read"
        )
        return dict.fromkeys(names)
    blocks = parse_units_show(out, len(names))
    if blocks is None:
        warnings.append(
            f"systemctl show printed another number of units than the {len(names)} asked for; "
            "units not read"
        )
        return dict.fromkeys(names)
    return {name: unit_state(block) for name, block in zip(names, blocks, strict=True)}


def file_sha1(path):
    """The hex sha1 of a file's bytes: the digest ansible.builtin.stat returns as
    ``checksum`` and copy and template compare (``AnsibleModule.sha1``), and what
    ``content | hash('sha1')`` gives for the text a role would write. Raises OSError."""
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def read_file(path, warnings, root="/", getpwuid=pwd.getpwuid, getgrgid=grp.getgrgid):
    """The state of ``path`` (read under ``root``) as the ``files`` option returns it:
    ``{exists, type, mode, owner, group, size, mtime, sha1}``.

    Symbolic links are followed: the state is the target's (a link to a missing target does
    not exist). A missing path has ``exists`` false and every other field ``None``. When
    ``stat`` itself fails for another reason (a directory on the way that cannot be searched),
    whether it exists is not known: every field ``None``, and a warning. ``sha1`` is only
    computed for a regular file; one that cannot be read gets ``None`` and a warning.
    """
    full = os.path.join(root, path.lstrip("/"))
    unknown = dict.fromkeys(("type", "mode", "owner", "group", "size", "mtime", "sha1"))
    try:
        st = os.stat(full)
    except (FileNotFoundError, NotADirectoryError):
        return {"exists": False, **unknown}
    except OSError as exc:
        warnings.append(f"files: cannot stat {path} ({exc.strerror}); its state is not known")
        return {"exists": None, **unknown}
    kind = file_type(st.st_mode)
    sha1 = None
    if kind == "file":
        try:
            sha1 = file_sha1(full)
        except OSError as exc:
            warnings.append(f"files: cannot read {path} ({exc.strerror}); its sha1 is not known")
    return {
        "exists": True,
        "type": kind,
        "mode": file_mode(st.st_mode),
        "owner": owner_name(st.st_uid, getpwuid),
        "group": group_name(st.st_gid, getgrgid),
        "size": st.st_size,
        "mtime": st.st_mtime,
        "sha1": sha1,
    }


def read_files(paths, warnings, root="/"):
    """``{path: read_file(path)}`` for each path in ``paths``."""
    return {path: read_file(path, warnings, root) for path in _unique(paths)}


def read_content(path, warnings, root="/", limit=CONTENTS_LIMIT):
    """The text of the small public file ``path`` (read under ``root``, links followed),
    decoded as UTF-8 with undecodable bytes replaced; ``None`` when it does not exist.

    ``None`` and a warning for a file larger than ``limit`` bytes, one that is not a regular
    file (a FIFO would block the read) and one that cannot be read. At most ``limit`` + 1 bytes
    are read, so a file that grows while it is read is refused too.
    """
    full = os.path.join(root, path.lstrip("/"))
    try:
        st = os.stat(full)
        if not stat.S_ISREG(st.st_mode):
            warnings.append(f"contents: {path} is not a regular file; not read")
            return None
        if st.st_size > limit:
            warnings.append(
                f"contents: {path} has {st.st_size} bytes, more than {limit}; not read "
                "(contents is for small public files such as DKIM records and certificates)"
            )
            return None
        with open(full, "rb") as handle:
            data = handle.read(limit + 1)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        warnings.append(f"contents: cannot read {path} ({exc.strerror}); not read")
        return None
    if len(data) > limit:
        warnings.append(f"contents: {path} has more than {limit} bytes; not read")
        return None
    return data.decode("utf-8", errors="replace")


def read_contents(paths, warnings, root="/"):
    """``{path: read_content(path)}`` for each path in ``paths``."""
    return {path: read_content(path, warnings, root) for path in _unique(paths)}


def read_capabilities(run, config_directory, warnings):
    """What the installed Postfix supports, ``None`` when it is not installed: ``version``
    (``mail_version``), ``parameter_names`` (``postconf -d``, which never reads main.cf) and
    ``map_types`` (``postconf -m``).

    ``postconf -m`` needs a main.cf. On a host where Postfix is installed but not configured
    yet, an empty one in a scratch directory gives the same answer: the map types are built in
    or listed in dynamicmaps.cf, which postconf reads from its compiled-in meta directory."""
    rc, out, err = run(["postconf", "-d"])
    if rc == 127:
        return None
    if rc != 0:
        warnings.append(f"postconf -d failed (rc={rc}): {(err or '').strip()}")
        return None
    defaults = parse_postconf_n(out)
    rc, out, err = run(["postconf", "-c", config_directory, "-m"])
    if rc != 0:
        with tempfile.TemporaryDirectory(prefix="sbs-postfix-") as scratch:
            with open(os.path.join(scratch, "main.cf"), "w", encoding="utf-8"):
                pass
            rc, out, err = run(["postconf", "-c", scratch, "-m"])
    if rc != 0:
        warnings.append(f"postconf -m failed (rc={rc}): {(err or '').strip()}")
    return {
        "version": defaults.get("mail_version"),
        "parameter_names": sorted(defaults),
        "map_types": sorted(out.split()) if rc == 0 else [],
    }


def read_memory_total(root="/"):
    """The memory Postfix can use, in bytes: MemTotal, or a tighter cgroup memory limit (the
    same rule sizing_info uses); ``None`` when /proc/meminfo is unreadable."""
    text = _read(root, "proc", "meminfo")
    if text is None:
        return None
    limits = _sysinfo.read_cgroup_limits(root)
    return _sysinfo.memory_summary(_sysinfo.parse_meminfo(text), limits["memory_limit"])["total"]


def read_unit(run, name, root="/", listing=list_conf_files):
    """:func:`parse_unit_show` for ``name`` plus ``drop_ins_not_loaded``; ``None`` when systemd
    is not there to ask."""
    args = ["systemctl", "show"]
    for prop in UNIT_PROPERTIES:
        args += ["-p", prop]
    rc, out, _err = run([*args, name])
    if rc != 0:
        return None
    unit = parse_unit_show(out)
    unit["name"] = unit["name"] or name
    unit["drop_ins_not_loaded"] = (
        dropins_not_loaded(
            unit["name"],
            unit["drop_in_paths"],
            lambda d: listing(os.path.join(root, d.lstrip("/"))),
            _resolver(root),
        )
        if unit["load_state"] == "loaded"
        else []
    )
    return unit


def _resolver(root):
    """``os.path.realpath`` for paths under ``root``, answered as paths on the host."""
    base = os.path.realpath(root)

    def resolve(path):
        real = os.path.realpath(os.path.join(base, path.lstrip("/")))
        if base == "/" or not real.startswith(base + "/"):
            return real
        return real[len(base) :]

    return resolve


def collect(
    run,
    *,
    config_directory="/etc/postfix",
    service=None,
    parameters=(),
    services=(),
    sysctl=(),
    packages=(),
    capabilities=False,
    debconf=(),
    files=(),
    contents=(),
    units=(),
    public_keys=(),
    expect=None,
    root="/",
    getservbyname=socket.getservbyname,
):
    """Read everything runtime_info returns. ``expect`` is :func:`check_expect` output.

    Returns ``(runtime, warnings)``; nothing here fails on a host without Postfix or without
    systemd: what cannot be read is ``None`` (or missing from a dict) and, when that is not
    simply the state of the host, a line in ``warnings``.
    """
    warnings = []
    expect_keys = expect or {"sysctl": {}, "parameters": {}, "services": {}}
    param_names = _unique([*OWN_PARAMETERS, *parameters, *expect_keys["parameters"]])
    service_keys = _unique([*services, *expect_keys["services"]])
    sysctl_names = _unique([*sysctl, *expect_keys["sysctl"]])

    # A host where Postfix is installed but no main.cf written yet (the roles install it with
    # debconf's "No configuration") is not an error: it runs with the defaults, no services.
    configured = os.path.isfile(os.path.join(root, config_directory.lstrip("/"), "main.cf"))
    values = read_parameters(run, config_directory, param_names, warnings, configured)
    installed = values is not None
    values = values or {}
    all_services = (
        read_services(run, config_directory, warnings) if installed and configured else None
    ) or {}
    queue_directory = values.get("queue_directory") or DEFAULT_QUEUE_DIRECTORY
    dpl = _int_or_none(values.get("default_process_limit"))

    pid = _sysinfo.read_master_pid(queue_directory, root)
    running = pid is not None
    unit_name_used = unit_name(service)
    if unit_name_used is None and running:
        unit_name_used = unit_from_cgroup(_read(root, "proc", str(pid), "cgroup") or "")
    unit = read_unit(run, unit_name_used, root) if unit_name_used else None
    if unit is not None and unit["load_state"] != "loaded" and installed:
        warnings.append(
            f"systemd unit {unit['name']} is {unit['load_state']}: set service to the unit that "
            "runs Postfix's master (postfix@-.service on Debian 12, postfix.service on 13)"
        )

    runtime = {
        "installed": installed,
        "configured": installed and configured,
        "running": running,
        "master_pid": pid,
        "config_directory": config_directory,
        "queue_directory": queue_directory,
        "unit": unit,
        "nofile": _sysinfo.read_nofile(root, pid) if running else None,
        "somaxconn": _sysinfo.read_sysctl_int(SOMAXCONN, root),
        "sysctl": {name: _sysinfo.read_sysctl(name, root) for name in sysctl_names},
        "default_process_limit": dpl,
        "parameters": {
            name: values.get(name) for name in _unique([*parameters, *expect_keys["parameters"]])
        },
        "services": {
            key: service_view(all_services[key], dpl) if key in all_services else None
            for key in service_keys
        },
    }
    runtime["memory_total"] = read_memory_total(root)
    runtime["packages"] = read_packages(run, _unique(packages), warnings)
    # What a role installs: one definition instead of a Jinja expression in each role.
    runtime["packages_missing"] = [
        name for name, version in runtime["packages"].items() if not version
    ]
    runtime["debconf"] = read_debconf(run, _unique(debconf), warnings) if debconf else {}
    runtime["postfix"] = (
        read_capabilities(run, config_directory, warnings) if capabilities and installed else None
    )
    runtime["files"] = read_files(files, warnings, root)
    runtime["contents"] = read_contents(contents, warnings, root)
    runtime["units"] = read_units(run, _unique(units), warnings)
    runtime["public_keys"] = read_public_keys(run, public_keys, warnings, root)
    runtime["inet_services"] = {
        key: entry for key, entry in all_services.items() if entry["type"] == "inet"
    }
    runtime["listen_backlogs"] = (
        read_listen_backlogs(run, runtime["inet_services"], warnings, getservbyname)
        if running
        else {}
    )
    runtime["listen_backlog_expected"] = expected_backlogs(runtime, expect).get("smtp/inet")
    mismatches, reasons, reload_needed = compare(runtime, expect)
    runtime["daemon_reload_needed"] = reload_needed
    if expect is not None:
        runtime["mismatches"] = mismatches
        runtime["restart_reasons"] = reasons
    del runtime["inet_services"]
    return runtime, warnings


def read_listen_backlogs(run, inet_services, warnings, getservbyname=socket.getservbyname):
    """``{"name/type": [{address, port, backlog}]}`` for master.cf's inet services, from
    ``ss -Hltn``; a service with no listening socket has an empty list."""
    rc, out, err = run(["ss", "-Hltn"])
    if rc != 0:
        warnings.append(
            f"ss -Hltn failed (rc={rc}): {(err or '').strip()}; listen backlogs not read "
            "(ss is in the iproute2 package)"
        )
        return {}
    sockets = parse_ss_listen(out)
    result = {}
    for key, entry in sorted(inet_services.items()):
        host, port = service_address(entry["service"], getservbyname)
        if port is None:
            warnings.append(f"master.cf {key}: no TCP port known for {entry['service']!r}")
            continue
        result[key] = listener_sockets(sockets, host, port)
    return result


def _read(root, *parts):
    try:
        with open(os.path.join(root, *parts), encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def _unique(items):
    return list(dict.fromkeys(items))
