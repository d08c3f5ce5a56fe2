# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The server role's /etc/aliases: merge, targets, loops, root/postmaster and DMARC reports."""

from __future__ import annotations

import pytest

from ansible_collections.sbs.postfix.plugins.plugin_utils._aliases import (
    alias_problems,
    merge_aliases,
    report_addresses,
    resolve,
    target_kind,
)

# roles/server/vars/main.yml's __server_aliases_sbs
SBS = {
    "postmaster": "root",
    "mailer-daemon": "postmaster",
    "abuse": "root",
    "hostmaster": "root",
    "webmaster": "root",
}
# Users of a stock Debian 12 container plus the scenario's mailbox user.
USERS = ["root", "daemon", "bin", "nobody", "postfix", "_apt", "alice"]
# __server_main.parameters of the server scenario (rendered values).
PARAMS = {
    "myhostname": "server-deb12.example.test",
    "mydomain": "example.test",
    "mydestination": "$myhostname, localhost.$mydomain, localhost, $mydomain",
    "recipient_delimiter": "+",
}


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("root", "name"),
        ("mailer-daemon", "name"),
        ("admin@example.com", "address"),
        ("first.last+tag@mail.example.co.uk", "address"),
        ("root@[192.0.2.1]", "address"),
        ("not an address", None),
        ("|/usr/bin/procmail", None),
        ("/var/mail/archive", None),
        (":include:/etc/postfix/list", None),
        ("a@b@", None),
        ("admin@-bad-.example", None),
        ("Root", None),
        (42, None),
    ],
)
def test_target_kind(target, kind):
    assert target_kind(target) == kind


def test_merge_admin_wins_null_removes_root_alias_sets_root():
    merged = merge_aliases(
        SBS, {"Abuse": ["alice", "soc@example.com"], "webmaster": None}, "admin@example.com"
    )
    assert merged == {
        "abuse": ["alice", "soc@example.com"],
        "hostmaster": ["root"],
        "mailer-daemon": ["postmaster"],
        "postmaster": ["root"],
        "root": ["admin@example.com"],
    }
    assert list(merged) == sorted(merged)


def test_merge_admin_root_beats_root_alias():
    assert merge_aliases(SBS, {"root": "alice"}, "admin@example.com")["root"] == ["alice"]


def test_inventory_without_problems():
    merged = merge_aliases(SBS, {"abuse": ["alice", "soc@example.com"]}, "admin@example.com")
    assert alias_problems(
        merged, {"abuse": 1}, "admin@example.com", USERS, reports=[], parameters=PARAMS
    ) == {
        "failures": [],
        "warnings": [],
    }


def test_not_an_address_names_variable_and_key():
    merged = merge_aliases(SBS, {"abuse": "not an address"}, "admin@example.com")
    result = alias_problems(merged, {"abuse": "not an address"}, "admin@example.com", USERS)
    assert result["failures"] == [
        "server_aliases.abuse: 'not an address' is not an address (local@domain) or a local name"
    ]


@pytest.mark.parametrize(
    "target", ["|/usr/bin/procmail", "/var/mail/archive", ":include:/etc/list"]
)
def test_commands_files_and_includes_are_refused(target):
    merged = merge_aliases(SBS, {"archive": target}, "admin@example.com")
    (failure,) = alias_problems(merged, {"archive": target}, "admin@example.com", USERS)["failures"]
    assert failure.startswith(f"server_aliases.archive: {target!r} is a command, file or :include:")


def test_bad_values_and_names():
    admin = {"sales": [], "bad name": "root", "ops": 5}
    result = alias_problems(
        merge_aliases(SBS, admin, "admin@example.com"), admin, "admin@example.com"
    )
    assert sorted(result["failures"]) == [
        "server_aliases.bad name: 'bad name' is not a local name an alias can have "
        "(lower-case letters, digits, '.', '_', '+', '-'; no '@')",
        "server_aliases.ops: 5 is not an address or a list of addresses",
        "server_aliases.sales: [] is not an address or a list of addresses",
    ]


def test_root_alias_is_named_as_its_variable():
    result = alias_problems(merge_aliases(SBS, {}, "admin at example"), {}, "admin at example")
    assert result["failures"] == [
        "server_root_alias: 'admin at example' is not an address (local@domain) or a local name"
    ]


def test_loop_is_refused_self_reference_is_a_mailbox():
    admin = {"sales": "team", "team": ["sales", "alice"], "alice": ["alice", "alice@example.com"]}
    merged = merge_aliases(SBS, admin, "admin@example.com")
    assert resolve(merged, "alice") == (["alice", "alice@example.com"], None)
    result = alias_problems(merged, admin, "admin@example.com", USERS)
    assert result["failures"] == [
        "server_aliases.sales: alias loop sales -> team -> sales; mail to it would bounce",
        "server_aliases.team: alias loop team -> sales -> team; mail to it would bounce",
    ]


def test_default_loop_through_root_names_the_defaults():
    result = alias_problems(merge_aliases(SBS, {}, "postmaster"), {}, "postmaster", USERS)
    assert (
        "server_root_alias: alias loop root -> postmaster -> root; mail to it would bounce"
        in (result["failures"])
    )
    assert (
        "server_aliases.postmaster (SBS default): alias loop postmaster -> root -> postmaster; "
        "mail to it would bounce"
    ) in result["failures"]


def test_root_without_a_person_warns():
    result = alias_problems(merge_aliases(SBS, {}, None), {}, None, USERS)
    assert result["failures"] == []
    assert result["warnings"] == [
        "server_aliases.root: mail to root stays in root's mailbox on this host, where nobody "
        "reads it; set server_root_alias to a person's address or user",
        "server_aliases.postmaster (SBS default): mail to postmaster stays in root's mailbox on "
        "this host, where nobody reads it; set server_root_alias to a person's address or user",
    ]


def test_local_user_must_exist():
    result = alias_problems(merge_aliases(SBS, {}, "bob"), {}, "bob", USERS)
    assert result["failures"] == [
        "server_root_alias: 'bob' is neither an alias nor a user on this host"
    ]
    # Without the host's users (not read), nothing is claimed about them.
    assert alias_problems(merge_aliases(SBS, {}, "bob"), {}, "bob", None)["failures"] == []


def test_report_addresses_defaults_overrides_and_mailto():
    domains = [
        {"domain": "example.test"},
        {"domain": "example.org", "dmarc_rua": ["mailto:DMARC+rua@example.org"]},
        {"selectors": []},
    ]
    assert report_addresses(domains) == [
        ("dkim_dmarc_rua", "postmaster@example.test"),
        ("dkim_domains[1].dmarc_rua", "DMARC+rua@example.org"),
    ]
    assert report_addresses(domains[:1], ["reports@{domain}", "x@elsewhere.example"]) == [
        ("dkim_dmarc_rua", "reports@example.test"),
        ("dkim_dmarc_rua", "x@elsewhere.example"),
    ]
    assert report_addresses(None) == []


def test_dmarc_report_address_of_a_local_domain_must_exist():
    reports = report_addresses(
        [
            {"domain": "example.test", "dmarc_rua": ["dmarc+agg@example.test"]},
            {"domain": "example.org"},
        ],
        ["reports@{domain}"],
    )
    merged = merge_aliases(SBS, {}, "admin@example.com")
    result = alias_problems(
        merged, {}, "admin@example.com", USERS, reports=reports, parameters=PARAMS
    )
    # example.org is not delivered here (relayed): its address is not this host's to check.
    assert result["failures"] == [
        "dkim_domains[0].dmarc_rua: the DMARC report address dmarc+agg@example.test is delivered "
        "on this host, but dmarc is neither an alias (server_aliases) nor a user here; reports "
        "would bounce"
    ]
    merged = merge_aliases(SBS, {"dmarc": "alice"}, "admin@example.com")
    assert alias_problems(
        merged, {"dmarc": "alice"}, "admin@example.com", USERS, reports=reports, parameters=PARAMS
    ) == {
        "failures": [],
        "warnings": [],
    }


def test_default_mydestination_uses_fqdn():
    reports = [("dkim_dmarc_rua", "reports@mail.example.test")]
    merged = merge_aliases(SBS, {}, "admin@example.com")
    result = alias_problems(
        merged, {}, "admin@example.com", USERS, reports=reports, fqdn="mail.example.test"
    )
    assert len(result["failures"]) == 1
    assert alias_problems(
        merged, {}, "admin@example.com", USERS, reports=reports, fqdn="other.example.test"
    ) == {
        "failures": [],
        "warnings": [],
    }


# The server scenario's own mistake, seen in its Molecule run: myorigin = $mydomain, a virtual
# alias domain, so root -> sbsadmin went to sbsadmin@example.test and bounced.
def test_mailbox_name_under_a_myorigin_this_host_does_not_deliver_is_refused():
    params = dict(
        PARAMS, myorigin="$mydomain", mydestination="$myhostname, localhost.$mydomain, localhost"
    )
    merged = merge_aliases(SBS, {}, ["alice", "admin@example.net"])
    result = alias_problems(merged, {}, ["alice", "admin@example.net"], USERS, parameters=params)
    assert result["failures"] == [
        "server_root_alias: 'alice' is a mailbox on this host, but Postfix delivers it as "
        "alice@example.test (myorigin), a domain this host does not deliver itself "
        "(mydestination); write alice@localhost"
    ]
    # Written with a local domain, or with myorigin one of the host's own domains: accepted.
    merged = merge_aliases(SBS, {}, ["alice@localhost", "admin@example.net"])
    assert (
        alias_problems(
            merged, {}, ["alice@localhost", "admin@example.net"], USERS, parameters=params
        )["failures"]
        == []
    )
    params_local = dict(params, mydestination="$myhostname, $mydomain, localhost")
    merged = merge_aliases(SBS, {}, ["alice", "admin@example.net"])
    assert (
        alias_problems(merged, {}, ["alice", "admin@example.net"], USERS, parameters=params_local)[
            "failures"
        ]
        == []
    )


def test_default_root_mailbox_under_a_foreign_myorigin_names_the_default():
    params = dict(PARAMS, myorigin="example.org")
    result = alias_problems(merge_aliases(SBS, {}, None), {}, None, USERS, parameters=params)
    # postmaster, abuse, hostmaster and webmaster all end in root's mailbox: each is named.
    assert result["failures"]
    assert all(
        line.startswith("server_aliases.") and "root@example.org (myorigin)" in line
        for line in result["failures"]
    )
