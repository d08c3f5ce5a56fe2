# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""rspamd beside Postfix: how many scanner workers the host can run, the checks of the
``sbs.postfix.rspamd`` role's variables, and the milter and content-filter settings the role
hands to the server role (docs/handoff.md, docs/rspamd.md).

Private to the sbs.postfix collection: not a public API, may change without notice.

Controller side, pure: the role's variables and ``sbs.postfix.sizing_info``'s ``hardware`` in,
plain data out. Every problem names the variable the admin wrote; all of them are returned
together, never raised one at a time.
"""

from __future__ import annotations

import ipaddress
import re

from ansible_collections.sbs.postfix.plugins.module_utils._sizing import MIB, os_reserve

# Resident size of one rspamd normal worker, planned in full. Measured idle on Debian 12
# (rspamd 3.4: VmRSS 238 MiB) and Debian 13 (3.12.1: 269 MiB), almost all of it anonymous
# memory the worker shares copy-on-write with the main process right after the fork (private
# dirty 2-3 MiB). LuaJIT's garbage collector walks and rewrites that heap, so a worker that has
# scanned for a while owns most of it: we plan the whole resident size, rounded to 256 MiB.
MEM_PER_WORKER = 256 * MIB
# rspamd's processes that do not grow with the worker count: the main process, the milter
# proxy, the controller and the hs_helper (Hyperscan compiler). Their proportional sizes (Pss)
# came to 191 MiB on Debian 12 and 234 MiB on Debian 13; we plan 512 MiB, as their resident
# sizes add up to 619 and 845 MiB before copy-on-write sharing is counted.
MEM_BASE = 512 * MIB
# Share of the memory outside the OS reserve that the sized worker count may take. Postfix's own
# sizing plans 25-50 % (profiles in _sizing.py); a quarter for the scanner leaves the rest to
# Postfix, the page cache and anything else the host runs.
MEMORY_SHARE = 0.25
# A normal worker runs one event loop: it computes on one CPU and waits for DNS and network
# replies without blocking. One per CPU keeps every CPU busy; more than two per CPU only queue
# for the same CPUs while each holds its own heap.
WORKERS_PER_CPU_MAX = 2
WORKER_FLOOR = 1

MILTER_ACTIONS = ("accept", "tempfail", "reject", "quarantine")
# rspamd's own listeners on loopback: the proxy (milter), the normal workers, the controller.
STOCK_PORTS = {"normal": 11333, "controller": 11334}
# MAIL FROM macros rspamd's proxy reads: Postfix's default list (queue id, SASL login and
# author, sender) plus the client's address and name rspamd's integration guide adds. A
# superset of the default, so another milter (OpenDKIM) loses nothing.
MILTER_MAIL_MACROS = (
    "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer} "
    "{client_addr} {client_name}"
)
# Headers rspamd adds to the mail it scanned (milter_headers module).
HEADERS = ("x-spamd-result", "x-rspamd-server", "x-rspamd-queue-id", "x-spam-status")
_DURATION_RE = re.compile(r"^([0-9]+)([smhdw]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# The Postfix transport the content filter is reached through (master.cf service name).
FILTER_TRANSPORT = "scan"


def _rec(value, reason, **inputs):
    return {"value": value, "reason": reason, "inputs": inputs}


def _mib(value):
    return int(value // MIB)


def worker_limit(cpus, mem_total):
    """The most normal workers this host can run: ``WORKERS_PER_CPU_MAX`` per CPU, and no more
    than the memory outside the OS reserve holds after rspamd's other processes, at
    ``MEM_PER_WORKER`` each. Never below ``WORKER_FLOOR``: one worker is what rspamd needs."""
    outside = max(0, mem_total - os_reserve(mem_total))
    by_cpu = WORKERS_PER_CPU_MAX * cpus
    by_memory = max(0, outside - MEM_BASE) // MEM_PER_WORKER
    value = max(WORKER_FLOOR, min(by_cpu, by_memory))
    reason = (
        f"{WORKERS_PER_CPU_MAX} per CPU x {cpus} CPUs = {by_cpu} (a worker computes on one CPU; "
        f"more only queue for the same CPUs), {by_memory} by memory ({_mib(outside)} MiB outside "
        f"the OS reserve, less {_mib(MEM_BASE)} MiB for rspamd's main, proxy, controller and "
        f"hs_helper processes, / {_mib(MEM_PER_WORKER)} MiB per worker)"
    )
    return _rec(
        value,
        reason,
        cpus=cpus,
        mem_total=mem_total,
        by_cpu=by_cpu,
        by_memory=by_memory,
        mem_per_worker=MEM_PER_WORKER,
        mem_base=MEM_BASE,
    )


def size_workers(cpus, mem_total):
    """rspamd normal workers (``worker-normal.inc`` ``count``): one per CPU, within
    ``MEMORY_SHARE`` of the memory outside the OS reserve (less rspamd's fixed processes) at
    ``MEM_PER_WORKER`` each, at least ``WORKER_FLOOR``."""
    budget = int(max(0, mem_total - os_reserve(mem_total)) * MEMORY_SHARE)
    by_memory = max(0, budget - MEM_BASE) // MEM_PER_WORKER
    by_cpu = cpus
    value = max(WORKER_FLOOR, min(by_cpu, by_memory))
    if value == WORKER_FLOOR and min(by_cpu, by_memory) < WORKER_FLOOR:
        why = (
            f"floor of {WORKER_FLOOR} worker: {_mib(budget)} MiB for rspamd leave less than "
            f"{_mib(MEM_PER_WORKER)} MiB after its {_mib(MEM_BASE)} MiB of other processes"
        )
    elif value == by_memory and by_memory < by_cpu:
        why = (
            f"memory-bound: {_mib(budget)} MiB for rspamd ({int(MEMORY_SHARE * 100)} % outside "
            f"the OS reserve) - {_mib(MEM_BASE)} MiB for its other processes, / "
            f"{_mib(MEM_PER_WORKER)} MiB per worker"
        )
    else:
        why = (
            f"one per CPU x {cpus} CPUs: a worker computes on one CPU and waits on DNS without "
            "blocking, so one per CPU keeps every CPU scanning"
        )
    return _rec(value, why, cpus=cpus, mem_total=mem_total, by_cpu=by_cpu, by_memory=by_memory)


def seconds(variable, value, problems):
    """A duration (``10s``, ``2m``, ``90``) as whole seconds; ``None`` and a recorded problem
    when it is not one."""
    if isinstance(value, bool):
        match = None
    elif isinstance(value, int):
        match = _DURATION_RE.match(str(value)) if value >= 0 else None
    else:
        match = _DURATION_RE.match(str(value).strip()) if isinstance(value, str) else None
    if match is None:
        problems.append(
            f"{variable}: {value!r} is not a duration. Allowed: digits with a unit s, m, h, d "
            "or w (10s, 2m); digits alone are seconds."
        )
        return None
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _whole(value):
    """An integer, or digits as text (an inventory may quote them), as int; else unchanged."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


def _port(variable, value, problems):
    value = _whole(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
        problems.append(f"{variable}: {value!r} is not a TCP port. Allowed: 1 to 65535.")
        return None
    return value


def _count(variable, value, problems, low=1):
    value = _whole(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        problems.append(f"{variable}: {value!r} is not a whole number. Allowed: {low} or more.")
        return None
    return value


def _check_ports(variables, problems):
    """The ports the role listens on or points Postfix at, each once, none of rspamd's own."""
    names = ["rspamd_milter_port"]
    if variables.get("rspamd_content_filter_enabled"):
        names += ["rspamd_content_filter_port", "rspamd_content_filter_reinject_port"]
    ports = {}
    for name in names:
        port = _port(name, variables.get(name), problems)
        if port is None:
            continue
        for stock, number in STOCK_PORTS.items():
            if port == number:
                problems.append(
                    f"{name}: {port} is the port of rspamd's {stock} worker. Allowed: another "
                    "port (11332 for the milter, 10024 and 10025 for a content filter)."
                )
        if port in ports:
            problems.append(f"{name}: {port} is also {ports[port]}. Allowed: a port of its own.")
        ports.setdefault(port, name)


def _check_workers(variables, limit, problems):
    """``rspamd_workers``: null (sized) or a whole number the host can run."""
    value = variables.get("rspamd_workers")
    if value is None:
        return None
    value = _count("rspamd_workers", value, problems)
    if value is None:
        return None
    if value > limit["value"]:
        problems.append(
            f"rspamd_workers: {value} is more than this host can run. Allowed: 1 to "
            f"{limit['value']}, or null to size from the hardware: {limit['reason']}."
        )
        return None
    return value


def _check_timeouts(variables, problems):
    """Postfix's milter timeouts and rspamd's proxy timeout, in seconds. Postfix must wait for
    the message longer than the proxy waits for its scanner, so a slow scan ends with rspamd's
    own answer instead of Postfix's default action."""
    names = (
        "rspamd_milter_connect_timeout",
        "rspamd_milter_command_timeout",
        "rspamd_milter_content_timeout",
        "rspamd_proxy_timeout",
    )
    found = {name: seconds(name, variables.get(name), problems) for name in names}
    for name, value in found.items():
        if value == 0:
            problems.append(f"{name}: 0 leaves no time at all. Allowed: 1s or more.")
            found[name] = None
    content, proxy = found["rspamd_milter_content_timeout"], found["rspamd_proxy_timeout"]
    if content is not None and proxy is not None and content <= proxy:
        problems.append(
            f"rspamd_milter_content_timeout: {content}s is not longer than rspamd_proxy_timeout "
            f"({proxy}s): Postfix would give up on a slow scan before rspamd answers. Allowed: "
            f"more than {proxy}s."
        )
    return found


def _check_headers(variables, problems):
    headers = variables.get("rspamd_headers")
    if not isinstance(headers, list) or not all(isinstance(h, str) for h in headers):
        problems.append(
            f"rspamd_headers: {headers!r} is not a list of names. Allowed: "
            + ", ".join(HEADERS)
            + "."
        )
        return []
    unknown = [h for h in headers if h not in HEADERS]
    if unknown:
        problems.append(
            f"rspamd_headers: {', '.join(unknown)} not among the headers this role enables. "
            "Allowed: " + ", ".join(HEADERS) + "."
        )
    return [h for h in headers if h in HEADERS]


def _check_dns_servers(variables, problems):
    """``rspamd_dns_servers``: addresses, optionally with a port (``192.0.2.53``,
    ``192.0.2.53:53``, ``[2001:db8::53]:53``), as rspamd's ``nameserver`` wants them."""
    servers = variables.get("rspamd_dns_servers")
    allowed = "IP addresses, optionally with a port (192.0.2.53, 192.0.2.53:53, [2001:db8::53]:53)"
    if not isinstance(servers, list):
        problems.append(f"rspamd_dns_servers: {servers!r} is not a list. Allowed: {allowed}.")
        return []
    found = []
    for index, server in enumerate(servers):
        text = str(server).strip()
        match = re.match(r"^\[([0-9A-Fa-f:.]+)\](?::([0-9]+))?$", text) or re.match(
            r"^([0-9.]+)(?::([0-9]+))?$", text
        )
        address, port = (match.group(1), match.group(2) or "53") if match else (text, "53")
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            parsed = None
        if parsed is None or not 0 < int(port) < 65536:
            problems.append(
                f"rspamd_dns_servers[{index}]: {server!r} is not valid. Allowed: {allowed}."
            )
            continue
        found.append(f"[{parsed}]:{port}" if parsed.version == 6 else f"{parsed}:{port}")
    return found


def milter_entry(port, action, timeouts):
    """The rspamd milter as one ``smtpd_milters`` item with its own settings (Postfix 3.0+
    per-milter form), so its default action and timeouts never touch another milter's."""
    return (
        f"{{ inet:127.0.0.1:{port}, default_action={action}, "
        f"connect_timeout={timeouts['rspamd_milter_connect_timeout']}s, "
        f"command_timeout={timeouts['rspamd_milter_command_timeout']}s, "
        f"content_timeout={timeouts['rspamd_milter_content_timeout']}s, protocol=6 }}"
    )


def content_filter_services(filter_port, reinject_port, maxproc):
    """The after-queue content filter's two master.cf services: the ``scan`` smtp client that
    hands queued mail to the filter, and the loopback smtpd the filter returns it to, which
    does not filter, check or scan it a second time."""
    closed = "permit_mynetworks, reject"
    return [
        {
            "name": FILTER_TRANSPORT,
            "type": "unix",
            "private": None,
            "unpriv": None,
            "chroot": False,
            "maxproc": maxproc,
            "command": "smtp",
            "options": {
                "syslog_name": "postfix/scan",
                "smtp_send_xforward_command": True,
                "disable_mime_output_conversion": True,
                "smtp_data_done_timeout": "1200s",
            },
        },
        {
            "name": f"127.0.0.1:{reinject_port}",
            "type": "inet",
            "private": False,
            "unpriv": None,
            "chroot": False,
            "maxproc": maxproc,
            "command": "smtpd",
            "options": {
                "syslog_name": f"postfix/{reinject_port}",
                "content_filter": "",
                "receive_override_options": (
                    "no_unknown_recipient_checks,no_header_body_checks,no_milters,"
                    "no_address_mappings"
                ),
                "mynetworks": "127.0.0.0/8",
                "smtpd_authorized_xforward_hosts": "127.0.0.0/8",
                "smtpd_client_restrictions": "",
                "smtpd_helo_restrictions": "",
                "smtpd_sender_restrictions": "",
                "smtpd_recipient_restrictions": closed,
                "smtpd_relay_restrictions": closed,
                "smtpd_data_restrictions": "reject_unauth_pipelining",
                "smtpd_end_of_data_restrictions": "",
                "smtpd_delay_reject": False,
                "smtpd_error_sleep_time": 0,
                "smtpd_soft_error_limit": 1001,
                "smtpd_hard_error_limit": 1000,
                "smtpd_client_connection_count_limit": 0,
                "smtpd_client_connection_rate_limit": 0,
            },
        },
    ]


def rspamd_plan(variables, hardware):
    """Check the role's variables against each other and the host; size the workers; build the
    contribution for the server role.

    :param variables: the role's variables by name (``rspamd_workers``, ...).
    :param hardware: ``sizing.hardware`` of ``sbs.postfix.sizing_info`` (``cpus``,
        ``mem_total`` in bytes).
    :returns: ``problems`` (a list of messages, each naming its variable), ``workers`` and
        ``worker_limit`` (``{value, reason, inputs}``), ``milter`` (the smtpd_milters item),
        ``timeouts`` (seconds by variable), ``headers``, ``dns_servers`` (``address:port``) and
        ``contribution`` (empty when there are problems).
    """
    problems = []
    cpus = int(hardware["cpus"])
    mem_total = int(hardware["mem_total"])
    limit = worker_limit(cpus, mem_total)
    sized = size_workers(cpus, mem_total)
    chosen = _check_workers(variables, limit, problems)
    workers = (
        sized
        if chosen is None
        else _rec(chosen, "rspamd_workers (inventory)", cpus=cpus, mem_total=mem_total)
    )
    action = variables.get("rspamd_milter_default_action")
    if action not in MILTER_ACTIONS:
        problems.append(
            f"rspamd_milter_default_action: {action!r} is not a milter action. Allowed: "
            + ", ".join(MILTER_ACTIONS)
            + "."
        )
    _check_ports(variables, problems)
    timeouts = _check_timeouts(variables, problems)
    headers = _check_headers(variables, problems)
    dns_servers = _check_dns_servers(variables, problems)
    filter_enabled = variables.get("rspamd_content_filter_enabled")
    if not isinstance(filter_enabled, bool):
        problems.append(f"rspamd_content_filter_enabled: {filter_enabled!r} is not a boolean.")
    maxproc = None
    if filter_enabled is True:
        maxproc = _count(
            "rspamd_content_filter_maxproc",
            variables.get("rspamd_content_filter_maxproc"),
            problems,
        )
    result = {
        "problems": problems,
        "workers": workers,
        "worker_limit": limit,
        "timeouts": timeouts,
        "headers": headers,
        "dns_servers": dns_servers,
        "milter": None,
        "contribution": {},
    }
    if problems:
        return result
    port = _whole(variables["rspamd_milter_port"])
    milter = milter_entry(port, action, timeouts)
    result["milter"] = milter
    result["contribution"] = _contribution(variables, milter, maxproc, action)
    return result


def _contribution(variables, milter, maxproc, action):
    milters = {"smtpd_milters": [milter]}
    reasons = {
        "smtpd_milters": (
            f"rspamd scans mail from SMTP clients; when it does not answer, {action} "
            "(rspamd_milter_default_action)"
        ),
        "milter_mail_macros": (
            "Postfix's default MAIL FROM macros plus the client address and name rspamd reads"
        ),
    }
    if variables.get("rspamd_scan_local_submissions"):
        milters["non_smtpd_milters"] = [milter]
        reasons["non_smtpd_milters"] = (
            "rspamd scans mail submitted locally with sendmail (cron, web applications)"
        )
    contribution = {
        "main": {"milter_mail_macros": MILTER_MAIL_MACROS},
        "main_append": milters,
        "reasons": reasons,
    }
    if variables.get("rspamd_content_filter_enabled"):
        filter_port = _whole(variables["rspamd_content_filter_port"])
        reinject_port = _whole(variables["rspamd_content_filter_reinject_port"])
        contribution["main"]["content_filter"] = f"{FILTER_TRANSPORT}:[127.0.0.1]:{filter_port}"
        contribution["services"] = content_filter_services(filter_port, reinject_port, maxproc)
        reasons["content_filter"] = (
            f"every queued message goes to the SMTP content filter on 127.0.0.1:{filter_port}, "
            f"which hands it back on 127.0.0.1:{reinject_port}"
        )
    return contribution
