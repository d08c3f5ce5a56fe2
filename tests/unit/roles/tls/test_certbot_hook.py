# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The tls role's certbot deploy hook, rendered by Ansible's templating from the role's template
and run with /bin/sh and the real openssl against a lineage laid out as certbot lays it out
(archive/ files, live/ symlinks). Postfix is not installed here: the deploy runs that reach
``postfix reload`` are the Molecule scenario's (molecule/tls); these prove what the hook
decides before it gets there."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from ansible_collections.sbs.postfix.tests.unit.plugins.filter.test_tls_facts import (
    DAY,
    NOW,
    _pem,
    make_certificate,
)

ROLE = Path(__file__).resolve().parents[4] / "roles" / "tls"
TEMPLATE = ROLE / "templates/etc/letsencrypt/renewal-hooks/deploy/sbs-postfix.j2"

pytestmark = [
    pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command"),
    pytest.mark.skipif(os.geteuid() != 0, reason="the hook sets root ownership: run as root"),
]


def render(variables):
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template

    templar = Templar(loader=DataLoader(), variables={"ansible_managed": "managed", **variables})
    return templar.template(trust_as_template(TEMPLATE.read_text()))


class Lineage:
    """A certbot lineage: archive/NAME/{privkey,fullchain}N.pem and live/NAME symlinks."""

    def __init__(self, root, name):
        self.archive = root / "archive" / name
        self.live = root / "live" / name
        self.archive.mkdir(parents=True, mode=0o700)
        self.live.mkdir(parents=True, mode=0o700)
        self.version = 0

    def renew(self, key, certificate):
        self.version += 1
        (self.archive / f"privkey{self.version}.pem").write_text(key)
        (self.archive / f"privkey{self.version}.pem").chmod(0o600)
        (self.archive / f"fullchain{self.version}.pem").write_text(certificate)
        for kind in ("privkey", "fullchain"):
            link = self.live / f"{kind}.pem"
            link.unlink(missing_ok=True)
            link.symlink_to(f"../../archive/{self.archive.name}/{kind}{self.version}.pem")


@pytest.fixture(name="host")
def fixture_host(tmp_path):
    """The certbot directory with the lineage mail.example.test and the hook's paths."""
    certbot = tmp_path / "letsencrypt"
    lineage = Lineage(certbot, "mail.example.test")
    key = ec.generate_private_key(ec.SECP256R1())
    lineage.renew(_pem(key), make_certificate(key))
    hook = tmp_path / "sbs-postfix"
    hook.write_text(
        render(
            {
                "tls_certbot_directory": f"{certbot}/",
                "tls_directory": str(tmp_path / "tls"),
                "tls_key_group": None,
                "tls_certificates": [
                    {"name": "le-ecdsa", "source": "certbot", "lineage": "mail.example.test"},
                    {"name": "lab", "source": "selfsigned"},
                ],
            }
        )
    )
    return {"hook": hook, "lineage": lineage, "tls": tmp_path / "tls", "certbot": certbot}


def run(host, *args, lineage=None):
    env = {"PATH": os.environ["PATH"]}
    if lineage is not None:
        env["RENEWED_LINEAGE"] = lineage
    return subprocess.run(
        ["/bin/sh", str(host["hook"]), *args], capture_output=True, text=True, env=env, check=False
    )


def public_half(path, *command):
    return subprocess.run(
        ["openssl", *command, "-in", str(path)], capture_output=True, text=True, check=True
    ).stdout


def test_the_rendered_hook_lists_only_certbot_entries(host):
    text = host["hook"].read_text()
    assert text.startswith("#!/bin/sh\n#\n# managed\n")
    assert f"LIVE={host['certbot']}/live\n" in text
    assert "\nmail.example.test le-ecdsa\n" in text
    assert " lab\n" not in text


def test_check_changes_nothing_and_install_copies_the_pair_once(host):
    checked = run(host, "--check")
    assert (checked.returncode, checked.stdout) == (0, "would install le-ecdsa\n")
    assert not host["tls"].exists()

    installed = run(host, "--install")
    assert (installed.returncode, installed.stdout) == (0, "installed le-ecdsa\n")
    copy = host["tls"] / "le-ecdsa.pem"
    assert oct(copy.stat().st_mode & 0o777) == "0o600"
    live = host["lineage"].live
    # Key first, then the chain: what smtpd_tls_chain_files wants, and one file, one rename.
    assert (
        copy.read_text()
        == (live / "privkey.pem").read_text() + (live / "fullchain.pem").read_text()
    )
    assert public_half(copy, "pkey", "-pubout") == public_half(copy, "x509", "-noout", "-pubkey")
    assert [path.name for path in host["tls"].iterdir()] == ["le-ecdsa.pem"]

    again = run(host, "--install")
    assert (again.returncode, again.stdout) == (0, "current le-ecdsa\n")
    # certbot already ran the hook for this pair: nothing to copy, Postfix not touched.
    deployed = run(host, lineage=str(live))
    assert deployed.returncode == 0
    assert "Postfix has this certificate already, no reload" in deployed.stderr


def test_a_renewal_is_new_to_check_and_a_lineage_of_others_is_left_alone(host):
    run(host, "--install")
    before = (host["tls"] / "le-ecdsa.pem").read_bytes()
    key = ec.generate_private_key(ec.SECP256R1())
    host["lineage"].renew(_pem(key), make_certificate(key))
    assert run(host, "--check").stdout == "would install le-ecdsa\n"

    other = Lineage(host["certbot"], "www.example.test")
    other.renew(_pem(key), make_certificate(key))
    ignored = run(host, lineage=str(other.live))
    assert ignored.returncode == 0
    assert "is not one Postfix uses: nothing to do" in ignored.stderr
    assert (host["tls"] / "le-ecdsa.pem").read_bytes() == before


def test_a_mismatched_or_expired_renewal_is_refused_and_nothing_goes_live(host):
    run(host, "--install")
    before = (host["tls"] / "le-ecdsa.pem").read_bytes()
    key, stranger = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    host["lineage"].renew(_pem(stranger), make_certificate(key))
    refused = run(host, lineage=str(host["lineage"].live))
    assert refused.returncode == 1
    assert "does not match the certificate" in refused.stderr
    assert "nothing installed, Postfix not reloaded" in refused.stderr
    assert (host["tls"] / "le-ecdsa.pem").read_bytes() == before
    assert [path.name for path in host["tls"].iterdir()] == ["le-ecdsa.pem"]
    assert run(host, "--install").stdout.startswith("refused le-ecdsa: the private key")

    host["lineage"].renew(
        _pem(key), make_certificate(key, not_before=NOW - 9 * DAY, not_after=NOW - DAY)
    )
    expired = run(host, lineage=str(host["lineage"].live))
    assert expired.returncode == 1
    assert "has expired" in expired.stderr
    assert (host["tls"] / "le-ecdsa.pem").read_bytes() == before


@pytest.mark.skipif(
    shutil.which("postfix", path="/usr/sbin:/usr/bin:/sbin:/bin") is not None,
    reason="Postfix is installed here: the scenario proves the reload",
)
def test_a_new_pair_waits_for_postfix_check(host):
    # No postfix command on the hook's PATH: `postfix check` cannot pass, so nothing goes live.
    run(host, "--install")
    before = (host["tls"] / "le-ecdsa.pem").read_bytes()
    key = ec.generate_private_key(ec.SECP256R1())
    host["lineage"].renew(_pem(key), make_certificate(key))
    stopped = run(host, lineage=str(host["lineage"].live))
    assert stopped.returncode == 1
    assert "postfix check failed, nothing installed" in stopped.stderr
    assert (host["tls"] / "le-ecdsa.pem").read_bytes() == before
    assert [path.name for path in host["tls"].iterdir()] == ["le-ecdsa.pem"]


def test_without_a_lineage_or_with_an_unknown_option_it_says_how_to_call_it(host):
    assert run(host).returncode == 2
    assert "RENEWED_LINEAGE is not set" in run(host).stderr
    assert run(host, "--renew").returncode == 2
