# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/modules/postconf.py, mocked at ``run_command`` with real postconf output."""

from __future__ import annotations

import pathlib

import pytest
from ansible.module_utils import basic

from ansible_collections.sbs.postfix.plugins.module_utils._postconf import (
    master_entry_line,
    parse_master_cf,
)
from ansible_collections.sbs.postfix.plugins.modules import postconf
from ansible_collections.sbs.postfix.tests.unit.plugins.modules.utils import (
    run_module as run_module_main,
)

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "postconf"
POSTCONF_N = (FIXTURES / "debian12-postconf-n.txt").read_text()
MASTER = (FIXTURES / "debian12-master.cf").read_text()
SUBMISSION_M = (
    "submission inet  n       -       y       -       -       smtpd -o syslog_name=postfix/submission "
    "-o smtpd_tls_security_level=encrypt\n"
)


class FakePostconf:
    """Answers read-only postconf queries from real output; records editing commands."""

    def __init__(self):
        self.master = MASTER + SUBMISSION_M
        self.calls = []
        self.edit_stderr = ""

    def __call__(self, argv, **kwargs):
        assert kwargs.get("environ_update") == {"LANG": "C", "LC_ALL": "C"}
        assert argv[:3] == ["/usr/sbin/postconf", "-c", "/etc/postfix"]
        rest = argv[3:]
        self.calls.append(rest)
        services, _unused = parse_master_cf(self.master)
        if rest == ["-n"]:
            return 0, POSTCONF_N, ""
        if rest[0] == "-M" and len(rest) == 2:
            entry = services.get(rest[1])
            if entry is None:
                return 0, "", ""
            return 0, master_entry_line(entry) + "\n", ""
        if rest[0] == "-F" and len(rest) == 2:
            name, kind, field = rest[1].split("/")
            entry = services[f"{name}/{kind}"]
            value = (
                " ".join([entry["command"], *entry["args"]]) if field == "command" else entry[field]
            )
            return 0, f"{rest[1]} = {value}\n", ""
        if rest[0] == "-P" and len(rest) == 2:
            name, kind, parameter = rest[1].split("/")
            options = services[f"{name}/{kind}"]["options"]
            if parameter not in options:
                return 0, "", ""
            return 0, f"{rest[1]} = {options[parameter]}\n", ""
        if "-e" in rest or "-X" in rest:
            return 0, "", self.edit_stderr
        raise AssertionError(f"unexpected command {argv}")


@pytest.fixture
def fake(monkeypatch):
    fake = FakePostconf()

    def run_command(self, argv, **kwargs):
        return fake(argv, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(
        basic.AnsibleModule,
        "get_bin_path",
        lambda self, name, required=False, opt_dirs=None: f"/usr/sbin/{name}",
    )
    return fake


def run_module(args, capsys, check_mode=False, diff=False):
    return run_module_main(postconf.main, args, capsys, check_mode=check_mode, diff=diff)


def edits(fake):
    return [call for call in fake.calls if "-e" in call or "-X" in call]


# --- main.cf -----------------------------------------------------------------------------------


def test_set_new_parameter(fake, capsys):
    result = run_module({"name": "message_size_limit", "value": "52428800"}, capsys, diff=True)
    assert result["changed"] is True
    assert result["before"] is None
    assert result["after"] == "52428800"
    assert result["command"] == [
        "/usr/sbin/postconf",
        "-c",
        "/etc/postfix",
        "-e",
        "message_size_limit=52428800",
    ]
    assert edits(fake) == [["-e", "message_size_limit=52428800"]]
    assert result["diff"] == {
        "before": "",
        "after": "main.cf message_size_limit = 52428800\n",
        "before_header": "main.cf message_size_limit (before)",
        "after_header": "main.cf message_size_limit (after)",
    }


def test_same_value_is_unchanged_even_with_other_spacing(fake, capsys):
    result = run_module(
        {"name": "mynetworks", "value": "127.0.0.0/8  [::ffff:127.0.0.0]/104   [::1]/128"}, capsys
    )
    assert result["changed"] is False
    assert result["command"] == []
    assert edits(fake) == []


def test_empty_value_is_a_value(fake, capsys):
    # "relayhost =" is set (to empty) in Debian's main.cf.
    assert run_module({"name": "relayhost", "value": ""}, capsys)["changed"] is False
    result = run_module({"name": "relayhost", "value": "[relay.example.test]:587"}, capsys)
    assert result["before"] == ""
    assert result["changed"] is True


def test_remove_parameter(fake, capsys):
    result = run_module({"name": "smtpd_banner", "state": "absent"}, capsys)
    assert result["changed"] is True
    assert result["before"] == "$myhostname ESMTP $mail_name (Debian/GNU)"
    assert result["after"] is None
    assert edits(fake) == [["-X", "smtpd_banner"]]
    assert run_module({"name": "no_such_parameter", "state": "absent"}, capsys)["changed"] is False


def test_check_mode_writes_nothing(fake, capsys):
    result = run_module(
        {"name": "message_size_limit", "value": "1"}, capsys, check_mode=True, diff=True
    )
    assert result["changed"] is True
    assert result["diff"]["after"] == "main.cf message_size_limit = 1\n"
    assert edits(fake) == []


def test_postconf_warnings_are_passed_on(fake, capsys, module_warnings):
    fake.edit_stderr = "postconf: warning: /etc/postfix/main.cf: unused parameter: smtpd_foo=1\n"
    run_module({"name": "smtpd_foo", "value": "1"}, capsys)
    assert module_warnings == [
        "postconf: warning: /etc/postfix/main.cf: unused parameter: smtpd_foo=1"
    ]


# --- master.cf ---------------------------------------------------------------------------------


def test_field_with_master5_alias(fake, capsys):
    result = run_module({"service": "smtp/inet", "field": "maxproc", "value": "20"}, capsys)
    assert result["target"] == "master.cf smtp/inet/process_limit"
    assert result["before"] == "-"
    assert edits(fake) == [["-F", "-e", "smtp/inet/process_limit=20"]]
    assert (
        run_module({"service": "pickup/unix", "field": "wakeup", "value": "60"}, capsys)["changed"]
        is False
    )


def test_command_field_includes_arguments(fake, capsys):
    result = run_module(
        {
            "service": "relay/unix",
            "field": "command",
            "value": "smtp  -o syslog_name=postfix/$service_name",
        },
        capsys,
    )
    assert result["changed"] is False


def test_service_parameter(fake, capsys):
    key = "submission/inet"
    assert (
        run_module(
            {"service": key, "parameter": "smtpd_tls_security_level", "value": "encrypt"}, capsys
        )["changed"]
        is False
    )
    result = run_module(
        {"service": key, "parameter": "smtpd_sasl_auth_enable", "value": "yes"}, capsys
    )
    assert result["changed"] is True
    assert result["target"] == "master.cf submission/inet -o smtpd_sasl_auth_enable"
    result = run_module({"service": key, "parameter": "syslog_name", "state": "absent"}, capsys)
    assert result["before"] == "postfix/submission"
    assert edits(fake) == [
        ["-P", "-e", "submission/inet/smtpd_sasl_auth_enable=yes"],
        ["-P", "-X", "submission/inet/syslog_name"],
    ]


def test_whole_entry(fake, capsys):
    same = "submission inet n - y - - smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt"
    assert run_module({"service": "submission/inet", "value": same}, capsys)["changed"] is False
    new = "smtps inet n - y - - smtpd -o smtpd_tls_wrappermode=yes"
    result = run_module({"service": "smtps/inet", "value": new}, capsys)
    assert result["before"] is None
    assert edits(fake) == [["-M", "-e", f"smtps/inet={new}"]]
    result = run_module({"service": "submission/inet", "state": "absent"}, capsys)
    assert result["after"] is None
    assert edits(fake)[-1] == ["-M", "-X", "submission/inet"]
    assert run_module({"service": "smtps/inet", "state": "absent"}, capsys)["changed"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"service": "smtps/inet", "value": "submission inet n - y - - smtpd"},
            "value must be one complete master.cf entry for smtps/inet",
        ),
        (
            {"service": "smtps/inet", "value": "n - y - - smtpd"},
            "value must be one complete master.cf entry",
        ),
        (
            {"service": "nosuch/inet", "field": "maxproc", "value": "2"},
            "service nosuch/inet is not in /etc/postfix/master.cf",
        ),
        (
            {"service": "nosuch/unix", "parameter": "a", "value": "2"},
            "service nosuch/unix is not in",
        ),
        (
            {"service": "smtp/inet", "field": "chroot", "state": "absent"},
            "a master.cf field cannot be removed",
        ),
        (
            {"service": "smtp/tcp", "state": "absent"},
            "service 'smtp/tcp' must be name/type with type one of inet",
        ),
        ({"service": "smtp", "state": "absent"}, "must be name/type"),
        ({"name": "bad name", "value": "1"}, "name 'bad name' is not a Postfix parameter name"),
        ({"name": "a", "value": "1\nb = 2"}, "value must be one line"),
        ({"name": "a"}, "state is present but all of the following are missing: value"),
        (
            {"name": "a", "service": "smtp/inet", "value": "1"},
            "parameters are mutually exclusive: name|service",
        ),
        ({"field": "chroot", "value": "y"}, "one of the following is required: name, service"),
        (
            {"service": "smtp/inet", "field": "type", "value": "unix"},
            "value of field must be one of",
        ),
    ],
)
def test_refused_input(fake, capsys, args, message):
    result = run_module(args, capsys)
    assert result["rc"] == 1
    assert message in result["msg"]
    assert edits(fake) == []
