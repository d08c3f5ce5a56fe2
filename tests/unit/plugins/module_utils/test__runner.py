# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/module_utils/_runner.py: the one way modules run a program."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sbs.postfix.plugins.module_utils._runner import (
    C_LOCALE,
    MISSING_RC,
    CommandRunner,
)
from ansible_collections.sbs.postfix.tests.unit.plugins.modules.utils import FakeCommands


@pytest.fixture
def module():
    with patch_module_args({}):
        yield AnsibleModule(argument_spec={})


class RecordingModule:
    """Just the two AnsibleModule methods the runner uses, recording how they are called."""

    def __init__(self, installed=("postconf", "ss")):
        self.installed = set(installed)
        self.lookups = []
        self.commands = []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        self.lookups.append((name, required))
        if name in self.installed:
            return f"/usr/sbin/{name}"
        if required:
            raise SystemExit(f"fail_json: cannot find {name}")
        return None

    def run_command(self, argv, **kwargs):
        self.commands.append((argv, kwargs))
        return 0, "out\n", ""


def test_the_locale_is_c_everywhere():
    assert C_LOCALE == {"LANG": "C", "LC_ALL": "C"}


def test_runs_an_argument_list_in_the_c_locale_without_check_rc():
    module = RecordingModule()
    run = CommandRunner(module)
    assert run(["postconf", "-c", "/etc/postfix", "-n"]) == (0, "out\n", "")
    argv, kwargs = module.commands[0]
    assert argv == ["/usr/sbin/postconf", "-c", "/etc/postfix", "-n"]
    assert kwargs == {"environ_update": {"LANG": "C", "LC_ALL": "C"}, "check_rc": False}


def test_each_program_is_looked_up_once_and_required_by_default():
    module = RecordingModule()
    run = CommandRunner(module)
    run(["postconf", "-n"])
    run(["postconf", "-M"])
    run(["ss", "-Hltn"])
    assert module.lookups == [("postconf", True), ("ss", True)]


def test_a_missing_program_fails_the_module_unless_missing_ok():
    with pytest.raises(SystemExit, match="cannot find postfix"):
        CommandRunner(RecordingModule())(["postfix", "check"])


def test_missing_ok_answers_like_a_shell():
    module = RecordingModule(installed=())
    run = CommandRunner(module, missing_ok=True)
    assert run(["ss", "-Hltn"]) == (MISSING_RC, "", "ss: command not found")
    assert run(["journalctl", "-o", "json"], binary=True) == (
        127,
        b"",
        b"journalctl: command not found",
    )
    assert module.lookups == [("ss", False), ("journalctl", False)]
    assert module.commands == []


def test_binary_asks_run_command_for_bytes():
    module = RecordingModule()
    CommandRunner(module)(["ss", "-Hltn"], binary=True)
    assert module.commands[0][1]["encoding"] is None


def test_an_absolute_path_from_path_is_not_looked_up_again():
    module = RecordingModule()
    run = CommandRunner(module)
    binary = run.path("postconf")
    run([binary, "-e", "a=b"])
    assert module.lookups == [("postconf", True)]
    assert module.commands[0][0] == ["/usr/sbin/postconf", "-e", "a=b"]
    assert run.argv(["ss", "-Hltn"]) == ["/usr/sbin/ss", "-Hltn"]


def test_with_a_real_ansible_module_at_the_run_command_boundary(module, monkeypatch):
    fake = FakeCommands({"postconf -h queue_directory": (0, "/var/spool/postfix\n", "")})
    fake.install(monkeypatch)
    run = CommandRunner(module, missing_ok=True)
    assert run(["postconf", "-h", "queue_directory"]) == (0, "/var/spool/postfix\n", "")
    fake.missing.add("ss")
    assert run(["ss", "-Hltn"])[0] == 127
    assert fake.calls == ["postconf -h queue_directory"]


def test_a_required_program_missing_fails_with_its_name(module, monkeypatch, capsys):
    FakeCommands(missing=["postfix"]).install(monkeypatch)
    with pytest.raises(SystemExit):
        CommandRunner(module).path("postfix")
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] is True
    assert '"postfix"' in result["msg"]
