# Copyright: sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pure helpers for the ``sbs.postfix.dkim`` role: validation, OpenDKIM tables, DNS records.

Everything here runs on the controller and is free of side effects, so the role's decisions
(which key signs what, what to publish in DNS) are unit-tested without a host.

Private to the sbs.postfix collection: not a public API, may change without notice.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import posixpath
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.sbs.postfix.plugins.plugin_utils._lazy import LazyModule, available

# Imported by the filters that read a key only (plugin_utils/_lazy.py says why); ansible-core
# itself depends on cryptography.
HAS_CRYPTOGRAPHY = available("cryptography")
serialization = LazyModule("cryptography.hazmat.primitives.serialization")
ed25519 = LazyModule("cryptography.hazmat.primitives.asymmetric.ed25519")
rsa = LazyModule("cryptography.hazmat.primitives.asymmetric.rsa")

# RFC 1035 "LDH" label: letters, digits, hyphen; no hyphen at either end; 1-63 octets.
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# A TXT character-string holds at most 255 octets (RFC 1035 3.3.14).
TXT_STRING_MAX = 255
# RFC 8301: signers MUST use RSA keys of at least 1024 bits; 2048 is what we generate.
RSA_MIN_BITS = 1024
DMARC_POLICIES = ("none", "quarantine", "reject")
DEFAULT_PATTERN = "*@{domain}"


def _labels_valid(name, max_length=253):
    if not isinstance(name, str) or not name or len(name) > max_length:
        return False
    return all(_LABEL.match(label) for label in name.split("."))


def dkim_valid_selector(selector):
    """True when ``selector`` can be used as ``<selector>._domainkey.<domain>``.

    RFC 6376 3.1 allows dotted selectors; each part must be a DNS LDH label. Underscores,
    spaces and the like are rejected because many DNS providers refuse them.
    """
    return _labels_valid(selector, max_length=200)


def dkim_valid_domain(domain):
    """True for a fully qualified domain name of at least two LDH labels (no trailing dot)."""
    if not _labels_valid(domain):
        return False
    labels = domain.split(".")
    return len(labels) >= 2 and not labels[-1].isdigit()


def dkim_private_key_type(pem):
    """Return ``rsa`` or ``ed25519`` for a PEM private key OpenDKIM can sign with.

    Raises AnsibleFilterError (never quoting the key) for anything else: not PEM, encrypted,
    another algorithm, or an RSA key shorter than 1024 bits.
    """
    if not HAS_CRYPTOGRAPHY:  # pragma: no cover
        raise AnsibleFilterError("dkim_private_key_type needs the Python 'cryptography' package")
    if not isinstance(pem, (str, bytes)) or not pem:
        raise AnsibleFilterError("the private key is empty or not a string")
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data.strip() + b"\n", password=None)
    # "from None" everywhere here: a parser's own message could quote key material.
    except TypeError:
        raise AnsibleFilterError(
            "the private key is encrypted; OpenDKIM reads only unencrypted keys "
            "(keep it in Ansible Vault instead)"
        ) from None
    except Exception:
        raise AnsibleFilterError(
            "the private key is not a PEM-encoded RSA or Ed25519 private key "
            "(expected '-----BEGIN PRIVATE KEY-----' or '-----BEGIN RSA PRIVATE KEY-----')"
        ) from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < RSA_MIN_BITS:
            raise AnsibleFilterError(
                f"the RSA private key has {key.key_size} bits; RFC 8301 requires at least "
                f"{RSA_MIN_BITS} (2048 recommended)"
            )
        return "rsa"
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    raise AnsibleFilterError(
        f"the private key is a {type(key).__name__.lstrip('_')}; "
        "DKIM signs only with RSA or Ed25519"
    )


def dkim_record(public_pem, testing=False, hash_algorithms="sha256", strict_subdomains=False):
    """Build the DKIM key record (RFC 6376 3.6.1, RFC 8463) from a PEM public key.

    RSA keys publish the base64 SubjectPublicKeyInfo; Ed25519 keys publish the raw 32-byte
    key (RFC 8463 4.2), not the SPKI structure ``openssl pkey -pubout`` prints.
    """
    if not HAS_CRYPTOGRAPHY:  # pragma: no cover
        raise AnsibleFilterError("dkim_record needs the Python 'cryptography' package")
    data = public_pem.encode("ascii") if isinstance(public_pem, str) else public_pem
    try:
        key = serialization.load_pem_public_key(data.strip() + b"\n")
    except Exception as exc:
        raise AnsibleFilterError(f"dkim_record: not a PEM public key: {exc}") from exc
    if isinstance(key, rsa.RSAPublicKey):
        key_type = "rsa"
        raw = key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key_type = "ed25519"
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    else:
        raise AnsibleFilterError(f"dkim_record: unsupported key type {type(key).__name__}")
    tags = ["v=DKIM1"]
    if hash_algorithms:
        tags.append(f"h={hash_algorithms}")
    tags.append(f"k={key_type}")
    flags = [flag for flag, wanted in (("y", testing), ("s", strict_subdomains)) if wanted]
    if flags:
        tags.append("t=" + ":".join(flags))
    tags.append("p=" + base64.b64encode(raw).decode("ascii"))
    return "; ".join(tags)


def dkim_txt_split(value, size=TXT_STRING_MAX):
    """Split a TXT value into character-strings of at most ``size`` octets (default 255)."""
    size = int(size)
    if not 1 <= size <= TXT_STRING_MAX:
        raise AnsibleFilterError(f"dkim_txt_split: size must be 1-{TXT_STRING_MAX}, got {size}")
    if not isinstance(value, str):
        raise AnsibleFilterError("dkim_txt_split: expected a string")
    data = value.encode("utf-8")
    if not data:
        return [""]
    # Cut on octets, never inside a multi-byte character (DKIM records are ASCII anyway).
    chunks, start = [], 0
    while start < len(data):
        end = min(start + size, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1
        chunks.append(data[start:end].decode("utf-8"))
        start = end
    return chunks


def _quote(chunk):
    return '"' + chunk.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dkim_zone_line(name, value, ttl=None):
    """One zone-file TXT record with the value split into quoted 255-octet strings.

    ``name`` is written as given; pass it with a trailing dot for an absolute name.
    """
    strings = " ".join(_quote(chunk) for chunk in dkim_txt_split(value))
    ttl_part = f"\t{int(ttl)}" if ttl is not None else ""
    return f"{name}{ttl_part}\tIN\tTXT\t( {strings} )"


def _relayhost_mechanism(relayhost):
    """SPF mechanism for a Postfix ``relayhost`` value, or None.

    ``[host]:port`` means "connect to host" (an ``a:`` or ``ip4:``/``ip6:`` mechanism);
    a bare ``host`` means "look up the MX of host" in Postfix, hence ``mx:``.
    """
    if not relayhost:
        return None
    value = str(relayhost).strip()
    if value.startswith("["):
        host = value[1 : value.index("]")] if "]" in value else value[1:]
        bracketed = True
    else:
        host = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
        bracketed = False
    if host.lower().startswith("ipv6:"):
        host = host[5:]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        host = host.rstrip(".").lower()
        if not dkim_valid_domain(host):
            raise AnsibleFilterError(f"relayhost {relayhost!r} names no valid host") from None
        return f"a:{host}" if bracketed else f"mx:{host}"
    if not address.is_global:
        return None  # a relay on loopback or a private network is not what receivers see
    return f"ip{address.version}:{address.compressed}"


def dkim_public_addresses(addresses):
    """The globally routable unicast addresses among ``addresses`` (sorted, IPv4 first)."""
    result = set()
    for item in addresses or []:
        try:
            address = ipaddress.ip_address(str(item).split("%", 1)[0])
        except ValueError:
            continue
        if address.is_global and not address.is_multicast:
            result.add(address)
    return [str(a) for a in sorted(result, key=lambda a: (a.version, int(a)))]


def dkim_spf_record(addresses, relayhost=None, mechanisms=None, qualifier="~all"):
    """Suggested SPF record: the host's public addresses, the relay host, extra mechanisms."""
    if qualifier not in ("-all", "~all", "?all"):
        raise AnsibleFilterError(
            f"SPF 'all' qualifier must be -all, ~all or ?all, not {qualifier!r}"
        )
    parts = ["v=spf1"]
    parts += [f"ip{ipaddress.ip_address(a).version}:{a}" for a in dkim_public_addresses(addresses)]
    relay = _relayhost_mechanism(relayhost)
    if relay:
        parts.append(relay)
    for mechanism in mechanisms or []:
        if mechanism not in parts:
            parts.append(str(mechanism))
    parts.append(qualifier)
    return " ".join(parts)


def _mailto(uris, variable):
    result = []
    for value in uris or []:
        uri = str(value).strip()
        target = uri[7:] if uri.lower().startswith("mailto:") else uri
        if "@" not in target or any(c in target for c in " ;,"):
            raise AnsibleFilterError(f"{variable}: {uri!r} is not a mail address")
        result.append("mailto:" + target)
    return result


def dkim_dmarc_record(
    policy="none",
    rua=None,
    ruf=None,
    *,
    subdomain_policy=None,
    pct=None,
    adkim=None,
    aspf=None,
    rua_variable="rua",
    ruf_variable="ruf",
):
    """DMARC record (RFC 7489 6.3). ``p=none`` with reports is the safe first rollout.

    ``rua_variable`` and ``ruf_variable`` name the addresses' inventory variables in messages.
    """
    if policy not in DMARC_POLICIES:
        raise AnsibleFilterError(f"DMARC policy must be one of {DMARC_POLICIES}, not {policy!r}")
    tags = ["v=DMARC1", f"p={policy}"]
    if subdomain_policy:
        if subdomain_policy not in DMARC_POLICIES:
            raise AnsibleFilterError(f"DMARC subdomain policy {subdomain_policy!r} is not valid")
        tags.append(f"sp={subdomain_policy}")
    for tag, value in (("adkim", adkim), ("aspf", aspf)):
        if value:
            if value not in ("r", "s"):
                raise AnsibleFilterError(f"DMARC {tag} must be 'r' or 's', not {value!r}")
            tags.append(f"{tag}={value}")
    if pct is not None and int(pct) != 100:
        if not 0 <= int(pct) <= 100:
            raise AnsibleFilterError(f"DMARC pct must be 0-100, not {pct}")
        tags.append(f"pct={int(pct)}")
    for tag, uris, variable in (("rua", rua, rua_variable), ("ruf", ruf, ruf_variable)):
        if uris:
            tags.append(f"{tag}=" + ",".join(_mailto(uris, variable)))
    return "; ".join(tags)


def dkim_policy_problems(
    dmarc_policy,
    rua,
    ruf,
    spf_mechanisms,
    spf_qualifier,
    *,
    rua_variable="dkim_dmarc_rua",
    ruf_variable="dkim_dmarc_ruf",
):
    """What :func:`dkim_dmarc_record` and :func:`dkim_spf_record` refuse in the role's DMARC and
    SPF settings, one message each: the role reports both in one run, not the first only."""
    checks = (
        lambda: dkim_dmarc_record(
            dmarc_policy, rua, ruf, rua_variable=rua_variable, ruf_variable=ruf_variable
        ),
        # The host's addresses and relay host are not known yet; the setting alone is judged.
        lambda: dkim_spf_record([], None, spf_mechanisms, spf_qualifier),
    )
    problems = []
    for check in checks:
        try:
            check()
        except AnsibleFilterError as exc:
            problems.append(exc.message)
    return problems


def dkim_trusted_hosts(mynetworks, extra=None):
    """OpenDKIM peer entries for Postfix ``mynetworks`` plus localhost.

    Accepts the ``postconf -h mynetworks`` string or a list. Postfix's ``[ipv6]/len`` form
    loses its brackets; lookup tables (``hash:...``) and files (``/path``) cannot be
    translated and are skipped: list such networks in ``extra``.
    """
    if isinstance(mynetworks, str):
        items = re.split(r"[\s,]+", mynetworks)
    else:
        items = list(mynetworks or [])
    items += list(extra or [])
    result = ["127.0.0.1", "::1", "localhost"]
    for value in items:
        item = str(value).strip()
        if not item:
            continue
        if _is_network(item):
            network = ipaddress.ip_network(item.replace("[", "").replace("]", ""), strict=False)
            entry = (
                str(network.network_address) if network.num_addresses == 1 else network.compressed
            )
        elif item.startswith("/") or ":" in item:
            continue  # a lookup table or a file: nothing OpenDKIM can read
        else:
            entry = item.lower()
        if entry not in result:
            result.append(entry)
    return result


def _is_network(value):
    try:
        ipaddress.ip_network(value.replace("[", "").replace("]", ""), strict=False)
    except ValueError:
        return False
    return True


def _selectors(entry):
    selectors = entry.get("selectors")
    if selectors is None:
        active = entry.get("active_selector")
        selectors = [{"name": active}] if active is not None else []
    return selectors


def _key_file(key_dir, domain, selector):
    if selector.get("key_file"):
        return posixpath.normpath(selector["key_file"])
    return posixpath.normpath(posixpath.join(key_dir, domain, f"{selector.get('name')}.private"))


def dkim_config_errors(
    domains,
    signing_table=None,
    key_dir="/etc/dkimkeys",
    domains_var="dkim_domains",
    table_var="dkim_signing_table",
):
    """Every problem in the role's input, each naming the variable; an empty list means valid.

    Supplied private keys are checked for type only; no message ever contains key material.
    """
    errors = []
    if not isinstance(domains, list):
        return [f"{domains_var} must be a list of domains, got {type(domains).__name__}"]
    known = {}
    key_files = {}
    for i, entry in enumerate(domains):
        where = f"{domains_var}[{i}]"
        if not isinstance(entry, dict):
            errors.append(f"{where} must be a dict with 'domain' and 'active_selector'")
            continue
        domain = entry.get("domain")
        if not dkim_valid_domain(domain):
            errors.append(f"{where}.domain {domain!r} is not a valid domain name")
            continue
        domain = domain.lower()
        if domain in known:
            errors.append(f"{where}.domain {domain!r} is already configured in {known[domain]}")
            continue
        known[domain] = where
        selectors = _selectors(entry)
        names = []
        for j, selector in enumerate(selectors):
            swhere = f"{where}.selectors[{j}]"
            if not isinstance(selector, dict):
                errors.append(f"{swhere} must be a dict with at least 'name'")
                continue
            name = selector.get("name")
            if entry.get("selectors") is None:
                swhere = f"{where}.active_selector"
            if not dkim_valid_selector(name):
                errors.append(
                    f"{swhere} {name!r} is not a valid DKIM selector: use DNS labels of letters, "
                    "digits and inner hyphens, separated by dots"
                )
                continue
            if name in names:
                errors.append(f"{swhere}.name {name!r} appears twice for {domain}")
                continue
            names.append(name)
            bits = selector.get("bits")
            if bits is not None and not (isinstance(bits, int) and 1024 <= bits <= 4096):
                errors.append(f"{swhere}.bits must be an integer from 1024 to 4096, got {bits!r}")
            if selector.get("private_key") is not None:
                try:
                    dkim_private_key_type(selector["private_key"])
                except AnsibleFilterError as exc:
                    errors.append(f"{swhere}.private_key: {exc.message}")
            path = _key_file(key_dir, domain, selector)
            if selector.get("private_key") is None and not path.endswith(".private"):
                errors.append(
                    f"{swhere}.key_file {path!r} must end in '.private' when the role generates "
                    "the key (opendkim-genkey names it <name>.private); or supply private_key"
                )
            elif not path.startswith("/"):
                errors.append(f"{swhere}.key_file {path!r} must be an absolute path")
            elif path in key_files:
                errors.append(
                    f"{swhere} uses key file {path} already used by {key_files[path]}: every "
                    "domain and selector needs its own key file"
                )
            else:
                key_files[path] = swhere
        active = entry.get("active_selector")
        if active is None:
            errors.append(f"{where}.active_selector is required (the selector that signs)")
        elif entry.get("selectors") is not None and active not in names:
            errors.append(
                f"{where}.active_selector {active!r} is not one of {where}.selectors ({names})"
            )
    for k, row in enumerate(signing_table or []):
        where = f"{table_var}[{k}]"
        if not isinstance(row, dict):
            errors.append(f"{where} must be a dict with 'pattern' and 'domain'")
            continue
        pattern = row.get("pattern")
        if not isinstance(pattern, str) or not pattern or re.search(r"\s", pattern):
            errors.append(
                f"{where}.pattern {pattern!r} must be a non-empty pattern like *@example.org"
            )
        domain = str(row.get("domain") or "").lower()
        if domain not in known:
            errors.append(
                f"{where}.domain {row.get('domain')!r} is not in {domains_var}: add the domain "
                "there (with its selector) or fix the entry"
            )
    return errors


def dkim_plan(domains, signing_table=None, key_dir="/etc/dkimkeys", default_bits=2048):
    """What the role puts on the host, from validated input.

    Returns ``keys`` (one per domain and selector: domain, selector, key_file, key_dir, bits,
    bits_variable, supplied, active, key_name, record_name), ``key_sizes`` (``{value,
    variable}`` for each key the role generates), ``key_table`` and ``signing_table`` rows.
    Only active selectors enter the tables, so a staged key never signs.
    """
    keys, key_table, signing = [], [], []
    for d_index, entry in enumerate(domains):
        domain = entry["domain"].lower()
        active = entry["active_selector"]
        for s_index, selector in enumerate(_selectors(entry)):
            path = _key_file(key_dir, domain, selector)
            key = {
                "domain": domain,
                "selector": selector["name"],
                "key_file": path,
                "key_dir": posixpath.dirname(path),
                # opendkim-genkey -s NAME writes NAME.private in its -D directory
                "genkey_name": posixpath.basename(path).removesuffix(".private"),
                "bits": int(selector.get("bits") or default_bits),
                # Where the size came from, for messages about it.
                "bits_variable": (
                    f"dkim_domains[{d_index}].selectors[{s_index}].bits"
                    if selector.get("bits")
                    else "dkim_key_bits"
                ),
                "supplied": selector.get("private_key") is not None,
                "active": selector["name"] == active,
                "key_name": f"{selector['name']}._domainkey.{domain}",
                "record_name": f"{selector['name']}._domainkey.{domain}",
            }
            keys.append(key)
            if key["active"]:
                key_table.append(
                    {
                        "name": key["key_name"],
                        "value": f"{domain}:{selector['name']}:{path}",
                    }
                )
    # Explicit rows first: refile tables are searched in order, first match wins.
    by_domain = {e["domain"].lower(): e for e in domains}
    for row in signing_table or []:
        domain = row["domain"].lower()
        name = f"{by_domain[domain]['active_selector']}._domainkey.{domain}"
        signing.append({"pattern": row["pattern"], "key_name": name})
    for entry in domains:
        domain = entry["domain"].lower()
        name = f"{entry['active_selector']}._domainkey.{domain}"
        patterns = [DEFAULT_PATTERN.format(domain=domain)]
        if entry.get("subdomains"):
            patterns.append("*@*." + domain)
        for pattern in patterns:
            if all(row["pattern"] != pattern for row in signing):
                signing.append({"pattern": pattern, "key_name": name})
    # The keys the role generates, each size with the variable that set it: the settings the
    # risk rules judge (postfix_risks, weak_dkim_key).
    key_sizes = [
        {"value": key["bits"], "variable": key["bits_variable"]}
        for key in keys
        if not key["supplied"]
    ]
    return {"keys": keys, "key_table": key_table, "signing_table": signing, "key_sizes": key_sizes}


def _normalise_pem(pem):
    return pem.strip() + "\n"


def dkim_supplied_keys(
    domains, key_dir="/etc/dkimkeys", with_content=True, domains_var="dkim_domains"
):
    """``key_file``, ``sha1`` and (with_content) ``content`` of every supplied key.

    ``content`` is what the role writes (PEM with one trailing newline): use it only under
    ``no_log``. ``sha1`` matches ``ansible.builtin.stat``'s checksum of that file; ``variable``
    names the inventory entry (``dkim_domains[0].selectors[1]``).
    """
    result = []
    for i, entry in enumerate(domains):
        for j, selector in enumerate(_selectors(entry)):
            if selector.get("private_key") is None:
                continue
            content = _normalise_pem(str(selector["private_key"]))
            item = {
                "domain": entry["domain"].lower(),
                "selector": selector["name"],
                "variable": f"{domains_var}[{i}].selectors[{j}]",
                "key_file": _key_file(key_dir, entry["domain"].lower(), selector),
                # SHA-1 only because it is what ansible.builtin.stat reports as checksum.
                "sha1": hashlib.sha1(content.encode()).hexdigest(),
            }
            if with_content:
                item["content"] = content
            result.append(item)
    return result


def _report_addresses(values, domain):
    return [str(v).replace("{domain}", domain) for v in values or []]


def _public_key_results(public_keys, keys):
    """runtime_info's ``{key_file: PEM}`` in the shape of the command's registered results."""
    if not isinstance(public_keys, dict):
        return public_keys or []
    results = []
    for key in keys or []:
        pem = public_keys.get(key["key_file"])
        results.append({"item": key, "stdout": pem or "", "rc": 0 if pem else 1})
    return results


def dkim_dns_records(
    domains,
    public_keys,
    spf_record,
    *,
    dmarc_policy="none",
    dmarc_rua=None,
    dmarc_ruf=None,
    ttl=None,
    testing=False,
    keys=None,
):
    """Every record to publish, per domain: ``dkim`` (one per selector), ``spf``, ``dmarc``.

    ``public_keys`` are the registered results of reading each planned key's public half:
    dicts with ``item`` (a ``dkim_plan`` key) and ``stdout`` (PEM); failed reads (``rc`` not
    0, e.g. a key not generated yet in check mode) are skipped. Or ``{key_file: PEM}`` as
    runtime_info's ``public_keys`` returns it, with ``keys`` the ``dkim_plan`` keys; a key
    without a PEM (null) is skipped. ``{domain}`` in DMARC report
    addresses is replaced by the domain; per-domain ``dmarc_policy``, ``dmarc_rua``,
    ``dmarc_ruf`` and ``testing`` override the defaults.
    """
    out = {}
    public_keys = _public_key_results(public_keys, keys)
    for entry in domains:
        domain = entry["domain"].lower()
        dkim_records = []
        for result in public_keys:
            item = result.get("item", {})
            if item.get("domain") != domain or result.get("rc", 0) != 0:
                continue
            value = dkim_record(result["stdout"], testing=entry.get("testing", testing))
            name = item["record_name"]
            dkim_records.append(
                {
                    "selector": item["selector"],
                    "active": item["active"],
                    "name": name,
                    "value": value,
                    "strings": dkim_txt_split(value),
                    "zone": dkim_zone_line(name + ".", value, ttl),
                }
            )

        dmarc = dkim_dmarc_record(
            entry.get("dmarc_policy", dmarc_policy),
            _report_addresses(entry.get("dmarc_rua", dmarc_rua), domain),
            _report_addresses(entry.get("dmarc_ruf", dmarc_ruf), domain),
        )
        out[domain] = {
            "dkim": dkim_records,
            "spf": {
                "name": domain,
                "value": spf_record,
                "zone": dkim_zone_line(domain + ".", spf_record, ttl),
            },
            "dmarc": {
                "name": "_dmarc." + domain,
                "value": dmarc,
                "zone": dkim_zone_line(f"_dmarc.{domain}.", dmarc, ttl),
            },
        }
    return out
