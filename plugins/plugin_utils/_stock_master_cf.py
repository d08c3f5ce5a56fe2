# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Debian's stock master.cf services, one definition per Postfix version.

Private to the sbs.postfix collection: not a public API, may change without notice.

The server role starts master.cf from these (its vars/Debian*.yml read them through the
``sbs.postfix.postfix_stock_services`` filter), and the unit tests compare them with the real
files in tests/unit/fixtures/postconf/. Each version is written the way master.cf writes it,
so it can be read side by side with Debian's file; a later version is the earlier one plus its
differences.
"""

from __future__ import annotations

import copy

from ansible_collections.sbs.postfix.plugins.plugin_utils._main_cf import fail

# Debian 12 (bookworm): /usr/share/postfix/master.cf.dist of postfix 3.7.11-0+deb12u1, without
# its comments.
_POSTFIX_3_7 = """\
smtp      inet  n       -       y       -       -       smtpd
pickup    unix  n       -       y       60      1       pickup
cleanup   unix  n       -       y       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       y       1000?   1       tlsmgr
rewrite   unix  -       -       y       -       -       trivial-rewrite
bounce    unix  -       -       y       -       0       bounce
defer     unix  -       -       y       -       0       bounce
trace     unix  -       -       y       -       0       bounce
verify    unix  -       -       y       -       1       verify
flush     unix  n       -       y       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       y       -       -       smtp
relay     unix  -       -       y       -       -       smtp
        -o syslog_name=postfix/$service_name
showq     unix  n       -       y       -       -       showq
error     unix  -       -       y       -       -       error
retry     unix  -       -       y       -       -       error
discard   unix  -       -       y       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       y       -       -       lmtp
anvil     unix  -       -       y       -       1       anvil
scache    unix  -       -       y       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
maildrop  unix  -       n       n       -       -       pipe
  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
uucp      unix  -       n       n       -       -       pipe
  flags=Fqhu user=uucp argv=uux -r -n -z -a$sender - $nexthop!rmail ($recipient)
ifmail    unix  -       n       n       -       -       pipe
  flags=F user=ftn argv=/usr/lib/ifmail/ifmail -r $nexthop ($recipient)
bsmtp     unix  -       n       n       -       -       pipe
  flags=Fq. user=bsmtp argv=/usr/lib/bsmtp/bsmtp -t$nexthop -f$sender $recipient
scalemail-backend unix -       n       n       -       2       pipe
  flags=R user=scalemail argv=/usr/lib/scalemail/bin/scalemail-store ${nexthop} ${user} ${extension}
mailman   unix  -       n       n       -       -       pipe
  flags=FRX user=list argv=/usr/lib/mailman/bin/postfix-to-mailman.py ${nexthop} ${user}
"""

# Debian 13 (trixie): /etc/postfix/master.cf of postfix 3.10. The relay service logs under the
# multi-instance name, and the pipe(8) examples are commented out.
_POSTFIX_3_10_CHANGED = """\
relay     unix  -       -       y       -       -       smtp
        -o syslog_name=${multi_instance_name?{$multi_instance_name}:{postfix}}/$service_name
"""
_POSTFIX_3_10_DROPPED = ("maildrop", "uucp", "ifmail", "bsmtp", "scalemail-backend", "mailman")

_FLAGS = {"y": True, "n": False}


def _field_number(text):
    return int(text) if text.isdigit() else text


def parse_services(text):
    """Services written as master.cf lines, as the dictionaries the server role takes.

    A field left at ``-`` is left out (Postfix's default); ``-o name=value`` lines become
    ``options``, other continuation lines ``args`` (one argument line each, as written).
    """
    services = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line[:1].isspace():
            words = line.split(None, 1)
            if words[0] == "-o":
                name, _sep, value = words[1].partition("=")
                services[-1].setdefault("options", {})[name] = value
            else:
                services[-1].setdefault("args", []).append(line.strip())
            continue
        name, kind, private, unpriv, chroot, wakeup, maxproc, command = line.split()
        service = {"name": name, "type": kind}
        for key, value in (("private", private), ("unpriv", unpriv), ("chroot", chroot)):
            if value != "-":
                service[key] = _FLAGS[value]
        for key, value in (("wakeup", wakeup), ("maxproc", maxproc)):
            if value != "-":
                service[key] = _field_number(value)
        service["command"] = command
        services.append(service)
    return services


def _derive(base, changed, dropped):
    """``base`` with the services in ``changed`` replaced in place and ``dropped`` left out."""
    replacements = {(s["name"], s["type"]): s for s in parse_services(changed)}
    return [replacements.get((s["name"], s["type"]), s) for s in base if s["name"] not in dropped]


_STOCK_3_7 = parse_services(_POSTFIX_3_7)
STOCK = {
    "3.7": _STOCK_3_7,
    "3.10": _derive(_STOCK_3_7, _POSTFIX_3_10_CHANGED, _POSTFIX_3_10_DROPPED),
}


def stock_services(version):
    """Debian's stock master.cf services for a Postfix version (``3.7``, ``3.10.13``).

    Returns a new list of service dictionaries each time.
    """
    if not isinstance(version, str):
        fail(
            "postfix_stock_services",
            f"{version!r} is a {type(version).__name__}",
            "a version string such as '3.7' or '3.10.13' (quoted: 3.10 as a number is 3.1)",
        )
    release = ".".join(version.strip().split(".")[:2])
    if release not in STOCK:
        fail(
            "postfix_stock_services",
            f"no stock master.cf for Postfix {version}",
            ", ".join(STOCK),
        )
    return copy.deepcopy(STOCK[release])
