# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Audit a Postfix host against the collection's hardening baseline (audit_info, smtp_probe_info).

PRIVATE to the sbs.postfix collection: the interface may change without notice.

Runs on the managed host (and, for the relay probe, on the probe host): standard library only.

Three layers, so that the judgement is tested on real output without a network or a host:

* readers run commands through a ``run(argv)`` callable (a :class:`._runner.CommandRunner`, a
  fake in unit tests) or read files and sockets, and return plain data;
* SMTP probes (:func:`probe_smtpd`, :func:`probe_tls`, :func:`relay_attempt`) talk to a real
  smtpd with :mod:`smtplib` and return what it answered, never judging it; none of them sends
  ``DATA``, so a probe can never queue a message, even on an open relay;
* ``judge_*`` functions turn that data into findings, each
  ``{id, title, severity, status, evidence, fix}``; they are pure.
"""

from __future__ import annotations

import datetime
import grp
import ipaddress
import os
import pwd
import re
import smtplib
import ssl
import stat
import time
import warnings

from ansible_collections.sbs.postfix.plugins.module_utils._postconf import (
    parse_postconf_M,
    parse_postconf_n,
    split_list,
)

SEVERITIES = ("high", "medium", "low", "info")
STATUSES = ("pass", "fail", "advice")
FAIL_ON = ("none", "high", "medium", "low")

# What a probe calls itself in EHLO and MAIL FROM: a name under .invalid (RFC 2606), which no
# server can deliver to, so a bounce or a verify probe it triggers goes nowhere.
PROBE_HELO = "sbs-audit.invalid"
PROBE_SENDER = "sbs-audit@sbs-audit.invalid"
# The relay test's recipient: a domain no audited host is the destination for. example.com is
# reserved (RFC 2606) and the probe stops after RCPT TO, so nothing is ever sent there.
PROBE_RECIPIENT = "sbs-audit-relay-test@example.com"

# The versions a TLS floor test tries, oldest first; RFC 8996 deprecates the first two.
TLS_VERSIONS = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
WEAK_TLS = ("TLSv1", "TLSv1.1")
_SSL_VERSION = {
    "TLSv1": "TLSv1",
    "TLSv1.1": "TLSv1_1",
    "TLSv1.2": "TLSv1_2",
    "TLSv1.3": "TLSv1_3",
}

# main.cf parameters the audit reads, expanded (postconf -x).
PARAMETERS = (
    "mail_version",
    "mail_name",
    "queue_directory",
    "mynetworks",
    "smtpd_relay_restrictions",
    "smtpd_recipient_restrictions",
    "smtpd_tls_security_level",
    "smtpd_tls_protocols",
    "smtpd_tls_mandatory_protocols",
    "smtpd_tls_auth_only",
    "smtpd_sasl_auth_enable",
    "disable_vrfy_command",
    "smtpd_helo_required",
    "smtpd_client_connection_rate_limit",
    "smtpd_client_message_rate_limit",
    "smtpd_client_connection_count_limit",
    "smtpd_tls_cert_file",
    "smtpd_tls_key_file",
    "smtpd_tls_eccert_file",
    "smtpd_tls_eckey_file",
    "smtpd_tls_dcert_file",
    "smtpd_tls_dkey_file",
    "smtpd_tls_chain_files",
    "smtp_tls_cert_file",
    "smtp_tls_key_file",
    "smtp_tls_chain_files",
)
# The banner is read unexpanded, to show the admin the $mail_version they wrote.
RAW_PARAMETERS = ("smtpd_banner",)
# Parameters that name files holding TLS keys and certificates (main.cf and master.cf -o).
TLS_FILE_PARAMETERS = tuple(p for p in PARAMETERS if p.endswith(("_file", "_files")))

# Who may own a private key: root everywhere, the milter's user for DKIM keys.
KEY_OWNERS = {"tls": ("root",), "dkim": ("root", "opendkim")}

# ports of the smtpd services master.cf names by service name
SERVICE_PORTS = {"smtp": 25, "submission": 587, "submissions": 465, "smtps": 465}

_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}


def finding(check_id, title, severity, status, evidence, *, fix=""):
    """One finding. ``severity`` is how bad a failure of this check is, also when it passes."""
    if severity not in SEVERITIES or status not in STATUSES:
        raise ValueError(f"bad severity/status {severity!r}/{status!r} for {check_id}")
    return {
        "id": check_id,
        "title": title,
        "severity": severity,
        "status": status,
        "evidence": evidence,
        "fix": fix if status != "pass" else "",
    }


def worst(severities):
    """The most severe of ``severities`` (``info`` for none)."""
    return min(severities, key=_RANK.__getitem__, default="info")


# ---------------------------------------------------------------------------------------------
# parsers of command output (pure)
# ---------------------------------------------------------------------------------------------

_ENDDATE_RE = re.compile(r"^notAfter=(\w{3})\s+(\d{1,2})\s+(\d\d):(\d\d):(\d\d)\s+(\d{4})\s+GMT")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_enddate(text):
    """``openssl x509 -noout -enddate`` output -> aware UTC datetime, or ``None``.

    Parsed by hand instead of with ``strptime("%b")``, whose month names follow the locale.
    """
    match = _ENDDATE_RE.search(text.strip())
    if not match or match.group(1) not in _MONTHS:
        return None
    month = _MONTHS.index(match.group(1)) + 1
    day, hour, minute, second, year = (int(match.group(n)) for n in (2, 3, 4, 5, 6))
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.UTC)


_PKEY_BITS_RE = re.compile(r"^(?:(\w+) )?Private-Key: \((\d+) bit", re.M)


def parse_pkey_text(text):
    """``openssl pkey -noout -text`` output -> ``(algorithm, bits)``, or ``(None, None)``.

    RSA prints ``Private-Key: (2048 bit, 2 primes)``, EC ``Private-Key: (256 bit)`` followed by
    an ``ASN1 OID``, Ed25519 ``ED25519 Private-Key:`` without a size.
    """
    if re.search(r"^ED25519 Private-Key:", text, re.M):
        return "ed25519", 256
    if re.search(r"^ED448 Private-Key:", text, re.M):
        return "ed448", 456
    match = _PKEY_BITS_RE.search(text)
    if not match:
        return None, None
    algorithm = "ec" if re.search(r"^ASN1 OID:", text, re.M) else "rsa"
    return algorithm, int(match.group(2))


def parse_postconf_values(output):
    """``postconf [-x] name ...`` output -> ``{name: value}`` (the ``-n`` format)."""
    return parse_postconf_n(output)


def postfix_check_messages(rc, stdout, stderr):
    """What ``postfix check`` reported: one line per message, empty for a clean run."""
    lines = [line.strip() for line in (stdout + "\n" + stderr).splitlines() if line.strip()]
    if rc != 0 and not lines:
        lines = [f"postfix check exited with status {rc} without a message"]
    return lines


def service_port(service):
    """The TCP port of an ``inet`` service name (``smtp``, ``127.0.0.1:10025``), or ``None``."""
    port = service.rpartition(":")[2]
    if port.isdigit():
        return int(port)
    return SERVICE_PORTS.get(port)


def service_host(service):
    """The address an ``inet`` service listens on, ``None`` for all addresses."""
    host, sep, _port = service.rpartition(":")
    return host.strip("[]") if sep and host else None


def smtpd_services(services):
    """The ``inet`` smtpd services of ``postconf -M``: ``[{key, port, host, chroot, tls}]``.

    ``tls`` is ``implicit`` for a service with ``smtpd_tls_wrappermode=yes`` (smtps), else
    ``starttls``.
    """
    result = []
    for key, entry in services.items():
        if entry["type"] != "inet" or entry["command"] != "smtpd":
            continue
        wrapper = entry["options"].get("smtpd_tls_wrappermode", "no").lower() in ("yes", "true")
        result.append(
            {
                "key": key,
                "port": service_port(entry["service"]),
                "host": service_host(entry["service"]),
                "chroot": entry["chroot"],
                "tls": "implicit" if wrapper else "starttls",
                "options": entry["options"],
            }
        )
    return sorted(result, key=lambda s: (s["port"] or 0, s["key"]))


def file_list(value):
    """The file names in a parameter value (``smtpd_tls_chain_files`` is a list)."""
    return [item for item in split_list(value or "") if item.startswith("/")]


def tls_files(params, service_options=()):
    """Every file a TLS parameter names, in main.cf and in master.cf ``-o`` overrides."""
    found = []
    sources = [params, *service_options]
    for source in sources:
        for name in TLS_FILE_PARAMETERS:
            for path in file_list(source.get(name)):
                if path not in found:
                    found.append(path)
    return found


def pem_kinds(data):
    """Which PEM blocks a file holds: a subset of ``{"key", "certificate"}``."""
    kinds = set()
    if re.search(rb"-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----", data):
        kinds.add("key")
    if b"-----BEGIN CERTIFICATE-----" in data:
        kinds.add("certificate")
    return kinds


def network_of(entry):
    """A ``mynetworks`` entry as an ``ip_network``, or ``None`` for names, maps and files."""
    text = entry.strip()
    if text.startswith("!"):
        return None
    text = re.sub(r"^\[([^\]]+)\]", r"\1", text)
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def mynetworks_match(mynetworks, address):
    """The ``mynetworks`` entry that contains ``address``, or ``None``."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    for entry in split_list(mynetworks or ""):
        network = network_of(entry)
        if network is not None and network.version == ip.version and ip in network:
            return entry
    return None


# ---------------------------------------------------------------------------------------------
# readers (commands and files)
# ---------------------------------------------------------------------------------------------


def read_parameters(run, config_directory, names, expand=True):
    """Values of ``names`` in force (main.cf or Postfix's default); ``{}`` when postconf fails."""
    argv = ["postconf", "-c", config_directory] + (["-x"] if expand else []) + list(names)
    rc, out, _err = run(argv)
    return parse_postconf_values(out) if rc == 0 else {}


def read_services(run, config_directory):
    rc, out, _err = run(["postconf", "-c", config_directory, "-M"])
    return parse_postconf_M(out) if rc == 0 else {}


# postfix-script reports through postlog, which writes to stderr only when stderr is a terminal
# and otherwise only to syslog: the journal is where a non-interactive run's warnings are.
CHECK_LOG_TAGS = ("postfix/postfix-script", "postfix/postfix", "postfix/postsuper")


def read_postfix_check(run, config_directory, sleep=time.sleep):
    """Messages of ``postfix check``: its own output plus what it logged to the journal."""
    rc, out, _err = run(["journalctl", "--show-cursor", "-n", "0", "-q"])
    cursor = _JOURNAL_CURSOR_RE.search(out or "") if rc == 0 else None
    rc, out, err = run(["postfix", "-c", config_directory, "check"])
    messages = postfix_check_messages(rc, out, err)
    if cursor:
        # journald receives syslog lines asynchronously
        sleep(1.0)
        matches = [f"SYSLOG_IDENTIFIER={tag}" for tag in CHECK_LOG_TAGS]
        jrc, jout, _jerr = run(
            ["journalctl", "-q", "-o", "cat", "--after-cursor", cursor.group(1), *matches]
        )
        if jrc == 0:
            messages += [line.strip() for line in jout.splitlines() if line.strip()]
    return messages


_JOURNAL_CURSOR_RE = re.compile(r"^-- cursor: (\S+)", re.M)


def stat_file(path):
    """Mode, owner and group of ``path`` (names when known), or ``None`` if it is missing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return {
        "path": path,
        "mode": f"{stat.S_IMODE(st.st_mode):04o}",
        "uid": st.st_uid,
        "gid": st.st_gid,
        "owner": _user(st.st_uid),
        "group": _group(st.st_gid),
    }


def _user(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def read_head(path, limit=1 << 20):
    """The first ``limit`` bytes of ``path``, or ``None`` when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read(limit)
    except OSError:
        return None


def find_key_files(directories, max_depth=3):
    """PEM private keys below ``directories`` (OpenDKIM's ``*.private`` files are PEM)."""
    found = []
    for directory in directories:
        top = directory.rstrip("/") or "/"
        for current, dirs, files in os.walk(top):
            if current[len(top) :].count(os.sep) >= max_depth:
                dirs[:] = []
            for name in sorted(files):
                path = os.path.join(current, name)
                data = read_head(path, 65536)
                if data and "key" in pem_kinds(data):
                    found.append(path)
            dirs.sort()
    return found


def read_key_bits(run, path):
    rc, out, _err = run(["openssl", "pkey", "-in", path, "-noout", "-text"])
    return parse_pkey_text(out) if rc == 0 else (None, None)


def read_enddate(run, path):
    rc, out, _err = run(["openssl", "x509", "-in", path, "-noout", "-enddate"])
    return parse_enddate(out) if rc == 0 else None


def same_filesystem(path, other="/"):
    """Whether ``path`` lives on the same file system as ``other`` (``None`` if unreadable)."""
    try:
        return os.stat(path).st_dev == os.stat(other).st_dev
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------
# SMTP probes (network; they report what the server answered and judge nothing)
# ---------------------------------------------------------------------------------------------


def _reply(code_and_text):
    code, text = code_and_text
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return [code, " ".join(text.split())]


def _error(exc):
    return f"{type(exc).__name__}: {exc}"


def _open(host, port, timeout, implicit=False, context=None):
    """An smtplib connection and the server's greeting."""
    if implicit:
        client = smtplib.SMTP_SSL(local_hostname=PROBE_HELO, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(local_hostname=PROBE_HELO, timeout=timeout)
    # SMTP(host) would connect in the constructor and drop the greeting; starttls() and
    # SMTP_SSL take the TLS server name from _host, which only the constructor sets.
    client._host = host
    greeting = _reply(client.connect(host, port))
    return client, greeting


def _close(client):
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def probe_smtpd(host, port, timeout=10.0):
    """What an smtpd on ``host:port`` (STARTTLS or plain) answers to a client that misbehaves
    politely: the greeting, MAIL before HELO, VRFY and the EHLO keywords before TLS.

    Returns ``{greeting, mail_before_helo, vrfy, ehlo, error}``; replies are ``[code, text]``.
    """
    result = {"host": host, "port": port, "error": None}
    try:
        client, result["greeting"] = _open(host, port, timeout)
    except (OSError, smtplib.SMTPException) as exc:
        result["error"] = _error(exc)
        return result
    try:
        # No HELO yet: with smtpd_helo_required Postfix answers 503.
        result["mail_before_helo"] = _reply(client.docmd("MAIL", f"FROM:<{PROBE_SENDER}>"))
        client.docmd("RSET")
        result["ehlo"] = _reply(client.ehlo())
        result["ehlo_keywords"] = sorted(client.esmtp_features)
        result["auth_before_tls"] = client.esmtp_features.get("auth", "").split() or None
        result["vrfy"] = _reply(client.docmd("VRFY", "postmaster"))
    except (OSError, smtplib.SMTPException) as exc:
        result["error"] = _error(exc)
    finally:
        _close(client)
    return result


def tls_context(version):
    """A client context that offers exactly ``version`` and does not verify the server.

    OpenSSL 3 refuses TLS 1.0 and 1.1 at security level 1 and above on the client side too:
    level 0 makes the client offer them, so a refusal is the server's.
    """
    if not getattr(ssl, "HAS_" + _SSL_VERSION[version], False):
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        # ssl warns that TLSv1 and TLSv1_1 are deprecated: offering them is the point here.
        warnings.simplefilter("ignore", DeprecationWarning)
        level = getattr(ssl.TLSVersion, _SSL_VERSION[version])
        try:
            context.set_ciphers("ALL:@SECLEVEL=0")
            context.minimum_version = level
            context.maximum_version = level
        except (ValueError, ssl.SSLError):
            return None
    return context


# Client-side reasons: the client could not offer the version, so nothing was learnt.
_CLIENT_SIDE = ("NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE")


def probe_tls(host, port, version, implicit=False, timeout=10.0):
    """Try one TLS handshake with exactly ``version`` (STARTTLS, or implicit TLS on smtps).

    Returns ``{version, accepted, protocol, cipher, auth_after_tls, error}``; ``accepted`` is
    ``None`` when the handshake could not be tried (client lacks the version, connection
    refused, no STARTTLS).
    """
    result = {"version": version, "accepted": None, "error": None}
    context = tls_context(version)
    if context is None:
        result["error"] = f"this client's OpenSSL cannot offer {version}"
        return result
    client = None
    try:
        client, _greeting = _open(host, port, timeout, implicit=implicit, context=context)
        client.ehlo()
        if not implicit:
            if not client.has_extn("starttls"):
                result["error"] = "STARTTLS not offered"
                return result
            client.starttls(context=context)
            client.ehlo()
        sock = client.sock
        result["accepted"] = True
        result["protocol"] = sock.version()
        result["cipher"] = (sock.cipher() or [None])[0]
        result["auth_after_tls"] = client.esmtp_features.get("auth", "").split() or None
    except ssl.SSLError as exc:
        result["error"] = _error(exc)
        result["accepted"] = None if exc.reason in _CLIENT_SIDE else False
    except smtplib.SMTPResponseException as exc:
        result["error"] = _error(exc)
        result["accepted"] = False
    except (OSError, smtplib.SMTPException) as exc:
        # a server that drops the connection mid-handshake refused it
        result["error"] = _error(exc)
        result["accepted"] = False if client is not None and client.sock is not None else None
    finally:
        if client is not None:
            _close(client)
    return result


def relay_attempt(host, port=25, sender=PROBE_SENDER, recipient=PROBE_RECIPIENT, timeout=10.0):
    """Ask ``host:port`` to relay: EHLO, MAIL FROM, RCPT TO a foreign domain, then RSET.

    The attempt ends at RCPT TO: the verdict is in its reply, and without DATA no message
    exists that could leave. Returns ``{target, port, source, greeting, ehlo, mail, rcpt,
    error}``; ``source`` is the address the server saw the attempt come from.
    """
    result = {"target": host, "port": port, "sender": sender, "recipient": recipient}
    result.update(source=None, error=None)
    try:
        client, result["greeting"] = _open(host, port, timeout)
    except (OSError, smtplib.SMTPException) as exc:
        result["error"] = _error(exc)
        return result
    try:
        result["source"] = client.sock.getsockname()[0]
        result["ehlo"] = _reply(client.ehlo())
        result["mail"] = _reply(client.docmd("MAIL", f"FROM:<{sender}>"))
        if 200 <= result["mail"][0] < 300:
            result["rcpt"] = _reply(client.docmd("RCPT", f"TO:<{recipient}>"))
        client.docmd("RSET")
    except (OSError, smtplib.SMTPException) as exc:
        result["error"] = _error(exc)
    finally:
        _close(client)
    return result


# ---------------------------------------------------------------------------------------------
# judges (pure)
# ---------------------------------------------------------------------------------------------


def _is_loopback(address):
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def judge_open_relay(relay, params):
    """Open relay, from a real relay attempt made from the probe host."""
    title = "No relaying for a client outside the trusted networks"
    fix = (
        "List only the networks you trust in mynetworks (loopback and the office LAN), keep "
        "reject_unauth_destination in smtpd_relay_restrictions, and let everyone else relay "
        "only after SASL authentication on submission."
    )
    config = (
        f"mynetworks = {params.get('mynetworks', '?')}; smtpd_relay_restrictions = "
        f"{params.get('smtpd_relay_restrictions', '?')}"
    )
    if not relay:
        return finding(
            "open_relay",
            title,
            "high",
            "advice",
            "not tested: no relay attempt ran; " + config,
            fix="Run the audit with a probe host that can reach port 25 (audit_probe_host).",
        )
    where = f"from {relay.get('source') or '?'} to {relay.get('target')}:{relay.get('port')}"
    if relay.get("error") or not relay.get("mail"):
        return finding(
            "open_relay",
            title,
            "high",
            "advice",
            f"not tested: the attempt {where} failed: {relay.get('error')}; {config}",
            fix="Make port 25 reachable from the probe host, or name another (audit_probe_host).",
        )
    if _is_loopback(relay.get("source") or ""):
        return finding(
            "open_relay",
            title,
            "high",
            "advice",
            f"not tested: the attempt came {where}, from loopback, which every host trusts; "
            + config,
            fix="Name a probe host outside the host itself (audit_probe_host).",
        )
    mail_code, mail_text = relay["mail"]
    steps = f"MAIL FROM:<{relay['sender']}> -> {mail_code} {mail_text}"
    if not 200 <= mail_code < 300:
        return finding(
            "open_relay",
            title,
            "high",
            "advice",
            f"inconclusive: {steps} ({where}), the attempt never reached RCPT TO; {config}",
            fix="Choose a probe host whose sender the server accepts, and audit again.",
        )
    rcpt_code, rcpt_text = relay["rcpt"]
    steps += f"; RCPT TO:<{relay['recipient']}> -> {rcpt_code} {rcpt_text}"
    trusted = mynetworks_match(params.get("mynetworks"), relay["source"])
    inside = (
        f"{relay['source']} is inside mynetworks entry {trusted}"
        if trusted
        else f"{relay['source']} is not in mynetworks"
    )
    evidence = f"{steps} ({where}; {inside})"
    if 200 <= rcpt_code < 300:
        return finding("open_relay", title, "high", "fail", "relayed: " + evidence, fix=fix)
    if re.search(r"relay access denied", rcpt_text, re.I):
        return finding("open_relay", title, "high", "pass", "refused: " + evidence)
    return finding(
        "open_relay",
        title,
        "high",
        "advice",
        f"inconclusive: the recipient was refused for another reason than relaying: {evidence}",
        fix="Check why the recipient was refused: the relay test needs a refusal for relaying.",
    )


def judge_tls_floor(ports, params):
    """TLS protocol floor, from real handshakes with each version on each smtpd port.

    ``ports`` is ``[{port, tls, results: [probe_tls result, ...]}]``.
    """
    title = "TLS 1.0 and 1.1 refused, TLS 1.2 or later accepted"
    fix = (
        "Set smtpd_tls_protocols and smtpd_tls_mandatory_protocols to >=TLSv1.2 (the tls "
        "role's default) and keep OpenSSL's security level at its default."
    )
    config = (
        f"smtpd_tls_protocols = {params.get('smtpd_tls_protocols', '?')}; "
        f"smtpd_tls_mandatory_protocols = {params.get('smtpd_tls_mandatory_protocols', '?')}"
    )
    weak, none_modern, lines, tested = [], [], [], False
    for entry in ports:
        accepted = [r["version"] for r in entry["results"] if r["accepted"]]
        refused = [r["version"] for r in entry["results"] if r["accepted"] is False]
        untested = [r for r in entry["results"] if r["accepted"] is None]
        tested = tested or bool(accepted or refused)
        text = f"port {entry['port']} ({entry['tls']}): accepted {', '.join(accepted) or 'none'}"
        text += f"; refused {', '.join(refused) or 'none'}"
        if untested:
            reasons = sorted({r["error"] or "?" for r in untested})
            text += (
                f"; not tried {', '.join(r['version'] for r in untested)} ({'; '.join(reasons)})"
            )
        lines.append(text)
        weak += [f"{v} on port {entry['port']}" for v in accepted if v in WEAK_TLS]
        if (accepted or refused) and not any(v not in WEAK_TLS for v in accepted):
            none_modern.append(str(entry["port"]))
    evidence = "; ".join(lines) + f" ({config})"
    if not tested:
        return finding(
            "tls_protocol_floor",
            title,
            "medium",
            "advice",
            "not tested: no TLS handshake could be tried: " + evidence,
            fix="Offer STARTTLS on port 25 (smtpd_tls_security_level = may) with a certificate.",
        )
    if weak:
        return finding(
            "tls_protocol_floor",
            title,
            "medium",
            "fail",
            f"handshake succeeded with {', '.join(weak)}: {evidence}",
            fix=fix,
        )
    if none_modern:
        return finding(
            "tls_protocol_floor",
            title,
            "medium",
            "fail",
            f"no TLS 1.2 or 1.3 handshake on port {', '.join(none_modern)}: {evidence}",
            fix="Check the certificate, key and cipher settings with posttls-finger; " + fix,
        )
    return finding("tls_protocol_floor", title, "medium", "pass", evidence)


def _auth_words(mechanisms):
    return "AUTH " + " ".join(mechanisms) if mechanisms else "no AUTH"


def judge_auth_after_tls(probes, params):
    """AUTH offered only after TLS, from the EHLO keywords a plaintext client sees."""
    title = "SMTP AUTH offered only after TLS"
    config = (
        f"smtpd_sasl_auth_enable = {params.get('smtpd_sasl_auth_enable', '?')}; "
        f"smtpd_tls_auth_only = {params.get('smtpd_tls_auth_only', '?')}"
    )
    plain = [p for p in probes if p.get("ehlo_keywords") is not None]
    if not plain:
        return finding(
            "auth_after_tls",
            title,
            "high",
            "advice",
            "not tested: no smtpd port answered EHLO; " + config,
            fix="Make sure smtpd listens on 127.0.0.1 and audit again.",
        )
    exposed = [
        f"port {p['port']} offers AUTH {' '.join(p['auth_before_tls'])}"
        for p in plain
        if p.get("auth_before_tls")
    ]
    seen = "; ".join(
        f"port {p['port']}: {_auth_words(p.get('auth_before_tls'))} before TLS" for p in plain
    )
    after = [p for p in plain if p.get("auth_after_tls")]
    if after:
        seen += "; after STARTTLS " + ", ".join(
            f"port {p['port']} offers {_auth_words(p['auth_after_tls'])}" for p in after
        )
    if exposed:
        return finding(
            "auth_after_tls",
            title,
            "high",
            "fail",
            f"{'; '.join(exposed)} before STARTTLS: passwords may cross in clear ({config})",
            fix="Set smtpd_tls_auth_only = yes (the tls role's default), or offer AUTH only on "
            "submission with smtpd_tls_security_level = encrypt.",
        )
    return finding("auth_after_tls", title, "high", "pass", f"{seen} ({config})")


def _judge_greeting_rule(probe, params, rule):
    """A rule smtpd enforces in the dialogue (``rule``: id, title, parameter, the probe's key,
    the request it made, the reply code that shows the rule in force, and the fix): judged from
    the probe's reply, or from the parameter alone when the probe could not ask."""
    config = f"{rule['parameter']} = {params.get(rule['parameter'], '?')}"
    reply = (probe or {}).get(rule["probe_key"])
    if reply is None:
        enforced = params.get(rule["parameter"], "no") == "yes"
        return finding(
            rule["id"],
            rule["title"],
            "low",
            "pass" if enforced else "fail",
            f"from the configuration only (the probe could not ask): {config}",
            fix=rule["fix"],
        )
    evidence = f"{rule['request']} -> {reply[0]} {reply[1]} ({config})"
    if reply[0] == rule["enforced_code"]:
        return finding(rule["id"], rule["title"], "low", "pass", evidence)
    return finding(rule["id"], rule["title"], "low", "fail", evidence, fix=rule["fix"])


def judge_vrfy(probe, params):
    return _judge_greeting_rule(
        probe,
        params,
        {
            "id": "vrfy_disabled",
            "title": "VRFY disabled",
            "parameter": "disable_vrfy_command",
            "probe_key": "vrfy",
            "request": "VRFY postmaster",
            "enforced_code": 502,
            "fix": "Set disable_vrfy_command = yes, so that nobody can probe for valid addresses.",
        },
    )


def judge_helo(probe, params):
    return _judge_greeting_rule(
        probe,
        params,
        {
            "id": "helo_required",
            "title": "HELO/EHLO required before MAIL FROM",
            "parameter": "smtpd_helo_required",
            "probe_key": "mail_before_helo",
            "request": "MAIL FROM before HELO",
            "enforced_code": 503,
            "fix": "Set smtpd_helo_required = yes; spam software often skips the greeting.",
        },
    )


def _as_int(value):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def judge_rate_limits(params):
    title = "Client rate limits present"
    names = (
        "smtpd_client_connection_rate_limit",
        "smtpd_client_message_rate_limit",
        "smtpd_client_connection_count_limit",
    )
    values = {name: _as_int(params.get(name)) for name in names}
    evidence = "; ".join(f"{name} = {params.get(name, '?')}" for name in names)
    missing = [name for name, value in values.items() if not value]
    if missing:
        return finding(
            "rate_limits",
            title,
            "low",
            "fail",
            f"no limit (0 or unset): {', '.join(missing)} ({evidence})",
            fix="Set per-client limits (the server role's defaults: 60 connections and 100 "
            "messages per minute, 20 parallel connections); mynetworks stays exempt.",
        )
    return finding("rate_limits", title, "low", "pass", evidence)


def judge_banner(probe, params):
    title = "SMTP banner does not show the Postfix version"
    version = params.get("mail_version") or ""
    raw = params.get("smtpd_banner", "?")
    greeting = (probe or {}).get("greeting")
    fix = "Set smtpd_banner = $myhostname ESMTP (the server role's default)."
    if greeting is None:
        shows = "mail_version" in raw
        source = f"from the configuration only: smtpd_banner = {raw}"
        return finding("banner_version", title, "low", "fail" if shows else "pass", source, fix=fix)
    text = f"{greeting[0]} {greeting[1]}"
    evidence = f"greeting {text!r} (smtpd_banner = {raw})"
    if version and re.search(r"(?<![\d.])" + re.escape(version) + r"(?![\d.])", greeting[1]):
        return finding(
            "banner_version", title, "low", "fail", f"shows {version}: {evidence}", fix=fix
        )
    if re.search(r"postfix|debian|ubuntu", greeting[1], re.I):
        return finding(
            "banner_version", title, "info", "advice", f"names the software: {evidence}", fix=fix
        )
    return finding("banner_version", title, "low", "pass", evidence)


def key_problems(entry, kind):
    """What is wrong with one private key file's mode and owner: ``[(severity, text)]``."""
    mode = int(entry["mode"], 8)
    problems = []
    if mode & 0o007:
        problems.append(("high", f"mode {entry['mode']} gives every local user access"))
    if mode & 0o020:
        problems.append(("medium", f"mode {entry['mode']} lets group {entry['group']} write"))
    if entry["owner"] not in KEY_OWNERS[kind]:
        problems.append(
            ("medium", f"owned by {entry['owner']}, not {' or '.join(KEY_OWNERS[kind])}")
        )
    return problems


def judge_key_files(entries):
    """``entries``: ``[{path, mode, owner, group, kind}]`` for every private key found."""
    title = "Private keys readable only by their owner (and group)"
    if not entries:
        return finding(
            "private_key_modes", title, "high", "pass", "no private key files found to judge"
        )
    problems, seen = [], []
    for entry in entries:
        seen.append(f"{entry['path']} {entry['mode']} {entry['owner']}:{entry['group']}")
        for severity, text in key_problems(entry, entry["kind"]):
            problems.append((severity, f"{entry['path']}: {text}"))
    if problems:
        return finding(
            "private_key_modes",
            title,
            worst(severity for severity, _text in problems),
            "fail",
            "; ".join(text for _severity, text in problems),
            fix="chmod 0600 (or 0640 with a group that needs it) and chown root (opendkim for "
            "DKIM keys); replace a key that others could read, it may have been copied.",
        )
    return finding("private_key_modes", title, "high", "pass", "; ".join(seen))


def judge_chroot(services):
    title = "Internet-facing smtpd services run chrooted"
    if not services:
        return finding(
            "chroot",
            title,
            "low",
            "advice",
            "no inet smtpd service in master.cf",
            fix="Check master.cf: Postfix receives no mail over SMTP.",
        )
    free = [s["key"] for s in services if s["chroot"] not in ("y", "yes")]
    evidence = "; ".join(f"{s['key']} chroot={s['chroot']}" for s in services)
    if free:
        return finding(
            "chroot",
            title,
            "low",
            "fail",
            f"not chrooted: {', '.join(free)} ({evidence})",
            fix="Set the chroot column of those services to y (Debian's default; the Debian "
            "package copies what the chroot needs into /var/spool/postfix).",
        )
    return finding("chroot", title, "low", "pass", evidence)


def judge_postfix_check(messages):
    title = "postfix check reports nothing"
    if messages:
        return finding(
            "postfix_check",
            title,
            "medium",
            "fail",
            "; ".join(messages[:20]),
            fix="Fix what postfix check reports (permissions, missing files, unknown parameters).",
        )
    return finding("postfix_check", title, "medium", "pass", "postfix check printed nothing")


def judge_dkim_keys(keys):
    """``keys``: ``[{path, algorithm, bits}]``; RSA below 1024 bits is high, below 2048 medium."""
    title = "DKIM keys of 2048 bits or more (RSA)"
    if not keys:
        return finding("dkim_key_size", title, "medium", "pass", "no DKIM private keys found")
    problems, seen = [], []
    for key in keys:
        label = f"{key['path']}: {key['algorithm'] or 'unreadable'} {key['bits'] or '?'} bits"
        seen.append(label)
        if key["algorithm"] == "rsa" and key["bits"] < 1024:
            problems.append(("high", label + " (can be factored)"))
        elif key["algorithm"] == "rsa" and key["bits"] < 2048:
            problems.append(("medium", label + " (below the 2048 bits RFC 8301 recommends)"))
        elif key["algorithm"] is None:
            problems.append(("low", label + " (openssl could not read it)"))
    if problems:
        return finding(
            "dkim_key_size",
            title,
            worst(severity for severity, _text in problems),
            "fail",
            "; ".join(text for _severity, text in problems),
            fix="Generate a 2048-bit key under a new selector, publish it, then switch "
            "(the dkim role's rotation: dkim_domains[].selectors).",
        )
    return finding("dkim_key_size", title, "medium", "pass", "; ".join(seen))


def judge_certificates(certs, now, warn_days=21):
    """``certs``: ``[{path, not_after}]`` (aware datetimes or ``None``)."""
    title = f"Certificates valid for more than {warn_days} days"
    if not certs:
        return finding(
            "certificate_expiry",
            title,
            "medium",
            "advice",
            "no TLS certificate configured",
            fix="Configure a certificate (the tls role) so that clients can use STARTTLS.",
        )
    problems, seen = [], []
    for cert in certs:
        if cert["not_after"] is None:
            problems.append(("low", f"{cert['path']}: openssl could not read its end date"))
            continue
        days = (cert["not_after"] - now).total_seconds() / 86400
        label = f"{cert['path']}: expires {cert['not_after']:%Y-%m-%dT%H:%M:%SZ}"
        if days < 0:
            problems.append(("high", f"{label}, {-days:.0f} days ago"))
        elif days < warn_days:
            problems.append(("medium", f"{label}, in {days:.1f} days"))
        else:
            seen.append(f"{label} (in {days:.0f} days)")
    if problems:
        return finding(
            "certificate_expiry",
            title,
            worst(severity for severity, _text in problems),
            "fail",
            "; ".join(text for _severity, text in problems),
            fix="Renew the certificate (the tls role renews lab certificates; ACME clients "
            "renew 30 days ahead) and reload Postfix.",
        )
    return finding("certificate_expiry", title, "medium", "pass", "; ".join(seen))


def judge_queue_filesystem(queue_directory, same):
    title = "Queue on its own file system"
    if same is None:
        return finding(
            "queue_filesystem",
            title,
            "info",
            "advice",
            f"{queue_directory} could not be read",
            fix="Check queue_directory.",
        )
    if same:
        return finding(
            "queue_filesystem",
            title,
            "info",
            "advice",
            f"{queue_directory} is on the root file system",
            fix="Give the queue its own file system when you can: a full queue then cannot fill "
            "/, and / filling up cannot stop mail.",
        )
    return finding(
        "queue_filesystem", title, "info", "pass", f"{queue_directory} has a file system of its own"
    )


# ---------------------------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------------------------


def at_or_above(findings, level):
    """IDs of failed findings at or above ``level`` (``none`` selects nothing)."""
    if level == "none":
        return []
    limit = _RANK[level]
    return [f["id"] for f in findings if f["status"] == "fail" and _RANK[f["severity"]] <= limit]


def summarize(findings):
    """Counts: ``{passed, advice, failed: {high, medium, low, info}}``."""
    failed = dict.fromkeys(SEVERITIES, 0)
    for item in findings:
        if item["status"] == "fail":
            failed[item["severity"]] += 1
    return {
        "passed": sum(1 for f in findings if f["status"] == "pass"),
        "advice": sum(1 for f in findings if f["status"] == "advice"),
        "failed": failed,
    }


def ordered(findings):
    """Failures first (most severe first), then advice, then passes; stable within a group."""
    status_rank = {"fail": 0, "advice": 1, "pass": 2}
    return sorted(findings, key=lambda f: (status_rank[f["status"]], _RANK[f["severity"]]))


def summary_lines(findings):
    """One short line per finding that is not a pass, then the totals."""
    lines = [
        f"{f['status'].upper()} {f['severity']}: {f['id']}: {f['evidence'][:160]}"
        for f in ordered(findings)
        if f["status"] != "pass"
    ]
    counts = summarize(findings)
    failed = ", ".join(f"{n} {s}" for s, n in counts["failed"].items() if n) or "none"
    lines.append(f"{counts['passed']} passed, {counts['advice']} advice, failed: {failed}")
    return lines


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(report):
    """The report as Markdown: the totals, one table row per finding, the fixes."""
    counts = report["summary"]
    failed = ", ".join(f"{n} {s}" for s, n in counts["failed"].items() if n) or "none"
    out = [
        f"# Postfix audit of {report['label']}",
        "",
        f"- audited at: {report['audited_at']}",
        f"- Postfix: {report.get('postfix_version') or 'unknown'}",
        f"- result: {counts['passed']} passed, {counts['advice']} advice, failed: {failed}",
        "",
        "| status | severity | check | evidence |",
        "| --- | --- | --- | --- |",
    ]
    for item in ordered(report["findings"]):
        out.append(
            f"| {item['status']} | {item['severity']} | {_cell(item['title'])} (`{item['id']}`) "
            f"| {_cell(item['evidence'])} |"
        )
    fixes = [f for f in ordered(report["findings"]) if f["fix"]]
    if fixes:
        out += ["", "## What to do", ""]
        out += [f"- **{f['id']}** ({f['status']}, {f['severity']}): {f['fix']}" for f in fixes]
    return "\n".join(out) + "\n"


def audit(
    run,
    *,
    config_directory="/etc/postfix",
    dkim_key_dirs=("/etc/dkimkeys",),
    relay=None,
    probe_address="127.0.0.1",
    probe=True,
    warn_days=21,
    timeout=10.0,
    now=None,
    probe_smtpd=probe_smtpd,
    probe_tls=probe_tls,
):
    """Run every check on this host; return ``(findings, facts)``.

    ``facts`` holds what the checks read (parameters, services, keys, certificates, probes),
    for the JSON report. ``probe=False`` skips the loopback SMTP probes; the checks that need
    them then judge the configuration alone and say so.
    """
    now = now or datetime.datetime.now(datetime.UTC)
    params = read_parameters(run, config_directory, PARAMETERS)
    if not params:
        raise RuntimeError(
            f"postconf -c {config_directory} could not be read: is Postfix installed?"
        )
    params.update(read_parameters(run, config_directory, RAW_PARAMETERS, expand=False))
    services = smtpd_services(read_services(run, config_directory))

    probes, tls_ports = [], []
    if probe:
        for service in services:
            if service["port"] is None:
                continue
            address = service["host"] or probe_address
            if service["tls"] == "starttls":
                probes.append(
                    dict(probe_smtpd(address, service["port"], timeout), service=service["key"])
                )
            results = [
                probe_tls(address, service["port"], version, service["tls"] == "implicit", timeout)
                for version in TLS_VERSIONS
            ]
            tls_ports.append({"port": service["port"], "tls": service["tls"], "results": results})
            # what AUTH a client sees once TLS is up, for the auth finding's evidence
            after = next((r.get("auth_after_tls") for r in results if r.get("accepted")), None)
            for entry in probes:
                if entry["port"] == service["port"]:
                    entry["auth_after_tls"] = after
    port25 = next((p for p in probes if p["port"] == 25 and not p.get("error")), None)

    key_entries, certs = [], []
    for path in tls_files(params, [s["options"] for s in services]):
        data = read_head(path)
        kinds = pem_kinds(data or b"")
        if "key" in kinds and (info := stat_file(path)):
            key_entries.append(dict(info, kind="tls"))
        if "certificate" in kinds:
            certs.append({"path": path, "not_after": read_enddate(run, path)})
    dkim_keys = []
    for path in find_key_files([d for d in dkim_key_dirs if os.path.isdir(d)]):
        if info := stat_file(path):
            key_entries.append(dict(info, kind="dkim"))
        algorithm, bits = read_key_bits(run, path)
        dkim_keys.append({"path": path, "algorithm": algorithm, "bits": bits})

    queue_directory = params.get("queue_directory", "/var/spool/postfix")
    findings = [
        judge_open_relay(relay, params),
        judge_tls_floor(tls_ports, params),
        judge_auth_after_tls(probes, params),
        judge_vrfy(port25, params),
        judge_helo(port25, params),
        judge_rate_limits(params),
        judge_banner(port25, params),
        judge_key_files(key_entries),
        judge_chroot(services),
        judge_postfix_check(read_postfix_check(run, config_directory)),
        judge_dkim_keys(dkim_keys),
        judge_certificates(certs, now, warn_days),
        judge_queue_filesystem(queue_directory, same_filesystem(queue_directory)),
    ]
    facts = {
        "parameters": params,
        "smtpd_services": [{k: v for k, v in s.items() if k != "options"} for s in services],
        "smtp_probes": probes,
        "tls_probes": tls_ports,
        "private_keys": key_entries,
        "certificates": [
            dict(
                c,
                not_after=c["not_after"].strftime("%Y-%m-%dT%H:%M:%SZ") if c["not_after"] else None,
            )
            for c in certs
        ],
        "dkim_keys": dkim_keys,
        "relay_probe": relay,
    }
    return findings, facts
