# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sizing formulas for Postfix, the kernel and systemd, as pure functions.

PRIVATE to the sbs.postfix collection: the interface may change without notice.

Every ``size_*`` function takes plain numbers and returns one recommendation
``{"value": ..., "reason": "one line", "inputs": {...}}``: the same inputs always give the same
output, and ``inputs`` holds exactly what the value was derived from, so an admin can redo the
arithmetic. :func:`recommend` runs them all in dependency order and :func:`findings` lists what an
admin should fix by hand. ``docs/sizing.md`` explains every constant below.

Units: memory in bytes, counts in processes / connections / messages / file descriptors, rates
per second, ages in seconds.
"""

from __future__ import annotations

import calendar
import math
import re
import time

from ansible_collections.sbs.postfix.plugins.module_utils._postconf import parse_postconf_M

MIB = 1024 * 1024
GIB = 1024 * MIB

# Memory of one inbound SMTP session: an smtpd(8) process plus the cleanup(8) process that
# writes its queue file. Measured on Debian 12 (Postfix 3.7) under load: smtpd VmRSS 13.5 MiB of
# which 1.6 MiB private (RssAnon), cleanup 7 MiB of which 0.65 MiB private; the rest is shared
# library pages counted once per process. Private memory, OpenSSL state for a STARTTLS session
# (1-2 MiB), page tables and socket buffers come to about 4-5 MiB; we plan 8 MiB, a safety factor
# of about 2, because running out of memory is the one failure that takes the whole host down.
MEM_PER_INBOUND_SESSION = 8 * MIB
# One smtp(8)/lmtp(8) delivery agent: VmRSS 9.6 MiB of which 1.8 MiB private, plus TLS state
# and kernel buffers: about 3 MiB; we plan 4 MiB (deliveries are fewer and shorter than sessions).
MEM_PER_DELIVERY_AGENT = 4 * MIB
# qmgr(8) keeps each active message and its recipients in memory; 4 KiB covers a message with
# a handful of recipients (qmgr_message_recipient_limit bounds the rest).
MEM_PER_ACTIVE_MESSAGE = 4 * 1024
# File descriptors per Postfix process for the processes whose count grows with the limits:
# an smtpd holds its client socket, its cleanup, trivial-rewrite, anvil, proxymap and tlsmgr
# connections and a few files; the shared servers (anvil, trivial-rewrite, proxymap, qmgr)
# hold one descriptor per client process. Four per sized process covers both sides.
FDS_PER_PROCESS = 4
FD_MARGIN = 1024
# What an unconfigured systemd gives a service (DefaultLimitNOFILE hard limit since v240).
SYSTEMD_DEFAULT_NOFILE = 524288

POSTFIX_DEFAULTS = {
    "default_process_limit": 100,
    "default_destination_concurrency_limit": 20,
    "smtpd_client_connection_count_limit": 50,
    "qmgr_message_active_limit": 20000,
    "in_flow_delay": "1s",
}

# What an admin chooses: how much of the machine Postfix may plan for, and how bursty the
# traffic is. Each figure is explained in docs/sizing.md.
PROFILES = {
    "small": {
        "memory_share": 0.25,
        "sessions_per_cpu": 50,
        "delivery_per_cpu": 25,
        "smtpd_ceiling": 100,
        "delivery_ceiling": 100,
        "active_ceiling": 20000,
        "connections_per_second": 10,
        "relayhost_concurrency": 20,
    },
    "medium": {
        "memory_share": 0.40,
        "sessions_per_cpu": 125,
        "delivery_per_cpu": 50,
        "smtpd_ceiling": 1000,
        "delivery_ceiling": 500,
        "active_ceiling": 20000,
        "connections_per_second": 50,
        "relayhost_concurrency": 50,
    },
    "burst": {
        "memory_share": 0.50,
        "sessions_per_cpu": 200,
        "delivery_per_cpu": 75,
        "smtpd_ceiling": 2000,
        "delivery_ceiling": 1000,
        "active_ceiling": 50000,
        "connections_per_second": 200,
        "relayhost_concurrency": 100,
    },
}

SMTPD_FLOOR = 20
DELIVERY_FLOOR = 10
LMTP_PER_CPU = 4
# Parallel deliveries per CPU worth having to one fast next hop (a relayhost).
DELIVERIES_PER_CPU = 10
LMTP_FLOOR = 4
LMTP_CEILING = 64


def _rec(value, reason, **inputs):
    return {"value": value, "reason": reason, "inputs": inputs}


def os_reserve(mem_total):
    """Memory left to the kernel, page cache and everything that is not Postfix, in bytes:
    10% of RAM, at least 256 MiB, at most 2 GiB."""
    return int(min(2 * GIB, max(256 * MIB, mem_total * 0.10)))


def postfix_memory_budget(mem_total, profile):
    """Bytes Postfix may plan for: the profile's share of what the OS reserve leaves."""
    return int(max(0, mem_total - os_reserve(mem_total)) * PROFILES[profile]["memory_share"])


def size_smtpd_maxproc(  # noqa: PLR0917 - the formula's inputs, in the order docs/sizing.md uses
    cpus, mem_total, rotational, profile, peak_concurrency=None, measured_at=None
):
    """Inbound SMTP sessions (master.cf ``smtp/inet`` maxproc).

    Two thirds of the memory budget for inbound sessions at ``MEM_PER_INBOUND_SESSION``; within
    that, ``sessions_per_cpu`` per CPU (halved when the queue disk spins: every message costs a
    synchronous write and more sessions only wait on the disk), and twice the peak concurrency a
    baseline saw, never below ``SMTPD_FLOOR`` nor above the profile's ceiling. ``measured_at``:
    when that baseline was measured (ISO 8601), named in the reason and the inputs.
    """
    p = PROFILES[profile]
    budget = postfix_memory_budget(mem_total, profile) * 2 // 3
    by_memory = budget // MEM_PER_INBOUND_SESSION
    per_cpu = p["sessions_per_cpu"] // 2 if rotational else p["sessions_per_cpu"]
    by_cpu = cpus * per_cpu
    by_baseline = 2 * peak_concurrency if peak_concurrency else 0
    wanted = max(by_cpu, by_baseline)
    value = max(SMTPD_FLOOR, min(wanted, by_memory, p["smtpd_ceiling"]))
    seen = f"the peak of {peak_concurrency} concurrent sessions in {_baseline_of(measured_at)}"
    if value == SMTPD_FLOOR and min(wanted, by_memory, p["smtpd_ceiling"]) < SMTPD_FLOOR:
        why = f"floor of {SMTPD_FLOOR} sessions: less would refuse ordinary bursts"
    elif value == by_memory and by_memory < wanted:
        why = (
            f"memory-bound: {budget // MIB} MiB for inbound sessions / "
            f"{MEM_PER_INBOUND_SESSION // MIB} MiB per smtpd+cleanup pair"
        )
    elif value == p["smtpd_ceiling"] and p["smtpd_ceiling"] < wanted:
        why = f"profile {profile} ceiling"
    elif by_baseline and by_baseline >= by_cpu:
        why = f"twice {seen}"
        seen = None
    else:
        disk = "rotational queue disk halves it, " if rotational else ""
        why = (
            f"{per_cpu} sessions per CPU ({disk}sessions mostly wait on the network) x {cpus} CPUs"
        )
    if measured_at and by_baseline and seen:
        why += f"; twice {seen} would be {by_baseline}"
    extra = {"baseline_measured_at": measured_at} if measured_at and by_baseline else {}
    return _rec(
        value,
        why,
        cpus=cpus,
        mem_total=mem_total,
        rotational=rotational,
        profile=profile,
        peak_concurrency=peak_concurrency,
        by_cpu=by_cpu,
        by_memory=by_memory,
        by_baseline=by_baseline,
        ceiling=p["smtpd_ceiling"],
        **extra,
    )


def size_default_process_limit(smtpd_maxproc):
    """``default_process_limit``: the ceiling for every service master.cf leaves at ``-``.

    Postfix's master(8) also sizes each inet listener's accept backlog as
    ``max(maxproc, default_process_limit)``; keeping it equal to the smtpd limit means a burst
    of connections waits in the kernel's accept queue instead of being dropped and retried by
    the client a second later.
    """
    return _rec(
        smtpd_maxproc,
        "equal to smtpd maxproc: the master's listen backlog follows it, so a burst waits in "
        "the accept queue instead of having SYNs dropped",
        smtpd_maxproc=smtpd_maxproc,
    )


def size_smtp_maxproc(cpus, mem_total, profile):
    """Outbound SMTP delivery agents (master.cf ``smtp/unix`` and ``relay/unix`` maxproc).

    One third of the memory budget at ``MEM_PER_DELIVERY_AGENT`` each, ``delivery_per_cpu`` per
    CPU, between ``DELIVERY_FLOOR`` and the profile's ceiling. Deliveries wait on remote servers,
    so more agents than CPUs is normal; the per-destination limit protects the receivers.
    """
    p = PROFILES[profile]
    budget = postfix_memory_budget(mem_total, profile) // 3
    by_memory = budget // MEM_PER_DELIVERY_AGENT
    by_cpu = cpus * p["delivery_per_cpu"]
    value = max(DELIVERY_FLOOR, min(by_cpu, by_memory, p["delivery_ceiling"]))
    if value == DELIVERY_FLOOR and min(by_cpu, by_memory) < DELIVERY_FLOOR:
        why = f"floor of {DELIVERY_FLOOR} delivery agents"
    elif value == by_memory and by_memory < by_cpu:
        why = (
            f"memory-bound: {budget // MIB} MiB for delivery / "
            f"{MEM_PER_DELIVERY_AGENT // MIB} MiB per agent"
        )
    elif value == p["delivery_ceiling"] and p["delivery_ceiling"] < by_cpu:
        why = f"profile {profile} ceiling"
    else:
        why = (
            f"{p['delivery_per_cpu']} delivery agents per CPU x {cpus} CPUs "
            "(deliveries wait on remote servers)"
        )
    return _rec(
        value,
        why,
        cpus=cpus,
        mem_total=mem_total,
        profile=profile,
        by_cpu=by_cpu,
        by_memory=by_memory,
        ceiling=p["delivery_ceiling"],
    )


def size_lmtp_maxproc(cpus, smtp_maxproc):
    """LMTP delivery agents (master.cf ``lmtp/unix`` maxproc): the mailbox store (Dovecot)
    behind it does disk and index work per message, so a few per CPU, 4 to 64, never more
    than the SMTP delivery agents."""
    value = min(smtp_maxproc, max(LMTP_FLOOR, min(LMTP_CEILING, cpus * LMTP_PER_CPU)))
    return _rec(
        value,
        f"{LMTP_PER_CPU} per CPU x {cpus} CPUs: the mailbox store does disk work per delivery",
        cpus=cpus,
        smtp_maxproc=smtp_maxproc,
    )


def size_destination_concurrency(smtp_maxproc, profile, relayhost=None, cpus=1):
    """``default_destination_concurrency_limit``: parallel deliveries to one destination.

    Postfix's 20 stays for direct delivery to many domains (TUNING_README: large destination
    concurrencies should never be the default). With a relayhost all mail has one next hop
    that the admin controls, the case TUNING_README names for a higher limit; but a fast next
    hop makes each delivery CPU work on this host, so beyond ``DELIVERIES_PER_CPU`` per CPU
    more parallel deliveries only add processes and context switches (measured on 2 CPUs: 50
    was 10-20% slower than 20 with 10-50 senders, docs/benchmarks.md).
    """
    p = PROFILES[profile]
    stock = POSTFIX_DEFAULTS["default_destination_concurrency_limit"]
    if relayhost:
        by_cpu = DELIVERIES_PER_CPU * cpus
        value = min(smtp_maxproc, max(stock, min(p["relayhost_concurrency"], by_cpu)))
        if value == stock:
            why = (
                f"all mail goes to relayhost {relayhost}, but {cpus} CPUs x "
                f"{DELIVERIES_PER_CPU} deliveries per CPU do not call for more than Postfix's 20"
            )
        else:
            why = (
                f"all mail goes to relayhost {relayhost}: {value} parallel deliveries to it "
                f"(profile {profile}, {DELIVERIES_PER_CPU} per CPU x {cpus} CPUs)"
            )
    else:
        value = min(smtp_maxproc, stock)
        why = "Postfix's default: direct delivery to many domains must not hammer any one of them"
    return _rec(
        value,
        why,
        smtp_maxproc=smtp_maxproc,
        profile=profile,
        relayhost=relayhost or None,
        cpus=cpus,
    )


# In-queue wait (docs/sizing.md, "In-queue wait"). delays=b is the time from a message's entry
# into the active queue until a delivery agent takes it (Postfix's log_adhoc.c: agent_handoff -
# active_arrival; time in the deferred queue is in delays=a). qmgr hands a message to a free
# agent within milliseconds (0.0-0.01 s on the test bed, and Postfix logs two significant
# digits), so a p95 above 1 s means one smtp delivery in twenty waited a second or more for a
# slot: a process or per-destination limit, not scheduling.
IN_QMGR_WAIT_SECONDS = 1.0
# smtp deliveries that p95 must rest on: with 100, at least 6 of them waited that long, so one
# slow moment cannot move a limit.
IN_QMGR_MIN_DELIVERIES = 100
# A relay that defers more than this share of messages is pushing back (rate limits, a full
# disk, a broken filter): more parallel deliveries would only add to its load.
RELAY_DEFERRAL_CEILING = 0.05


def duration_seconds(text):
    """A Postfix time value (``0``, ``1s``, ``2m``, ``1h``, ``1d``, ``1w``) -> seconds, ``None``
    for anything else (a ``$name`` left unresolved, garbage)."""
    m = re.fullmatch(r"\s*(\d+)\s*([smhdw]?)\s*", str(text)) if text is not None else None
    if not m:
        return None
    return (
        int(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
    )


def size_smtp_destination_concurrency(  # noqa: PLR0917 - the rule's inputs, as docs/sizing.md
    default_concurrency, smtp_maxproc, profile, relayhost, figures, rate_delay=None
):
    """``smtp_destination_concurrency_limit`` when a baseline shows mail waiting for delivery
    slots: ``(recommendation, finding)``, either or both ``None``.

    Only when the smtp deliveries of the baseline (``figures``: :func:`read_baseline`) waited
    in the queue manager (p95 of ``delays=b`` above ``IN_QMGR_WAIT_SECONDS`` over at least
    ``IN_QMGR_MIN_DELIVERIES``) and all of them go to a ``relayhost`` the admin controls: then
    every smtp delivery has that one next hop, so the smtp transport's per-destination limit is
    the relay's. It doubles ``default_concurrency`` (one step; measure again before the next),
    within ``smtp_maxproc`` (what the CPUs and memory hold; the transport can never run more)
    and the profile's ``relayhost_concurrency``. Not when the relay defers more than
    ``RELAY_DEFERRAL_CEILING`` of the messages (it is pushing back) nor when
    ``smtp_destination_rate_delay`` (``rate_delay``, as Postfix prints it) is not 0: a rate
    delay serialises deliveries to a destination, so no concurrency limit applies (postconf(5)).
    Towards the Internet Postfix's polite per-destination limits stay. Every decision not to
    raise is an ``info`` finding that says why.
    """
    figures = figures or {}
    wait = figures.get("smtp_in_qmgr_p95")
    count = figures.get("smtp_deliveries")
    if wait is None or not count or count < IN_QMGR_MIN_DELIVERIES or wait <= IN_QMGR_WAIT_SECONDS:
        return None, None
    seen = (
        f"In {_baseline_of(figures.get('measured_at'))} one smtp delivery in twenty waited "
        f"{wait:g} s or longer in the queue manager for a delivery slot (p95 of delays=b over "
        f"{count} deliveries, above {IN_QMGR_WAIT_SECONDS:g} s)"
    )

    def note(text):
        return None, {"severity": "info", "message": f"{seen}, {text}"}

    if not relayhost:
        return note(
            "but mail goes straight to the Internet: Postfix's polite per-destination limits "
            f"stay (default_destination_concurrency_limit {default_concurrency}), since more "
            "parallel connections would press receiving sites that never asked for them. "
            "'qshape deferred' shows which destinations are slow."
        )
    delay = duration_seconds(rate_delay if rate_delay is not None else "0")
    if delay != 0:
        return note(
            f"but smtp_destination_rate_delay is {rate_delay}: Postfix then delivers to "
            f"relayhost {relayhost} one message at a time and no concurrency limit applies "
            "(postconf(5)). The limits stay; remove the rate delay if the relay allows it."
        )
    rate = figures.get("deferral_rate")
    if rate is not None and rate > RELAY_DEFERRAL_CEILING:
        return note(
            f"but {rate:.1%} of the messages were deferred (more than "
            f"{RELAY_DEFERRAL_CEILING:.0%}): relayhost {relayhost} is pushing back and more "
            "parallel deliveries would add to its load. The limits stay; see the baseline's "
            "top_deferral_reasons."
        )
    relay_ceiling = PROFILES[profile]["relayhost_concurrency"]
    ceiling = min(smtp_maxproc, relay_ceiling)
    value = min(2 * default_concurrency, ceiling)
    if value <= default_concurrency:
        return note(
            f"and all of it goes to relayhost {relayhost}, but its {default_concurrency} "
            f"parallel deliveries are already at the bound (smtp_maxproc {smtp_maxproc}, "
            f"profile {profile}'s {relay_ceiling} for a relayhost): a faster relay, or more "
            "CPUs and memory for more delivery agents, would help."
        )
    reason = (
        f"one smtp delivery in twenty waited {wait:g} s or longer for a slot in "
        f"{_baseline_of(figures.get('measured_at'))} and all go to relayhost {relayhost}: "
        f"twice {default_concurrency}, within smtp_maxproc {smtp_maxproc} and profile "
        f"{profile}'s {relay_ceiling} (smtp_destination_rate_delay stays 0)"
    )
    return (
        _rec(
            value,
            reason,
            default_concurrency=default_concurrency,
            smtp_maxproc=smtp_maxproc,
            profile=profile,
            relayhost=relayhost,
            relayhost_concurrency=relay_ceiling,
            smtp_in_qmgr_p95=wait,
            smtp_deliveries=count,
            deferral_rate=rate,
            rate_delay=rate_delay,
            baseline_measured_at=figures.get("measured_at"),
        ),
        None,
    )


def size_client_connection_count_limit(smtpd_maxproc):
    """``smtpd_client_connection_count_limit``: sessions one client may hold at once.

    Postfix's default is half of the default process limit (50 of 100). With more processes we
    keep a quarter, at most 50 and at least 10, so one misbehaving client can never take more
    than Postfix's default; clients in ``$mynetworks`` are exempt
    (``smtpd_client_event_limit_exceptions``).
    """
    value = min(50, max(10, smtpd_maxproc // 4))
    return _rec(
        value,
        "a quarter of smtpd maxproc, 10 to 50: one client can never take more than Postfix's "
        "default (mynetworks is exempt)",
        smtpd_maxproc=smtpd_maxproc,
    )


def size_qmgr_message_active_limit(mem_total, profile):
    """``qmgr_message_active_limit``: messages the queue manager holds in memory.

    5% of RAM at ``MEM_PER_ACTIVE_MESSAGE`` each, between 5,000 and the profile's ceiling
    (Postfix's 20,000 except for the burst profile).
    """
    ceiling = PROFILES[profile]["active_ceiling"]
    by_memory = int(mem_total * 0.05) // MEM_PER_ACTIVE_MESSAGE
    value = max(5000, min(ceiling, by_memory))
    if by_memory < ceiling:
        why = f"5% of RAM / {MEM_PER_ACTIVE_MESSAGE // 1024} KiB per active message"
    else:
        why = f"profile {profile} ceiling (Postfix's default is 20000)"
    return _rec(
        value,
        why,
        mem_total=mem_total,
        profile=profile,
        by_memory=by_memory,
        ceiling=ceiling,
    )


def size_in_flow_delay(rotational):
    """``in_flow_delay``: Postfix's flow control stays on at its default.

    It slows a client only while mail arrives faster than the queue manager moves it out of
    the incoming queue; turning it off lets a burst flood the queue disk (TUNING_README:
    "Don't overwhelm the disk with mail submissions").
    """
    return _rec(
        "1s",
        "flow control kept on: injection pauses only while arrivals outrun deliveries"
        + (" (essential on a rotational queue disk)" if rotational else ""),
        rotational=rotational,
    )


# Postfix's own rule (postconf(5), queue_minfree): smtpd accepts MAIL FROM only while the queue
# file system has 1.5 x message_size_limit free, whatever queue_minfree says below that.
QUEUE_MINFREE_MESSAGE_FACTOR = 1.5
# Beyond that, keep a share of the queue file system free, so a flood of mail stops at 452 before
# it fills the file system that also holds logs (or the root file system): 5%, at most 2 GiB.
QUEUE_MINFREE_SHARE = 0.05
QUEUE_MINFREE_CEILING = 2 * GIB
# Postfix's own default message_size_limit, when main.cf does not set one (bytes).
POSTFIX_MESSAGE_SIZE_LIMIT = 10240000


def size_queue_minfree(fs_size, message_size_limit):
    """``queue_minfree``: the free space (bytes) below which smtpd answers 452 instead of
    accepting mail it might not be able to store.

    At least 1.5 x ``message_size_limit`` (below that Postfix refuses mail anyway), and 5% of
    the queue file system (at most 2 GiB) so a full queue never fills the file system; rounded
    up to a MiB. ``fs_size`` (bytes) ``None`` when unknown: the floor alone.
    """
    limit = int(message_size_limit) if message_size_limit else POSTFIX_MESSAGE_SIZE_LIMIT
    floor = math.ceil(limit * QUEUE_MINFREE_MESSAGE_FACTOR)
    share = int(min(QUEUE_MINFREE_CEILING, fs_size * QUEUE_MINFREE_SHARE)) if fs_size else 0
    value = math.ceil(max(floor, share) / MIB) * MIB
    if share > floor:
        reason = (
            f"keep {value // MIB} MiB of the {fs_size // MIB} MiB queue file system free: 5% "
            "(at most 2 GiB), so a full queue answers 452 before it fills the file system"
        )
    else:
        reason = (
            f"{value // MIB} MiB: 1.5 x message_size_limit ({limit // MIB} MiB), the free space "
            "Postfix needs to accept a message at all"
        )
    return _rec(value, reason, fs_size=fs_size, message_size_limit=limit)


def postfix_fd_need(smtpd_maxproc, smtp_maxproc, lmtp_maxproc, default_process_limit):
    """File descriptors the busiest Postfix process may need, with margin.

    The shared servers (anvil, trivial-rewrite, proxymap) keep one connection per smtpd and
    cleanup process; qmgr keeps one per delivery agent. ``FDS_PER_PROCESS`` per sized process
    plus ``FD_MARGIN`` covers both with room for maps and logs.
    """
    processes = smtpd_maxproc + smtp_maxproc * 2 + lmtp_maxproc + default_process_limit
    return processes * FDS_PER_PROCESS + FD_MARGIN


def size_limit_nofile(fd_need, grantable, systemd_current=None):
    """systemd ``LimitNOFILE`` for the Postfix unit.

    What the processes need, but never lower than what systemd gives the unit today (lowering
    could only hurt) and never above what the host can grant (``fs.nr_open``, or PID 1's own
    hard limit in a container without CAP_SYS_RESOURCE). ``None`` values mean "unknown".
    """
    floor = systemd_current if systemd_current else SYSTEMD_DEFAULT_NOFILE
    wanted = max(fd_need, floor)
    if grantable and wanted > grantable:
        value = grantable
        why = f"capped at {grantable}, the most this host can grant (needs {fd_need})"
    elif wanted == fd_need:
        why = f"{fd_need} descriptors for the sized process counts"
        value = wanted
    else:
        value = wanted
        why = (
            f"keeps systemd's {floor} (Postfix needs {fd_need}; master raises every process's "
            "soft limit to this hard limit)"
        )
    return _rec(
        value,
        why,
        fd_need=fd_need,
        grantable=grantable,
        systemd_current=systemd_current,
    )


def size_file_max(limit_nofile, current=None):
    """``fs.file-max``: the kernel's system-wide open-file limit. Raise-only: four times the
    Postfix unit's limit (Postfix is not alone), never below the current value."""
    wanted = limit_nofile * 4
    if current and current >= wanted:
        return _rec(
            current,
            f"current {current} already covers 4 x LimitNOFILE ({wanted})",
            limit_nofile=limit_nofile,
            current=current,
        )
    return _rec(
        wanted,
        "4 x LimitNOFILE: Postfix shares the system file table",
        limit_nofile=limit_nofile,
        current=current,
    )


def _raise_only_backlog(smtpd_maxproc, current, reason):
    """A kernel queue that must hold twice the smtpd listen backlog (at least 1024), and is
    never lowered below what the host already has."""
    wanted = max(1024, 2 * smtpd_maxproc)
    if current and current >= wanted:
        reason = f"current {current} already covers the {wanted} needed (2 x backlog, >= 1024)"
        return _rec(current, reason, smtpd_maxproc=smtpd_maxproc, current=current)
    return _rec(wanted, reason, smtpd_maxproc=smtpd_maxproc, current=current)


def size_somaxconn(smtpd_maxproc, current=None):
    """``net.core.somaxconn``: the kernel caps every listen backlog at it. Raise-only: at least
    twice the smtpd backlog Postfix asks for, at least 1024."""
    return _raise_only_backlog(
        smtpd_maxproc, current, "2 x the smtpd listen backlog so the kernel does not cut it"
    )


def size_syn_backlog(smtpd_maxproc, current=None):
    """``net.ipv4.tcp_max_syn_backlog``: half-open connections queued before SYN cookies.
    Raise-only: at least twice the smtpd backlog, at least 1024."""
    return _raise_only_backlog(
        smtpd_maxproc, current, "2 x the smtpd listen backlog for connection bursts"
    )


def parse_port_range(text):
    """``"32768\\t60999"`` -> ``(32768, 60999)``; ``None`` for anything else."""
    if not text:
        return None
    parts = str(text).split()
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def size_port_range(profile, current=None, peak_messages_per_minute=None, measured_at=None):
    """``net.ipv4.ip_local_port_range``: source ports for outbound connections.

    Each outbound SMTP connection holds its port for 60 s of TIME_WAIT after it closes. Need =
    outbound connections/s x 60 x 1.5; connections/s from the baseline's peak (one connection
    per message, the worst case) or the profile. Widen the low end only when the current range
    is too small, never below 10240 (ports below stay free for services). ``measured_at``: when
    the baseline was measured (ISO 8601), named in the reason and the inputs.
    """
    rate = PROFILES[profile]["connections_per_second"]
    source = ""
    extra = {}
    if peak_messages_per_minute:
        rate = max(1, -(-int(peak_messages_per_minute) // 60))
        if measured_at:
            source = (
                f"peak {peak_messages_per_minute} msg/min in {_baseline_of(measured_at)} = "
                f"{rate} connections/s: "
            )
            extra = {"baseline_measured_at": measured_at}
    need = int(rate * 60 * 1.5)
    low, high = parse_port_range(current) or (32768, 60999)
    if high - low + 1 >= need:
        return _rec(
            f"{low} {high}",
            f"{source}{high - low + 1} ports cover {rate} connections/s held 60 s in TIME_WAIT",
            profile=profile,
            current=current,
            connections_per_second=rate,
            ports_needed=need,
            **extra,
        )
    new_low = max(10240, high - need + 1)
    return _rec(
        f"{new_low} {high}",
        f"{source}{rate} connections/s x 60 s TIME_WAIT x 1.5 needs {need} ports",
        profile=profile,
        current=current,
        connections_per_second=rate,
        ports_needed=need,
        **extra,
    )


def size_fin_timeout(profile, current=None):
    """``net.ipv4.tcp_fin_timeout``: how long an orphaned connection may sit in FIN_WAIT_2.
    30 s (the kernel's 60 s is generous) except for the small profile; lower-only."""
    if profile == "small":
        value = current if current else 60
        return _rec(
            value,
            "small profile keeps the kernel's value",
            profile=profile,
            current=current,
        )
    value = min(current, 30) if current else 30
    return _rec(
        value,
        "30 s frees sockets of vanished peers sooner; TIME_WAIT is not affected",
        profile=profile,
        current=current,
    )


def size_tw_reuse(profile, current=None):
    """``net.ipv4.tcp_tw_reuse``: 1 lets outbound connections reuse a TIME_WAIT port when TCP
    timestamps prove it safe; the kernel's 2 does that for loopback only. Small profile keeps it."""
    if profile == "small":
        value = current if current is not None else 2
        return _rec(
            value,
            "small profile keeps the kernel's value",
            profile=profile,
            current=current,
        )
    return _rec(
        1,
        "reuse TIME_WAIT ports for outbound SMTP when timestamps make it safe",
        profile=profile,
        current=current,
    )


def size_swappiness(swap_total, current=None):
    """``vm.swappiness``: 10 keeps Postfix's processes in RAM and lets page cache go first.
    Without swap it does not matter: the current value stays."""
    if not swap_total:
        value = current if current is not None else 60
        return _rec(
            value,
            "no swap configured: left as it is",
            swap_total=swap_total,
            current=current,
        )
    return _rec(
        10,
        "prefer dropping page cache over swapping out mail processes",
        swap_total=swap_total,
        current=current,
    )


def recommend(hardware, profile="medium", baseline=None, current=None):
    """Every recommendation, keyed as the issue's result shape wants it.

    ``hardware``: ``cpus``, ``mem_total``, ``swap_total`` (bytes), ``rotational`` (bool/None),
    ``nofile_grantable``, ``systemd_nofile`` (fds or ``None``), ``relayhost`` (str or ``None``).
    ``baseline``: the ``figures`` of a baseline :func:`read_baseline` found usable (or
    ``None``): ``peak_concurrency``, ``peak_messages_per_minute``, the in-queue wait of smtp
    deliveries, ``deferral_rate``, ``measured_at`` are read.
    ``current``: current values by the same names (sysctls as the kernel prints them), and
    ``smtp_destination_rate_delay`` as Postfix resolves it.
    """
    if profile not in PROFILES:
        raise ValueError(
            f"unknown profile {profile!r}; choose one of {', '.join(sorted(PROFILES))}"
        )
    baseline = baseline or {}
    current = current or {}
    cpus = hardware["cpus"]
    mem = hardware["mem_total"]
    rotational = bool(hardware.get("rotational"))
    out = {}
    when = baseline.get("measured_at")
    out["smtpd_maxproc"] = size_smtpd_maxproc(
        cpus, mem, rotational, profile, baseline.get("peak_concurrency"), when
    )
    smtpd = out["smtpd_maxproc"]["value"]
    out["default_process_limit"] = size_default_process_limit(smtpd)
    out["smtp_maxproc"] = size_smtp_maxproc(cpus, mem, profile)
    smtp = out["smtp_maxproc"]["value"]
    out["lmtp_maxproc"] = size_lmtp_maxproc(cpus, smtp)
    out["default_destination_concurrency_limit"] = size_destination_concurrency(
        smtp, profile, hardware.get("relayhost"), cpus
    )
    relay, _finding = size_smtp_destination_concurrency(
        out["default_destination_concurrency_limit"]["value"],
        smtp,
        profile,
        hardware.get("relayhost"),
        baseline,
        current.get("smtp_destination_rate_delay"),
    )
    if relay:
        out["smtp_destination_concurrency_limit"] = relay
    out["smtpd_client_connection_count_limit"] = size_client_connection_count_limit(smtpd)
    out["qmgr_message_active_limit"] = size_qmgr_message_active_limit(mem, profile)
    out["in_flow_delay"] = size_in_flow_delay(rotational)
    out["queue_minfree"] = size_queue_minfree(
        hardware.get("queue_fs_size"), hardware.get("message_size_limit")
    )
    need = postfix_fd_need(
        smtpd, smtp, out["lmtp_maxproc"]["value"], out["default_process_limit"]["value"]
    )
    out["LimitNOFILE"] = size_limit_nofile(
        need, hardware.get("nofile_grantable"), hardware.get("systemd_nofile")
    )
    out["fs.file-max"] = size_file_max(
        out["LimitNOFILE"]["value"], _as_int(current.get("fs.file-max"))
    )
    out["net.core.somaxconn"] = size_somaxconn(smtpd, _as_int(current.get("net.core.somaxconn")))
    out["net.ipv4.tcp_max_syn_backlog"] = size_syn_backlog(
        smtpd, _as_int(current.get("net.ipv4.tcp_max_syn_backlog"))
    )
    out["net.ipv4.ip_local_port_range"] = size_port_range(
        profile,
        current.get("net.ipv4.ip_local_port_range"),
        baseline.get("peak_messages_per_minute"),
        when,
    )
    out["net.ipv4.tcp_fin_timeout"] = size_fin_timeout(
        profile, _as_int(current.get("net.ipv4.tcp_fin_timeout"))
    )
    out["net.ipv4.tcp_tw_reuse"] = size_tw_reuse(
        profile, _as_int(current.get("net.ipv4.tcp_tw_reuse"))
    )
    out["vm.swappiness"] = size_swappiness(
        hardware.get("swap_total"), _as_int(current.get("vm.swappiness"))
    )
    return out


def findings(
    hardware, filesystem=None, container=None, peak_messages_per_minute=None, measured_at=None
):
    """What an admin should act on by hand: list of ``{"severity", "message"}``.

    ``filesystem``: the queue file system (``mount_point``, ``used_percent``,
    ``inodes_used_percent``, ``rotational``). ``peak_messages_per_minute`` and ``measured_at``
    come from a baseline that is used. Severities: ``warning`` (fix soon), ``info``.
    """
    found = []
    fs = filesystem or {}
    if hardware.get("rotational"):
        msg = (
            "The queue directory is on a rotational disk: every message costs synchronous writes "
            "and a disk does about 100-200 of them per second. Move /var/spool/postfix to an SSD."
        )
        if peak_messages_per_minute and peak_messages_per_minute / 60 > 50:
            msg += (
                f" The peak of {peak_messages_per_minute} messages/minute in "
                f"{_baseline_of(measured_at)} is near that limit."
            )
        found.append({"severity": "warning", "message": msg})
    used = fs.get("used_percent")
    if used is not None and used > 80:
        found.append(
            {
                "severity": "warning",
                "message": f"The queue file system {fs.get('mount_point')} is {used}% full: "
                "Postfix refuses mail when free space drops below queue_minfree / "
                "1.5 x message_size_limit.",
            }
        )
    size = fs.get("size")
    limit = hardware.get("message_size_limit") or POSTFIX_MESSAGE_SIZE_LIMIT
    if size and size < 3 * QUEUE_MINFREE_MESSAGE_FACTOR * limit:
        found.append(
            {
                "severity": "warning",
                "message": f"The queue file system {fs.get('mount_point')} has "
                f"{size // MIB} MiB: Postfix keeps 1.5 x message_size_limit "
                f"({limit // MIB} MiB) free, so a few queued messages are enough to make it "
                "refuse mail. Give the queue more space or lower message_size_limit.",
            }
        )
    inodes = fs.get("inodes_used_percent")
    if inodes is not None and inodes > 80:
        found.append(
            {
                "severity": "warning",
                "message": f"The queue file system {fs.get('mount_point')} has used {inodes}% "
                "of its inodes: every queued message is a file.",
            }
        )
    if hardware.get("mem_total") and hardware["mem_total"] < 4 * GIB:
        found.append(
            {
                "severity": "warning",
                "message": f"Only {hardware['mem_total'] // MIB} MiB of RAM: process limits are "
                "memory-bound; a spam filter or Dovecot on the same host will compete for it.",
            }
        )
    if fs.get("mount_point") == "/" and not container:
        found.append(
            {
                "severity": "info",
                "message": "/var is not a separate file system: a growing queue or log can "
                "fill the root file system. Consider a separate /var (or /var/spool/postfix).",
            }
        )
    grantable = hardware.get("nofile_grantable")
    if grantable and grantable < SYSTEMD_DEFAULT_NOFILE and container:
        found.append(
            {
                "severity": "info",
                "message": f"In this {container} container Postfix can get at most {grantable} "
                "open files (the container's hard limit); raise it on the container engine if "
                "needed.",
            }
        )
    if container:
        found.append(
            {
                "severity": "info",
                "message": f"Running in a {container} container: kernel settings (vm.*, fs.*) "
                "belong to the host, net.* to the container's network namespace; only a "
                "privileged container can change them.",
            }
        )
    return found


def baseline_findings(figures, hardware, profile, recommended, current=None):
    """What a usable baseline (``figures`` of :func:`read_baseline`) says that no value carries:
    the in-queue wait that did not raise a limit, and why (list of ``{"severity", "message"}``)."""
    if not figures:
        return []
    _rec_unused, finding = size_smtp_destination_concurrency(
        recommended["default_destination_concurrency_limit"]["value"],
        recommended["smtp_maxproc"]["value"],
        profile,
        hardware.get("relayhost"),
        figures,
        (current or {}).get("smtp_destination_rate_delay"),
    )
    return [finding] if finding else []


def _as_int(value):
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------
# Glue between detection, the admin's input and the formulas (pure, used by sizing_info)
# ---------------------------------------------------------------------------------------------

# master.cf services whose maxproc the recommendations set, by recommendation name.
MASTER_SERVICES = {
    "smtpd_maxproc": ["smtp/inet"],
    "smtp_maxproc": ["smtp/unix", "relay/unix"],
    "lmtp_maxproc": ["lmtp/unix"],
}
MAIN_PARAMETERS = [
    "default_process_limit",
    "default_destination_concurrency_limit",
    "smtpd_client_connection_count_limit",
    "qmgr_message_active_limit",
    "in_flow_delay",
    "queue_minfree",
]
# main.cf parameters sized only when a baseline calls for them (or an override sets them):
# without one they are not recommended, not contributed, and Postfix's default stays.
BASELINE_MAIN_PARAMETERS = ["smtp_destination_concurrency_limit"]
SYSCTLS = [
    "fs.file-max",
    "net.core.somaxconn",
    "net.ipv4.tcp_max_syn_backlog",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_tw_reuse",
    "vm.swappiness",
]
# Upper bounds the kernel itself enforces or documents (beyond them a write fails or wraps).
_SYSCTL_MAX = {
    "net.core.somaxconn": 2**31 - 1,
    "net.ipv4.tcp_max_syn_backlog": 2**31 - 1,
    "net.ipv4.tcp_fin_timeout": 2**31 - 1,
    "net.ipv4.tcp_tw_reuse": 2,
    "vm.swappiness": 200,
    "fs.file-max": 2**63 - 1,
}


def parse_master_maxproc(text):
    """``postconf -M name/type ...`` output -> ``{"name/type": maxproc}``.

    maxproc is an int, or ``None`` for ``-`` (the service follows default_process_limit);
    ``0`` means unlimited.
    """
    return {
        key: None if entry["process_limit"] == "-" else int(entry["process_limit"])
        for key, entry in parse_postconf_M(text).items()
    }


def parse_postconf_values(names, text):
    """``postconf -h a b c`` prints one value per line in the order asked -> ``{name: value}``."""
    lines = text.splitlines()
    return {name: (lines[i].strip() if i < len(lines) else None) for i, name in enumerate(names)}


# ---------------------------------------------------------------------------------------------
# What sizing takes from a baseline (docs/sizing.md, "What sizing takes from a baseline")
# ---------------------------------------------------------------------------------------------

# The layout of sbs.postfix.baseline_info's result that read_baseline reads; baseline_info writes
# it as ``baseline.schema``. Raise it, and teach read_baseline the new layout, when a key below
# moves. A baseline without the field was written before it existed, in this same layout.
BASELINE_SCHEMA = 1

# figure -> (key in baseline_info's result, unit, may be null). Read from exactly these keys;
# every one must be present in a baseline whose mail part was measured.
BASELINE_FIGURES = {
    "messages": ("mail.received", "messages", False),
    "reinjected": ("mail.reinjected", "messages", False),
    "deferred_messages": ("mail.deferred_messages", "messages", False),
    "peak_messages_per_minute": ("mail.volume.peak_messages_per_minute", "messages/minute", False),
    "peak_concurrency": ("mail.sessions.peak_concurrency", "sessions", False),
    "size_average": ("mail.size.average", "bytes", True),
    "size_p95": ("mail.size.p95", "bytes", True),
    "size_max": ("mail.size.max", "bytes", True),
    "deliveries": ("mail.latency.delay.count", "recipients", False),
    "delay_p95": ("mail.latency.delay.p95", "seconds", True),
    "before_qmgr_p95": ("mail.latency.delays.before_qmgr.p95", "seconds", True),
    "in_qmgr_p95": ("mail.latency.delays.in_qmgr.p95", "seconds", True),
    "connection_setup_p95": ("mail.latency.delays.connection_setup.p95", "seconds", True),
    "transmission_p95": ("mail.latency.delays.transmission.p95", "seconds", True),
}
# Present when the log holds smtp(8) deliveries (``by_transport`` has ``smtp`` then).
SMTP_FIGURES = {
    "smtp_deliveries": ("mail.latency.by_transport.smtp.delays.in_qmgr.count", "recipients", False),
    "smtp_in_qmgr_p95": ("mail.latency.by_transport.smtp.delays.in_qmgr.p95", "seconds", True),
}
# Present when the queue part was measured.
QUEUE_FIGURES = {
    "queue_oldest_age_seconds": ("queue.oldest_age_seconds", "seconds", True),
}
# Derived: deferred_messages / (messages + reinjected), both counted in queue files, so the
# share of the window's messages that were deferred at least once (0..1; null without mail).
DERIVED_FIGURES = ("deferral_rate",)

# How to give a baseline, for the messages that refuse one.
BASELINE_SHAPE = (
    "give the baseline result of sbs.postfix.baseline_info or a file the sbs.postfix.baseline "
    "playbook stored (<inventory dir>/baselines/<host>/<YYYYmmddTHHMMSSZ>.json)"
)
_MISSING = object()
_ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"


def _baseline_of(measured_at):
    """``the baseline of 2026-11-29`` (the date part of ``measured_at``)."""
    return f"the baseline of {str(measured_at)[:10]}" if measured_at else "the baseline"


def _walk(node, path, where, problems):
    """The value at dotted ``path``; ``_MISSING`` with one problem naming the first key that is
    absent (or the first node that is not a dict)."""
    done = []
    for key in path.split("."):
        if not isinstance(node, dict):
            problems.append(f"{'.'.join([where, *done])} must be a dict, got {type(node).__name__}")
            return _MISSING
        if key not in node:
            problems.append(f"{'.'.join([where, *done, key])} is missing")
            return _MISSING
        node = node[key]
        done.append(key)
    return node


def _read_figures(baseline, table, where, problems):
    figures = {}
    for name, (path, _unit, nullable) in table.items():
        value = _walk(baseline, path, where, problems)
        figures[name] = None
        if value is _MISSING:
            continue
        if value is None and nullable:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(
                f"{where}.{path} must be a number, got {type(value).__name__} {value!r}"
            )
            continue
        figures[name] = value
    return figures


def parse_utc(value):
    """Epoch seconds of a ``YYYY-MM-DDTHH:MM:SSZ`` time (baseline_info writes every time so), or
    ``None`` when ``value`` is not one."""
    try:
        return calendar.timegm(time.strptime(value, _ISO_UTC))
    except (TypeError, ValueError):
        return None


def read_baseline(value, label="baseline", min_messages=100, max_age_days=30, now=None):
    """What sizing takes from a baseline, and whether it is meaningful: ``(summary, problems)``.

    ``value``: the ``baseline`` result of ``sbs.postfix.baseline_info``, or the document the
    ``sbs.postfix.baseline`` playbook stores (``{"host", "baseline", ["schema"]}``; the
    registered module result has the same shape), or ``None``. ``label``: the variable name
    for messages (``tuning_baseline``); the limits are named ``<label>_min_messages`` and
    ``<label>_max_age_days``. ``max_age_days`` 0 means no limit. ``now``: epoch seconds.

    ``summary``: ``{"used", "measured_at", "messages", "ignored_because", "figures"}``;
    ``figures`` holds every figure of ``BASELINE_FIGURES``, ``SMTP_FIGURES``,
    ``QUEUE_FIGURES``, ``deferral_rate`` and ``measured_at`` (``{}`` without a baseline).
    ``ignored_because`` says why a baseline that was given is not used (too few messages, too
    old, no mail part), ``None`` otherwise. ``problems``: one message per key that is missing
    or wrong, or for an unknown shape or schema; any problem means the input is refused.
    """
    now = time.time() if now is None else now
    summary = {
        "used": False,
        "measured_at": None,
        "messages": None,
        "ignored_because": None,
        "figures": {},
    }
    if value is None or value == {}:
        return summary, []
    if not isinstance(value, dict):
        return summary, [f"{label} is not a baseline ({type(value).__name__}): {BASELINE_SHAPE}"]
    where = label
    if "measured_at" not in value and "baseline" in value:
        # The stored document (or the registered result of baseline_info).
        problem = _schema_problem(value, where)
        if problem:
            return summary, [problem]
        where = f"{label}.baseline"
        value = value["baseline"]
        if not isinstance(value, dict):
            return summary, [
                f"{where} is not a baseline ({type(value).__name__}): {BASELINE_SHAPE}"
            ]
    if "measured_at" not in value:
        keys = ", ".join(sorted(map(str, value))) or "none"
        return summary, [
            f"{where} is not a baseline: measured_at is missing (keys: {keys}); {BASELINE_SHAPE}"
        ]
    problem = _schema_problem(value, where)
    if problem:
        return summary, [problem]

    problems = []
    measured_at = value["measured_at"]
    epoch = parse_utc(measured_at)
    if epoch is None:
        problems.append(
            f"{where}.measured_at must be an ISO 8601 UTC time such as 2026-11-28T15:00:00Z, "
            f"got {measured_at!r}"
        )
    no_mail = None
    mail = value.get("mail", _MISSING)
    parts = value.get("parts")
    if mail is _MISSING and isinstance(parts, list) and "mail" not in parts:
        no_mail = f"it was measured without its mail part (parts: {', '.join(map(str, parts))})"
    elif mail is _MISSING:
        problems.append(f"{where}.mail is missing")
    elif mail is None:
        no_mail = "its mail part could not be measured (see the baseline's warnings)"
    elif not isinstance(mail, dict):
        problems.append(f"{where}.mail must be a dict, got {type(mail).__name__}")
    figures = dict.fromkeys([*BASELINE_FIGURES, *SMTP_FIGURES, *QUEUE_FIGURES, *DERIVED_FIGURES])
    if isinstance(mail, dict):
        figures.update(_read_figures(value, BASELINE_FIGURES, where, problems))
        by_transport = _walk(value, "mail.latency.by_transport", where, problems)
        if isinstance(by_transport, dict) and "smtp" in by_transport:
            figures.update(_read_figures(value, SMTP_FIGURES, where, problems))
        elif by_transport is not _MISSING and not isinstance(by_transport, dict):
            problems.append(
                f"{where}.mail.latency.by_transport must be a dict, "
                f"got {type(by_transport).__name__}"
            )
    queue = value.get("queue")
    if isinstance(queue, dict):
        figures.update(_read_figures(value, QUEUE_FIGURES, where, problems))
    elif queue is not None:
        problems.append(f"{where}.queue must be a dict or null, got {type(queue).__name__}")
    if problems:
        # One problem per missing key, however many figures sit below it.
        return summary, list(dict.fromkeys(problems))

    queued = (figures["messages"] or 0) + (figures["reinjected"] or 0)
    if figures["deferred_messages"] is not None and queued:
        figures["deferral_rate"] = round(figures["deferred_messages"] / queued, 4)
    figures["measured_at"] = measured_at
    reasons = []
    if no_mail:
        reasons.append(no_mail)
    elif figures["messages"] < min_messages:
        reasons.append(
            f"{figures['messages']} messages received, fewer than {label}_min_messages "
            f"({min_messages}): too few to show the traffic"
        )
    if max_age_days and now - epoch > max_age_days * 86400:
        reasons.append(
            f"measured at {measured_at}, more than {label}_max_age_days ({max_age_days}) days "
            "before this run: the traffic may have changed"
        )
    summary.update(
        used=not reasons,
        measured_at=measured_at,
        messages=figures["messages"],
        ignored_because="; ".join(reasons) or None,
        figures=figures,
    )
    return summary, []


def _schema_problem(value, where):
    schema = value.get("schema", BASELINE_SCHEMA)
    if schema == BASELINE_SCHEMA and not isinstance(schema, bool):
        return None
    newer = (
        " (written by a newer sbs.postfix: update the collection on the controller)"
        if isinstance(schema, int) and not isinstance(schema, bool) and schema > BASELINE_SCHEMA
        else ""
    )
    return (
        f"{where}.schema is {schema!r}: this collection reads baseline schema "
        f"{BASELINE_SCHEMA} only{newer}"
    )


def baseline_report_line(summary, recommended):
    """The sizing report's line about a given baseline: used by which values, or ignored and
    why; ``None`` when no baseline was given."""
    if not summary or not summary.get("measured_at"):
        return None
    messages = summary.get("messages")
    what = f"{messages} messages" if messages is not None else "no mail figures"
    head = f"baseline of {summary['measured_at']} ({what})"
    if not summary["used"]:
        return f"{head} ignored: {summary['ignored_because']}; sized from the hardware alone"
    names = sorted(
        name
        for name, item in recommended.items()
        if item["inputs"].get("baseline_measured_at") == summary["measured_at"]
    )
    if not names:
        return f"{head} used: none of its figures moves a limit on this host"
    return f"{head} used by {', '.join(names)}"


def hardware_from_system(system, relayhost=None, message_size_limit=None):
    """The inputs of :func:`recommend` from ``_sysinfo.collect_system()`` output."""
    nofile = system.get("nofile") or {}
    default = nofile.get("systemd_default") or {}
    filesystem = system.get("filesystem") or {}
    return {
        "cpus": system["cpu"]["count"],
        "mem_total": system["memory"]["total"],
        "swap_total": system["memory"]["swap_total"],
        "rotational": filesystem.get("rotational"),
        "nofile_grantable": nofile.get("grantable"),
        "systemd_nofile": default.get("hard"),
        "relayhost": relayhost or None,
        "queue_fs_size": filesystem.get("size"),
        "message_size_limit": _as_int(message_size_limit),
    }


def _check_int(label, value, low, high, why_high=None):
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        else:
            return (
                None,
                f"{label} must be an integer, got {type(value).__name__} {value!r}",
            )
    if value < low:
        return None, f"{label} = {value} is below the minimum {low}"
    if high is not None and value > high:
        return (
            None,
            f"{label} = {value} is above {high}{' (' + why_high + ')' if why_high else ''}",
        )
    return value, None


def validate_overrides(overrides, label, grantable=None, nr_open=None):
    """Check the admin's overrides before anything changes.

    ``overrides``: ``{name: value}`` with the recommendation names; ``label``: the variable
    name to put in messages (``tuning_overrides``). Returns ``(clean, errors)``: the values
    converted to their types, and one message per problem naming ``label.name``.
    """
    clean, errors = {}, []
    known = (
        set(MASTER_SERVICES)
        | set(MAIN_PARAMETERS)
        | set(BASELINE_MAIN_PARAMETERS)
        | set(SYSCTLS)
        | {"LimitNOFILE"}
    )
    for name in sorted(overrides or {}):
        value = overrides[name]
        where = f"{label}.{name}"
        if name not in known:
            errors.append(f"{where}: unknown name; known names: {', '.join(sorted(known))}")
            continue
        error = None
        if name == "in_flow_delay":
            text = str(value).strip()
            if isinstance(value, bool) or not (
                text.isdigit() or (text[:-1].isdigit() and text[-1:] in "smhdw")
            ):
                error = f"{where} must be a Postfix duration such as 1s or 0, got {value!r}"
            else:
                clean[name] = text
        elif name == "net.ipv4.ip_local_port_range":
            ports = parse_port_range(value) if isinstance(value, str) else None
            if not ports or not 1 <= ports[0] < ports[1] <= 65535:
                error = f"{where} must be 'LOW HIGH' with 1 <= LOW < HIGH <= 65535, got {value!r}"
            else:
                clean[name] = f"{ports[0]} {ports[1]}"
        elif name == "LimitNOFILE":
            cap = grantable or nr_open
            why = "the most this host can grant: fs.nr_open or the container's hard limit"
            clean[name], error = _check_int(where, value, 1024, cap, why)
        elif name in MASTER_SERVICES or name in MAIN_PARAMETERS + BASELINE_MAIN_PARAMETERS:
            # 0 would mean "no limit" in master.cf: never what sizing is for.
            clean[name], error = _check_int(where, value, 1, None)
        else:
            clean[name], error = _check_int(where, value, 0, _SYSCTL_MAX.get(name))
        if error:
            clean.pop(name, None)
            errors.append(error)
    return clean, errors


def final_values(recommended, overrides):
    """``{name: value}``: the recommendation, or the admin's override where there is one."""
    final = {name: item["value"] for name, item in recommended.items()}
    final.update(overrides or {})
    return final


GLOBAL_SYSCTL_PREFIXES = ("vm.", "fs.", "kernel.")


def _flat(value):
    return " ".join(str(value).split()) if value is not None else None


def sysctl_plan(final, current, container=None, writable=None, apply_enabled=True):
    """Which kernel settings to apply now, and why the others are only written to the file.

    ``final``/``current``: ``{key: value}``; ``container``: container type or ``None``;
    ``writable``: ``{key: bool}`` (the /proc/sys entry accepts writes; ``None`` = missing).
    Returns ``{key: {"value", "current", "apply", "changed", "skip"}}``; ``apply`` is true when
    the key may be set here, ``changed`` when it also differs, ``skip`` says why not.
    Kernel-global keys (vm.*, fs.*, kernel.*) are never applied from inside a container: they
    would change the host (and tests run in containers); net.* belong to the container's
    network namespace.
    """
    writable = writable or {}
    plan = {}
    for key in SYSCTLS:
        want = _flat(final[key])
        have = _flat(current.get(key))
        if container and key.startswith(GLOBAL_SYSCTL_PREFIXES):
            skip = (
                "global to the kernel: set it on the host, never from inside a "
                f"{container} container"
            )
        elif not apply_enabled:
            skip = "tuning_sysctl_apply is false"
        elif writable.get(key) is None:
            skip = "this kernel has no /proc/sys entry for it"
        elif not writable[key]:
            skip = (
                "/proc/sys is read-only here (unprivileged container): needs the host or a "
                "privileged container"
            )
        else:
            skip = None
        plan[key] = {
            "value": want,
            "current": have,
            "apply": skip is None,
            "changed": skip is None and want != have,
            "skip": skip,
        }
    return plan


def report_lines(recommended, overridden, final, found, baseline_line=None):
    """Human summary: the line about the baseline (:func:`baseline_report_line`) when one was
    given, one line per decision (with its reason) and per finding."""
    lines = [baseline_line] if baseline_line else []
    for name in sorted(set(recommended) | set(overridden)):
        item = recommended.get(name)
        if item is None:
            lines.append(f"{name} = {final[name]} (tuning_overrides)")
        elif name in overridden:
            lines.append(
                f"{name} = {final[name]} (tuning_overrides; recommended "
                f"{item['value']}: {item['reason']})"
            )
        else:
            lines.append(f"{name} = {item['value']} ({item['reason']})")
    lines.extend(f"{f['severity'].upper()}: {f['message']}" for f in found)
    return lines


# What a file says of a value a baseline figure moved (see file_reasons).
BASELINE_FILE_REASON = (
    "sized for the traffic of the measured baseline (the sizing report and sbs.postfix.report "
    "give the figures)"
)


def file_reasons(recommended, overridden):
    """The reason written beside each value in a file (main.cf, sysctl.d, the systemd drop-in).

    A reason that cites a baseline figure names its date and counts, which change with every
    measurement although the value may not: written into a file, it would rewrite the file (and
    reload Postfix) on every run. Files therefore say that the value follows the baseline; the
    figures are in the run's report lines and in sbs.postfix.report.
    """
    reasons = {}
    for name in set(recommended) | set(overridden):
        item = recommended.get(name)
        if name in overridden:
            reasons[name] = (
                f"tuning_overrides (recommended {item['value']})" if item else "tuning_overrides"
            )
        elif (item.get("inputs") or {}).get("baseline_measured_at"):
            # "125 sessions per CPU ...; twice the peak of 12 ... in the baseline of ... would
            # be 24" keeps its first clause; a reason that is all baseline becomes the generic one.
            kept = [part for part in item["reason"].split("; ") if "the baseline" not in part]
            reasons[name] = "; ".join(kept) if kept else BASELINE_FILE_REASON
        else:
            reasons[name] = item["reason"]
    return reasons


def contribution(recommended, overridden, final):
    """The ``tuning`` entry of ``sbs_postfix_contributions`` (docs/handoff.md): main.cf values,
    master.cf maxproc per ``name/type`` service, and one reason per value (``file_reasons``:
    main.cf carries them as comments)."""
    reasons = {}
    stable = file_reasons(recommended, overridden)
    main = {}
    for name in MAIN_PARAMETERS + [n for n in BASELINE_MAIN_PARAMETERS if n in final]:
        main[name] = final[name]
        reasons[name] = stable[name]
    master = {}
    for name, services in MASTER_SERVICES.items():
        for service in services:
            master[service] = {"maxproc": final[name]}
            reasons[f"{service} maxproc"] = stable[name]
    return {"main": main, "master": master, "reasons": reasons}
