# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Values Postfix accepts but that are unsafe: found here, refused unless the admin accepts them.

Private to the sbs.postfix collection: not a public API, may change without notice.

Postfix happily runs with ``mynetworks = 0.0.0.0/0`` (an open relay), TLS 1.0, a 512-bit DKIM
key or a process limit of a billion. The roles' own checks only ask "would Postfix accept
this?"; this module asks "should an SBS run this?". Each rule below has a stable snake_case
name; a risk fails the play unless its name is in ``sbs_postfix_accept_risks``, and is then
applied with a warning on every run, so the decision stays visible. A few values are refused
even when acknowledged, because no site has a reason for them (``refused``).

Every function is pure: the caller says, for each setting, the value in force and the
inventory variable it came from, so every message names what the admin wrote, never a Postfix
parameter or a Python type the admin never saw. docs/risks.md is the admin's view of the rules.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from ansible_collections.sbs.postfix.plugins.plugin_utils._lazy import LazyModule
from ansible_collections.sbs.postfix.plugins.plugin_utils._tls import PROTOCOLS, parse_protocols

# The memory figures only for the process-limit rules: the TLS and DKIM roles judge their own
# settings without importing the sizing module (_lazy.py says why every import counts).
_SIZING = LazyModule("ansible_collections.sbs.postfix.plugins.module_utils._sizing")

ACCEPT_VARIABLE = "sbs_postfix_accept_risks"

WIDE_MYNETWORKS = "wide_mynetworks"
PUBLIC_MYNETWORKS = "public_mynetworks"
WEAK_TLS_PROTOCOLS = "weak_tls_protocols"
WEAK_DKIM_KEY = "weak_dkim_key"
TLS_AUTH_OPTIONAL = "tls_auth_optional"
LIMITS_BEYOND_MEMORY = "limits_beyond_memory"
RISK_NAMES = (
    LIMITS_BEYOND_MEMORY,
    PUBLIC_MYNETWORKS,
    TLS_AUTH_OPTIONAL,
    WEAK_DKIM_KEY,
    WEAK_TLS_PROTOCOLS,
    WIDE_MYNETWORKS,
)

# mynetworks. One SBS LAN is an IPv4 /24 (254 hosts); a wider network also trusts the VLANs,
# VPN pools and guest networks the business does not mean, so any infected device in them
# relays. An IPv6 site is assigned at most a /48 (RFC 6177, RIPE-690): a wider network is more
# than one site owns, while a site's own /56 or /48 (several /64 LANs) stays acceptable.
MAX_PREFIX_WIDTH = {4: 24, 6: 48}
# Refused whatever the acknowledgement: a network that reaches into public address space and
# is wider than any one organisation holds (IPv4: the /8 legacy blocks were the largest ever
# assigned; IPv6: the largest ISPs hold a /19 or /20). 0.0.0.0/0 and ::/0 are the obvious
# cases, 0.0.0.0/1 + 128.0.0.0/1 the same open relay spelled differently.
REFUSED_PUBLIC_WIDTH = {4: 8, 6: 16}

# TLS. RFC 8996 deprecates TLS 1.0 and 1.1; SSLv2/SSLv3 are broken (DROWN, POODLE).
TLS_FLOOR = "TLSv1.2"
WEAK_PROTOCOLS = PROTOCOLS[: PROTOCOLS.index(TLS_FLOOR)]
TLS_PROTOCOL_SETTINGS = (
    "smtpd_tls_protocols",
    "smtpd_tls_mandatory_protocols",
    "smtp_tls_protocols",
    "smtp_tls_mandatory_protocols",
)

# DKIM (RFC 8301): verifiers must reject RSA keys below 1024 bits, so such a key signs nothing
# that counts; signers should use 2048 bits, what the dkim role generates by default.
DKIM_MIN_BITS = 1024
DKIM_SAFE_BITS = 2048

# Process limits. Memory planned per process, named as in the sizing module (docs/sizing.md), by
# the master.cf command that runs it; other commands are not sized (cleanup's memory is counted in
# the smtpd session, and Debian's stock master.cf gives bounce and cleanup maxproc 0).
MEMORY_PER_COMMAND = {
    "smtpd": "MEM_PER_INBOUND_SESSION",
    "smtp": "MEM_PER_DELIVERY_AGENT",
    "lmtp": "MEM_PER_DELIVERY_AGENT",
}
# Linux's PID_MAX_LIMIT on 64-bit systems: the most processes a host can ever have. A process
# limit above it is a typo (a billion), never a decision, so it is refused.
PID_MAX_LIMIT = 4 * 1024 * 1024

_SETTINGS = (
    "mynetworks",
    *TLS_PROTOCOL_SETTINGS,
    "smtpd_tls_auth_only",
    "sasl_auth_offered",
    "dkim_key_bits",
    "default_process_limit",
    "maxproc",
)
_SEPARATORS = re.compile(r"[\s,]+")
_BOOL_WORDS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}


class RiskError(ValueError):
    """A setting cannot be judged (malformed input); the message names the variable."""


class Entry(NamedTuple):
    """One value in force and the inventory variable the admin wrote it in."""

    value: Any
    variable: str
    service: str | None = None  # maxproc only: "name/type"
    command: str | None = None  # maxproc only: the master.cf command (smtpd, smtp, lmtp)


@dataclass(frozen=True)
class Risk:
    """One unsafe value: which rule, where the admin wrote it, and what the play does with it.

    ``acknowledged``: the rule's name is in ``sbs_postfix_accept_risks``. ``refused``: the value
    fails even then. ``fails`` is what the play acts on; ``message`` is the sentence it prints
    (a failure says how to fix or accept it, a warning says it was accepted).
    """

    name: str
    variable: str
    value: Any
    message: str
    acknowledged: bool = False
    refused: bool = False

    @property
    def fails(self):
        return self.refused or not self.acknowledged

    def as_dict(self):
        return {
            "name": self.name,
            "variable": self.variable,
            "value": self.value,
            "message": self.message,
            "acknowledged": self.acknowledged,
            "refused": self.refused,
            "fails": self.fails,
        }


class Verdict(NamedTuple):
    """What the play does: fail with ``failures``, else print ``warnings`` and carry on."""

    failures: list[str]
    warnings: list[str]


def _risk(name, entry, value, problem, accepted, *, refusal=None):
    """Build a Risk whose message fits its outcome.

    ``problem`` says what and why (it starts with the variable); ``refusal`` says why no
    acknowledgement helps, for the values that are refused outright.
    """
    acknowledged = name in accepted
    if refusal:
        message = (
            f"{problem}; {refusal}, so {name} in {ACCEPT_VARIABLE} does not allow it: change "
            f"{entry.variable}."
        )
    elif acknowledged:
        message = f"{problem} (accepted: {name} in {ACCEPT_VARIABLE})."
    else:
        message = (
            f"{problem}. Change {entry.variable}, or accept the risk by adding {name} to "
            f"{ACCEPT_VARIABLE}."
        )
    return Risk(name, entry.variable, value, message, acknowledged, bool(refusal))


def _show(value):
    """A value as the admin wrote it in YAML, not as Python prints it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(_show(item) for item in value)
    return str(value)


# --------------------------------------------------------------------------------------------
# Input


def _entries(settings):
    """``{setting: [Entry, ...]}`` from the caller's ``{setting: entry or [entries]}``.

    An entry is ``{"value": ..., "variable": "name the admin wrote"}``; ``maxproc`` entries add
    ``service`` and ``command``. A ``None`` value means "not set" and is skipped. An unknown
    setting is a wiring mistake and fails, so a rule is never skipped silently.
    """
    if settings is None:
        return {}
    if not isinstance(settings, dict):
        raise RiskError(
            f"the settings to assess must be a dictionary keyed by setting, got {settings!r}"
        )
    unknown = sorted(set(settings) - set(_SETTINGS))
    if unknown:
        raise RiskError(
            f"unknown setting(s) {', '.join(map(str, unknown))}; known: {', '.join(_SETTINGS)}"
        )
    found = {}
    for setting, given in settings.items():
        items = given if isinstance(given, list) else [given]
        for index, item in enumerate(items):
            where = f"{setting}[{index}]" if isinstance(given, list) else setting
            if not isinstance(item, dict) or "value" not in item or not item.get("variable"):
                raise RiskError(
                    f"{where}: {item!r} must be a dictionary with value and variable (the "
                    "inventory variable it came from, for the messages)"
                )
            if item["value"] is None:
                continue
            found.setdefault(setting, []).append(
                Entry(
                    item["value"], str(item["variable"]), item.get("service"), item.get("command")
                )
            )
    return found


def check_accepted(accepted):
    """``(names, errors)``: the valid risk names in ``sbs_postfix_accept_risks``, and one
    message per entry that is not one, listing the names that are."""
    if accepted is None:
        return frozenset(), []
    if not isinstance(accepted, (list, tuple)):
        return frozenset(), [
            f"{ACCEPT_VARIABLE}: {accepted!r} is not a list; write a list of risk names, "
            f"known: {', '.join(RISK_NAMES)}"
        ]
    names, errors = set(), []
    for index, name in enumerate(accepted):
        if name in RISK_NAMES:
            names.add(name)
        else:
            errors.append(
                f"{ACCEPT_VARIABLE}[{index}]: {name!r} is not a risk name; known: "
                f"{', '.join(RISK_NAMES)}"
            )
    return frozenset(names), errors


# --------------------------------------------------------------------------------------------
# mynetworks


def _networks(entry):
    """The networks of one mynetworks value (a list or Postfix's comma/space separated text).

    ``!`` exclusions only narrow, and ``type:table`` and ``/file`` entries cannot be read on
    the controller: both are skipped.
    """
    value = entry.value
    items = value if isinstance(value, list) else _SEPARATORS.split(str(value).strip())
    for raw in items:
        text = str(raw).strip()
        if not text or text.startswith(("!", "/")):
            continue
        match = re.match(r"^\[([^\]]+)\](/\d+)?$", text)
        if match:
            text = match.group(1) + (match.group(2) or "")
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            if re.match(r"^[a-z][a-z0-9_]*:", text):
                continue
            raise RiskError(
                f"{entry.variable}: {raw!r} is not a network (CIDR such as 192.168.1.0/24)"
            ) from None
        yield str(raw).strip(), network


def _host_addresses(host):
    found = set()
    for text in (host or {}).get("addresses") or []:
        try:
            found.add(ipaddress.ip_interface(str(text).strip("[]").partition("%")[0]).ip)
        except ValueError:
            raise RiskError(f"host address {text!r} is not an IP address") from None
    return found


def _owned(network, addresses):
    """Every address of ``network`` is one of the host's own. Only then is a public network
    harmless: the host's neighbours on a provider's public /24 are other customers."""
    mine = [address for address in addresses if address in network]
    return len(mine) == network.num_addresses


def _mynetworks_risks(entries, accepted, host):
    risks = []
    addresses = _host_addresses(host)
    for entry in entries:
        for written, network in _networks(entry):
            if network.is_loopback:
                continue
            version, width = network.version, network.prefixlen
            if network.is_global and width < REFUSED_PUBLIC_WIDTH[version]:
                risks.append(
                    _risk(
                        WIDE_MYNETWORKS,
                        entry,
                        written,
                        f"{entry.variable}: {written} lets hosts all over the Internet relay mail "
                        "through this server without authentication (an open relay)",
                        accepted,
                        refusal=(
                            f"no site owns more than a /{REFUSED_PUBLIC_WIDTH[version]} of "
                            "public addresses"
                        ),
                    )
                )
                continue
            if width < MAX_PREFIX_WIDTH[version]:
                risks.append(
                    _risk(
                        WIDE_MYNETWORKS,
                        entry,
                        written,
                        f"{entry.variable}: {written} is wider than the "
                        f"/{MAX_PREFIX_WIDTH[version]} an SBS network needs: every host in it "
                        "may relay mail through this server without authentication",
                        accepted,
                    )
                )
            if network.is_global and not _owned(network, addresses):
                risks.append(
                    _risk(
                        PUBLIC_MYNETWORKS,
                        entry,
                        written,
                        f"{entry.variable}: {written} is public address space this host does "
                        "not own: hosts there may relay mail through it without authentication",
                        accepted,
                    )
                )
    return risks


# --------------------------------------------------------------------------------------------
# TLS


def _tls_protocol_risks(entries, accepted):
    risks = []
    for entry in entries:
        enabled = parse_protocols(entry.value, entry.variable)["enabled"]
        weak = [name for name in enabled if name in WEAK_PROTOCOLS]
        if weak:
            risks.append(
                _risk(
                    WEAK_TLS_PROTOCOLS,
                    entry,
                    entry.value,
                    f"{entry.variable}: '{_show(entry.value)}' allows {', '.join(weak)}, "
                    f"deprecated or broken protocols below {TLS_FLOOR} (RFC 8996); "
                    f"'>={TLS_FLOOR}' is safe",
                    accepted,
                )
            )
    return risks


def _as_bool(entry):
    value = entry.value
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word not in _BOOL_WORDS:
        raise RiskError(f"{entry.variable}: {value!r} is not yes or no")
    return _BOOL_WORDS[word]


def _tls_auth_risks(found, accepted):
    """AUTH before STARTTLS sends passwords in clear text (smtpd_tls_auth_only off).

    ``sasl_auth_offered`` is true when an smtpd service offers SASL AUTH on a connection where
    TLS is not already enforced; unset ``smtpd_tls_auth_only`` is Postfix's default, ``no``.
    """
    offered = [entry for entry in found.get("sasl_auth_offered", []) if _as_bool(entry)]
    if not offered:
        return []
    auth_only = found.get("smtpd_tls_auth_only", [])
    if auth_only:
        entry = next((item for item in auth_only if not _as_bool(item)), None)
        if entry is None:
            return []
        problem = f"{entry.variable}: {_show(entry.value)} lets clients"
    else:
        entry = offered[0]
        problem = (
            f"{entry.variable}: SASL AUTH is offered while smtpd_tls_auth_only is not set "
            "(Postfix's default: no), which lets clients"
        )
    return [
        _risk(
            TLS_AUTH_OPTIONAL,
            entry,
            entry.value,
            f"{problem} send their password before STARTTLS, in clear text "
            f"(SASL AUTH is offered, {offered[0].variable})",
            accepted,
        )
    ]


# --------------------------------------------------------------------------------------------
# DKIM


def _as_count(entry, what):
    value = entry.value
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RiskError(f"{entry.variable}: {entry.value!r} is not a whole number of {what}")
    return value


def _dkim_risks(entries, accepted):
    risks = []
    for entry in entries:
        bits = _as_count(entry, "bits")
        if bits < DKIM_MIN_BITS:
            risks.append(
                _risk(
                    WEAK_DKIM_KEY,
                    entry,
                    bits,
                    f"{entry.variable}: a {bits}-bit RSA key can be factored, and verifiers "
                    f"must reject it ({DKIM_SAFE_BITS} bits is safe)",
                    accepted,
                    refusal=f"RFC 8301 forbids RSA keys below {DKIM_MIN_BITS} bits",
                )
            )
        elif bits < DKIM_SAFE_BITS:
            risks.append(
                _risk(
                    WEAK_DKIM_KEY,
                    entry,
                    bits,
                    f"{entry.variable}: a {bits}-bit RSA key is below the {DKIM_SAFE_BITS} "
                    "bits RFC 8301 asks signers to use",
                    accepted,
                )
            )
    return risks


# --------------------------------------------------------------------------------------------
# Process limits


def memory_for_postfix(mem_total):
    """Bytes the process limits may add up to on a host with ``mem_total`` bytes of RAM.

    Everything but the sizing module's OS reserve (10% of RAM, 256 MiB to 2 GiB, for the
    kernel, the page cache and the rest of the host). The sizing profiles plan 25-50% of it,
    so the limits they recommend always fit; more than all of it can only be reached by
    swapping or by the OOM killer, which sizing calls the one failure that takes the whole
    host down.
    """
    return max(0, int(mem_total) - _SIZING.os_reserve(int(mem_total)))


def _mib(size):
    return f"{size // _SIZING.MIB:,} MiB"


def _limit_risk(entry, count, label, per_process, *, usable, accepted):
    """One process limit against the host's memory (``usable`` None: memory unknown)."""
    if count > PID_MAX_LIMIT:
        return _risk(
            LIMITS_BEYOND_MEMORY,
            entry,
            count,
            f"{entry.variable}: {count:,} {label} are more processes than Linux can run",
            accepted,
            refusal=f"the kernel's PID_MAX_LIMIT is {PID_MAX_LIMIT:,}",
        )
    if usable is None:
        return None
    if count == 0:
        problem = (
            f"{entry.variable}: 0 puts no limit on {label}, so a burst can take more than "
            f"the {_mib(usable)} this host has for Postfix (RAM less the OS reserve)"
        )
    elif count * per_process > usable:
        problem = (
            f"{entry.variable}: {count:,} {label} at the {_mib(per_process)} sizing plans for "
            f"each need {_mib(count * per_process)}, more than the {_mib(usable)} this host "
            f"has for Postfix (RAM less the OS reserve); {usable // per_process:,} fit"
        )
    else:
        return None
    return _risk(LIMITS_BEYOND_MEMORY, entry, count, problem, accepted)


def _usable_memory(host):
    mem_total = (host or {}).get("mem_total")
    if mem_total is None:
        return None
    if isinstance(mem_total, str) and mem_total.strip().isdigit():
        mem_total = int(mem_total.strip())
    if isinstance(mem_total, bool) or not isinstance(mem_total, int) or mem_total <= 0:
        raise RiskError(f"host mem_total {mem_total!r} is not a number of bytes")
    return memory_for_postfix(mem_total)


def _limit_risks(found, accepted, host):
    """Each process limit alone, times the memory sizing plans per process, must fit in
    :func:`memory_for_postfix`.

    ``default_process_limit`` counts at an smtpd session's 8 MiB: Debian's stock smtp/inet
    service (and every other left at ``-``) runs up to that many. A service's explicit
    ``maxproc`` counts at its command's figure (``MEMORY_PER_COMMAND``); ``-`` is the default
    limit, already judged. Limits are judged one at a time, as sizing derives them: the
    submission and smtps services rarely peak with port 25, and summing them would refuse
    sizing's own recommendations.
    """
    usable = _usable_memory(host)
    risks = []
    for entry in found.get("default_process_limit", []):
        count = _as_count(entry, "processes")
        label = "processes per service (smtpd sessions)"
        risks.append(
            _limit_risk(
                entry,
                count,
                label,
                _SIZING.MEM_PER_INBOUND_SESSION,
                usable=usable,
                accepted=accepted,
            )
        )
    for entry in found.get("maxproc", []):
        per_process = MEMORY_PER_COMMAND.get(entry.command or "")
        if per_process is None or str(entry.value).strip() == "-":
            continue
        count = _as_count(entry, "processes")
        kind = "sessions" if entry.command == "smtpd" else "delivery agents"
        label = f"{entry.service or entry.command} {kind} ({entry.command})"
        risks.append(
            _limit_risk(
                entry, count, label, getattr(_SIZING, per_process), usable=usable, accepted=accepted
            )
        )
    return [risk for risk in risks if risk]


# --------------------------------------------------------------------------------------------
# What the server role renders, as settings to judge

# Where a contributed value can be changed by the admin, for the messages.
_CONTRIBUTOR_VARIABLES = {
    "sbs_postfix_contributions.tls": {"smtpd_tls_auth_only": "tls_auth_only"},
    "sbs_postfix_contributions.tuning": {"default_process_limit": "tuning_overrides"},
}
_TLS_PROTOCOL_PARAMETERS = (
    "smtpd_tls_protocols",
    "smtpd_tls_mandatory_protocols",
    "smtp_tls_protocols",
    "smtp_tls_mandatory_protocols",
)


def _admin_variable(main_cf, name):
    """The variable a main.cf value came from: the inventory's, or the contributor's own."""
    variable = (main_cf.get("variables") or {}).get(name) or name
    for prefix, names in _CONTRIBUTOR_VARIABLES.items():
        if variable.startswith(prefix) and name in names:
            return names[name]
    return variable


def _is_yes(value):
    return str(value).strip().lower() in ("yes", "true", "1", "on")


def _offers_auth(options, defaults):
    """AUTH on a connection where TLS is not already enforced (wrappermode or encrypt)."""
    merged = {**defaults, **{k: str(v) for k, v in (options or {}).items()}}
    if not _is_yes(merged.get("smtpd_sasl_auth_enable", "no")):
        return False
    if _is_yes(merged.get("smtpd_tls_wrappermode", "no")):
        return False
    return merged.get("smtpd_tls_security_level", "").strip() != "encrypt"


def service_variables(inventory):
    """``{"name/type": variable}``: which server role variable set each service's maxproc,
    from the role's ``server_master_services``, ``server_master_overrides`` (which win) and
    ``server_submission_maxproc`` / ``server_smtps_maxproc``."""
    names = {}
    for name in ("submission", "smtps"):
        if (inventory.get(f"server_{name}_maxproc")) is not None:
            names[f"{name}/inet"] = f"server_{name}_maxproc"
    for index, svc in enumerate(inventory.get("server_master_services") or []):
        if isinstance(svc, dict) and svc.get("maxproc") is not None:
            key = f"{svc.get('name')}/{svc.get('type')}"
            names[key] = f"server_master_services[{index}].maxproc"
    for key, override in (inventory.get("server_master_overrides") or {}).items():
        if isinstance(override, dict) and override.get("maxproc") is not None:
            names[key] = f"server_master_overrides['{key}'].maxproc"
    return names


def server_settings(main_cf, services, inventory=None):
    """The settings :func:`assess` judges, from what the server role renders.

    :param main_cf: the merged main.cf (``postfix_main``'s result: ``parameters`` and the
        ``variables`` each came from).
    :param services: the merged master.cf services (``services`` of ``postfix_master``'s
        result).
    :param inventory: the server role's master.cf variables (see :func:`service_variables`),
        so a limit is reported under the variable that set it; ``master.cf name/type
        maxproc`` (a stock value or another role's) otherwise.

    TLS protocol parameters are judged here only when the inventory sets them through the
    server role (``server_main_extra``): the tls role judges its own variables.
    """
    params = main_cf.get("parameters") or {}
    variables = service_variables(inventory or {})
    settings = {}
    if params.get("mynetworks") is not None:
        settings["mynetworks"] = {
            "value": params["mynetworks"],
            "variable": _admin_variable(main_cf, "mynetworks"),
        }
    for name in _TLS_PROTOCOL_PARAMETERS:
        variable = _admin_variable(main_cf, name)
        if name in params and variable.startswith("server_"):
            settings[name] = {"value": params[name], "variable": variable}
    defaults = {
        name: str(params[name])
        for name in ("smtpd_sasl_auth_enable", "smtpd_tls_security_level")
        if name in params
    }
    offering = [
        f"{svc['name']}/{svc['type']}"
        for svc in services
        if svc.get("command") == "smtpd" and _offers_auth(svc.get("options"), defaults)
    ]
    if offering:
        settings["sasl_auth_offered"] = {
            "value": True,
            "variable": f"master.cf {', '.join(offering)} (SASL AUTH without enforced TLS)",
        }
        if "smtpd_tls_auth_only" in params:
            settings["smtpd_tls_auth_only"] = {
                "value": params["smtpd_tls_auth_only"],
                "variable": _admin_variable(main_cf, "smtpd_tls_auth_only"),
            }
    if "default_process_limit" in params:
        settings["default_process_limit"] = {
            "value": params["default_process_limit"],
            "variable": _admin_variable(main_cf, "default_process_limit"),
        }
    limits = []
    for svc in services:
        maxproc = str(svc.get("maxproc", "-")).strip()
        if maxproc == "-" or svc.get("command") not in MEMORY_PER_COMMAND:
            continue
        key = f"{svc['name']}/{svc['type']}"
        limits.append(
            {
                "value": maxproc,
                "variable": variables.get(key, f"master.cf {key} maxproc"),
                "service": key,
                "command": svc["command"],
            }
        )
    if limits:
        settings["maxproc"] = limits
    return settings


# --------------------------------------------------------------------------------------------
# Entry points


def assess(settings, accepted=(), host=None):
    """Every unsafe value in ``settings``, as a list of :class:`Risk`.

    :param settings: ``{setting: {"value": v, "variable": "what the admin wrote"}}``, or a list
        of such entries when several variables feed one setting (the dkim role's keys, the
        services' limits). Settings: ``mynetworks`` (a list or Postfix text);
        ``smtpd_tls_protocols``, ``smtpd_tls_mandatory_protocols``, ``smtp_tls_protocols``,
        ``smtp_tls_mandatory_protocols`` (Postfix syntax); ``smtpd_tls_auth_only`` and
        ``sasl_auth_offered`` (booleans; the second true when an smtpd service offers AUTH
        where TLS is not already enforced); ``dkim_key_bits`` (RSA bits); and
        ``default_process_limit`` and ``maxproc`` (entries with ``service`` "name/type" and
        ``command``). A ``None`` value is "not set" and not judged.
    :param accepted: ``sbs_postfix_accept_risks``; invalid entries are ignored here and
        reported by :func:`verdict`.
    :param host: ``{"addresses": [...], "mem_total": bytes}``: the host's own addresses (for
        public mynetworks; bare or ``addr/prefix``) and its RAM (for the process limits).
        Without addresses every public network is a risk; without memory the limits are only
        checked against what Linux can run.
    :raises RiskError: for a setting that cannot be judged, naming its variable.
    """
    names, _errors = check_accepted(accepted)
    found = _entries(settings)
    risks = _mynetworks_risks(found.get("mynetworks", []), names, host)
    for setting in TLS_PROTOCOL_SETTINGS:
        risks += _tls_protocol_risks(found.get(setting, []), names)
    risks += _tls_auth_risks(found, names)
    risks += _dkim_risks(found.get("dkim_key_bits", []), names)
    risks += _limit_risks(found, names, host)
    return risks


def verdict(risks, accepted=()):
    """``Verdict(failures, warnings)``: the messages of the risks that fail (unacknowledged or
    refused) plus every invalid entry of ``sbs_postfix_accept_risks``, and those of the
    acknowledged risks, which the play prints as warnings on every run.

    An acknowledged name with no matching risk is not reported: each role assesses only its own
    settings, so a name the dkim role needs is unused in the server role's assessment.
    """
    _names, errors = check_accepted(accepted)
    failures = [risk.message for risk in risks if risk.fails]
    warnings = [risk.message for risk in risks if not risk.fails]
    return Verdict(errors + failures, warnings)


def risks_report(settings, accepted=(), host=None):
    """:func:`assess` and :func:`verdict` in one: ``{risks, failures, warnings}``."""
    risks = assess(settings, accepted, host)
    failures, warnings = verdict(risks, accepted)
    return {
        "risks": [risk.as_dict() for risk in risks],
        "failures": failures,
        "warnings": warnings,
    }
