# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Private to the sbs.postfix collection: the multi-host plan of the topology role.

One host's place in a mail system (front-end, back-end or backup MX) and what it needs from
the others, derived from the inventory: the addresses of the other hosts, the domains and the
recipients that exist. `topology_plan` checks every input (recording problems, never raising
at the first) and builds the role's contribution to sbs.postfix.server (docs/handoff.md).

Lookup tables are Postfix `inline:` tables in main.cf: only the server role writes Postfix's
files, and an inline table is part of the value the server role validates and writes.
"""

from __future__ import annotations

import ipaddress
import re

LAYOUTS = ("frontend", "backend", "backup_mx")
_TARGETS = {"backend": "the back-ends", "frontend": "the primary MX (the front-ends)"}
# The Dovecot LMTP socket inside Postfix's queue directory: relative, so the lmtp(8) client
# reaches it chrooted or not.
LMTP_SOCKET = "private/dovecot-lmtp"
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_DOMAIN_RE = re.compile(rf"^{_LABEL}(\.{_LABEL})+$")
_LOCAL_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_DURATION_RE = re.compile(r"^[0-9]+[smhdw]?$")


def peer_address(peer):
    """The address the other hosts reach `peer` at: topology_address, else ansible_host when it
    is an IP address, else the default IPv4 address in the host's facts (gathered in the same
    run), else the inventory name (resolved by each host: /etc/hosts or DNS)."""
    if peer.get("topology_address"):
        return str(peer["topology_address"])
    for value in (peer.get("ansible_host"), peer.get("fact_address")):
        if value:
            try:
                return str(ipaddress.ip_address(str(value)))
            except ValueError:
                continue
    return str(peer["host"])


def _nexthop(address, port):
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return f"[{address}]:{port}"
    return f"[ipv6:{ip}]:{port}" if ip.version == 6 else f"[{ip}]:{port}"


def _client_key(address):
    """check_client_access looks the client's address up as text: an IP only; a host name
    would need a reverse lookup, which these hosts never trust for access."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def inline_table(entries):
    """An inline:{...} table; a value with a comma or space is wrapped in braces."""
    parts = []
    for key, value in entries:
        item = f"{key}={value}"
        parts.append("{" + item + "}" if re.search(r"[,\s]", item) else item)
    return "inline:{" + ",".join(parts) + "}"


def layout_of(settings, group_names):
    """The host's layout: topology_layout, else the one layout group it is in."""
    problems = []
    layout = settings.get("topology_layout")
    groups = settings.get("topology_groups") or {}
    if layout is not None:
        if layout not in LAYOUTS:
            problems.append(
                f"topology_layout: {layout!r} must be one of {', '.join(LAYOUTS)} or null"
            )
            return None, problems
        return layout, problems
    member = [name for name in LAYOUTS if groups.get(name) in (group_names or [])]
    if len(member) > 1:
        problems.append(
            "topology_groups: the host is in "
            + ", ".join(groups[name] for name in member)
            + "; a host has one layout (set topology_layout to choose)"
        )
        return None, problems
    return (member[0] if member else None), problems


def _unique(items, variable, what, judge):
    """``(problems, good)`` for a list whose items ``judge`` accepts (it returns a problem or
    None) and that may not repeat; ``good`` holds the accepted items in lower case."""
    if not isinstance(items, list):
        return [f"{variable}: {items!r} must be a list of {what}"], []
    problems, good = [], []
    for index, item in enumerate(items):
        problem = judge(item)
        if problem:
            problems.append(f"{variable}[{index}]: {problem}")
        elif item.lower() in good:
            problems.append(f"{variable}[{index}]: {item} is listed twice")
        else:
            good.append(item.lower())
    return problems, good


def _check_domains(domains):
    return _unique(
        domains,
        "topology_domains",
        "domains",
        lambda domain: (
            None
            if isinstance(domain, str) and _DOMAIN_RE.match(domain)
            else f"{domain!r} is not a domain name"
        ),
    )


def _check_recipients(recipients, domains):
    def judge(address):
        local, _at, domain = str(address).rpartition("@")
        if not isinstance(address, str) or not local or not _LOCAL_RE.match(local):
            return f"{address!r} is not an address (local-part@domain)"
        if domain.lower() not in domains:
            return f"{address} is not in one of topology_domains ({', '.join(domains)})"
        return None

    return _unique(recipients, "topology_recipients", "addresses", judge)


def _check_networks(networks, variable):
    problems = []
    good = []
    if not isinstance(networks, list):
        return [f"{variable}: {networks!r} must be a list of networks"], []
    for index, text in enumerate(networks):
        try:
            net = ipaddress.ip_network(str(text), strict=True)
        except ValueError as exc:
            problems.append(f"{variable}[{index}]: {text!r} is not an IP network ({exc})")
            continue
        if net.prefixlen == 0:
            problems.append(
                f"{variable}[{index}]: {text} lets every host on the Internet hand mail"
                " to the back-end; a back-end accepts only from its front-ends and its own networks"
            )
            continue
        if (net.version == 4 and net.prefixlen % 8) or (net.version == 6 and net.num_addresses > 1):
            problems.append(
                f"{variable}[{index}]: {text} is not a single address or an IPv4 network"
                " of /8, /16 or /24; check_client_access matches only those"
                " (put other networks in server_mynetworks)"
            )
            continue
        good.append(net)
    return problems, good


def client_table_key(net):
    """The key check_client_access looks up for a network: the address, or the IPv4 network's
    leading octets (it tries 10.1.2.3, then 10.1.2, 10.1 and 10)."""
    if net.num_addresses == 1:
        return str(net.network_address)
    return ".".join(str(net.network_address).split(".")[: net.prefixlen // 8])


def _positive_int(value, variable, allow_none=True):
    if value is None and allow_none:
        return None, []
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return None, [f"{variable}: {value!r} must be a whole number, 1 or more"]
    return value, []


def _check_duration(value, variable):
    if isinstance(value, bool) or not _DURATION_RE.match(str(value)):
        return [f"{variable}: {value!r} is not a duration (300s, 10m, 1h, 10d)"]
    return []


def _frontend_clients(addresses, why, problems):
    """The front-ends' client table keys; a front-end without an IP address is a problem
    (appended to ``problems``), because ``why`` needs one."""
    unresolved = [a for a in addresses["frontend"] if _client_key(a) is None]
    if unresolved:
        problems.append(
            f"topology_address: the front-ends {', '.join(unresolved)} have no IP address in the"
            f" inventory or facts; {why}. Set topology_address for them (a run with --limit has"
            " only its own host's facts)"
        )
    return [k for k in (_client_key(a) for a in addresses["frontend"]) if k]


def topology_plan(settings, group_names=None, peers=None, tuning_lmtp_maxproc=None):
    """Check one host's topology input and plan its part.

    settings: the role's variables (topology_*). group_names: the host's groups.
    peers: {layout: [{host, topology_address, ansible_host, fact_address}]} for every layout
    group, from the inventory and the hosts' facts.
    tuning_lmtp_maxproc: the lmtp/unix maxproc the tuning role sized, or None.
    Returns {layout, problems, contribution, etrn, backend, reasons}.
    """
    peers = peers or {}
    layout, problems = layout_of(settings, group_names)
    plan = {"layout": layout, "problems": problems, "contribution": {}, "etrn": [], "backend": {}}
    if layout is None:
        return plan

    domain_problems, domains = _check_domains(settings.get("topology_domains"))
    problems += domain_problems
    if not domain_problems and not domains:
        problems.append(
            f"topology_domains: empty; a {layout} needs the domains it receives mail for"
            + (" (its relay_domains)" if layout != "backend" else "")
        )
    recipient_problems, recipients = _check_recipients(settings.get("topology_recipients"), domains)
    problems += recipient_problems
    if not recipient_problems and not recipients:
        problems.append(
            f"topology_recipients: empty; a {layout} accepts mail only for recipients that exist,"
            " so it never accepts what the back-end would bounce (no backscatter)"
        )
    port, port_problems = _positive_int(
        settings.get("topology_smtp_port", 25), "topology_smtp_port", False
    )
    problems += port_problems
    if port is not None and port > 65535:
        problems.append(f"topology_smtp_port: {port} must be a TCP port, 1 to 65535")

    groups = settings.get("topology_groups") or {}
    addresses = {name: [peer_address(p) for p in peers.get(name) or []] for name in LAYOUTS}
    recipient_table = inline_table((address, "OK") for address in recipients)
    contribution = {"main_required": {}, "main": {}, "main_append": {}, "reasons": {}}
    req, main, reasons = (
        contribution["main_required"],
        contribution["main"],
        contribution["reasons"],
    )

    if layout in ("frontend", "backup_mx"):
        target = "backend" if layout == "frontend" else "frontend"
        if not addresses[target]:
            problems.append(
                f"topology_groups.{target}: group {groups.get(target)!r} has no hosts;"
                f" a {layout} relays to {_TARGETS[target]}"
            )
        nexthops = ",".join(_nexthop(a, port or 25) for a in addresses[target])
        req["relay_domains"] = domains
        req["relay_recipient_maps"] = [recipient_table]
        contribution["main_append"]["transport_maps"] = [
            inline_table((domain, f"relay:{nexthops}") for domain in domains)
        ]
        reasons["relay_domains"] = "the domains of topology_domains, relayed by this " + layout
        reasons["relay_recipient_maps"] = (
            "topology_recipients: unknown recipients are refused at RCPT time,"
            " never bounced later (no backscatter)"
        )
        reasons["transport_maps"] = (
            "topology: the domains go to the back-ends"
            if layout == "frontend"
            else "topology: queued mail goes to the primary MX"
        )

    if layout == "frontend":
        plan["etrn"] = [{"address": a, "port": port or 25} for a in addresses["backup_mx"]]

    if layout == "backup_mx":
        primaries = _frontend_clients(
            addresses, "the backup MX lets only their addresses ask for its queue (ETRN)", problems
        )
        for name in (
            "topology_backup_queue_lifetime",
            "topology_backup_minimal_backoff_time",
            "topology_backup_maximal_backoff_time",
            "topology_backup_queue_run_delay",
        ):
            problems += _check_duration(settings.get(name), name)
        req["fast_flush_domains"] = ["$relay_domains"]
        req["smtpd_etrn_restrictions"] = (
            ["permit_mynetworks"]
            + [f"check_client_access inline:{{{k}=OK}}" for k in primaries]
            + ["reject"]
        )
        main["maximal_queue_lifetime"] = settings.get("topology_backup_queue_lifetime")
        main["minimal_backoff_time"] = settings.get("topology_backup_minimal_backoff_time")
        main["maximal_backoff_time"] = settings.get("topology_backup_maximal_backoff_time")
        main["queue_run_delay"] = settings.get("topology_backup_queue_run_delay")
        reasons["fast_flush_domains"] = (
            "the primary asks for the queued mail of its domains with ETRN when it starts"
        )
        reasons["smtpd_etrn_restrictions"] = (
            "only the primary MX (the front-ends) may ask for the queue"
        )
        reasons["maximal_queue_lifetime"] = (
            "a backup MX holds the primary's mail through a long outage"
        )
        reasons["minimal_backoff_time"] = (
            "retry the primary soon after an outage, should its ETRN not arrive"
        )
        reasons["maximal_backoff_time"] = "never wait longer than this for a primary that is back"
        reasons["queue_run_delay"] = "deferred mail is looked at as often as the shortest backoff"

    if layout == "backend":
        net_problems, nets = _check_networks(
            settings.get("topology_backend_clients", []), "topology_backend_clients"
        )
        problems += net_problems
        if not addresses["frontend"]:
            problems.append(
                f"topology_groups.frontend: group {groups.get('frontend')!r} has no hosts;"
                " a back-end accepts mail only from its front-ends"
            )
        clients = _frontend_clients(
            addresses, "the back-end accepts only from their addresses", problems
        )
        maxproc, maxproc_problems = _positive_int(
            settings.get("topology_lmtp_maxproc"), "topology_lmtp_maxproc"
        )
        problems += maxproc_problems
        if (
            maxproc is not None
            and tuning_lmtp_maxproc is not None
            and maxproc != tuning_lmtp_maxproc
        ):
            problems.append(
                f"topology_lmtp_maxproc: {maxproc} differs from the lmtp/unix maxproc"
                f" {tuning_lmtp_maxproc} the tuning role sized; leave it null to use the sizing,"
                " or set both through server_master_overrides"
            )
        effective = maxproc if maxproc is not None else tuning_lmtp_maxproc
        req["virtual_mailbox_domains"] = domains
        req["virtual_mailbox_maps"] = [recipient_table]
        req["virtual_transport"] = f"lmtp:unix:{LMTP_SOCKET}"
        keys = clients + [client_table_key(n) for n in nets]
        req["smtpd_client_restrictions"] = (
            ["permit_mynetworks"]
            + [f"check_client_access inline:{{{k}=OK}}" for k in keys]
            + ["reject"]
        )
        reasons["virtual_mailbox_domains"] = "topology_domains: delivered here, into Dovecot"
        reasons["virtual_mailbox_maps"] = "topology_recipients: the mailboxes that exist"
        reasons["virtual_transport"] = "Dovecot LMTP, its socket inside Postfix's queue directory"
        reasons["smtpd_client_restrictions"] = (
            "a back-end accepts only from its front-ends and mynetworks"
        )
        if effective is not None:
            main["lmtp_destination_concurrency_limit"] = effective
            reasons["lmtp_destination_concurrency_limit"] = (
                "every LMTP delivery goes to one destination (the Dovecot socket):"
                " as many at once as lmtp maxproc"
            )
            if maxproc is not None and tuning_lmtp_maxproc is None:
                contribution["master"] = {"lmtp/unix": {"maxproc": maxproc}}
        plan["backend"] = {
            "lmtp_process_limit": effective,
            "clients": clients + [str(n) for n in nets],
            "keys": keys,
        }

    plan["contribution"] = {k: v for k, v in contribution.items() if v}
    return plan
