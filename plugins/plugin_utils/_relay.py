# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The server role's authenticated relay: which credentials, TLS policies and sender-dependent
relays the inventory asks for, and what is wrong with it (private to sbs.postfix).

An SBS host usually sends everything through its provider (Microsoft 365, Google, an ISP, a
mail service) on port 587 with a user name and a password. Postfix's SMTP client finds the
password in ``smtp_sasl_password_maps`` by the next hop exactly as ``relayhost`` names it
(``[smtp.example.net]:587``), or by the sender's address when
``smtp_sender_dependent_authentication`` is on (SASL_README, "Enabling SASL authentication in
the Postfix SMTP/LMTP client"). The TLS level for that next hop comes from
``smtp_tls_policy_maps``, looked up with the same key (TLS_README, "TLS policy table"): a
per-destination ``encrypt`` (or stronger) means Postfix defers the mail rather than send a
password in clear, whatever ``smtp_tls_security_level`` says for other destinations.

Nothing here returns a password: the plan names the ``sasl_passwd`` keys and where each one's
credentials are in the inventory, and the role's template reads them from there, inside a task
that does not log. Problem texts never quote a user name or a password either.
"""

from __future__ import annotations

import re

RELAYHOST = "server_relayhost"
USERNAME = "server_relayhost_username"
PASSWORD = "server_relayhost_password"
LEVEL = "server_relayhost_tls_security_level"
SENDERS = "server_sender_relayhosts"
SENDER_MAP = "server_sender_dependent_relayhost_map"
EXTRA = "server_main_extra"

# TLS levels a password may travel under (postconf(5), smtp_tls_security_level), weakest first.
# encrypt is the floor the issue and SASL_README's provider examples ask for; verify and secure
# also check the relay's certificate and need a CA the host trusts (smtp_tls_CAfile/CApath).
CREDENTIAL_LEVELS = ("encrypt", "verify", "secure")
LEVELS = ("none", "may", *CREDENTIAL_LEVELS)
DEFAULT_LEVEL = "encrypt"
SENDER_KEYS = ("relayhost", "username", "password", "tls_security_level")

# smtps: the relay expects TLS before the greeting, which needs smtp_tls_wrappermode on a
# transport of its own; this role speaks STARTTLS to relayhost, so such a relay never answers.
_WRAPPER_PORTS = ("465", "smtps")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DOMAIN = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
_LOCAL = re.compile(r"^[^\s@<>\"]+$")
_TRUE = ("yes", "true", "on", "1")
_EXAMPLE = "one next hop such as [smtp.example.net]:587"
_SENDER = "an address user@example.com or a domain @example.com"
_FALSE = ("no", "false", "off", "0")


def _empty(value):
    return value is None or (isinstance(value, str) and value.strip() == "")


def _as_bool(value):
    """True, False, or None for a value that is not a Postfix boolean."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def nexthop_port(nexthop):
    """The port of a next hop (``[host]:port``, ``host:port``), or None."""
    text = nexthop.strip()
    if text.startswith("["):
        rest = text.partition("]")[2]
        return rest[1:] if rest.startswith(":") else None
    host, sep, port = text.rpartition(":")
    return port if sep and host and ":" not in host else None


def _nexthop_problems(where, value):
    if not isinstance(value, str) or _empty(value):
        return [f"{where}: {value!r} is not a next hop; allowed: {_EXAMPLE}"]
    if re.search(r"\s", value.strip()):
        return [f"{where}: {value!r} contains spaces; allowed: {_EXAMPLE}"]
    if nexthop_port(value) in _WRAPPER_PORTS:
        return [
            f"{where}: {value.strip()} is the smtps port (TLS from the first byte), which this "
            "role does not speak to a relay; allowed: the provider's submission port with "
            "STARTTLS, such as [smtp.example.net]:587"
        ]
    return []


def _credential_problems(where_user, where_password, username, password):
    """Problems of one user name and password pair (never quoting either)."""
    problems = []
    if _empty(username) != _empty(password):
        missing, given = (
            (where_user, where_password) if _empty(username) else (where_password, where_user)
        )
        return [f"{missing}: not set, but {given} is; allowed: both (to authenticate) or neither"]
    if _empty(username):
        return []
    if (
        not isinstance(username, str)
        or ":" in username
        or _CONTROL.search(username)
        or username != username.strip()
    ):
        problems.append(
            f"{where_user}: is not a user name Postfix can read from its password table; "
            "allowed: a string without colons, line breaks or spaces at either end"
        )
    if not isinstance(password, str) or _CONTROL.search(password) or password != password.strip():
        problems.append(
            f"{where_password}: is not a password Postfix can read from its password table; "
            "allowed: a string without line breaks or spaces at either end (quote it in YAML)"
        )
    return problems


def _level_problems(where, level, has_credentials):
    if level is None:
        return []
    if level not in LEVELS:
        return [f"{where}: {level!r} is not a TLS security level; allowed: {', '.join(LEVELS)}"]
    if has_credentials and level not in CREDENTIAL_LEVELS:
        return [
            f"{where}: {level!r} would let the password travel without TLS; allowed with "
            f"credentials: {', '.join(CREDENTIAL_LEVELS)}"
        ]
    return []


def _sender_key_problem(where, sender):
    if not isinstance(sender, str) or "@" not in sender:
        return f"{where}: {sender!r} is not a sender; allowed: {_SENDER}"
    local, _at, domain = sender.rpartition("@")
    if (local and not _LOCAL.match(local)) or not _DOMAIN.match(domain):
        return f"{where}: {sender!r} is not a sender; allowed: {_SENDER}"
    return None


class _Plan:
    def __init__(self):
        self.problems = []
        self.policy = {}  # nexthop (lower case) -> [nexthop, level, where]
        self.sasl = []  # [key, sender or None]
        self.senders = {}  # sender -> nexthop

    def want_policy(self, nexthop, level, where):
        key = nexthop.strip().lower()
        have = self.policy.get(key)
        if have and have[1] != level:
            self.problems.append(
                f"{where}: TLS level {level} for {nexthop.strip()} conflicts with {have[1]} "
                f"from {have[2]}; allowed: one level per relay"
            )
            return
        if not have:
            self.policy[key] = [nexthop.strip(), level, where]


def _default_relay(plan, relay, username, password, level):
    """The relayhost's credentials and TLS policy; ``relay`` is (value, variable naming it)."""
    relayhost, relay_where = relay
    plan.problems.extend(_credential_problems(USERNAME, PASSWORD, username, password))
    credentials = not _empty(username) and not _empty(password)
    plan.problems.extend(_level_problems(LEVEL, level, credentials or not _empty(username)))
    if _empty(relayhost):
        if not _empty(username) or not _empty(password):
            given = USERNAME if not _empty(username) else PASSWORD
            plan.problems.append(
                f"{given}: credentials for a relayhost that is not set ({relay_where} is empty); "
                f"allowed: set {RELAYHOST} to {_EXAMPLE}, or remove the credentials"
            )
        elif level is not None:
            plan.problems.append(
                f"{LEVEL}: a TLS level for a relayhost that is not set ({relay_where} is empty); "
                f"allowed: set {RELAYHOST}, or remove {LEVEL}"
            )
        return False
    found = _nexthop_problems(relay_where, relayhost)
    plan.problems.extend(found)
    if found:
        return False
    if credentials:
        plan.sasl.append([relayhost.strip(), None])
    if credentials or level is not None:
        plan.want_policy(
            relayhost, level or DEFAULT_LEVEL, LEVEL if level is not None else USERNAME
        )
    return credentials


def _sender_relay(plan, sender, entry, relayhost, sender_map):
    """One entry of server_sender_relayhosts; returns whether it has credentials."""
    where = f"{SENDERS}['{sender}']"
    problem = _sender_key_problem(where, sender)
    if problem:
        plan.problems.append(problem)
        return False
    if not isinstance(entry, dict):
        plan.problems.append(
            f"{where}: is not a dictionary; allowed: keys {', '.join(SENDER_KEYS)}"
        )
        return False
    unknown = sorted(str(key) for key in set(entry) - set(SENDER_KEYS))
    if unknown:
        plan.problems.append(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(SENDER_KEYS)}"
        )
        return False
    username, password = entry.get("username"), entry.get("password")
    level = entry.get("tls_security_level")
    found = _credential_problems(f"{where}.username", f"{where}.password", username, password)
    credentials = not _empty(username) and not _empty(password)
    found += _level_problems(
        f"{where}.tls_security_level", level, credentials or not _empty(username)
    )
    own = entry.get("relayhost")
    if _empty(own):
        if _empty(relayhost):
            found.append(
                f"{where}.relayhost: not set, and neither is {RELAYHOST}; allowed: the relay this "
                "sender's mail goes through, such as [smtp.example.net]:587"
            )
        elif not credentials:
            found.append(
                f"{where}: neither a relayhost nor credentials; allowed: relayhost, or username "
                "and password (for the default relayhost), or both"
            )
        nexthop = relayhost
    else:
        found += _nexthop_problems(f"{where}.relayhost", own)
        nexthop = own
        mapped = (sender_map or {}).get(sender)
        if mapped is not None and str(mapped).strip() != str(own).strip():
            found.append(
                f"{where}.relayhost: {own.strip()} conflicts with {mapped!r} in "
                f"{SENDER_MAP}['{sender}']; allowed: the sender in one of the two"
            )
    plan.problems.extend(found)
    if found:
        return False
    if not _empty(own):
        plan.senders[sender] = own.strip()
    if credentials:
        plan.sasl.append([sender, sender])
    if credentials or level is not None:
        plan.want_policy(
            nexthop, level or DEFAULT_LEVEL, f"{where}.tls_security_level" if level else where
        )
    return credentials


def _extra_problems(extra, credentials, sender_credentials):
    problems = []
    checks = [("smtp_sasl_auth_enable", credentials, "the relay credentials")]
    checks.append(
        (
            "smtp_sender_dependent_authentication",
            sender_credentials,
            f"the credentials in {SENDERS}",
        )
    )
    for name, needed, what in checks:
        if needed and name in extra and _as_bool(extra[name]) is not True:
            problems.append(
                f"{EXTRA}.{name}: {extra[name]!r} turns off what {what} need; "
                "allowed: yes, or leave it unset"
            )
    return problems


def relay_plan(  # noqa: PLR0917 - a filter: the inventory variables in the order of its docs
    relayhost=None,
    username=None,
    password=None,
    tls_level=None,
    senders=None,
    sender_map=None,
    main_extra=None,
):
    """What the inventory's authenticated relays need, without any secret.

    :param relayhost: ``server_relayhost`` (None: ``server_main_extra.relayhost`` if set).
    :param username: ``server_relayhost_username``.
    :param password: ``server_relayhost_password`` (only checked, never returned).
    :param tls_level: ``server_relayhost_tls_security_level`` (None: ``encrypt`` when the relay
        has credentials, else no policy entry).
    :param senders: ``server_sender_relayhosts``, ``{sender: {relayhost, username, password,
        tls_security_level}}``.
    :param sender_map: ``server_sender_dependent_relayhost_map`` (a sender in both must agree).
    :param main_extra: ``server_main_extra`` (it must not turn off what credentials need).
    :returns: ``{problems, credentials, sasl_entries, tls_policy, sender_relayhosts, main,
        reasons}``. ``sasl_entries`` is a list of ``[key, sender]``: the ``sasl_passwd`` key and
        the ``server_sender_relayhosts`` key whose credentials it holds (None: the relayhost's
        own, ``server_relayhost_username``/``server_relayhost_password``). ``tls_policy`` and
        ``sender_relayhosts`` are ``[key, value]`` entries of ``tls_policy`` and
        ``sender_dependent_relayhost``; ``main`` and ``reasons`` are the server role's
        contribution.
    """
    extra = main_extra if isinstance(main_extra, dict) else {}
    relay_where = RELAYHOST
    if relayhost is None and not _empty(extra.get("relayhost")):
        relayhost, relay_where = extra["relayhost"], f"{EXTRA}.relayhost"
    plan = _Plan()
    if tls_level is not None and tls_level not in LEVELS:
        plan.problems.extend(_level_problems(LEVEL, tls_level, False))
        tls_level = None
    credentials = _default_relay(plan, (relayhost, relay_where), username, password, tls_level)
    sender_credentials = False
    if senders is not None and not isinstance(senders, dict):
        plan.problems.append(
            f"{SENDERS}: is not a dictionary; allowed: "
            "{sender: {relayhost, username, password}}"
        )
        senders = {}
    for sender in sorted(senders or {}, key=str):
        sender_credentials |= _sender_relay(plan, sender, senders[sender], relayhost, sender_map)
    any_credentials = credentials or sender_credentials
    plan.problems.extend(_extra_problems(extra, any_credentials, sender_credentials))

    main, reasons = {}, {}
    if any_credentials:
        main = {
            "smtp_sasl_auth_enable": True,
            # Over TLS the plaintext mechanisms providers offer (PLAIN, LOGIN) are fine; without
            # TLS none is, should a session ever lack it (the TLS policy says it cannot).
            "smtp_sasl_tls_security_options": ["noanonymous"],
            "smtp_sasl_security_options": ["noplaintext", "noanonymous"],
        }
        reasons = {
            "smtp_sasl_auth_enable": "authenticate to the relay with the sasl_passwd credentials",
            "smtp_sasl_tls_security_options": "plaintext mechanisms (PLAIN, LOGIN) only inside TLS",
            "smtp_sasl_security_options": "no password mechanism without TLS",
            "smtp_tls_policy_maps": "TLS is required towards every relay that receives a password",
        }
        if sender_credentials:
            main["smtp_sender_dependent_authentication"] = True
            reasons["smtp_sender_dependent_authentication"] = (
                f"per-sender credentials ({SENDERS}) are looked up by sender address"
            )
    return {
        "problems": plan.problems,
        "credentials": any_credentials,
        "sasl_entries": plan.sasl,
        "tls_policy": [
            [nexthop, level] for nexthop, level, _source in sorted(plan.policy.values())
        ],
        "sender_relayhosts": sorted([sender, nexthop] for sender, nexthop in plan.senders.items()),
        "main": main,
        "reasons": reasons,
    }
