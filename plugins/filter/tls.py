# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters behind the sbs.postfix.tls role: validate TLS settings against the installed Postfix
and turn them into the role's contribution to the server role (see docs/handoff.md).

Controller side. Every function here is pure: it takes plain data (role variables, the text
``postconf`` printed on the host) and returns plain data, so unit tests call it directly.
Error messages name the role variable the admin has to change.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

from ansible_collections.sbs.postfix.plugins.plugin_utils._main_cf import (
    ConfigError,
    render_duration,
)
from ansible_collections.sbs.postfix.plugins.plugin_utils._master_cf import submission_services

# Protocol names Postfix's tls_protocol_mask() knows, oldest first (postconf(5),
# smtpd_tls_protocols). The order matters for the ">=" / "<=" range syntax.
PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
# The range syntax (Postfix >= 3.6) takes only versions OpenSSL can set as a bound.
RANGE_PROTOCOLS = PROTOCOLS[1:]
RANGE_SYNTAX_SINCE = (3, 6)

# Map types that can hold a TLS session cache: updatable, with sequential access for the
# cache cleanup (postconf(5), smtpd_tls_session_cache_database). hash/dbm cannot.
SESSION_CACHE_TYPES = ("lmdb", "btree")

# Parameters that appeared in a known release. A contribution never writes a parameter the
# installed Postfix does not know; these give the error message its "needs Postfix x.y".
PARAMETER_SINCE = {
    "smtpd_tls_chain_files": (3, 4),
    "tls_eecdh_auto_curves": (3, 2),
    "tls_ffdhe_auto_groups": (3, 8),
    "smtp_tls_connection_reuse": (3, 4),
}

SECURITY_LEVELS_SERVER = ("none", "may", "encrypt")
SECURITY_LEVELS_CLIENT = ("none", "may", "encrypt", "dane", "dane-only", "verify", "secure")
CIPHER_GRADES = ("high", "medium", "low", "export", "null")

_SEPARATORS = re.compile(r"[\s,:]+")


def postfix_version(text):
    """Return the Postfix version tuple from ``postconf -h mail_version`` output ("3.7.11")."""
    match = re.match(r"\s*(\d+)\.(\d+)(?:\.(\d+))?", str(text))
    if not match:
        raise AnsibleFilterError(
            f"cannot read a Postfix version from {text!r} (postconf -h mail_version)"
        )
    return tuple(int(part) for part in match.groups(default="0"))


def _version_str(version):
    return ".".join(str(part) for part in version)


def parse_protocols(spec, variable="tls_server_protocols"):
    """Parse a Postfix TLS protocol list the way tls_protocol_mask() does.

    ``spec`` is a string ("!SSLv2, !SSLv3", ">=TLSv1.2", "TLSv1.2 TLSv1.3") or a list of
    such items. Returns a dict with ``enabled`` (protocol names, oldest first), ``uses_range``
    (the ">="/"<=" syntax is used, which needs Postfix 3.6) and ``errors`` (one line per
    problem, naming ``variable``). Names are case-sensitive, as Postfix spells them.
    """
    if spec is None:
        spec = ""
    if isinstance(spec, (list, tuple)):
        spec = " ".join(str(item) for item in spec)
    tokens = [token for token in _SEPARATORS.split(str(spec).strip()) if token]
    errors = []
    include, exclude = set(), set()
    low, high = 0, len(PROTOCOLS) - 1
    uses_range = False
    for token in tokens:
        if token.startswith((">=", "<=")):
            uses_range = True
            name = token[2:]
            if name not in RANGE_PROTOCOLS:
                errors.append(_unknown(variable, token, name, RANGE_PROTOCOLS))
                continue
            if token.startswith(">="):
                low = max(low, PROTOCOLS.index(name))
            else:
                high = min(high, PROTOCOLS.index(name))
        elif token.startswith("!"):
            name = token[1:]
            if name not in PROTOCOLS:
                errors.append(_unknown(variable, token, name, PROTOCOLS))
                continue
            exclude.add(name)
        elif token in PROTOCOLS:
            include.add(token)
        else:
            errors.append(_unknown(variable, token, token, PROTOCOLS))
    candidates = include or set(PROTOCOLS)
    enabled = [
        name
        for index, name in enumerate(PROTOCOLS)
        if name in candidates and name not in exclude and low <= index <= high
    ]
    if not errors and not enabled:
        errors.append(f"{variable}: {spec!r} leaves no TLS protocol enabled")
    return {"enabled": enabled, "uses_range": uses_range, "errors": errors}


def _unknown(variable, token, name, allowed):
    hint = ""
    wanted = _loose(name)
    for known in allowed:
        if wanted == _loose(known):
            hint = f" (did you mean {known!r}?)"
            break
    return (
        f"{variable}: {token!r} is not a protocol Postfix knows{hint}; "
        f"use one of {', '.join(allowed)}"
    )


def _loose(name):
    """Spelling-insensitive form of a protocol name, for "did you mean" hints only."""
    loose = re.sub(r"[^a-z0-9]", "", name.lower().replace("v", ""))
    return "tls1" if loose == "tls10" else loose


def render_protocols(spec, version, variable="tls_server_protocols"):
    """Return the protocol list in a syntax the installed Postfix accepts.

    From Postfix 3.6 the admin's spelling is kept (whitespace normalised). Older versions do
    not know ">=": the same set is written as exclusions ("!SSLv2, !SSLv3, ...").
    """
    parsed = parse_protocols(spec, variable)
    if parsed["errors"]:
        raise AnsibleFilterError("; ".join(parsed["errors"]))
    if isinstance(spec, (list, tuple)):
        spec = " ".join(str(item) for item in spec)
    tokens = [token for token in _SEPARATORS.split(str(spec or "").strip()) if token]
    if not parsed["uses_range"] or tuple(version) >= RANGE_SYNTAX_SINCE:
        return ", ".join(tokens)
    return ", ".join(f"!{name}" for name in PROTOCOLS if name not in parsed["enabled"])


def session_cache_type(available, requested=None, variable="tls_session_cache_type"):
    """Choose the map type for the TLS session caches.

    ``available`` is ``postconf -m`` output (a string or a list of lines). ``requested`` is the
    admin's choice or None for automatic (lmdb, else btree). Raises with a message naming
    ``variable`` when the choice cannot work.
    """
    if isinstance(available, str):
        available = available.split()
    types = {str(item).strip() for item in available if str(item).strip()}
    if requested:
        if requested not in SESSION_CACHE_TYPES:
            raise AnsibleFilterError(
                f"{variable}: {requested!r} cannot hold a TLS session cache; "
                f"use one of {', '.join(SESSION_CACHE_TYPES)}"
            )
        if requested not in types:
            raise AnsibleFilterError(
                f"{variable}: this Postfix does not support the map type {requested!r} "
                f"(postconf -m lists: {', '.join(sorted(types))}); "
                f"install the postfix-{requested} package or choose another type"
            )
        return requested
    for candidate in SESSION_CACHE_TYPES:
        if candidate in types:
            return candidate
    raise AnsibleFilterError(
        f"{variable}: this Postfix supports none of {', '.join(SESSION_CACHE_TYPES)} "
        f"(postconf -m lists: {', '.join(sorted(types))}); install postfix-lmdb"
    )


# What each certificate source needs, and the fields that only make sense for one source.
SOURCE_FIELDS = {
    "path": ("certificate_path", "key_path"),
    "content": ("certificate_content", "key_content"),
    "selfsigned": (),
}
SELFSIGNED_FIELDS = (
    "key_type",
    "key_size",
    "curve",
    "common_name",
    "subject_alt_names",
    "valid_days",
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_PEM_KEY = re.compile(r"-----BEGIN (?:RSA |EC )?PRIVATE KEY-----")


def certificate_problems(certificates):
    """Check the ``tls_certificates`` entries without touching a host.

    Returns one line per problem, naming the entry (``tls_certificates[1]``) and the field.
    Never quotes a field's value: ``key_content`` is a secret.
    """
    problems = []
    if not certificates:
        return [
            (
                "tls_certificates is empty: give at least one entry with source 'path' "
                "(files on the host), 'content' (PEM from the inventory) or 'selfsigned' "
                "(lab hosts only); see the role README"
            )
        ]
    seen = {}
    for index, entry in enumerate(certificates):
        where = f"tls_certificates[{index}]"
        name = str(entry.get("name") or "")
        source = entry.get("source")
        if not _NAME.match(name):
            problems.append(
                f"{where}.name: {name!r} must be letters, digits, '.', '_' or '-' (it names files)"
            )
        elif name in seen:
            problems.append(
                f"{where}.name: {name!r} is already used by tls_certificates[{seen[name]}]"
            )
        else:
            seen[name] = index
        if source not in SOURCE_FIELDS:
            problems.append(f"{where}.source: {source!r} is not one of {', '.join(SOURCE_FIELDS)}")
            continue
        for field in SOURCE_FIELDS[source]:
            if not entry.get(field):
                problems.append(f"{where}.{field} is required with source {source!r}")
        for other, fields in SOURCE_FIELDS.items():
            for field in fields:
                if other != source and entry.get(field):
                    problems.append(
                        f"{where}.{field} only applies to source {other!r}, "
                        f"this entry has {source!r}"
                    )
        if source != "selfsigned":
            for field in SELFSIGNED_FIELDS:
                if entry.get(field):
                    problems.append(f"{where}.{field} only applies to source 'selfsigned'")
        for field in ("certificate_path", "key_path"):
            value = entry.get(field)
            if value and not str(value).startswith("/"):
                problems.append(f"{where}.{field}: {value!r} must be an absolute path")
        if source == "content":
            cert = str(entry.get("certificate_content") or "")
            key = str(entry.get("key_content") or "")
            if cert and "-----BEGIN CERTIFICATE-----" not in cert:
                problems.append(f"{where}.certificate_content does not hold a PEM certificate")
            if key and "ENCRYPTED" in key:
                problems.append(
                    f"{where}.key_content is encrypted: Postfix cannot use a key with a passphrase"
                )
            elif key and not _PEM_KEY.search(key):
                problems.append(f"{where}.key_content does not hold a PEM private key")
            if key and "-----BEGIN CERTIFICATE-----" in key:
                problems.append(
                    f"{where}.key_content holds a certificate too: put it in certificate_content"
                )
    return problems


def certificate_files(entry, directory):
    """Where a certificate entry lives on the host, and what Postfix's chain files list holds.

    ``path``: the admin's files, key first (smtpd_tls_chain_files wants each key before its
    chain). ``content``: one file holding key and chain, replaced in one atomic write so no
    smtpd ever reads a new key with an old certificate. ``selfsigned``: key and certificate
    files generated by community.crypto.
    """
    source = entry["source"]
    directory = str(directory).rstrip("/")
    name = entry["name"]
    if source == "path":
        key, cert = entry["key_path"], entry["certificate_path"]
        return {"key_file": key, "certificate_file": cert, "chain_files": [key, cert]}
    if source == "content":
        combined = f"{directory}/{name}.pem"
        return {"key_file": combined, "certificate_file": combined, "chain_files": [combined]}
    key, cert = f"{directory}/{name}.key", f"{directory}/{name}.crt"
    return {"key_file": key, "certificate_file": cert, "chain_files": [key, cert]}


def selfsigned_names(common_name, subject_alt_names):
    """The subject alternative names of a self-signed certificate, as community.crypto writes
    and reads them: the common name first, each with its ``DNS:`` or ``IP:`` prefix, once."""
    names = []
    for raw in [common_name, *(subject_alt_names or [])]:
        name = str(raw) if str(raw).startswith(("DNS:", "IP:")) else f"DNS:{raw}"
        if name not in names:
            names.append(name)
    return names


def selfsigned_renewal(entry, certificate, key, common_name, subject_alt_names=()):
    """Why a self-signed lab certificate has to be generated (again); empty when the one on
    the host is current, so a no-change run reads two files and generates nothing.

    ``entry`` is the ``tls_certificates`` item; ``certificate`` and ``key`` are what
    community.crypto's ``x509_certificate_info`` and ``openssl_privatekey_info`` returned for
    its files (with ``failed_when: false``: a missing file has no ``public_key``);
    ``common_name`` and ``subject_alt_names`` are the entry's, or the role's defaults.
    """
    reasons = []
    want_type = "ECC" if entry.get("key_type", "rsa") == "ecdsa" else "RSA"
    key_public = (key or {}).get("public_key")
    if not key_public:
        reasons.append("no private key yet")
    else:
        have_type = key.get("type")
        data = key.get("public_data") or {}
        if have_type != want_type:
            reasons.append(f"the key is {have_type}, the entry asks for {want_type}")
        elif want_type == "RSA" and data.get("size") != int(entry.get("key_size", 3072)):
            reasons.append(
                f"the key has {data.get('size')} bits, the entry asks for "
                f"{int(entry.get('key_size', 3072))}"
            )
        elif want_type == "ECC" and data.get("curve") != entry.get("curve", "secp256r1"):
            reasons.append(
                f"the key is on {data.get('curve')}, the entry asks for "
                f"{entry.get('curve', 'secp256r1')}"
            )
    cert_public = (certificate or {}).get("public_key")
    if not cert_public:
        return [*reasons, "no certificate yet"]
    if key_public and key_public.strip() != cert_public.strip():
        reasons.append("the certificate belongs to another key")
    not_after = certificate.get("not_after", "?")
    if certificate.get("expired"):
        reasons.append(f"it expired ({not_after})")
    elif not (certificate.get("valid_at") or {}).get("warn", True):
        reasons.append(f"it expires soon ({not_after})")
    have_cn = (certificate.get("subject") or {}).get("commonName")
    if have_cn != str(common_name):
        reasons.append(f"its common name is {have_cn}, the entry asks for {common_name}")
    have_names = sorted(certificate.get("subject_alt_name") or [])
    want_names = sorted(selfsigned_names(common_name, subject_alt_names))
    if have_names != want_names:
        reasons.append(
            f"its names are {', '.join(have_names)}, the entry asks for {', '.join(want_names)}"
        )
    return reasons


def combined_pem(key, certificate):
    """The content of a chain file: the private key, then the certificate chain."""
    return str(key).strip() + "\n" + str(certificate).strip() + "\n"


def certificate_summary(entry):
    """One line describing an inspected certificate, for the play's output."""
    if entry.get("renewal"):
        done = "to be generated (check mode)" if entry.get("check_mode") else "generated now"
        return (
            f"{entry['name']} ({entry['source']}, LAB ONLY): {done}, for "
            f"{entry.get('common_name', '?')}: {'; '.join(entry['renewal'])}"
        )
    subject = (entry.get("subject") or {}).get("commonName", "?")
    lab = ", LAB ONLY" if entry["source"] == "selfsigned" else ""
    state = (
        "EXPIRED"
        if entry.get("expired")
        else ("expires soon" if entry.get("expires_soon") else "valid")
    )
    return (
        f"{entry['name']} ({entry['source']}{lab}): {entry.get('key_type', '?')} key, "
        f"CN={subject}, {state} until {entry.get('not_after', '?')}, "
        f"files {', '.join(entry.get('chain_files', []))}"
    )


def build_contribution(settings, postfix):
    """Build the ``tls`` contribution for the server role.

    ``settings`` holds the role's variables without their ``tls_`` prefix (see
    ``roles/tls/tasks/contribute.yml``), plus ``chain_files``, the files Postfix reads for its
    certificates. ``postfix`` holds ``version`` (``postconf -h mail_version``), ``parameters``
    (names from ``postconf -d``) and either ``cache_type`` (from ``session_cache_type``) or
    ``map_types`` (``postconf -m``), from which the type is chosen here with the admin's
    ``session_cache_type``, so a refused choice is listed with every other problem.

    Returns ``(contribution, errors)``. The contribution follows docs/handoff.md: ``main``
    (derived, the admin's inventory wins), ``main_required`` (the role cannot work otherwise),
    ``services`` (submission and smtps, when enabled), ``reasons``.
    """
    version = postfix_version(postfix["version"])
    known = set(postfix.get("parameters") or ())
    errors = []
    cache = postfix.get("cache_type")
    if cache is None:
        try:
            cache = session_cache_type(postfix["map_types"], settings.get("session_cache_type"))
        except AnsibleFilterError as exc:
            errors.append(str(exc))
            cache = "lmdb"  # only to finish the checks: nothing is built with errors
    main, required, reasons, added = {}, {}, {}, []

    def put(target, name, value, reason):
        target[name] = value
        reasons[name] = reason

    def protocols(var, param, reason):
        parsed = parse_protocols(settings[var], f"tls_{var}")
        if parsed["errors"]:
            errors.extend(parsed["errors"])
            return
        put(main, param, render_protocols(settings[var], version, f"tls_{var}"), reason)

    def choice(var, allowed):
        value = settings[var]
        if value not in allowed:
            errors.append(f"tls_{var}: {value!r} is not one of {', '.join(allowed)}")
            return False
        return True

    chain_files = list(settings.get("chain_files") or [])
    if not chain_files:
        errors.append("tls_certificates: no certificate/key pair to configure")
    put(
        required,
        "smtpd_tls_chain_files",
        chain_files,
        "private keys and certificate chains prepared and checked by sbs.postfix.tls",
    )

    # --- SMTP server (port 25 and the defaults every smtpd inherits) ---
    if choice("server_security_level", SECURITY_LEVELS_SERVER):
        put(
            main,
            "smtpd_tls_security_level",
            settings["server_security_level"],
            "opportunistic STARTTLS on port 25 (RFC 3207 forbids requiring TLS on a public MX)",
        )
    protocols("server_protocols", "smtpd_tls_protocols", "protocol floor for opportunistic TLS")
    protocols(
        "server_mandatory_protocols",
        "smtpd_tls_mandatory_protocols",
        "protocol floor where TLS is required",
    )
    if choice("server_ciphers", CIPHER_GRADES):
        put(
            main,
            "smtpd_tls_ciphers",
            settings["server_ciphers"],
            "cipher grade for opportunistic TLS",
        )
    if choice("server_mandatory_ciphers", CIPHER_GRADES):
        put(
            main,
            "smtpd_tls_mandatory_ciphers",
            settings["server_mandatory_ciphers"],
            "cipher grade where TLS is required",
        )
    put(
        main,
        "tls_preempt_cipherlist",
        bool(settings["preempt_cipherlist"]),
        "the server, not the client, picks the cipher from its own preference order",
    )
    if settings.get("high_cipherlist"):
        put(
            main,
            "tls_high_cipherlist",
            settings["high_cipherlist"],
            "set by the admin (tls_high_cipherlist)",
        )
    put(
        main, "smtpd_tls_loglevel", int(settings["server_loglevel"]), "one log line per TLS session"
    )
    put(
        main,
        "smtpd_tls_received_header",
        bool(settings["received_header"]),
        "record protocol and cipher in the Received: header",
    )
    put(
        main, "smtpd_tls_auth_only", bool(settings["auth_only"]), "never offer AUTH before STARTTLS"
    )
    put(
        main,
        "smtpd_tls_session_cache_database",
        f"{cache}:${{data_directory}}/smtpd_scache",
        f"server-side TLS session cache ({cache} is supported by this Postfix: postconf -m)",
    )
    try:
        timeout = render_duration(settings["session_cache_timeout"], "tls_session_cache_timeout")
    except ConfigError as exc:
        errors.append(str(exc))
        timeout = None
    put(
        main,
        "smtpd_tls_session_cache_timeout",
        timeout,
        "lifetime of cached sessions and session tickets",
    )

    # Key exchange groups: Postfix's built-in defaults follow OpenSSL and are what Postfix
    # recommends; they are only written when the admin asks for something else.
    for var in ("eecdh_auto_curves", "ffdhe_auto_groups"):
        value = settings.get(var)
        if value is None:
            continue
        param = f"tls_{var}"
        since = PARAMETER_SINCE[param]
        if version < since:
            errors.append(
                f"tls_{var}: {param} needs Postfix >= {_version_str(since)}, "
                f"this host runs {_version_str(version)}"
            )
            continue
        put(main, param, value, f"set by the admin (tls_{var})")
    if settings.get("dh_param_file"):
        put(
            main,
            "smtpd_tls_dh1024_param_file",
            settings["dh_param_file"],
            "set by the admin (tls_dh_param_file)",
        )

    # --- SMTP client (outbound delivery) ---
    if choice("client_security_level", SECURITY_LEVELS_CLIENT):
        level = settings["client_security_level"]
        put(main, "smtp_tls_security_level", level, "TLS for outbound delivery")
        if level in ("dane", "dane-only"):
            put(
                required,
                "smtp_dns_support_level",
                "dnssec",
                "DANE needs DNSSEC-validated lookups (and a validating resolver on the host)",
            )
    protocols(
        "client_protocols", "smtp_tls_protocols", "protocol floor for opportunistic outbound TLS"
    )
    protocols(
        "client_mandatory_protocols",
        "smtp_tls_mandatory_protocols",
        "protocol floor where outbound TLS is required",
    )
    if choice("client_ciphers", CIPHER_GRADES):
        put(
            main,
            "smtp_tls_ciphers",
            settings["client_ciphers"],
            "cipher grade for opportunistic outbound TLS",
        )
    if choice("client_mandatory_ciphers", CIPHER_GRADES):
        put(
            main,
            "smtp_tls_mandatory_ciphers",
            settings["client_mandatory_ciphers"],
            "cipher grade where outbound TLS is required",
        )
    put(
        main,
        "smtp_tls_loglevel",
        int(settings["client_loglevel"]),
        "one log line per outbound TLS session",
    )
    put(
        main,
        "smtp_tls_note_starttls_offer",
        bool(settings["client_note_starttls_offer"]),
        "log which servers offer STARTTLS when TLS is not used",
    )
    put(
        main,
        "smtp_tls_session_cache_database",
        f"{cache}:${{data_directory}}/smtp_scache",
        "client-side TLS session cache",
    )
    put(
        main,
        "smtp_connection_cache_on_demand",
        bool(settings["connection_cache_on_demand"]),
        "reuse connections to destinations with a backlog",
    )
    destinations = list(settings.get("connection_cache_destinations") or [])
    if destinations:
        put(
            main,
            "smtp_connection_cache_destinations",
            destinations,
            "always reuse connections to these destinations",
        )
    if settings.get("client_connection_reuse"):
        put(
            main,
            "smtp_tls_connection_reuse",
            True,
            "reuse TLS connections through tlsproxy(8) "
            "(the plain connection cache skips TLS sessions)",
        )

    # --- Submission (587) and submissions/smtps (465): TLS required, SASL through Dovecot ---
    # Defined once, with the server role's own optional services (plugin_utils/_master_cf.py).
    services = [name for name in ("submission", "smtps") if settings[name]]
    if services:
        put(main, "smtpd_sasl_type", settings["sasl_type"], "SASL backend for submission/smtps")
        put(
            main,
            "smtpd_sasl_path",
            settings["sasl_path"],
            "socket of the SASL backend, relative to the queue directory",
        )
        put(
            main,
            "smtpd_sasl_security_options",
            "noanonymous",
            "no anonymous logins (plaintext mechanisms are safe: AUTH only after TLS)",
        )
    try:
        added = submission_services(
            {
                name: {"enabled": True, "options": settings.get(f"{name}_options")}
                for name in services
            },
            settings["submission_restrictions"],
            prefix="tls_",
        )
    except ConfigError as exc:
        errors.append(str(exc))
    for service in added:
        name = service["name"]
        reasons[f"{name}/inet"] = (
            f"{'implicit TLS (port 465)' if name == 'smtps' else 'STARTTLS required (port 587)'}, "
            "SASL AUTH enabled on this service only"
        )

    # Every parameter must exist in the installed Postfix: a name it does not know would be
    # flagged by the server role's validation, but here the message can say which version adds it.
    if known:
        names = set(main) | set(required)
        for service in added:
            names |= set(service["options"])
        for name in sorted(names - known):
            since = PARAMETER_SINCE.get(name)
            needs = f" (needs Postfix >= {_version_str(since)})" if since else ""
            errors.append(f"{name}: not a parameter of Postfix {_version_str(version)}{needs}")

    contribution = {"main": main, "main_required": required, "services": added, "reasons": reasons}
    return contribution, errors


def tls_contribution(settings, postfix):
    """Filter: the contribution dict, or an error listing every problem at once."""
    contribution, errors = build_contribution(settings, postfix)
    if errors:
        raise AnsibleFilterError("sbs.postfix.tls: " + "; ".join(errors))
    return contribution


def tls_contribution_problems(settings, postfix):
    """Filter: every problem ``tls_contribution`` would refuse, as a list (empty when none), so
    the role can report them with its other checks before it builds the contribution."""
    return build_contribution(settings, postfix)[1]


def tls_protocol_errors(spec, variable):
    """Filter: the list of problems in a protocol list (empty when Postfix accepts it)."""
    return parse_protocols(spec, variable)["errors"]


def tls_protocols_enabled(spec):
    """Filter: the protocol names a Postfix protocol list leaves enabled, oldest first."""
    return parse_protocols(spec)["enabled"]


class FilterModule:
    """sbs.postfix TLS filters."""

    def filters(self):
        return {
            "tls_contribution": tls_contribution,
            "tls_contribution_problems": tls_contribution_problems,
            "tls_certificate_problems": certificate_problems,
            "tls_certificate_files": certificate_files,
            "tls_combined_pem": combined_pem,
            "tls_selfsigned_names": selfsigned_names,
            "tls_selfsigned_renewal": selfsigned_renewal,
            "tls_certificate_summary": certificate_summary,
            "tls_protocol_errors": tls_protocol_errors,
            "tls_protocols_enabled": tls_protocols_enabled,
            "tls_session_cache_type": session_cache_type,
            "tls_postfix_version": postfix_version,
        }
