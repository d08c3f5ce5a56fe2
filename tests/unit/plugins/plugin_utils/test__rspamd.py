# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils._sizing import GIB, MIB
from ansible_collections.sbs.postfix.plugins.plugin_utils._main_cf import merge_main
from ansible_collections.sbs.postfix.plugins.plugin_utils._master_cf import (
    merge_master,
    service_lines,
)
from ansible_collections.sbs.postfix.plugins.plugin_utils._rspamd import (
    MILTER_MAIL_MACROS,
    rspamd_plan,
    size_workers,
    worker_limit,
)

# What sbs.postfix.sizing_info reported in the Debian 12 test container (2 CPUs, 24 GiB).
CONTAINER = {"cpus": 2, "mem_total": 25276510208}
# A small office VM: 4 CPUs, 2 GiB.
SMALL_VM = {"cpus": 4, "mem_total": 2 * GIB}

DEFAULTS = {
    "rspamd_workers": None,
    "rspamd_milter_port": 11332,
    "rspamd_milter_default_action": "accept",
    "rspamd_milter_connect_timeout": "10s",
    "rspamd_milter_command_timeout": "30s",
    "rspamd_milter_content_timeout": "90s",
    "rspamd_proxy_timeout": "60s",
    "rspamd_scan_local_submissions": True,
    "rspamd_headers": ["x-spamd-result", "x-rspamd-server", "x-rspamd-queue-id"],
    "rspamd_dns_servers": [],
    "rspamd_content_filter_enabled": False,
    "rspamd_content_filter_port": 10024,
    "rspamd_content_filter_reinject_port": 10025,
    "rspamd_content_filter_maxproc": 4,
}
MILTER = (
    "{ inet:127.0.0.1:11332, default_action=accept, connect_timeout=10s, "
    "command_timeout=30s, content_timeout=90s, protocol=6 }"
)
# The dkim role's contribution as roles/dkim/tasks/validate.yml builds it (inet socket).
DKIM = {
    "main_append": {
        "smtpd_milters": ["inet:127.0.0.1:8891"],
        "non_smtpd_milters": ["inet:127.0.0.1:8891"],
    },
    "main": {"milter_default_action": "accept", "milter_protocol": 6},
}
# The server role checks relay restrictions on every merge.
SAFE = {"smtpd_relay_restrictions": ["permit_mynetworks", "reject_unauth_destination"]}


def plan(hardware=None, **changes):
    return rspamd_plan({**DEFAULTS, **changes}, CONTAINER if hardware is None else hardware)


# ---------------------------------------------------------------- sizing


def test_one_worker_per_cpu_when_memory_allows():
    sized = size_workers(2, 25276510208)
    assert sized["value"] == 2
    assert sized["reason"].startswith("one per CPU x 2 CPUs")
    assert sized["inputs"]["by_memory"] > 2


def test_workers_are_memory_bound_on_a_small_vm():
    # 2 GiB - 256 MiB reserve = 1792 MiB; a quarter = 448 MiB, less than the 512 MiB base.
    sized = size_workers(4, 2 * GIB)
    assert sized["value"] == 1
    assert sized["reason"].startswith("floor of 1 worker")


def test_workers_memory_bound_between_floor_and_cpus():
    # 8 GiB: reserve 819 MiB, a quarter of the rest = 1843 MiB, less 512 = 1331 -> 5 workers.
    sized = size_workers(16, 8 * GIB)
    assert sized["value"] == 5
    assert sized["reason"].startswith("memory-bound")


def test_limit_is_two_per_cpu_or_what_memory_holds():
    assert worker_limit(2, 25276510208)["value"] == 4
    # 2 GiB: 1792 MiB outside the reserve, less 512 = 1280 MiB -> 5 workers; 2 x 4 CPUs = 8.
    small = worker_limit(4, 2 * GIB)
    assert small["value"] == 5
    assert "5 by memory" in small["reason"]
    # 1 GiB: 768 MiB outside the reserve, less 512 = 256 MiB: 1 worker.
    assert worker_limit(1, 1 * GIB)["value"] == 1
    assert worker_limit(1, 512 * MIB)["value"] == 1


# ---------------------------------------------------------------- checks


def test_defaults_have_no_problem_and_size_from_the_hardware():
    result = plan()
    assert result["problems"] == []
    assert result["workers"]["value"] == 2
    assert result["milter"] == MILTER
    assert result["timeouts"] == {
        "rspamd_milter_connect_timeout": 10,
        "rspamd_milter_command_timeout": 30,
        "rspamd_milter_content_timeout": 90,
        "rspamd_proxy_timeout": 60,
    }


@pytest.mark.parametrize("value", [3, "3"])
def test_inventory_worker_count_within_the_limit_wins(value):
    result = plan(rspamd_workers=value)
    assert result["workers"]["value"] == 3
    assert result["workers"]["reason"] == "rspamd_workers (inventory)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, "rspamd_workers: 5 is more than this host can run. Allowed: 1 to 4"),
        (1000, "rspamd_workers: 1000 is more than this host can run"),
        (0, "rspamd_workers: 0 is not a whole number. Allowed: 1 or more."),
        ("two", "rspamd_workers: 'two' is not a whole number"),
        (True, "rspamd_workers: True is not a whole number"),
    ],
)
def test_bad_worker_counts_name_the_variable(value, expected):
    result = plan(rspamd_workers=value)
    assert any(problem.startswith(expected) for problem in result["problems"]), result
    assert result["contribution"] == {}


def test_every_problem_is_reported_at_once():
    result = plan(
        rspamd_workers=99,
        rspamd_milter_default_action="discard",
        rspamd_milter_connect_timeout="ten",
        rspamd_milter_content_timeout="30s",
        rspamd_milter_port=11333,
        rspamd_headers=["x-spamd-result", "x-virus"],
    )
    text = "\n".join(result["problems"])
    assert "rspamd_workers: 99 is more than this host can run" in text
    assert (
        "rspamd_milter_default_action: 'discard' is not a milter action. "
        "Allowed: accept, tempfail, reject, quarantine." in text
    )
    assert "rspamd_milter_connect_timeout: 'ten' is not a duration" in text
    assert (
        "rspamd_milter_content_timeout: 30s is not longer than rspamd_proxy_timeout (60s)" in text
    )
    assert "rspamd_milter_port: 11333 is the port of rspamd's normal worker" in text
    assert "rspamd_headers: x-virus not among the headers" in text
    assert len(result["problems"]) == 6


def test_content_filter_ports_must_differ():
    result = plan(
        rspamd_content_filter_enabled=True,
        rspamd_content_filter_port=10025,
        rspamd_content_filter_reinject_port=10025,
    )
    assert result["problems"] == [
        "rspamd_content_filter_reinject_port: 10025 is also rspamd_content_filter_port. "
        "Allowed: a port of its own."
    ]


def test_content_filter_ports_unchecked_when_the_filter_is_off():
    assert plan(rspamd_content_filter_port=0)["problems"] == []


@pytest.mark.parametrize(("value", "expected"), [("2m", 120), (45, 45), ("1h", 3600)])
def test_durations_in_seconds(value, expected):
    result = plan(rspamd_milter_connect_timeout=value)
    assert result["timeouts"]["rspamd_milter_connect_timeout"] == expected


# ---------------------------------------------------------------- the hand-off


def test_contribution_merges_after_the_dkim_milter_each_with_its_own_action():
    result = plan(rspamd_milter_default_action="tempfail")
    merged = merge_main({}, {}, {"dkim": DKIM, "rspamd": result["contribution"]}, SAFE).as_dict()
    parameters = merged["parameters"]
    milter = MILTER.replace("accept", "tempfail")
    # Sorted contributor order: OpenDKIM first, then rspamd; postconf reads the braces as one item.
    assert parameters["smtpd_milters"] == f"inet:127.0.0.1:8891, {milter}"
    assert parameters["non_smtpd_milters"] == f"inet:127.0.0.1:8891, {milter}"
    # The global action stays OpenDKIM's; rspamd's is inside its own item.
    assert parameters["milter_default_action"] == "accept"
    assert parameters["milter_mail_macros"] == MILTER_MAIL_MACROS
    assert "content_filter" not in parameters


def test_admin_milters_come_first():
    result = plan()
    merged = merge_main(
        {"smtpd_milters": ["inet:127.0.0.1:9999"]}, {}, {"rspamd": result["contribution"]}, SAFE
    ).as_dict()
    assert merged["parameters"]["smtpd_milters"] == f"inet:127.0.0.1:9999, {MILTER}"


def test_local_submissions_are_not_scanned_when_switched_off():
    contribution = plan(rspamd_scan_local_submissions=False)["contribution"]
    assert "non_smtpd_milters" not in contribution["main_append"]


def test_milter_macros_keep_postfix_defaults():
    # postconf -d milter_mail_macros on Debian 12 (3.7.11) and 13 (3.10.13).
    stock = "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}"
    assert set(stock.split()) <= set(MILTER_MAIL_MACROS.split())
    assert {"{client_addr}", "{client_name}"} <= set(MILTER_MAIL_MACROS.split())


def test_content_filter_adds_its_transport_and_reinjection_listener():
    result = plan(rspamd_content_filter_enabled=True, rspamd_content_filter_maxproc=3)
    contribution = result["contribution"]
    assert contribution["main"]["content_filter"] == "scan:[127.0.0.1]:10024"
    merged = merge_master(
        [{"name": "smtp", "type": "inet", "private": False, "chroot": True, "command": "smtpd"}],
        contributions={"rspamd": contribution},
    )
    lines = [line for service in merged for line in service_lines(service.as_dict())]
    assert "scan       unix  -       -       n       -       3       smtp" in lines
    assert "127.0.0.1:10025 inet  n       -       n       -       3       smtpd" in lines
    assert "  -o { content_filter =  }" in lines
    assert (
        "  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,"
        "no_milters,no_address_mappings" in lines
    )
    assert "  -o syslog_name=postfix/10025" in lines
    assert "  -o smtpd_authorized_xforward_hosts=127.0.0.0/8" in lines


def test_content_filter_maxproc_checked_only_when_enabled():
    assert plan(rspamd_content_filter_maxproc=0)["problems"] == []
    problems = plan(rspamd_content_filter_enabled=True, rspamd_content_filter_maxproc=0)["problems"]
    assert problems == [
        "rspamd_content_filter_maxproc: 0 is not a whole number. Allowed: 1 or more."
    ]


def test_dns_servers_get_a_port_and_bad_ones_are_named():
    result = plan(rspamd_dns_servers=["127.0.0.1", "192.0.2.53:5353", "[2001:db8::53]", "ns1"])
    assert result["dns_servers"] == ["127.0.0.1:53", "192.0.2.53:5353", "[2001:db8::53]:53"]
    assert result["problems"] == [
        "rspamd_dns_servers[3]: 'ns1' is not valid. Allowed: IP addresses, optionally with a "
        "port (192.0.2.53, 192.0.2.53:53, [2001:db8::53]:53)."
    ]
