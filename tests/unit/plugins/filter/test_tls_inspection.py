# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tls_inspection: every certificate entry judged from one runtime_info read, with real
certificates and keys, public halves from the real openssl command."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ansible_collections.sbs.postfix.plugins.plugin_utils import _tls as tls
from ansible_collections.sbs.postfix.tests.unit.plugins.filter.test_tls_facts import (
    DAY,
    NOW,
    _pem,
    make_certificate,
)

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="no openssl command")
HOST = "mx1"
DIRECTORY = "/etc/postfix/tls"
DEFAULTS = {"warn_days": 30, "common_name": "mx1.example.test", "subject_alt_names": []}


def pubout(private_pem):
    """What runtime_info's public_keys returns: openssl pkey -pubout on the host."""
    done = subprocess.run(
        [OPENSSL, "pkey", "-pubout"], input=private_pem, capture_output=True, text=True, check=True
    )
    return done.stdout


def state(exists=True, mode="0600"):
    return {"exists": exists, "type": "file" if exists else None, "mode": mode if exists else None}


@pytest.fixture(scope="module", name="rsa_key")
def fixture_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module", name="ec_key")
def fixture_ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def runtime_for(files):
    """runtime_info's files, contents and public_keys for {path: (text, mode, is_key)}."""
    runtime = {"files": {}, "contents": {}, "public_keys": {}}
    for path, (text, mode, is_key) in files.items():
        runtime["files"][path] = state(text is not None, mode)
        if is_key:
            runtime["public_keys"][path] = pubout(text) if text else None
        else:
            runtime["contents"][path] = text
    return runtime


def test_paths_cover_every_file_on_the_host():
    entries = [
        {"name": "lab", "source": "selfsigned"},
        {"name": "le", "source": "path", "certificate_path": "/c.pem", "key_path": "/k.pem"},
        {"name": "inv", "source": "content", "certificate_content": "x", "key_content": "y"},
    ]
    assert tls.inspection_paths(entries, DIRECTORY) == {
        "files": [f"{DIRECTORY}/lab.crt", f"{DIRECTORY}/lab.key", "/c.pem", "/k.pem"],
        "contents": [f"{DIRECTORY}/lab.crt", "/c.pem"],
        "public_keys": [f"{DIRECTORY}/lab.key", "/k.pem"],
    }


def test_a_current_path_certificate_and_a_current_lab_certificate(rsa_key, ec_key):
    cert = make_certificate(rsa_key)
    lab = make_certificate(ec_key, common_name="mx1.example.test", names=["mx1.example.test"])
    entries = [
        {"name": "le", "source": "path", "certificate_path": "/c.pem", "key_path": "/k.pem"},
        {"name": "lab", "source": "selfsigned", "key_type": "ecdsa"},
    ]
    runtime = runtime_for(
        {
            "/c.pem": (cert, "0644", False),
            "/k.pem": (_pem(rsa_key), "0600", True),
            f"{DIRECTORY}/lab.crt": (lab, "0644", False),
            f"{DIRECTORY}/lab.key": (_pem(ec_key), "0600", True),
        }
    )
    result = tls.inspection(entries, DIRECTORY, runtime, HOST, DEFAULTS)
    assert result["problems"] == []
    first, second = result["inspected"]
    assert first["key_matches"] is True
    assert first["key_type"] == "RSA"
    assert first["chain_files"] == ["/k.pem", "/c.pem"]
    assert first["expired"] is False
    assert second["renewal"] == []
    assert second["key_type"] == "ECC"


def test_missing_and_world_readable_files_are_problems(rsa_key):
    entries = [
        {"name": "gone", "source": "path", "certificate_path": "/c.pem", "key_path": "/k.pem"},
        {"name": "open", "source": "path", "certificate_path": "/c2.pem", "key_path": "/k2.pem"},
    ]
    runtime = runtime_for(
        {
            "/c.pem": (None, None, False),
            "/k.pem": (None, None, True),
            "/c2.pem": (make_certificate(rsa_key), "0644", False),
            "/k2.pem": (_pem(rsa_key), "0644", True),
        }
    )
    result = tls.inspection(entries, DIRECTORY, runtime, HOST, DEFAULTS)
    assert result["inspected"] == []
    assert result["problems"] == [
        "tls_certificates[0].certificate_path: /c.pem does not exist on mx1",
        "tls_certificates[0].key_path: /k.pem does not exist on mx1",
        "tls_certificates[1].key_path: /k2.pem is readable by every user: make it 0600 root, "
        "or 0640 to a group Postfix uses",
    ]


def test_a_key_of_another_certificate_and_an_expired_one_are_recorded(rsa_key, ec_key):
    expired = make_certificate(rsa_key, not_before=NOW - 400 * DAY, not_after=NOW - DAY)
    entries = [
        {"name": "mismatch", "source": "path", "certificate_path": "/c.pem", "key_path": "/k.pem"},
        {
            "name": "old",
            "source": "content",
            "certificate_content": expired,
            "key_content": _pem(rsa_key),
        },
    ]
    runtime = runtime_for(
        {
            "/c.pem": (make_certificate(rsa_key), "0644", False),
            "/k.pem": (_pem(ec_key), "0600", True),
        }
    )
    result = tls.inspection(entries, DIRECTORY, runtime, HOST, DEFAULTS)
    mismatch, old = result["inspected"]
    assert mismatch["key_matches"] is False
    assert old["key_matches"] is True
    assert old["expired"] is True
    assert old["certificate_field"] == "certificate_content"
    assert [line.split(":")[0] for line in result["problems"]] == [
        "tls_certificates[0] (mismatch)",
        "tls_certificates",  # both are RSA: one certificate per key algorithm
        "tls_certificates[1] (old)",
    ]
    assert "the private key does not match the certificate" in result["problems"][0]
    assert "share one: mismatch=RSA, old=RSA" in result["problems"][1]
    assert "the certificate expired" in result["problems"][2]
    # Told to go on: the expired certificate is a warning, printed on every run.
    told = tls.inspection(entries[1:], DIRECTORY, {}, HOST, DEFAULTS | {"expired_action": "warn"})
    assert told["problems"] == []
    assert told["warnings"][0].startswith("WARNING: tls_certificates[0] (old) EXPIRED")


def test_unreadable_certificate_and_key_name_their_fields(rsa_key):
    entries = [
        {
            "name": "inv",
            "source": "content",
            "certificate_content": "not PEM",
            "key_content": "nor this",
        }
    ]
    result = tls.inspection(entries, DIRECTORY, {}, HOST, DEFAULTS)
    assert result["inspected"] == []
    assert [line.split(": not a usable")[0] for line in result["problems"]] == [
        "tls_certificates[0].certificate_content",
        "tls_certificates[0].key_content",
    ]


def test_a_missing_lab_certificate_is_to_be_generated():
    entries = [{"name": "lab", "source": "selfsigned"}]
    runtime = runtime_for(
        {f"{DIRECTORY}/lab.crt": (None, None, False), f"{DIRECTORY}/lab.key": (None, None, True)}
    )
    result = tls.inspection(entries, DIRECTORY, runtime, HOST, DEFAULTS)
    assert result["problems"] == []
    (lab,) = result["inspected"]
    assert lab["renewal"] == ["no private key yet", "no certificate yet"]
    assert lab["key_matches"] is True
    assert lab["expired"] is False
    assert result["warnings"] == [
        "LAB ONLY: tls_certificates[0] (lab) is a self-signed certificate for (not generated "
        "yet). Other MTAs accept it for opportunistic TLS on port 25, mail clients on 587/465 "
        "will not trust it. Use source 'path' or 'content' with a CA-issued certificate in "
        "production."
    ]


LIVE = "/etc/letsencrypt/live/mail.example.test"


def test_paths_of_a_certbot_entry_are_its_live_files():
    entries = [{"name": "le", "source": "certbot", "lineage": "mail.example.test"}]
    assert tls.inspection_paths(entries, DIRECTORY) == {
        "files": [f"{LIVE}/fullchain.pem", f"{LIVE}/privkey.pem"],
        "contents": [f"{LIVE}/fullchain.pem"],
        "public_keys": [f"{LIVE}/privkey.pem"],
    }
    other = tls.inspection_paths(entries, DIRECTORY, "/srv/le")
    assert other["public_keys"] == ["/srv/le/live/mail.example.test/privkey.pem"]


def test_a_current_certbot_lineage_is_checked_live_and_read_from_the_copy(ec_key):
    entries = [{"name": "le-ecdsa", "source": "certbot", "lineage": "mail.example.test"}]
    runtime = runtime_for(
        {
            f"{LIVE}/fullchain.pem": (make_certificate(ec_key), "0644", False),
            f"{LIVE}/privkey.pem": (_pem(ec_key), "0600", True),
        }
    )
    result = tls.inspection(entries, DIRECTORY, runtime, HOST, DEFAULTS)
    assert result["problems"] == []
    (entry,) = result["inspected"]
    assert entry["key_matches"] is True
    assert entry["key_type"] == "ECC"
    assert entry["chain_files"] == [f"{DIRECTORY}/le-ecdsa.pem"]
    assert entry["installed_file"] == f"{DIRECTORY}/le-ecdsa.pem"
    assert entry["lineage"] == "mail.example.test"
    assert entry["renewal"] == []
    assert tls.certificate_summary(entry).endswith(
        f"files {DIRECTORY}/le-ecdsa.pem copied from certbot lineage mail.example.test"
    )


def test_a_missing_or_broken_certbot_lineage_names_the_lineage(rsa_key, ec_key):
    entries = [
        {"name": "gone", "source": "certbot", "lineage": "gone.example.test"},
        {"name": "broken", "source": "certbot", "lineage": "mail.example.test"},
    ]
    runtime = runtime_for(
        {
            "/etc/letsencrypt/live/gone.example.test/fullchain.pem": (None, None, False),
            "/etc/letsencrypt/live/gone.example.test/privkey.pem": (None, None, True),
            # A renewal that left a key of another certificate: refused before anything changes.
            f"{LIVE}/fullchain.pem": (make_certificate(rsa_key), "0644", False),
            f"{LIVE}/privkey.pem": (_pem(ec_key), "0600", True),
        }
    )
    result = tls.inspection(entries, DIRECTORY, runtime, HOST, DEFAULTS)
    assert result["problems"] == [
        "tls_certificates[0].lineage: /etc/letsencrypt/live/gone.example.test/fullchain.pem does "
        "not exist on mx1: obtain the certificate first (certbot certonly --cert-name "
        "gone.example.test ..., see the tls role README)",
        "tls_certificates[0].lineage: /etc/letsencrypt/live/gone.example.test/privkey.pem does "
        "not exist on mx1: obtain the certificate first (certbot certonly --cert-name "
        "gone.example.test ..., see the tls role README)",
        "tls_certificates[1] (broken): the private key does not match the certificate (subject "
        "mx1.example.test): check privkey.pem and fullchain.pem of lineage mail.example.test",
    ]
