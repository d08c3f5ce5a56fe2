# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for main.cf values and the main.cf merge (plugins/plugin_utils/_main_cf.py)."""

from __future__ import annotations

import pytest

from ansible_collections.sbs.postfix.plugins.plugin_utils._main_cf import (
    ConfigError,
    Problems,
    check_interfaces,
    facts_addresses,
    interface_names,
    interface_problems,
    merge_main,
    mynetworks,
    render_duration,
    render_value,
)

SAFE_RELAY = ["permit_mynetworks", "permit_sasl_authenticated", "reject_unauth_destination"]
DEFAULTS = {
    "smtpd_relay_restrictions": SAFE_RELAY,
    "message_size_limit": 52428800,
    "mailbox_size_limit": 0,
    "mynetworks": ["127.0.0.0/8", "::1/128"],
    "smtpd_helo_required": True,
    "smtpd_banner": "$myhostname ESMTP",
}


def main(admin=None, extra=None, contributions=None, defaults=None):
    return merge_main(
        admin or {}, extra, contributions, DEFAULTS if defaults is None else defaults
    ).as_dict()


# ---------------------------------------------------------------- rendering


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "yes"),
        (False, "no"),
        (0, "0"),
        (52428800, "52428800"),
        ("  $myhostname ESMTP ", "$myhostname ESMTP"),
        (["a", "b", "c"], "a, b, c"),
        ([], ""),
        (None, ""),
        (["inline:{ a=b }", "hash:/etc/postfix/x"], "inline:{ a=b }, hash:/etc/postfix/x"),
    ],
)
def test_render_value(value, expected):
    assert render_value(value) == expected


@pytest.mark.parametrize("value", [{"a": 1}, "two\nlines", [["nested"]], [{"a": 1}]])
def test_render_value_rejects(value):
    with pytest.raises(ConfigError, match="server_x"):
        render_value(value, "server_x")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(300, "300s"), (0, "0s"), ("5d", "5d"), ("4000s", "4000s"), (" 1h", "1h"), ("60", "60")],
)
def test_render_duration(value, expected):
    assert render_duration(value, "server_queue_run_delay") == expected


@pytest.mark.parametrize("value", [-1, "5 days", "5x", True, "", "1.5h", None])
def test_render_duration_rejects(value):
    with pytest.raises(ConfigError, match=r"server_queue_run_delay: .*Allowed: .*duration"):
        render_duration(value, "server_queue_run_delay")


# ---------------------------------------------------------------- mynetworks


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["127.0.0.0/8"], ["127.0.0.0/8"]),
        (["192.0.2.10"], ["192.0.2.10/32"]),
        (["::1"], ["[::1]/128"]),
        (["::1/128"], ["[::1]/128"]),
        (["[::1]/128"], ["[::1]/128"]),
        (["2001:DB8:0:0::/32"], ["[2001:db8::]/32"]),
        (["[2001:0db8::]/48", "2001:db8::/48"], ["[2001:db8::]/48"]),
        (["fe80::/10"], ["[fe80::]/10"]),
        (["::ffff:127.0.0.0/104"], ["[::ffff:127.0.0.0]/104"]),
        (["10.0.0.0/8", "10.0.0.0/8", "192.0.2.1", "192.0.2.1/32"], ["10.0.0.0/8", "192.0.2.1/32"]),
        ("127.0.0.0/8, [::1]/128", ["127.0.0.0/8", "[::1]/128"]),
        (["!192.0.2.128/25", "192.0.2.0/24"], ["!192.0.2.128/25", "192.0.2.0/24"]),
        (
            ["cidr:/etc/postfix/network_table", "/etc/postfix/network_file"],
            ["cidr:/etc/postfix/network_table", "/etc/postfix/network_file"],
        ),
        ([], []),
    ],
)
def test_mynetworks_normalises(value, expected):
    assert mynetworks(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            ["10.0.0.0/33"],
            r"server_mynetworks\[0\]: '10.0.0.0/33' has prefix length /33, more than the /32",
        ),
        (["[2001:db8::]/129"], r"/129, more than the /128"),
        (["10.0.0.300/8"], r"not an IP address or network"),
        (["10.1.2.3/8"], r"host bits set \(did you mean 10.0.0.0/8\?\)"),
        (["2001:db8::1/32"], r"host bits set \(did you mean \[2001:db8::\]/32\?\)"),
        (["10.0.0.0/abc"], r"invalid prefix length"),
        (["mail.example.com"], r"not an IP address or network"),
        (["192.0.2.0/24", "10.0.0.0/-1"], r"server_mynetworks\[1\]"),
        ([True], r"not a string"),
        ({"a": "b"}, r"is a dict"),
        (["10.1"], r"not an IP address"),
    ],
)
def test_mynetworks_rejects(value, message):
    with pytest.raises(ConfigError, match=message) as err:
        mynetworks(value)
    assert "Allowed:" in str(err.value)


# ---------------------------------------------------------------- main.cf merge


def test_defaults_render_and_sort():
    result = main()
    assert list(result["parameters"]) == sorted(result["parameters"])
    assert result["parameters"]["mynetworks"] == "127.0.0.0/8, [::1]/128"
    assert result["parameters"]["smtpd_helo_required"] == "yes"
    assert result["sources"]["message_size_limit"] == "SBS default"


def test_admin_wins_over_contribution_and_default():
    result = main(
        {"message_size_limit": 10485760, "myhostname": None},
        contributions={
            "tuning": {"main": {"message_size_limit": 20971520, "default_process_limit": 150}}
        },
    )
    assert result["parameters"]["message_size_limit"] == "10485760"
    assert result["sources"]["message_size_limit"] == "inventory (server_message_size_limit)"
    assert result["parameters"]["default_process_limit"] == "150"
    assert result["sources"]["default_process_limit"] == "role tuning"
    assert "myhostname" not in result["parameters"]


def test_contribution_wins_over_default():
    result = main(
        contributions={
            "tuning": {
                "main": {"message_size_limit": 1000},
                "reasons": {"message_size_limit": "measured"},
            }
        }
    )
    assert result["parameters"]["message_size_limit"] == "1000"
    assert result["reasons"] == {"message_size_limit": "tuning: measured"}


def test_notes_only_for_the_value_written():
    result = main(
        {"message_size_limit": 1048576},
        contributions={
            "tuning": {
                "main": {"message_size_limit": 5242880, "default_process_limit": 150},
                "reasons": {"message_size_limit": "measured", "default_process_limit": "4 cores"},
            },
            "dkim": {
                "main_append": {"smtpd_milters": ["local:opendkim/opendkim.sock"]},
                "reasons": {"smtpd_milters": "OpenDKIM signs outgoing mail"},
            },
        },
    )
    assert result["notes"] == {
        "default_process_limit": "4 cores",
        "smtpd_milters": "OpenDKIM signs outgoing mail",
    }
    assert result["reasons"]["message_size_limit"] == "tuning: measured"


def test_extra_null_removes_default_and_extra_sets_unknown():
    result = main(
        extra={
            "smtpd_banner": None,
            "smtp_host_lookup": "native",
            "smtp_dns_support_level": "disabled",
        }
    )
    assert "smtpd_banner" not in result["parameters"]
    assert result["parameters"]["smtp_host_lookup"] == "native"
    assert (
        result["sources"]["smtp_dns_support_level"]
        == "inventory (server_main_extra.smtp_dns_support_level)"
    )


def test_extra_and_dedicated_variable_conflict():
    with pytest.raises(
        ConfigError,
        match=r"server_main_extra.mynetworks: mynetworks is also set by server_mynetworks",
    ):
        main({"mynetworks": ["10.0.0.0/8"]}, extra={"mynetworks": "10.0.0.0/8"})


def test_two_contributors_conflict():
    with pytest.raises(
        ConfigError,
        match=r"sbs_postfix_contributions.tuning.main.default_process_limit: '200' conflicts with '100' from sbs_postfix_contributions.dkim",
    ):
        main(
            contributions={
                "tuning": {"main": {"default_process_limit": 200}},
                "dkim": {"main": {"default_process_limit": 100}},
            }
        )


def test_two_contributors_agree():
    result = main(
        contributions={
            "a": {"main": {"smtpd_helo_required": True}},
            "b": {"main_required": {"smtpd_helo_required": "yes"}},
        }
    )
    assert result["parameters"]["smtpd_helo_required"] == "yes"


def test_required_conflicts_with_admin():
    with pytest.raises(
        ConfigError,
        match=(
            r"server_milter_default_action: 'tempfail' conflicts with 'accept', which "
            r"sbs_postfix_contributions.dkim.main_required.milter_default_action requires"
        ),
    ):
        main(
            {"milter_default_action": "tempfail"},
            contributions={"dkim": {"main_required": {"milter_default_action": "accept"}}},
        )


def test_required_conflicts_with_admin_null():
    with pytest.raises(ConfigError, match=r"server_main_extra.smtpd_tls_cert_file: null removes"):
        main(
            extra={"smtpd_tls_cert_file": None},
            contributions={"tls": {"main_required": {"smtpd_tls_cert_file": "/etc/x.pem"}}},
        )


def test_required_equal_to_admin_is_fine():
    result = main(
        {"milter_default_action": "accept"},
        contributions={"dkim": {"main_required": {"milter_default_action": "accept"}}},
    )
    assert result["sources"]["milter_default_action"] == "inventory (server_milter_default_action)"


def test_main_append_after_admin_without_duplicates():
    result = main(
        {"smtpd_milters": ["inet:127.0.0.1:11332"]},
        contributions={
            "dkim": {
                "main_append": {
                    "smtpd_milters": ["local:opendkim/opendkim.sock", "inet:127.0.0.1:11332"]
                }
            },
            "zz": {"main_append": {"smtpd_milters": ["unix:/run/x.sock"]}},
        },
    )
    assert (
        result["parameters"]["smtpd_milters"]
        == "inet:127.0.0.1:11332, local:opendkim/opendkim.sock, unix:/run/x.sock"
    )
    assert "appended by dkim, zz" in result["sources"]["smtpd_milters"]


def test_main_append_without_base():
    result = main(
        contributions={
            "dkim": {"main_append": {"non_smtpd_milters": "local:opendkim/opendkim.sock"}}
        }
    )
    assert result["parameters"]["non_smtpd_milters"] == "local:opendkim/opendkim.sock"


@pytest.mark.parametrize(
    ("admin", "extra", "message"),
    [
        (
            {"message_size_limit": -1},
            None,
            r"server_message_size_limit: -1 is negative. Allowed: an integer >= 0",
        ),
        (
            {"message_size_limit": "50M"},
            None,
            r"server_message_size_limit: '50M' is not an integer",
        ),
        (
            {"default_process_limit": 1.5},
            None,
            r"server_default_process_limit: 1.5 is not an integer",
        ),
        (
            {"smtpd_helo_required": "maybe"},
            None,
            r"server_smtpd_helo_required: 'maybe' is not a boolean. Allowed: true or false",
        ),
        (
            {"myhostname": "mail example.com"},
            None,
            r"server_myhostname: 'mail example.com' is not a valid host name. Allowed: .*no spaces",
        ),
        ({"myhostname": "mail"}, None, r"server_myhostname: 'mail' is not fully qualified"),
        ({"mydomain": ["example.com"]}, None, r"server_mydomain: \['example.com'\] is a list"),
        ({"mydomain": "-bad-.example"}, None, r"server_mydomain: .* is not a valid host name"),
        ({"mydestination": ["$myhostname", "bad name"]}, None, r"server_mydestination\[1\]"),
        ({"mynetworks": ["10.0.0.0/33"]}, None, r"server_mynetworks\[0\]: '10.0.0.0/33'"),
        ({"inet_protocols": "ipv5"}, None, r"server_inet_protocols: .*Allowed: all, ipv4, ipv6"),
        (
            {"inet_interfaces": ["all", "127.0.0.1"]},
            None,
            r"server_inet_interfaces: .* mixes a keyword",
        ),
        ({"inet_interfaces": []}, None, r"server_inet_interfaces: the list is empty"),
        (
            {"queue_run_delay": "5 minutes"},
            None,
            r"server_queue_run_delay: '5 minutes' is not a duration",
        ),
        ({"maximal_queue_lifetime": -3}, None, r"server_maximal_queue_lifetime: -3 is negative"),
        (
            {"milter_default_action": "drop"},
            None,
            r"server_milter_default_action: 'drop' is not a milter action. Allowed: accept, reject, tempfail, quarantine",
        ),
        ({"relayhost": "smtp.example.net 587"}, None, r"server_relayhost: .* contains spaces"),
        (
            {"transport_maps": ["/etc/postfix/transport"]},
            None,
            r"server_transport_maps\[0\]: .* is not a lookup table",
        ),
        (
            {"smtpd_relay_restrictions": ["permit_mynetworks", "permit"]},
            None,
            r"reject_unauth_destination is missing, which would make this server an open relay",
        ),
        (
            {"smtpd_relay_restrictions": ["permit", "reject_unauth_destination"]},
            None,
            r"a bare 'permit' before reject_unauth_destination",
        ),
        (None, {"smtpd_relay_restrictions": None}, r"reject_unauth_destination is missing"),
        (
            {"mailbox_size_limit": 1000},
            None,
            r"mailbox_size_limit \(from inventory \(server_mailbox_size_limit\)\): 1000 is smaller than message_size_limit 52428800",
        ),
        (
            None,
            {"Bad-Name": 1},
            r"server_main_extra.Bad-Name: 'Bad-Name' is not a Postfix parameter name",
        ),
        (
            None,
            {"smtpd_banner": {"a": 1}},
            r"server_main_extra.smtpd_banner: a dictionary has no main.cf form",
        ),
        (
            None,
            {"smtpd_banner": "two\nlines"},
            r"server_main_extra.smtpd_banner: .* contains a line break",
        ),
    ],
)
def test_main_rejects_bad_input(admin, extra, message):
    with pytest.raises(ConfigError, match=message) as err:
        main(admin, extra)
    assert "Allowed:" in str(err.value)


@pytest.mark.parametrize(
    ("contributions", "message"),
    [
        ({"tls": ["a"]}, r"sbs_postfix_contributions.tls: .* is not a dictionary"),
        ({"tls": {"mian": {}}}, r"sbs_postfix_contributions.tls: unknown key\(s\) mian"),
        ({"tls": {"main": []}}, r"sbs_postfix_contributions.tls.main: is not a dictionary"),
        (
            {"tuning": {"main": {"default_process_limit": -5}}},
            r"sbs_postfix_contributions.tuning.main.default_process_limit: -5 is negative",
        ),
    ],
)
def test_main_rejects_bad_contributions(contributions, message):
    with pytest.raises(ConfigError, match=message):
        main(contributions=contributions)


# ---------------------------------------------------------------- host checks

FACTS = {
    "interfaces": ["lo", "eth0"],
    "lo": {"ipv4": {"address": "127.0.0.1"}, "ipv6": [{"address": "::1"}]},
    "eth0": {
        "ipv4": {"address": "10.88.0.5"},
        "ipv4_secondaries": [{"address": "10.88.0.6"}],
        "ipv6": [{"address": "fe80::1%eth0"}],
    },
    "all_ipv4_addresses": ["10.88.0.5", "10.88.0.6"],
}


def test_host_addresses():
    assert facts_addresses(FACTS) == [
        "10.88.0.5",
        "10.88.0.6",
        "127.0.0.1",
        "::1",
        "fe80::1",
    ]


@pytest.mark.parametrize(
    "interfaces",
    [
        ["all"],
        ["loopback-only"],
        ["127.0.0.1", "10.88.0.6"],
        ["::1"],
        ["[::1]"],
        ["mail.example.test"],
        "127.0.0.1, 10.88.0.5",
    ],
)
def test_check_interfaces_accepts(interfaces):
    addresses = facts_addresses(FACTS)
    resolved = {"mail.example.test": ["10.88.0.5"]}
    assert check_interfaces(interfaces, addresses, resolved) == interfaces
    assert interface_problems(interfaces, addresses, resolved) == []


@pytest.mark.parametrize(
    ("interfaces", "resolved", "message"),
    [
        (
            ["192.0.2.1"],
            {},
            r"server_inet_interfaces\[0\]: 192.0.2.1 is not an address of this host. Allowed: .*10.88.0.5",
        ),
        (
            ["nosuchif"],
            {},
            r"server_inet_interfaces\[0\]: 'nosuchif' does not resolve on this host",
        ),
        (
            ["127.0.0.1", "elsewhere.example"],
            {"elsewhere.example": ["192.0.2.7"]},
            r"server_inet_interfaces\[1\]: 'elsewhere.example' resolves to 192.0.2.7, none of which",
        ),
    ],
)
def test_check_interfaces_rejects(interfaces, resolved, message):
    with pytest.raises(ConfigError, match=message):
        check_interfaces(interfaces, facts_addresses(FACTS), resolved)


def test_interface_problems_lists_every_bad_entry():
    interfaces = ["127.0.0.1", "192.0.2.1", "nosuchif", "10.88.0.6", "elsewhere.example"]
    resolved = {"elsewhere.example": ["192.0.2.7", "2001:db8::7"]}
    problems = interface_problems(interfaces, facts_addresses(FACTS), resolved)
    assert [problem.split(": ")[0] for problem in problems] == [
        "server_inet_interfaces[1]",
        "server_inet_interfaces[2]",
        "server_inet_interfaces[4]",
    ]
    assert "resolves to 192.0.2.7, 2001:db8::7, none of which" in problems[2]
    with pytest.raises(ConfigError) as err:
        check_interfaces(interfaces, facts_addresses(FACTS), resolved)
    assert err.value.problems == problems


def test_interface_problems_of_a_value_that_is_no_list():
    assert interface_problems({"eth0": "10.88.0.5"}, facts_addresses(FACTS), variable="x") == [
        "x: {'eth0': '10.88.0.5'} is a dict. Allowed: a list of strings."
    ]


@pytest.mark.parametrize(
    ("interfaces", "names"),
    [
        (["all"], []),
        (["127.0.0.1", "[::1]", "mail.example.test"], ["mail.example.test"]),
        ("loopback-only", []),
    ],
)
def test_interface_names(interfaces, names):
    assert interface_names(interfaces) == names


# ---------------------------------------------------------------- the merge's shape


def test_merge_result_shape():
    result = merge_main(
        {"message_size_limit": 1048576},
        contributions={
            "tuning": {
                "main": {"default_process_limit": 150},
                "reasons": {"default_process_limit": "4 cores"},
            }
        },
        defaults=DEFAULTS,
    )
    assert list(result.as_dict()) == ["parameters", "sources", "variables", "reasons", "notes"]
    assert result.variables["message_size_limit"] == "server_message_size_limit"
    assert (
        result.variables["default_process_limit"]
        == "sbs_postfix_contributions.tuning.main.default_process_limit"
    )
    assert result.variables["smtpd_banner"] == "SBS default smtpd_banner"


def test_contribution_may_carry_apply_requests():
    """`apply` belongs to the restart/reload decision (plugin_utils/_apply.py), not the merge."""
    result = main(contributions={"tls": {"apply": {"reload": "certificate renewed"}}})
    assert result["parameters"] == main()["parameters"]


def test_required_value_wins_over_derived_and_default():
    result = main(
        contributions={
            "a": {"main": {"smtpd_banner": "$myhostname ESMTP"}},
            "b": {"main_required": {"smtpd_banner": "$myhostname ESMTP"}},
        }
    )
    assert result["sources"]["smtpd_banner"] == "role b (required)"
    assert result["variables"]["smtpd_banner"] == (
        "sbs_postfix_contributions.b.main_required.smtpd_banner"
    )


def test_append_to_a_parameter_the_admin_removed():
    result = main(
        extra={"smtpd_milters": None},
        contributions={
            "dkim": {
                "main_append": {"smtpd_milters": ["inet:127.0.0.1:8891"]},
                "reasons": {"smtpd_milters": "OpenDKIM signs"},
            }
        },
    )
    assert result["parameters"]["smtpd_milters"] == "inet:127.0.0.1:8891"
    assert result["sources"]["smtpd_milters"] == "appended by dkim"
    assert (
        result["variables"]["smtpd_milters"]
        == "sbs_postfix_contributions.dkim.main_append.smtpd_milters"
    )
    assert result["notes"] == {"smtpd_milters": "OpenDKIM signs"}


def test_reasons_of_a_role_whose_value_lost_are_reported_but_not_noted():
    result = main(
        {"message_size_limit": 1048576},
        contributions={
            "tuning": {
                "main": {"message_size_limit": 2097152},
                "reasons": {"message_size_limit": "measured"},
            }
        },
    )
    assert result["reasons"] == {"message_size_limit": "tuning: measured"}
    assert result["notes"] == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"a": 1}, r"server_x: a dictionary has no main.cf form"),
        ([["nested"]], r"server_x\[0\]: \[\'nested\'\] is not a scalar"),
        ("a\rb", r"contains a line break"),
    ],
)
def test_render_value_names_the_variable(value, message):
    with pytest.raises(ConfigError, match=message):
        render_value(value, "server_x")


# ---------------------------------------------------------------- every problem at once


def test_config_error_holds_its_problems():
    one = ConfigError("server_x: 'a' is not valid. Allowed: b.")
    assert one.problems == ["server_x: 'a' is not valid. Allowed: b."]
    assert str(one) == "server_x: 'a' is not valid. Allowed: b."
    several = ConfigError("server_x: one.", "server_y: two.")
    assert several.problems == ["server_x: one.", "server_y: two."]
    assert str(several) == "server_x: one.\nserver_y: two."


def test_problems_records_instead_of_raising():
    problems = Problems()
    with problems.check("mynetworks"):
        mynetworks(["10.1.2.3/8"])
    with problems.check():
        render_duration("soon", "server_queue_run_delay")
    with problems.check("myhostname"):
        pass
    assert problems.failed == {"mynetworks"}
    assert len(problems.messages) == 2
    with pytest.raises(ConfigError) as err:
        problems.raise_any()
    assert err.value.problems == problems.messages
    Problems().raise_any()  # nothing recorded, nothing raised


def test_main_reports_every_independent_problem():
    with pytest.raises(ConfigError) as err:
        main(
            {"mynetworks": ["192.0.2.0/24", "10.1.2.3/8"], "queue_run_delay": "5 minutes"},
            extra={"smtpd-banner": "$myhostname ESMTP", "smtp_host_lookup": "native"},
        )
    assert err.value.problems == [
        "server_main_extra.smtpd-banner: 'smtpd-banner' is not a Postfix parameter name. "
        "Allowed: lower-case letters, digits and underscores.",
        "server_mynetworks[1]: '10.1.2.3/8' has host bits set (did you mean 10.0.0.0/8?). "
        "Allowed: an IPv4 or IPv6 network in CIDR form (192.0.2.0/24, [2001:db8::]/32) "
        "or a single address.",
        "server_queue_run_delay: '5 minutes' is not a duration. "
        "Allowed: a duration: digits with a unit s, m, h, d or w (300s, 5d).",
    ]


def test_main_reports_every_contribution_problem():
    with pytest.raises(ConfigError) as err:
        main(
            {"milter_default_action": "tempfail"},
            contributions={
                "dkim": {
                    "main_required": {"milter_default_action": "accept"},
                    "main_append": {"smtpd_milters": {"socket": "local:opendkim/opendkim.sock"}},
                },
                "tls": {"mian": {}},
                "tuning": {
                    "main": {"default_process_limit": -5, "queue_run_delay": "300s"},
                    "reasons": {"default_process_limit": ["4 cores"]},
                },
            },
        )
    assert [problem.split(": ")[0] for problem in err.value.problems] == [
        "sbs_postfix_contributions.dkim.main_append.smtpd_milters",
        "sbs_postfix_contributions.tls",
        "sbs_postfix_contributions.tuning.main.default_process_limit",
        "sbs_postfix_contributions.tuning.reasons.default_process_limit",
        "server_milter_default_action",
    ]


@pytest.mark.parametrize(
    ("admin", "problem"),
    [
        (
            {"smtpd_relay_restrictions": {"permit_mynetworks": True}},
            "server_smtpd_relay_restrictions: {'permit_mynetworks': True} is a dict. "
            "Allowed: a list of strings.",
        ),
        (
            {"smtpd_relay_restrictions": ["permit_mynetworks", ["reject_unauth_destination"]]},
            "server_smtpd_relay_restrictions[1]: ['reject_unauth_destination'] is not a string. "
            "Allowed: a list of strings.",
        ),
        (
            {"mailbox_size_limit": 1048576, "message_size_limit": "50M"},
            "server_message_size_limit: '50M' is not an integer. Allowed: an integer >= 0 (bytes).",
        ),
    ],
)
def test_checks_across_parameters_skip_a_parameter_with_its_own_problem(admin, problem):
    """Judging what is left of a refused value would add a misleading second message (an open
    relay, a mailbox limit below a default message limit)."""
    with pytest.raises(ConfigError) as err:
        main(admin)
    assert err.value.problems == [problem]


def test_checks_across_parameters_still_run_beside_other_problems():
    with pytest.raises(ConfigError) as err:
        main({"smtpd_relay_restrictions": ["permit_mynetworks"], "myhostname": "mail"})
    assert [problem.split(": ")[0] for problem in err.value.problems] == [
        "server_myhostname",
        "smtpd_relay_restrictions (from inventory (server_smtpd_relay_restrictions))",
    ]
