# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/plugin_utils/_risks.py: each rule on both sides of its threshold,
acknowledged risks as warnings, the values refused even when acknowledged, and messages that
name the variable the admin wrote.

Public networks here are real allocations (1.0.0.0/8 APNIC, 2a01:4f8::/32 Hetzner): the
documentation ranges (192.0.2.0/24, 2001:db8::/32) are not global for ``ipaddress``."""

from __future__ import annotations

import pathlib

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils import _sizing as sz
from ansible_collections.sbs.postfix.plugins.plugin_utils._risks import (
    ACCEPT_VARIABLE,
    PID_MAX_LIMIT,
    RISK_NAMES,
    RiskError,
    assess,
    check_accepted,
    memory_for_postfix,
    risks_report,
    server_settings,
    verdict,
)

GIB = sz.GIB
MIB = sz.MIB


def networks(*items, host=None, accepted=(), variable="server_mynetworks"):
    return assess({"mynetworks": {"value": list(items), "variable": variable}}, accepted, host)


def names(risks):
    return [(risk.name, risk.value) for risk in risks]


# --------------------------------------------------------------------------------------------
# mynetworks


def test_sbs_default_mynetworks_is_safe():
    assert networks("127.0.0.0/8", "[::1]/128") == []


@pytest.mark.parametrize(
    ("network", "wide"),
    [
        ("192.168.1.0/24", False),
        ("192.168.0.0/23", True),
        ("10.0.0.0/8", True),
        ("192.168.1.10/32", False),
        ("[fd12:3456:789a::]/48", False),
        ("[fd12:3456:7800::]/47", True),
        ("[fd12:3456:789a:1::]/64", False),
        ("[fc00::]/7", True),
        ("100.64.0.0/10", True),
    ],
)
def test_private_networks_wider_than_a_site_are_wide(network, wide):
    expected = [("wide_mynetworks", network)] if wide else []
    assert names(networks(network)) == expected


def test_wide_private_network_is_acknowledgeable():
    [risk] = networks("10.0.0.0/8", accepted=["wide_mynetworks"])
    assert risk.acknowledged and not risk.refused and not risk.fails


@pytest.mark.parametrize(
    "network", ["0.0.0.0/0", "[::]/0", "::/0", "0.0.0.0/1", "128.0.0.0/1", "0.0.0.0/7"]
)
def test_the_internet_is_refused_even_when_acknowledged(network):
    [risk] = networks(network, accepted=["wide_mynetworks", "public_mynetworks"])
    assert risk.name == "wide_mynetworks"
    assert risk.refused and risk.fails
    assert "open relay" in risk.message
    assert "does not allow it" in risk.message
    assert risk.message.startswith(f"server_mynetworks: {network} ")


@pytest.mark.parametrize(
    ("network", "refused"),
    [
        ("1.0.0.0/8", False),
        ("0.0.0.0/7", True),
        ("[2a00::]/16", False),
        ("[2a00::]/15", True),
    ],
)
def test_public_refusal_boundary(network, refused):
    risks = networks(network, accepted=["wide_mynetworks", "public_mynetworks"])
    assert any(risk.refused for risk in risks) is refused
    if not refused:
        assert sorted(risk.name for risk in risks) == ["public_mynetworks", "wide_mynetworks"]
        assert not any(risk.fails for risk in risks)


def test_public_network_the_host_does_not_own():
    [risk] = networks("1.2.3.4/32")
    assert risk.name == "public_mynetworks"
    assert not risk.refused and risk.fails
    assert "public address space this host does not own" in risk.message
    assert f"adding public_mynetworks to {ACCEPT_VARIABLE}" in risk.message


@pytest.mark.parametrize("address", ["1.2.3.4", "1.2.3.4/24", "[1.2.3.4]"])
def test_the_hosts_own_public_address_is_not_a_risk(address):
    assert networks("1.2.3.4/32", "1.2.3.4", host={"addresses": [address]}) == []


def test_ipv6_own_address_with_zone_and_prefix():
    host = {"addresses": ["2a01:4f8:1:2::5/64"]}
    assert networks("[2a01:4f8:1:2::5]/128", host=host) == []


def test_the_hosts_public_neighbours_are_a_risk():
    """On a provider's public /24 the other hosts are other customers."""
    host = {"addresses": ["1.2.3.4/24"]}
    assert names(networks("1.2.3.0/24", host=host)) == [("public_mynetworks", "1.2.3.0/24")]
    assert names(networks("1.2.3.4/31", host=host)) == [("public_mynetworks", "1.2.3.4/31")]


def test_a_network_of_only_host_addresses_is_owned():
    host = {"addresses": ["1.2.3.4", "1.2.3.5"]}
    assert networks("1.2.3.4/31", host=host) == []


def test_without_host_addresses_every_public_network_is_a_risk():
    assert names(networks("1.2.3.4")) == [("public_mynetworks", "1.2.3.4")]


def test_wide_and_public_are_two_risks_each_to_acknowledge():
    risks = networks("1.2.0.0/16", accepted=["wide_mynetworks"])
    assert [(risk.name, risk.fails) for risk in risks] == [
        ("wide_mynetworks", False),
        ("public_mynetworks", True),
    ]


def test_postfix_text_form_and_entries_that_cannot_be_judged():
    value = "127.0.0.0/8, [::1]/128 192.168.0.0/16,!10.0.0.0/8 hash:/etc/postfix/net /etc/nets"
    risks = assess({"mynetworks": {"value": value, "variable": "server_main_extra.mynetworks"}})
    assert names(risks) == [("wide_mynetworks", "192.168.0.0/16")]
    assert risks[0].variable == "server_main_extra.mynetworks"


def test_every_mynetworks_variable_is_judged_under_its_own_name():
    risks = assess(
        {
            "mynetworks": [
                {"value": ["10.0.0.0/16"], "variable": "server_mynetworks"},
                {"value": ["10.0.0.0/16"], "variable": "dkim_mynetworks"},
            ]
        }
    )
    assert [risk.variable for risk in risks] == ["server_mynetworks", "dkim_mynetworks"]


def test_unreadable_network_names_the_variable():
    with pytest.raises(RiskError, match=r"^server_mynetworks: 'lan' is not a network"):
        networks("lan")


# --------------------------------------------------------------------------------------------
# TLS protocols

TLS_SETTINGS = [
    ("smtpd_tls_protocols", "tls_server_protocols"),
    ("smtpd_tls_mandatory_protocols", "tls_server_mandatory_protocols"),
    ("smtp_tls_protocols", "tls_client_protocols"),
    ("smtp_tls_mandatory_protocols", "tls_client_mandatory_protocols"),
]


@pytest.mark.parametrize(("setting", "variable"), TLS_SETTINGS)
@pytest.mark.parametrize(
    ("spec", "weak"),
    [
        (">=TLSv1.2", []),
        (">=TLSv1.3", []),
        (">=TLSv1.1", ["TLSv1.1"]),
        (">=TLSv1", ["TLSv1", "TLSv1.1"]),
        (">=TLSv1.2 <=TLSv1.3", []),
        ("<=TLSv1.3", ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1"]),
        ("!SSLv2, !SSLv3, !TLSv1, !TLSv1.1", []),
        ("!SSLv2, !SSLv3, !TLSv1", ["TLSv1.1"]),
        ("!SSLv2:!SSLv3:!TLSv1:!TLSv1.1", []),
        ("!SSLv2 !SSLv3 !TLSv1 !TLSv1.1", []),
        ("!SSLv2, !SSLv3", ["TLSv1", "TLSv1.1"]),
        ("TLSv1.2 TLSv1.3", []),
        ("TLSv1.1, TLSv1.2", ["TLSv1.1"]),
        (["TLSv1.2", "TLSv1.3"], []),
        ("", ["SSLv2", "SSLv3", "TLSv1", "TLSv1.1"]),
    ],
)
def test_tls_floor_in_every_syntax(setting, variable, spec, weak):
    risks = assess({setting: {"value": spec, "variable": variable}})
    if not weak:
        assert risks == []
        return
    [risk] = risks
    assert risk.name == "weak_tls_protocols"
    assert risk.variable == variable
    assert f"allows {', '.join(weak)}," in risk.message
    assert risk.message.startswith(f"{variable}: ")
    assert setting not in risk.message


def test_weak_tls_acknowledged_is_a_warning():
    report = risks_report(
        {"smtpd_tls_protocols": {"value": ">=TLSv1", "variable": "tls_server_protocols"}},
        ["weak_tls_protocols"],
    )
    assert report["failures"] == []
    assert report["warnings"] == [
        "tls_server_protocols: '>=TLSv1' allows TLSv1, TLSv1.1, deprecated or broken protocols "
        "below TLSv1.2 (RFC 8996); '>=TLSv1.2' is safe (accepted: weak_tls_protocols in "
        "sbs_postfix_accept_risks)."
    ]


# --------------------------------------------------------------------------------------------
# smtpd_tls_auth_only


def auth(auth_only, offered=True):
    settings = {"sasl_auth_offered": {"value": offered, "variable": "server_submission"}}
    if auth_only is not None:
        settings["smtpd_tls_auth_only"] = {"value": auth_only, "variable": "tls_auth_only"}
    return assess(settings)


@pytest.mark.parametrize("auth_only", [True, "yes", "YES"])
def test_auth_only_on_is_safe(auth_only):
    assert auth(auth_only) == []


@pytest.mark.parametrize("auth_only", [False, "no"])
def test_auth_only_off_with_sasl_is_a_risk(auth_only):
    [risk] = auth(auth_only)
    assert risk.name == "tls_auth_optional"
    assert risk.variable == "tls_auth_only"
    assert risk.message.startswith(f"tls_auth_only: {'false' if auth_only is False else 'no'} ")
    assert "before STARTTLS" in risk.message
    assert "server_submission" in risk.message


def test_auth_only_unset_is_postfixs_no():
    [risk] = auth(None)
    assert risk.variable == "server_submission"
    assert "Postfix's default: no" in risk.message


@pytest.mark.parametrize("auth_only", [False, None])
def test_no_sasl_no_risk(auth_only):
    assert auth(auth_only, offered=False) == []
    assert assess({"smtpd_tls_auth_only": {"value": False, "variable": "tls_auth_only"}}) == []


def test_unreadable_boolean_names_the_variable():
    with pytest.raises(RiskError, match=r"^tls_auth_only: 'maybe' is not yes or no"):
        auth("maybe")


# --------------------------------------------------------------------------------------------
# DKIM key size


def dkim(bits, accepted=(), variable="dkim_key_bits"):
    return assess({"dkim_key_bits": [{"value": bits, "variable": variable}]}, accepted)


@pytest.mark.parametrize("bits", [2048, 4096, "2048"])
def test_dkim_2048_and_more_is_safe(bits):
    assert dkim(bits) == []


@pytest.mark.parametrize("bits", [2047, 1024])
def test_dkim_1024_to_2047_is_acknowledgeable(bits):
    [risk] = dkim(bits)
    assert (risk.name, risk.value, risk.refused, risk.fails) == ("weak_dkim_key", bits, False, True)
    [risk] = dkim(bits, ["weak_dkim_key"])
    assert not risk.fails


@pytest.mark.parametrize("bits", [1023, 512])
def test_dkim_below_1024_is_refused_even_when_acknowledged(bits):
    [risk] = dkim(bits, ["weak_dkim_key"], "dkim_domains[0].selectors[1].bits")
    assert risk.refused and risk.fails
    assert risk.message.startswith(f"dkim_domains[0].selectors[1].bits: a {bits}-bit RSA key")
    assert "RFC 8301 forbids RSA keys below 1024 bits" in risk.message


@pytest.mark.parametrize("bits", ["big", True, -1, 2048.0])
def test_dkim_bits_that_are_not_a_number(bits):
    with pytest.raises(RiskError, match=r"^dkim_key_bits: .* is not a whole number of bits"):
        dkim(bits)


# --------------------------------------------------------------------------------------------
# Process limits against memory

HOST_4G = {"mem_total": 4 * GIB}
USABLE_4G = 4 * GIB - sz.os_reserve(4 * GIB)


def limits(settings, accepted=()):
    return assess(settings, accepted, HOST_4G)


def maxproc(value, command="smtpd", service="smtp/inet", variable="server_master_overrides"):
    return {
        "maxproc": [{"value": value, "variable": variable, "service": service, "command": command}]
    }


def test_usable_memory_is_ram_less_the_sizing_os_reserve():
    assert memory_for_postfix(4 * GIB) == USABLE_4G == 4 * GIB - 4 * GIB // 10
    assert memory_for_postfix(1 * GIB) == 768 * MIB
    assert memory_for_postfix(64 * GIB) == 62 * GIB


def test_smtpd_memory_boundary():
    fit = USABLE_4G // sz.MEM_PER_INBOUND_SESSION
    assert limits(maxproc(fit)) == []
    [risk] = limits(maxproc(fit + 1, variable="tuning_overrides.smtpd_maxproc"))
    assert risk.name == "limits_beyond_memory"
    assert risk.value == fit + 1 and risk.fails and not risk.refused
    assert risk.message.startswith(f"tuning_overrides.smtpd_maxproc: {fit + 1:,} smtp/inet ")
    assert f"{fit:,} fit" in risk.message


@pytest.mark.parametrize("command", ["smtp", "lmtp"])
def test_delivery_agent_memory_boundary(command):
    fit = USABLE_4G // sz.MEM_PER_DELIVERY_AGENT
    assert limits(maxproc(fit, command, f"{command}/unix")) == []
    assert names(limits(maxproc(fit + 1, command, f"{command}/unix"))) == [
        ("limits_beyond_memory", fit + 1)
    ]


def test_default_process_limit_counts_as_smtpd_sessions():
    fit = USABLE_4G // sz.MEM_PER_INBOUND_SESSION
    entry = {"variable": "server_default_process_limit"}
    assert limits({"default_process_limit": {**entry, "value": fit}}) == []
    [risk] = limits({"default_process_limit": {**entry, "value": fit + 1}})
    assert risk.variable == "server_default_process_limit"


def test_memory_risk_is_acknowledgeable():
    [risk] = limits(maxproc(10000), ["limits_beyond_memory"])
    assert not risk.fails


def test_no_limit_on_a_sized_service_is_a_risk():
    [risk] = limits(maxproc(0, "smtp", "relay/unix"))
    assert "0 puts no limit on relay/unix delivery agents" in risk.message


@pytest.mark.parametrize(
    ("value", "command"), [(0, "cleanup"), (0, "bounce"), ("-", "smtpd"), (10**6, "pipe")]
)
def test_unsized_commands_and_the_default_are_not_judged_per_service(value, command):
    assert limits(maxproc(value, command, f"{command}/unix")) == []


def test_a_billion_is_refused_even_when_acknowledged_and_without_memory():
    settings = {"default_process_limit": {"value": 10**9, "variable": "tuning_overrides.x"}}
    for host in (HOST_4G, None):
        [risk] = assess(settings, ["limits_beyond_memory"], host)
        assert risk.refused and risk.fails
        assert "PID_MAX_LIMIT is 4,194,304" in risk.message
    assert assess({**maxproc(PID_MAX_LIMIT)}) == []
    [risk] = assess({**maxproc(PID_MAX_LIMIT + 1)})
    assert risk.refused


def test_without_memory_only_the_pid_limit_is_checked():
    assert assess(maxproc(100000)) == []
    assert assess(maxproc(0)) == []


COMMANDS = {"smtp/inet": "smtpd", "smtp/unix": "smtp", "relay/unix": "smtp", "lmtp/unix": "lmtp"}
MACHINES = [
    {"cpus": 1, "mem_total": 1 * GIB},
    {"cpus": 2, "mem_total": 2 * GIB},
    {"cpus": 4, "mem_total": 8 * GIB, "rotational": True},
    {"cpus": 32, "mem_total": 128 * GIB},
]


@pytest.mark.parametrize("profile", sorted(sz.PROFILES))
@pytest.mark.parametrize("hardware", MACHINES, ids=lambda m: f"{m['cpus']}cpu")
def test_sizing_recommendations_never_trigger_the_rule(hardware, profile):
    recommended = sz.recommend(hardware, profile)
    settings = {
        "default_process_limit": {
            "value": recommended["default_process_limit"]["value"],
            "variable": "tuning",
        },
        "maxproc": [
            {
                "value": recommended[name]["value"],
                "variable": "tuning",
                "service": service,
                "command": COMMANDS[service],
            }
            for name, services in sz.MASTER_SERVICES.items()
            for service in services
        ],
    }
    assert assess(settings, host=hardware) == []


def test_unreadable_memory_is_an_error():
    with pytest.raises(RiskError, match="host mem_total"):
        assess(maxproc(10), host={"mem_total": "4G"})


# --------------------------------------------------------------------------------------------
# Acknowledgements and the verdict


def test_unknown_acknowledgement_is_a_failure_listing_the_known_names():
    failures, warnings = verdict([], ["open_relay", "weak_dkim_key"])
    assert failures == [
        f"{ACCEPT_VARIABLE}[0]: 'open_relay' is not a risk name; known: "
        "limits_beyond_memory, public_mynetworks, tls_auth_optional, weak_dkim_key, "
        "weak_tls_protocols, wide_mynetworks"
    ]
    assert warnings == []


def test_acknowledgements_must_be_a_list():
    names_, errors = check_accepted("weak_dkim_key")
    assert names_ == frozenset()
    assert errors[0].startswith(f"{ACCEPT_VARIABLE}: 'weak_dkim_key' is not a list")


def test_an_invalid_entry_does_not_hide_the_valid_ones():
    [risk] = dkim(1024, ["weak_dkim_key", "typo"])
    assert risk.acknowledged


def test_risk_names_are_stable():
    assert RISK_NAMES == (
        "limits_beyond_memory",
        "public_mynetworks",
        "tls_auth_optional",
        "weak_dkim_key",
        "weak_tls_protocols",
        "wide_mynetworks",
    )


def test_every_risk_is_documented():
    page = pathlib.Path(__file__).resolve().parents[4] / "docs" / "risks.md"
    text = page.read_text(encoding="utf-8")
    for name in RISK_NAMES:
        assert f"### `{name}`" in text, f"docs/risks.md has no section for {name}"


def test_report_sorts_failures_and_warnings():
    settings = {
        "mynetworks": {"value": ["0.0.0.0/0", "10.0.0.0/16"], "variable": "server_mynetworks"},
        "dkim_key_bits": {"value": 1024, "variable": "dkim_key_bits"},
    }
    report = risks_report(settings, ["wide_mynetworks", "weak_dkim_key"])
    assert [risk["name"] for risk in report["risks"]] == [
        "wide_mynetworks",
        "wide_mynetworks",
        "weak_dkim_key",
    ]
    assert report["risks"][0] == {
        "name": "wide_mynetworks",
        "variable": "server_mynetworks",
        "value": "0.0.0.0/0",
        "message": report["failures"][0],
        "acknowledged": True,
        "refused": True,
        "fails": True,
    }
    assert len(report["failures"]) == 1
    assert len(report["warnings"]) == 2
    assert all("(accepted: " in line for line in report["warnings"])


def test_unacknowledged_message_says_how_to_fix_or_accept():
    [risk] = dkim(1024)
    assert risk.message == (
        "dkim_key_bits: a 1024-bit RSA key is below the 2048 bits RFC 8301 asks signers to use. "
        "Change dkim_key_bits, or accept the risk by adding weak_dkim_key to "
        "sbs_postfix_accept_risks."
    )


# --------------------------------------------------------------------------------------------
# Input shape


def test_nothing_to_judge():
    assert assess(None) == []
    assert assess({}) == []
    assert assess({"mynetworks": {"value": None, "variable": "server_mynetworks"}}) == []


def test_unknown_setting_is_a_wiring_error():
    with pytest.raises(RiskError, match=r"unknown setting\(s\) smtpd_tls_protcols; known: "):
        assess({"smtpd_tls_protcols": {"value": ">=TLSv1", "variable": "x"}})


@pytest.mark.parametrize("entry", [">=TLSv1", {"value": ">=TLSv1"}, {"variable": "x"}])
def test_entry_needs_value_and_variable(entry):
    with pytest.raises(RiskError, match=r"^smtpd_tls_protocols: .* value and variable"):
        assess({"smtpd_tls_protocols": entry})


def test_settings_must_be_a_dictionary():
    with pytest.raises(RiskError, match="must be a dictionary"):
        assess(["mynetworks"])


# --------------------------------------------------------------------------------------------
# server_settings: what the server role renders, judged under the variables the admin wrote


def _rendered(admin=None, extra=None, contributions=None, services=None, overrides=None):
    from ansible_collections.sbs.postfix.plugins.plugin_utils._main_cf import merge_main
    from ansible_collections.sbs.postfix.plugins.plugin_utils._master_cf import (
        merge_master,
        submission_services,
    )
    from ansible_collections.sbs.postfix.plugins.plugin_utils._stock_master_cf import (
        stock_services,
    )

    defaults = {
        "smtpd_relay_restrictions": [
            "permit_mynetworks",
            "permit_sasl_authenticated",
            "reject_unauth_destination",
        ]
    }
    main_cf = merge_main(admin or {}, extra or {}, contributions or {}, defaults).as_dict()
    optional = submission_services({"submission": {"enabled": True}})
    master = merge_master(stock_services("3.7"), services, overrides, contributions, optional)
    return main_cf, [svc.as_dict() for svc in master]


def test_server_settings_name_the_variables_the_admin_wrote():
    main_cf, master = _rendered(
        admin={"mynetworks": ["10.0.0.0/16"]},
        extra={"smtpd_tls_protocols": ">=TLSv1", "default_process_limit": 1000000000},
        overrides={"smtp/inet": {"maxproc": 900}},
    )
    settings = server_settings(
        main_cf, master, {"server_master_overrides": {"smtp/inet": {"maxproc": 900}}}
    )
    assert settings["mynetworks"]["variable"] == "server_mynetworks"
    assert settings["smtpd_tls_protocols"] == {
        "value": ">=TLSv1",
        "variable": "server_main_extra.smtpd_tls_protocols",
    }
    assert (
        settings["default_process_limit"]["variable"] == "server_main_extra.default_process_limit"
    )
    smtp = next(entry for entry in settings["maxproc"] if entry["service"] == "smtp/inet")
    assert smtp == {
        "value": "900",
        "variable": "server_master_overrides['smtp/inet'].maxproc",
        "service": "smtp/inet",
        "command": "smtpd",
    }
    report = risks_report(settings, [], {"mem_total": 4 * 1024**3})
    names = {risk["name"] for risk in report["risks"]}
    assert {"wide_mynetworks", "weak_tls_protocols", "limits_beyond_memory"} <= names


def test_submission_enforces_tls_so_auth_only_is_not_judged():
    main_cf, master = _rendered()
    assert "sasl_auth_offered" not in server_settings(main_cf, master)


def test_auth_on_port_25_without_tls_enforced_is_judged():
    main_cf, master = _rendered(extra={"smtpd_sasl_auth_enable": True})
    settings = server_settings(main_cf, master)
    assert settings["sasl_auth_offered"]["value"] is True
    assert "smtp/inet" in settings["sasl_auth_offered"]["variable"]
    report = risks_report(settings, [])
    assert [risk["name"] for risk in report["risks"]] == ["tls_auth_optional"]


def test_a_tls_role_value_is_named_by_the_tls_variable():
    contributions = {"tls": {"main": {"smtpd_tls_auth_only": False}}}
    main_cf, master = _rendered(extra={"smtpd_sasl_auth_enable": True}, contributions=contributions)
    settings = server_settings(main_cf, master)
    assert settings["smtpd_tls_auth_only"]["variable"] == "tls_auth_only"
    # The tls role's protocols are the tls role's to judge, under its own variables.
    contributions = {"tls": {"main": {"smtpd_tls_protocols": ">=TLSv1"}}}
    main_cf, master = _rendered(contributions=contributions)
    assert "smtpd_tls_protocols" not in server_settings(main_cf, master)
