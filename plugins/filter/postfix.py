# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters that turn the server role's variables into Postfix's configuration.

They run on the controller, so they may use netaddr. Every failure is an
``AnsibleFilterError`` whose message names the variable that caused it and what is
allowed instead, because the role calls them before it changes anything on a host.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.sbs.postfix.plugins.module_utils._postfix_config import (
    listen_backlog,
)

try:
    import netaddr

    HAS_NETADDR = True
except ImportError:  # pragma: no cover - netaddr is in requirements-dev.txt
    HAS_NETADDR = False

# Postfix parameter names: lower case, digits, underscores (service-specific overrides such as
# `submission_smtpd_tls_security_level` match as well).
_PARAM_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# A time value: digits and an optional unit (Postfix's default unit is seconds for most).
_DURATION_RE = re.compile(r"^[0-9]+[smhdw]?$")
_LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# `type:name` lookup tables as Postfix writes them (hash:/etc/postfix/x, inline:{...}, ...).
_TABLE_RE = re.compile(r"^[a-z][a-z0-9_]*:\S+$")
_SERVICE_TYPES = ("inet", "unix", "unix-dgram", "fifo", "pass")
_CONTRIBUTION_KEYS = ("main", "main_required", "main_append", "master", "services", "reasons")
_SERVICE_KEYS = (
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
_OVERRIDE_KEYS = ("maxproc", "enabled", "options")

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
_BOOL_WORDS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}
_MILTER_ACTIONS = ("accept", "reject", "tempfail", "quarantine")
# Lists longer than this are written one item per line, as Postfix's own examples do.
_INLINE_LIST_MAX = 3


def _fail(variable, problem, allowed):
    raise AnsibleFilterError(f"{variable}: {problem}. Allowed: {allowed}.")


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
            _fail(variable, f"{value!r} contains a line break", "a single-line value")
        return value.strip()
    _fail(variable, f"{value!r} is a {type(value).__name__}", "a string, number or boolean")
    return None  # pragma: no cover


def postfix_value(value, variable="value"):
    """Render a value for main.cf: booleans yes/no, lists comma-separated, the rest as text.

    ``None`` renders as the empty string (Postfix's "explicitly empty").
    """
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        items = []
        for index, item in enumerate(value):
            if not _is_scalar(item):
                _fail(f"{variable}[{index}]", f"{item!r} is not a scalar", "strings or numbers")
            text = _scalar_text(f"{variable}[{index}]", item)
            if text:
                items.append(text)
        return ", ".join(items)
    if isinstance(value, dict):
        _fail(variable, "a dictionary has no main.cf form", "a string, number, boolean or list")
    return _scalar_text(variable, value)


def postfix_duration(value, variable="value"):
    """Render a time value with its unit: an integer means seconds (``300`` -> ``300s``)."""
    if isinstance(value, bool):
        _fail(variable, f"{value!r} is a boolean", "a duration such as 300s, 4000s, 5d, 1h or 30m")
    if isinstance(value, int):
        if value < 0:
            _fail(variable, f"{value} is negative", "a duration >= 0 such as 300s, 5d")
        return f"{value}s"
    if isinstance(value, str) and _DURATION_RE.match(value.strip()):
        return value.strip()
    _fail(
        variable,
        f"{value!r} is not a duration",
        "a duration: digits with a unit s, m, h, d or w (300s, 5d)",
    )
    return None  # pragma: no cover


def _as_list(variable, value):
    if isinstance(value, str):
        # Postfix itself accepts "a, b c": split the same way so a string and a list compare equal.
        return [item for item in re.split(r"[\s,]+", value) if item]
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            if not _is_scalar(item) or isinstance(item, bool):
                _fail(f"{variable}[{index}]", f"{item!r} is not a string", "a list of strings")
        return [str(item).strip() for item in value if str(item).strip()]
    _fail(variable, f"{value!r} is a {type(value).__name__}", "a list of strings")
    return None  # pragma: no cover


def _check_hostname(variable, value, need_dot=False):
    if not isinstance(value, str) or isinstance(value, bool):
        _fail(
            variable,
            f"{value!r} is a {type(value).__name__}",
            "a host name such as mail.example.com",
        )
    name = value.strip().rstrip(".")
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL_RE.match(label) for label in labels):
        _fail(
            variable,
            f"{value!r} is not a valid host name",
            "letters, digits and hyphens in dot-separated labels, no spaces (mail.example.com)",
        )
    if need_dot and len(labels) < 2:
        _fail(
            variable,
            f"{value!r} is not fully qualified",
            "a fully qualified name (mail.example.com)",
        )
    return name


def postfix_mynetworks(value, variable="server_mynetworks"):
    """Validate and normalise a mynetworks list the way Postfix wants it.

    - ``10.0.0.0/33`` or ``10.0.0.300`` fail; a bare address becomes a /32 or /128 network;
    - host bits set (``10.1.2.3/8``) fail with the network the admin probably meant, because
      guessing would silently widen or narrow who may relay;
    - IPv6 networks are written ``[2001:db8::]/32``, compressed and lower case;
    - duplicates (after normalisation) are dropped, first occurrence kept;
    - ``!`` exclusions, ``type:table`` lookups and ``/file/name`` patterns pass unchanged.
    Returns a list of strings.
    """
    if not HAS_NETADDR:  # pragma: no cover
        raise AnsibleFilterError(
            "the sbs.postfix.postfix_mynetworks filter needs the Python library netaddr"
        )
    result = []
    for index, item in enumerate(_as_list(variable, value)):
        where = f"{variable}[{index}]"
        negate = item.startswith("!")
        body = item[1:] if negate else item
        if body.startswith("/") or (_TABLE_RE.match(body) and not _looks_like_network(body)):
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
        _fail(where, f"{text!r} has an invalid prefix length", allowed)
    try:
        ip = (
            netaddr.IPAddress(address, flags=netaddr.INET_PTON)
            if ":" not in address
            else netaddr.IPAddress(address)
        )
    except (netaddr.AddrFormatError, ValueError):
        _fail(where, f"{text!r} is not an IP address or network", allowed)
    maximum = 32 if ip.version == 4 else 128
    prefix = maximum if length is None else int(length)
    if prefix > maximum:
        _fail(
            where,
            f"{text!r} has prefix length /{prefix}, "
            f"more than the /{maximum} an IPv{ip.version} address has",
            allowed,
        )
    network = netaddr.IPNetwork(f"{ip}/{prefix}")
    if network.network != ip:
        _fail(
            where,
            f"{text!r} has host bits set (did you mean {_format_network(network.cidr)}?)",
            allowed,
        )
    return _format_network(network.cidr)


def _format_network(network):
    if network.version == 6:
        return f"[{network.ip.format(netaddr.ipv6_compact)}]/{network.prefixlen}"
    return f"{network.ip}/{network.prefixlen}"


def _validate(variable, name, value):
    """Check one main.cf value by what the parameter means; return it rendered."""
    kind = PARAMETER_KINDS.get(name)
    if kind is None:
        if isinstance(value, dict):
            _fail(variable, "a dictionary has no main.cf form", "a string, number, boolean or list")
        return postfix_value(value, variable)
    if kind == "bool":
        # Strings Ansible itself converts to booleans are accepted, as argument_specs accepts them.
        if isinstance(value, str) and value.strip().lower() in _BOOL_WORDS:
            value = _BOOL_WORDS[value.strip().lower()]
        if not isinstance(value, bool):
            _fail(variable, f"{value!r} is not a boolean", "true or false")
        return postfix_value(value)
    if kind in ("size", "count"):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and value.strip().isdigit():
                value = int(value)
            else:
                _fail(
                    variable,
                    f"{value!r} is not an integer",
                    "an integer >= 0" + (" (bytes)" if kind == "size" else ""),
                )
        if value < 0:
            _fail(
                variable,
                f"{value} is negative",
                "an integer >= 0" + (" (bytes, 0 = no limit)" if kind == "size" else ""),
            )
        return str(value)
    if kind == "duration":
        return postfix_duration(value, variable)
    if kind == "fqdn":
        return _check_hostname(variable, value, need_dot=True)
    if kind == "hostname":
        return _check_hostname(variable, value)
    if kind == "origin":
        if isinstance(value, str) and value.strip().startswith("$"):
            return _scalar_text(variable, value)
        return _check_hostname(variable, value)
    if kind == "destinations":
        items = _as_list(variable, value)
        for index, item in enumerate(items):
            if "$" in item or _TABLE_RE.match(item) or item.startswith("/"):
                continue
            _check_hostname(f"{variable}[{index}]", item)
        return postfix_value(items)
    if kind == "networks":
        return postfix_value(postfix_mynetworks(value, variable))
    if kind == "interfaces":
        items = _as_list(variable, value)
        if not items:
            _fail(
                variable,
                "the list is empty",
                "all, loopback-only, or addresses/host names of this host",
            )
        if len(items) > 1 and {"all", "loopback-only"} & set(items):
            _fail(
                variable,
                f"{items!r} mixes a keyword with addresses",
                "either all, loopback-only, or a list of addresses",
            )
        for index, item in enumerate(items):
            if item not in ("all", "loopback-only") and not _is_address(item):
                _check_hostname(f"{variable}[{index}]", item)
        return postfix_value(items)
    if kind == "protocols":
        items = _as_list(variable, value)
        if not items or not set(items) <= set(_PROTOCOLS) or ("all" in items and len(items) > 1):
            _fail(variable, f"{value!r} is not a protocol list", "all, ipv4, ipv6, or [ipv4, ipv6]")
        return postfix_value(items)
    if kind == "milter_action":
        if value not in _MILTER_ACTIONS:
            _fail(variable, f"{value!r} is not a milter action", ", ".join(_MILTER_ACTIONS))
        return value
    if kind == "nexthop":
        if not isinstance(value, str):
            _fail(
                variable,
                f"{value!r} is not a string",
                "a next hop such as [smtp.example.net]:587 or an empty string",
            )
        if re.search(r"\s", value.strip()):
            _fail(
                variable, f"{value!r} contains spaces", "a next hop such as [smtp.example.net]:587"
            )
        return value.strip()
    if kind == "tables":
        items = _as_list(variable, value)
        for index, item in enumerate(items):
            if not _TABLE_RE.match(item):
                _fail(
                    f"{variable}[{index}]",
                    f"{item!r} is not a lookup table",
                    "type:name such as hash:/etc/postfix/transport",
                )
        return postfix_value(items)
    # kind == "list"
    return postfix_value(_as_list(variable, value))


def _is_address(text):
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        netaddr.IPAddress(candidate, flags=netaddr.INET_PTON if ":" not in candidate else 0)
    except (netaddr.AddrFormatError, ValueError):
        return False
    return True


def _check_param_name(variable, name):
    if not isinstance(name, str) or not _PARAM_RE.match(name):
        _fail(
            variable,
            f"{name!r} is not a Postfix parameter name",
            "lower-case letters, digits and underscores",
        )


def _contribution(name, data):
    where = f"sbs_postfix_contributions.{name}"
    if not isinstance(data, dict):
        _fail(
            where,
            f"{data!r} is not a dictionary",
            "a dictionary with keys " + ", ".join(_CONTRIBUTION_KEYS),
        )
    unknown = sorted(set(data) - set(_CONTRIBUTION_KEYS))
    if unknown:
        _fail(where, f"unknown key(s) {', '.join(unknown)}", ", ".join(_CONTRIBUTION_KEYS))
    for key in ("main", "main_required", "main_append", "master", "reasons"):
        if not isinstance(data.get(key, {}), dict):
            _fail(f"{where}.{key}", "is not a dictionary", "a dictionary")
    if not isinstance(data.get("services", []), list):
        _fail(f"{where}.services", "is not a list", "a list of master.cf services")
    return data


def postfix_main(admin, extra=None, contributions=None, defaults=None, variables=None):
    """Merge the admin's inventory, other roles' contributions and the SBS defaults.

    :param admin: ``{parameter: value}`` from the dedicated ``server_*`` variables; ``None``
        means "not set by the admin".
    :param extra: ``server_main_extra``; a ``None`` value there means "do not write this
        parameter" (Postfix's built-in default applies).
    :param contributions: ``sbs_postfix_contributions`` (see docs/handoff.md).
    :param defaults: the collection's SBS defaults ``{parameter: value}``.
    :param variables: ``{parameter: variable name}`` for messages (default ``server_<name>``).
    :returns: ``{"parameters": {name: text}, "sources": {name: text}, "reasons": {name: text}}``
        with the parameters sorted by name; every value validated and rendered.
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
            _fail(label, f"{value!r} is not a dictionary", "a dictionary of main.cf parameters")

    chosen = {}  # name -> (variable, raw value, source)
    suppressed = set()
    for name, value in admin.items():
        if value is not None:
            chosen[name] = (variables.get(name, f"server_{name}"), value, "inventory")
    for name, value in extra.items():
        _check_param_name(f"server_main_extra.{name}", name)
        where = f"server_main_extra.{name}"
        if name in chosen:
            _fail(
                where,
                f"{name} is also set by {chosen[name][0]}",
                f"one of the two; prefer {chosen[name][0]}",
            )
        if value is None:
            suppressed.add(name)
        else:
            chosen[name] = (where, value, "inventory")

    derived = {}  # name -> (variable, raw, rendered, contributor)
    required = {}
    appends = {}  # name -> list of (variable, items)
    reasons = {}
    for contributor in sorted(contributions):
        data = _contribution(contributor, contributions[contributor])
        base = f"sbs_postfix_contributions.{contributor}"
        for key, target in (("main", derived), ("main_required", required)):
            for name, value in data.get(key, {}).items():
                where = f"{base}.{key}.{name}"
                _check_param_name(where, name)
                rendered = _validate(where, name, value)
                for other in (derived, required):
                    if name in other and other[name][2] != rendered:
                        _fail(
                            where,
                            f"{rendered!r} conflicts with {other[name][2]!r} from {other[name][0]}",
                            "one value per parameter across roles; "
                            "set it in the inventory or fix one role",
                        )
                target[name] = (where, value, rendered, contributor)
        for name, items in data.get("main_append", {}).items():
            where = f"{base}.main_append.{name}"
            _check_param_name(where, name)
            appends.setdefault(name, []).append((where, _as_list(where, items), contributor))
        for name, reason in data.get("reasons", {}).items():
            reasons[name] = (contributor, _scalar_text(f"{base}.reasons.{name}", reason))

    result = {}
    sources = {}
    variables_used = {}
    deciders = {}  # name -> contributors whose value is (part of) the one written
    for name in sorted(
        set(chosen) | set(derived) | set(required) | set(appends) | set(defaults) | suppressed
    ):
        value = None
        if name in required:
            where, _raw, rendered, _contributor = required[name]
            if name in chosen:
                admin_rendered = _validate(chosen[name][0], name, chosen[name][1])
                if admin_rendered != rendered:
                    _fail(
                        chosen[name][0],
                        f"{admin_rendered!r} conflicts with {rendered!r}, which {where} requires",
                        f"{rendered!r} or leave {chosen[name][0]} unset",
                    )
            elif name in suppressed:
                _fail(
                    f"server_main_extra.{name}",
                    f"null removes {name}, which {where} requires ({rendered!r})",
                    f"{rendered!r} or leave it unset",
                )
        if name in chosen:
            value = (
                chosen[name][0],
                _validate(chosen[name][0], name, chosen[name][1]),
                f"inventory ({chosen[name][0]})",
            )
        elif name in suppressed:
            value = None
        elif name in required:
            value = (required[name][0], required[name][2], f"role {required[name][3]} (required)")
            deciders[name] = [required[name][3]]
        elif name in derived:
            value = (derived[name][0], derived[name][2], f"role {derived[name][3]}")
            deciders[name] = [derived[name][3]]
        elif name in defaults and defaults[name] is not None:
            value = (
                f"SBS default {name}",
                _validate(f"SBS default {name}", name, defaults[name]),
                "SBS default",
            )
        if name in appends:
            items = [] if value is None else _as_list(value[0], value[1])
            contributors = []
            for where, extra_items, contributor in appends[name]:
                _validate(where, name, extra_items)
                for item in extra_items:
                    if item not in items:
                        items.append(item)
                contributors.append(contributor)
            deciders.setdefault(name, []).extend(contributors)
            source = (
                (value[2] + " + " if value and value[1] else "")
                + "appended by "
                + ", ".join(contributors)
            )
            value = (
                value[0] if value else appends[name][0][0],
                _validate(name, name, items),
                source,
            )
        if value is None:
            continue
        result[name] = value[1]
        sources[name] = value[2]
        variables_used[name] = value[0]

    _check_relay_safety(result, sources)
    _check_sizes(result, sources)
    return {
        "parameters": result,
        "sources": sources,
        "variables": variables_used,
        # Every reason a role gave, for the play's output.
        "reasons": {k: f"{reasons[k][0]}: {reasons[k][1]}" for k in sorted(reasons)},
        # The reasons of the roles whose value is the one written, for main.cf's comments.
        "notes": {
            k: reasons[k][1] for k in sorted(reasons) if reasons[k][0] in deciders.get(k, ())
        },
    }


def _check_relay_safety(params, sources):
    """An open relay must be impossible whatever the inputs say."""
    items = _as_list("smtpd_relay_restrictions", params.get("smtpd_relay_restrictions", ""))
    where = sources.get("smtpd_relay_restrictions", "smtpd_relay_restrictions")
    if "reject_unauth_destination" not in items:
        _fail(
            f"smtpd_relay_restrictions (from {where})",
            "reject_unauth_destination is missing, which would make this server an open relay",
            "a list that contains reject_unauth_destination, e.g. "
            "[permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination]",
        )
    before = items[: items.index("reject_unauth_destination")]
    if "permit" in before:
        _fail(
            f"smtpd_relay_restrictions (from {where})",
            "a bare 'permit' before reject_unauth_destination makes this server an open relay",
            "permit_mynetworks, permit_sasl_authenticated and similar "
            "before reject_unauth_destination",
        )


def _check_sizes(params, sources):
    mailbox = int(params.get("mailbox_size_limit", "51200000"))
    message = int(params.get("message_size_limit", "10240000"))
    if mailbox and mailbox < message:
        _fail(
            f"mailbox_size_limit (from {sources.get('mailbox_size_limit', 'the Postfix default')})",
            f"{mailbox} is smaller than message_size_limit {message} "
            f"(from {sources.get('message_size_limit', 'the Postfix default')}), "
            "and Postfix refuses to deliver locally then",
            "0 (no limit) or a value >= message_size_limit",
        )


# --------------------------------------------------------------------------------------------
# master.cf


def _flag(where, value, field):
    if value is None or value in ("-", "y", "n"):
        return "-" if value is None else value
    if isinstance(value, bool):
        return "y" if value else "n"
    _fail(
        f"{where}.{field}", f"{value!r} is not a boolean", "true, false or null (Postfix's default)"
    )
    return None  # pragma: no cover


def _number(where, value, field, allow_query=False):
    if value is None or value == "-":
        return "-"
    text = str(value)
    if isinstance(value, bool) or not re.match(
        r"^[0-9]+" + (r"\??" if allow_query else "") + "$", text
    ):
        allowed = "an integer >= 0 or null (Postfix's default)"
        if allow_query:
            allowed = "an integer >= 0, optionally followed by ? (wake up only when used), or null"
        _fail(f"{where}.{field}", f"{value!r} is not valid", allowed)
    return text


def postfix_master_option(name, value, where="options"):
    """Render one ``-o name=value`` override; values with spaces use Postfix's ``{ }`` form."""
    _check_param_name(f"{where}.{name}", name)
    if isinstance(value, (list, tuple)):
        text = ",".join(_as_list(f"{where}.{name}", value))
    else:
        text = postfix_value(value, f"{where}.{name}")
    if re.search(r"\s", text) or text == "":
        return f"-o {{ {name} = {text} }}"
    return f"-o {name}={text}"


def postfix_listen_backlog(maxproc, default_process_limit, somaxconn=None):
    """The listen backlog master(8) gives an inet listener whose master.cf maxproc field is
    ``maxproc`` (``-`` for the default): the same rule the ``config`` module uses to decide on a
    restart, so the tuning role's check and the module cannot disagree. ``None`` when maxproc is
    not a number."""
    try:
        limit = int(default_process_limit)
        cap = None if somaxconn is None else int(somaxconn)
    except (TypeError, ValueError):
        _fail(
            "postfix_listen_backlog",
            f"default_process_limit {default_process_limit!r} or somaxconn {somaxconn!r} "
            "is not a number",
            "integers as postconf and /proc/sys/net/core/somaxconn print them",
        )
    return listen_backlog({"process_limit": str(maxproc).strip()}, limit, cap)


def _check_service(where, service):
    if not isinstance(service, dict):
        _fail(where, f"{service!r} is not a dictionary", "a service with name, type and command")
    unknown = sorted(set(service) - set(_SERVICE_KEYS) - {"state"})
    if unknown:
        _fail(where, f"unknown key(s) {', '.join(unknown)}", ", ".join(_SERVICE_KEYS))
    name = service.get("name")
    if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9_.:\[\]-]+$", name):
        _fail(
            f"{where}.name",
            f"{name!r} is not a service name",
            "a name without spaces (smtp, 587, 127.0.0.1:10025)",
        )
    if service.get("type") not in _SERVICE_TYPES:
        _fail(
            f"{where}.type",
            f"{service.get('type')!r} is not a master.cf service type",
            ", ".join(_SERVICE_TYPES),
        )


def _normalise_service(where, service):
    _check_service(where, service)
    command = service.get("command")
    if not isinstance(command, str) or not re.match(r"^[A-Za-z0-9_.+-]+$", command):
        _fail(
            f"{where}.command",
            f"{command!r} is not a Postfix daemon name",
            "a program in daemon_directory (smtpd, smtp, pipe, lmtp, ...)",
        )
    args = service.get("args") or []
    if not isinstance(args, list) or not all(
        isinstance(a, str) and a.strip() and "\n" not in a for a in args
    ):
        _fail(
            f"{where}.args",
            f"{args!r} is not a list of non-empty strings",
            "a list of command arguments",
        )
    options = service.get("options") or {}
    if not isinstance(options, dict):
        _fail(
            f"{where}.options",
            f"{options!r} is not a dictionary",
            "a dictionary of -o overrides {parameter: value}",
        )
    enabled = service.get("enabled", True)
    if not isinstance(enabled, bool):
        _fail(f"{where}.enabled", f"{enabled!r} is not a boolean", "true or false")
    return {
        "name": service["name"],
        "type": service["type"],
        "private": _flag(where, service.get("private"), "private"),
        "unpriv": _flag(where, service.get("unpriv"), "unpriv"),
        "chroot": _flag(where, service.get("chroot"), "chroot"),
        "wakeup": _number(where, service.get("wakeup"), "wakeup", allow_query=True),
        "maxproc": _number(where, service.get("maxproc"), "maxproc"),
        "command": command,
        "args": list(args),
        "options": dict(options),
        "enabled": enabled,
    }


def _apply_override(where, service, override):
    if not isinstance(override, dict):
        _fail(
            where,
            f"{override!r} is not a dictionary",
            "a dictionary with maxproc, enabled, options",
        )
    unknown = sorted(set(override) - set(_OVERRIDE_KEYS))
    if unknown:
        _fail(where, f"unknown key(s) {', '.join(unknown)}", ", ".join(_OVERRIDE_KEYS))
    if "maxproc" in override:
        service["maxproc"] = _number(where, override["maxproc"], "maxproc")
    if "enabled" in override:
        if not isinstance(override["enabled"], bool):
            _fail(f"{where}.enabled", f"{override['enabled']!r} is not a boolean", "true or false")
        service["enabled"] = override["enabled"]
    options = override.get("options") or {}
    if not isinstance(options, dict):
        _fail(
            f"{where}.options",
            f"{options!r} is not a dictionary",
            "a dictionary of -o overrides; null removes one",
        )
    for key, value in options.items():
        _check_param_name(f"{where}.options.{key}", key)
        if value is None:
            service["options"].pop(key, None)
        else:
            service["options"][key] = value


def postfix_master(defaults, services=None, overrides=None, contributions=None, optional=None):
    """Build the final list of master.cf services.

    :param defaults: the stock services (Debian's master.cf) as dictionaries.
    :param services: ``server_master_services``: services to add, or to replace when
        ``name``/``type`` match a default; ``state: absent`` removes one.
    :param overrides: ``server_master_overrides``: ``{"name/type": {maxproc, enabled, options}}``.
    :param optional: the role's optional services (submission, smtps, LMTP transport), added
        after the defaults and before everything else.
    :param contributions: ``sbs_postfix_contributions``; their ``services`` are added and their
        ``master`` overrides applied before the admin's (the admin wins; two roles that set the
        same option differently fail).
    :returns: list of normalised services (disabled ones dropped).
    """
    contributions = contributions or {}
    overrides = overrides or {}
    if not isinstance(overrides, dict):
        _fail(
            "server_master_overrides",
            f"{overrides!r} is not a dictionary",
            'a dictionary keyed "name/type" (smtp/inet)',
        )
    order = []
    table = {}

    def add(where, service, replace):
        if isinstance(service, dict) and service.get("state") == "absent":
            _check_service(where, service)
            key = f"{service['name']}/{service['type']}"
            if key in table:
                order.remove(key)
                del table[key]
            return
        if isinstance(service, dict) and service.get("state", "present") != "present":
            _fail(f"{where}.state", f"{service.get('state')!r} is not a state", "present or absent")
        normalised = _normalise_service(where, service)
        key = f"{normalised['name']}/{normalised['type']}"
        if key in table and not replace:
            _fail(
                where,
                f"service {key} is already defined",
                "a service name/type that no other role defines",
            )
        if key not in table:
            order.append(key)
        table[key] = normalised

    for index, service in enumerate(defaults or []):
        add(f"SBS default master service [{index}]", service, replace=True)
    # The role's optional services (submission, smtps, LMTP), named after their variables.
    for service in optional or []:
        add(
            f"the {service.get('name')} service (server_*_options, server_*_maxproc)",
            service,
            replace=True,
        )
    for contributor in sorted(contributions):
        data = _contribution(contributor, contributions[contributor])
        for index, service in enumerate(data.get("services", [])):
            add(
                f"sbs_postfix_contributions.{contributor}.services[{index}]", service, replace=False
            )
    if services is not None and not isinstance(services, list):
        _fail("server_master_services", f"{services!r} is not a list", "a list of services")
    for index, service in enumerate(services or []):
        add(f"server_master_services[{index}]", service, replace=True)

    set_by = {}  # (key, option) -> (where, rendered)
    for contributor in sorted(contributions):
        for key, override in contributions[contributor].get("master", {}).items():
            where = f"sbs_postfix_contributions.{contributor}.master.{key}"
            if key not in table:
                _fail(where, f"no master.cf service {key}", "one of " + ", ".join(order))
            for option, value in (
                (override.get("options") or {}).items() if isinstance(override, dict) else []
            ):
                rendered = None if value is None else postfix_master_option(option, value, where)
                previous = set_by.get((key, option))
                if previous and previous[1] != rendered:
                    _fail(
                        f"{where}.options.{option}",
                        f"conflicts with {previous[0]}",
                        "one value per service option across roles",
                    )
                set_by[(key, option)] = (where, rendered)
            if isinstance(override, dict) and "maxproc" in override:
                previous = set_by.get((key, "maxproc"))
                if previous and previous[1] != str(override["maxproc"]):
                    _fail(
                        f"{where}.maxproc",
                        f"conflicts with {previous[0]}",
                        "one maxproc per service across roles",
                    )
                set_by[(key, "maxproc")] = (where, str(override["maxproc"]))
            _apply_override(where, table[key], override)
    for key, override in overrides.items():
        where = f"server_master_overrides.{key}"
        if key not in table:
            _fail(where, f"no master.cf service {key}", "one of " + ", ".join(order))
        _apply_override(where, table[key], override)

    return [table[key] for key in order if table[key]["enabled"]]


def postfix_master_lines(service):
    """Render one service as master.cf lines (the service line, then indented -o and args)."""
    where = f"master.cf service {service.get('name')}/{service.get('type')}"
    service = _normalise_service(where, service)
    fields = [
        service["name"],
        service["type"],
        service["private"],
        service["unpriv"],
        service["chroot"],
        service["wakeup"],
        service["maxproc"],
        service["command"],
    ]
    widths = (10, 5, 7, 7, 7, 7, 7)
    line = (
        "".join(f"{value:<{width}} " for value, width in zip(fields, widths, strict=False))
        + fields[-1]
    )
    lines = [line]
    lines.extend(
        f"  {postfix_master_option(k, v, where + '.options')}"
        for k, v in service["options"].items()
    )
    lines.extend(f"  {arg}" for arg in service["args"])
    return lines


def postfix_host_addresses(facts):
    """Every address the host has, from gathered facts (all interfaces, loopback included)."""
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
                addresses.add(str(netaddr.IPAddress(entry["address"].split("%")[0])))
    for key in ("all_ipv4_addresses", "all_ipv6_addresses"):
        for address in facts.get(key, []) or []:
            addresses.add(str(netaddr.IPAddress(address.split("%")[0])))
    return sorted(addresses)


def postfix_check_interfaces(
    interfaces, host_addresses, resolved=None, variable="server_inet_interfaces"
):
    """Fail unless every inet_interfaces entry is an address (or a name resolving to one) the
    host has. ``resolved`` maps names to the addresses the host resolves them to (getent).
    Returns the interfaces unchanged so the filter can sit in a pipeline."""
    resolved = resolved or {}
    items = _as_list(variable, interfaces)
    have = {str(netaddr.IPAddress(a.split("%")[0])) for a in host_addresses}
    for index, item in enumerate(items):
        where = f"{variable}[{index}]"
        if item in ("all", "loopback-only"):
            continue
        if _is_address(item):
            address = str(netaddr.IPAddress(item.strip("[]")))
            if address not in have:
                _fail(
                    where,
                    f"{item} is not an address of this host",
                    "all, loopback-only or one of " + ", ".join(sorted(have)),
                )
            continue
        names = resolved.get(item) or []
        if not names:
            _fail(
                where,
                f"{item!r} does not resolve on this host",
                "all, loopback-only, an address of this host or a name resolving to one",
            )
        if not any(str(netaddr.IPAddress(a.split("%")[0])) in have for a in names):
            _fail(
                where,
                f"{item!r} resolves to {', '.join(names)}, none of which this host has",
                "one of " + ", ".join(sorted(have)),
            )
    return interfaces


def postfix_interface_names(interfaces, variable="server_inet_interfaces"):
    """The inet_interfaces entries that are host names (to be resolved on the host)."""
    return [
        item
        for item in _as_list(variable, interfaces)
        if item not in ("all", "loopback-only") and not _is_address(item)
    ]


class FilterModule:
    """Filters that render and check Postfix configuration for sbs.postfix."""

    def filters(self):
        return {
            "postfix_value": postfix_value,
            "postfix_duration": postfix_duration,
            "postfix_mynetworks": postfix_mynetworks,
            "postfix_main": postfix_main,
            "postfix_master": postfix_master,
            "postfix_master_lines": postfix_master_lines,
            "postfix_master_option": postfix_master_option,
            "postfix_listen_backlog": postfix_listen_backlog,
            "postfix_host_addresses": postfix_host_addresses,
            "postfix_check_interfaces": postfix_check_interfaces,
            "postfix_interface_names": postfix_interface_names,
        }
