# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for the inbound role's checks and contribution (plugins/plugin_utils/_inbound.py)."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.sbs.postfix.plugins.filter.postfix import postfix_main, postfix_master
from ansible_collections.sbs.postfix.plugins.plugin_utils._inbound import (
    contribution,
    host_problems,
    map_lines,
    postmap_problems,
    problems,
)
from ansible_collections.sbs.postfix.plugins.plugin_utils._stock_master_cf import stock_services

# The role's defaults (roles/inbound/defaults/main.yml) with a DNSBL, a list and checks.
SETTINGS = {
    "inbound_postscreen_enabled": True,
    "inbound_postscreen_dnsbl_sites": [
        {"domain": "zen.spamhaus.org", "weight": 3, "filter": "127.0.0.[2..11]"},
        {"domain": "bl.spamcop.net"},
        {"domain": "list.dnswl.org", "weight": -2, "filter": "127.0.[0..255].[1;2;3]"},
    ],
    "inbound_postscreen_dnsbl_threshold": 3,
    "inbound_postscreen_dnsbl_action": "enforce",
    "inbound_postscreen_greet_action": "enforce",
    "inbound_postscreen_access": [
        {"network": "192.0.2.0/24", "action": "permit"},
        {"network": "2001:db8::/32", "action": "reject"},
    ],
    "inbound_postscreen_denylist_action": "enforce",
    "inbound_postscreen_cache_type": None,
    "inbound_smtpd_helo_restrictions": [
        "permit_mynetworks",
        "permit_sasl_authenticated",
        "reject_invalid_helo_hostname",
        "reject_non_fqdn_helo_hostname",
    ],
    "inbound_smtpd_sender_restrictions": [
        "permit_mynetworks",
        "check_sender_access hash:/etc/postfix/sender_access",
        "reject_non_fqdn_sender",
    ],
    "inbound_reject_unknown_helo_hostname": False,
    "inbound_reject_unknown_sender_domain": True,
    "inbound_reject_unknown_reverse_client_hostname": False,
    "inbound_reject_unknown_client_hostname": False,
    "inbound_header_checks": [
        {"pattern": "/^Subject:.*viagra/i", "action": "REJECT spam"},
        {"pattern": "/^X-Mailer: evil/", "action": "PREPEND X-Evil: yes"},
    ],
    "inbound_body_checks": [],
    "inbound_checks_map_type": "regexp",
}
# `postconf -m` of Debian 12's postfix 3.7.11 with postfix-lmdb.
MAP_TYPES = [
    "btree",
    "cidr",
    "environ",
    "fail",
    "hash",
    "inline",
    "internal",
    "lmdb",
    "memcache",
    "nis",
    "pipemap",
    "proxy",
    "randmap",
    "regexp",
    "socketmap",
    "static",
    "tcp",
    "texthash",
    "unionmap",
    "unix",
]
POSTFIX = {"map_types": MAP_TYPES, "parameters": ["postscreen_denylist_action"]}


def settings(**changes):
    result = copy.deepcopy(SETTINGS)
    result.update(changes)
    return result


def test_good_settings_have_no_problems():
    assert problems(SETTINGS) == []
    assert host_problems(SETTINGS, POSTFIX) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"inbound_postscreen_dnsbl_sites": [{"domain": "dnsbl.test", "weight": "heavy"}]},
            "inbound_postscreen_dnsbl_sites[0].weight: 'heavy' is a str, not an integer",
        ),
        (
            {"inbound_postscreen_dnsbl_sites": [{"domain": "dnsbl.test", "weight": True}]},
            "inbound_postscreen_dnsbl_sites[0].weight: True is a bool, not an integer",
        ),
        (
            {"inbound_postscreen_dnsbl_sites": [{"domain": "bad domain"}]},
            "inbound_postscreen_dnsbl_sites[0].domain: 'bad domain' is not a DNS domain",
        ),
        (
            {"inbound_postscreen_dnsbl_sites": [{"domain": "a.test", "filter": "127.0.0.[2-11]"}]},
            "inbound_postscreen_dnsbl_sites[0].filter: '127.0.0.[2-11]' is not a DNSBL reply filter",
        ),
        (
            {"inbound_postscreen_dnsbl_sites": [{"domain": "a.test", "wieght": 2}]},
            "inbound_postscreen_dnsbl_sites[0]: unknown key(s) wieght",
        ),
        (
            {"inbound_postscreen_dnsbl_threshold": 0},
            "inbound_postscreen_dnsbl_threshold: 0 is not valid",
        ),
        (
            {"inbound_postscreen_dnsbl_threshold": "3"},
            "inbound_postscreen_dnsbl_threshold: '3' is not valid",
        ),
        (
            {"inbound_postscreen_greet_action": "block"},
            "inbound_postscreen_greet_action: 'block' is not allowed",
        ),
        (
            {"inbound_postscreen_cache_type": "hash"},
            "inbound_postscreen_cache_type: 'hash' is not allowed",
        ),
        (
            {"inbound_checks_map_type": "texthash"},
            "inbound_checks_map_type: 'texthash' is not allowed",
        ),
        (
            {"inbound_postscreen_access": [{"network": "10.1.2.3/8", "action": "reject"}]},
            "inbound_postscreen_access[0].network: '10.1.2.3/8' is not a network (10.1.2.3/8 has host bits set)",
        ),
        (
            {"inbound_postscreen_access": [{"network": "10.0.0.0/8", "action": "deny"}]},
            "inbound_postscreen_access[0].action: 'deny' is not allowed",
        ),
        (
            {"inbound_smtpd_sender_restrictions": ["reject_non_fqdn_sendr"]},
            "inbound_smtpd_sender_restrictions[0]: 'reject_non_fqdn_sendr' is not an smtpd restriction",
        ),
        (
            {"inbound_smtpd_sender_restrictions": ["check_sender_access /etc/postfix/x"]},
            "inbound_smtpd_sender_restrictions[0]: 'check_sender_access /etc/postfix/x' needs one lookup table",
        ),
        (
            {"inbound_smtpd_helo_restrictions": ["reject_rhsbl_helo"]},
            "inbound_smtpd_helo_restrictions[0]: 'reject_rhsbl_helo' needs one DNS list domain",
        ),
        (
            {"inbound_smtpd_helo_restrictions": "permit_mynetworks"},
            "inbound_smtpd_helo_restrictions: 'permit_mynetworks' is not a list",
        ),
        (
            {"inbound_header_checks": [{"pattern": "Subject: x", "action": "REJECT"}]},
            "inbound_header_checks[0].pattern: 'Subject: x' is not a table pattern",
        ),
        (
            {"inbound_body_checks": [{"pattern": "/x/", "action": "FROB"}]},
            "inbound_body_checks[0].action: 'FROB' is not a header_checks action",
        ),
        (
            {"inbound_body_checks": [{"pattern": "/x/", "action": "REDIRECT"}]},
            "inbound_body_checks[0].action: 'REDIRECT' needs an argument",
        ),
        (
            {"inbound_reject_unknown_sender_domain": "yes"},
            "inbound_reject_unknown_sender_domain: 'yes' is not a boolean",
        ),
    ],
)
def test_problems_name_the_variable(changes, expected):
    found = problems(settings(**changes))
    assert any(problem.startswith(expected) for problem in found), found


def test_every_problem_is_reported_at_once():
    found = problems(
        settings(
            inbound_postscreen_dnsbl_threshold=0,
            inbound_postscreen_dnsbl_sites=[{"domain": "a.test", "weight": 1.5}],
            inbound_header_checks=[{"pattern": "/x/", "action": "FROB"}],
        )
    )
    assert len(found) == 3


@pytest.mark.parametrize(
    ("changes", "map_types", "expected"),
    [
        # Debian 13 without Berkeley DB: lmdb is taken; with neither, the admin is told.
        ({}, ["lmdb", "regexp", "cidr"], None),
        ({}, ["regexp", "cidr"], "inbound_postscreen_cache_type: btree or lmdb is not supported"),
        (
            {"inbound_postscreen_cache_type": "lmdb"},
            ["btree", "regexp"],
            "inbound_postscreen_cache_type: lmdb",
        ),
        (
            {"inbound_checks_map_type": "pcre"},
            MAP_TYPES,
            "inbound_checks_map_type: pcre is not supported",
        ),
        # Without checks, pcre is never read.
        ({"inbound_checks_map_type": "pcre", "inbound_header_checks": []}, MAP_TYPES, None),
    ],
)
def test_host_problems(changes, map_types, expected):
    found = host_problems(settings(**changes), {"map_types": map_types})
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and found[0].startswith(expected), found


def test_cache_type_follows_what_postfix_supports():
    assert contribution(SETTINGS, POSTFIX)["main"]["postscreen_cache_map"] == (
        "btree:$data_directory/postscreen_cache"
    )
    no_bdb = {"map_types": ["lmdb", "regexp", "cidr"], "parameters": []}
    assert contribution(SETTINGS, no_bdb)["main"]["postscreen_cache_map"] == (
        "lmdb:$data_directory/postscreen_cache"
    )


def test_map_lines_one_line_per_entry_in_order():
    assert map_lines(SETTINGS) == {
        "inbound_header_checks.regexp": [
            "/^Subject:.*viagra/i REJECT spam",
            "/^X-Mailer: evil/ PREPEND X-Evil: yes",
        ],
        "inbound_body_checks.regexp": [],
        "inbound_postscreen_access.cidr": ["192.0.2.0/24 permit", "2001:db8::/32 reject"],
    }
    # Without postscreen there is no access list to write.
    assert (
        map_lines(settings(inbound_postscreen_enabled=False))["inbound_postscreen_access.cidr"]
        == []
    )


# What Postfix 3.7.11 printed for this staged text (postmap -q probe regexp:/dev/stdin).
STAGED = """\
# Ansible managed
#
# inbound_header_checks.regexp: written by the sbs.postfix.inbound role
/^Subject: ok/ REJECT fine
/^Subject: (buy/ REJECT x
"""
PATH = "/etc/postfix/inbound_header_checks.regexp"


def test_postmap_warning_names_the_entry():
    result = {
        "item": PATH,
        "rc": 1,
        "stderr": "postmap: warning: regexp map /dev/stdin, line 5: Unmatched ( or \\(",
    }
    assert postmap_problems(result, {PATH: STAGED}) == [
        "inbound_header_checks[1].pattern: Postfix refuses it: Unmatched ( or \\("
    ]


def test_postmap_cidr_warning_names_the_network_and_a_clean_run_is_silent():
    path = "/etc/postfix/inbound_postscreen_access.cidr"
    text = "# header\n192.0.2.0/24 permit\n1.2.3.999 reject\n"
    result = {
        "item": path,
        "rc": 1,
        "stderr": 'postmap: warning: cidr map /dev/stdin, line 3: bad address pattern: "1.2.3.999": skipping this rule',
    }
    assert postmap_problems(result, {path: text}) == [
        'inbound_postscreen_access[1].network: Postfix refuses it: bad address pattern: "1.2.3.999": skipping this rule'
    ]
    assert postmap_problems({"item": path, "rc": 1, "stderr": ""}, {path: text}) == []
    assert postmap_problems(
        {"item": path, "rc": 75, "stderr": "postmap: fatal: open x"}, {path: text}
    ) == ["inbound_postscreen_access: Postfix refuses the map: postmap: fatal: open x"]


def test_contribution_merges_with_the_server_role():
    """The contribution goes through the server role's own merge (docs/handoff.md)."""
    built = contribution(SETTINGS, POSTFIX)
    main = postfix_main(
        {"smtpd_helo_required": None},
        {"smtpd_helo_restrictions": ["permit_mynetworks", "reject_invalid_helo_hostname"]},
        {"inbound": built},
        {"smtpd_relay_restrictions": ["permit_mynetworks", "reject_unauth_destination"]},
    )
    assert main["problems"] == []
    # The admin's server_main_extra wins over the contribution, silently.
    assert (
        main["parameters"]["smtpd_helo_restrictions"]
        == "permit_mynetworks, reject_invalid_helo_hostname"
    )
    assert main["parameters"]["smtpd_sender_restrictions"] == (
        "permit_mynetworks, check_sender_access hash:/etc/postfix/sender_access, "
        "reject_non_fqdn_sender, reject_unknown_sender_domain"
    )
    assert main["parameters"]["postscreen_dnsbl_sites"] == (
        "zen.spamhaus.org=127.0.0.[2..11]*3, bl.spamcop.net*1, list.dnswl.org=127.0.[0..255].[1;2;3]*-2"
    )
    assert main["parameters"]["header_checks"] == "regexp:/etc/postfix/inbound_header_checks.regexp"
    master = postfix_master(
        stock_services("3.7"),
        overrides={"smtp/inet": {"options": {"smtpd_client_connection_count_limit": 5}}},
        contributions={"inbound": built, "tuning": {"master": {"smtp/inet": {"maxproc": 150}}}},
    )
    assert master["problems"] == []
    services = {f"{s['name']}/{s['type']}": s for s in master["services"]}
    assert services["smtp/inet"]["command"] == "postscreen"
    assert services["smtp/inet"]["maxproc"] == "1"
    assert services["smtpd/pass"]["command"] == "smtpd"
    assert services["smtpd/pass"]["private"] == "-"
    assert services["smtpd/pass"]["maxproc"] == "150"
    assert services["smtpd/pass"]["options"] == {"smtpd_client_connection_count_limit": 5}
    assert services["dnsblog/unix"]["maxproc"] == "0"
    assert services["tlsproxy/unix"]["maxproc"] == "0"


def test_without_postscreen_only_restrictions_and_checks():
    built = contribution(settings(inbound_postscreen_enabled=False), POSTFIX)
    assert "master" not in built and "services" not in built
    assert not [name for name in built["main"] if name.startswith("postscreen_")]


def test_client_restrictions_only_when_asked():
    assert "smtpd_client_restrictions" not in contribution(SETTINGS, POSTFIX)["main"]
    built = contribution(settings(inbound_reject_unknown_reverse_client_hostname=True), POSTFIX)
    assert built["main"]["smtpd_client_restrictions"] == [
        "permit_mynetworks",
        "permit_sasl_authenticated",
        "reject_unknown_reverse_client_hostname",
    ]


def test_old_postfix_gets_the_old_denylist_name():
    built = contribution(
        SETTINGS, {"map_types": MAP_TYPES, "parameters": ["postscreen_blacklist_action"]}
    )
    assert built["main"]["postscreen_blacklist_action"] == "enforce"
    assert "postscreen_denylist_action" not in built["main"]
