# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The sbs.postfix.inbound role's checks and contribution: postscreen on port 25 (pregreet
test, weighted DNSBLs, a permanent allow/deny list, its cache), the smtpd HELO, sender and
client restrictions, and header_checks/body_checks maps.

Private to the sbs.postfix collection: not a public API, may change without notice.

Controller side, pure functions. The checks return every problem at once, each naming the
role variable (``inbound_postscreen_dnsbl_sites[1].weight``), so the role reports them all
before any change; the maps are judged a second time on the host by Postfix itself
(``postmap -q`` on the staged text), and :func:`postmap_problems` turns what postmap printed
back into the variable that holds the refused line.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re

from ansible_collections.sbs.postfix.plugins.plugin_utils._main_cf import TABLE_RE

# postconf(5): postscreen_*_action and postscreen_denylist_action.
ACTIONS = ("ignore", "enforce", "drop")
ACCESS_ACTIONS = ("permit", "reject", "dunno")
CHECK_MAP_TYPES = ("regexp", "pcre")
# Map types that can hold postscreen's cache: updatable, with sequential access for the cache
# cleanup (postconf(5), postscreen_cache_map). Preferred in this order.
CACHE_TYPES = ("btree", "lmdb")
# header_checks(5): the actions of header_checks and body_checks, and those that need an
# argument. Checked here because Postfix checks them only when cleanup(8) meets a match.
CHECK_ACTIONS = (
    "BCC",
    "DISCARD",
    "DUNNO",
    "FILTER",
    "HOLD",
    "IGNORE",
    "INFO",
    "PREPEND",
    "REDIRECT",
    "REPLACE",
    "REJECT",
    "STRIP",
    "WARN",
)
CHECK_ACTIONS_WITH_ARGUMENT = ("BCC", "FILTER", "PREPEND", "REDIRECT", "REPLACE")
# postconf(5), SMTPD_ACCESS_README: the restrictions smtpd knows (generic, client, HELO,
# sender, recipient and their reject_unknown_* forms). Access checks take a table.
RESTRICTIONS = frozenset(
    (
        "permit",
        "defer",
        "reject",
        "defer_if_permit",
        "defer_if_reject",
        "reject_unauth_pipelining",
        "warn_if_reject",
        "permit_mynetworks",
        "permit_sasl_authenticated",
        "permit_inet_interfaces",
        "permit_tls_clientcerts",
        "permit_tls_all_clientcerts",
        "permit_dnswl_client",
        "permit_rhswl_client",
        "reject_unknown_client_hostname",
        "reject_unknown_reverse_client_hostname",
        "reject_unknown_forward_client_hostname",
        "reject_rbl_client",
        "reject_rhsbl_client",
        "reject_rhsbl_reverse_client",
        "reject_plaintext_session",
        "reject_unauth_destination",
        "reject_unknown_helo_hostname",
        "reject_invalid_helo_hostname",
        "reject_non_fqdn_helo_hostname",
        "reject_rhsbl_helo",
        "reject_unknown_sender_domain",
        "reject_non_fqdn_sender",
        "reject_unlisted_sender",
        "reject_sender_login_mismatch",
        "reject_authenticated_sender_login_mismatch",
        "reject_known_sender_login_mismatch",
        "reject_unauthenticated_sender_login_mismatch",
        "reject_rhsbl_sender",
        "reject_unverified_sender",
        "reject_unknown_recipient_domain",
        "reject_non_fqdn_recipient",
        "reject_unlisted_recipient",
        "reject_unverified_recipient",
        "reject_rhsbl_recipient",
        "reject_multi_recipient_bounce",
        "permit_auth_destination",
        "permit_mx_backup",
        "defer_unauth_destination",
        "reject_unknown_address",
    )
)
_LOOKUP_RESTRICTION = re.compile(r"^check_[a-z_]+_access$|^check_policy_service$")
_LISTED_RESTRICTION = re.compile(r"^(permit_dnswl|permit_rhswl|reject_rbl|reject_rhsbl)")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$")
# A DNSBL reply filter: four octets, each a number or a [list;of..ranges] (postconf(5),
# postscreen_dnsbl_sites).
_OCTET = r"(?:\d{1,3}|\[\d{1,3}(?:\.\.\d{1,3})?(?:;\d{1,3}(?:\.\.\d{1,3})?)*\])"
_FILTER = re.compile(rf"^{_OCTET}(?:\.{_OCTET}){{3}}$")
# What postmap prints for a rule it refuses: "postmap: warning: regexp map /dev/stdin, line 2: ..."
_POSTMAP_LINE = re.compile(r"line (\d+):\s*(.*)$")

MAPS = {
    "header_checks": "inbound_header_checks",
    "body_checks": "inbound_body_checks",
}
ACCESS_VARIABLE = "inbound_postscreen_access"


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _bool_problems(settings, names):
    return [
        f"{name}: {settings.get(name)!r} is not a boolean. Allowed: true or false."
        for name in names
        if not isinstance(settings.get(name), bool)
    ]


def _choice_problem(settings, name, allowed):
    value = settings.get(name)
    if value not in allowed:
        names = ", ".join("null" if choice is None else choice for choice in allowed)
        return [f"{name}: {value!r} is not allowed. Allowed: {names}."]
    return []


def dnsbl_problems(sites, variable="inbound_postscreen_dnsbl_sites"):
    """Problems of the DNSBL list: a domain, an integer weight (negative for an allowlist), and
    an optional reply filter such as ``127.0.0.[2..11]``."""
    if not isinstance(sites, list):
        return [f"{variable}: {sites!r} is not a list. Allowed: a list of {{domain, weight}}."]
    problems = []
    for index, site in enumerate(sites):
        where = f"{variable}[{index}]"
        if not isinstance(site, dict):
            problems.append(
                f"{where}: {site!r} is not a dictionary. Allowed: domain, weight, filter."
            )
            continue
        unknown = sorted(set(site) - {"domain", "weight", "filter"})
        if unknown:
            problems.append(
                f"{where}: unknown key(s) {', '.join(unknown)}. Allowed: domain, weight, filter."
            )
        domain = site.get("domain")
        if not isinstance(domain, str) or not all(
            _LABEL.match(label) for label in domain.rstrip(".").split(".")
        ):
            problems.append(
                f"{where}.domain: {domain!r} is not a DNS domain. "
                "Allowed: a name such as zen.spamhaus.org."
            )
        weight = site.get("weight", 1)
        if not _is_int(weight):
            problems.append(
                f"{where}.weight: {weight!r} is a {type(weight).__name__}, not an integer. "
                "Allowed: a whole number (negative for an allowlist such as list.dnswl.org)."
            )
        reply = site.get("filter")
        if reply is not None and (not isinstance(reply, str) or not _FILTER.match(reply)):
            problems.append(
                f"{where}.filter: {reply!r} is not a DNSBL reply filter. "
                "Allowed: an address pattern such as 127.0.0.2, 127.0.0.[2..11] "
                "or 127.0.[0..255].[2;4]."
            )
    return problems


def _entries(entries, variable, keys):
    """``(problems, [(where, entry)])`` for a list of dictionaries with only ``keys``: the
    entries whose shape is right, each with the name its problems start with."""
    if not isinstance(entries, list):
        wanted = ", ".join(keys)
        return [f"{variable}: {entries!r} is not a list. Allowed: a list of {{{wanted}}}."], []
    problems, found = [], []
    for index, entry in enumerate(entries):
        where = f"{variable}[{index}]"
        if not isinstance(entry, dict) or sorted(set(entry) - set(keys)):
            problems.append(
                f"{where}: {entry!r} is not valid. Allowed: a dictionary with {' and '.join(keys)}."
            )
        else:
            found.append((where, entry))
    return problems, found


def access_problems(entries, variable=ACCESS_VARIABLE):
    """Problems of the permanent allow/deny list: ``{network, action}`` entries."""
    problems, found = _entries(entries, variable, ("network", "action"))
    for where, entry in found:
        try:
            ipaddress.ip_network(str(entry.get("network")), strict=True)
        except ValueError as exc:
            problems.append(
                f"{where}.network: {entry.get('network')!r} is not a network ({exc}). "
                "Allowed: an address or a network in CIDR form, host bits clear "
                "(192.0.2.0/24, 2001:db8::/32)."
            )
        if entry.get("action") not in ACCESS_ACTIONS:
            problems.append(
                f"{where}.action: {entry.get('action')!r} is not allowed. "
                f"Allowed: {', '.join(ACCESS_ACTIONS)}."
            )
    return problems


def restriction_problems(items, variable):
    """Problems of a restriction list: every item a restriction smtpd knows; lookup checks and
    DNS lists with their table or domain."""
    if not isinstance(items, list):
        return [f"{variable}: {items!r} is not a list. Allowed: a list of smtpd restrictions."]
    problems = []
    for index, item in enumerate(items):
        where = f"{variable}[{index}]"
        words = item.split() if isinstance(item, str) else []
        if not words:
            problems.append(f"{where}: {item!r} is not a restriction. Allowed: a non-empty string.")
            continue
        name = words[0]
        if _LOOKUP_RESTRICTION.match(name):
            if len(words) != 2 or not TABLE_RE.match(words[1]):
                problems.append(
                    f"{where}: {item!r} needs one lookup table. Allowed: {name} type:name "
                    "(check_sender_access hash:/etc/postfix/sender_access)."
                )
        elif _LISTED_RESTRICTION.match(name) and name in RESTRICTIONS:
            if len(words) != 2:
                problems.append(
                    f"{where}: {item!r} needs one DNS list domain. Allowed: {name} zone.example."
                )
        elif name not in RESTRICTIONS or len(words) != 1:
            problems.append(
                f"{where}: {item!r} is not an smtpd restriction. Allowed: a restriction of "
                "postconf(5) such as permit_mynetworks, reject_non_fqdn_sender, "
                "check_sender_access type:name."
            )
    return problems


def check_entry_problems(entries, variable):
    """Problems the controller sees in header_checks/body_checks entries ``{pattern, action}``;
    the patterns themselves are judged by Postfix on the host (postmap)."""
    problems, found = _entries(entries, variable, ("pattern", "action"))
    for where, entry in found:
        pattern = entry.get("pattern")
        if (
            not isinstance(pattern, str)
            or len(pattern.strip()) < 2
            or "\n" in pattern
            or pattern.lstrip("!")[:1].isalnum()
            or pattern[:1].isspace()
        ):
            problems.append(
                f"{where}.pattern: {pattern!r} is not a table pattern. Allowed: one line, "
                "/regular expression/flags (a leading ! negates)."
            )
        action = entry.get("action")
        words = action.split(None, 1) if isinstance(action, str) and "\n" not in action else []
        if not words or words[0].upper() not in CHECK_ACTIONS:
            problems.append(
                f"{where}.action: {action!r} is not a header_checks action. "
                f"Allowed: {', '.join(CHECK_ACTIONS)}, with their argument (header_checks(5))."
            )
        elif words[0].upper() in CHECK_ACTIONS_WITH_ARGUMENT and len(words) < 2:
            problems.append(f"{where}.action: {action!r} needs an argument (header_checks(5)).")
    return problems


def problems(settings):
    """Every problem the controller finds in the role's variables (``inbound_*`` names)."""
    found = _bool_problems(
        settings,
        (
            "inbound_postscreen_enabled",
            "inbound_reject_unknown_helo_hostname",
            "inbound_reject_unknown_sender_domain",
            "inbound_reject_unknown_client_hostname",
            "inbound_reject_unknown_reverse_client_hostname",
        ),
    )
    threshold = settings.get("inbound_postscreen_dnsbl_threshold")
    if not _is_int(threshold) or threshold < 1:
        found.append(
            f"inbound_postscreen_dnsbl_threshold: {threshold!r} is not valid. "
            "Allowed: an integer, 1 or more."
        )
    for name in (
        "inbound_postscreen_dnsbl_action",
        "inbound_postscreen_greet_action",
        "inbound_postscreen_denylist_action",
    ):
        found += _choice_problem(settings, name, ACTIONS)
    found += _choice_problem(settings, "inbound_checks_map_type", CHECK_MAP_TYPES)
    found += _choice_problem(settings, "inbound_postscreen_cache_type", (None, *CACHE_TYPES))
    found += dnsbl_problems(settings.get("inbound_postscreen_dnsbl_sites"))
    found += access_problems(settings.get(ACCESS_VARIABLE))
    for name in ("inbound_smtpd_helo_restrictions", "inbound_smtpd_sender_restrictions"):
        found += restriction_problems(settings.get(name), name)
    for variable in MAPS.values():
        found += check_entry_problems(settings.get(variable), variable)
    return found


# --------------------------------------------------------------------------------------------
# What the installed Postfix supports


def cache_type(settings, map_types):
    """The map type of postscreen's cache: the one the admin chose, else the first of
    ``CACHE_TYPES`` this Postfix lists in ``postconf -m``. None when there is none."""
    wanted = settings.get("inbound_postscreen_cache_type")
    candidates = (wanted,) if wanted else CACHE_TYPES
    return next((kind for kind in candidates if kind in (map_types or [])), None)


def host_problems(settings, postfix):
    """Problems only the host can tell: a map type this Postfix lacks (the cache, pcre)."""
    map_types = postfix.get("map_types") or []
    found = []
    if settings.get("inbound_postscreen_enabled") and cache_type(settings, map_types) is None:
        wanted = settings.get("inbound_postscreen_cache_type")
        found.append(
            f"inbound_postscreen_cache_type: {wanted or ' or '.join(CACHE_TYPES)} "
            "is not supported by "
            f"Postfix on this host (postconf -m: {', '.join(map_types)}). Allowed: "
            f"{', '.join(t for t in CACHE_TYPES if t in map_types) or 'install postfix-lmdb'}."
        )
    kind = settings.get("inbound_checks_map_type")
    if any(settings.get(v) for v in MAPS.values()) and kind not in map_types:
        found.append(
            f"inbound_checks_map_type: {kind} is not supported by Postfix on this host "
            f"(postconf -m: {', '.join(map_types)}). Install postfix-{kind} "
            "(inbound_install_dependencies: true) or use regexp."
        )
    return found


# --------------------------------------------------------------------------------------------
# The maps the role writes, and the contribution


def map_lines(settings):
    """The lines of each map the role writes, ``{name: [line, ...]}`` (an empty list means
    the map is not used and its file goes away). Names are file names in the config directory;
    each line is the entry of the same index in its variable."""
    kind = settings.get("inbound_checks_map_type", "regexp")
    files = {
        f"inbound_{parameter}.{kind}": [
            f"{entry['pattern']} {entry['action']}" for entry in settings.get(variable) or []
        ]
        for parameter, variable in MAPS.items()
    }
    access = (
        settings.get(ACCESS_VARIABLE) or [] if settings.get("inbound_postscreen_enabled") else []
    )
    files["inbound_postscreen_access.cidr"] = [
        f"{ipaddress.ip_network(str(entry['network']))} {entry['action']}" for entry in access
    ]
    return files


def map_variable(name):
    """The variable whose entries a map file of :func:`map_lines` holds."""
    if name.startswith("inbound_postscreen_access"):
        return ACCESS_VARIABLE
    return MAPS[name.removeprefix("inbound_").rsplit(".", 1)[0]]


def postmap_problems(result, texts):
    """What ``postmap -q`` said about a staged map, as problems naming the entry.

    :param result: one loop result of the command: ``item`` (the map's path), ``rc``, ``stderr``.
    :param texts: ``{path: staged text}``, the text postmap read on standard input.
    """
    path = result["item"]
    text = texts[path]
    variable = map_variable(posixpath.basename(path))
    # Line numbers count the file's comment header; entries are the other lines, in order.
    entry_of = {}
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            entry_of[number] = len(entry_of)
    found = []
    for line in (result.get("stderr") or "").splitlines():
        if "warning:" not in line and "fatal:" not in line:
            continue
        match = _POSTMAP_LINE.search(line)
        if match and int(match.group(1)) in entry_of:
            index = entry_of[int(match.group(1))]
            field = "network" if variable == ACCESS_VARIABLE else "pattern"
            found.append(f"{variable}[{index}].{field}: Postfix refuses it: {match.group(2)}")
        else:
            found.append(f"{variable}: Postfix refuses the map: {line.strip()}")
    if not found and result.get("rc") not in (0, 1):
        found.append(
            f"{variable}: postmap failed (exit {result.get('rc')}): "
            f"{result.get('stderr', '').strip()}"
        )
    return found


def _restrictions(settings, name, extra):
    items = list(settings.get(name) or [])
    return items + [item for item, wanted in extra if wanted and item not in items]


def contribution(settings, postfix, config_directory="/etc/postfix"):
    """The ``inbound`` entry of ``sbs_postfix_contributions`` (docs/handoff.md).

    :param settings: the role's variables (``inbound_*``), checked by :func:`problems`.
    :param postfix: ``map_types`` and ``parameters`` of the installed Postfix.
    """
    main, reasons = {}, {}
    main["smtpd_helo_restrictions"] = _restrictions(
        settings,
        "inbound_smtpd_helo_restrictions",
        [("reject_unknown_helo_hostname", settings.get("inbound_reject_unknown_helo_hostname"))],
    )
    reasons["smtpd_helo_restrictions"] = (
        "HELO names a client must use (inbound_smtpd_helo_restrictions)"
    )
    main["smtpd_sender_restrictions"] = _restrictions(
        settings,
        "inbound_smtpd_sender_restrictions",
        [("reject_unknown_sender_domain", settings.get("inbound_reject_unknown_sender_domain"))],
    )
    reasons["smtpd_sender_restrictions"] = (
        "envelope senders refused (inbound_smtpd_sender_restrictions)"
    )
    client = [
        (
            "reject_unknown_reverse_client_hostname",
            settings.get("inbound_reject_unknown_reverse_client_hostname"),
        ),
        ("reject_unknown_client_hostname", settings.get("inbound_reject_unknown_client_hostname")),
    ]
    if any(wanted for _restriction, wanted in client):
        main["smtpd_client_restrictions"] = _restrictions(
            {"list": ["permit_mynetworks", "permit_sasl_authenticated"]}, "list", client
        )
        reasons["smtpd_client_restrictions"] = (
            "clients without valid DNS names (inbound_reject_unknown_*)"
        )
    main_append, master, services = {}, {}, []
    files = map_lines(settings)
    kind = settings.get("inbound_checks_map_type", "regexp")
    for parameter, variable in MAPS.items():
        name = f"inbound_{parameter}.{kind}"
        if files[name]:
            main_append[parameter] = [f"{kind}:{config_directory}/{name}"]
            reasons[parameter] = f"{len(files[name])} pattern(s) of {variable}"
    if settings.get("inbound_postscreen_enabled"):
        parameters = postfix.get("parameters") or []
        denylist = "postscreen_denylist_action"
        if parameters and denylist not in parameters:
            denylist = "postscreen_blacklist_action"  # Postfix before 3.6
        cache = cache_type(settings, postfix.get("map_types"))
        access = ["permit_mynetworks"]
        if files["inbound_postscreen_access.cidr"]:
            access.append(f"cidr:{config_directory}/inbound_postscreen_access.cidr")
        main.update(
            {
                "postscreen_access_list": access,
                denylist: settings["inbound_postscreen_denylist_action"],
                "postscreen_greet_action": settings["inbound_postscreen_greet_action"],
                "postscreen_dnsbl_action": settings["inbound_postscreen_dnsbl_action"],
                "postscreen_dnsbl_threshold": settings["inbound_postscreen_dnsbl_threshold"],
                "postscreen_cache_map": f"{cache}:$data_directory/postscreen_cache",
            }
        )
        sites = [
            site["domain"]
            + (f"={site['filter']}" if site.get("filter") else "")
            + f"*{site.get('weight', 1)}"
            for site in settings.get("inbound_postscreen_dnsbl_sites") or []
        ]
        if sites:
            main["postscreen_dnsbl_sites"] = sites
        reasons.update(
            {
                "postscreen_access_list": (
                    "clients postscreen never tests or always refuses (inbound_postscreen_access)"
                ),
                denylist: "what postscreen does with a client the access list rejects",
                "postscreen_greet_action": "clients that talk before the greeting (pregreet test)",
                "postscreen_dnsbl_action": "clients whose DNSBL score reaches the threshold",
                "postscreen_dnsbl_threshold": "DNSBL score at which postscreen acts",
                "postscreen_cache_map": (
                    "postscreen remembers clients that passed, in a map type this Postfix supports"
                ),
                "postscreen_dnsbl_sites": "DNSBLs with weights (inbound_postscreen_dnsbl_sites)",
            }
        )
        # postscreen takes port 25; the smtpd that was there, and every override addressed to
        # smtp/inet (tuning's maxproc, the admin's options), serves the clients it passes.
        master["smtp/inet"] = {"move_to": "smtpd/pass", "private": None}
        services = [
            {
                "name": "smtp",
                "type": "inet",
                "private": False,
                "chroot": True,
                "maxproc": 1,
                "command": "postscreen",
            },
            {"name": "dnsblog", "type": "unix", "chroot": True, "maxproc": 0, "command": "dnsblog"},
            {
                "name": "tlsproxy",
                "type": "unix",
                "chroot": True,
                "maxproc": 0,
                "command": "tlsproxy",
            },
        ]
        reasons["smtp/inet"] = "postscreen on port 25; smtpd moves behind it (smtpd/pass)"
    result = {"main": main, "reasons": reasons}
    if main_append:
        result["main_append"] = main_append
    if master:
        result["master"] = master
        result["services"] = services
    return result
