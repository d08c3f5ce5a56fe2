# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for master.cf services, their merge and the submission/smtps definition
(plugins/plugin_utils/_master_cf.py)."""

from __future__ import annotations

import pytest

from ansible_collections.sbs.postfix.plugins.plugin_utils._main_cf import ConfigError
from ansible_collections.sbs.postfix.plugins.plugin_utils._master_cf import (
    merge_master,
    render_option,
    service_lines,
    service_listen_backlog,
    submission_options,
    submission_services,
)


def master(*args, **kwargs):
    return [service.as_dict() for service in merge_master(*args, **kwargs)]


# ---------------------------------------------------------------- master.cf

STOCK = [
    {"name": "smtp", "type": "inet", "private": False, "chroot": True, "command": "smtpd"},
    {
        "name": "pickup",
        "type": "unix",
        "private": False,
        "chroot": True,
        "wakeup": 60,
        "maxproc": 1,
        "command": "pickup",
    },
    {
        "name": "relay",
        "type": "unix",
        "chroot": True,
        "command": "smtp",
        "options": {"syslog_name": "postfix/$service_name"},
    },
    {
        "name": "postlog",
        "type": "unix-dgram",
        "private": False,
        "chroot": False,
        "maxproc": 1,
        "command": "postlogd",
    },
    {
        "name": "maildrop",
        "type": "unix",
        "unpriv": False,
        "chroot": False,
        "command": "pipe",
        "args": ["flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}"],
    },
]


def test_master_lines_match_debian_layout():
    assert service_lines(STOCK[0]) == [
        "smtp       inet  n       -       y       -       -       smtpd"
    ]
    assert service_lines(STOCK[1]) == [
        "pickup     unix  n       -       y       60      1       pickup"
    ]
    assert service_lines(STOCK[2])[1] == "  -o syslog_name=postfix/$service_name"
    assert service_lines(STOCK[3])[0].startswith("postlog    unix-dgram n ")
    assert (
        service_lines(STOCK[4])[1]
        == "  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}"
    )


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("smtpd_sasl_auth_enable", True, "-o smtpd_sasl_auth_enable=yes"),
        (
            "smtpd_client_restrictions",
            ["permit_sasl_authenticated", "reject"],
            "-o smtpd_client_restrictions=permit_sasl_authenticated,reject",
        ),
        ("smtpd_client_connection_count_limit", 10, "-o smtpd_client_connection_count_limit=10"),
        (
            "smtpd_banner",
            "$myhostname ESMTP ready",
            "-o { smtpd_banner = $myhostname ESMTP ready }",
        ),
        ("content_filter", "", "-o { content_filter =  }"),
    ],
)
def test_master_option(name, value, expected):
    assert render_option(name, value) == expected


def test_master_merge_order_overrides_and_contributions():
    services = master(
        STOCK,
        services=[
            {
                "name": "submission",
                "type": "inet",
                "private": False,
                "chroot": True,
                "command": "smtpd",
                "options": {"syslog_name": "postfix/submission"},
            },
            {"name": "maildrop", "type": "unix", "state": "absent"},
        ],
        overrides={
            "smtp/inet": {"maxproc": 20, "options": {"smtpd_client_connection_count_limit": 5}},
            "relay/unix": {"options": {"syslog_name": None}},
        },
        contributions={
            "tuning": {
                "master": {
                    "smtp/inet": {
                        "options": {"smtpd_client_connection_count_limit": 10},
                        "maxproc": 50,
                    }
                }
            },
            "dkim": {
                "services": [
                    {
                        "name": "127.0.0.1:10025",
                        "type": "inet",
                        "private": False,
                        "command": "smtpd",
                    }
                ]
            },
        },
    )
    keys = [f"{s['name']}/{s['type']}" for s in services]
    assert keys == [
        "smtp/inet",
        "pickup/unix",
        "relay/unix",
        "postlog/unix-dgram",
        "127.0.0.1:10025/inet",
        "submission/inet",
    ]
    smtp = services[0]
    assert smtp["maxproc"] == "20"
    assert smtp["options"] == {"smtpd_client_connection_count_limit": 5}
    assert services[2]["options"] == {}


def test_master_lines_of_merged_services():
    services = master(STOCK)
    assert [service_lines(s) for s in services] == [service_lines(s) for s in STOCK]


def test_master_admin_index_not_shifted_by_optional_services():
    submission = {"name": "submission", "type": "inet", "command": "smtpd"}
    with pytest.raises(ConfigError, match=r"server_master_services\[0\]\.type"):
        master(STOCK, [{"name": "x", "type": "tcp", "command": "smtpd"}], optional=[submission])
    services = master(STOCK, optional=[submission])
    assert services[-1]["name"] == "submission"


def test_master_disable_service():
    services = master(STOCK, overrides={"pickup/unix": {"enabled": False}})
    assert "pickup" not in [s["name"] for s in services]


@pytest.mark.parametrize(
    ("services", "overrides", "contributions", "message"),
    [
        (
            [{"name": "foo", "type": "tcp", "command": "smtpd"}],
            None,
            None,
            r"server_master_services\[0\].type: 'tcp' is not a master.cf service type. Allowed: inet, unix, unix-dgram, fifo, pass",
        ),
        (
            [{"name": "my service", "type": "unix", "command": "smtp"}],
            None,
            None,
            r"server_master_services\[0\].name: 'my service' is not a service name",
        ),
        (
            [{"name": "x", "type": "unix", "command": "smtp", "maxproc": -1}],
            None,
            None,
            r"server_master_services\[0\].maxproc: -1 is not valid. Allowed: an integer >= 0",
        ),
        (
            [{"name": "x", "type": "unix", "command": "smtp", "wakeup": "often"}],
            None,
            None,
            r"wakeup: 'often' is not valid",
        ),
        (
            [{"name": "x", "type": "unix", "command": "smtp", "chroot": "yes"}],
            None,
            None,
            r"server_master_services\[0\].chroot: 'yes' is not a boolean",
        ),
        (
            [{"name": "x", "type": "unix", "command": "/usr/bin/evil arg"}],
            None,
            None,
            r"server_master_services\[0\].command: .* is not a Postfix daemon name",
        ),
        (
            [{"name": "x", "type": "unix", "command": "smtp", "maxprocs": 3}],
            None,
            None,
            r"server_master_services\[0\]: unknown key\(s\) maxprocs",
        ),
        ("not a list", None, None, r"server_master_services: .* is not a list"),
        (
            None,
            {"nosuch/inet": {"maxproc": 1}},
            None,
            r"server_master_overrides.nosuch/inet: no master.cf service nosuch/inet",
        ),
        (
            None,
            {"smtp/inet": {"maxproc": "many"}},
            None,
            r"server_master_overrides.smtp/inet.maxproc: 'many' is not valid",
        ),
        (None, {"smtp/inet": {"options": {"Bad Name": 1}}}, None, r"not a Postfix parameter name"),
        (
            None,
            None,
            {
                "a": {"master": {"smtp/inet": {"maxproc": 10}}},
                "b": {"master": {"smtp/inet": {"maxproc": 20}}},
            },
            r"sbs_postfix_contributions.b.master.smtp/inet.maxproc: conflicts with sbs_postfix_contributions.a",
        ),
        (
            None,
            None,
            {"a": {"services": [{"name": "smtp", "type": "inet", "command": "smtpd"}]}},
            r"service smtp/inet is already defined",
        ),
    ],
)
def test_master_rejects_bad_input(services, overrides, contributions, message):
    with pytest.raises(ConfigError, match=message) as err:
        master(STOCK, services, overrides, contributions)
    assert "Allowed:" in str(err.value)


@pytest.mark.parametrize(
    ("maxproc", "default_process_limit", "somaxconn", "expected"),
    (
        ("-", 100, None, 100),  # master.cf's "-": default_process_limit
        ("300", 100, 4096, 300),
        ("50", 100, 4096, 100),  # never below default_process_limit
        ("300", 100, 128, 128),  # the kernel's cap
        ("0", 250, 4096, 250),  # 0: no process limit, the backlog follows the default
        (" 300 ", "100", "4096", 300),  # as postconf and /proc print them
        ("many", 100, 4096, None),  # unreadable: no claim
    ),
)
def test_service_listen_backlog(maxproc, default_process_limit, somaxconn, expected):
    assert service_listen_backlog(maxproc, default_process_limit, somaxconn) == expected


def test_service_listen_backlog_refuses_a_limit_that_is_not_a_number():
    with pytest.raises(ConfigError, match="default_process_limit 'lots'"):
        service_listen_backlog("-", "lots", 4096)


def test_service_as_dict_shape():
    services = master(STOCK[:1])
    assert services == [
        {
            "name": "smtp",
            "type": "inet",
            "private": "n",
            "unpriv": "-",
            "chroot": "y",
            "wakeup": "-",
            "maxproc": "-",
            "command": "smtpd",
            "args": [],
            "options": {},
            "enabled": True,
        }
    ]


def test_absent_then_present_moves_a_service_to_the_end():
    services = master(
        STOCK,
        services=[
            {"name": "smtp", "type": "inet", "state": "absent"},
            {"name": "smtp", "type": "inet", "command": "smtpd", "maxproc": 5},
        ],
    )
    assert [s["name"] for s in services] == ["pickup", "relay", "postlog", "maildrop", "smtp"]
    assert services[-1]["maxproc"] == "5"


def test_replacing_a_service_keeps_its_place():
    services = master(STOCK, services=[{"name": "pickup", "type": "unix", "command": "pickup"}])
    assert [s["name"] for s in services][:2] == ["smtp", "pickup"]
    assert services[1]["wakeup"] == "-"


# ---------------------------------------------------------------- submission and smtps

SUBMISSION_OPTIONS = {
    "syslog_name": "postfix/submission",
    "smtpd_tls_security_level": "encrypt",
    "smtpd_sasl_auth_enable": True,
    "smtpd_tls_auth_only": True,
    "smtpd_reject_unlisted_recipient": False,
    "smtpd_client_restrictions": ["permit_sasl_authenticated", "reject"],
    "smtpd_relay_restrictions": ["permit_sasl_authenticated", "reject"],
    "milter_macro_daemon_name": "ORIGINATING",
}


def test_submission_options():
    assert submission_options("submission") == SUBMISSION_OPTIONS
    smtps = submission_options("smtps")
    assert list(smtps) == [*SUBMISSION_OPTIONS, "smtpd_tls_wrappermode"]
    assert smtps["syslog_name"] == "postfix/smtps"
    # TLS is required on the service itself, whatever main.cf says for port 25.
    assert smtps["smtpd_tls_security_level"] == "encrypt"
    assert smtps["smtpd_tls_wrappermode"] is True
    assert smtps["smtpd_tls_auth_only"] is True


def test_submission_services_only_the_enabled_ones_submission_first():
    assert submission_services({}) == []
    services = submission_services(
        {"smtps": {"enabled": True}, "submission": {"enabled": True, "maxproc": 10}}
    )
    assert [s["name"] for s in services] == ["submission", "smtps"]
    assert services[0] == {
        "name": "submission",
        "type": "inet",
        "private": False,
        "chroot": True,
        "command": "smtpd",
        "options": SUBMISSION_OPTIONS,
        "maxproc": 10,
    }
    assert "maxproc" not in services[1]
    assert submission_services({"submission": {"enabled": False, "maxproc": 10}}) == []


def test_submission_services_merge_options_and_null_removes():
    services = submission_services(
        {
            "smtps": {
                "enabled": True,
                "options": {"milter_macro_daemon_name": None, "smtpd_tls_loglevel": 2},
            }
        },
        ["permit_sasl_authenticated", "reject_unauth_destination", "reject"],
    )
    options = services[0]["options"]
    assert "milter_macro_daemon_name" not in options
    assert list(options)[-1] == "smtpd_tls_loglevel"
    assert options["smtpd_relay_restrictions"] == [
        "permit_sasl_authenticated",
        "reject_unauth_destination",
        "reject",
    ]


def test_submission_services_render_like_postfix():
    lines = service_lines(submission_services({"smtps": {"enabled": True, "maxproc": 20}})[0])
    assert lines[0] == "smtps      inet  n       -       y       -       20      smtpd"
    assert "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject" in lines
    assert lines[-1] == "  -o smtpd_tls_wrappermode=yes"


@pytest.mark.parametrize(
    ("settings", "prefix", "message"),
    [
        ({"submissions": {"enabled": True}}, "server_", r"unknown service\(s\) submissions"),
        ({"smtps": {"enabled": "yes"}}, "server_", r"server_smtps_enabled: 'yes' is not a boolean"),
        (
            {"smtps": {"enabled": True, "options": ["a"]}},
            "tls_",
            r"tls_smtps_options: .* not a dictionary",
        ),
        (
            {"submission": {"enabled": True, "options": {"Bad Name": 1}}},
            "server_",
            r"server_submission_options.Bad Name: 'Bad Name' is not a Postfix parameter name",
        ),
        ({"smtps": {"enabled": True, "port": 465}}, "server_", r"server_smtps: .* is not valid"),
        (["submission"], "server_", r"server_submission: .* is not a dictionary"),
    ],
)
def test_submission_services_refuse(settings, prefix, message):
    with pytest.raises(ConfigError, match=message) as err:
        submission_services(settings, prefix=prefix)
    assert "Allowed:" in str(err.value)


def test_server_role_definition_replaces_a_contributed_one():
    """An admin who enables server_submission_enabled gets the server role's service, even when
    the tls role contributes one too (roles/tls/README.md)."""
    own = submission_services({"submission": {"enabled": True, "maxproc": 10}})
    contributed = submission_services(
        {"submission": {"enabled": True, "options": {"smtpd_tls_loglevel": 2}}}, prefix="tls_"
    )
    services = master(STOCK, optional=own, contributions={"tls": {"services": contributed}})
    submission = [s for s in services if s["name"] == "submission"]
    assert len(submission) == 1
    assert submission[0]["maxproc"] == "10"
    assert "smtpd_tls_loglevel" not in submission[0]["options"]
    assert services[len(STOCK)]["name"] == "submission"


def test_contributed_service_clashing_with_the_servers_own_is_still_checked():
    own = submission_services({"submission": {"enabled": True}})
    with pytest.raises(
        ConfigError, match=r"sbs_postfix_contributions.tls.services\[0\]: unknown key"
    ):
        master(
            STOCK,
            optional=own,
            contributions={
                "tls": {"services": [{"name": "submission", "type": "inet", "port": 1}]}
            },
        )


def test_sasl_backends_of_the_services_that_offer_auth():
    from ansible_collections.sbs.postfix.plugins.plugin_utils._master_cf import sasl_backends

    services = [
        {"name": "smtp", "type": "inet", "command": "smtpd", "options": {}},
        {
            "name": "submission",
            "type": "inet",
            "command": "smtpd",
            "options": {
                "smtpd_sasl_auth_enable": "yes",
                "smtpd_sasl_type": "dovecot",
                "smtpd_sasl_path": "private/auth",
            },
        },
        {
            "name": "smtps",
            "type": "inet",
            "command": "smtpd",
            "options": {"smtpd_sasl_auth_enable": True},
        },
        {"name": "pickup", "type": "unix", "command": "pickup", "options": {}},
    ]
    assert sasl_backends({}, services) == [
        {
            "type": "dovecot",
            "path": "/var/spool/postfix/private/auth",
            "services": ["submission/inet"],
        },
        {"type": "cyrus", "path": "/etc/postfix/sasl/smtpd.conf", "services": ["smtps/inet"]},
    ]
    # main.cf turns AUTH on for port 25 too; an absolute socket path stays as it is.
    main = {
        "smtpd_sasl_auth_enable": "yes",
        "smtpd_sasl_type": "dovecot",
        "smtpd_sasl_path": "/run/dovecot/auth-client",
    }
    assert sasl_backends(main, services[:1], "/srv/spool") == [
        {"type": "dovecot", "path": "/run/dovecot/auth-client", "services": ["smtp/inet"]}
    ]
    assert sasl_backends({}, services[:1]) == []


def test_sasl_problem_names_the_services_the_variables_and_the_fix():
    from ansible_collections.sbs.postfix.plugins.plugin_utils._master_cf import sasl_problem

    backend = {
        "type": "cyrus",
        "path": "/etc/postfix/sasl/smtpd.conf",
        "services": ["submission/inet"],
    }
    message = sasl_problem(backend, "mx1")
    assert message.startswith("submission/inet offer SASL AUTH (server_submission_enabled")
    assert "/etc/postfix/sasl/smtpd.conf does not exist on mx1" in message
    assert "no SASL authentication mechanisms" in message
    dovecot = dict(backend, type="dovecot", path="/var/spool/postfix/private/auth")
    assert "have its auth service listen on /var/spool/postfix/private/auth" in sasl_problem(
        dovecot
    )


# ---------------------------------------------------------------- every problem at once


def test_master_reports_every_independent_problem():
    with pytest.raises(ConfigError) as err:
        master(
            STOCK,
            services=[
                {"name": "dovecot", "type": "tcp", "command": "pipe"},
                {"name": "127.0.0.1:10025", "type": "inet", "command": "smtpd", "maxproc": "ten"},
                {"name": "submission", "type": "inet", "command": "smtpd"},
            ],
            overrides={
                "nosuch/unix": {"maxproc": 1},
                "smtp/inet": {"maxproc": 20},
                "pickup/unix": {"wakeup": 30},
            },
            contributions={
                "dkim": {"services": [{"name": "opendkim", "type": "unix", "command": "x y"}]},
                "tls": {"services": {"submission": {}}},
            },
        )
    assert [problem.split(": ")[0] for problem in err.value.problems] == [
        "sbs_postfix_contributions.tls.services",
        "sbs_postfix_contributions.dkim.services[0].command",
        "server_master_services[0].type",
        "server_master_services[1].maxproc",
        "server_master_overrides.nosuch/unix",
        "server_master_overrides.pickup/unix",
    ]


def test_master_leaves_out_overrides_of_a_service_whose_definition_was_refused():
    """The definition's problem is the one to fix; "no master.cf service" would mislead."""
    with pytest.raises(ConfigError) as err:
        master(
            STOCK,
            services=[{"name": "dovecot", "type": "unix", "command": "pipe", "args": "flags=DRhu"}],
            overrides={"dovecot/unix": {"maxproc": 10}},
            contributions={
                "dkim": {
                    "services": [{"name": "opendkim", "type": "inet", "chroot": "maybe"}],
                    "master": {"opendkim/inet": {"maxproc": 5}},
                }
            },
        )
    assert err.value.problems == [
        "sbs_postfix_contributions.dkim.services[0].command: None is not a Postfix daemon name. "
        "Allowed: a program in daemon_directory (smtpd, smtp, pipe, lmtp, ...).",
        "server_master_services[0].args: 'flags=DRhu' is not a list of non-empty strings. "
        "Allowed: a list of command arguments.",
    ]


def test_master_reports_every_contributed_override_problem():
    with pytest.raises(ConfigError) as err:
        master(
            STOCK,
            contributions={
                "a": {"master": {"smtp/inet": {"maxproc": 10}, "relay/unix": {"maxproc": 4}}},
                "b": {"master": {"smtp/inet": {"maxproc": 20}, "bounce/unix": {"maxproc": 0}}},
            },
        )
    assert [problem.split(": ")[0] for problem in err.value.problems] == [
        "sbs_postfix_contributions.b.master.smtp/inet.maxproc",
        "sbs_postfix_contributions.b.master.bounce/unix",
    ]


# ---------------------------------------------------------------- moving a service (postscreen)

POSTSCREEN = {
    "master": {"smtp/inet": {"move_to": "smtpd/pass", "private": None}},
    "services": [
        {
            "name": "smtp",
            "type": "inet",
            "private": False,
            "chroot": True,
            "maxproc": 1,
            "command": "postscreen",
        },
        {"name": "dnsblog", "type": "unix", "chroot": True, "maxproc": 0, "command": "dnsblog"},
    ],
}


def test_move_gives_port_25_to_postscreen_and_overrides_follow_the_smtpd():
    services = master(
        STOCK,
        overrides={"smtp/inet": {"maxproc": 20, "options": {"smtpd_tls_loglevel": 1}}},
        contributions={
            "inbound": POSTSCREEN,
            # Written for the smtpd on port 25 (tuning sizes smtpd sessions): it follows it.
            "tuning": {"master": {"smtp/inet": {"maxproc": 50}}},
        },
    )
    by_key = {f"{s['name']}/{s['type']}": s for s in services}
    # The smtpd keeps the old service's place, fields, and everything addressed to smtp/inet.
    assert [f"{s['name']}/{s['type']}" for s in services][:2] == ["smtpd/pass", "pickup/unix"]
    assert by_key["smtpd/pass"]["command"] == "smtpd"
    assert by_key["smtpd/pass"]["maxproc"] == "20"  # the admin wins over tuning
    assert by_key["smtpd/pass"]["options"] == {"smtpd_tls_loglevel": 1}
    assert by_key["smtp/inet"]["command"] == "postscreen"
    assert by_key["smtp/inet"]["maxproc"] == "1"
    assert by_key["smtp/inet"]["options"] == {}
    assert service_lines(by_key["smtpd/pass"])[0].split() == [
        "smtpd", "pass", "-", "-", "y", "-", "20", "smtpd"
    ]  # fmt: skip


def test_move_conflicts_between_roles_are_refused_on_the_new_key():
    with pytest.raises(ConfigError, match=r"tuning.master.smtpd/pass.maxproc: conflicts"):
        master(
            STOCK,
            contributions={
                "inbound": {**POSTSCREEN, "master": {"smtp/inet": {"move_to": "smtpd/pass", "maxproc": 30}}},
                "tuning": {"master": {"smtpd/pass": {"maxproc": 50}}},
            },
        )  # fmt: skip


def test_admin_service_still_replaces_the_contributed_one():
    services = master(
        STOCK,
        services=[{"name": "smtp", "type": "inet", "command": "smtpd", "maxproc": 5}],
        contributions={"inbound": POSTSCREEN},
    )
    by_key = {f"{s['name']}/{s['type']}": s for s in services}
    assert by_key["smtp/inet"]["command"] == "smtpd"
    assert "smtpd/pass" in by_key


@pytest.mark.parametrize(
    ("contributions", "overrides", "message"),
    [
        (
            {"a": {"master": {"smtp/inet": {"move_to": "smtpd"}}}},
            None,
            r"a.master.smtp/inet.move_to.type: '' is not a master.cf service type",
        ),
        (
            {"a": {"master": {"nosuch/inet": {"move_to": "x/pass"}}}},
            None,
            r"a.master.nosuch/inet.move_to: no master.cf service nosuch/inet",
        ),
        (
            {"a": {"master": {"smtp/inet": {"move_to": "pickup/unix"}}}},
            None,
            r"a.master.smtp/inet.move_to: service pickup/unix is already defined",
        ),
        (
            {
                "a": {"master": {"smtp/inet": {"move_to": "smtpd/pass"}}},
                "b": {"master": {"smtp/inet": {"move_to": "other/pass"}}},
            },
            None,
            r"b.master.smtp/inet.move_to: smtp/inet is moved by another role already",
        ),
        (
            None,
            {"smtp/inet": {"move_to": "smtpd/pass"}},
            r"server_master_overrides.smtp/inet: unknown key\(s\) move_to",
        ),
        (
            {"a": {"master": {"smtp/inet": {"private": True}}}},
            None,
            r"a.master.smtp/inet.private: is only allowed with move_to",
        ),
        (
            {"a": {"master": {"smtp/inet": {"move_to": "smtpd/pass", "private": "maybe"}}}},
            None,
            r"a.master.smtp/inet.private: 'maybe' is not a boolean",
        ),
    ],
)
def test_move_refuses(contributions, overrides, message):
    with pytest.raises(ConfigError, match=message) as err:
        master(STOCK, overrides=overrides, contributions=contributions)
    assert "Allowed:" in str(err.value)
