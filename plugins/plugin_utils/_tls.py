# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters behind the sbs.postfix.tls role: validate TLS settings against the installed Postfix
and turn them into the role's contribution to the server role (see docs/handoff.md).

Controller side. Every function here is pure: it takes plain data (role variables, the text
``postconf`` printed on the host, a certificate's PEM text) and returns plain data, so unit
tests call it directly; only the certificate facts read the clock, and take ``now`` to fix it.
Error messages name the role variable the admin has to change.

Private to the sbs.postfix collection: not a public API, may change without notice.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.sbs.postfix.plugins.plugin_utils._lazy import LazyModule, available

# Only the contribution needs the main.cf and master.cf rules: the tasks that check protocols or
# certificates, and the risk rules that read the protocol names, do not import them (_lazy.py
# says why every import counts).
_MAIN_CF = LazyModule("ansible_collections.sbs.postfix.plugins.plugin_utils._main_cf")
_MASTER_CF = LazyModule("ansible_collections.sbs.postfix.plugins.plugin_utils._master_cf")

# cryptography is imported by the few filters that read a certificate or a key (_lazy.py says
# why); ansible-core itself depends on it.
HAS_CRYPTOGRAPHY = available("cryptography")
x509 = LazyModule("cryptography.x509")
crypto_exceptions = LazyModule("cryptography.exceptions")
serialization = LazyModule("cryptography.hazmat.primitives.serialization")
dsa = LazyModule("cryptography.hazmat.primitives.asymmetric.dsa")
ec = LazyModule("cryptography.hazmat.primitives.asymmetric.ec")
ed448 = LazyModule("cryptography.hazmat.primitives.asymmetric.ed448")
ed25519 = LazyModule("cryptography.hazmat.primitives.asymmetric.ed25519")
rsa = LazyModule("cryptography.hazmat.primitives.asymmetric.rsa")
x448 = LazyModule("cryptography.hazmat.primitives.asymmetric.x448")
x25519 = LazyModule("cryptography.hazmat.primitives.asymmetric.x25519")

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
    "certbot": (),
}
# Where certbot keeps a lineage (certbot(1), "Where are my certificates?"), under its
# configuration directory (tls_certbot_directory).
CERTBOT_FILES = {"key_file": "privkey.pem", "certificate_file": "fullchain.pem"}
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
                "(files on the host), 'certbot' (a certbot lineage), 'content' (PEM from the "
                "inventory) or 'selfsigned' (lab hosts only); see the role README"
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
        lineage = entry.get("lineage")
        if lineage is not None and source != "certbot":
            problems.append(f"{where}.lineage only applies to source 'certbot'")
        elif lineage is not None and not _NAME.match(str(lineage)):
            problems.append(
                f"{where}.lineage: {lineage!r} must be the name of a directory under "
                "live/ (letters, digits, '.', '_' or '-'), as 'certbot certificates' lists it"
            )
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


def certbot_lineage(entry):
    """The certbot lineage (the directory name under ``live/``) of a ``certbot`` entry: its
    ``lineage``, else its ``name``."""
    return str(entry.get("lineage") or entry["name"])


def certificate_files(entry, directory, certbot_directory="/etc/letsencrypt"):
    """Where a certificate entry lives on the host, and what Postfix's chain files list holds.

    ``path``: the admin's files, key first (smtpd_tls_chain_files wants each key before its
    chain). ``content``: one file holding key and chain, replaced in one atomic write so no
    smtpd ever reads a new key with an old certificate. ``selfsigned``: key and certificate
    files generated by community.crypto. ``certbot``: the lineage's ``privkey.pem`` and
    ``fullchain.pem`` are what is checked (``key_file``, ``certificate_file``); Postfix reads
    ``NAME.pem`` (``installed_file``), key and chain that the deploy hook (or the role) copies
    there in one atomic step once the pair is checked, so no smtpd reads a pair certbot is
    still replacing, or one that does not match.
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
    if source == "certbot":
        live = f"{str(certbot_directory).rstrip('/')}/live/{certbot_lineage(entry)}"
        combined = f"{directory}/{name}.pem"
        return {
            "key_file": f"{live}/{CERTBOT_FILES['key_file']}",
            "certificate_file": f"{live}/{CERTBOT_FILES['certificate_file']}",
            "chain_files": [combined],
            "installed_file": combined,
            "lineage": certbot_lineage(entry),
        }
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
    its files (with ``failed_when: false``: a missing file has no ``public_key``), or what
    :func:`certificate_facts` and :func:`public_key_facts` (or :func:`private_key_facts`)
    return for the same text; ``common_name`` and ``subject_alt_names`` are the entry's, or
    the role's defaults.
    """
    reasons = []
    want_type = "ECC" if entry.get("key_type", "rsa") == "ecdsa" else "RSA"
    key_public = (key or {}).get("public_key")
    if not key_public:
        reasons.append("no private key yet")
    else:
        # openssl_privatekey_info says "type" and "public_data"; the certificate facts say
        # "public_key_type" and "public_key_data": either shape is accepted.
        have_type = key.get("type") or key.get("public_key_type")
        data = key.get("public_data") or key.get("public_key_data") or {}
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


# What x509_certificate_info returns for a certificate, computed on the controller from the
# PEM text the runtime_info module read on the host (one module call for every file instead of
# two per certificate). Names and formats are community.crypto's (3.x, cryptography backend):
# the tls role and selfsigned_renewal read these facts exactly as they read the module's result.
CERTIFICATE_TIME_FORMAT = "%Y%m%d%H%M%SZ"
# The fingerprints computed (community.crypto returns every hashlib algorithm; the role reads
# sha256, sha1 is what older tools print).
FINGERPRINT_ALGORITHMS = ("sha1", "sha256")
# community.crypto's names (cryptography_oid_to_name) for distinguished name attributes that
# cryptography does not name, or names differently; any other unnamed one is its dotted OID.
_ATTRIBUTE_NAMES = {
    "0.9.2342.19200300.100.1.1": "userId",
    "0.9.2342.19200300.100.1.3": "rfc822Mailbox",
    "0.9.2342.19200300.100.1.44": "uniqueIdentifier",
    "1.2.840.113549.1.9.8": "unstructuredAddress",
    "2.5.4.13": "description",
    "2.5.4.18": "postOfficeBox",
    "2.5.4.19": "physicalDeliveryOfficeName",
    "2.5.4.20": "telephoneNumber",
    "2.5.4.41": "name",
    "2.5.4.43": "initials",
    "2.5.4.54": "dmdName",
    "2.5.4.72": "role",
    "2.5.4.97": "organizationIdentifier",
    "2.5.4.100": "dnsName",
}
# Short names in a dirName subject alternative name, as community.crypto writes them.
_ATTRIBUTE_SHORT_NAMES = {
    "commonName": "CN",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
    "streetAddress": "street",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "surname": "SN",
    "givenName": "GN",
    "userId": "UID",
    "domainComponent": "DC",
    "jurisdictionCountryName": "jurisdictionC",
    "jurisdictionLocalityName": "jurisdictionL",
    "jurisdictionStateOrProvinceName": "jurisdictionST",
}


def _need_cryptography(name):
    # Raised, not returned as "unreadable": an unreadable lab certificate is generated again.
    if not HAS_CRYPTOGRAPHY:  # pragma: no cover
        raise AnsibleFilterError(f"{name} needs the Python 'cryptography' package")


def _pem_bytes(pem):
    """The PEM text as bytes, or None when there is none (a missing file reads as null)."""
    if isinstance(pem, bytes):
        pem = pem.decode("utf-8", "replace")
    if not isinstance(pem, str) or not pem.strip():
        return None
    return pem.strip().encode("utf-8", "replace") + b"\n"


def _attribute_name(oid):
    name = _ATTRIBUTE_NAMES.get(oid.dotted_string) or getattr(oid, "_name", None)
    return oid.dotted_string if not name or name == "Unknown OID" else name


def _name_dict(name):
    """``{"commonName": ..., ...}``; a repeated attribute keeps its last value, as
    community.crypto's ``subject`` and ``issuer``."""
    return {_attribute_name(attr.oid): to_text(attr.value) for attr in name}


def _dn_escape(value):
    value = value.replace("\\", "\\\\")
    for char in (",", "+", "<", ">", ";", '"'):
        value = value.replace(char, f"\\{char}")
    value = value.replace("\0", "\\00")
    if value.startswith((" ", "#")):
        value = f"\\{value}"
    if value.endswith(" "):
        value = f"{value[:-1]}\\ "
    return value


def _general_name(name):
    """One subject alternative name as community.crypto writes it: ``DNS:mx1.example.org``,
    ``IP:192.0.2.1``, ``email:...``, ``URI:...``, ``dirName:...``, ``RID:...``,
    ``otherName:OID;hex`` (international names as they are encoded, not rewritten)."""
    if isinstance(name, x509.DNSName):
        return f"DNS:{name.value}"
    if isinstance(name, x509.IPAddress):
        value = name.value
        if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            return f"IP:{value.network_address.compressed}/{value.prefixlen}"
        return f"IP:{value.compressed}"
    if isinstance(name, x509.RFC822Name):
        return f"email:{name.value}"
    if isinstance(name, x509.UniformResourceIdentifier):
        return f"URI:{name.value}"
    if isinstance(name, x509.DirectoryName):
        parts = []
        for attr in reversed(list(name.value)):
            label = _attribute_name(attr.oid)
            parts.append(
                f"{_ATTRIBUTE_SHORT_NAMES.get(label, label)}={_dn_escape(to_text(attr.value))}"
            )
        return "dirName:" + ",".join(parts)
    if isinstance(name, x509.RegisteredID):
        return f"RID:{name.value.dotted_string}"
    if isinstance(name, x509.OtherName):
        return f"otherName:{name.type_id.dotted_string};{_colon_hex(name.value)}"
    return str(name)  # pragma: no cover - cryptography knows no other kind


def _colon_hex(data):
    text = data.hex()
    return ":".join(text[i : i + 2] for i in range(0, len(text), 2))


def _fingerprints(data):
    return {algo: _colon_hex(hashlib.new(algo, data).digest()) for algo in FINGERPRINT_ALGORITHMS}


def _utc(moment):
    return moment.replace(tzinfo=datetime.UTC) if moment.tzinfo is None else moment


def _validity(cert):
    """notBefore and notAfter as aware UTC datetimes, whatever the cryptography version."""
    if hasattr(cert, "not_valid_after_utc"):  # cryptography >= 42
        return cert.not_valid_before_utc, cert.not_valid_after_utc
    return _utc(cert.not_valid_before), _utc(cert.not_valid_after)  # pragma: no cover


def _now(now):
    """``now`` as an aware UTC datetime: the current time when None, else a datetime (naive
    means UTC) or an ASN.1 time string ``YYYYMMDDHHMMSSZ``."""
    if now is None:
        return datetime.datetime.now(datetime.UTC)
    if isinstance(now, datetime.datetime):
        return _utc(now)
    try:
        return _utc(datetime.datetime.strptime(str(now), CERTIFICATE_TIME_FORMAT))
    except ValueError:
        raise AnsibleFilterError(
            f"now: {now!r} is not a time in the form YYYYMMDDHHMMSSZ (20270101120000Z)"
        ) from None


def _public_key_info(key):
    """``(public_key_type, public_data)`` named as community.crypto's publickey_info names
    them; ``public_data`` holds the sizes and curve, not the key's numbers."""
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", {"size": key.key_size, "exponent": key.public_numbers().e}
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", {"size": key.key_size}
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "ECC", {"curve": key.curve.name, "exponent_size": key.curve.key_size}
    for kind, name in (
        (x25519.X25519PublicKey, "X25519"),
        (x448.X448PublicKey, "X448"),
        (ed25519.Ed25519PublicKey, "Ed25519"),
        (ed448.Ed448PublicKey, "Ed448"),
    ):
        if isinstance(key, kind):
            return name, {}
    return f"unknown ({type(key)})", {}


def _spki_pem(key):
    """The SubjectPublicKeyInfo PEM of a public key: what x509_certificate_info and
    openssl_privatekey_info return as ``public_key``, and what ``openssl pkey -pubout`` prints."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def _key_facts(key):
    key_type, data = _public_key_info(key)
    return {
        "readable": True,
        "public_key": _spki_pem(key),
        "public_key_type": key_type,
        "type": key_type,
        "public_data": data,
    }


def _load_public_key(public_key_pem):
    """``(key, None)`` or ``(None, why)`` for a PEM public key (SubjectPublicKeyInfo, or an
    RSA PKCS#1 ``BEGIN RSA PUBLIC KEY``)."""
    data = _pem_bytes(public_key_pem)
    if data is None:
        return None, "no public key (the key file is missing or was not read)"
    try:
        return serialization.load_pem_public_key(data), None
    except (ValueError, TypeError, crypto_exceptions.UnsupportedAlgorithm) as exc:
        return None, f"not a PEM public key ({exc})"


def certificate_facts(pem, public_key_pem=None, warn_days=30, now=None):
    """What ``community.crypto.x509_certificate_info`` (with ``valid_at: {warn: +Nd}``)
    returns for a PEM certificate and the tls role reads, computed on the controller from the
    text ``runtime_info`` read (``contents``), so a no-change run needs no module call per
    certificate.

    Returns ``readable`` (True), ``subject`` and ``issuer`` (dicts by community.crypto's
    attribute names, ``commonName``...), ``subject_alt_name`` (``["DNS:...", "IP:..."]``, None
    without the extension, as the module), ``not_before`` and ``not_after``
    (``YYYYMMDDHHMMSSZ``), ``expired``, ``valid_at`` (``{"warn": valid at now + warn_days}``),
    ``public_key`` (SubjectPublicKeyInfo PEM), ``public_key_type`` (``RSA``, ``ECC``,
    ``Ed25519``...), ``public_key_data`` (``size`` and ``exponent``, or ``curve`` and
    ``exponent_size``), ``fingerprints`` (``sha1`` and ``sha256`` of the DER, ``aa:bb:...``),
    ``serial_number`` and ``key_matches``: whether ``public_key_pem`` (``openssl pkey
    -pubout`` of the private key, ``runtime_info``'s ``public_keys``) is the certificate's key;
    None when no public key is given. The first certificate of a chain is read; other PEM
    blocks before it (a private key) are skipped.

    Null, empty or unparsable text: ``{"readable": False, "msg": why}``, without
    ``public_key``, as the module's result under ``failed_when: false``.
    """
    _need_cryptography("tls_certificate_facts")
    data = _pem_bytes(pem)
    if data is None:
        return {"readable": False, "msg": "no certificate (the file is missing or was not read)"}
    try:
        cert = x509.load_pem_x509_certificate(data)
        not_before, not_after = _validity(cert)
        public = cert.public_key()
        der = cert.public_bytes(serialization.Encoding.DER)
    except (ValueError, TypeError, crypto_exceptions.UnsupportedAlgorithm) as exc:
        return {"readable": False, "msg": f"not a PEM certificate ({exc})"}
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        alt_names = [_general_name(name) for name in san.value]
    except x509.ExtensionNotFound:
        alt_names = None
    moment = _now(now)
    try:
        warn_at = moment + datetime.timedelta(days=int(warn_days))
    except (TypeError, ValueError):
        raise AnsibleFilterError(
            f"warn_days: {warn_days!r} is not a number of days (tls_expiry_warn_days)"
        ) from None
    key_type, key_data = _public_key_info(public)
    key_matches = None
    if _pem_bytes(public_key_pem) is not None:
        other, _why = _load_public_key(public_key_pem)
        key_matches = other is not None and _spki_pem(other) == _spki_pem(public)
    return {
        "readable": True,
        "subject": _name_dict(cert.subject),
        "issuer": _name_dict(cert.issuer),
        "subject_alt_name": alt_names,
        "not_before": not_before.strftime(CERTIFICATE_TIME_FORMAT),
        "not_after": not_after.strftime(CERTIFICATE_TIME_FORMAT),
        "expired": not_after < moment,
        "valid_at": {"warn": not_before <= warn_at <= not_after},
        "public_key": _spki_pem(public),
        "public_key_type": key_type,
        "public_key_data": key_data,
        "fingerprints": _fingerprints(der),
        "serial_number": cert.serial_number,
        "key_matches": key_matches,
    }


def public_key_facts(public_key_pem):
    """What the tls role reads from ``community.crypto.openssl_privatekey_info``, from the
    public half of the key (``openssl pkey -pubout`` on the host, ``runtime_info``'s
    ``public_keys``), so the private key never leaves the host.

    Returns ``readable`` (True), ``public_key`` (normalised SubjectPublicKeyInfo PEM, equal to
    the certificate facts' ``public_key`` when the key is the certificate's), ``type`` and
    ``public_data`` (as openssl_privatekey_info names them) and ``public_key_type`` (as the
    certificate facts name it); or ``{"readable": False, "msg": why}`` without ``public_key``.
    """
    _need_cryptography("tls_public_key_facts")
    key, why = _load_public_key(public_key_pem)
    if key is None:
        return {"readable": False, "msg": why}
    return _key_facts(key)


def private_key_facts(private_pem):
    """:func:`public_key_facts` of a PEM private key the controller holds already (source
    ``content``: ``key_content`` from the inventory). Returns only public facts; a message
    never quotes the key or the parser's words about it."""
    _need_cryptography("tls_private_key_facts")
    data = _pem_bytes(private_pem)
    if data is None:
        return {"readable": False, "msg": "no private key"}
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        return {
            "readable": False,
            "msg": "the private key is encrypted: Postfix cannot use a key with a passphrase",
        }
    except crypto_exceptions.UnsupportedAlgorithm:
        return {"readable": False, "msg": "the private key is of a type cryptography cannot read"}
    except ValueError:
        return {"readable": False, "msg": "not a PEM private key"}
    return _key_facts(key.public_key())


def _file_problems(index, files, states, host, fields=("certificate_path", "key_path")):
    """Missing files and a world-readable key of a ``path`` or ``certbot`` entry, from
    runtime_info's ``files``; ``fields`` name the certificate's and the key's field."""
    problems = []
    for field, path, is_key in (
        (fields[0], files["certificate_file"], False),
        (fields[1], files["key_file"], True),
    ):
        state = states.get(path) or {}
        if not state.get("exists"):
            hint = ""
            if "lineage" in files:
                hint = (
                    f": obtain the certificate first (certbot certonly --cert-name "
                    f"{files['lineage']} ..., see the tls role README)"
                )
            problems.append(
                f"tls_certificates[{index}].{field}: {path} does not exist on {host}{hint}"
            )
        elif is_key and int(state.get("mode") or "0", 8) & 0o004:
            problems.append(
                f"tls_certificates[{index}].{field}: {path} is readable by every user: make it "
                "0600 root, or 0640 to a group Postfix uses"
            )
    return problems


def inspection(certificates, directory, runtime, host, options=None):
    """Read every certificate entry and record what the role judges, from the one
    ``runtime_info`` read (``files``, ``contents``, ``public_keys``) and, for ``content``
    entries, from the inventory: ``{"inspected": [record, ...], "problems": [...]}``.

    ``options``: ``warn_days`` (tls_expiry_warn_days), ``common_name`` and
    ``subject_alt_names`` (the self-signed defaults), ``certbot_directory``
    (tls_certbot_directory), ``check_mode`` and ``now`` (tests). A ``certbot`` entry is judged
    by its lineage's live files, the pair the deploy hook copies for Postfix.
    A self-signed certificate that is missing or no longer current is recorded with its
    renewal reasons and judged by what it will be (its key matches, it is not expired); an
    entry whose files are missing or unreadable is a problem and is not recorded.
    """
    options = options or {}
    states = (runtime or {}).get("files") or {}
    contents = (runtime or {}).get("contents") or {}
    public_keys = (runtime or {}).get("public_keys") or {}
    inspected, problems = [], []
    for index, entry in enumerate(certificates):
        files = certificate_files(
            entry, directory, options.get("certbot_directory", "/etc/letsencrypt")
        )
        source = entry["source"]
        if source in ("path", "certbot"):
            found = _file_problems(
                index,
                files,
                states,
                host,
                ("lineage", "lineage") if source == "certbot" else ("certificate_path", "key_path"),
            )
            if found:
                problems.extend(found)
                continue
        if source == "content":
            fields = ("certificate_content", "key_content")
            key = private_key_facts(entry.get("key_content"))
            cert = certificate_facts(
                entry.get("certificate_content"),
                key.get("public_key"),
                options.get("warn_days", 30),
                options.get("now"),
            )
        else:
            fields = (
                ("lineage", "lineage") if source == "certbot" else ("certificate_path", "key_path")
            )
            key = public_key_facts(public_keys.get(files["key_file"]))
            cert = certificate_facts(
                contents.get(files["certificate_file"]),
                key.get("public_key"),
                options.get("warn_days", 30),
                options.get("now"),
            )
        common_name = entry.get("common_name") or options.get("common_name")
        alt_names = entry.get("subject_alt_names", options.get("subject_alt_names") or [])
        renewal = []
        if source == "selfsigned":
            renewal = selfsigned_renewal(entry, cert, key, common_name, alt_names)
        else:
            unreadable = [
                f"tls_certificates[{index}].{field}: not a usable {what} ({facts['msg']})"
                for field, what, facts in (
                    (fields[0], "certificate", cert),
                    (fields[1], "private key", key),
                )
                if not facts.get("readable")
            ]
            if unreadable:
                problems.extend(unreadable)
                continue
        inspected.append(
            {
                "index": index,
                "name": entry["name"],
                "source": source,
                "chain_files": files["chain_files"],
                "key_file": files["key_file"],
                "certificate_file": files["certificate_file"],
                "installed_file": files.get("installed_file"),
                "lineage": files.get("lineage"),
                "certificate_field": fields[0],
                "renewal": renewal,
                "check_mode": bool(options.get("check_mode")),
                "key_present": key.get("readable", False),
                "common_name": common_name,
                "alt_names": alt_names,
                "subject": cert.get("subject") or {},
                "subject_alt_name": cert.get("subject_alt_name") or [],
                "issuer": cert.get("issuer") or {},
                "not_after": cert.get("not_after", ""),
                "expired": not renewal and bool(cert.get("expired")),
                "expires_soon": not renewal and not (cert.get("valid_at") or {}).get("warn", True),
                "key_type": cert.get("public_key_type", ""),
                "key_matches": bool(renewal) or bool(cert.get("key_matches")),
                "fingerprint": (cert.get("fingerprints") or {}).get("sha256", ""),
            }
        )
    set_problems, warnings = _judge_set(inspected, options)
    return {"inspected": inspected, "problems": problems + set_problems, "warnings": warnings}


def _judge_set(inspected, options):
    """The certificates as a set: keys that are not their certificate's, two entries with one
    key algorithm (Postfix uses one certificate per algorithm), expired ones (a problem unless
    ``expired_action`` is ``warn``); and the warnings printed on every run."""
    problems = []
    for entry in inspected:
        if not entry["key_matches"]:
            fields = {
                "content": "key_content and certificate_content",
                "certbot": f"privkey.pem and fullchain.pem of lineage {entry.get('lineage')}",
            }.get(entry["source"], "key_path and certificate_path")
            problems.append(
                f"tls_certificates[{entry['index']}] ({entry['name']}): the private key does not "
                f"match the certificate (subject {entry['subject'].get('commonName', '?')}): "
                f"check {fields}"
            )
    current = [entry for entry in inspected if not entry["renewal"]]
    types = [entry["key_type"] for entry in current]
    if len(types) != len(set(types)):
        pairs = ", ".join(f"{entry['name']}={entry['key_type']}" for entry in current)
        problems.append(
            "tls_certificates: Postfix uses one certificate per key algorithm, these entries "
            f"share one: {pairs}"
        )
    if options.get("expired_action", "fail") == "fail":
        problems.extend(
            f"tls_certificates[{entry['index']}] ({entry['name']}): the certificate expired "
            f"({entry['not_after']}). Renew it, or set tls_expired_action to warn to go on anyway"
            for entry in inspected
            if entry["expired"]
        )
    warnings = [
        f"WARNING: tls_certificates[{entry['index']}] ({entry['name']}) "
        + ("EXPIRED" if entry["expired"] else f"expires within {options.get('warn_days', 30)} days")
        + f" (notAfter {entry['not_after']})."
        for entry in inspected
        if entry["expires_soon"]
    ]
    warnings += [
        f"LAB ONLY: tls_certificates[{entry['index']}] ({entry['name']}) is a self-signed "
        f"certificate for {entry['subject'].get('commonName', '(not generated yet)')}. Other MTAs "
        "accept it for opportunistic TLS on port 25, mail clients on 587/465 will not trust it. "
        "Use source 'path' or 'content' with a CA-issued certificate in production."
        for entry in inspected
        if entry["source"] == "selfsigned"
    ]
    return problems, warnings


def inspection_paths(certificates, directory, certbot_directory="/etc/letsencrypt"):
    """What :func:`inspection` needs ``runtime_info`` to read: ``files`` (state of every
    certificate and key file), ``contents`` (the certificates, public) and ``public_keys``
    (the keys' public halves). ``content`` entries are read from the inventory; ``certbot``
    entries from their lineage's live files."""
    on_host = [
        certificate_files(entry, directory, certbot_directory)
        for entry in certificates
        if entry["source"] != "content"
    ]
    return {
        "files": [
            path for files in on_host for path in (files["certificate_file"], files["key_file"])
        ],
        "contents": [files["certificate_file"] for files in on_host],
        "public_keys": [files["key_file"] for files in on_host],
    }


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
    lineage = f" copied from certbot lineage {entry['lineage']}" if entry.get("lineage") else ""
    return (
        f"{entry['name']} ({entry['source']}{lab}): {entry.get('key_type', '?')} key, "
        f"CN={subject}, {state} until {entry.get('not_after', '?')}, "
        f"files {', '.join(entry.get('chain_files', []))}{lineage}"
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
        timeout = _MAIN_CF.render_duration(
            settings["session_cache_timeout"], "tls_session_cache_timeout"
        )
    except _MAIN_CF.ConfigError as exc:
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
        added = _MASTER_CF.submission_services(
            {
                name: {"enabled": True, "options": settings.get(f"{name}_options")}
                for name in services
            },
            settings["submission_restrictions"],
            prefix="tls_",
        )
    except _MAIN_CF.ConfigError as exc:
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
