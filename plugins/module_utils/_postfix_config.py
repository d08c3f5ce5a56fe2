# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Stage, validate, compare and install a complete main.cf/master.cf pair.

Private to the sbs.postfix collection: no compatibility promise to anyone else.

The functions that decide (what changed, whether a restart is needed, which warnings are errors,
which services or tables cannot work) are pure. The few that touch the file system take the
directory to work in and the operations they use as arguments, so unit tests run them against
``tmp_path`` and inject failures.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import os
import re
import shutil
import socket
import stat
import tempfile
import time

from ansible_collections.sbs.postfix.plugins.module_utils._postconf import (
    SERVICE_TYPES,
    parse_main_cf,
    parse_master_cf,
    service_signature,
    split_list,
    table_references,
)

MAIN_CF = "main.cf"
MASTER_CF = "master.cf"

# main.cf parameters that a "postfix reload" does not apply: the running master(8) keeps the old
# value until "postfix stop; postfix start". Each entry says where that is documented.
RESTART_PARAMETERS = {
    "inet_interfaces": (
        "postconf(5): 'you need to stop and start Postfix when this parameter changes'; "
        "master(8) ignores the change on reload"
    ),
    "inet_protocols": (
        "postconf(5): 'you MUST stop and start Postfix after changing this parameter'; "
        "master(8) ignores the change on reload"
    ),
    "queue_directory": (
        "master(8) changes into the queue directory only at start-up, so a reload keeps "
        "its sockets and lock file in the old one"
    ),
    "import_environment": (
        "master(8) filters its environment only at start-up; daemons it starts after a "
        "reload inherit the old environment"
    ),
}

# Read together with RESTART_PARAMETERS but not one of them: master(8) opens each inet listener
# with a listen(2) backlog of max(maxproc, default_process_limit) (master_listen.c) and keeps the
# socket on reload, so this parameter needs a restart only when it moves a listener's backlog.
RESTART_INPUTS = (*sorted(RESTART_PARAMETERS), "default_process_limit")

# A kept copy of the live files: <backup_dir>/<UTC time of the change>/, with -2, -3 ... when
# two changes fall in the same second. Only directories named like this are ever pruned.
BACKUP_NAME_RE = re.compile(r"^[0-9]{8}T[0-9]{6}Z(?:-[0-9]+)?$")

_BOOL_FIELDS = ("private", "unprivileged", "chroot")
_WAKEUP_RE = re.compile(r"^(-|\d+\??)$")
_MAXPROC_RE = re.compile(r"^(-|\d+)$")


# ---------------------------------------------------------------------------------------------
# Comparison


def ensure_newline(text):
    """Postfix files end with a newline; a template that lost its last one must not flap."""
    return text if not text or text.endswith("\n") else text + "\n"


def changed_parameters(old_main, new_main, old_master, new_master):
    """Names that differ between two configurations, parsed rather than diffed as text.

    main.cf parameters are compared by normalised value (a re-folded line or a moved parameter
    is not a change); master.cf services by their ``name/type`` key and all their fields and
    arguments. Returns a sorted list: main.cf names, then master.cf ``name/type`` keys.
    """
    old_params, _unused = parse_main_cf(old_main)
    new_params, _unused = parse_main_cf(new_main)
    names = sorted(
        name
        for name in set(old_params) | set(new_params)
        if old_params.get(name) != new_params.get(name)
    )
    old_services, _unused = parse_master_cf(old_master)
    new_services, _unused = parse_master_cf(new_master)
    services = sorted(
        key
        for key in set(old_services) | set(new_services)
        if service_signature(old_services.get(key)) != service_signature(new_services.get(key))
    )
    return names + services


def listen_backlog(entry, default_process_limit, somaxconn=None):
    """The listen(2) backlog master(8) gives an inet listener: max(maxproc, default_process_limit)
    (maxproc ``-`` is default_process_limit, ``0`` means no process limit), capped by the kernel at
    ``net.core.somaxconn`` when that is known. ``None`` when the maxproc field is not a number."""
    maxproc = entry["process_limit"]
    if maxproc == "-":
        maxproc = "0"
    if not maxproc.isdigit():
        return None
    backlog = max(int(maxproc), default_process_limit)
    return backlog if somaxconn is None else min(backlog, somaxconn)


def restart_reasons(old_effective, new_effective, old_master, new_master, somaxconn=None):
    """Why the change needs ``postfix stop; postfix start`` rather than ``postfix reload``.

    ``old_effective`` and ``new_effective`` map the names in :data:`RESTART_INPUTS` to their
    effective values (``postconf -x`` output, so defaults and ``$name`` expansion are included);
    a name missing from a dict is unknown and compared as such. ``old_master``/``new_master``
    are master.cf texts; ``somaxconn`` is the kernel's backlog cap (``None``: unknown, no cap).
    Returns a list of one-line reasons; empty means a reload suffices.

    A master.cf inet listener that is added or removed (a changed type or address is a removal
    plus an addition, because master(8) identifies a service by name and type) also asks for a
    restart. master(8) can open and close such listeners on reload, but this collection restarts
    so that the set of listening sockets afterwards is exactly the one master.cf describes and can
    be verified. An inet listener that stays but whose backlog (:func:`listen_backlog`) changes
    needs a restart too, because the backlog is fixed when master(8) opens the socket: without
    it a larger smtpd maxproc would be served through the old, shorter accept queue. Other
    master.cf changes are applied by a reload.
    """
    reasons = []
    for name in sorted(RESTART_PARAMETERS):
        before = old_effective.get(name)
        after = new_effective.get(name)
        if before != after:
            reasons.append(
                f"main.cf {name} changed from {_show(before)} to {_show(after)} "
                f"({RESTART_PARAMETERS[name]})"
            )
    old_services, _unused = parse_master_cf(old_master)
    new_services, _unused = parse_master_cf(new_master)
    old_inet = {key for key, entry in old_services.items() if entry["type"] == "inet"}
    new_inet = {key for key, entry in new_services.items() if entry["type"] == "inet"}
    for key in sorted(new_inet - old_inet):
        reasons.append(f"master.cf inet listener {key} added (new listening socket)")
    for key in sorted(old_inet - new_inet):
        reasons.append(f"master.cf inet listener {key} removed (listening socket closes)")
    old_limit = _int_or_none(old_effective.get("default_process_limit"))
    new_limit = _int_or_none(new_effective.get("default_process_limit"))
    if old_limit is not None and new_limit is not None:
        for key in sorted(old_inet & new_inet):
            before = listen_backlog(old_services[key], old_limit, somaxconn)
            after = listen_backlog(new_services[key], new_limit, somaxconn)
            if before is not None and after is not None and before != after:
                reasons.append(
                    f"master.cf inet listener {key} listen backlog changes from {before} to "
                    f"{after} (master(8) sets max(maxproc, default_process_limit) when it opens "
                    "the socket; a reload keeps the old one)"
                )
    return reasons


def _int_or_none(value):
    return int(value) if value is not None and value.strip().isdigit() else None


def _show(value):
    if value is None:
        return "(not set)"
    return repr(value)


def file_diffs(directory, old_main, new_main, old_master, new_master):
    """``diff`` entries (before/after with headers) for the files whose bytes change."""
    diffs = []
    for name, before, after in (
        (MAIN_CF, old_main, new_main),
        (MASTER_CF, old_master, new_master),
    ):
        if before != after:
            path = os.path.join(directory, name)
            diffs.append(
                {
                    "before": before,
                    "after": after,
                    "before_header": f"{path} (live)",
                    "after_header": f"{path} (new)",
                }
            )
    return diffs


# ---------------------------------------------------------------------------------------------
# Validation that Postfix itself does not do before the master process or a daemon trips over it


def classify_warnings(warnings, ignore_patterns):
    """Split Postfix warnings into ``(errors, ignored)`` using ``ignore_patterns`` (re.search)."""
    compiled = [re.compile(pattern) for pattern in ignore_patterns]
    errors = []
    ignored = []
    for warning in warnings:
        if any(pattern.search(warning) for pattern in compiled):
            ignored.append(warning)
        else:
            errors.append(warning)
    return errors, ignored


_CONFIG_FILE_RE = re.compile(r"(/\S*?)/(?:main|master)\.cf\b")


def warnings_about(warnings, stage):
    """Split warnings into ``(about_stage, about_other)``.

    A warning is about the staged configuration if it names the staging directory or names no
    main.cf/master.cf at all (``unknown parameter`` messages); a warning that names another
    directory's main.cf or master.cf is about that other configuration: postfix-script, run by
    ``postfix check``, also calls postconf on the default instance.
    """
    about_stage = []
    about_other = []
    for warning in warnings:
        paths = _CONFIG_FILE_RE.findall(warning)
        if stage in warning or not paths:
            about_stage.append(warning)
        else:
            about_other.append(warning)
    return about_stage, about_other


def staged_to_live(text, stage, directory):
    """Show messages with the live directory's name: the staging directory is gone afterwards."""
    return text.replace(stage, directory)


def check_services(services, daemon_directory, path_exists=os.path.exists):
    """Problems in parsed master.cf services that master(8) only notices when it starts them.

    ``services`` is the first item of :func:`parse_master_cf`. Checks: the service type is one
    master(8) knows; an inet service is not private; the y/n, wakeup and process limit fields have
    the syntax master(8) accepts; the command exists (relative names are looked up in
    ``daemon_directory``, as master(8) does).
    """
    errors = []
    for key, entry in sorted(services.items()):
        where = f"master.cf line {entry['line']}: service {key}"
        if entry["type"] not in SERVICE_TYPES:
            errors.append(
                f"{where}: unknown service type {entry['type']!r} "
                f"(allowed: {', '.join(SERVICE_TYPES)})"
            )
            continue
        if entry["type"] == "inet" and entry["private"] == "y":
            errors.append(
                f"{where}: an inet service cannot be private (field 3 must be 'n' or '-')"
            )
        for field in _BOOL_FIELDS:
            if entry[field] not in ("y", "n", "-"):
                errors.append(f"{where}: field {field} is {entry[field]!r}, allowed: y, n, -")
        if not _WAKEUP_RE.match(entry["wakeup"]):
            errors.append(
                f"{where}: field wakeup is {entry['wakeup']!r}, allowed: -, N or N? (seconds)"
            )
        if not _MAXPROC_RE.match(entry["process_limit"]):
            errors.append(
                f"{where}: field process_limit is {entry['process_limit']!r}, allowed: - or N"
            )
        command = entry["command"]
        path = command if command.startswith("/") else os.path.join(daemon_directory, command)
        if not path_exists(path):
            errors.append(f"{where}: command {command!r} not found ({path} does not exist)")
    return errors


def check_tables(main_params, services, map_types):
    """``type:table`` references whose type this Postfix cannot open (not in ``postconf -m``).

    Looks at main.cf parameters and master.cf ``-o`` overrides that take lookup tables. Postfix
    accepts such a configuration and fails only when a daemon opens the table, with mail deferred
    meanwhile.
    """
    known = set(map_types)
    errors = []
    seen = set()
    sources = [(f"main.cf {name}", name, value) for name, value in sorted(main_params.items())]
    for key, entry in sorted(services.items()):
        for name, value in entry["options"].items():
            sources.append((f"master.cf {key} -o {name}", name, value))
    for where, name, value in sources:
        for map_type, item in table_references(name, value):
            if map_type in known or (where, map_type) in seen:
                continue
            seen.add((where, map_type))
            errors.append(
                f"{where}: lookup table type {map_type!r} in {item!r} is not supported by "
                f"this Postfix (postconf -m lists: {', '.join(sorted(known))}); "
                "install the package that provides it"
            )
    return errors


def interface_hosts(value):
    """Addresses or host names an ``inet_interfaces`` value asks Postfix to bind to.

    ``all`` and ``loopback-only`` need no local check; brackets around IPv6 addresses are removed.
    """
    hosts = []
    for item in split_list(value or ""):
        if item.lower() in ("all", "loopback-only"):
            continue
        bracketed = item.startswith("[") and item.endswith("]")
        hosts.append(item[1:-1] if bracketed else item)
    return hosts


def listener_hosts(services):
    """``(key, host)`` for inet services that name an address (``127.0.0.1:smtp``, ``[::1]:25``)."""
    result = []
    for key, entry in sorted(services.items()):
        if entry["type"] != "inet":
            continue
        host, sep, _port = entry["service"].rpartition(":")
        if not sep or not host:
            continue
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        result.append((key, host))
    return result


def is_local_address(host, getaddrinfo=socket.getaddrinfo, socket_factory=socket.socket):
    """True if every address ``host`` resolves to belongs to this host.

    Binding a UDP socket to port 0 of an address succeeds only for a local address (without
    IP_FREEBIND), which is the test Postfix's master(8) will make with TCP when it starts.
    Returns ``(ok, detail)``.
    """
    try:
        infos = getaddrinfo(host, None, 0, socket.SOCK_DGRAM)
    except (OSError, UnicodeError) as exc:
        return False, f"cannot resolve {host!r}: {exc}"
    for family, _type, _proto, _name, sockaddr in infos:
        sock = socket_factory(family, socket.SOCK_DGRAM)
        try:
            sock.bind((sockaddr[0], 0, *sockaddr[2:]))
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                return False, f"{sockaddr[0]} is not an address of this host"
            return False, f"cannot bind to {sockaddr[0]}: {exc}"
        finally:
            sock.close()
    return True, ""


# ---------------------------------------------------------------------------------------------
# Files


def make_stage(directory):
    """Create a private (0700) staging directory beside ``directory`` and return its path.

    The name is unique per run (``<directory>.sbs-stage.XXXXXX``) so a stage left behind by a
    killed run never collides with this one; being a sibling keeps it on the same file system.
    """
    parent = os.path.dirname(os.path.abspath(directory)) or "/"
    base = os.path.basename(os.path.abspath(directory))
    return tempfile.mkdtemp(prefix=f"{base}.sbs-stage.", dir=parent)


def populate_stage(stage, directory, main_cf, master_cf, skip=()):
    """Copy ``directory`` into ``stage`` and write the new main.cf/master.cf there.

    Other files (maps referenced as ``$config_directory/...``, ``sasl/``, dynamicmaps.cf.d, ...)
    are copied with their mode and owner so that ``postfix check`` sees what it would see in the
    live directory; symbolic links stay links; sockets and other special files are skipped.
    Entries named in ``skip`` (the directory of kept copies) are not copied.
    """
    if os.path.isdir(directory):
        for name in os.listdir(directory):
            if name in (MAIN_CF, MASTER_CF) or name in skip:
                continue
            _copy_entry(os.path.join(directory, name), os.path.join(stage, name))
    for name, text in ((MAIN_CF, main_cf), (MASTER_CF, master_cf)):
        path = os.path.join(stage, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(path, 0o644)


def _copy_entry(src, dst):
    st = os.lstat(src)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(src), dst)
    elif stat.S_ISDIR(st.st_mode):
        os.mkdir(dst)
        for name in os.listdir(src):
            _copy_entry(os.path.join(src, name), os.path.join(dst, name))
        shutil.copystat(src, dst)
    elif stat.S_ISREG(st.st_mode):
        shutil.copy2(src, dst)
    else:
        return
    _copy_owner(st, dst)


def _copy_owner(st, dst):
    # Only root can give files away; an unprivileged run keeps its own ownership.
    with contextlib.suppress(PermissionError):
        os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)


@contextlib.contextmanager
def config_lock(directory):
    """Hold an exclusive lock on the configuration directory while it is staged and swapped.

    Two runs against one host (a cron job and an admin, two controllers) then apply one after
    the other instead of interleaving their swaps. ``flock(2)`` on the directory itself: no
    lock file is left behind, and the kernel drops the lock when a killed run's process dies.
    """
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def stale_stages(directory):
    """Staging directories a killed run left beside ``directory`` (a stage is removed when its
    run ends, and while :func:`config_lock` is held no other run can be staging)."""
    parent = os.path.dirname(os.path.abspath(directory)) or "/"
    base = os.path.basename(os.path.abspath(directory))
    return sorted(
        path
        for path in glob.glob(os.path.join(glob.escape(parent), glob.escape(base) + ".sbs-stage.*"))
        if os.path.isdir(path) and not os.path.islink(path)
    )


def remove_stage(stage):
    shutil.rmtree(stage, ignore_errors=True)


def read_text(path):
    """File content as text, or ``None`` if it does not exist."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def backup_name(now):
    """Name of the directory for a copy taken at ``now`` (seconds since the epoch), in UTC."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))


def keep_copy(directory, backup_dir, now=None):
    """Copy the live main.cf and master.cf of ``directory`` to ``<backup_dir>/<UTC time>/``.

    The copy is written into a temporary directory first and renamed into place, so a
    directory with the timestamp name always holds a complete pair (of the files that exist).
    Directories are created with mode 0700, files with 0600, owned by the user the module runs
    as (root). Returns the copy's path, or ``None`` when neither file exists. Raises
    ``OSError``.
    """
    now = time.time() if now is None else now
    sources = [
        (name, os.path.join(directory, name))
        for name in (MAIN_CF, MASTER_CF)
        if os.path.isfile(os.path.join(directory, name))
    ]
    if not sources:
        return None
    os.makedirs(backup_dir, mode=0o700, exist_ok=True)
    work = tempfile.mkdtemp(prefix=".sbs-copy.", dir=backup_dir)
    try:
        for name, source in sources:
            target = os.path.join(work, name)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
                shutil.copyfileobj(src, out)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(target, 0o600)
        os.chmod(work, 0o700)
        base = backup_name(now)
        path = os.path.join(backup_dir, base)
        number = 1
        # Two changes in the same second each keep their own copy.
        while os.path.lexists(path):
            number += 1
            path = os.path.join(backup_dir, f"{base}-{number}")
        os.rename(work, path)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    _fsync_directory(backup_dir)
    return path


def prune_copies(backup_dir, keep):
    """Remove the oldest kept copies so that at most ``keep`` remain; return what was removed.

    Only directories whose name is a copy's timestamp (:data:`BACKUP_NAME_RE`) are counted or
    removed: anything else an admin put in ``backup_dir`` stays.
    """
    try:
        names = os.listdir(backup_dir)
    except FileNotFoundError:
        return []
    copies = sorted(
        (name for name in names if BACKUP_NAME_RE.match(name)),
        key=_copy_order,
    )
    removed = []
    for name in copies[: max(0, len(copies) - keep)]:
        path = os.path.join(backup_dir, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
            removed.append(path)
    return removed


def _copy_order(name):
    stamp, _sep, number = name.partition("-")
    return stamp, int(number or 1)


class InstallError(Exception):
    """Raised when the new files could not be installed; ``rolled_back`` says what was undone."""

    def __init__(self, message, rolled_back):
        super().__init__(message)
        self.rolled_back = rolled_back


def install_files(directory, contents, prepare=None, replace=None, link=None):
    """Replace files in ``directory`` with ``contents`` (``{name: text}``), all or nothing.

    Each new file is written to a temporary file in ``directory`` (same file system, so the
    rename is atomic), given the mode and owner of the file it replaces (``prepare(tmp, live)``
    may add more, e.g. an SELinux context), and renamed over the live file. The old files are
    kept as hard links until every rename succeeded; if a rename fails, the files already
    replaced are put back, so a failure never leaves a new main.cf with an old master.cf.
    ``replace`` and ``link`` default to :func:`os.replace` and :func:`os.link`. Raises
    :class:`InstallError`.
    """
    replace = replace or os.replace
    link = link or os.link
    temps = {}
    backups = {}
    done = []
    try:
        for name, text in contents.items():
            live = os.path.join(directory, name)
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.sbs-new.", dir=directory)
            temps[name] = tmp
            with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            _match_attributes(tmp, live)
            if prepare is not None:
                prepare(tmp, live)
            if os.path.exists(live):
                backup = os.path.join(directory, f".{name}.sbs-old.{os.getpid()}")
                if os.path.lexists(backup):
                    os.unlink(backup)
                try:
                    link(live, backup)
                except OSError:
                    # A file system without hard links: a copy restores the same bytes.
                    shutil.copy2(live, backup)
                backups[name] = backup
        for name in contents:
            replace(temps[name], os.path.join(directory, name))
            done.append(name)
            del temps[name]
    except OSError as exc:
        rolled_back = _roll_back(directory, done, backups, replace)
        raise InstallError(
            f"cannot install {', '.join(contents)} in {directory}: {exc}", rolled_back
        ) from exc
    finally:
        for tmp in temps.values():
            _unlink_quietly(tmp)
        for backup in backups.values():
            _unlink_quietly(backup)
    _fsync_directory(directory)


def _roll_back(directory, done, backups, replace):
    restored = []
    for name in reversed(done):
        live = os.path.join(directory, name)
        try:
            if name in backups:
                replace(backups[name], live)
                del backups[name]
            else:
                os.unlink(live)
            restored.append(name)
        except OSError:
            pass
    return restored


def _match_attributes(tmp, live):
    try:
        st = os.stat(live)
    except FileNotFoundError:
        os.chmod(tmp, 0o644)
        return
    os.chmod(tmp, stat.S_IMODE(st.st_mode))
    _copy_owner(st, tmp)


def _unlink_quietly(path):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _fsync_directory(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
