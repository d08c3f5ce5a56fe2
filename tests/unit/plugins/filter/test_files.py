# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""file_changes against what runtime_info returns for real files."""

from __future__ import annotations

import os

import pytest

from ansible_collections.sbs.postfix.plugins.filter.files import FilterModule
from ansible_collections.sbs.postfix.plugins.module_utils import _runtime
from ansible_collections.sbs.postfix.plugins.plugin_utils._files import file_changes

CONF = "Syslog yes\nUMask 007\nSocket local:/var/spool/postfix/opendkim/opendkim.sock\n"


def entry(path):
    """What runtime_info reports for ``path`` (its own reader, not a copy of it)."""
    return _runtime.read_files([str(path)], [])[str(path)]


@pytest.fixture(name="conf")
def fixture_conf(tmp_path):
    path = tmp_path / "opendkim.conf"
    path.write_text(CONF, encoding="utf-8")
    os.chmod(path, 0o644)
    return path


def test_a_current_file_has_no_reason(conf):
    owner = entry(conf)["owner"]
    assert file_changes(entry(conf), CONF, owner, None, "0644") == []


def test_content_mode_and_owner_are_each_a_reason(conf):
    assert file_changes(entry(conf), CONF + "Mode sv\n", "nobody-else", None, 0o640) == [
        "content",
        "mode 0644 -> 0640",
        f"owner {entry(conf)['owner']} -> nobody-else",
    ]


def test_non_ascii_content_is_compared_as_utf8(tmp_path):
    path = tmp_path / "TrustedHosts"
    text = "# Müller GmbH\n127.0.0.1\n"
    path.write_bytes(text.encode("utf-8"))
    assert file_changes(entry(path), text) == []


def test_missing_and_wrong_kind(tmp_path):
    assert file_changes(entry(tmp_path / "absent"), CONF) == ["missing"]
    assert file_changes(entry(tmp_path), CONF) == ["is a directory, not a file"]
    assert file_changes(entry(tmp_path), kind="directory") == []


def test_unreadable_state_is_written_rather_than_trusted():
    assert file_changes({"exists": None, "type": None}, CONF) == ["could not be read"]


def test_registered():
    assert FilterModule().filters()["file_changes"].__wrapped__ is file_changes


def test_controller_dir_problems(tmp_path):
    problems = FilterModule().filters()["controller_dir_problems"]
    existing = tmp_path / "baselines"
    existing.mkdir()
    plain_file = tmp_path / "a-file"
    plain_file.write_text("x")
    locked = tmp_path / "locked"
    locked.mkdir()
    assert (
        problems(
            [
                {"variable": "baseline_dir", "path": str(existing)},
                # missing, but its parent can be written: created later
                {"variable": "report_dir", "path": str(tmp_path / "reports" / "deeper")},
            ]
        )
        == []
    )
    found = problems(
        [
            {"variable": "report_dir", "path": str(plain_file / "reports")},
            {"variable": "baseline_dir", "path": "/proc/sbs-baselines"},
        ]
    )
    assert found[0] == (
        f"report_dir: {plain_file}/reports cannot be written ({plain_file} is not a directory); "
        "set report_dir to a directory this user can write"
    )
    assert found[1].startswith("baseline_dir: /proc/sbs-baselines cannot be written (no write")
    if os.geteuid() != 0:  # root may write a directory of mode 0500
        locked.chmod(0o500)
        assert len(problems([{"variable": "report_dir", "path": str(locked)}])) == 1
