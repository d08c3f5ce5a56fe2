# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Debian's stock master.cf, one definition per Postfix version
(plugins/plugin_utils/_stock_master_cf.py), against the real files Debian installs."""

from __future__ import annotations

import pathlib
import re

import pytest
import yaml

from ansible_collections.sbs.postfix.plugins.module_utils._postconf import (
    parse_master_cf,
    service_signature,
)
from ansible_collections.sbs.postfix.plugins.plugin_utils._main_cf import ConfigError
from ansible_collections.sbs.postfix.plugins.plugin_utils._master_cf import (
    merge_master,
    service_lines,
)
from ansible_collections.sbs.postfix.plugins.plugin_utils._stock_master_cf import (
    STOCK,
    parse_services,
    stock_services,
)

ROOT = pathlib.Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "tests" / "unit" / "fixtures" / "postconf"
SERVER_VARS = ROOT / "roles" / "server" / "vars"
# Debian release -> (the master.cf it installs, the role's vars file for it).
RELEASES = {
    "12": ("debian12-master.cf", "Debian.yml"),
    "13": ("debian13-master.cf", "Debian_13.yml"),
}
PIPE_EXAMPLES = ["maildrop", "uucp", "ifmail", "bsmtp", "scalemail-backend", "mailman"]


def _as_postfix_reads_it(services):
    """Render services the way the server role writes master.cf, and parse that back."""
    text = "\n".join(line for service in services for line in service_lines(service)) + "\n"
    parsed, errors = parse_master_cf(text)
    assert errors == []
    return parsed


def _role_version(release):
    """The Postfix version the server role's vars file asks the stock services for."""
    with open(SERVER_VARS / RELEASES[release][1], encoding="utf-8") as handle:
        expression = yaml.safe_load(handle)["__server_master_services_stock"]
    match = re.fullmatch(
        r"\{\{ '([0-9.]+)' \| sbs\.postfix\.postfix_stock_services \}\}", expression
    )
    assert match, f"{RELEASES[release][1]}: {expression!r}"
    return match.group(1)


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_the_role_starts_from_the_master_cf_debian_installs(release):
    """What the server role receives for a release is the master.cf that release installs:
    same services, same order, every field, option and argument."""
    with open(FIXTURES / RELEASES[release][0], encoding="utf-8") as handle:
        debian, errors = parse_master_cf(handle.read())
    assert errors == []
    ours = _as_postfix_reads_it(stock_services(_role_version(release)))
    assert list(ours) == list(debian)
    for key, entry in debian.items():
        assert service_signature(ours[key]) == service_signature(entry), key
        assert ours[key]["options"] == entry["options"], key


def test_postfix_3_10_is_3_7_plus_its_differences():
    old = {f"{s['name']}/{s['type']}": s for s in STOCK["3.7"]}
    new = {f"{s['name']}/{s['type']}": s for s in STOCK["3.10"]}
    assert sorted(set(old) - set(new)) == sorted(f"{name}/unix" for name in PIPE_EXAMPLES)
    assert set(new) <= set(old)
    changed = [key for key in new if new[key] != old[key]]
    assert changed == ["relay/unix"]
    assert new["relay/unix"]["options"]["syslog_name"].startswith("${multi_instance_name?")


def test_service_shape_is_the_one_the_role_took_from_yaml():
    assert STOCK["3.7"][:2] == [
        {"name": "smtp", "type": "inet", "private": False, "chroot": True, "command": "smtpd"},
        {
            "name": "pickup",
            "type": "unix",
            "private": False,
            "chroot": True,
            "wakeup": 60,
            "maxproc": 1,
            "command": "pickup",
        },
    ]
    tlsmgr = next(s for s in STOCK["3.7"] if s["name"] == "tlsmgr")
    assert tlsmgr["wakeup"] == "1000?"
    maildrop = next(s for s in STOCK["3.7"] if s["name"] == "maildrop")
    assert maildrop["args"] == ["flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}"]
    assert maildrop["unpriv"] is False


def test_every_stock_service_passes_the_merge():
    for version in STOCK:
        merged = merge_master(stock_services(version))
        assert len(merged) == len(STOCK[version])


@pytest.mark.parametrize(
    ("version", "release"),
    [("3.7", "3.7"), ("3.7.11", "3.7"), ("3.10.13", "3.10"), (" 3.10 ", "3.10")],
)
def test_stock_services_by_version(version, release):
    assert stock_services(version) == STOCK[release]


def test_stock_services_returns_a_copy():
    services = stock_services("3.7")
    services[0]["command"] = "postscreen"
    services.pop()
    assert STOCK["3.7"][0]["command"] == "smtpd"
    assert len(stock_services("3.7")) == 31


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("3.8", r"no stock master.cf for Postfix 3.8. Allowed: 3.7, 3.10"),
        (3.1, r"3.1 is a float. Allowed: a version string"),
        (None, r"is a NoneType"),
    ],
)
def test_stock_services_refuses(version, message):
    with pytest.raises(ConfigError, match=message):
        stock_services(version)


def test_parse_services():
    assert parse_services(
        "relay     unix  -       -       y       -       -       smtp\n"
        "        -o syslog_name=postfix/$service_name\n"
        "        -o smtp_helo_timeout=5\n"
        "bsmtp     unix  -       n       n       -       -       pipe\n"
        "  flags=Fq. user=bsmtp argv=/usr/lib/bsmtp/bsmtp -t$nexthop -f$sender $recipient\n"
    ) == [
        {
            "name": "relay",
            "type": "unix",
            "chroot": True,
            "command": "smtp",
            "options": {"syslog_name": "postfix/$service_name", "smtp_helo_timeout": "5"},
        },
        {
            "name": "bsmtp",
            "type": "unix",
            "unpriv": False,
            "chroot": False,
            "command": "pipe",
            "args": [
                "flags=Fq. user=bsmtp argv=/usr/lib/bsmtp/bsmtp -t$nexthop -f$sender $recipient"
            ],
        },
    ]
