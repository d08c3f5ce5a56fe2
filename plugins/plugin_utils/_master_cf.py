# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""master.cf: the services the server role writes, how the stock services, the role's optional
services, the other roles' contributions and the admin's services and overrides merge, and how
one service is rendered. Also the one definition of the submission (587) and smtps (465)
services that the server and tls roles both offer.

Private to the sbs.postfix collection: not a public API, may change without notice.

Controller side, pure functions; refusals are ``ConfigError`` naming the variable, as in
``_main_cf``, and the merge gathers every one of them before it raises.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from ansible_collections.sbs.postfix.plugins.module_utils._postfix_config import (
    listen_backlog,
)
from ansible_collections.sbs.postfix.plugins.plugin_utils._main_cf import (
    Problems,
    as_list,
    check_contribution,
    check_param_name,
    fail,
    render_value,
)

SERVICE_TYPES = ("inet", "unix", "unix-dgram", "fifo", "pass")
SERVICE_KEYS = (
    "name",
    "type",
    "private",
    "unpriv",
    "chroot",
    "wakeup",
    "maxproc",
    "command",
    "args",
    "options",
    "enabled",
)
OVERRIDE_KEYS = ("maxproc", "enabled", "options")
# Only a contribution may move a service (docs/handoff.md): postscreen takes smtp/inet and the
# smtpd that was there moves to smtpd/pass, with every override addressed to smtp/inet. A move
# may also set the service's private flag (a pass service postscreen hands clients to must be
# private: postscreen connects to private/smtpd).
MOVE_KEY = "move_to"
MOVE_KEYS = (MOVE_KEY, "private")
_SERVICE_NAME_RE = re.compile(r"^[A-Za-z0-9_.:\[\]-]+$")
_COMMAND_RE = re.compile(r"^[A-Za-z0-9_.+-]+$")
# Column widths of Debian's master.cf, so a rendered file reads like the stock one.
_WIDTHS = (10, 5, 7, 7, 7, 7, 7)


@dataclass
class Service:
    """One master.cf service, every field as master.cf writes it (``-`` for the default)."""

    name: str
    type: str
    private: str = "-"
    unpriv: str = "-"
    chroot: str = "-"
    wakeup: str = "-"
    maxproc: str = "-"
    command: str = ""
    args: list[str] = field(default_factory=list)
    options: dict[str, object] = field(default_factory=dict)
    enabled: bool = True

    @property
    def key(self):
        return f"{self.name}/{self.type}"

    def as_dict(self):
        return {
            "name": self.name,
            "type": self.type,
            "private": self.private,
            "unpriv": self.unpriv,
            "chroot": self.chroot,
            "wakeup": self.wakeup,
            "maxproc": self.maxproc,
            "command": self.command,
            "args": list(self.args),
            "options": dict(self.options),
            "enabled": self.enabled,
        }


class SetBy(NamedTuple):
    """Which contribution set a service field, and to what (for conflicts between roles)."""

    where: str
    rendered: str | None


# --------------------------------------------------------------------------------------------
# One service


def _flag(where, value, name):
    if value is None or value in ("-", "y", "n"):
        return "-" if value is None else value
    if isinstance(value, bool):
        return "y" if value else "n"
    fail(
        f"{where}.{name}", f"{value!r} is not a boolean", "true, false or null (Postfix's default)"
    )


def _number(where, value, name, allow_query=False):
    if value is None or value == "-":
        return "-"
    text = str(value)
    if isinstance(value, bool) or not re.match(
        r"^[0-9]+" + (r"\??" if allow_query else "") + "$", text
    ):
        allowed = "an integer >= 0 or null (Postfix's default)"
        if allow_query:
            allowed = "an integer >= 0, optionally followed by ? (wake up only when used), or null"
        fail(f"{where}.{name}", f"{value!r} is not valid", allowed)
    return text


def check_service(where, service):
    """Refuse a service without a usable name and type, or with keys master.cf has no use for."""
    if not isinstance(service, dict):
        fail(where, f"{service!r} is not a dictionary", "a service with name, type and command")
    unknown = sorted(set(service) - set(SERVICE_KEYS) - {"state"})
    if unknown:
        fail(where, f"unknown key(s) {', '.join(unknown)}", ", ".join(SERVICE_KEYS))
    name = service.get("name")
    if not isinstance(name, str) or not _SERVICE_NAME_RE.match(name):
        fail(
            f"{where}.name",
            f"{name!r} is not a service name",
            "a name without spaces (smtp, 587, 127.0.0.1:10025)",
        )
    if service.get("type") not in SERVICE_TYPES:
        fail(
            f"{where}.type",
            f"{service.get('type')!r} is not a master.cf service type",
            ", ".join(SERVICE_TYPES),
        )


def normalise_service(where, service):
    """A service dictionary (booleans, numbers, nulls) as a checked ``Service``."""
    check_service(where, service)
    command = service.get("command")
    if not isinstance(command, str) or not _COMMAND_RE.match(command):
        fail(
            f"{where}.command",
            f"{command!r} is not a Postfix daemon name",
            "a program in daemon_directory (smtpd, smtp, pipe, lmtp, ...)",
        )
    args = service.get("args") or []
    if not isinstance(args, list) or not all(
        isinstance(a, str) and a.strip() and "\n" not in a for a in args
    ):
        fail(
            f"{where}.args",
            f"{args!r} is not a list of non-empty strings",
            "a list of command arguments",
        )
    options = service.get("options") or {}
    if not isinstance(options, dict):
        fail(
            f"{where}.options",
            f"{options!r} is not a dictionary",
            "a dictionary of -o overrides {parameter: value}",
        )
    enabled = service.get("enabled", True)
    if not isinstance(enabled, bool):
        fail(f"{where}.enabled", f"{enabled!r} is not a boolean", "true or false")
    return Service(
        name=service["name"],
        type=service["type"],
        private=_flag(where, service.get("private"), "private"),
        unpriv=_flag(where, service.get("unpriv"), "unpriv"),
        chroot=_flag(where, service.get("chroot"), "chroot"),
        wakeup=_number(where, service.get("wakeup"), "wakeup", allow_query=True),
        maxproc=_number(where, service.get("maxproc"), "maxproc"),
        command=command,
        args=list(args),
        options=dict(options),
        enabled=enabled,
    )


def render_option(name, value, where="options"):
    """Render one ``-o name=value`` override; values with spaces use Postfix's ``{ }`` form."""
    check_param_name(f"{where}.{name}", name)
    if isinstance(value, (list, tuple)):
        text = ",".join(as_list(f"{where}.{name}", value))
    else:
        text = render_value(value, f"{where}.{name}")
    if re.search(r"\s", text) or text == "":
        return f"-o {{ {name} = {text} }}"
    return f"-o {name}={text}"


def service_lines(service):
    """Render one service as master.cf lines (the service line, then indented -o and args)."""
    where = f"master.cf service {service.get('name')}/{service.get('type')}"
    checked = normalise_service(where, service)
    fields = (
        checked.name,
        checked.type,
        checked.private,
        checked.unpriv,
        checked.chroot,
        checked.wakeup,
        checked.maxproc,
    )
    line = "".join(f"{value:<{width}} " for value, width in zip(fields, _WIDTHS, strict=True))
    lines = [line + checked.command]
    lines.extend(
        f"  {render_option(name, value, where + '.options')}"
        for name, value in checked.options.items()
    )
    lines.extend(f"  {arg}" for arg in checked.args)
    return lines


def service_listen_backlog(maxproc, default_process_limit, somaxconn=None):
    """The listen backlog master(8) gives an inet listener whose master.cf maxproc field is
    ``maxproc`` (``-`` for the default): the rule the ``config`` module uses to decide on a
    restart. ``None`` when maxproc is not a number."""
    try:
        limit = int(default_process_limit)
        cap = None if somaxconn is None else int(somaxconn)
    except (TypeError, ValueError):
        fail(
            "postfix_listen_backlog",
            f"default_process_limit {default_process_limit!r} or somaxconn {somaxconn!r} "
            "is not a number",
            "integers as postconf and /proc/sys/net/core/somaxconn print them",
        )
    return listen_backlog({"process_limit": str(maxproc).strip()}, limit, cap)


# --------------------------------------------------------------------------------------------
# The merge


def _apply_override(where, service, override, allowed=OVERRIDE_KEYS):
    if not isinstance(override, dict):
        fail(
            where,
            f"{override!r} is not a dictionary",
            "a dictionary with " + ", ".join(allowed),
        )
    unknown = sorted(set(override) - set(allowed))
    if unknown:
        fail(where, f"unknown key(s) {', '.join(unknown)}", ", ".join(allowed))
    if "maxproc" in override:
        service.maxproc = _number(where, override["maxproc"], "maxproc")
    if "enabled" in override:
        if not isinstance(override["enabled"], bool):
            fail(f"{where}.enabled", f"{override['enabled']!r} is not a boolean", "true or false")
        service.enabled = override["enabled"]
    options = override.get("options") or {}
    if not isinstance(options, dict):
        fail(
            f"{where}.options",
            f"{options!r} is not a dictionary",
            "a dictionary of -o overrides; null removes one",
        )
    for key, value in options.items():
        check_param_name(f"{where}.options.{key}", key)
        if value is None:
            service.options.pop(key, None)
        else:
            service.options[key] = value


class _Table:
    """The services so far, in master.cf order, keyed ``name/type``."""

    def __init__(self):
        self.services: dict[str, Service] = {}

    def add(self, where, service, replace):
        if isinstance(service, dict) and service.get("state") == "absent":
            check_service(where, service)
            self.services.pop(f"{service['name']}/{service['type']}", None)
            return
        if isinstance(service, dict) and service.get("state", "present") != "present":
            fail(f"{where}.state", f"{service.get('state')!r} is not a state", "present or absent")
        checked = normalise_service(where, service)
        if checked.key in self.services and not replace:
            fail(
                where,
                f"service {checked.key} is already defined",
                "a service name/type that no other role defines",
            )
        # Replacing keeps the service's place, as editing master.cf in place would.
        self.services[checked.key] = checked

    def move(self, key, name, kind):
        """Give service ``key`` the name and type ``name``/``kind``, keeping its place."""
        service = self.services[key]
        service.name, service.type = name, kind
        self.services = {
            (service.key if old == key else old): value for old, value in self.services.items()
        }

    def get(self, where, key):
        if key not in self.services:
            fail(where, f"no master.cf service {key}", "one of " + ", ".join(self.services))
        return self.services[key]


def _service_name(service):
    """The name a service definition claims, even when the definition is refused."""
    if not isinstance(service, dict) or service.get("name") is None:
        return None
    return str(service["name"])


def _lost(key, table, problems):
    """True for an override of a service whose definition was refused: that refusal is the
    problem to fix, and "no master.cf service" would send the admin looking elsewhere."""
    return key not in table.services and str(key).partition("/")[0] in problems.failed


def _move_contributed(table, problems, checked):
    """The contributions' moves, ``master: {"smtp/inet": {"move_to": "smtpd/pass"}}``: the
    service keeps its fields and its place under the new ``name/type``, and its old key is free
    for a service the contribution adds. Returns ``{old key: new key}``; overrides addressed to
    the old key (any role's, the admin's) are applied to the moved service, because they were
    written for that program (the smtpd on port 25), not for whatever takes its place."""
    moved = {}
    for contributor, data in checked.items():
        for key, override in data.get("master", {}).items():
            if not isinstance(override, dict) or override.get(MOVE_KEY) is None:
                continue
            where = f"sbs_postfix_contributions.{contributor}.master.{key}.{MOVE_KEY}"
            with problems.check():
                target = override[MOVE_KEY]
                name, kind = str(target).partition("/")[::2]
                if not isinstance(target, str):
                    fail(where, f"{target!r} is not a string", 'a "name/type" such as smtpd/pass')
                check_service(where, {"name": name, "type": kind})
                if key in moved:
                    fail(where, f"{key} is moved by another role already", "one move per service")
                if target in table.services:
                    fail(where, f"service {target} is already defined", "a name/type nobody uses")
                service = table.get(where, key)
                if "private" in override:
                    service.private = _flag(
                        where.rpartition(".")[0], override["private"], "private"
                    )
                table.move(key, name, kind)
                moved[key] = target
    return moved


def _contributed_override(table, set_by, where, key, override):
    """Apply one role's ``master`` override (``where`` names it, ``key`` is the service it
    addresses after the moves), refusing a value another role set differently."""
    if isinstance(override, dict) and "private" in override and override.get(MOVE_KEY) is None:
        fail(f"{where}.private", "is only allowed with move_to", "maxproc, enabled, options")
    service = table.get(where, key)
    options = (override.get("options") or {}) if isinstance(override, dict) else {}
    for option, value in options.items():
        rendered = None if value is None else render_option(option, value, where)
        previous = set_by.get((key, option))
        if previous and previous.rendered != rendered:
            fail(
                f"{where}.options.{option}",
                f"conflicts with {previous.where}",
                "one value per service option across roles",
            )
        set_by[(key, option)] = SetBy(where, rendered)
    if isinstance(override, dict) and "maxproc" in override:
        previous = set_by.get((key, "maxproc"))
        if previous and previous.rendered != str(override["maxproc"]):
            fail(
                f"{where}.maxproc",
                f"conflicts with {previous.where}",
                "one maxproc per service across roles",
            )
        set_by[(key, "maxproc")] = SetBy(where, str(override["maxproc"]))
    _apply_override(where, service, override, OVERRIDE_KEYS + MOVE_KEYS)


def _add_contributed(table, problems, checked, own):
    """The roles' services; one with the name/type of a server role's own is only checked."""
    for contributor, data in checked.items():
        for index, service in enumerate(data.get("services", [])):
            where = f"sbs_postfix_contributions.{contributor}.services[{index}]"
            key = (
                f"{service.get('name')}/{service.get('type')}" if isinstance(service, dict) else ""
            )
            with problems.check(_service_name(service)):
                if key in own:
                    check_service(where, service)
                else:
                    table.add(where, service, replace=False)


def _check_top_level(services, overrides):
    if not isinstance(overrides, dict):
        fail(
            "server_master_overrides",
            f"{overrides!r} is not a dictionary",
            'a dictionary keyed "name/type" (smtp/inet)',
        )
    if services is not None and not isinstance(services, list):
        fail("server_master_services", f"{services!r} is not a list", "a list of services")


def merge_master(defaults, services=None, overrides=None, contributions=None, optional=None):
    """Build the final list of master.cf services.

    :param defaults: the stock services (Debian's master.cf) as dictionaries.
    :param services: ``server_master_services``: services to add, or to replace when
        ``name``/``type`` match a default; ``state: absent`` removes one.
    :param overrides: ``server_master_overrides``: ``{"name/type": {maxproc, enabled, options}}``.
    :param optional: the server role's optional services (submission, smtps, LMTP transport),
        added after the defaults and before everything else. A contribution's service with the
        same ``name/type`` is left out: the admin asked for the server role's definition.
    :param contributions: ``sbs_postfix_contributions``; their ``master`` moves are made first,
        then their ``services`` are added and their ``master`` overrides applied before the
        admin's (the admin wins; two roles that set the same option differently fail).
        Overrides addressed to a moved service's old key follow it.
    :returns: list of ``Service`` (disabled ones dropped).
    :raises ConfigError: holding every problem found, not only the first.
    """
    contributions = contributions or {}
    overrides = overrides or {}
    _check_top_level(services, overrides)
    problems = Problems()
    table = _Table()
    for index, service in enumerate(defaults or []):
        with problems.check(_service_name(service)):
            table.add(f"SBS default master service [{index}]", service, replace=True)
    own = set()
    for service in optional or []:
        with problems.check(_service_name(service)):
            where = f"the {service.get('name')} service (server_*_options, server_*_maxproc)"
            table.add(where, service, replace=True)
            own.add(f"{service['name']}/{service['type']}")
    checked = {}
    for contributor in sorted(contributions):
        with problems.check():
            checked[contributor] = check_contribution(contributor, contributions[contributor])
    moved = _move_contributed(table, problems, checked)
    _add_contributed(table, problems, checked, own)
    for index, service in enumerate(services or []):
        with problems.check(_service_name(service)):
            table.add(f"server_master_services[{index}]", service, replace=True)

    set_by: dict[tuple[str, str], SetBy] = {}
    for contributor, data in checked.items():
        for key, override in data.get("master", {}).items():
            if not _lost(moved.get(key, key), table, problems):
                where = f"sbs_postfix_contributions.{contributor}.master.{key}"
                with problems.check():
                    _contributed_override(table, set_by, where, moved.get(key, key), override)
    for key, override in overrides.items():
        where = f"server_master_overrides.{key}"
        if not _lost(moved.get(key, key), table, problems):
            with problems.check():
                _apply_override(where, table.get(where, moved.get(key, key)), override)
    problems.raise_any()
    return [service for service in table.services.values() if service.enabled]


# --------------------------------------------------------------------------------------------
# Submission (587) and smtps (465): the one definition the server and tls roles share

SUBMISSION_RESTRICTIONS = ("permit_sasl_authenticated", "reject")
SUBMISSION_SERVICES = ("submission", "smtps")
_SUBMISSION_KEYS = ("enabled", "maxproc", "options")


def submission_options(name, restrictions=SUBMISSION_RESTRICTIONS):
    """The ``-o`` overrides of the submission or smtps service, in master.cf order.

    Both require TLS on the service itself (``encrypt``; smtps speaks TLS from the first byte,
    ``smtpd_tls_wrappermode``), whatever main.cf says for port 25, and enable SASL AUTH on that
    service only, never before TLS. Only authenticated clients may send or relay.
    """
    options = {
        "syslog_name": f"postfix/{name}",
        "smtpd_tls_security_level": "encrypt",
        "smtpd_sasl_auth_enable": True,
        "smtpd_tls_auth_only": True,
        "smtpd_reject_unlisted_recipient": False,
        "smtpd_client_restrictions": list(restrictions),
        "smtpd_relay_restrictions": list(restrictions),
        "milter_macro_daemon_name": "ORIGINATING",
    }
    if name == "smtps":
        options["smtpd_tls_wrappermode"] = True
    return options


def submission_services(settings, restrictions=None, prefix="server_"):
    """The enabled submission and smtps services, as master.cf service dictionaries.

    :param settings: ``{"submission": {enabled, maxproc, options}, "smtps": {...}}``; a service
        left out is disabled. ``options`` are merged over ``submission_options`` (a ``None``
        value removes one); ``maxproc`` null leaves Postfix's default.
    :param restrictions: client and relay restrictions of both services.
    :param prefix: the role's variable prefix, for messages (``server_`` names
        ``server_smtps_options``, ``tls_`` names ``tls_smtps_options``).
    """
    if not isinstance(settings, dict):
        fail(
            f"{prefix}submission",
            f"{settings!r} is not a dictionary",
            "a dictionary keyed submission, smtps",
        )
    unknown = sorted(set(settings) - set(SUBMISSION_SERVICES))
    if unknown:
        fail(prefix + "submission", f"unknown service(s) {', '.join(unknown)}", "submission, smtps")
    restrictions = SUBMISSION_RESTRICTIONS if restrictions is None else restrictions
    result = []
    for name in SUBMISSION_SERVICES:
        wanted = settings.get(name) or {}
        if not isinstance(wanted, dict) or set(wanted) - set(_SUBMISSION_KEYS):
            fail(
                f"{prefix}{name}",
                f"{wanted!r} is not valid",
                "a dictionary with enabled, maxproc, options",
            )
        enabled = wanted.get("enabled", False)
        if not isinstance(enabled, bool):
            fail(f"{prefix}{name}_enabled", f"{enabled!r} is not a boolean", "true or false")
        if not enabled:
            continue
        extra = wanted.get("options") or {}
        if not isinstance(extra, dict):
            fail(
                f"{prefix}{name}_options",
                f"{extra!r} is not a dictionary",
                "a dictionary of -o overrides; null removes one of the defaults",
            )
        options = submission_options(
            name, as_list(f"{prefix}submission_restrictions", restrictions)
        )
        for key, value in extra.items():
            check_param_name(f"{prefix}{name}_options.{key}", key)
            if value is None:
                options.pop(key, None)
            else:
                options[key] = value
        service = {
            "name": name,
            "type": "inet",
            "private": False,
            "chroot": True,
            "command": "smtpd",
            "options": options,
        }
        if wanted.get("maxproc") is not None:
            service["maxproc"] = wanted["maxproc"]
        result.append(service)
    return result


# ---------------------------------------------------------------------------------------------
# The SASL backend a service that offers AUTH needs


def _yes(value):
    return str(value).strip().lower() in ("yes", "true", "1", "on")


def sasl_backends(parameters, services, queue_directory="/var/spool/postfix"):
    """Where each smtpd service that offers SASL AUTH expects its backend, grouped by backend.

    Without a backend, smtpd offers AUTH to nobody and logs "no SASL authentication
    mechanisms": the service passes every check and refuses every client. ``parameters`` is the
    merged main.cf, ``services`` the merged master.cf (dictionaries); a service's ``-o``
    options win over main.cf. Returns ``[{"type", "path", "services"}]``: for ``dovecot`` the
    auth socket (``smtpd_sasl_path``, relative to the queue directory, where smtpd runs), for
    ``cyrus`` the Cyrus SASL application file ``<cyrus_sasl_config_path>/<smtpd_sasl_path>.conf``
    (Debian: ``/etc/postfix/sasl/smtpd.conf``).
    """
    backends = {}
    for svc in services:
        if svc.get("command") != "smtpd":
            continue
        merged = {**parameters, **(svc.get("options") or {})}
        if not _yes(merged.get("smtpd_sasl_auth_enable", "no")):
            continue
        kind = str(merged.get("smtpd_sasl_type") or "cyrus").strip()
        name = str(merged.get("smtpd_sasl_path") or "smtpd").strip()
        if kind == "dovecot":
            path = name if name.startswith("/") else posixpath.join(queue_directory, name)
        else:
            directory = str(merged.get("cyrus_sasl_config_path") or "/etc/postfix/sasl").strip()
            path = posixpath.join(directory, f"{name}.conf")
        entry = backends.setdefault((kind, path), {"type": kind, "path": path, "services": []})
        entry["services"].append(f"{svc['name']}/{svc['type']}")
    return list(backends.values())


def sasl_problem(backend, host="this host"):
    """The refusal for a backend of :func:`sasl_backends` that is not on the host."""
    services = ", ".join(backend["services"])
    if backend["type"] == "dovecot":
        fix = f"install Dovecot and have its auth service listen on {backend['path']}"
    else:
        fix = (
            f"install Cyrus SASL and configure it in {backend['path']}, or use Dovecot "
            "(smtpd_sasl_type: dovecot)"
        )
    return (
        f"{services} offer SASL AUTH (server_submission_enabled, server_smtps_enabled or "
        f"smtpd_sasl_auth_enable) through {backend['type']}, but {backend['path']} does not "
        f'exist on {host}: smtpd would offer AUTH to nobody and refuse every client ("no SASL '
        f'authentication mechanisms"). First {fix}, or disable the service.'
    )
