# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""main.cf: how the server role's values are checked and rendered, and how the admin's
inventory, the other roles' contributions and the SBS defaults merge into one main.cf.

Private to the sbs.postfix collection: not a public API, may change without notice.

Controller side (may use netaddr). Every function is pure: plain data in, plain data out.
Every refusal is a ``ConfigError`` whose message names the variable that caused it and says
what is allowed instead. The merges collect the refusals of independent values (``Problems``)
and raise them together, so an admin sees every problem of one run at once; the filters in
plugins/filter/postfix.py return them. The precedence rules are those of docs/handoff.md.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple, NoReturn

from ansible_collections.sbs.postfix.plugins.plugin_utils._lazy import LazyModule, available

# Imported on first use (_lazy.py says why); netaddr is in requirements.txt.
HAS_NETADDR = available("netaddr")
netaddr = LazyModule("netaddr")


class ConfigError(ValueError):
    """Values Postfix or the collection refuses; each message names the variable.

    ``problems`` holds every message; ``str()`` is one per line.
    """

    def __init__(self, *problems: str):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class Problems:
    """The refusals of independent checks, gathered so that one bad value does not hide the
    next: the admin fixes them all after one run."""

    def __init__(self):
        self.messages: list[str] = []
        # What failed (a parameter, a service name), so checks that build on it are skipped
        # instead of adding a follow-on message.
        self.failed: set[str] = set()

    @contextmanager
    def check(self, subject=None):
        """Run one independent check: a ``ConfigError`` is recorded instead of raised."""
        try:
            yield
        except ConfigError as exc:
            self.messages.extend(exc.problems)
            if subject is not None:
                self.failed.add(subject)

    def raise_any(self):
        """Raise one ``ConfigError`` holding every problem recorded, if there is one."""
        if self.messages:
            raise ConfigError(*self.messages)


# Postfix parameter names: lower case, digits, underscores (service-specific overrides such as
# `submission_smtpd_tls_security_level` match as well).
_PARAM_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# A time value: digits and an optional unit (Postfix's default unit is seconds for most).
_DURATION_RE = re.compile(r"^[0-9]+[smhdw]?$")
_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# `type:name` lookup tables as Postfix writes them (hash:/etc/postfix/x, inline:{...}, ...).
TABLE_RE = re.compile(r"^[a-z][a-z0-9_]*:\S+$")
# What an entry of sbs_postfix_contributions may hold (docs/handoff.md). `apply` (restart and
# reload requests) is read by plugin_utils/_apply.py, not by the merge.
CONTRIBUTION_KEYS = (
    "main",
    "main_required",
    "main_append",
    "master",
    "services",
    "reasons",
    "apply",
)

# How each parameter the role knows is checked and rendered. Parameters not listed here
# (server_main_extra, contributions) are checked generically: scalar or list of scalars.
PARAMETER_KINDS = {
    "myhostname": "fqdn",
    "mydomain": "hostname",
    "myorigin": "origin",
    "mydestination": "destinations",
    "mynetworks": "networks",
    "inet_interfaces": "interfaces",
    "inet_protocols": "protocols",
    "message_size_limit": "size",
    "mailbox_size_limit": "size",
    "relayhost": "nexthop",
    "default_process_limit": "count",
    "queue_run_delay": "duration",
    "minimal_backoff_time": "duration",
    "maximal_backoff_time": "duration",
    "maximal_queue_lifetime": "duration",
    "bounce_queue_lifetime": "duration",
    "smtpd_recipient_limit": "count",
    "smtpd_client_connection_count_limit": "count",
    "smtpd_client_message_rate_limit": "count",
    "smtpd_client_connection_rate_limit": "count",
    "smtpd_relay_restrictions": "list",
    "smtpd_recipient_restrictions": "list",
    "smtpd_helo_required": "bool",
    "disable_vrfy_command": "bool",
    "smtpd_milters": "list",
    "non_smtpd_milters": "list",
    "milter_default_action": "milter_action",
    "transport_maps": "tables",
    "virtual_alias_domains": "list",
    "virtual_alias_maps": "tables",
    "relay_domains": "list",
    "sender_dependent_relayhost_maps": "tables",
}
_PROTOCOLS = ("all", "ipv4", "ipv6")
_INTERFACE_KEYWORDS = ("all", "loopback-only")
_BOOL_WORDS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}
_MILTER_ACTIONS = ("accept", "reject", "tempfail", "quarantine")


def fail(variable: str, problem: str, allowed: str) -> NoReturn:
    """Refuse a value: ``<variable>: <problem>. Allowed: <allowed>.``"""
    raise ConfigError(f"{variable}: {problem}. Allowed: {allowed}.")


# --------------------------------------------------------------------------------------------
# Values


def _is_scalar(value):
    return isinstance(value, (str, int, float, bool))


def _scalar_text(variable, value):
    """Render one scalar the Postfix way: booleans yes/no, numbers as digits."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        if "\n" in value or "\r" in value:
            fail(variable, f"{value!r} contains a line break", "a single-line value")
        return value.strip()
    fail(variable, f"{value!r} is a {type(value).__name__}", "a string, number or boolean")


def render_value(value, variable="value"):
    """Render a value for main.cf: booleans yes/no, lists comma-separated, the rest as text.

    ``None`` renders as the empty string (Postfix's "explicitly empty").
    """
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        items = []
        for index, item in enumerate(value):
            if not _is_scalar(item):
                fail(f"{variable}[{index}]", f"{item!r} is not a scalar", "strings or numbers")
            text = _scalar_text(f"{variable}[{index}]", item)
            if text:
                items.append(text)
        return ", ".join(items)
    if isinstance(value, dict):
        fail(variable, "a dictionary has no main.cf form", "a string, number, boolean or list")
    return _scalar_text(variable, value)


def render_duration(value, variable="value"):
    """Render a time value with its unit: an integer means seconds (``300`` -> ``300s``)."""
    if isinstance(value, bool):
        fail(variable, f"{value!r} is a boolean", "a duration such as 300s, 4000s, 5d, 1h or 30m")
    if isinstance(value, int):
        if value < 0:
            fail(variable, f"{value} is negative", "a duration >= 0 such as 300s, 5d")
        return f"{value}s"
    if isinstance(value, str) and _DURATION_RE.match(value.strip()):
        return value.strip()
    fail(
        variable,
        f"{value!r} is not a duration",
        "a duration: digits with a unit s, m, h, d or w (300s, 5d)",
    )


def as_list(variable, value):
    """A list value as a list of strings; a string is split the way Postfix splits it."""
    if isinstance(value, str):
        # Postfix itself accepts "a, b c": split the same way so a string and a list compare equal.
        return [item for item in re.split(r"[\s,]+", value) if item]
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            if not _is_scalar(item) or isinstance(item, bool):
                fail(f"{variable}[{index}]", f"{item!r} is not a string", "a list of strings")
        return [str(item).strip() for item in value if str(item).strip()]
    fail(variable, f"{value!r} is a {type(value).__name__}", "a list of strings")


def check_param_name(variable, name):
    """Refuse anything that is not a Postfix parameter name."""
    if not isinstance(name, str) or not _PARAM_RE.match(name):
        fail(
            variable,
            f"{name!r} is not a Postfix parameter name",
            "lower-case letters, digits and underscores",
        )


def _check_hostname(variable, value, need_dot=False):
    if not isinstance(value, str) or isinstance(value, bool):
        fail(
            variable,
            f"{value!r} is a {type(value).__name__}",
            "a host name such as mail.example.com",
        )
    name = value.strip().rstrip(".")
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL_RE.match(label) for label in labels):
        fail(
            variable,
            f"{value!r} is not a valid host name",
            "letters, digits and hyphens in dot-separated labels, no spaces (mail.example.com)",
        )
    if need_dot and len(labels) < 2:
        fail(
            variable,
            f"{value!r} is not fully qualified",
            "a fully qualified name (mail.example.com)",
        )
    return name


def _require_netaddr(what):
    if not HAS_NETADDR:  # pragma: no cover
        raise ConfigError(f"{what} needs the Python library netaddr")


def _is_address(text):
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        netaddr.IPAddress(candidate, flags=netaddr.INET_PTON if ":" not in candidate else 0)
    except (netaddr.AddrFormatError, ValueError):
        return False
    return True


def _canonical_address(text):
    """``fe80::1%eth0`` -> ``fe80::1``; IPv6 compressed and lower case."""
    return str(netaddr.IPAddress(text.split("%")[0]))


# --------------------------------------------------------------------------------------------
# mynetworks


def mynetworks(value, variable="server_mynetworks"):
    """Validate and normalise a mynetworks list the way Postfix wants it.

    - ``10.0.0.0/33`` or ``10.0.0.300`` fail; a bare address becomes a /32 or /128 network;
    - host bits set (``10.1.2.3/8``) fail with the network the admin probably meant, because
      guessing would silently widen or narrow who may relay;
    - IPv6 networks are written ``[2001:db8::]/32``, compressed and lower case;
    - duplicates (after normalisation) are dropped, first occurrence kept;
    - ``!`` exclusions, ``type:table`` lookups and ``/file/name`` patterns pass unchanged.
    Returns a list of strings.
    """
    _require_netaddr("the sbs.postfix.postfix_mynetworks filter")
    result = []
    for index, item in enumerate(as_list(variable, value)):
        where = f"{variable}[{index}]"
        negate = item.startswith("!")
        body = item[1:] if negate else item
        if body.startswith("/") or (TABLE_RE.match(body) and not _looks_like_network(body)):
            normalised = body
        else:
            normalised = _normalise_network(where, body)
        entry = ("!" if negate else "") + normalised
        if entry not in result:
            result.append(entry)
    return result


def _looks_like_network(text):
    """True for anything netaddr reads as an address or network (fe80::/10 also matches the
    type:table pattern, so the network reading is tried first)."""
    candidate = re.sub(r"^\[([^\]]*)\]", r"\1", text)
    try:
        netaddr.IPNetwork(candidate)
    except (netaddr.AddrFormatError, ValueError, TypeError):
        return False
    return True


def _normalise_network(where, text):
    allowed = (
        "an IPv4 or IPv6 network in CIDR form (192.0.2.0/24, [2001:db8::]/32) or a single address"
    )
    match = re.match(r"^\[([0-9A-Fa-f:.]+)\](?:/(\d+))?$", text)
    if match:
        address, length = match.group(1), match.group(2)
    elif "/" in text:
        address, length = text.split("/", 1)
    else:
        address, length = text, None
    if length is not None and not length.isdigit():
        fail(where, f"{text!r} has an invalid prefix length", allowed)
    try:
        ip = (
            netaddr.IPAddress(address, flags=netaddr.INET_PTON)
            if ":" not in address
            else netaddr.IPAddress(address)
        )
    except (netaddr.AddrFormatError, ValueError):
        fail(where, f"{text!r} is not an IP address or network", allowed)
    maximum = 32 if ip.version == 4 else 128
    prefix = maximum if length is None else int(length)
    if prefix > maximum:
        fail(
            where,
            f"{text!r} has prefix length /{prefix}, "
            f"more than the /{maximum} an IPv{ip.version} address has",
            allowed,
        )
    network = netaddr.IPNetwork(f"{ip}/{prefix}")
    if network.network != ip:
        fail(
            where,
            f"{text!r} has host bits set (did you mean {_format_network(network.cidr)}?)",
            allowed,
        )
    return _format_network(network.cidr)


def _format_network(network):
    if network.version == 6:
        return f"[{network.ip.format(netaddr.ipv6_compact)}]/{network.prefixlen}"
    return f"{network.ip}/{network.prefixlen}"


# --------------------------------------------------------------------------------------------
# inet_interfaces and the host's own addresses


def facts_addresses(facts):
    """Every address the host has, from gathered facts (all interfaces, loopback included)."""
    _require_netaddr("the sbs.postfix.postfix_host_addresses filter")
    addresses = set()
    for iface in facts.get("interfaces", []) or []:
        data = facts.get(iface.replace("-", "_"), {}) or {}
        ipv4 = data.get("ipv4")
        for entry in ([ipv4] if isinstance(ipv4, dict) else ipv4 or []) + list(
            data.get("ipv4_secondaries", []) or []
        ):
            if entry.get("address"):
                addresses.add(entry["address"])
        for entry in data.get("ipv6", []) or []:
            if entry.get("address"):
                addresses.add(_canonical_address(entry["address"]))
    for key in ("all_ipv4_addresses", "all_ipv6_addresses"):
        for address in facts.get(key, []) or []:
            addresses.add(_canonical_address(address))
    return sorted(addresses)


def interface_problems(
    interfaces, host_addresses, resolved=None, variable="server_inet_interfaces"
):
    """Every inet_interfaces entry that is not an address (or a name resolving to one) the host
    has, one message each: Postfix would not start with any of them. ``resolved`` maps names to
    the addresses the host resolves them to (getent). An empty list means all is well."""
    _require_netaddr("the sbs.postfix.postfix_interface_problems filter")
    resolved = resolved or {}
    have = {_canonical_address(a) for a in host_addresses}
    try:
        items = as_list(variable, interfaces)
    except ConfigError as exc:
        return exc.problems
    problems = Problems()
    for index, item in enumerate(items):
        with problems.check():
            _check_interface(f"{variable}[{index}]", item, have, resolved)
    return problems.messages


def _check_interface(where, item, have, resolved):
    if item in _INTERFACE_KEYWORDS:
        return
    if _is_address(item):
        if str(netaddr.IPAddress(item.strip("[]"))) not in have:
            fail(
                where,
                f"{item} is not an address of this host",
                "all, loopback-only or one of " + ", ".join(sorted(have)),
            )
        return
    names = resolved.get(item) or []
    if not names:
        fail(
            where,
            f"{item!r} does not resolve on this host",
            "all, loopback-only, an address of this host or a name resolving to one",
        )
    if not any(_canonical_address(a) in have for a in names):
        fail(
            where,
            f"{item!r} resolves to {', '.join(names)}, none of which this host has",
            "one of " + ", ".join(sorted(have)),
        )


def check_interfaces(interfaces, host_addresses, resolved=None, variable="server_inet_interfaces"):
    """Refuse the entries :func:`interface_problems` finds, all in one ``ConfigError``.
    Returns the interfaces unchanged."""
    problems = interface_problems(interfaces, host_addresses, resolved, variable)
    if problems:
        raise ConfigError(*problems)
    return interfaces


def interface_names(interfaces, variable="server_inet_interfaces"):
    """The inet_interfaces entries that are host names (to be resolved on the host)."""
    _require_netaddr("the sbs.postfix.postfix_interface_names filter")
    return [
        item
        for item in as_list(variable, interfaces)
        if item not in _INTERFACE_KEYWORDS and not _is_address(item)
    ]


# --------------------------------------------------------------------------------------------
# One parameter, checked by what it means


def _check_bool(variable, value):
    # Strings Ansible itself converts to booleans are accepted, as argument_specs accepts them.
    if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
        value = _BOOL_WORDS[value.strip().lower()]
    if not isinstance(value, bool):
        fail(variable, f"{value!r} is not a boolean", "true or false")
    return render_value(value)


def _check_number(variable, value, kind):
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        else:
            fail(
                variable,
                f"{value!r} is not an integer",
                "an integer >= 0" + (" (bytes)" if kind == "size" else ""),
            )
    if value < 0:
        fail(
            variable,
            f"{value} is negative",
            "an integer >= 0" + (" (bytes, 0 = no limit)" if kind == "size" else ""),
        )
    return str(value)


def _check_origin(variable, value):
    if isinstance(value, str) and value.strip().startswith("$"):
        return _scalar_text(variable, value)
    return _check_hostname(variable, value)


def _check_destinations(variable, value):
    items = as_list(variable, value)
    for index, item in enumerate(items):
        if "$" in item or TABLE_RE.match(item) or item.startswith("/"):
            continue
        _check_hostname(f"{variable}[{index}]", item)
    return render_value(items)


def _check_interfaces_value(variable, value):
    items = as_list(variable, value)
    if not items:
        fail(
            variable,
            "the list is empty",
            "all, loopback-only, or addresses/host names of this host",
        )
    if len(items) > 1 and set(_INTERFACE_KEYWORDS) & set(items):
        fail(
            variable,
            f"{items!r} mixes a keyword with addresses",
            "either all, loopback-only, or a list of addresses",
        )
    for index, item in enumerate(items):
        if item not in _INTERFACE_KEYWORDS and not _is_address(item):
            _check_hostname(f"{variable}[{index}]", item)
    return render_value(items)


def _check_protocols(variable, value):
    items = as_list(variable, value)
    if not items or not set(items) <= set(_PROTOCOLS) or ("all" in items and len(items) > 1):
        fail(variable, f"{value!r} is not a protocol list", "all, ipv4, ipv6, or [ipv4, ipv6]")
    return render_value(items)


def _check_milter_action(variable, value):
    if value not in _MILTER_ACTIONS:
        fail(variable, f"{value!r} is not a milter action", ", ".join(_MILTER_ACTIONS))
    return value


def _check_nexthop(variable, value):
    if not isinstance(value, str):
        fail(
            variable,
            f"{value!r} is not a string",
            "a next hop such as [smtp.example.net]:587 or an empty string",
        )
    if re.search(r"\s", value.strip()):
        fail(variable, f"{value!r} contains spaces", "a next hop such as [smtp.example.net]:587")
    return value.strip()


def _check_tables(variable, value):
    items = as_list(variable, value)
    for index, item in enumerate(items):
        if not TABLE_RE.match(item):
            fail(
                f"{variable}[{index}]",
                f"{item!r} is not a lookup table",
                "type:name such as hash:/etc/postfix/transport",
            )
    return render_value(items)


_CHECKS = {
    "bool": _check_bool,
    "size": lambda variable, value: _check_number(variable, value, "size"),
    "count": lambda variable, value: _check_number(variable, value, "count"),
    "duration": lambda variable, value: render_duration(value, variable),
    "fqdn": lambda variable, value: _check_hostname(variable, value, need_dot=True),
    "hostname": _check_hostname,
    "origin": _check_origin,
    "destinations": _check_destinations,
    "networks": lambda variable, value: render_value(mynetworks(value, variable)),
    "interfaces": _check_interfaces_value,
    "protocols": _check_protocols,
    "milter_action": _check_milter_action,
    "nexthop": _check_nexthop,
    "tables": _check_tables,
    "list": lambda variable, value: render_value(as_list(variable, value)),
}


def render_parameter(variable, name, value):
    """Check one main.cf value by what the parameter means; return it rendered."""
    kind = PARAMETER_KINDS.get(name)
    if kind is None:
        if isinstance(value, dict):
            fail(variable, "a dictionary has no main.cf form", "a string, number, boolean or list")
        return render_value(value, variable)
    return _CHECKS[kind](variable, value)


# --------------------------------------------------------------------------------------------
# Contributions (docs/handoff.md)


def check_contribution(name, data):
    """Refuse a malformed ``sbs_postfix_contributions`` entry; return it unchanged."""
    where = f"sbs_postfix_contributions.{name}"
    if not isinstance(data, dict):
        fail(
            where,
            f"{data!r} is not a dictionary",
            "a dictionary with keys " + ", ".join(CONTRIBUTION_KEYS),
        )
    unknown = sorted(set(data) - set(CONTRIBUTION_KEYS))
    if unknown:
        fail(where, f"unknown key(s) {', '.join(unknown)}", ", ".join(CONTRIBUTION_KEYS))
    for key in ("main", "main_required", "main_append", "master", "reasons"):
        if not isinstance(data.get(key, {}), dict):
            fail(f"{where}.{key}", "is not a dictionary", "a dictionary")
    if not isinstance(data.get("services", []), list):
        fail(f"{where}.services", "is not a list", "a list of master.cf services")
    return data


# --------------------------------------------------------------------------------------------
# The merge


class Setting(NamedTuple):
    """A value the admin set in the inventory."""

    variable: str  # server_myhostname, server_main_extra.smtp_host_lookup
    value: Any


class Contributed(NamedTuple):
    """A value a role contributed through ``main`` or ``main_required``."""

    where: str  # sbs_postfix_contributions.<role>.<key>.<parameter>
    rendered: str
    contributor: str


class Appended(NamedTuple):
    """Items a role appends to a list parameter through ``main_append``."""

    where: str
    items: list
    contributor: str


class Reason(NamedTuple):
    """Why a role wants a parameter, in its own words."""

    contributor: str
    text: str


class Decision(NamedTuple):
    """The value written for one parameter, and where it came from."""

    variable: str  # named in messages about the written value
    rendered: str
    source: str  # "inventory (server_x)", "role tuning", "SBS default", ...
    contributors: tuple[str, ...] = ()  # the roles whose value is (part of) the one written


@dataclass(frozen=True)
class Contributions:
    """Every role's main.cf wishes, checked against each other."""

    derived: dict[str, Contributed]
    required: dict[str, Contributed]
    appends: dict[str, list[Appended]]
    reasons: dict[str, Reason]


@dataclass(frozen=True)
class MainCf:
    """The merged main.cf, every parameter with its source, sorted by name."""

    parameters: dict[str, str]
    sources: dict[str, str]
    variables: dict[str, str]
    reasons: dict[str, str]  # every reason a role gave, "role: text", for the play's output
    notes: dict[str, str]  # reasons of the roles whose value is written, for main.cf comments

    def as_dict(self):
        return {
            "parameters": self.parameters,
            "sources": self.sources,
            "variables": self.variables,
            "reasons": self.reasons,
            "notes": self.notes,
        }


def _admin_settings(admin, extra, variables, problems):
    """The admin's values (dedicated variables, then server_main_extra) and the parameters
    server_main_extra removes with null."""
    chosen = {}
    suppressed = set()
    for name, value in admin.items():
        if value is not None:
            chosen[name] = Setting(variables.get(name, f"server_{name}"), value)
    for name, value in extra.items():
        with problems.check(name):
            _add_extra(name, value, chosen, suppressed)
    return chosen, suppressed


def _add_extra(name, value, chosen, suppressed):
    where = f"server_main_extra.{name}"
    check_param_name(where, name)
    if name in chosen:
        fail(
            where,
            f"{name} is also set by {chosen[name].variable}",
            f"one of the two; prefer {chosen[name].variable}",
        )
    if value is None:
        suppressed.add(name)
    else:
        chosen[name] = Setting(where, value)


def _collect_contributions(contributions, problems):
    found = Contributions({}, {}, {}, {})
    for contributor in sorted(contributions):
        # A malformed entry is reported once; its keys are not read.
        with problems.check():
            data = check_contribution(contributor, contributions[contributor])
            _collect_contribution(contributor, data, found, problems)
    return found


def _collect_contribution(contributor, data, found, problems):
    base = f"sbs_postfix_contributions.{contributor}"
    for key, target in (("main", found.derived), ("main_required", found.required)):
        for name, value in data.get(key, {}).items():
            with problems.check(name):
                where = f"{base}.{key}.{name}"
                check_param_name(where, name)
                rendered = render_parameter(where, name, value)
                for other in (found.derived, found.required):
                    if name in other and other[name].rendered != rendered:
                        fail(
                            where,
                            f"{rendered!r} conflicts with {other[name].rendered!r} "
                            f"from {other[name].where}",
                            "one value per parameter across roles; "
                            "set it in the inventory or fix one role",
                        )
                target[name] = Contributed(where, rendered, contributor)
    for name, items in data.get("main_append", {}).items():
        with problems.check(name):
            where = f"{base}.main_append.{name}"
            check_param_name(where, name)
            appended = Appended(where, as_list(where, items), contributor)
            found.appends.setdefault(name, []).append(appended)
    for name, reason in data.get("reasons", {}).items():
        with problems.check():
            text = _scalar_text(f"{base}.reasons.{name}", reason)
            found.reasons[name] = Reason(contributor, text)


def _check_required(name, required, chosen, suppressed):
    """A value a role requires may be repeated by the admin, never changed or removed."""
    if name in chosen:
        admin_rendered = render_parameter(chosen[name].variable, name, chosen[name].value)
        if admin_rendered != required.rendered:
            fail(
                chosen[name].variable,
                f"{admin_rendered!r} conflicts with {required.rendered!r}, "
                f"which {required.where} requires",
                f"{required.rendered!r} or leave {chosen[name].variable} unset",
            )
    elif name in suppressed:
        fail(
            f"server_main_extra.{name}",
            f"null removes {name}, which {required.where} requires ({required.rendered!r})",
            f"{required.rendered!r} or leave it unset",
        )


def _decide(name, chosen, suppressed, found, defaults):
    """The value before appends: inventory, then required, then derived, then SBS default."""
    if name in chosen:
        setting = chosen[name]
        rendered = render_parameter(setting.variable, name, setting.value)
        return Decision(setting.variable, rendered, f"inventory ({setting.variable})")
    if name in suppressed:
        return None
    for contributed, label in ((found.required, " (required)"), (found.derived, "")):
        if name in contributed:
            entry = contributed[name]
            source = f"role {entry.contributor}{label}"
            return Decision(entry.where, entry.rendered, source, (entry.contributor,))
    if defaults.get(name) is not None:
        variable = f"SBS default {name}"
        return Decision(variable, render_parameter(variable, name, defaults[name]), "SBS default")
    return None


def _append(name, decision, appends):
    """Add the roles' items after the decided value, without duplicates."""
    items = [] if decision is None else as_list(decision.variable, decision.rendered)
    contributors = tuple(append.contributor for append in appends)
    for append in appends:
        render_parameter(append.where, name, append.items)
        items.extend(item for item in append.items if item not in items)
    source = (
        (decision.source + " + " if decision and decision.rendered else "")
        + "appended by "
        + ", ".join(contributors)
    )
    if decision is None:
        return Decision(appends[0].where, render_parameter(name, name, items), source, contributors)
    return Decision(
        decision.variable,
        render_parameter(name, name, items),
        source,
        decision.contributors + contributors,
    )


def _written(name, chosen, suppressed, found, defaults):
    """The decision for one parameter, with the roles' appends; None when nothing is written."""
    if name in found.required:
        _check_required(name, found.required[name], chosen, suppressed)
    decision = _decide(name, chosen, suppressed, found, defaults)
    if name in found.appends:
        decision = _append(name, decision, found.appends[name])
    return decision


def merge_main(admin, extra=None, contributions=None, defaults=None, variables=None):
    """Merge the admin's inventory, other roles' contributions and the SBS defaults.

    :param admin: ``{parameter: value}`` from the dedicated ``server_*`` variables; ``None``
        means "not set by the admin".
    :param extra: ``server_main_extra``; a ``None`` value there means "do not write this
        parameter" (Postfix's built-in default applies).
    :param contributions: ``sbs_postfix_contributions`` (see docs/handoff.md).
    :param defaults: the collection's SBS defaults ``{parameter: value}``.
    :param variables: ``{parameter: variable name}`` for messages (default ``server_<name>``).
    :returns: a ``MainCf``; every value validated and rendered.
    :raises ConfigError: holding every problem found, not only the first.
    """
    admin = admin or {}
    extra = extra or {}
    contributions = contributions or {}
    defaults = defaults or {}
    variables = variables or {}
    for label, value in (
        ("server_main_extra", extra),
        ("sbs_postfix_contributions", contributions),
        ("the SBS defaults", defaults),
    ):
        if not isinstance(value, dict):
            fail(label, f"{value!r} is not a dictionary", "a dictionary of main.cf parameters")

    problems = Problems()
    chosen, suppressed = _admin_settings(admin, extra, variables, problems)
    found = _collect_contributions(contributions, problems)

    written = {}
    names = (
        set(chosen)
        | set(found.derived)
        | set(found.required)
        | set(found.appends)
        | set(defaults)
        | suppressed
    )
    for name in sorted(names):
        with problems.check(name):
            decision = _written(name, chosen, suppressed, found, defaults)
            if decision is not None:
                written[name] = decision

    parameters = {name: decision.rendered for name, decision in written.items()}
    sources = {name: decision.source for name, decision in written.items()}
    # The checks across parameters judge the values written; a parameter with a problem of
    # its own has none, and judging what is left would only add a misleading message.
    if "smtpd_relay_restrictions" not in problems.failed:
        with problems.check():
            _check_relay_safety(parameters, sources)
    if not {"mailbox_size_limit", "message_size_limit"} & problems.failed:
        with problems.check():
            _check_sizes(parameters, sources)
    problems.raise_any()
    reasons = found.reasons
    return MainCf(
        parameters=parameters,
        sources=sources,
        variables={name: decision.variable for name, decision in written.items()},
        reasons={
            name: f"{reasons[name].contributor}: {reasons[name].text}" for name in sorted(reasons)
        },
        notes={
            name: reasons[name].text
            for name in sorted(reasons)
            if name in written and reasons[name].contributor in written[name].contributors
        },
    )


def _check_relay_safety(params, sources):
    """An open relay must be impossible whatever the inputs say."""
    items = as_list("smtpd_relay_restrictions", params.get("smtpd_relay_restrictions", ""))
    where = sources.get("smtpd_relay_restrictions", "smtpd_relay_restrictions")
    if "reject_unauth_destination" not in items:
        fail(
            f"smtpd_relay_restrictions (from {where})",
            "reject_unauth_destination is missing, which would make this server an open relay",
            "a list that contains reject_unauth_destination, e.g. "
            "[permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination]",
        )
    before = items[: items.index("reject_unauth_destination")]
    if "permit" in before:
        fail(
            f"smtpd_relay_restrictions (from {where})",
            "a bare 'permit' before reject_unauth_destination makes this server an open relay",
            "permit_mynetworks, permit_sasl_authenticated and similar "
            "before reject_unauth_destination",
        )


def _check_sizes(params, sources):
    mailbox = int(params.get("mailbox_size_limit", "51200000"))
    message = int(params.get("message_size_limit", "10240000"))
    if mailbox and mailbox < message:
        fail(
            f"mailbox_size_limit (from {sources.get('mailbox_size_limit', 'the Postfix default')})",
            f"{mailbox} is smaller than message_size_limit {message} "
            f"(from {sources.get('message_size_limit', 'the Postfix default')}), "
            "and Postfix refuses to deliver locally then",
            "0 (no limit) or a value >= message_size_limit",
        )
