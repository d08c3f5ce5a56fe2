# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Parse Postfix configuration files and ``postconf`` output.

Private to the sbs.postfix collection: no compatibility promise to anyone else.

Every function here is pure (text in, data out) so that unit tests can feed it real Postfix
output. The syntax rules follow postconf(5) and master(5):

* a logical line starts with non-whitespace text; a line that starts with whitespace continues
  the previous logical line;
* empty lines and lines whose first non-whitespace character is ``#`` are ignored, also in the
  middle of a continued logical line;
* in main.cf the last ``name = value`` wins; in master.cf a service is identified by its name
  *and* its type (``smtp/inet`` and ``smtp/unix`` are different services).
"""

from __future__ import annotations

import re

# master.cf service types that master(8) accepts (master(5), "Service type").
SERVICE_TYPES = ("inet", "unix", "unix-dgram", "fifo", "pass")

# Field names in master.cf column order, as ``postconf -F`` names them.
MASTER_FIELDS = (
    "service",
    "type",
    "private",
    "unprivileged",
    "chroot",
    "wakeup",
    "process_limit",
    "command",
)


def master_entry_line(entry):
    """One parsed master.cf service as a single line, fields in column order (what
    ``postconf -M`` prints, with single spaces), or None for no entry."""
    if entry is None:
        return None
    return " ".join(
        [entry[field] for field in MASTER_FIELDS[:-1]] + [entry["command"], *entry["args"]]
    )


# ``postconf`` (and postfix-script) label warnings "<program>: warning: <text>".
WARNING_RE = re.compile(r"(?:^|\s)\S*:\s+warning:\s+")
FATAL_RE = re.compile(r"(?:^|\s)\S*:\s+(?:fatal|error|panic):\s+")

_PARAM_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_MAP_TYPE_RE = re.compile(r"^[a-z][a-z0-9_-]*$")


def logical_lines(text):
    """Yield ``(line_number, logical_line)`` for a Postfix configuration file.

    ``line_number`` is the 1-based number of the line that starts the logical line. Continuation
    lines are joined with a single space after stripping them, which is how Postfix itself sees
    the value (whitespace inside a value is not significant for lists).
    """
    current = None
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if raw[:1].isspace():
            if current is None:
                # Postfix ignores leading continuation text before the first logical line.
                continue
            current = current + " " + stripped
            continue
        if current is not None:
            yield start, current
        current = stripped
        start = number
    if current is not None:
        yield start, current


def normalize_value(value):
    """Collapse whitespace runs so that a folded value compares equal to its one-line form."""
    return " ".join(value.split())


def parse_main_cf(text):
    """Parse main.cf text into ``(parameters, errors)``.

    ``parameters`` maps each name to its normalised value (last definition wins). ``errors`` lists
    one-line descriptions of logical lines Postfix would reject ("missing '='", bad name).
    """
    params = {}
    errors = []
    for number, line in logical_lines(text):
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep:
            errors.append(f"line {number}: missing '=' after parameter name: {line}")
            continue
        if not name or not _PARAM_NAME_RE.match(name):
            errors.append(f"line {number}: bad parameter name: {name!r}")
            continue
        params[name] = normalize_value(value)
    return params, errors


def split_args(text):
    """Split on whitespace, but never inside ``{ ... }`` groups.

    Postfix 3.0 and later accept ``-o { name = value with spaces }`` in master.cf and
    ``inline:{ key = value, ... }`` tables in main.cf; a group is part of one word.
    """
    args = []
    word = []
    depth = 0
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
        if ch.isspace() and depth == 0:
            if word:
                args.append("".join(word))
                word = []
            continue
        word.append(ch)
    if word:
        args.append("".join(word))
    return args


def _unbrace(arg):
    """``{ a = b }`` -> ``a = b``; other arguments are returned unchanged."""
    if arg.startswith("{") and arg.endswith("}"):
        return arg[1:-1].strip()
    return arg


def service_options(args):
    """Return the ``-o name=value`` overrides of a master.cf command as an ordered dict."""
    options = {}
    i = 0
    while i < len(args):
        arg = args[i]
        setting = None
        if arg == "-o" and i + 1 < len(args):
            setting = _unbrace(args[i + 1])
            i += 1
        elif arg.startswith("-o") and len(arg) > 2:
            setting = _unbrace(arg[2:])
        i += 1
        if setting is None:
            continue
        name, sep, value = setting.partition("=")
        if sep:
            options[name.strip()] = normalize_value(value)
    return options


def parse_master_cf(text):
    """Parse master.cf text into ``(services, errors)``.

    ``services`` maps ``"name/type"`` to a dict with the eight fields (``service``, ``type``,
    ``private``, ``unprivileged``, ``chroot``, ``wakeup``, ``process_limit``, ``command``), plus
    ``args`` (the command's arguments), ``options`` (its ``-o`` overrides) and ``line`` (where the
    entry starts). A later entry with the same key replaces the earlier one, as in master(8).
    ``errors`` lists entries with fewer than eight fields and duplicate services.
    """
    services = {}
    errors = []
    for number, line in logical_lines(text):
        parts = line.split(None, 7)
        if len(parts) < 8:
            errors.append(
                f"line {number}: master.cf entry needs 8 fields, found {len(parts)}: {line}"
            )
            continue
        command_tail = parts[7]
        command_words = split_args(command_tail)
        entry = dict(zip(MASTER_FIELDS[:7], parts[:7], strict=True))
        entry["command"] = command_words[0] if command_words else ""
        entry["args"] = command_words[1:]
        entry["options"] = service_options(command_words[1:])
        entry["line"] = number
        key = f"{entry['service']}/{entry['type']}"
        if key in services:
            errors.append(
                f"line {number}: duplicate entry for service {key} "
                f"(first on line {services[key]['line']}); "
                "master(8) would warn and use the last one"
            )
        services[key] = entry
    return services, errors


def service_signature(entry):
    """What makes two master.cf entries equivalent: every field and argument, not the spacing."""
    if entry is None:
        return None
    return tuple(entry[field] for field in MASTER_FIELDS[2:]) + tuple(entry["args"])


def parse_service_key(text):
    """``"submission/inet"`` -> ``("submission", "inet")``; ``None`` if malformed or unknown."""
    name, sep, service_type = (text or "").partition("/")
    if not sep or not name or service_type not in SERVICE_TYPES or any(c.isspace() for c in name):
        return None
    return name, service_type


def parse_postconf_n(output):
    """Parse ``postconf -n`` (or ``postconf -d``, ``postconf name ...``) output into a dict."""
    params = {}
    for line in output.splitlines():
        if not line.strip() or line[:1].isspace():
            continue
        name, sep, value = line.partition(" = ")
        if not sep:
            # "name =" with an empty value has no trailing space after the equals sign.
            if line.rstrip().endswith(" ="):
                params[line.rstrip()[:-2].strip()] = ""
            continue
        params[name.strip()] = value.strip()
    return params


def parse_postconf_m(output):
    """Parse ``postconf -m`` output (one lookup table type per line) into a sorted list."""
    return sorted({line.strip() for line in output.splitlines() if line.strip()})


def parse_postconf_M(output):
    """Parse ``postconf -M`` output (one service per line, not folded) like master.cf."""
    services, _errors = parse_master_cf(output)
    return services


def parse_postconf_F(output):
    """Parse ``postconf -F`` output into ``{"name/type": {field: value}}``."""
    result = {}
    for line in output.splitlines():
        key, sep, value = line.partition(" = ")
        if not sep:
            continue
        service, _sep, rest = key.strip().rpartition("/")
        if not service or "/" not in service:
            continue
        result.setdefault(service, {})[rest] = value.strip()
    return result


def parse_postconf_P(output):
    """Parse ``postconf -P`` output into ``{"name/type": {parameter: value}}``.

    A service name may itself contain a slash only in unix socket paths, which master.cf does
    not allow in the name field, so the first two slash-separated parts are name and type.
    """
    result = {}
    for line in output.splitlines():
        key, sep, value = line.partition(" = ")
        if not sep:
            continue
        parts = key.strip().split("/", 2)
        if len(parts) != 3:
            continue
        result.setdefault(f"{parts[0]}/{parts[1]}", {})[parts[2]] = value.strip()
    return result


_PROGRAM_PATH_RE = re.compile(r"^/\S*/([^/\s]+:\s)")


def split_messages(output):
    """Split command output into ``(warnings, fatals)``: lists of one-line messages.

    The program name is reduced to its base name (``/usr/sbin/postconf: warning:`` and
    ``postconf: warning:`` are the same message from a direct run and from postfix-script).
    """
    warnings = []
    fatals = []
    for raw in output.splitlines():
        line = _PROGRAM_PATH_RE.sub(r"\1", raw.strip())
        if not line:
            continue
        if WARNING_RE.search(line):
            warnings.append(line)
        elif FATAL_RE.search(line):
            fatals.append(line)
    return warnings, fatals


def split_list(value):
    """Split a Postfix list value on whitespace and commas, keeping ``{ ... }`` groups intact."""
    return split_args(_comma_outside(value))


def _comma_outside(value):
    """Replace commas that are outside ``{ ... }`` groups by spaces."""
    out = []
    depth = 0
    for ch in value:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(depth - 1, 0)
        out.append(" " if ch == "," and depth == 0 else ch)
    return "".join(out)


# Parameters whose values are documented to accept "type:table" lookup tables besides the
# "*_maps" and "*_checks" families (postconf(5)).
_TABLE_PARAMETERS = frozenset(
    {
        "mydestination",
        "mynetworks",
        "relay_domains",
        "relay_recipient_maps",
        "virtual_alias_domains",
        "virtual_mailbox_domains",
        "permit_mx_backup_networks",
        "alias_database",
        "fast_flush_domains",
        "debug_peer_list",
        "smtpd_client_event_limit_exceptions",
        "postscreen_access_list",
        "smtpd_milter_maps",
        "qmqpd_authorized_clients",
        "authorized_flush_users",
        "authorized_mailq_users",
        "authorized_submit_users",
        "local_header_rewrite_clients",
        "smtpd_sasl_exceptions_networks",
        "smtpd_log_access_permit_actions",
        "smtpd_discard_ehlo_keyword_address_maps",
    }
)

# Restriction keywords whose argument is a policy server endpoint, not a lookup table.
_ENDPOINT_KEYWORDS = frozenset({"check_policy_service"})

# Map types that take a { ... } list of other tables (postconf(1) -m).
_COMPOSITE_MAPS = frozenset({"pipemap", "unionmap"})


def takes_tables(parameter):
    """True if ``parameter`` is documented to accept lookup tables."""
    name = parameter
    return name.endswith(("_maps", "_checks", "_restrictions")) or name in _TABLE_PARAMETERS


def _table_types(item):
    """Map types used by one list item such as ``proxy:hash:/etc/postfix/x``."""
    types = []
    rest = item
    while True:
        prefix, sep, tail = rest.partition(":")
        if not sep or not _MAP_TYPE_RE.match(prefix):
            return types
        types.append(prefix)
        if prefix in _COMPOSITE_MAPS and tail.startswith("{"):
            for inner in split_list(_unbrace(tail)):
                types.extend(_table_types(inner))
            return types
        if prefix != "proxy":
            return types
        rest = tail


def table_references(parameter, value):
    """Return ``[(map_type, item), ...]`` for the lookup tables a parameter value names.

    Only parameters that take tables are examined (see :func:`takes_tables`); in restriction
    lists the argument of ``check_policy_service`` (``inet:host:port``, ``unix:path``) is a
    socket, not a table, and is skipped.
    """
    if not takes_tables(parameter):
        return []
    refs = []
    skip_next = False
    for item in split_list(value):
        if skip_next:
            skip_next = False
            continue
        if item in _ENDPOINT_KEYWORDS:
            skip_next = True
            continue
        if item.startswith(("$", "/", "!")):
            continue
        for map_type in _table_types(item):
            refs.append((map_type, item))
    return refs
