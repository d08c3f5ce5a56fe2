#!/usr/bin/env python3
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verify a DKIM-signed message from the sink with dkimpy, without DNS.

usage: verify_dkim.py MESSAGE PUBLIC_KEY_PEM ZONE_FILE

The key record dkimpy sees is built here from the public key (independently of the role),
and separately taken from the zone snippet the role wrote; the message must verify against
both, and must fail once its body is altered. Prints one JSON object.
"""

from __future__ import annotations

import base64
import json
import re
import sys

import dkim
from cryptography.hazmat.primitives import serialization


def main():
    message_path, public_path, zone_path = sys.argv[1:4]
    with open(message_path, "rb") as handle:
        raw = handle.read()
    # smtp-sink writes LF line ends and prepends its own trace lines (X-Client-*, Received)
    # above the headers Postfix sent; they are not signed and do not disturb verification.
    message = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    with open(public_path, "rb") as handle:
        public = serialization.load_pem_public_key(handle.read())
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    independent = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)

    signature = re.search(rb"^DKIM-Signature:(.*?)\r\n(?=\S)", message, re.M | re.S)
    tags = {}
    if signature:
        for part in re.sub(rb"\s+", b"", signature.group(1)).split(b";"):
            if b"=" in part:
                key, value = part.split(b"=", 1)
                tags[key.decode()] = value.decode()
    selector, domain = tags.get("s", ""), tags.get("d", "")
    name = f"{selector}._domainkey.{domain}"

    with open(zone_path, encoding="utf-8") as handle:
        zone = handle.read()
    line = next((line for line in zone.splitlines() if line.startswith(name + ".")), "")
    published = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', line)).encode()

    def resolver(record):
        def dnsfunc(qname, timeout=5):
            return record if qname.decode().rstrip(".") == name else None

        return dnsfunc

    head, _, body = message.partition(b"\r\n\r\n")
    altered = head + b"\r\n\r\n" + body.replace(b"e", b"E", 1)
    result = {
        "signed": signature is not None,
        "d": domain,
        "s": selector,
        "c": tags.get("c", ""),
        "h": tags.get("h", ""),
        "record_from_zone_file": published.decode(),
        "verifies_with_independent_record": bool(
            signature and dkim.verify(message, dnsfunc=resolver(independent))
        ),
        "verifies_with_role_record": bool(
            signature and published and dkim.verify(message, dnsfunc=resolver(published))
        ),
        "altered_body_verifies": bool(
            signature and dkim.verify(altered, dnsfunc=resolver(independent))
        ),
        "body_altered": altered != message,
    }
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
