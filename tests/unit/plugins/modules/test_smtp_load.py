# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/modules/smtp_load.py.

The module sends for real to the in-process SMTP server of test__smtpload.py on 127.0.0.1;
``postconf`` and ``postqueue`` are mocked at the ``run_command`` boundary.
"""

from __future__ import annotations

import ast
import pathlib

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils import _smtpload
from ansible_collections.sbs.postfix.plugins.modules import smtp_load
from ansible_collections.sbs.postfix.tests.unit.plugins.module_utils.test__smtpload import (
    FakeSMTP,
    closed_port,
)
from ansible_collections.sbs.postfix.tests.unit.plugins.modules.utils import (
    FakeCommands,
)
from ansible_collections.sbs.postfix.tests.unit.plugins.modules.utils import (
    run_module as run_module_main,
)

MODULE = pathlib.Path(smtp_load.__file__)
FAST = {"retry_pause": 0.01, "timeout": 2.0, "connect_timeout": 2.0}


def run_module(args, capsys, check_mode=False):
    args = dict(FAST, recipient="sink@sink.test", **args)
    return run_module_main(smtp_load.main, args, capsys, check_mode=check_mode)


@pytest.fixture
def commands(monkeypatch):
    return FakeCommands(
        {
            "postconf": (0, "maillog_file = \nsyslog_name = postfix\n", ""),
            "postqueue -j": (0, "", ""),
        }
    ).install(monkeypatch)


def test_check_mode_sends_nothing(capsys, commands):
    with FakeSMTP() as server:
        result = run_module({"port": server.port, "wait_delivered": True}, capsys, True)
    assert result["changed"] is True
    assert result["load"] is None
    assert server.connections == 0
    assert commands.calls == []


def test_sends_and_reports(capsys, commands):
    with FakeSMTP() as server:
        result = run_module({"port": server.port, "count": 12, "sessions": 3}, capsys)
    assert result["rc"] == 0
    assert result["changed"] is True
    load = result["load"]
    assert load["messages"] == load["accepted"] == 12
    assert len(load["queue_ids"]) == 12
    assert load["first_attempt_to_delivery"] is None
    # what the playbooks keep under "sender" is all there
    for key in ("messages", "accepted", "refused_connections", "timeouts"):
        assert isinstance(load[key], int)
    assert set(load["time_to_250"]) >= {"p50", "p95", "p99", "max"}
    assert commands.calls == []


def test_waits_for_delivery_in_the_log(capsys, commands, tmp_path):
    log_file = tmp_path / "mail.log"
    log_file.write_text("")
    with FakeSMTP(log=str(log_file)) as server:
        result = run_module(
            {
                "port": server.port,
                "count": 6,
                "sessions": 2,
                "wait_delivered": True,
                "delivery_timeout": 10,
                "log_paths": [str(log_file)],
            },
            capsys,
        )
    load = result["load"]
    assert load["delivered"] == 6
    assert load["first_attempt_to_delivery"]["count"] == 6
    assert load["log_resolution_seconds"] == 1e-06
    assert load["log_source"] == "files"
    assert commands.calls[0] == "postconf maillog_file syslog_name"


def test_no_delivery_times_without_the_log_parser(capsys, commands, monkeypatch, module_warnings):
    def too_old():
        raise RuntimeError("delivery times need Python 3.11 or later on the mail host")

    monkeypatch.setattr(_smtpload, "log_modules", too_old)
    with FakeSMTP() as server:
        result = run_module({"port": server.port, "count": 2, "wait_delivered": True}, capsys)
    assert result["load"]["accepted"] == 2
    assert result["load"]["first_attempt_to_delivery"] is None
    assert any("need Python 3.11" in warning for warning in module_warnings)


def test_a_remote_host_is_refused(capsys):
    result = run_module({"host": "192.0.2.25"}, capsys, check_mode=True)
    assert result["failed"] is True
    assert "not a loopback address" in result["msg"]
    assert "allow_remote" in result["msg"]


def test_wrong_values_are_named(capsys):
    result = run_module({"count": 0, "sessions": 0, "delivery_timeout": 0}, capsys)
    assert result["failed"] is True
    for name in ("count", "sessions", "delivery_timeout"):
        assert name in result["msg"]


def test_fails_when_nothing_is_accepted(capsys):
    port = closed_port()
    result = run_module({"port": port, "count": 2, "retries": 1}, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith(f"no message was accepted by 127.0.0.1:{port}")
    assert "is Postfix running" in result["msg"]
    assert result["load"]["refused_connections"] == 4


def test_the_module_is_python_3_9_syntax():
    ast.parse(MODULE.read_text(), filename=str(MODULE), feature_version=(3, 9))
