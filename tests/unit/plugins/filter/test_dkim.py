# Copyright: sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/plugin_utils/_dkim.py (the dkim filters)."""

from __future__ import annotations

import base64
import pathlib
import re

import pytest
from ansible.errors import AnsibleFilterError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ansible_collections.sbs.postfix.plugins.filter.dkim import FilterModule
from ansible_collections.sbs.postfix.plugins.plugin_utils import _dkim as dkim

FIXTURES = pathlib.Path(__file__).parents[2] / "fixtures" / "dkim"


def _pem(key, fmt=serialization.PrivateFormat.PKCS8, password=None):
    encryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption).decode()


@pytest.fixture(scope="module")
def rsa2048():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ed_key():
    return ed25519.Ed25519PrivateKey.generate()


# --- selectors and domains ---------------------------------------------------------------


@pytest.mark.parametrize(
    "selector", ["mail", "s2026", "2026-11", "mail.eu", "a", "x" * 63, "sel-1.sub-2"]
)
def test_valid_selectors(selector):
    assert dkim.dkim_valid_selector(selector)


@pytest.mark.parametrize(
    "selector",
    [
        "",
        "mail_2026",
        "-mail",
        "mail-",
        "mail..eu",
        ".mail",
        "mail.",
        "ma il",
        "x" * 64,
        "mäil",
        "sel/1",
        None,
        2026,
        "sel;p=x",
    ],
)
def test_invalid_selectors(selector):
    assert not dkim.dkim_valid_selector(selector)


@pytest.mark.parametrize("domain", ["example.org", "mail.example.co.uk", "xn--bcher-kva.example"])
def test_valid_domains(domain):
    assert dkim.dkim_valid_domain(domain)


@pytest.mark.parametrize(
    "domain",
    [
        "localhost",
        "example..org",
        "example.org.",
        "-a.example",
        "192.0.2.1",
        "",
        None,
        "exa mple.org",
        "under_score.example",
    ],
)
def test_invalid_domains(domain):
    assert not dkim.dkim_valid_domain(domain)


# --- private keys ------------------------------------------------------------------------


def test_private_key_type_rsa_pkcs8_and_pkcs1(rsa2048):
    assert dkim.dkim_private_key_type(_pem(rsa2048)) == "rsa"
    pkcs1 = _pem(rsa2048, serialization.PrivateFormat.TraditionalOpenSSL)
    assert pkcs1.startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert dkim.dkim_private_key_type(pkcs1) == "rsa"


def test_private_key_type_tolerates_vault_whitespace(rsa2048):
    assert dkim.dkim_private_key_type("\n  " + _pem(rsa2048) + "\n\n") == "rsa"


def test_private_key_type_ed25519(ed_key):
    assert dkim.dkim_private_key_type(_pem(ed_key)) == "ed25519"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: "", "empty"),
        (lambda: "not a key at all", "not a PEM-encoded RSA or Ed25519"),
        (
            (FIXTURES / "opendkim-genkey-sel2026.pub").read_text,
            "not a PEM-encoded RSA or Ed25519",
        ),
        (
            lambda: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "not a PEM-encoded",
        ),
        (
            lambda: _pem(ec.generate_private_key(ec.SECP256R1())),
            "only with RSA or Ed25519",
        ),
        (
            lambda: _pem(rsa.generate_private_key(65537, 1024), password=b"pw"),
            "encrypted",
        ),
        ((FIXTURES / "rsa512-weak-test-only.key").read_text, "512 bits"),
    ],
    ids=["empty", "garbage", "public-key", "truncated", "ecdsa", "encrypted", "rsa512"],
)
def test_private_key_type_rejects(make, message):
    pem = make()
    with pytest.raises(AnsibleFilterError, match=message) as info:
        dkim.dkim_private_key_type(pem)
    body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    for line in body:
        assert line not in str(info.value), "the error message must never quote the key"


# --- DKIM record -------------------------------------------------------------------------


def _genkey_p(text):
    """The p= value of an opendkim-genkey .txt file (strings concatenated)."""
    strings = "".join(re.findall(r'"([^"]*)"', text))
    return re.search(r"p=([A-Za-z0-9+/=]+)", strings).group(1)


def test_record_matches_opendkim_genkey():
    """Same public key as opendkim-genkey published for a real key it generated."""
    public = (FIXTURES / "opendkim-genkey-sel2026.pub").read_text()
    expected = _genkey_p((FIXTURES / "opendkim-genkey-sel2026.txt").read_text())
    record = dkim.dkim_record(public)
    assert record == f"v=DKIM1; h=sha256; k=rsa; p={expected}"


def test_record_ed25519_publishes_raw_key():
    public = (FIXTURES / "ed25519.pub").read_text()
    record = dkim.dkim_record(public)
    assert record.startswith("v=DKIM1; h=sha256; k=ed25519; p=")
    raw = base64.b64decode(record.split("p=", 1)[1])
    assert len(raw) == 32  # RFC 8463: the bare key, not the 44-byte SubjectPublicKeyInfo


def test_record_flags_and_no_hash():
    public = (FIXTURES / "opendkim-genkey-sel2026.pub").read_text()
    record = dkim.dkim_record(public, testing=True, hash_algorithms="", strict_subdomains=True)
    assert record.startswith("v=DKIM1; k=rsa; t=y:s; p=MIIB")


def test_record_round_trip_with_dkimpy(rsa2048):
    """A message signed with the private key verifies against the record we build."""
    dkimpy = pytest.importorskip("dkim")
    public = rsa2048.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = dkim.dkim_record(public.decode())
    message = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: t\r\n\r\nbody\r\n"
    signature = dkimpy.sign(
        message,
        b"sel",
        b"example.org",
        _pem(rsa2048).encode(),
        include_headers=[b"from"],
    )

    def dns(name, timeout=5):
        assert name == b"sel._domainkey.example.org."
        return record.encode()

    assert dkimpy.verify(signature + message, dnsfunc=dns)
    assert not dkimpy.verify(signature + message.replace(b"body", b"bodY"), dnsfunc=dns)


def test_record_rejects_garbage():
    with pytest.raises(AnsibleFilterError, match="not a PEM public key"):
        dkim.dkim_record("nope")


# --- TXT splitting and zone lines ----------------------------------------------------------


def test_txt_split_255():
    value = "v=DKIM1; k=rsa; p=" + "A" * 392
    chunks = dkim.dkim_txt_split(value)
    assert [len(c) for c in chunks] == [255, 155]
    assert "".join(chunks) == value


@pytest.mark.parametrize(
    ("length", "sizes"), [(0, [0]), (255, [255]), (256, [255, 1]), (510, [255, 255])]
)
def test_txt_split_boundaries(length, sizes):
    assert [len(c) for c in dkim.dkim_txt_split("x" * length)] == sizes


def test_txt_split_never_cuts_a_character():
    chunks = dkim.dkim_txt_split("a" + "é" * 200)
    assert all(len(c.encode()) <= 255 for c in chunks)
    assert "".join(chunks) == "a" + "é" * 200


def test_txt_split_rejects_bad_size():
    with pytest.raises(AnsibleFilterError):
        dkim.dkim_txt_split("x", 256)


def test_zone_line_quotes_and_splits():
    line = dkim.dkim_zone_line("s._domainkey.example.org.", "a" * 300, ttl=3600)
    assert line == (
        's._domainkey.example.org.\t3600\tIN\tTXT\t( "' + "a" * 255 + '" "' + "a" * 45 + '" )'
    )
    assert dkim.dkim_zone_line("x", 'say "hi"') == 'x\tIN\tTXT\t( "say \\"hi\\"" )'


# --- SPF --------------------------------------------------------------------------------


def test_spf_keeps_only_public_addresses():
    addresses = [
        "127.0.0.1",
        "10.88.0.5",
        "192.168.1.2",
        "203.0.113.7",
        "8.8.4.4",
        "fe80::1%eth0",
        "::1",
        "2a01:4f8:1:2::25",
        "fd00::1",
        "172.16.0.1",
    ]
    assert dkim.dkim_public_addresses(addresses) == ["8.8.4.4", "2a01:4f8:1:2::25"]
    assert dkim.dkim_spf_record(addresses) == "v=spf1 ip4:8.8.4.4 ip6:2a01:4f8:1:2::25 ~all"


@pytest.mark.parametrize(
    ("relayhost", "mechanism"),
    [
        ("[smtp.provider.example]:587", "a:smtp.provider.example"),
        ("[smtp.provider.example]", "a:smtp.provider.example"),
        ("provider.example", "mx:provider.example"),
        ("provider.example:25", "mx:provider.example"),
        ("[8.8.8.8]:25", "ip4:8.8.8.8"),
        ("[ipv6:2a01:4f8::1]:587", "ip6:2a01:4f8::1"),
    ],
)
def test_spf_relayhost(relayhost, mechanism):
    assert dkim.dkim_spf_record([], relayhost) == f"v=spf1 {mechanism} ~all"


@pytest.mark.parametrize("relayhost", ["[127.0.0.1]:2525", "[10.0.0.5]", "[ipv6:fd00::1]:25"])
def test_spf_ignores_relays_receivers_never_see(relayhost):
    assert dkim.dkim_spf_record(["8.8.4.4"], relayhost) == "v=spf1 ip4:8.8.4.4 ~all"


def test_spf_extra_mechanisms_and_qualifier():
    record = dkim.dkim_spf_record(["8.8.4.4"], "", ["include:_spf.provider.example"], "-all")
    assert record == "v=spf1 ip4:8.8.4.4 include:_spf.provider.example -all"


def test_spf_without_sources_authorises_nobody():
    assert dkim.dkim_spf_record(["10.0.0.1"]) == "v=spf1 ~all"


@pytest.mark.parametrize("bad", [{"qualifier": "+all"}, {"relayhost": "[bad_host]:25"}])
def test_spf_rejects(bad):
    with pytest.raises(AnsibleFilterError):
        dkim.dkim_spf_record([], **bad)


# --- DMARC ------------------------------------------------------------------------------


def test_dmarc_first_rollout():
    assert dkim.dkim_dmarc_record("none", ["dmarc@example.org"]) == (
        "v=DMARC1; p=none; rua=mailto:dmarc@example.org"
    )


def test_dmarc_full():
    record = dkim.dkim_dmarc_record(
        "quarantine",
        ["mailto:a@example.org", "b@example.net"],
        ["f@example.org"],
        subdomain_policy="reject",
        pct=50,
        adkim="s",
        aspf="r",
    )
    assert record == (
        "v=DMARC1; p=quarantine; sp=reject; adkim=s; aspf=r; pct=50; "
        "rua=mailto:a@example.org,mailto:b@example.net; ruf=mailto:f@example.org"
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"policy": "monitor"},
        {"rua": ["nobody"]},
        {"adkim": "x"},
        {"pct": 101},
        {"subdomain_policy": "all"},
        {"rua": ["a@b.example; p=reject"]},
    ],
)
def test_dmarc_rejects(kwargs):
    with pytest.raises(AnsibleFilterError):
        dkim.dkim_dmarc_record(**kwargs)


# --- TrustedHosts -----------------------------------------------------------------------


def test_trusted_hosts_from_debian_postconf():
    """``postconf -h mynetworks`` as Debian's Postfix prints it."""
    value = "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128"
    assert dkim.dkim_trusted_hosts(value) == [
        "127.0.0.1",
        "::1",
        "localhost",
        "127.0.0.0/8",
        "::ffff:7f00:0/104",
    ]


def test_trusted_hosts_list_tables_and_extra():
    hosts = dkim.dkim_trusted_hosts(
        [
            "192.0.2.0/24",
            "hash:/etc/postfix/network_table",
            "/etc/postfix/nets",
            "[2001:DB8::]/32",
            "192.0.2.9",
        ],
        extra=["Relay.Example.org", "198.51.100.1/32"],
    )
    assert hosts == [
        "127.0.0.1",
        "::1",
        "localhost",
        "192.0.2.0/24",
        "2001:db8::/32",
        "192.0.2.9",
        "relay.example.org",
        "198.51.100.1",
    ]


# --- configuration errors and plan ------------------------------------------------------


def test_config_valid_minimal():
    domains = [{"domain": "example.org", "active_selector": "mail2026"}]
    assert dkim.dkim_config_errors(domains, []) == []


def _one_error(domains, table=None, **kwargs):
    errors = dkim.dkim_config_errors(domains, table, **kwargs)
    assert len(errors) == 1, errors
    return errors[0]


def test_config_unknown_domain_in_signing_table():
    error = _one_error(
        [{"domain": "example.org", "active_selector": "s1"}],
        [
            {"pattern": "*@shop.example.org", "domain": "example.org"},
            {"pattern": "*@example.net", "domain": "example.net"},
        ],
    )
    assert error.startswith("dkim_signing_table[1].domain 'example.net' is not in dkim_domains")


def test_config_bad_selector_names_the_variable():
    error = _one_error([{"domain": "example.org", "active_selector": "mail_2026"}])
    assert error.startswith("dkim_domains[0].active_selector 'mail_2026' is not a valid DKIM")
    error = _one_error(
        [
            {
                "domain": "example.org",
                "active_selector": "a",
                "selectors": [{"name": "a"}, {"name": "b c"}],
            }
        ]
    )
    assert error.startswith("dkim_domains[0].selectors[1] 'b c' is not a valid DKIM selector")


def test_config_bad_supplied_key_never_leaks(rsa2048):
    domains = [
        {
            "domain": "example.org",
            "active_selector": "a",
            "selectors": [
                {"name": "a", "private_key": _pem(rsa2048)},
                {"name": "b", "private_key": "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n"},
            ],
        },
    ]
    error = _one_error(domains)
    assert error.startswith("dkim_domains[0].selectors[1].private_key: the private key is not")
    assert "c2VjcmV0" not in error


def test_config_shared_key_file():
    domains = [
        {
            "domain": "example.org",
            "active_selector": "mail",
            "selectors": [{"name": "mail", "key_file": "/etc/dkimkeys/mail.private"}],
        },
        {
            "domain": "example.net",
            "active_selector": "mail",
            "selectors": [{"name": "mail", "key_file": "/etc/dkimkeys/x/../mail.private"}],
        },
    ]
    error = _one_error(domains)
    assert error.startswith(
        "dkim_domains[1].selectors[0] uses key file /etc/dkimkeys/mail.private already used by "
        "dkim_domains[0].selectors[0]"
    )


def test_config_same_selector_different_domains_is_fine():
    domains = [
        {"domain": "example.org", "active_selector": "mail"},
        {"domain": "example.net", "active_selector": "mail"},
    ]
    assert dkim.dkim_config_errors(domains) == []


@pytest.mark.parametrize(
    ("domains", "start"),
    [
        ("example.org", "dkim_domains must be a list"),
        (
            [{"domain": "localhost", "active_selector": "a"}],
            "dkim_domains[0].domain 'localhost'",
        ),
        ([{"domain": "example.org"}], "dkim_domains[0].active_selector is required"),
        (
            [
                {
                    "domain": "example.org",
                    "active_selector": "c",
                    "selectors": [{"name": "a"}],
                }
            ],
            "dkim_domains[0].active_selector 'c' is not one of",
        ),
        (
            [
                {"domain": "example.org", "active_selector": "a"},
                {"domain": "Example.org", "active_selector": "b"},
            ],
            "dkim_domains[1].domain 'example.org' is already configured in dkim_domains[0]",
        ),
        (
            [
                {
                    "domain": "example.org",
                    "active_selector": "a",
                    "selectors": [{"name": "a"}, {"name": "a"}],
                }
            ],
            "dkim_domains[0].selectors[1].name 'a' appears twice",
        ),
        (
            [
                {
                    "domain": "example.org",
                    "active_selector": "a",
                    "selectors": [{"name": "a", "bits": 512}],
                }
            ],
            "dkim_domains[0].selectors[0].bits must be",
        ),
        (
            [
                {
                    "domain": "example.org",
                    "active_selector": "a",
                    "selectors": [{"name": "a", "key_file": "keys/a.private"}],
                }
            ],
            "dkim_domains[0].selectors[0].key_file 'keys/a.private' must be an absolute path",
        ),
    ],
)
def test_config_errors(domains, start):
    assert _one_error(domains).startswith(start)


def test_config_bad_pattern():
    error = _one_error(
        [{"domain": "example.org", "active_selector": "a"}],
        [{"pattern": "* @example.org", "domain": "example.org"}],
    )
    assert error.startswith("dkim_signing_table[0].pattern")


def test_plan_staged_selector_never_signs():
    domains = [
        {
            "domain": "Example.org",
            "active_selector": "s2026",
            "selectors": [{"name": "s2026"}, {"name": "s2027", "bits": 3072}],
            "subdomains": True,
        },
        {
            "domain": "example.net",
            "active_selector": "mail",
            "selectors": [{"name": "mail", "private_key": "x", "key_file": "/srv/k/net.pem"}],
        },
    ]
    table = [
        {"pattern": "*@shop.example.com", "domain": "example.net"},
        {"pattern": "*@example.org", "domain": "example.org"},
    ]
    plan = dkim.dkim_plan(domains, table, "/etc/dkimkeys")
    assert [
        (
            k["domain"],
            k["selector"],
            k["key_file"],
            k["bits"],
            k["active"],
            k["supplied"],
        )
        for k in plan["keys"]
    ] == [
        (
            "example.org",
            "s2026",
            "/etc/dkimkeys/example.org/s2026.private",
            2048,
            True,
            False,
        ),
        (
            "example.org",
            "s2027",
            "/etc/dkimkeys/example.org/s2027.private",
            3072,
            False,
            False,
        ),
        ("example.net", "mail", "/srv/k/net.pem", 2048, True, True),
    ]
    assert plan["key_table"] == [
        {
            "name": "s2026._domainkey.example.org",
            "value": "example.org:s2026:/etc/dkimkeys/example.org/s2026.private",
        },
        {
            "name": "mail._domainkey.example.net",
            "value": "example.net:mail:/srv/k/net.pem",
        },
    ]
    assert plan["signing_table"] == [
        {"pattern": "*@shop.example.com", "key_name": "mail._domainkey.example.net"},
        {"pattern": "*@example.org", "key_name": "s2026._domainkey.example.org"},
        {"pattern": "*@*.example.org", "key_name": "s2026._domainkey.example.org"},
        {"pattern": "*@example.net", "key_name": "mail._domainkey.example.net"},
    ]


def test_plan_switching_active_selector_moves_signing():
    selectors = [{"name": "old"}, {"name": "new"}]
    before = dkim.dkim_plan(
        [{"domain": "example.org", "active_selector": "old", "selectors": selectors}]
    )
    after = dkim.dkim_plan(
        [{"domain": "example.org", "active_selector": "new", "selectors": selectors}]
    )
    assert before["signing_table"][0]["key_name"] == "old._domainkey.example.org"
    assert after["signing_table"][0]["key_name"] == "new._domainkey.example.org"
    # both keys stay on the host: the old one until its DNS record is retired
    assert [k["selector"] for k in after["keys"]] == ["old", "new"]


def test_filter_module_exports_everything():
    names = FilterModule().filters()
    assert set(names) == {n for n in dir(dkim) if n.startswith("dkim_")}


def test_config_generated_key_file_must_end_in_private():
    error = _one_error(
        [
            {
                "domain": "example.org",
                "active_selector": "a",
                "selectors": [{"name": "a", "key_file": "/etc/dkimkeys/a.pem"}],
            }
        ]
    )
    assert error.startswith("dkim_domains[0].selectors[0].key_file '/etc/dkimkeys/a.pem' must end")


def test_supplied_keys_checksum_matches_written_content(rsa2048):
    import hashlib

    pem = _pem(rsa2048)
    domains = [
        {
            "domain": "Example.org",
            "active_selector": "a",
            "selectors": [
                {"name": "a", "private_key": "\n" + pem + "\n\n"},
                {"name": "b"},
            ],
        },
    ]
    (key,) = dkim.dkim_supplied_keys(domains, "/etc/dkimkeys")
    assert key["key_file"] == "/etc/dkimkeys/example.org/a.private"
    assert key["content"] == pem.strip() + "\n"
    assert key["sha1"] == hashlib.sha1(pem.strip().encode() + b"\n").hexdigest()


def test_plan_genkey_name():
    plan = dkim.dkim_plan(
        [
            {
                "domain": "example.org",
                "active_selector": "a",
                "selectors": [{"name": "a", "key_file": "/srv/dkim/org-a.private"}],
            }
        ]
    )
    assert plan["keys"][0]["genkey_name"] == "org-a"
    assert plan["keys"][0]["key_dir"] == "/srv/dkim"


def test_dns_records_from_the_public_keys_runtime_info_read():
    public = (FIXTURES / "opendkim-genkey-sel2026.pub").read_text()
    domains = [
        {
            "domain": "example.org",
            "active_selector": "s1",
            "selectors": [{"name": "s1"}, {"name": "s2"}],
        }
    ]
    plan = dkim.dkim_plan(domains)
    read = {plan["keys"][0]["key_file"]: public, plan["keys"][1]["key_file"]: None}
    from_read = dkim.dkim_dns_records(domains, read, "v=spf1 ~all", keys=plan["keys"])
    from_command = dkim.dkim_dns_records(
        domains,
        [{"item": plan["keys"][0], "rc": 0, "stdout": public}],
        "v=spf1 ~all",
    )
    assert from_read == from_command
    assert [r["selector"] for r in from_read["example.org"]["dkim"]] == ["s1"]


def test_dns_records_per_domain():
    public = (FIXTURES / "opendkim-genkey-sel2026.pub").read_text()
    domains = [
        {
            "domain": "example.org",
            "active_selector": "s1",
            "selectors": [{"name": "s1"}, {"name": "s2"}],
        },
        {
            "domain": "example.net",
            "active_selector": "m",
            "dmarc_policy": "reject",
            "dmarc_rua": ["dmarc@report.example"],
            "testing": True,
        },
    ]
    plan = dkim.dkim_plan(domains)
    results = [
        {"item": plan["keys"][0], "rc": 0, "stdout": public},
        {
            "item": plan["keys"][1],
            "rc": 1,
            "stdout": "",
        },  # not generated yet (check mode)
        {"item": plan["keys"][2], "rc": 0, "stdout": public},
    ]
    records = dkim.dkim_dns_records(
        domains,
        results,
        "v=spf1 ip4:8.8.4.4 ~all",
        dmarc_policy="none",
        dmarc_rua=["postmaster@{domain}"],
        ttl=3600,
    )
    org = records["example.org"]
    assert [r["selector"] for r in org["dkim"]] == ["s1"]
    assert org["dkim"][0]["name"] == "s1._domainkey.example.org"
    assert org["dkim"][0]["active"] is True
    assert "".join(org["dkim"][0]["strings"]) == org["dkim"][0]["value"]
    assert org["dkim"][0]["zone"].startswith(
        's1._domainkey.example.org.\t3600\tIN\tTXT\t( "v=DKIM1;'
    )
    assert org["dmarc"] == {
        "name": "_dmarc.example.org",
        "value": "v=DMARC1; p=none; rua=mailto:postmaster@example.org",
        "zone": '_dmarc.example.org.\t3600\tIN\tTXT\t( "v=DMARC1; p=none; '
        'rua=mailto:postmaster@example.org" )',
    }
    assert org["spf"]["value"] == "v=spf1 ip4:8.8.4.4 ~all"
    net = records["example.net"]
    assert net["dmarc"]["value"] == "v=DMARC1; p=reject; rua=mailto:dmarc@report.example"
    assert "; t=y; " in net["dkim"][0]["value"]


def test_supplied_keys_without_content_for_logging(rsa2048):
    domains = [
        {
            "domain": "example.org",
            "active_selector": "a",
            "selectors": [{"name": "b"}, {"name": "a", "private_key": _pem(rsa2048)}],
        }
    ]
    (key,) = dkim.dkim_supplied_keys(domains, with_content=False)
    assert key["variable"] == "dkim_domains[0].selectors[1]"
    assert "content" not in key
    assert "PRIVATE" not in repr(key)


def test_trusted_hosts_from_the_server_role_default():
    """The server role's SBS default mynetworks, as the dkim role passes it."""
    assert dkim.dkim_trusted_hosts(["127.0.0.0/8", "[::1]/128"]) == [
        "127.0.0.1",
        "::1",
        "localhost",
        "127.0.0.0/8",
    ]


def test_plan_says_which_variable_set_each_key_size():
    domains = [
        {
            "domain": "example.org",
            "active_selector": "s1",
            "selectors": [{"name": "s1"}, {"name": "s2", "bits": 4096}],
        }
    ]
    keys = dkim.dkim_plan(domains, default_bits=1024)["keys"]
    assert [(k["bits"], k["bits_variable"]) for k in keys] == [
        (1024, "dkim_key_bits"),
        (4096, "dkim_domains[0].selectors[1].bits"),
    ]
    assert dkim.dkim_plan(domains, default_bits=1024)["key_sizes"] == [
        {"value": 1024, "variable": "dkim_key_bits"},
        {"value": 4096, "variable": "dkim_domains[0].selectors[1].bits"},
    ]


def test_dmarc_addresses_are_refused_under_the_variable_the_admin_wrote():
    with pytest.raises(
        AnsibleFilterError, match=r"^dkim_dmarc_rua: 'nobody' is not a mail address"
    ):
        dkim.dkim_dmarc_record("none", ["nobody"], rua_variable="dkim_dmarc_rua")
    with pytest.raises(AnsibleFilterError, match=r"^dkim_dmarc_ruf: "):
        dkim.dkim_dmarc_record(
            "none", None, ["mailto:a b@example.test"], ruf_variable="dkim_dmarc_ruf"
        )


# --- DMARC and SPF settings, every problem at once ----------------------------------------


def test_policy_problems_none_for_valid_settings():
    assert (
        dkim.dkim_policy_problems(
            "quarantine",
            ["dmarc-reports@{domain}"],
            [],
            ["include:_spf.provider.example"],
            "-all",
        )
        == []
    )


def test_policy_problems_reports_dmarc_and_spf_together():
    problems = dkim.dkim_policy_problems(
        "none", ["postmaster"], [], ["include:_spf.provider.example"], "+all"
    )
    assert problems == [
        "dkim_dmarc_rua: 'postmaster' is not a mail address",
        "SPF 'all' qualifier must be -all, ~all or ?all, not '+all'",
    ]


def test_policy_problems_are_the_record_filters_own_messages():
    """One set of rules: each message is the one the record filter raises."""
    ruf = ["mailto:abuse;ruf@example.org"]
    with pytest.raises(AnsibleFilterError) as dmarc:
        dkim.dkim_dmarc_record("none", [], ruf, ruf_variable="dkim_domains[0].dmarc_ruf")
    with pytest.raises(AnsibleFilterError) as spf:
        dkim.dkim_spf_record([], None, [], "all")
    problems = dkim.dkim_policy_problems(
        "none", [], ruf, [], "all", ruf_variable="dkim_domains[0].dmarc_ruf"
    )
    assert problems == [dmarc.value.message, spf.value.message]
    assert problems[0].startswith("dkim_domains[0].dmarc_ruf: 'mailto:abuse;ruf@example.org'")
