# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/module_utils/_postconf.py.

The fixtures are real files and real ``postconf`` output from the project's Debian 12 (Postfix
3.7.11) and Debian 13 (Postfix 3.10) images; see tests/unit/fixtures/postconf/README.md.
"""

from __future__ import annotations

import pathlib

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils import _postconf as pc

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "postconf"
RELEASES = ("debian12", "debian13")


def fixture(name):
    return (FIXTURES / name).read_text()


@pytest.mark.parametrize("release", RELEASES)
def test_main_cf_parser_agrees_with_postconf_n(release):
    params, errors = pc.parse_main_cf(fixture(f"{release}-main.cf"))
    assert errors == []
    assert params == pc.parse_postconf_n(fixture(f"{release}-postconf-n.txt"))
    # Empty values ("relayhost =") are parameters too.
    assert params["relayhost"] == ""


@pytest.mark.parametrize("release", RELEASES)
def test_master_cf_parser_agrees_with_postconf_m_and_f(release):
    services, errors = pc.parse_master_cf(fixture(f"{release}-master.cf"))
    assert errors == []
    shown = pc.parse_postconf_M(fixture(f"{release}-postconf-M.txt"))
    assert {k: pc.service_signature(v) for k, v in services.items()} == {
        k: pc.service_signature(v) for k, v in shown.items()
    }
    fields = pc.parse_postconf_F(fixture(f"{release}-postconf-F.txt"))
    assert set(fields) == set(services)
    for key, entry in services.items():
        for field in pc.MASTER_FIELDS[:7]:
            assert fields[key][field] == entry[field], (key, field)
        assert fields[key]["command"] == " ".join([entry["command"], *entry["args"]])
    # The only -o override in Debian's stock master.cf, as postconf -P reports it.
    assert pc.parse_postconf_P(fixture(f"{release}-postconf-P.txt")) == {
        "relay/unix": services["relay/unix"]["options"]
    }


def test_master_cf_keys_are_name_and_type():
    services, _unused = pc.parse_master_cf(fixture("debian12-master.cf"))
    assert services["smtp/inet"]["command"] == "smtpd"
    assert services["smtp/unix"]["command"] == "smtp"
    assert services["postlog/unix-dgram"]["process_limit"] == "1"
    assert services["tlsmgr/unix"]["wakeup"] == "1000?"
    assert services["maildrop/unix"]["args"][-2:] == ["-d", "${recipient}"]


@pytest.mark.parametrize("release", RELEASES)
def test_postconf_m_lists_map_types(release):
    types = pc.parse_postconf_m(fixture(f"{release}-postconf-m.txt"))
    assert {"hash", "lmdb", "cidr", "regexp", "texthash", "inline", "proxy"} <= set(types)
    # postfix-pcre, postfix-cdb, ... are not installed in the images.
    assert "pcre" not in types
    assert "cdb" not in types


@pytest.mark.parametrize(("release", "version"), [("debian12", "3.7.11"), ("debian13", "3.10.")])
def test_postconf_d_defaults(release, version):
    defaults = pc.parse_postconf_n(fixture(f"{release}-postconf-d.txt"))
    assert len(defaults) > 900
    assert defaults["mail_version"].startswith(version)
    assert defaults["inet_interfaces"] == "all"
    assert defaults["daemon_directory"] == "/usr/lib/postfix/sbin"
    assert defaults["queue_directory"] == "/var/spool/postfix"


def test_logical_lines_follow_postfix_rules():
    text = (
        "  leading continuation is ignored\n"
        "# comment\n"
        "a = 1,\n"
        "    2,\n"
        "# a comment inside a continued line\n"
        "\n"
        "\t3\n"
        "b=x\n"
    )
    assert list(pc.logical_lines(text)) == [(3, "a = 1, 2, 3"), (8, "b=x")]


def test_main_cf_last_definition_wins_and_errors_are_reported():
    params, errors = pc.parse_main_cf("a = 1\na = 2\ngarbage line\nb =\n= x\nc d = 1\n")
    assert params == {"a": "2", "b": ""}
    assert errors == [
        "line 3: missing '=' after parameter name: garbage line",
        "line 5: bad parameter name: ''",
        "line 6: bad parameter name: 'c d'",
    ]
    # A line that starts with whitespace continues the previous one, even after a bad line.
    params, errors = pc.parse_main_cf("garbage\n = x\n")
    assert params == {"garbage": "x"}


def test_master_cf_errors_short_entries_and_duplicates():
    services, errors = pc.parse_master_cf(
        "smtp inet n - y - - smtpd\nshort unix - -\nsmtp inet n - y - 5 smtpd\n"
    )
    assert services["smtp/inet"]["process_limit"] == "5"
    assert errors[0] == "line 2: master.cf entry needs 8 fields, found 4: short unix - -"
    assert errors[1].startswith("line 3: duplicate entry for service smtp/inet (first on line 1)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("smtpd -o a=b", ["smtpd", "-o", "a=b"]),
        (
            "smtpd -o { smtpd_client_restrictions = permit_sasl_authenticated, reject } -o x=y",
            [
                "smtpd",
                "-o",
                "{ smtpd_client_restrictions = permit_sasl_authenticated, reject }",
                "-o",
                "x=y",
            ],
        ),
        (
            "smtp -o syslog_name=${multi_instance_name?{$multi_instance_name}:{postfix}}/$service_name",
            [
                "smtp",
                "-o",
                "syslog_name=${multi_instance_name?{$multi_instance_name}:{postfix}}/$service_name",
            ],
        ),
    ],
)
def test_split_args_keeps_brace_groups(text, expected):
    assert pc.split_args(text) == expected


def test_service_options_understands_all_spellings():
    args = ["-o", "a=1", "-ob=2", "-o", "{ c = x, y }", "-v", "-o", "d="]
    assert pc.service_options(args) == {"a": "1", "b": "2", "c": "x, y", "d": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("submission/inet", ("submission", "inet")),
        ("127.0.0.1:smtp/inet", ("127.0.0.1:smtp", "inet")),
        ("postlog/unix-dgram", ("postlog", "unix-dgram")),
        ("smtp", None),
        ("smtp/tcp", None),
        ("/inet", None),
        ("a b/inet", None),
        (None, None),
    ],
)
def test_parse_service_key(text, expected):
    assert pc.parse_service_key(text) == expected


def test_split_messages_real_stderr():
    warnings, fatals = pc.split_messages(fixture("debian12-check-stage-unused.stderr"))
    assert fatals == []
    # postfix-script calls /usr/sbin/postconf: the path is reduced to the program name.
    assert set(warnings) == {
        "postconf: warning: /etc/postfix.sbs-stage.fixture/main.cf: unused parameter: smtpd_foo_bar=1"
    }
    warnings, fatals = pc.split_messages(fixture("debian12-badtype.stderr"))
    assert warnings == []
    assert fatals == ['postconf: fatal: invalid type field "bogus" in "foo bogus n - y - - smtpd"']
    warnings, fatals = pc.split_messages(fixture("debian12-nolocal.stderr"))
    assert len(warnings) == 9
    assert "overriding earlier entry: inet_interfaces=192.0.2.99" in warnings[1]
    assert fatals == [
        "postconf: fatal: parameter inet_interfaces: no local interface found for 192.0.2.99"
    ]
    warnings, _unused = pc.split_messages(fixture("debian12-unknown.stderr"))
    assert [w.rsplit(": ", 1)[-1] for w in warnings] == ["nosuch", "smtpd_foo_bar=$nosuch"]


@pytest.mark.parametrize(
    ("parameter", "value", "expected"),
    [
        ("transport_maps", "hash:/etc/postfix/transport", ["hash"]),
        ("transport_maps", "proxy:lmdb:/etc/postfix/transport", ["proxy", "lmdb"]),
        (
            "virtual_alias_maps",
            "unionmap:{hash:/a, pcre:/b}, $alias_maps",
            ["unionmap", "hash", "pcre"],
        ),
        ("header_checks", "pcre:/etc/postfix/header_checks", ["pcre"]),
        ("mynetworks", "127.0.0.0/8 [::1]/128, cidr:/etc/postfix/networks", ["cidr"]),
        ("mynetworks", "/etc/postfix/network_table", []),
        (
            "smtpd_recipient_restrictions",
            "permit_mynetworks, check_policy_service inet:127.0.0.1:10023, "
            "check_sender_access inline:{ a@b.test = REJECT }, reject_unauth_destination",
            ["inline"],
        ),
        ("smtpd_relay_restrictions", "check_policy_service unix:private/policy, reject", []),
        # Parameters that do not take tables: transport:nexthop, milter sockets, cache files.
        ("content_filter", "amavis:[127.0.0.1]:10024", []),
        ("smtpd_milters", "inet:127.0.0.1:8891", []),
        ("smtp_tls_session_cache_database", "btree:${data_directory}/smtp_scache", []),
        ("relayhost", "[smtp.example.test]:587", []),
    ],
)
def test_table_references(parameter, value, expected):
    assert [t for t, _item in pc.table_references(parameter, value)] == expected


@pytest.mark.parametrize("release", RELEASES)
def test_stock_debian_tables_are_all_found(release):
    params, _unused = pc.parse_main_cf(fixture(f"{release}-main.cf"))
    refs = [
        (name, t) for name, value in params.items() for t, _item in pc.table_references(name, value)
    ]
    assert ("alias_maps", "hash") in refs
    assert ("alias_database", "hash") in refs
