# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/modules/audit_info.py and plugins/modules/smtp_probe_info.py.

audit_info's commands are mocked at the ``run_command`` boundary with real Postfix 3.7 output
(tests/unit/fixtures/audit); smtp_probe_info talks to a scripted SMTP server on 127.0.0.1 that
answers with the replies a real Postfix gave (the replies in the fixtures).
"""

from __future__ import annotations

import json
import pathlib
import socket
import threading

import pytest

from ansible_collections.sbs.postfix.plugins.modules import audit_info, smtp_probe_info
from ansible_collections.sbs.postfix.tests.unit.plugins.modules.utils import (
    FakeCommands,
    run_module,
)

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures"
AUDIT = FIXTURES / "audit"


@pytest.fixture
def weak_host(monkeypatch):
    def postconf(argv):
        if "-M" in argv:
            return 0, (FIXTURES / "postconf" / "debian12-postconf-M.txt").read_text(), ""
        if "-x" in argv:
            return 0, (AUDIT / "weak-postconf-x.txt").read_text(), ""
        return 0, (AUDIT / "weak-postconf-banner.txt").read_text(), ""

    return FakeCommands(
        {
            "postconf": postconf,
            "postfix -c /etc/postfix check": (0, "", ""),
            "journalctl": (1, "", "No journal files were found."),
            "openssl x509": (0, (AUDIT / "x509-enddate-3days.txt").read_text(), ""),
        }
    ).install(monkeypatch)


def test_audit_info_weak_host(weak_host, capsys, tmp_path):
    relay = json.loads((AUDIT / "weak-relay.json").read_text())
    result = run_module(
        audit_info.main,
        {
            "probe": False,
            "relay_probe": relay,
            "fail_on": "high",
            "label": "weak",
            "dkim_key_dirs": [str(tmp_path)],
        },
        capsys,
        check_mode=True,
    )
    assert result["rc"] == 0, result
    assert result["changed"] is False
    assert result["threshold_failures"] == ["open_relay"]
    report = result["report"]
    assert report["label"] == "weak"
    assert report["postfix_version"] == "3.7.11"
    assert report["findings"][0]["id"] == "open_relay"
    assert report["summary"]["failed"]["high"] == 1
    assert result["markdown"].startswith("# Postfix audit of weak\n")
    assert result["lines"][-1].endswith("failed: 1 high, 4 low")
    assert "postfix -c /etc/postfix check" in weak_host.calls


def test_audit_info_without_postfix(monkeypatch, capsys):
    FakeCommands({}, missing=["postconf", "postfix", "journalctl", "openssl"]).install(monkeypatch)
    result = run_module(audit_info.main, {"probe": False}, capsys)
    assert result["rc"] == 1
    assert "is Postfix installed" in result["msg"]


class ScriptedSmtpd:
    """A one-connection SMTP server on 127.0.0.1 that answers with real Postfix replies."""

    def __init__(self, replies):
        self.replies = replies
        self.commands = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        conn, _address = self.server.accept()
        with conn, conn.makefile("rb") as reader:
            conn.sendall(self.replies["greeting"])
            for raw in reader:
                line = raw.decode().strip()
                self.commands.append(line)
                verb = line.split(":")[0].split()[0].upper()
                conn.sendall(self.replies.get(verb, b"250 2.0.0 Ok\r\n"))
                if verb == "QUIT":
                    break
        self.server.close()


def test_smtp_probe_info_stops_at_rcpt(capsys):
    relay = json.loads((AUDIT / "hardened-relay.json").read_text())

    def reply(pair):
        return f"{pair[0]} {pair[1]}\r\n".encode()

    server = ScriptedSmtpd(
        {
            "greeting": reply(relay["greeting"]),
            "EHLO": b"250-sbs-audit-hardened.example.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
            "MAIL": reply(relay["mail"]),
            "RCPT": reply(relay["rcpt"]),
            "QUIT": b"221 2.0.0 Bye\r\n",
        }
    )
    result = run_module(
        smtp_probe_info.main, {"host": "127.0.0.1", "port": server.port, "timeout": 5}, capsys
    )
    server.thread.join(5)
    probe = result["probe"]
    assert result["changed"] is False
    assert probe["source"] == "127.0.0.1"
    assert probe["rcpt"] == relay["rcpt"]
    assert [c.split()[0] for c in server.commands] == ["ehlo", "MAIL", "RCPT", "RSET", "quit"]
    assert not any(c.upper().startswith("DATA") for c in server.commands)


def test_smtp_probe_info_connection_refused(capsys):
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    result = run_module(smtp_probe_info.main, {"host": "127.0.0.1", "port": port}, capsys)
    assert result["rc"] == 0
    assert result["probe"]["error"].startswith("ConnectionRefusedError")
    assert result["probe"]["source"] is None
