# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The server role's authenticated relay: credentials, TLS policies, per-sender relays."""

from __future__ import annotations

import pytest

from ansible_collections.sbs.postfix.plugins.plugin_utils._relay import (
    nexthop_port,
    relay_plan,
)

RELAY = "[smtp.office365.com]:587"
SECRET = "Corr3ct horse:battery"  # a space and a colon inside are fine for Postfix


def _problems(**kwargs):
    return relay_plan(**kwargs)["problems"]


def test_provider_relay_with_credentials():
    plan = relay_plan(relayhost=RELAY, username="office@example.com", password=SECRET)
    assert plan["problems"] == []
    assert plan["credentials"] is True
    assert plan["sasl_entries"] == [[RELAY, None]]
    assert plan["tls_policy"] == [[RELAY, "encrypt"]]
    assert plan["sender_relayhosts"] == []
    assert plan["main"] == {
        "smtp_sasl_auth_enable": True,
        "smtp_sasl_tls_security_options": ["noanonymous"],
        "smtp_sasl_security_options": ["noplaintext", "noanonymous"],
    }
    assert set(plan["reasons"]) >= set(plan["main"]) | {"smtp_tls_policy_maps"}


def test_the_plan_never_holds_a_secret():
    plan = relay_plan(
        relayhost=RELAY,
        username="office@example.com",
        password=SECRET,
        senders={
            "@branch.example.com": {
                "relayhost": "[smtp.gmail.com]:587",
                "username": "b@example.com",
                "password": "Sender-Secret",
            }
        },
    )
    text = repr(plan)
    assert SECRET not in text and "Sender-Secret" not in text
    assert "office@example.com" not in text


def test_no_credentials_changes_nothing():
    plan = relay_plan(relayhost="[127.0.0.1]:2525")
    assert plan == {
        "problems": [],
        "credentials": False,
        "sasl_entries": [],
        "tls_policy": [],
        "sender_relayhosts": [],
        "main": {},
        "reasons": {},
    }
    assert relay_plan()["problems"] == []


def test_an_explicit_level_without_credentials_is_written():
    plan = relay_plan(relayhost="[mx.example.net]:25", tls_level="may")
    assert plan["problems"] == [] and plan["tls_policy"] == [["[mx.example.net]:25", "may"]]


@pytest.mark.parametrize("level", ["verify", "secure"])
def test_stronger_levels_with_credentials(level):
    plan = relay_plan(relayhost=RELAY, username="u", password="p", tls_level=level)
    assert plan["problems"] == [] and plan["tls_policy"] == [[RELAY, level]]


@pytest.mark.parametrize(
    ("kwargs", "variable", "fragment"),
    [
        (
            {"username": "u", "password": "p"},
            "server_relayhost_username",
            "relayhost that is not set",
        ),
        (
            {"relayhost": "", "password": "p", "username": "u"},
            "server_relayhost_username",
            "not set",
        ),
        (
            {"password": "p"},
            "server_relayhost_username",
            "not set, but server_relayhost_password is",
        ),
        (
            {"relayhost": RELAY, "username": "u"},
            "server_relayhost_password",
            "not set, but server_relayhost_username is",
        ),
        (
            {"relayhost": RELAY, "username": "u", "password": "p", "tls_level": "may"},
            "server_relayhost_tls_security_level",
            "without TLS",
        ),
        (
            {"relayhost": RELAY, "username": "u", "password": "p", "tls_level": "none"},
            "server_relayhost_tls_security_level",
            "without TLS",
        ),
        (
            {"relayhost": RELAY, "tls_level": "dane-only"},
            "server_relayhost_tls_security_level",
            "is not a TLS security level",
        ),
        (
            {"tls_level": "encrypt"},
            "server_relayhost_tls_security_level",
            "relayhost that is not set",
        ),
        (
            {"relayhost": "[smtp.example.net]:465", "username": "u", "password": "p"},
            "server_relayhost",
            "smtps port",
        ),
        (
            {"relayhost": RELAY, "username": "Zq7:Wv", "password": "p"},
            "server_relayhost_username",
            "without colons",
        ),
        (
            {"relayhost": RELAY, "username": "u", "password": "Xk4\nQm"},
            "server_relayhost_password",
            "line breaks",
        ),
        (
            {"relayhost": RELAY, "username": "u", "password": " Yh2Jd"},
            "server_relayhost_password",
            "spaces at either end",
        ),
        (
            {
                "relayhost": RELAY,
                "username": "u",
                "password": "p",
                "main_extra": {"smtp_sasl_auth_enable": False},
            },
            "server_main_extra.smtp_sasl_auth_enable",
            "turns off",
        ),
        (
            {
                "relayhost": RELAY,
                "username": "u",
                "password": "p",
                "main_extra": {"smtp_sasl_auth_enable": "no"},
            },
            "server_main_extra.smtp_sasl_auth_enable",
            "turns off",
        ),
    ],
)
def test_bad_relay_input_names_the_variable(kwargs, variable, fragment):
    problems = _problems(**kwargs)
    assert any(p.startswith(variable + ":") and fragment in p for p in problems), problems
    for secret in ("Zq7", "Xk4", "Yh2Jd"):
        assert all(secret not in p for p in problems)


def test_relayhost_from_main_extra():
    plan = relay_plan(username="u", password="p", main_extra={"relayhost": RELAY})
    assert plan["problems"] == [] and plan["sasl_entries"] == [[RELAY, None]]
    problems = _problems(username="u", password="p", main_extra={"relayhost": "[x.example]:465"})
    assert problems[0].startswith("server_main_extra.relayhost:")


def test_per_sender_relays_and_credentials():
    plan = relay_plan(
        relayhost=RELAY,
        username="office@example.com",
        password="p",
        senders={
            "@branch.example.com": {
                "relayhost": "[smtp.gmail.com]:587",
                "username": "b@example.com",
                "password": "q",
            },
            "ceo@example.com": {"username": "ceo@example.com", "password": "r"},
            "news@example.com": {
                "relayhost": "[mail.service.example]:2525",
                "tls_security_level": "may",
            },
        },
    )
    assert plan["problems"] == []
    assert plan["sasl_entries"] == [
        [RELAY, None],
        ["@branch.example.com", "@branch.example.com"],
        ["ceo@example.com", "ceo@example.com"],
    ]
    assert plan["sender_relayhosts"] == [
        ["@branch.example.com", "[smtp.gmail.com]:587"],
        ["news@example.com", "[mail.service.example]:2525"],
    ]
    assert plan["tls_policy"] == [
        ["[mail.service.example]:2525", "may"],
        ["[smtp.gmail.com]:587", "encrypt"],
        [RELAY, "encrypt"],
    ]
    assert plan["main"]["smtp_sender_dependent_authentication"] is True


def test_sender_credentials_alone_enable_sasl():
    plan = relay_plan(
        relayhost=RELAY, senders={"ceo@example.com": {"username": "c", "password": "p"}}
    )
    assert plan["problems"] == [] and plan["credentials"] is True
    assert plan["tls_policy"] == [[RELAY, "encrypt"]]
    assert plan["main"]["smtp_sasl_auth_enable"] is True


@pytest.mark.parametrize(
    ("senders", "kwargs", "variable", "fragment"),
    [
        (
            {"not-an-address": {"relayhost": RELAY}},
            {},
            "server_sender_relayhosts['not-an-address']",
            "is not a sender",
        ),
        (
            {"a@b.example": "smtp.example.net"},
            {},
            "server_sender_relayhosts['a@b.example']",
            "is not a dictionary",
        ),
        (
            {"a@b.example": {"relay": RELAY}},
            {},
            "server_sender_relayhosts['a@b.example']",
            "unknown key(s) relay",
        ),
        (
            {"a@b.example": {"username": "u", "password": "p"}},
            {},
            "server_sender_relayhosts['a@b.example'].relayhost",
            "neither is server_relayhost",
        ),
        (
            {"a@b.example": {}},
            {"relayhost": RELAY},
            "server_sender_relayhosts['a@b.example']",
            "neither a relayhost nor credentials",
        ),
        (
            {"a@b.example": {"relayhost": RELAY, "username": "u"}},
            {},
            "server_sender_relayhosts['a@b.example'].password",
            "not set",
        ),
        (
            {"a@b.example": {"relayhost": "[s.example]:465", "username": "u", "password": "p"}},
            {},
            "server_sender_relayhosts['a@b.example'].relayhost",
            "smtps port",
        ),
        (
            {
                "a@b.example": {
                    "relayhost": RELAY,
                    "username": "u",
                    "password": "p",
                    "tls_security_level": "may",
                }
            },
            {},
            "server_sender_relayhosts['a@b.example'].tls_security_level",
            "without TLS",
        ),
        (
            {"a@b.example": {"relayhost": "[other.example]:587"}},
            {"sender_map": {"a@b.example": "[third.example]:587"}},
            "server_sender_relayhosts['a@b.example'].relayhost",
            "server_sender_dependent_relayhost_map",
        ),
        (
            {"a@b.example": {"relayhost": RELAY, "username": "u", "password": "p"}},
            {"main_extra": {"smtp_sender_dependent_authentication": "no"}},
            "server_main_extra.smtp_sender_dependent_authentication",
            "turns off",
        ),
        (
            {
                "a@b.example": {
                    "relayhost": RELAY,
                    "username": "u",
                    "password": "p",
                    "tls_security_level": "secure",
                }
            },
            {"relayhost": RELAY, "username": "o", "password": "p"},
            "server_sender_relayhosts['a@b.example'].tls_security_level",
            "conflicts with encrypt",
        ),
    ],
)
def test_bad_sender_input_names_the_entry(senders, kwargs, variable, fragment):
    problems = _problems(senders=senders, **kwargs)
    assert any(p.startswith(variable + ":") and fragment in p for p in problems), problems


def test_every_problem_is_reported_at_once():
    problems = _problems(
        username="u",
        password=" Yh2Jd",
        tls_level="may",
        senders={"x": {"relayhost": RELAY}, "a@b.example": {"username": "u"}},
    )
    variables = {p.split(":", 1)[0] for p in problems}
    assert {
        "server_relayhost_password",
        "server_relayhost_tls_security_level",
        "server_relayhost_username",
        "server_sender_relayhosts['x']",
        "server_sender_relayhosts['a@b.example'].password",
    } <= variables, problems


def test_same_sender_in_both_maps_agreeing_is_fine():
    plan = relay_plan(
        senders={"a@b.example": {"relayhost": RELAY}}, sender_map={"a@b.example": RELAY}
    )
    assert plan["problems"] == [] and plan["sender_relayhosts"] == [["a@b.example", RELAY]]


@pytest.mark.parametrize(
    ("nexthop", "port"),
    [
        ("[smtp.example.net]:587", "587"),
        ("[smtp.example.net]", None),
        ("smtp.example.net:submission", "submission"),
        ("smtp.example.net", None),
        ("[2001:db8::1]:25", "25"),
        ("[2001:db8::1]", None),
    ],
)
def test_nexthop_port(nexthop, port):
    assert nexthop_port(nexthop) == port
