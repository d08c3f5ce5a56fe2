#!/usr/bin/env python3
# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probe the TLS behaviour of the Postfix on this host, as an admin would by hand.

Test helper of the `tls` Molecule scenario, run on the test host by verify.yml. It talks only
to 127.0.0.1 with real clients (openssl s_client, Python's smtplib) and prints one JSON
document; verify.yml asserts on it. One run instead of dozens of tasks keeps the scenario lean.

Usage: tls_probe.py USER PASSWORD
"""

import json
import re
import smtplib
import ssl
import subprocess
import sys
import tempfile

HOST = "127.0.0.1"
# port -> how TLS starts there
PORTS = {25: "starttls", 587: "starttls", 465: "implicit", 10025: "starttls"}
PROTOCOLS = ("ssl3", "tls1", "tls1_1", "tls1_2", "tls1_3")


def s_client(port, extra, stdin="QUIT\r\n"):
    """Run openssl s_client against HOST:port; return (rc, combined output)."""
    argv = ["openssl", "s_client", "-connect", f"{HOST}:{port}", "-ign_eof"]
    if PORTS[port] == "starttls":
        argv += ["-starttls", "smtp"]
    argv += extra
    proc = subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )
    return proc.returncode, proc.stdout + proc.stderr


def describe(rc, out):
    """The facts an admin reads in s_client's output."""
    protocol = re.search(r"^\s*Protocol\s*:\s*(\S+)", out, re.M)
    subject = re.search(r"^subject=.*?CN\s*=\s*([^,/\n]+)", out, re.M)
    key = re.search(r"Server public key is (\d+) bit", out)
    sigtype = re.search(r"Peer signature type:\s*(\S+)", out)
    session = re.search(r"^(New|Reused), (\S+), Cipher is (\S+)", out, re.M)
    return {
        "rc": rc,
        "protocol": protocol.group(1) if protocol else None,
        "subject_cn": subject.group(1).strip() if subject else None,
        "key_bits": int(key.group(1)) if key else None,
        "signature_type": sigtype.group(1) if sigtype else None,
        "session": session.group(1) if session else None,
        "greeting_after_tls": bool(re.search(r"^220 ", out, re.M)),
        "server_refused_version": "alert protocol version" in out,
        "client_lacks_protocol": bool(
            re.search(r"(?i)unknown option|option.*not supported|no protocols available", out)
        ),
        "tail": out[-600:] if rc else "",
    }


def protocol_matrix():
    result = {}
    for port in PORTS:
        for proto in PROTOCOLS:
            extra = [f"-{proto}"]
            if proto in ("tls1", "tls1_1"):
                # Let the client offer old versions at all: then a refusal is the server's.
                extra += ["-cipher", "DEFAULT@SECLEVEL=0"]
            result[f"{port}/{proto}"] = describe(*s_client(port, extra))
    return result


def key_types():
    # The client's signature algorithms decide which of the server's certificates it gets.
    return {
        "ecdsa": describe(*s_client(25, ["-tls1_2", "-sigalgs", "ECDSA+SHA256"])),
        "rsa": describe(*s_client(25, ["-tls1_2", "-sigalgs", "RSA-PSS+SHA256:RSA+SHA256"])),
    }


def resumption():
    result = {}
    for proto in ("tls1_2", "tls1_3"):
        with tempfile.NamedTemporaryFile(suffix=".sess") as sess:
            first = describe(*s_client(25, [f"-{proto}", "-sess_out", sess.name]))
            second = describe(*s_client(25, [f"-{proto}", "-sess_in", sess.name]))
        result[proto] = {
            "first": first["session"],
            "second": second["session"],
            "rc": [first["rc"], second["rc"]],
        }
    return result


def context():
    ctx = ssl.create_default_context()
    # Lab certificates are self-signed: the probe checks behaviour, not the PKI.
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def keywords(client):
    client.ehlo("probe.example.test")
    return sorted(name.upper() for name in client.esmtp_features)


def smtp_session(port, login=None, send_to=None):
    """EHLO before and after TLS; optionally AUTH and send one message."""
    result = {}
    try:
        if PORTS[port] == "implicit":
            client = smtplib.SMTP_SSL(HOST, port, context=context(), timeout=30)
        else:
            client = smtplib.SMTP(HOST, port, timeout=30)
            result["before_tls"] = keywords(client)
            if "STARTTLS" not in result["before_tls"]:
                client.quit()
                return result
            client.starttls(context=context())
        result["tls_version"] = client.sock.version()
        result["after_tls"] = keywords(client)
        result["auth_mechanisms"] = sorted(client.esmtp_features.get("auth", "").split())
        if login:
            try:
                client.login(*login)
                result["login"] = "ok"
            except smtplib.SMTPException as exc:
                result["login"] = f"refused: {exc}"
        if send_to:
            message = (
                f"From: probe@example.test\r\nTo: {send_to}\r\n"
                f"Subject: tls probe port {port}\r\n\r\nhello\r\n"
            )
            try:
                client.sendmail("probe@example.test", [send_to], message)
                result["sent"] = "ok"
            except smtplib.SMTPException as exc:
                result["sent"] = f"refused: {exc}"
        client.quit()
    except (OSError, smtplib.SMTPException) as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    return result


def main():
    user, password = sys.argv[1], sys.argv[2]
    report = {
        "smtp": {
            "25": smtp_session(25, send_to="out@tlssink.test"),
            "587_anonymous": smtp_session(587, send_to="relay@sink.test"),
            "587": smtp_session(587, login=(user, password), send_to="submission@sink.test"),
            "465": smtp_session(465, login=(user, password), send_to="smtps@sink.test"),
        },
        "protocols": protocol_matrix(),
        "key_types": key_types(),
        "resumption": resumption(),
    }
    json.dump(report, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
