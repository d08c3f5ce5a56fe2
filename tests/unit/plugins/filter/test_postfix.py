# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for the server role's filters (plugins/filter/postfix.py): thin wrappers around
plugins/plugin_utils/_main_cf.py, _master_cf.py and _stock_master_cf.py, whose own tests hold
the rules. Here: the names the roles call, the shapes they read, the error type, and the
problems the checks of a whole inventory return instead of raising."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sbs.postfix.plugins.filter.postfix import (
    FilterModule,
    postfix_duration,
    postfix_host_addresses,
    postfix_interface_names,
    postfix_interface_problems,
    postfix_listen_backlog,
    postfix_main,
    postfix_master,
    postfix_master_lines,
    postfix_master_option,
    postfix_mynetworks,
    postfix_stock_services,
    postfix_submission_services,
    postfix_value,
)
from ansible_collections.sbs.postfix.plugins.plugin_utils._main_cf import merge_main
from ansible_collections.sbs.postfix.plugins.plugin_utils._master_cf import merge_master

SAFE_RELAY = ["permit_mynetworks", "permit_sasl_authenticated", "reject_unauth_destination"]
FACTS = {
    "interfaces": ["lo", "eth0"],
    "lo": {"ipv4": {"address": "127.0.0.1"}, "ipv6": [{"address": "::1"}]},
    "eth0": {"ipv4": {"address": "10.88.0.5"}, "ipv6": [{"address": "fe80::1%eth0"}]},
}


def test_filter_module_exports_what_the_roles_call():
    assert set(FilterModule().filters()) == {
        "postfix_value",
        "postfix_duration",
        "postfix_mynetworks",
        "postfix_main",
        "postfix_master",
        "postfix_master_lines",
        "postfix_master_option",
        "postfix_listen_backlog",
        "postfix_host_addresses",
        "postfix_interface_problems",
        "postfix_interface_names",
        "postfix_submission_services",
        "postfix_stock_services",
        "postfix_sasl_backends",
        "postfix_sasl_problem",
    }


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: postfix_value([True, 5, " a "]), "yes, 5, a"),
        (lambda: postfix_duration(300), "300s"),
        (lambda: postfix_mynetworks("::1, 192.0.2.1"), ["[::1]/128", "192.0.2.1/32"]),
        (
            lambda: postfix_master_option("smtpd_sasl_auth_enable", True),
            "-o smtpd_sasl_auth_enable=yes",
        ),
        (lambda: postfix_listen_backlog("-", 100, 4096), 100),
        (lambda: postfix_host_addresses(FACTS), ["10.88.0.5", "127.0.0.1", "::1", "fe80::1"]),
        (lambda: postfix_interface_problems(["::1"], ["::1"]), []),
        (lambda: postfix_interface_names("all"), []),
        (lambda: postfix_submission_services({}), []),
        (lambda: len(postfix_stock_services("3.10")), 25),
    ],
)
def test_filters_return_what_plugin_utils_computes(call, expected):
    assert call() == expected


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: postfix_value({"a": 1}, "server_x"),
            r"^server_x: a dictionary has no main.cf form",
        ),
        (lambda: postfix_duration("5 days", "server_d"), r"^server_d: '5 days' is not a duration"),
        (lambda: postfix_mynetworks(["10.1.2.3/8"]), r"host bits set"),
        (lambda: postfix_master_lines({"name": "x", "type": "unix"}), r"is not a Postfix daemon"),
        (lambda: postfix_master_option("Bad", 1), r"not a Postfix parameter name"),
        (lambda: postfix_listen_backlog("-", "lots"), r"default_process_limit 'lots'"),
        (lambda: postfix_submission_services({"smtp": {}}), r"^server_submission: unknown"),
        (lambda: postfix_stock_services("3.8"), r"no stock master.cf for Postfix 3.8"),
    ],
)
def test_filters_refuse_with_an_ansible_filter_error(call, message):
    with pytest.raises(AnsibleFilterError, match=message) as err:
        call()
    assert "Allowed:" in str(err.value)


def test_postfix_main_returns_the_dict_the_role_reads():
    args = (
        {"myhostname": "mail.example.com", "mynetworks": None},
        {"smtp_host_lookup": "native"},
        {
            "tuning": {
                "main": {"default_process_limit": 150},
                "reasons": {"default_process_limit": "4 cores"},
            }
        },
        {"smtpd_relay_restrictions": SAFE_RELAY},
    )
    result = postfix_main(*args)
    assert result == {**merge_main(*args).as_dict(), "problems": []}
    assert set(result) == {"parameters", "sources", "variables", "reasons", "notes", "problems"}
    assert result["parameters"]["myhostname"] == "mail.example.com"
    assert result["variables"]["myhostname"] == "server_myhostname"
    assert result["reasons"] == {"default_process_limit": "tuning: 4 cores"}
    assert result["notes"] == {"default_process_limit": "4 cores"}


def test_postfix_master_returns_the_dicts_the_template_renders():
    stock = postfix_stock_services("3.7")
    args = (
        stock,
        [],
        {"smtp/inet": {"maxproc": 50}},
        {},
        postfix_submission_services({"submission": {"enabled": True, "maxproc": 10}}),
    )
    result = postfix_master(*args)
    assert result == {
        "services": [service.as_dict() for service in merge_master(*args)],
        "problems": [],
    }
    services = result["services"]
    assert all(isinstance(service, dict) for service in services)
    assert services[0]["maxproc"] == "50"
    assert services[len(stock)]["name"] == "submission"
    lines = [line for service in services for line in postfix_master_lines(service)]
    assert lines[0] == "smtp       inet  n       -       y       -       50      smtpd"
    assert "submission inet  n       -       y       -       10      smtpd" in lines
    assert "  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}" in lines


# ---------------------------------------------------------------- problems returned, not raised


def test_postfix_main_returns_every_problem_and_no_main_cf():
    result = postfix_main(
        {"myhostname": "mail", "queue_run_delay": "5 minutes"},
        {"Smtpd-Banner": "$myhostname ESMTP"},
        {},
        {"smtpd_relay_restrictions": SAFE_RELAY},
    )
    assert result == {
        "parameters": {},
        "sources": {},
        "variables": {},
        "reasons": {},
        "notes": {},
        "problems": [
            "server_main_extra.Smtpd-Banner: 'Smtpd-Banner' is not a Postfix parameter name. "
            "Allowed: lower-case letters, digits and underscores.",
            "server_myhostname: 'mail' is not fully qualified. "
            "Allowed: a fully qualified name (mail.example.com).",
            "server_queue_run_delay: '5 minutes' is not a duration. "
            "Allowed: a duration: digits with a unit s, m, h, d or w (300s, 5d).",
        ],
    }


def test_postfix_master_returns_every_problem_and_no_services():
    stock = postfix_stock_services("3.7")
    result = postfix_master(
        stock,
        [
            {"name": "dovecot", "type": "tcp", "command": "pipe"},
            {"name": "127.0.0.1:10025", "type": "inet", "command": "smtpd", "maxproc": "ten"},
        ],
        {"nosuch/unix": {"maxproc": 1}},
    )
    assert result["services"] == []
    assert [problem.split(":")[0] for problem in result["problems"]] == [
        "server_master_services[0].type",
        "server_master_services[1].maxproc",
        "server_master_overrides.nosuch/unix",
    ]


def test_postfix_interface_problems_lists_every_bad_entry():
    problems = postfix_interface_problems(
        ["127.0.0.1", "192.0.2.1", "mx.example.net"], postfix_host_addresses(FACTS)
    )
    assert [problem.split(":")[0] for problem in problems] == [
        "server_inet_interfaces[1]",
        "server_inet_interfaces[2]",
    ]
    assert "192.0.2.1 is not an address of this host" in problems[0]
    assert "'mx.example.net' does not resolve on this host" in problems[1]
