# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tls_certificate_facts, tls_public_key_facts and tls_private_key_facts: the facts the tls
role read from community.crypto's x509_certificate_info and openssl_privatekey_info, computed
on the controller from the text runtime_info returns.

The certificates are generated here with cryptography and judged three ways: by
community.crypto's own backends (the code behind the two modules, same PEM in), by the openssl
command line, and by selfsigned_renewal, which reads the facts as the role does.
"""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess

import pytest
from ansible.errors import AnsibleFilterError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from ansible_collections.sbs.postfix.plugins.filter.tls import FilterModule
from ansible_collections.sbs.postfix.plugins.plugin_utils import _tls as tls

try:
    from ansible_collections.community.crypto.plugins.module_utils._crypto.module_backends.certificate_info import (
        CertificateInfoRetrieval,
    )
    from ansible_collections.community.crypto.plugins.module_utils._crypto.module_backends.privatekey_info import (
        PrivateKeyInfoRetrieval,
    )
    from ansible_collections.community.crypto.plugins.module_utils._time import (
        get_relative_time_option,
    )

    HAS_COMMUNITY_CRYPTO = True
except ImportError:  # ansible-test units without the collection installed
    HAS_COMMUNITY_CRYPTO = False

needs_community_crypto = pytest.mark.skipif(
    not HAS_COMMUNITY_CRYPTO, reason="community.crypto is not importable"
)
OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="no openssl command")

NOW = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
DAY = datetime.timedelta(days=1)
NAMES = ["mx1.example.test", "mail.example.test", "IP:192.0.2.1", "IP:2001:db8::1"]


def _san(names):
    general = []
    for name in names:
        if name.startswith("IP:"):
            general.append(x509.IPAddress(ipaddress.ip_address(name[3:])))
        else:
            general.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(general)


def _pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def make_certificate(
    key,
    *,
    common_name="mx1.example.test",
    names=tuple(NAMES),
    not_before=NOW - DAY,
    not_after=NOW + 365 * DAY,
    subject=(),
    extensions=(),
):
    """A self-signed certificate, as PEM text."""
    name = x509.Name(
        [*subject, x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        if common_name
        else list(subject)
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if names:
        builder = builder.add_extension(_san(names), critical=False)
    for extension in extensions:
        builder = builder.add_extension(extension, critical=False)
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    cert = builder.sign(key, algorithm)
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def keys():
    return {
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ec": ec.generate_private_key(ec.SECP256R1()),
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
    }


@pytest.fixture(scope="module")
def certificates(keys):
    """{label: (private key, certificate PEM)}: RSA 2048 and EC P-256 with SANs, one expired,
    one expiring within the default 30 warning days, an Ed25519 one without SANs, and one
    that is not valid yet 30 days from now."""
    subject = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example SBS"),
    ]
    return {
        "rsa": (keys["rsa"], make_certificate(keys["rsa"], subject=subject)),
        "ec": (keys["ec"], make_certificate(keys["ec"])),
        "expired": (
            keys["rsa"],
            make_certificate(keys["rsa"], not_before=NOW - 400 * DAY, not_after=NOW - 30 * DAY),
        ),
        "expiring": (
            keys["ec"],
            make_certificate(keys["ec"], not_before=NOW - 80 * DAY, not_after=NOW + 10 * DAY),
        ),
        "ed25519": (keys["ed25519"], make_certificate(keys["ed25519"], names=())),
        # valid_at is "between notBefore and notAfter", not only "before notAfter"
        "future": (
            keys["rsa"],
            make_certificate(keys["rsa"], not_before=NOW + 40 * DAY, not_after=NOW + 400 * DAY),
        ),
    }


LABELS = ["rsa", "ec", "expired", "expiring", "ed25519"]


class _Module:
    """What community.crypto's backends read from their AnsibleModule."""

    params = {"name_encoding": "ignore"}

    def warn(self, msg):  # pragma: no cover - only called on inconsistent keys
        raise AssertionError(msg)


def community_certificate_info(pem, warn_days=30, now=None):
    """x509_certificate_info's result for ``pem``, from its backend and its valid_at code."""
    backend = CertificateInfoRetrieval(module=_Module(), content=pem.encode())
    info = backend.get_info()
    warn = get_relative_time_option(
        f"+{warn_days}d", input_name="valid_at.warn", with_timezone=True, now=now
    )
    info["valid_at"] = {"warn": backend.get_not_before() <= warn <= backend.get_not_after()}
    return info


def community_privatekey_info(pem):
    return PrivateKeyInfoRetrieval(module=_Module(), content=pem.encode()).get_info()


def openssl(*args, stdin=None):
    return subprocess.run(
        [OPENSSL, *args], input=stdin, capture_output=True, text=True, check=True
    ).stdout


def checkend(pem, seconds):
    """openssl's word on whether ``pem`` is still valid ``seconds`` from now."""
    result = subprocess.run(
        [OPENSSL, "x509", "-noout", "-checkend", str(seconds)],
        input=pem,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0


# --- the key test: community.crypto's own backend, same PEM in, same facts out ---


@needs_community_crypto
@pytest.mark.parametrize("label", [*LABELS, "future"])
def test_certificate_facts_are_what_x509_certificate_info_returns(certificates, label):
    pem = certificates[label][1]
    facts = tls.certificate_facts(pem, warn_days=30, now=NOW)
    info = community_certificate_info(pem, warn_days=30, now=NOW)

    assert facts["readable"] is True
    for key in (
        "subject",
        "issuer",
        "subject_alt_name",
        "not_before",
        "not_after",
        "expired",
        "valid_at",
        "public_key",
        "public_key_type",
        "serial_number",
    ):
        assert facts[key] == info[key], key
    for algorithm in ("sha1", "sha256"):
        assert facts["fingerprints"][algorithm] == info["fingerprints"][algorithm]
    # the sizes and curve; community.crypto also returns the key's numbers
    assert facts["public_key_data"].items() <= info["public_key_data"].items()


@needs_community_crypto
@pytest.mark.parametrize("label", ["rsa", "ec", "ed25519"])
def test_key_facts_are_what_openssl_privatekey_info_returns(keys, label):
    pem = _pem(keys[label])
    info = community_privatekey_info(pem)
    public_pem = (
        keys[label]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    for facts in (tls.private_key_facts(pem), tls.public_key_facts(public_pem.decode())):
        assert facts["readable"] is True
        assert facts["public_key"] == info["public_key"]
        assert facts["type"] == facts["public_key_type"] == info["type"]
        assert facts["public_data"].items() <= info["public_data"].items()


@needs_community_crypto
def test_every_kind_of_name_is_written_as_community_crypto_writes_it(keys):
    names = x509.SubjectAlternativeName(
        [
            x509.DNSName("mx1.example.test"),
            x509.DNSName("*.example.test"),
            x509.IPAddress(ipaddress.ip_address("2001:db8:0:0::25")),
            x509.RFC822Name("postmaster@example.test"),
            x509.UniformResourceIdentifier("https://example.test/"),
            x509.DirectoryName(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
                        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example, SBS"),
                        x509.NameAttribute(NameOID.COMMON_NAME, " mx1"),
                    ]
                )
            ),
            x509.RegisteredID(x509.ObjectIdentifier("1.2.3.4")),
            x509.OtherName(x509.ObjectIdentifier("1.3.6.1.4.1.311.20.2.3"), b"\x0c\x03abc"),
        ]
    )
    subject = [
        x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, "VATDE-123"),
        x509.NameAttribute(NameOID.INITIALS, "JD"),
        x509.NameAttribute(NameOID.USER_ID, "jdoe"),
        x509.NameAttribute(x509.ObjectIdentifier("2.5.4.13"), "lab"),
        x509.NameAttribute(x509.ObjectIdentifier("1.2.3.4.5"), "private"),
        x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "example"),
        x509.NameAttribute(NameOID.EMAIL_ADDRESS, "postmaster@example.test"),
    ]
    pem = make_certificate(keys["rsa"], names=(), subject=subject, extensions=[names])
    facts = tls.certificate_facts(pem)
    info = community_certificate_info(pem)
    assert facts["subject_alt_name"] == info["subject_alt_name"]
    assert facts["subject"] == info["subject"]
    assert facts["subject"]["organizationIdentifier"] == "VATDE-123"


# --- independently: the openssl command line ---


@needs_openssl
@pytest.mark.parametrize("label", LABELS)
def test_certificate_facts_agree_with_openssl(certificates, label):
    pem = certificates[label][1]
    facts = tls.certificate_facts(pem)
    fingerprint = openssl("x509", "-noout", "-fingerprint", "-sha256", stdin=pem)
    assert fingerprint.strip().split("=", 1)[1].lower() == facts["fingerprints"]["sha256"]
    end = openssl("x509", "-noout", "-enddate", stdin=pem).strip().split("=", 1)[1]
    not_after = datetime.datetime.strptime(end, "%b %d %H:%M:%S %Y %Z")
    assert not_after.strftime("%Y%m%d%H%M%SZ") == facts["not_after"]
    assert openssl("x509", "-noout", "-pubkey", stdin=pem) == facts["public_key"]
    # openssl's own word on expiry: -checkend N fails when the certificate ends within N seconds
    assert facts["expired"] is not checkend(pem, 0)
    assert facts["valid_at"]["warn"] is checkend(pem, 30 * 86400)


@needs_openssl
@pytest.mark.parametrize("label", LABELS)
def test_openssl_pkey_pubout_of_the_private_key_matches_the_certificate(
    certificates, label, tmp_path
):
    """How the role decides key_matches: runtime_info runs ``openssl pkey -pubout`` on the
    host, the controller compares it with the certificate's public key."""
    key, pem = certificates[label]
    key_file = tmp_path / "key.pem"
    key_file.write_text(_pem(key))
    pubout = openssl("pkey", "-in", str(key_file), "-pubout")

    cert = tls.certificate_facts(pem, pubout)
    public = tls.public_key_facts(pubout)
    assert public["public_key"].strip() == cert["public_key"].strip()
    assert public["public_key"] == cert["public_key"]
    assert cert["key_matches"] is True
    assert tls.private_key_facts(_pem(key))["public_key"] == cert["public_key"]


@needs_openssl
def test_a_pkcs1_rsa_public_key_is_normalised(certificates, tmp_path):
    key, pem = certificates["rsa"]
    key_file = tmp_path / "key.pem"
    key_file.write_text(_pem(key))
    pkcs1 = openssl("rsa", "-in", str(key_file), "-RSAPublicKey_out")
    assert "BEGIN RSA PUBLIC KEY" in pkcs1
    assert tls.public_key_facts(pkcs1)["public_key"] == tls.certificate_facts(pem)["public_key"]


def test_another_key_does_not_match(certificates, keys):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_public = tls.private_key_facts(_pem(other))["public_key"]
    facts = tls.certificate_facts(certificates["rsa"][1], other_public)
    assert facts["key_matches"] is False
    assert tls.certificate_facts(certificates["rsa"][1], "not a key")["key_matches"] is False
    assert tls.certificate_facts(certificates["rsa"][1])["key_matches"] is None
    assert tls.certificate_facts(certificates["rsa"][1], None)["key_matches"] is None


# --- the values the role reads, without community.crypto ---


def test_facts_of_a_current_rsa_certificate(certificates):
    facts = tls.certificate_facts(certificates["rsa"][1], now=NOW)
    assert facts["subject"] == {
        "countryName": "DE",
        "organizationName": "Example SBS",
        "commonName": "mx1.example.test",
    }
    assert facts["issuer"] == facts["subject"]
    assert facts["subject_alt_name"] == [
        "DNS:mx1.example.test",
        "DNS:mail.example.test",
        "IP:192.0.2.1",
        "IP:2001:db8::1",
    ]
    assert facts["not_after"] == (NOW + 365 * DAY).strftime("%Y%m%d%H%M%SZ")
    assert facts["expired"] is False
    assert facts["valid_at"] == {"warn": True}
    assert facts["public_key_type"] == "RSA"
    assert facts["public_key_data"] == {"size": 2048, "exponent": 65537}
    assert facts["public_key"].startswith("-----BEGIN PUBLIC KEY-----\n")
    assert len(facts["fingerprints"]["sha256"]) == 32 * 3 - 1
    assert facts["fingerprints"]["sha256"] == facts["fingerprints"]["sha256"].lower()


def test_facts_of_an_ec_certificate(certificates):
    facts = tls.certificate_facts(certificates["ec"][1])
    assert facts["public_key_type"] == "ECC"
    assert facts["public_key_data"] == {"curve": "secp256r1", "exponent_size": 256}


@pytest.mark.parametrize(
    ("label", "expired", "warn"),
    [
        ("rsa", False, True),
        ("expired", True, False),
        ("expiring", False, False),
        ("future", False, False),
    ],
)
def test_expired_and_expiring(certificates, label, expired, warn):
    facts = tls.certificate_facts(certificates[label][1], now=NOW)
    assert facts["expired"] is expired
    assert facts["valid_at"]["warn"] is warn


def test_warn_days_and_now_move_the_judgement(certificates):
    pem = certificates["expiring"][1]  # ends in 10 days
    assert tls.certificate_facts(pem, warn_days=5, now=NOW)["valid_at"]["warn"] is True
    assert tls.certificate_facts(pem, warn_days="5", now=NOW)["valid_at"]["warn"] is True
    later = (NOW + 11 * DAY).strftime("%Y%m%d%H%M%SZ")
    assert tls.certificate_facts(pem, now=later)["expired"] is True
    assert tls.certificate_facts(pem, now=NOW.replace(tzinfo=None))["expired"] is False


def test_bad_warn_days_or_now_are_refused(certificates):
    with pytest.raises(AnsibleFilterError, match="warn_days"):
        tls.certificate_facts(certificates["rsa"][1], warn_days="a month")
    with pytest.raises(AnsibleFilterError, match="now"):
        tls.certificate_facts(certificates["rsa"][1], now="tomorrow")


def test_a_certificate_without_alternative_names(certificates):
    facts = tls.certificate_facts(certificates["ed25519"][1])
    assert facts["subject_alt_name"] is None  # as x509_certificate_info: no extension, null
    assert facts["public_key_type"] == "Ed25519"
    assert facts["public_key_data"] == {}


def test_the_first_certificate_of_a_chain_is_read(certificates, keys):
    leaf, other = certificates["rsa"][1], certificates["ec"][1]
    assert tls.certificate_facts(leaf + other) == tls.certificate_facts(leaf)
    # a combined file: the key first, then the chain
    assert tls.certificate_facts(_pem(keys["rsa"]) + leaf) == tls.certificate_facts(leaf)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (None, "no certificate"),
        ("", "no certificate"),
        ("  \n", "no certificate"),
        ({"stat": {}}, "no certificate"),
        ("not a certificate", "not a PEM certificate"),
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "not a PEM certificate",
        ),
    ],
)
def test_no_certificate_is_unreadable_not_an_error(text, fragment):
    facts = tls.certificate_facts(text)
    assert facts["readable"] is False
    assert fragment in facts["msg"]
    assert "public_key" not in facts  # the role tests "public_key is defined"


def test_a_private_key_is_not_a_certificate(keys):
    facts = tls.certificate_facts(_pem(keys["rsa"]))
    assert facts["readable"] is False
    assert "PRIVATE" not in facts["msg"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [(None, "no public key"), ("", "no public key"), ("junk", "not a PEM public key")],
)
def test_an_unreadable_public_key(text, fragment):
    facts = tls.public_key_facts(text)
    assert facts["readable"] is False
    assert fragment in facts["msg"]
    assert "public_key" not in facts


def test_a_private_key_is_not_taken_for_a_public_key(keys):
    facts = tls.public_key_facts(_pem(keys["rsa"]))
    assert facts == {"readable": False, "msg": facts["msg"]}


@pytest.mark.parametrize(
    "private_format",
    [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL],
)
@pytest.mark.parametrize("label", ["rsa", "ec"])
def test_private_key_facts_hold_nothing_private(keys, label, private_format):
    key = keys[label]
    pem = key.private_bytes(
        serialization.Encoding.PEM, private_format, serialization.NoEncryption()
    ).decode()
    facts = tls.private_key_facts(pem)
    assert set(facts) == {"readable", "public_key", "public_key_type", "type", "public_data"}
    assert "PRIVATE" not in repr(facts)
    body = "".join(pem.strip().splitlines()[1:-1])
    assert body[:40] not in repr(facts)
    if label == "rsa":
        assert facts["public_data"] == {"size": 2048, "exponent": 65537}
    else:
        assert facts["public_data"] == {"curve": "secp256r1", "exponent_size": 256}


def test_an_encrypted_or_broken_private_key_is_unreadable_and_not_quoted(keys):
    encrypted = (
        keys["rsa"]
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
        .decode()
    )
    facts = tls.private_key_facts(encrypted)
    assert facts == {
        "readable": False,
        "msg": "the private key is encrypted: Postfix cannot use a key with a passphrase",
    }
    broken = _pem(keys["rsa"])[:200] + "\n-----END PRIVATE KEY-----\n"
    facts = tls.private_key_facts(broken)
    assert facts == {"readable": False, "msg": "not a PEM private key"}
    assert tls.private_key_facts(None) == {"readable": False, "msg": "no private key"}


# --- selfsigned_renewal reads the facts as it read the modules' results ---


def _lab(key, common_name="mx1.example.test", alt_names=(), **dates):
    names = tls.selfsigned_names(common_name, alt_names)
    san = [name[4:] if name.startswith("DNS:") else name for name in names]
    return make_certificate(key, common_name=common_name, names=san, **dates)


def _public(key):
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize(
    ("entry", "label"),
    [
        ({"name": "lab", "source": "selfsigned", "key_type": "rsa", "key_size": 2048}, "rsa"),
        ({"name": "lab", "source": "selfsigned", "key_type": "ecdsa"}, "ec"),
    ],
)
def test_a_current_lab_certificate_read_from_text_is_kept(keys, entry, label):
    key = keys[label]
    cert = tls.certificate_facts(_lab(key, alt_names=["IP:192.0.2.25"]), _public(key))
    for key_facts in (
        tls.public_key_facts(_public(key).decode()),
        tls.private_key_facts(_pem(key)),
        cert,  # the certificate's own shape: public_key_type and public_key_data
    ):
        assert (
            tls.selfsigned_renewal(entry, cert, key_facts, "mx1.example.test", ["IP:192.0.2.25"])
            == []
        )


def test_a_lab_certificate_read_from_text_that_is_no_longer_right(keys):
    entry = {"name": "lab", "source": "selfsigned", "key_type": "rsa"}  # 3072 bits by default
    key = keys["rsa"]
    soon = tls.certificate_facts(_lab(key, not_after=NOW + 10 * DAY), now=NOW)
    key_facts = tls.public_key_facts(_public(key))
    assert tls.selfsigned_renewal(entry, soon, key_facts, "mx1.example.test") == [
        "the key has 2048 bits, the entry asks for 3072",
        f"it expires soon ({soon['not_after']})",
    ]
    other = tls.certificate_facts(_lab(keys["ec"]))
    assert tls.selfsigned_renewal(
        dict(entry, key_size=2048), other, key_facts, "mx1.example.test"
    ) == ["the certificate belongs to another key"]


def test_nothing_readable_on_the_host_yet():
    entry = {"name": "lab", "source": "selfsigned"}
    assert tls.selfsigned_renewal(
        entry, tls.certificate_facts(None), tls.public_key_facts(None), "mx1.example.test"
    ) == ["no private key yet", "no certificate yet"]


def test_the_facts_filters_are_registered():
    filters = FilterModule().filters()
    assert filters["tls_certificate_facts"].__wrapped__ is tls.certificate_facts
    assert filters["tls_public_key_facts"].__wrapped__ is tls.public_key_facts
    assert filters["tls_private_key_facts"].__wrapped__ is tls.private_key_facts
