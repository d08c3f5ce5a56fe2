# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The server role's /etc/aliases: merge, check and resolve (private to sbs.postfix).

The role writes every alias from the inventory, so what Postfix's local(8) expands is what the
checks here read. A target is a local name (expanded again through the map, or a user's
mailbox) or an address local@domain. Commands (``|cmd``), files (``/path``) and ``:include:``
are refused: they run or write as the default_privs user from a file root owns, and a small
business host has no use for them that a mailbox or a forward to an address does not cover.
"""

from __future__ import annotations

import re

VARIABLE = "server_aliases"
ROOT_VARIABLE = "server_root_alias"

# What Postfix's aliases keys may be: a local part without spaces, colons or quotes.
_NAME = re.compile(r"^[a-z0-9][a-z0-9._+-]*$")
# A dot-atom local part (RFC 5322) and a host name or address literal.
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+=?^_`{}~-]+(\.[A-Za-z0-9!#$%&'*+=?^_`{}~-]+)*$")
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def _is_domain(domain):
    if domain.startswith("[") and domain.endswith("]"):
        return len(domain) > 2
    labels = domain.rstrip(".").split(".")
    return len(domain) <= 253 and all(_LABEL.match(label) for label in labels)


def target_kind(target):
    """``name``, ``address`` or None (not a target this role writes) for one alias target."""
    if not isinstance(target, str):
        return None
    if "@" in target:
        local, domain = target.rsplit("@", 1)
        return "address" if _LOCAL.match(local) and _is_domain(domain) else None
    return "name" if _NAME.match(target) else None


def merge_aliases(sbs_defaults, admin=None, root_alias=None):
    """``{name: [targets]}`` from the SBS defaults, ``server_root_alias`` (root's targets) and
    the admin's ``server_aliases``, the admin's winning; a null value of the admin removes a
    name. Values are kept as given beyond making a string a one-item list: alias_problems
    judges them."""
    merged = {}
    for name, value in (sbs_defaults or {}).items():
        merged[str(name).lower()] = value
    if root_alias not in (None, "", []):
        merged["root"] = root_alias
    for name, value in (admin or {}).items():
        key = str(name).lower()
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return {
        name: [value] if isinstance(value, str) else value
        for name, value in sorted(merged.items())
        if value is not None
    }


def _where(name, admin, root_alias):
    if name in {str(key).lower() for key in (admin or {})}:
        return f"{VARIABLE}.{name}"
    if name == "root" and root_alias not in (None, "", []):
        return ROOT_VARIABLE
    return f"{VARIABLE}.{name} (SBS default)"


def resolve(aliases, name):
    """``(terminals, loop)`` for a local name: the addresses and local users it reaches
    through ``aliases`` and the first cycle met (a list of names), if any. A name listed among
    its own targets is its user's mailbox (local(8) delivers it there), not a loop."""
    terminals = []
    loop = None

    def walk(current, path):
        nonlocal loop
        if current not in aliases:
            terminals.append(current)
            return
        for target in aliases[current]:
            kind = target_kind(target)
            if kind == "address":
                terminals.append(target)
            elif kind == "name":
                local = target.lower()
                if local == current:
                    terminals.append(local)
                elif local in path:
                    if loop is None:
                        loop = [*path[path.index(local) :], local]
                else:
                    walk(local, [*path, local])

    walk(name, [name])
    return sorted(set(terminals)), loop


def _domains(parameters, fqdn, parameter, default):
    """A domain-list parameter's domains, $myhostname and $mydomain expanded, lower case; a
    table, a file or another parameter is left out (not known here)."""
    hostname = parameters.get("myhostname") or fqdn or ""
    domain = parameters.get("mydomain") or hostname.partition(".")[2]
    value = parameters.get(parameter) or default
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(item) for item in value)
    found = []
    for item in re.split(r"[\s,]+", str(value)):
        name = item.replace("${myhostname}", hostname).replace("$myhostname", hostname)
        name = name.replace("${mydomain}", domain).replace("$mydomain", domain)
        if name and "$" not in name and ":" not in name and "/" not in name:
            found.append(name.lower().rstrip("."))
    return found


def _local_domains(parameters, fqdn):
    """mydestination's domains: the mail this host delivers itself."""
    return set(
        _domains(parameters, fqdn, "mydestination", "$myhostname, localhost.$mydomain, localhost")
    )


def report_addresses(dkim_domains=None, dkim_dmarc_rua=None):
    """``[(variable, address)]``: the DMARC aggregate report addresses the dkim role publishes,
    ``{domain}`` replaced and a ``mailto:`` prefix removed. Without dkim_dmarc_rua (the dkim
    role's defaults are not visible here) its documented default, ``postmaster@{domain}``."""
    default = ["postmaster@{domain}"] if dkim_dmarc_rua is None else dkim_dmarc_rua
    found = []
    for index, entry in enumerate(dkim_domains or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("domain"), str):
            continue
        own = entry.get("dmarc_rua")
        variable = f"dkim_domains[{index}].dmarc_rua" if own is not None else "dkim_dmarc_rua"
        for address in default if own is None else own:
            if isinstance(address, str):
                plain = re.sub(r"^mailto:", "", address, flags=re.IGNORECASE)
                found.append((variable, plain.replace("{domain}", entry["domain"])))
    return found


def alias_problems(
    aliases,
    admin=None,
    root_alias=None,
    users=None,
    *,
    reports=None,
    parameters=None,
    fqdn=None,
):
    """``{failures, warnings}`` for the merged aliases (merge_aliases).

    ``users`` is the host's user names (None: not known, not checked). ``reports`` is
    report_addresses' list; ``parameters`` the merged main.cf (mydestination, myhostname,
    mydomain, recipient_delimiter) and ``fqdn`` the host's name, to tell which report
    addresses this host delivers itself."""
    failures, warnings = [], []
    users = None if users is None else {str(user).lower() for user in users}
    for name, targets in aliases.items():
        where = _where(name, admin, root_alias)
        if not _NAME.match(name):
            failures.append(
                f"{where}: {name!r} is not a local name an alias can have "
                "(lower-case letters, digits, '.', '_', '+', '-'; no '@')"
            )
            continue
        if not isinstance(targets, list) or not targets:
            failures.append(f"{where}: {targets!r} is not an address or a list of addresses")
            continue
        for target in targets:
            if isinstance(target, str) and (
                target.startswith(("|", "/", ":include:")) or target.startswith('"')
            ):
                failures.append(
                    f"{where}: {target!r} is a command, file or :include:, which this role does "
                    "not write (it would run or write as Postfix's default_privs user); deliver "
                    "to a local user or an address instead"
                )
            elif target_kind(target) is None:
                failures.append(
                    f"{where}: {target!r} is not an address (local@domain) or a local name"
                )
    if failures:
        return {"failures": failures, "warnings": warnings}

    for name in sorted(aliases):
        loop = resolve(aliases, name)[1]
        if loop:
            failures.append(
                f"{_where(name, admin, root_alias)}: alias loop {' -> '.join(loop)}; "
                "mail to it would bounce"
            )
    if failures:
        return {"failures": failures, "warnings": warnings}

    for name in ("root", "postmaster"):
        terminals = resolve(aliases, name)[0]
        if terminals == ["root"]:
            where = _where(name, admin, root_alias) if name in aliases else f"{VARIABLE}.{name}"
            warnings.append(
                f"{where}: mail to {name} stays in root's mailbox on this host, where nobody "
                f"reads it; set {ROOT_VARIABLE} to a person's address or user"
            )

    for name, targets in aliases.items():
        for target in targets:
            if (
                target_kind(target) == "name"
                and target.lower() not in aliases
                and users is not None
                and target.lower() not in users
            ):
                failures.append(
                    f"{_where(name, admin, root_alias)}: {target!r} is neither an alias nor "
                    "a user on this host"
                )

    local = _local_domains(parameters or {}, fqdn)
    delimiter = (parameters or {}).get("recipient_delimiter") or ""

    # local(8) hands a local name it does not find in the aliases back to Postfix as
    # name@$myorigin: where myorigin is not one of this host's own domains, the name leaves the
    # host (a hosted domain's mailbox provider, a virtual alias domain) instead of reaching the
    # user's mailbox. Debian's /etc/mailname (a file) is not read here.
    origin = _domains(parameters or {}, fqdn, "myorigin", "$myhostname")
    if origin and origin[0] not in local:
        suggestion = "localhost" if "localhost" in local else (sorted(local) or ["$myhostname"])[0]
        for name, targets in aliases.items():
            for target in targets:
                if target_kind(target) == "name" and (target == name or target not in aliases):
                    failures.append(
                        f"{_where(name, admin, root_alias)}: {target!r} is a mailbox on this "
                        f"host, but Postfix delivers it as {target}@{origin[0]} (myorigin), a "
                        "domain this host does not deliver itself (mydestination); write "
                        f"{target}@{suggestion}"
                    )
    for variable, address in reports or []:
        lpart, domain = address.rsplit("@", 1) if "@" in address else ("", address)
        if domain.lower().rstrip(".") not in local:
            continue
        lpart = lpart.lower()
        for char in delimiter:
            lpart = lpart.split(char)[0]
        if lpart in aliases or users is None or lpart in users:
            continue
        failures.append(
            f"{variable}: the DMARC report address {address} is delivered on this host, but "
            f"{lpart} is neither an alias ({VARIABLE}) nor a user here; reports would bounce"
        )
    return {"failures": failures, "warnings": warnings}
