# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/plugin_utils/_tls.py (the tls filters), fed with real `postconf -d` / `postconf -m` output."""

from __future__ import annotations

import copy
import pathlib

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sbs.postfix.plugins.filter.tls import FilterModule
from ansible_collections.sbs.postfix.plugins.module_utils._postconf import parse_postconf_n
from ansible_collections.sbs.postfix.plugins.plugin_utils import _tls as tls

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "unit" / "fixtures" / "tls"


def fixture(name):
    return (FIXTURES / name).read_text(encoding="utf-8")


def parameter_names(name):
    """The parameter names as runtime_info returns them (capabilities: parameter_names)."""
    return sorted(parse_postconf_n(fixture(name)))


# The role's defaults, as roles/tls/tasks/contribute.yml hands them to the filter.
SETTINGS = {
    "chain_files": ["/etc/postfix/tls/mail-rsa.pem"],
    "server_security_level": "may",
    "server_protocols": ">=TLSv1.2",
    "server_mandatory_protocols": ">=TLSv1.2",
    "server_ciphers": "medium",
    "server_mandatory_ciphers": "high",
    "preempt_cipherlist": True,
    "high_cipherlist": None,
    "eecdh_auto_curves": None,
    "ffdhe_auto_groups": None,
    "dh_param_file": None,
    "server_loglevel": 1,
    "received_header": True,
    "auth_only": True,
    "session_cache_timeout": "3600s",
    "client_security_level": "may",
    "client_protocols": ">=TLSv1.2",
    "client_mandatory_protocols": ">=TLSv1.2",
    "client_ciphers": "medium",
    "client_mandatory_ciphers": "medium",
    "client_loglevel": 1,
    "client_note_starttls_offer": True,
    "connection_cache_on_demand": True,
    "connection_cache_destinations": [],
    "client_connection_reuse": False,
    "submission": False,
    "smtps": False,
    "sasl_type": "dovecot",
    "sasl_path": "private/auth",
    "submission_restrictions": ["permit_sasl_authenticated", "reject"],
    "submission_options": {},
    "smtps_options": {},
}


@pytest.fixture(name="postfix37")
def fixture_postfix37():
    return {
        "version": "3.7.11",
        "parameters": parameter_names("postconf-d-3.7.11.txt"),
        "cache_type": "btree",
    }


def settings(**changes):
    result = copy.deepcopy(SETTINGS)
    result.update(changes)
    return result


# --- protocol lists --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "enabled", "uses_range"),
    [
        (">=TLSv1.2", ["TLSv1.2", "TLSv1.3"], True),
        (">=TLSv1.2, <=TLSv1.3", ["TLSv1.2", "TLSv1.3"], True),
        (">=TLSv1.3", ["TLSv1.3"], True),
        # Debian 12's own default (postconf -d).
        (">=TLSv1", ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"], True),
        ("!SSLv2, !SSLv3, !TLSv1, !TLSv1.1", ["TLSv1.2", "TLSv1.3"], False),
        ("!SSLv2 !SSLv3:!TLSv1", ["TLSv1.1", "TLSv1.2", "TLSv1.3"], False),
        ("TLSv1.2 TLSv1.3", ["TLSv1.2", "TLSv1.3"], False),
        (["!SSLv2", "!SSLv3", ">=TLSv1.2"], ["TLSv1.2", "TLSv1.3"], True),
        # Empty means "everything the library offers" to Postfix.
        ("", list(tls.PROTOCOLS), False),
    ],
)
def test_parse_protocols_accepts_postfix_syntax(spec, enabled, uses_range):
    parsed = tls.parse_protocols(spec)
    assert parsed["errors"] == []
    assert parsed["enabled"] == enabled
    assert parsed["uses_range"] is uses_range


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        (">=TLSv1.4", "'>=TLSv1.4' is not a protocol Postfix knows"),
        (">=tlsv1.2", "did you mean 'TLSv1.2'?"),
        ("!TLSv12", "did you mean 'TLSv1.2'?"),
        ("TLS1.0", "did you mean 'TLSv1'?"),
        (">=SSLv2", "'>=SSLv2' is not a protocol Postfix knows"),
        ("TLSv1.2 SSL3", "'SSL3' is not a protocol Postfix knows"),
        (">=TLSv1.3 <=TLSv1.2", "leaves no TLS protocol enabled"),
    ],
)
def test_parse_protocols_rejects_and_names_the_variable(spec, fragment):
    errors = tls.parse_protocols(spec, "tls_server_protocols")["errors"]
    assert len(errors) == 1
    assert errors[0].startswith("tls_server_protocols: ")
    assert fragment in errors[0]


def test_render_protocols_keeps_range_syntax_on_new_postfix():
    assert tls.render_protocols(">=TLSv1.2", (3, 7, 11)) == ">=TLSv1.2"
    assert tls.render_protocols("!SSLv2,  !SSLv3", (3, 10, 5)) == "!SSLv2, !SSLv3"


def test_render_protocols_translates_range_for_postfix_before_3_6():
    assert tls.render_protocols(">=TLSv1.2", (3, 5, 18)) == "!SSLv2, !SSLv3, !TLSv1, !TLSv1.1"


def test_render_protocols_raises_on_bad_names():
    with pytest.raises(AnsibleFilterError, match="tls_client_protocols"):
        tls.render_protocols(">=TLS1.2", (3, 7, 11), "tls_client_protocols")


# --- postconf output -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "version"),
    [("3.7.11", (3, 7, 11)), ("3.10.5\n", (3, 10, 5)), ("3.11", (3, 11, 0))],
)
def test_postfix_version(text, version):
    assert tls.postfix_version(text) == version


def test_postfix_version_rejects_garbage():
    with pytest.raises(AnsibleFilterError, match="mail_version"):
        tls.postfix_version("postconf: fatal: open /etc/postfix/main.cf")


def test_the_parameter_names_of_real_postconf_d():
    names = parameter_names("postconf-d-3.7.11.txt")
    assert len(names) == len(set(names)) > 900
    assert "smtpd_tls_chain_files" in names
    assert "tls_eecdh_auto_curves" in names
    # Added in Postfix 3.8: Debian 12's 3.7 must not know it.
    assert "tls_ffdhe_auto_groups" not in names


@pytest.mark.parametrize(
    ("maps", "requested", "chosen"),
    [
        ("postconf-m-3.7.11-lmdb.txt", None, "lmdb"),
        # Debian's base package has no lmdb (it is in postfix-lmdb): btree is built in.
        ("postconf-m-3.7.11-base.txt", None, "btree"),
        ("postconf-m-3.7.11-lmdb.txt", "btree", "btree"),
    ],
)
def test_session_cache_type(maps, requested, chosen):
    assert tls.session_cache_type(fixture(maps), requested) == chosen


def test_session_cache_type_refuses_an_unsupported_choice():
    with pytest.raises(
        AnsibleFilterError, match=r"tls_session_cache_type: this Postfix does not support .*'lmdb'"
    ):
        tls.session_cache_type(fixture("postconf-m-3.7.11-base.txt"), "lmdb")


def test_session_cache_type_refuses_a_map_that_cannot_hold_a_cache():
    with pytest.raises(AnsibleFilterError, match="'hash' cannot hold a TLS session cache"):
        tls.session_cache_type(fixture("postconf-m-3.7.11-lmdb.txt"), "hash")


def test_session_cache_type_without_any_usable_type():
    with pytest.raises(AnsibleFilterError, match="supports none of lmdb, btree"):
        tls.session_cache_type(["hash", "cidr", "regexp"])


# --- the contribution ------------------------------------------------------------------------


def test_default_contribution_on_debian_12(postfix37):
    contribution, errors = tls.build_contribution(settings(), postfix37)
    assert errors == []
    assert set(contribution) == {"main", "main_required", "services", "reasons"}
    assert contribution["main_required"] == {
        "smtpd_tls_chain_files": ["/etc/postfix/tls/mail-rsa.pem"]
    }
    main = contribution["main"]
    assert main["smtpd_tls_security_level"] == "may"
    assert main["smtpd_tls_protocols"] == ">=TLSv1.2"
    assert main["smtpd_tls_mandatory_protocols"] == ">=TLSv1.2"
    assert main["smtp_tls_protocols"] == ">=TLSv1.2"
    assert main["smtp_tls_security_level"] == "may"
    assert main["tls_preempt_cipherlist"] is True
    assert main["smtpd_tls_loglevel"] == 1
    assert main["smtpd_tls_received_header"] is True
    assert main["smtpd_tls_auth_only"] is True
    assert main["smtpd_tls_session_cache_database"] == "btree:${data_directory}/smtpd_scache"
    assert main["smtp_tls_session_cache_database"] == "btree:${data_directory}/smtp_scache"
    assert main["smtp_connection_cache_on_demand"] is True
    # Left to Postfix's own (recommended) defaults unless asked.
    for name in (
        "tls_eecdh_auto_curves",
        "tls_ffdhe_auto_groups",
        "tls_high_cipherlist",
        "smtpd_tls_dh1024_param_file",
    ):
        assert name not in main
    # No SASL and no extra services unless submission/smtps are enabled.
    assert contribution["services"] == []
    assert not any(name.startswith("smtpd_sasl") for name in main)
    # Every parameter carries its reason.
    assert set(contribution["reasons"]) == set(main) | set(contribution["main_required"])


def test_every_default_parameter_exists_in_postfix_3_7(postfix37):
    contribution, _errors = tls.build_contribution(settings(submission=True, smtps=True), postfix37)
    known = set(postfix37["parameters"])
    assert set(contribution["main"]) <= known
    for service in contribution["services"]:
        assert set(service["options"]) <= known


def test_submission_and_smtps_services(postfix37):
    contribution, errors = tls.build_contribution(
        settings(
            submission=True,
            smtps=True,
            smtps_options={"milter_macro_daemon_name": None, "smtpd_tls_loglevel": 2},
        ),
        postfix37,
    )
    assert errors == []
    services = {service["name"]: service for service in contribution["services"]}
    assert set(services) == {"submission", "smtps"}
    submission = services["submission"]
    assert (
        submission["type"],
        submission["command"],
        submission["private"],
        submission["chroot"],
    ) == (
        "inet",
        "smtpd",
        False,
        True,
    )
    assert submission["options"]["smtpd_tls_security_level"] == "encrypt"
    assert submission["options"]["smtpd_sasl_auth_enable"] is True
    assert submission["options"]["smtpd_relay_restrictions"] == [
        "permit_sasl_authenticated",
        "reject",
    ]
    assert "smtpd_tls_wrappermode" not in submission["options"]
    smtps = services["smtps"]["options"]
    assert smtps["smtpd_tls_wrappermode"] is True
    assert smtps["syslog_name"] == "postfix/smtps"
    assert "milter_macro_daemon_name" not in smtps
    assert smtps["smtpd_tls_loglevel"] == 2
    main = contribution["main"]
    assert main["smtpd_sasl_type"] == "dovecot"
    assert main["smtpd_sasl_path"] == "private/auth"
    # AUTH stays off on port 25: it is only ever enabled per service.
    assert "smtpd_sasl_auth_enable" not in main
    assert {"submission/inet", "smtps/inet"} <= set(contribution["reasons"])


def test_dane_requires_dnssec(postfix37):
    contribution, errors = tls.build_contribution(settings(client_security_level="dane"), postfix37)
    assert errors == []
    assert contribution["main_required"]["smtp_dns_support_level"] == "dnssec"


def test_ffdhe_groups_need_postfix_3_8(postfix37):
    _contribution, errors = tls.build_contribution(
        settings(ffdhe_auto_groups="ffdhe3072"), postfix37
    )
    assert errors == [
        "tls_ffdhe_auto_groups: tls_ffdhe_auto_groups needs Postfix >= 3.8, this host runs 3.7.11"
    ]


def test_key_exchange_groups_on_postfix_3_10(postfix37):
    postfix310 = dict(
        postfix37, version="3.10.5", parameters=[*postfix37["parameters"], "tls_ffdhe_auto_groups"]
    )
    contribution, errors = tls.build_contribution(
        settings(ffdhe_auto_groups="ffdhe3072", eecdh_auto_curves="X25519 prime256v1"), postfix310
    )
    assert errors == []
    assert contribution["main"]["tls_ffdhe_auto_groups"] == "ffdhe3072"
    assert contribution["main"]["tls_eecdh_auto_curves"] == "X25519 prime256v1"


def test_all_errors_reported_at_once(postfix37):
    _contribution, errors = tls.build_contribution(
        settings(
            chain_files=[],
            server_protocols=">=TLSv1.4",
            client_mandatory_protocols="TLSv1.5",
            server_security_level="required",
        ),
        postfix37,
    )
    assert [error.split(":")[0] for error in errors] == [
        "tls_certificates",
        "tls_server_security_level",
        "tls_server_protocols",
        "tls_client_mandatory_protocols",
    ]


def test_unknown_parameter_is_refused_with_the_version(postfix37):
    old = dict(
        postfix37,
        parameters=[name for name in postfix37["parameters"] if name != "smtpd_tls_chain_files"],
    )
    _contribution, errors = tls.build_contribution(settings(), old)
    assert errors == [
        "smtpd_tls_chain_files: not a parameter of Postfix 3.7.11 (needs Postfix >= 3.4)"
    ]


def test_filter_raises_with_every_problem(postfix37):
    with pytest.raises(
        AnsibleFilterError, match=r"tls_server_protocols: .*; tls_client_protocols: "
    ):
        tls.tls_contribution(
            settings(server_protocols="TLSv9", client_protocols="SSLv4"), postfix37
        )


def test_problems_filter_lists_the_cache_type_with_the_other_problems():
    postfix = {
        "version": "3.7.11",
        "parameters": parameter_names("postconf-d-3.7.11.txt"),
        "map_types": fixture("postconf-m-3.7.11-base.txt").split(),
    }
    problems = tls.tls_contribution_problems(
        settings(server_protocols="TLSv9", session_cache_type="lmdb"), postfix
    )
    assert len(problems) == 2
    assert problems[0].startswith("tls_session_cache_type: this Postfix does not support")
    assert problems[1].startswith("tls_server_protocols: ")


def test_session_cache_timeout_is_a_duration(postfix37):
    contribution, errors = tls.build_contribution(settings(session_cache_timeout=3600), postfix37)
    assert errors == []
    assert contribution["main"]["smtpd_tls_session_cache_timeout"] == "3600s"
    _contribution, errors = tls.build_contribution(
        settings(session_cache_timeout="1 hour"), postfix37
    )
    assert errors == [
        "tls_session_cache_timeout: '1 hour' is not a duration. "
        "Allowed: a duration: digits with a unit s, m, h, d or w (300s, 5d)."
    ]


def test_cache_type_is_chosen_from_the_map_types_when_not_given():
    postfix = {
        "version": "3.7.11",
        "parameters": parameter_names("postconf-d-3.7.11.txt"),
        "map_types": fixture("postconf-m-3.7.11-lmdb.txt").split(),
    }
    assert tls.tls_contribution_problems(settings(), postfix) == []
    contribution = tls.tls_contribution(settings(), postfix)
    assert contribution["main"]["smtpd_tls_session_cache_database"].startswith("lmdb:")


def test_connection_cache_and_reuse(postfix37):
    contribution, errors = tls.build_contribution(
        settings(
            connection_cache_destinations=["example.net", "[relay.example.net]:587"],
            client_connection_reuse=True,
        ),
        postfix37,
    )
    assert errors == []
    assert contribution["main"]["smtp_connection_cache_destinations"] == [
        "example.net",
        "[relay.example.net]:587",
    ]
    assert contribution["main"]["smtp_tls_connection_reuse"] is True


def test_filters_are_registered():
    filters = FilterModule().filters()
    assert {"tls_contribution", "tls_protocol_errors", "tls_session_cache_type"} <= set(filters)


def test_every_parameter_exists_in_postfix_3_10():
    postfix310 = {
        "version": "3.10.13",
        "parameters": parameter_names("postconf-d-3.10.13.txt"),
        "cache_type": tls.session_cache_type(fixture("postconf-m-3.10.13.txt")),
    }
    contribution, errors = tls.build_contribution(
        settings(
            submission=True,
            smtps=True,
            ffdhe_auto_groups="ffdhe3072 ffdhe2048",
            client_connection_reuse=True,
        ),
        postfix310,
    )
    assert errors == []
    assert postfix310["cache_type"] == "lmdb"
    assert contribution["main"]["tls_ffdhe_auto_groups"] == "ffdhe3072 ffdhe2048"


# --- certificate entries ---------------------------------------------------------------------

CERT_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY_PEM = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"


@pytest.mark.parametrize(
    "entries",
    [
        [
            {
                "name": "le",
                "source": "path",
                "certificate_path": "/etc/le/fullchain.pem",
                "key_path": "/etc/le/privkey.pem",
            }
        ],
        [
            {
                "name": "vault-rsa",
                "source": "content",
                "certificate_content": CERT_PEM,
                "key_content": KEY_PEM,
            }
        ],
        [
            {"name": "lab-rsa", "source": "selfsigned", "key_type": "rsa"},
            {
                "name": "lab-ecdsa",
                "source": "selfsigned",
                "key_type": "ecdsa",
                "common_name": "mx.example.test",
            },
        ],
        [
            {
                "name": "ec",
                "source": "content",
                "certificate_content": CERT_PEM,
                "key_content": KEY_PEM.replace("PRIVATE", "EC PRIVATE"),
            }
        ],
        [
            {"name": "mail.example.com", "source": "certbot"},
            {"name": "mail-rsa", "source": "certbot", "lineage": "mail.example.com-0001"},
        ],
    ],
)
def test_certificate_entries_accepted(entries):
    assert tls.certificate_problems(entries) == []


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            {"name": "a", "source": "path", "key_path": "/k"},
            "tls_certificates[0].certificate_path is required with source 'path'",
        ),
        (
            {"name": "a", "source": "content", "certificate_content": CERT_PEM},
            "tls_certificates[0].key_content is required",
        ),
        (
            {"name": "a", "source": "path", "certificate_path": "c.pem", "key_path": "/k"},
            "'c.pem' must be an absolute path",
        ),
        ({"name": "a/b", "source": "selfsigned"}, "tls_certificates[0].name: 'a/b' must be"),
        (
            {"name": "a", "source": "acme"},
            "tls_certificates[0].source: 'acme' is not one of path, content, selfsigned",
        ),
        (
            {"name": "a", "source": "selfsigned", "key_path": "/k"},
            "tls_certificates[0].key_path only applies to source 'path', this entry has 'selfsigned'",
        ),
        (
            {
                "name": "a",
                "source": "path",
                "certificate_path": "/c",
                "key_path": "/k",
                "key_type": "ecdsa",
            },
            "tls_certificates[0].key_type only applies to source 'selfsigned'",
        ),
        (
            {
                "name": "a",
                "source": "path",
                "certificate_path": "/c",
                "key_path": "/k",
                "lineage": "a",
            },
            "tls_certificates[0].lineage only applies to source 'certbot'",
        ),
        (
            {"name": "a", "source": "certbot", "lineage": "../../etc"},
            "tls_certificates[0].lineage: '../../etc' must be the name of a directory under live/",
        ),
        (
            {"name": "a", "source": "certbot", "key_path": "/k"},
            "tls_certificates[0].key_path only applies to source 'path', this entry has 'certbot'",
        ),
        (
            {
                "name": "a",
                "source": "content",
                "certificate_content": "MIIB",
                "key_content": KEY_PEM,
            },
            "certificate_content does not hold a PEM certificate",
        ),
        (
            {
                "name": "a",
                "source": "content",
                "certificate_content": CERT_PEM,
                "key_content": "secret",
            },
            "key_content does not hold a PEM private key",
        ),
        (
            {
                "name": "a",
                "source": "content",
                "certificate_content": CERT_PEM,
                "key_content": KEY_PEM.replace("PRIVATE", "ENCRYPTED PRIVATE"),
            },
            "key_content is encrypted",
        ),
        (
            {
                "name": "a",
                "source": "content",
                "certificate_content": CERT_PEM,
                "key_content": KEY_PEM + CERT_PEM,
            },
            "key_content holds a certificate too",
        ),
    ],
)
def test_certificate_entry_problems(entry, problem):
    problems = tls.certificate_problems([entry])
    assert len(problems) == 1
    assert problem in problems[0]


def test_certificate_problems_never_quote_the_key():
    secret = "-----BEGIN FOO-----\nTOPSECRET\n-----END FOO-----"
    problems = tls.certificate_problems(
        [{"name": "a", "source": "content", "certificate_content": CERT_PEM, "key_content": secret}]
    )
    assert problems and not any("TOPSECRET" in problem for problem in problems)


def test_empty_certificate_list_explains_the_sources():
    (problem,) = tls.certificate_problems([])
    for source in ("'path'", "'certbot'", "'content'", "'selfsigned'"):
        assert source in problem


def test_duplicate_names():
    entries = [
        {"name": "lab", "source": "selfsigned"},
        {"name": "lab", "source": "selfsigned", "key_type": "ecdsa"},
    ]
    assert tls.certificate_problems(entries) == [
        "tls_certificates[1].name: 'lab' is already used by tls_certificates[0]"
    ]


def test_certificate_files_of_a_certbot_lineage():
    # Checked in certbot's live/ directory; Postfix reads the copy the deploy hook makes.
    assert tls.certificate_files(
        {"name": "mail-ecdsa", "source": "certbot", "lineage": "mail.example.com"},
        "/etc/postfix/tls/",
        "/srv/certbot/",
    ) == {
        "key_file": "/srv/certbot/live/mail.example.com/privkey.pem",
        "certificate_file": "/srv/certbot/live/mail.example.com/fullchain.pem",
        "chain_files": ["/etc/postfix/tls/mail-ecdsa.pem"],
        "installed_file": "/etc/postfix/tls/mail-ecdsa.pem",
        "lineage": "mail.example.com",
    }
    # Without a lineage the entry's name is the lineage; certbot's default directory.
    files = tls.certificate_files({"name": "mx.example.org", "source": "certbot"}, "/t")
    assert files["key_file"] == "/etc/letsencrypt/live/mx.example.org/privkey.pem"
    assert files["chain_files"] == ["/t/mx.example.org.pem"]


def test_certificate_files_per_source():
    assert tls.certificate_files(
        {
            "name": "le",
            "source": "path",
            "certificate_path": "/le/fullchain.pem",
            "key_path": "/le/privkey.pem",
        },
        "/etc/postfix/tls",
    ) == {
        "key_file": "/le/privkey.pem",
        "certificate_file": "/le/fullchain.pem",
        "chain_files": ["/le/privkey.pem", "/le/fullchain.pem"],
    }
    # Key and chain in one file: one atomic write, never a key beside a stale certificate.
    assert tls.certificate_files({"name": "rsa", "source": "content"}, "/etc/postfix/tls/")[
        "chain_files"
    ] == ["/etc/postfix/tls/rsa.pem"]
    assert tls.certificate_files({"name": "lab", "source": "selfsigned"}, "/etc/postfix/tls")[
        "chain_files"
    ] == [
        "/etc/postfix/tls/lab.key",
        "/etc/postfix/tls/lab.crt",
    ]


def test_combined_pem_puts_the_key_first():
    assert tls.combined_pem(KEY_PEM, "\n" + CERT_PEM + "\n\n") == KEY_PEM + CERT_PEM


def test_certificate_summary_flags_lab_certificates():
    line = tls.certificate_summary(
        {
            "name": "lab",
            "source": "selfsigned",
            "subject": {"commonName": "mx.example.test"},
            "key_type": "RSA",
            "not_after": "20271128120000Z",
            "expired": False,
            "expires_soon": False,
            "chain_files": ["/etc/postfix/tls/lab.key", "/etc/postfix/tls/lab.crt"],
        }
    )
    assert (
        "LAB ONLY" in line
        and "CN=mx.example.test" in line
        and "valid until 20271128120000Z" in line
    )


# --- the contract with the server role -------------------------------------------------------


def test_contribution_is_accepted_by_the_server_role(postfix37):
    """Feed the contribution to the server role's own merge filters (docs/handoff.md)."""
    server = pytest.importorskip("ansible_collections.sbs.postfix.plugins.filter.postfix")
    contribution, errors = tls.build_contribution(settings(submission=True, smtps=True), postfix37)
    assert errors == []
    defaults = {
        "smtpd_relay_restrictions": [
            "permit_mynetworks",
            "permit_sasl_authenticated",
            "reject_unauth_destination",
        ]
    }
    merged = server.postfix_main({}, {}, {"tls": contribution}, defaults)
    assert merged["problems"] == []
    parameters = merged["parameters"]
    assert parameters["smtpd_tls_chain_files"] == "/etc/postfix/tls/mail-rsa.pem"
    assert parameters["smtpd_tls_session_cache_database"] == "btree:${data_directory}/smtpd_scache"
    assert parameters["tls_preempt_cipherlist"] == "yes"
    stock = [{"name": "smtp", "type": "inet", "private": False, "chroot": True, "command": "smtpd"}]
    master = server.postfix_master(stock, [], {}, {"tls": contribution})
    assert master["problems"] == []
    assert [(service["name"], service["type"]) for service in master["services"]] == [
        ("smtp", "inet"),
        ("submission", "inet"),
        ("smtps", "inet"),
    ]
    lines = [
        line
        for service in contribution["services"]
        for line in server.postfix_master_lines(service)
    ]
    assert any(line.startswith("submission inet") for line in lines)
    assert "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject" in lines
    assert "  -o smtpd_tls_wrappermode=yes" in lines


def test_submission_and_smtps_are_the_server_roles_definition(postfix37):
    """One definition of 587/465 (plugin_utils/_master_cf.py): the tls role's services are what
    the server role builds from server_submission_enabled/server_smtps_enabled."""
    server = pytest.importorskip("ansible_collections.sbs.postfix.plugins.filter.postfix")
    options = {"smtps_options": {"smtpd_tls_loglevel": 2, "milter_macro_daemon_name": None}}
    contribution, errors = tls.build_contribution(
        settings(submission=True, smtps=True, **options), postfix37
    )
    assert errors == []
    assert contribution["services"] == server.postfix_submission_services(
        {
            "submission": {"enabled": True, "options": {}},
            "smtps": {"enabled": True, "options": options["smtps_options"]},
        }
    )


def test_bad_submission_option_is_reported_with_the_other_errors(postfix37):
    contribution, errors = tls.build_contribution(
        settings(submission=True, submission_options={"Not A Name": 1}), postfix37
    )
    assert contribution["services"] == []
    assert any(e.startswith("tls_submission_options.Not A Name: ") for e in errors), errors


# What community.crypto's info modules return for a current lab certificate (trimmed to the
# fields the decision reads): RSA 3072, CN and SAN mx1.example.test, valid for a year.
KEY_PEM = "-----BEGIN PUBLIC KEY-----\nMIIBojAN\n-----END PUBLIC KEY-----\n"
CERT_INFO = {
    "public_key": KEY_PEM,
    "subject": {"commonName": "mx1.example.test"},
    "subject_alt_name": ["DNS:mx1.example.test"],
    "expired": False,
    "valid_at": {"warn": True},
    "not_after": "20271130120000Z",
}
KEY_INFO = {"public_key": KEY_PEM, "type": "RSA", "public_data": {"size": 3072}}
ENTRY = {"name": "lab-rsa", "source": "selfsigned", "key_type": "rsa"}


def renewal(entry=None, certificate=None, key=None, alt_names=()):
    return tls.selfsigned_renewal(
        ENTRY if entry is None else entry,
        CERT_INFO if certificate is None else certificate,
        KEY_INFO if key is None else key,
        "mx1.example.test",
        alt_names,
    )


def test_a_current_selfsigned_certificate_is_kept():
    assert renewal() == []


def test_nothing_on_the_host_yet():
    # failed_when: false leaves the module's error without public_key
    missing = {"msg": "Error while reading certificate file from disk"}
    assert renewal(certificate=missing, key=missing) == ["no private key yet", "no certificate yet"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"expired": True}, "it expired (20271130120000Z)"),
        ({"valid_at": {"warn": False}}, "it expires soon (20271130120000Z)"),
        ({"subject": {"commonName": "old.example.test"}}, "its common name is old.example.test"),
        ({"public_key": "-----BEGIN PUBLIC KEY-----\nother\n"}, "belongs to another key"),
    ],
)
def test_a_certificate_that_is_no_longer_right_is_generated_again(change, reason):
    reasons = renewal(certificate=dict(CERT_INFO, **change))
    assert len(reasons) >= 1
    assert reason in reasons[0] or reason in reasons[-1]


def test_new_alternative_names_need_a_new_certificate():
    assert renewal(alt_names=["mail.example.test", "IP:192.0.2.25"]) == [
        "its names are DNS:mx1.example.test, the entry asks for DNS:mail.example.test, "
        "DNS:mx1.example.test, IP:192.0.2.25"
    ]


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (dict(ENTRY, key_size=4096), "the key has 3072 bits, the entry asks for 4096"),
        (dict(ENTRY, key_type="ecdsa"), "the key is RSA, the entry asks for ECC"),
    ],
)
def test_a_key_of_another_kind_is_generated_again(entry, reason):
    assert renewal(entry=entry) == [reason]


def test_an_ecdsa_key_on_another_curve():
    key = {"public_key": KEY_PEM, "type": "ECC", "public_data": {"curve": "secp384r1"}}
    entry = dict(ENTRY, key_type="ecdsa")
    assert renewal(entry=entry, key=key) == [
        "the key is on secp384r1, the entry asks for secp256r1"
    ]
    assert renewal(entry=dict(entry, curve="secp384r1"), key=key) == []


def test_selfsigned_names_put_the_common_name_first_once():
    assert tls.selfsigned_names("mx1.example.test", ["mx1.example.test", "IP:192.0.2.25"]) == [
        "DNS:mx1.example.test",
        "IP:192.0.2.25",
    ]


@pytest.mark.parametrize(
    ("check_mode", "done"), [(False, "generated now"), (True, "to be generated (check mode)")]
)
def test_certificate_summary_of_a_lab_certificate_generated_in_this_run(check_mode, done):
    entry = {
        "name": "lab",
        "source": "selfsigned",
        "renewal": ["no private key yet", "no certificate yet"],
        "check_mode": check_mode,
        "common_name": "mx.example.test",
    }
    assert tls.certificate_summary(entry) == (
        f"lab (selfsigned, LAB ONLY): {done}, for mx.example.test: "
        "no private key yet; no certificate yet"
    )
