# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/module_utils/_audit.py.

Parsers and judges are fed real output captured from the test containers
(tests/unit/fixtures/audit/README.md says how each file was captured).
"""

from __future__ import annotations

import datetime
import json
import pathlib

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils import _audit
from ansible_collections.sbs.postfix.plugins.module_utils._postconf import parse_postconf_M

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "unit" / "fixtures"
AUDIT = FIXTURES / "audit"
NOW = datetime.datetime(2026, 11, 30, 5, 30, tzinfo=datetime.UTC)


def fixture(name):
    return (AUDIT / name).read_text()


def probes(name):
    return json.loads(fixture(name))


def params(host):
    return _audit.parse_postconf_values(fixture(f"{host}-postconf-x.txt")) | {
        "smtpd_banner": _audit.parse_postconf_values(fixture(f"{host}-postconf-banner.txt"))[
            "smtpd_banner"
        ]
    }


# --- parsers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pkey-rsa1024.txt", ("rsa", 1024)),
        ("pkey-rsa2048.txt", ("rsa", 2048)),
        ("pkey-ec256.txt", ("ec", 256)),
        ("pkey-ed25519.txt", ("ed25519", 256)),
    ],
)
def test_parse_pkey_text(name, expected):
    assert _audit.parse_pkey_text(fixture(name)) == expected


def test_parse_pkey_text_garbage():
    assert _audit.parse_pkey_text("Could not read key\n") == (None, None)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("x509-enddate-snakeoil.txt", datetime.datetime(2036, 11, 27, 2, 5, 11)),
        # openssl pads a one-digit day with a space
        ("x509-enddate-3days.txt", datetime.datetime(2026, 12, 3, 5, 25, 59)),
    ],
)
def test_parse_enddate(name, expected):
    assert _audit.parse_enddate(fixture(name)) == expected.replace(tzinfo=datetime.UTC)


def test_parse_enddate_garbage():
    assert _audit.parse_enddate("unable to load certificate\n") is None


def test_smtpd_services_stock_master_cf():
    services = _audit.smtpd_services(
        parse_postconf_M((FIXTURES / "postconf" / "debian12-postconf-M.txt").read_text())
    )
    assert [(s["key"], s["port"], s["chroot"], s["tls"]) for s in services] == [
        ("smtp/inet", 25, "y", "starttls")
    ]


def test_smtpd_services_hardened():
    services = _audit.smtpd_services(parse_postconf_M(fixture("hardened-postconf-M.txt")))
    assert services[0]["key"] == "smtp/inet"
    assert all(s["chroot"] == "y" for s in services)


@pytest.mark.parametrize(
    ("service", "port", "host"),
    [
        ("smtp", 25, None),
        ("submission", 587, None),
        ("smtps", 465, None),
        ("127.0.0.1:10025", 10025, "127.0.0.1"),
        ("[::1]:2525", 2525, "::1"),
        ("amavis", None, None),
    ],
)
def test_service_port_and_host(service, port, host):
    assert _audit.service_port(service) == port
    assert _audit.service_host(service) == host


def test_tls_files_main_and_master_options():
    found = _audit.tls_files(
        {
            "smtpd_tls_cert_file": "/etc/a.pem",
            "smtpd_tls_key_file": "/etc/a.pem",
            "smtpd_tls_chain_files": "/etc/k.pem, /etc/c.pem",
            "smtp_tls_key_file": "",
        },
        [{"smtpd_tls_key_file": "/etc/sub.key", "syslog_name": "postfix/submission"}],
    )
    assert found == ["/etc/a.pem", "/etc/k.pem", "/etc/c.pem", "/etc/sub.key"]


def test_pem_kinds():
    assert _audit.pem_kinds(b"-----BEGIN PRIVATE KEY-----\n...") == {"key"}
    assert _audit.pem_kinds(b"-----BEGIN RSA PRIVATE KEY-----\nx\n-----BEGIN CERTIFICATE-----") == {
        "key",
        "certificate",
    }
    assert _audit.pem_kinds(b"") == set()


@pytest.mark.parametrize(
    ("address", "entry"),
    [
        ("10.88.0.9", "10.88.0.0/16"),
        ("127.0.0.1", "127.0.0.0/8"),
        ("::1", "[::1]/128"),
        ("192.0.2.1", None),
        ("not-an-address", None),
    ],
)
def test_mynetworks_match(address, entry):
    mynetworks = params("weak")["mynetworks"]
    assert _audit.mynetworks_match(mynetworks, address) == entry


def test_postfix_check_messages():
    assert _audit.postfix_check_messages(0, "", "") == []
    assert _audit.postfix_check_messages(1, "", "") == [
        "postfix check exited with status 1 without a message"
    ]


# --- judges on the weak host's real answers -------------------------------------------------


def test_open_relay_weak_host_relays():
    found = _audit.judge_open_relay(probes("weak-relay.json"), params("weak"))
    assert (found["status"], found["severity"]) == ("fail", "high")
    assert "inside mynetworks entry" in found["evidence"]
    assert found["evidence"].startswith("relayed: ")


def test_open_relay_hardened_host_refuses():
    found = _audit.judge_open_relay(probes("hardened-relay.json"), params("hardened"))
    assert (found["status"], found["fix"]) == ("pass", "")
    assert "Relay access denied" in found["evidence"]
    assert "is not in mynetworks" in found["evidence"]


def test_open_relay_untested_and_loopback():
    assert _audit.judge_open_relay(None, {})["status"] == "advice"
    relay = dict(probes("weak-relay.json"), source="127.0.0.1")
    assert "from loopback" in _audit.judge_open_relay(relay, params("weak"))["evidence"]
    refused = {"target": "192.0.2.1", "port": 25, "error": "ConnectionRefusedError: [Errno 111]"}
    assert _audit.judge_open_relay(refused, {})["status"] == "advice"


def test_open_relay_other_refusal_is_inconclusive():
    relay = probes("hardened-relay.json")
    relay["rcpt"] = [550, "5.1.2 <x@example.com>: Recipient address rejected: Domain not found"]
    assert _audit.judge_open_relay(relay, params("hardened"))["status"] == "advice"


def test_tls_floor():
    weak = _audit.judge_tls_floor(probes("weak-tls.json"), params("weak"))
    assert (weak["status"], weak["severity"]) == ("fail", "medium")
    assert "TLSv1 on port 25" in weak["evidence"]
    hardened = _audit.judge_tls_floor(probes("hardened-tls.json"), params("hardened"))
    assert hardened["status"] == "pass", hardened["evidence"]
    assert _audit.judge_tls_floor([], {})["status"] == "advice"


def test_smtp_probes_weak_and_hardened():
    weak, weak_params = probes("weak-smtpd.json")[0], params("weak")
    hardened, hardened_params = probes("hardened-smtpd.json")[0], params("hardened")
    assert _audit.judge_vrfy(weak, weak_params)["status"] == "fail"
    assert _audit.judge_vrfy(hardened, hardened_params)["status"] == "pass"
    assert _audit.judge_helo(weak, weak_params)["status"] == "fail"
    assert _audit.judge_helo(hardened, hardened_params)["status"] == "pass"
    banner = _audit.judge_banner(weak, weak_params)
    assert (banner["status"], banner["severity"]) == ("fail", "low")
    assert _audit.judge_banner(hardened, hardened_params)["status"] == "pass"
    # the weak host offers SASL AUTH (Dovecot) before STARTTLS
    auth = _audit.judge_auth_after_tls([weak], weak_params)
    assert (auth["status"], auth["severity"]) == ("fail", "high")
    assert "port 25 offers AUTH PLAIN before STARTTLS" in auth["evidence"]
    assert _audit.judge_auth_after_tls([hardened], hardened_params)["status"] == "pass"


def test_judges_fall_back_to_the_configuration():
    assert _audit.judge_vrfy(None, {"disable_vrfy_command": "yes"})["status"] == "pass"
    assert _audit.judge_helo({}, {"smtpd_helo_required": "no"})["status"] == "fail"
    found = _audit.judge_banner(None, {"smtpd_banner": "$myhostname ESMTP $mail_version"})
    assert found["status"] == "fail"


def test_auth_before_tls_fails_high():
    probe = dict(probes("hardened-smtpd.json")[0], auth_before_tls=["PLAIN", "LOGIN"])
    found = _audit.judge_auth_after_tls([probe], {})
    assert (found["status"], found["severity"]) == ("fail", "high")


def test_rate_limits():
    assert _audit.judge_rate_limits(params("weak"))["status"] == "fail"
    assert _audit.judge_rate_limits(params("hardened"))["status"] == "pass"


def test_key_files():
    weak = _audit.judge_key_files(
        [
            {
                "path": "/etc/postfix/weak/smtpd.key",
                "mode": "0644",
                "owner": "root",
                "group": "root",
                "kind": "tls",
            }
        ]
    )
    assert (weak["status"], weak["severity"]) == ("fail", "high")
    owner = _audit.judge_key_files(
        [{"path": "/k", "mode": "0600", "owner": "postfix", "group": "root", "kind": "tls"}]
    )
    assert (owner["status"], owner["severity"]) == ("fail", "medium")
    fine = _audit.judge_key_files(
        [
            {
                "path": "/etc/ssl/private/ssl-cert-snakeoil.key",
                "mode": "0640",
                "owner": "root",
                "group": "ssl-cert",
                "kind": "tls",
            },
            {
                "path": "/etc/dkimkeys/example.test/s.private",
                "mode": "0600",
                "owner": "opendkim",
                "group": "opendkim",
                "kind": "dkim",
            },
        ]
    )
    assert fine["status"] == "pass"


def test_chroot():
    services = _audit.smtpd_services(
        parse_postconf_M((FIXTURES / "postconf" / "debian12-postconf-M.txt").read_text())
    )
    assert _audit.judge_chroot(services)["status"] == "pass"
    services[0]["chroot"] = "n"
    assert _audit.judge_chroot(services)["status"] == "fail"


def test_postfix_check():
    assert _audit.judge_postfix_check([])["status"] == "pass"
    messages = [fixture("postfix-check-writable.journal").strip()]
    found = _audit.judge_postfix_check(messages)
    assert (found["status"], found["severity"]) == ("fail", "medium")


def test_dkim_keys():
    keys = [
        {"path": "/a", "algorithm": "rsa", "bits": 1024},
        {"path": "/b", "algorithm": "ed25519", "bits": 256},
    ]
    assert _audit.judge_dkim_keys(keys)["severity"] == "medium"
    keys.append({"path": "/c", "algorithm": "rsa", "bits": 512})
    assert _audit.judge_dkim_keys(keys)["severity"] == "high"
    assert _audit.judge_dkim_keys(keys[1:2])["status"] == "pass"


def test_certificates():
    soon = _audit.parse_enddate(fixture("x509-enddate-3days.txt"))
    later = _audit.parse_enddate(fixture("x509-enddate-snakeoil.txt"))
    found = _audit.judge_certificates([{"path": "/c", "not_after": soon}], NOW)
    assert (found["status"], found["severity"]) == ("fail", "medium")
    expired = _audit.judge_certificates([{"path": "/c", "not_after": soon}], later)
    assert expired["severity"] == "high"
    assert _audit.judge_certificates([{"path": "/c", "not_after": later}], NOW)["status"] == "pass"


def test_queue_filesystem():
    assert _audit.judge_queue_filesystem("/var/spool/postfix", True)["status"] == "advice"
    assert _audit.judge_queue_filesystem("/var/spool/postfix", False)["status"] == "pass"


# --- the report -------------------------------------------------------------------------------


def weak_findings():
    return [
        _audit.judge_open_relay(probes("weak-relay.json"), params("weak")),
        _audit.judge_tls_floor(probes("weak-tls.json"), params("weak")),
        _audit.judge_rate_limits(params("weak")),
        _audit.judge_queue_filesystem("/var/spool/postfix", True),
        _audit.judge_chroot([{"key": "smtp/inet", "chroot": "y"}]),
    ]


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("none", []),
        ("high", ["open_relay"]),
        ("medium", ["open_relay", "tls_protocol_floor"]),
        ("low", ["open_relay", "tls_protocol_floor", "rate_limits"]),
    ],
)
def test_at_or_above(level, expected):
    assert _audit.at_or_above(weak_findings(), level) == expected


def test_summary_and_markdown():
    findings = weak_findings()
    assert _audit.summarize(findings) == {
        "passed": 1,
        "advice": 1,
        "failed": {"high": 1, "medium": 1, "low": 1, "info": 0},
    }
    lines = _audit.summary_lines(findings)
    assert lines[0].startswith("FAIL high: open_relay: ")
    assert lines[-1] == "1 passed, 1 advice, failed: 1 high, 1 medium, 1 low"
    report = {
        "label": "weak",
        "audited_at": "2026-11-30T05:30:00Z",
        "postfix_version": "3.7.11",
        "summary": _audit.summarize(findings),
        "findings": findings,
    }
    text = _audit.render_markdown(report)
    assert text.startswith("# Postfix audit of weak\n")
    assert "| fail | high | No relaying" in text
    assert "## What to do" in text
    # every table row has four cells, even with a | in the evidence
    rows = [line for line in text.splitlines() if line.startswith("| fail")]
    assert all(line.replace("\\|", "").count("|") == 5 for line in rows)


def test_finding_rejects_unknown_severity():
    with pytest.raises(ValueError):
        _audit.finding("x", "t", "critical", "fail", "e")


def test_audit_reads_everything_through_run(tmp_path):
    """The whole audit with commands answered from fixtures and no network probes."""
    weak_x = fixture("weak-postconf-x.txt").replace("/etc/postfix/weak", str(tmp_path))
    key = tmp_path / "smtpd.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n")
    key.chmod(0o644)
    (tmp_path / "smtpd.crt").write_text("-----BEGIN CERTIFICATE-----\nMII\n")
    dkim = tmp_path / "dkim" / "example.test"
    dkim.mkdir(parents=True)
    (dkim / "weak.private").write_text("-----BEGIN PRIVATE KEY-----\nMII\n")
    calls = []

    def run(argv):
        calls.append(argv)
        if argv[:2] == ["postconf", "-c"] and argv[3] == "-x":
            return 0, weak_x, ""
        if argv[:2] == ["postconf", "-c"] and argv[3] == "-M":
            return 0, (FIXTURES / "postconf" / "debian12-postconf-M.txt").read_text(), ""
        if argv[:2] == ["postconf", "-c"]:
            return 0, fixture("weak-postconf-banner.txt"), ""
        if argv[0] == "journalctl":
            return 1, "", "No journal files were found."
        if argv[0] == "postfix":
            return 0, "", ""
        if argv[:2] == ["openssl", "x509"]:
            return 0, fixture("x509-enddate-3days.txt"), ""
        if argv[:2] == ["openssl", "pkey"]:
            return 0, fixture("pkey-rsa1024.txt"), ""
        raise AssertionError(argv)

    findings, facts = _audit.audit(
        run,
        dkim_key_dirs=[str(tmp_path / "dkim")],
        relay=probes("weak-relay.json"),
        probe=False,
        now=NOW,
    )
    by_id = {f["id"]: f for f in findings}
    assert by_id["open_relay"]["status"] == "fail"
    assert by_id["private_key_modes"]["severity"] == "high"
    assert by_id["dkim_key_size"]["severity"] == "medium"
    assert by_id["certificate_expiry"]["status"] == "fail"
    assert by_id["banner_version"]["status"] == "fail"
    assert by_id["tls_protocol_floor"]["status"] == "advice"
    assert facts["certificates"][0]["not_after"] == "2026-12-03T05:25:59Z"
    assert ["postfix", "-c", "/etc/postfix", "check"] in calls


def test_audit_without_postfix():
    with pytest.raises(RuntimeError, match="is Postfix installed"):
        _audit.audit(lambda argv: (127, "", "postconf: command not found"), probe=False)
