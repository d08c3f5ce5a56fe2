# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/modules/config.py.

``postfix`` and ``postconf`` are mocked at the ``run_command`` boundary: the fake answers with
real Postfix 3.7 output (tests/unit/fixtures/postconf/) rewritten to the staging directory the
module really created, and reads the staged files the module really wrote. The live directory is
``tmp_path``, so "live files untouched" is checked byte for byte.
"""

from __future__ import annotations

import fcntl
import os
import pathlib

import pytest
from ansible.module_utils import basic

from ansible_collections.sbs.postfix.plugins.module_utils import _postfix_config
from ansible_collections.sbs.postfix.plugins.module_utils._postconf import (
    parse_main_cf,
    parse_master_cf,
)
from ansible_collections.sbs.postfix.plugins.modules import config
from ansible_collections.sbs.postfix.tests.unit.plugins.modules.utils import (
    run_module as run_module_main,
)

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "postconf"
MAIN = (FIXTURES / "debian12-main.cf").read_text()
MASTER = (FIXTURES / "debian12-master.cf").read_text()
SMTP_INET = "smtp      inet  n       -       y       -       -       smtpd"
FIXTURE_STAGE = "/etc/postfix.sbs-stage.fixture"
DEFAULTS = {
    "inet_interfaces": "all",
    "inet_protocols": "all",
    "queue_directory": "/var/spool/postfix",
    "import_environment": "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C",
    "default_process_limit": "100",
}


class FakePostfix:
    """Answers postfix/postconf the way Postfix 3.7 does, for the files it is pointed at."""

    def __init__(self, daemon_directory):
        self.daemon_directory = daemon_directory
        self.calls = []
        # stderr (with the fixture's stage path) and exit status per command, when not clean.
        self.stderr = {}
        self.stages = []

    def __call__(self, module, argv, **kwargs):
        assert kwargs.get("environ_update") == {"LANG": "C", "LC_ALL": "C"}
        assert isinstance(argv, list)
        program = os.path.basename(argv[0])
        assert argv[1] == "-c"
        directory = argv[2]
        rest = argv[3:]
        self.calls.append([program, directory, *rest])
        if ".sbs-stage." in directory and directory not in self.stages:
            self.stages.append(directory)
            # The module must have staged both files before asking Postfix.
            assert os.path.isfile(os.path.join(directory, "main.cf"))
            assert os.path.isfile(os.path.join(directory, "master.cf"))
        key = " ".join([program, *rest])
        rc, err = self.stderr.get(key, (0, ""))
        err = err.replace(FIXTURE_STAGE, directory)
        if rc:
            return rc, "", err
        if program == "postfix":
            assert rest == ["check"]
            return 0, "", err
        if rest == ["-m"]:
            return 0, (FIXTURES / "debian12-postconf-m.txt").read_text(), err
        if rest == ["-x", "-h", "daemon_directory"]:
            return 0, self.daemon_directory + "\n", err
        if rest[0] == "-x":
            with open(os.path.join(directory, "main.cf")) as handle:
                params, _unused = parse_main_cf(handle.read())
            values = {name: params.get(name, DEFAULTS[name]) for name in rest[1:]}
            return 0, "".join(f"{k} = {v}\n" for k, v in values.items()), err
        if rest in (["-n"], ["-M"]):
            return 0, "", err
        raise AssertionError(f"unexpected command {argv}")


@pytest.fixture
def postfix(tmp_path, monkeypatch):
    sbin = tmp_path / "sbin"
    sbin.mkdir()
    services, _unused = parse_master_cf(MASTER)
    for entry in services.values():
        (sbin / entry["command"]).touch()
    fake = FakePostfix(str(sbin))
    monkeypatch.setattr(basic.AnsibleModule, "run_command", _bind(fake))
    monkeypatch.setattr(
        basic.AnsibleModule,
        "get_bin_path",
        lambda self, name, required=False, opt_dirs=None: f"/usr/sbin/{name}",
    )
    monkeypatch.setattr(basic.AnsibleModule, "selinux_enabled", lambda self: False)
    return fake


def _bind(fake):
    def run_command(self, argv, **kwargs):
        return fake(self, argv, **kwargs)

    return run_command


@pytest.fixture
def live(tmp_path):
    directory = tmp_path / "postfix"
    directory.mkdir()
    (directory / "main.cf").write_text(MAIN)
    (directory / "master.cf").write_text(MASTER)
    (directory / "dynamicmaps.cf").write_text("# empty\n")
    return directory


def run_module(args, capsys, check_mode=False, diff=False):
    return run_module_main(config.main, args, capsys, check_mode=check_mode, diff=diff)


def snapshot(directory):
    return {name: (directory / name).read_bytes() for name in sorted(os.listdir(directory))}


def no_stage_left(live):
    return [name for name in os.listdir(live.parent) if ".sbs-stage." in name] == []


def args(live, main=MAIN, master=MASTER, **extra):
    return {"main_cf": main, "master_cf": master, "config_directory": str(live), **extra}


def test_unchanged_configuration_is_validated_and_not_written(live, postfix, capsys):
    before = snapshot(live)
    mtime = (live / "main.cf").stat().st_mtime_ns
    result = run_module(args(live), capsys)
    assert result["rc"] == 0
    assert result["changed"] is False
    assert result["changed_parameters"] == []
    assert result["restart_required"] is False
    assert result["restart_reasons"] == []
    assert "diff" not in result
    assert snapshot(live) == before
    assert (live / "main.cf").stat().st_mtime_ns == mtime
    commands = [" ".join([c[0], *c[2:]]) for c in postfix.calls]
    assert commands[:5] == [
        "postconf -n",
        "postconf -M",
        "postfix check",
        "postconf -m",
        "postconf -x -h daemon_directory",
    ]
    assert all(c[1] == postfix.stages[0] for c in postfix.calls[:5])
    assert result["validation"]["errors"] == []
    assert result["validation"]["daemon_directory"] == postfix.daemon_directory
    assert "hash" in result["validation"]["map_types"]
    assert no_stage_left(live)


def test_valid_change_is_applied_with_reload(live, postfix, capsys):
    new_main = MAIN.replace(
        "mailbox_size_limit = 0", "mailbox_size_limit = 0\nmessage_size_limit = 52428800"
    )
    result = run_module(args(live, main=new_main), capsys, diff=True)
    assert result["rc"] == 0
    assert result["changed"] is True
    assert result["changed_parameters"] == ["message_size_limit"]
    assert result["restart_required"] is False
    assert (live / "main.cf").read_text() == new_main
    assert (live / "master.cf").read_text() == MASTER
    assert result["diff"] == [
        {
            "before": MAIN,
            "after": new_main,
            "before_header": f"{live}/main.cf (live)",
            "after_header": f"{live}/main.cf (new)",
        }
    ]
    assert no_stage_left(live)
    assert [n for n in os.listdir(live) if ".sbs-" in n] == []
    # A second run with the same content changes nothing.
    assert run_module(args(live, main=new_main), capsys)["changed"] is False


def test_missing_final_newline_does_not_flap(live, postfix, capsys):
    result = run_module(args(live, main=MAIN.rstrip("\n")), capsys)
    assert result["changed"] is False


def test_check_mode_validates_and_diffs_without_touching_live(live, postfix, capsys):
    before = snapshot(live)
    new_main = MAIN.replace("inet_interfaces = all", "inet_interfaces = 127.0.0.1")
    result = run_module(args(live, main=new_main), capsys, check_mode=True, diff=True)
    assert result["rc"] == 0
    assert result["changed"] is True
    assert result["changed_parameters"] == ["inet_interfaces"]
    assert result["restart_required"] is True
    assert result["restart_reasons"][0].startswith(
        "main.cf inet_interfaces changed from 'all' to '127.0.0.1'"
    )
    assert result["diff"][0]["after"] == new_main
    assert snapshot(live) == before
    assert postfix.stages  # it was validated
    assert no_stage_left(live)


def test_new_listener_requires_restart(live, postfix, capsys):
    new_master = MASTER + "submission inet n - y - - smtpd\n  -o syslog_name=postfix/submission\n"
    result = run_module(args(live, master=new_master), capsys)
    assert result["changed"] is True
    assert result["changed_parameters"] == ["submission/inet"]
    assert result["restart_reasons"] == [
        "master.cf inet listener submission/inet added (new listening socket)"
    ]
    assert (live / "master.cf").read_text() == new_master


def test_raised_smtpd_maxproc_requires_restart(live, postfix, capsys, monkeypatch):
    # master(8) fixes the accept queue at max(maxproc, default_process_limit) when it opens the
    # socket, so a reload would leave 250 smtpd processes behind a backlog of 100
    monkeypatch.setattr(
        config, "read_sysctl_int", lambda name: 4096 if name == "net.core.somaxconn" else None
    )
    new_master = MASTER.replace(SMTP_INET, "smtp inet n - y - 250 smtpd")
    assert new_master != MASTER
    result = run_module(args(live, master=new_master), capsys)
    assert result["changed_parameters"] == ["smtp/inet"]
    assert result["restart_reasons"] == [
        "master.cf inet listener smtp/inet listen backlog changes from 100 to 250 (master(8) sets "
        "max(maxproc, default_process_limit) when it opens the socket; a reload keeps the old one)"
    ]


def refused(result, live, before):
    assert result["rc"] == 1
    assert result["failed"] is True
    assert result["msg"].startswith(
        f"Postfix configuration for {live} refused, live files unchanged: "
    )
    assert snapshot(live) == before
    assert no_stage_left(live)
    return result["msg"]


def test_unused_parameter_warning_refuses(live, postfix, capsys):
    before = snapshot(live)
    postfix.stderr["postconf -n"] = (0, (FIXTURES / "debian12-unused.stderr").read_text())
    msg = refused(run_module(args(live, main=MAIN + "foo_unused = 1\n"), capsys), live, before)
    # Postfix's own words, with the live directory's name instead of the vanished stage.
    assert msg.endswith(f"postconf: warning: {live}/main.cf: unused parameter: foo_unused=1")


def test_ignore_warnings_lets_it_through(live, postfix, capsys):
    postfix.stderr["postconf -n"] = (0, (FIXTURES / "debian12-unused.stderr").read_text())
    result = run_module(
        args(
            live, main=MAIN + "foo_unused = 1\n", ignore_warnings=["unused parameter: foo_unused="]
        ),
        capsys,
    )
    assert result["rc"] == 0
    assert result["changed"] is True
    assert result["validation"]["ignored_warnings"] == [
        f"postconf: warning: {live}/main.cf: unused parameter: foo_unused=1"
    ]
    assert (live / "main.cf").read_text().endswith("foo_unused = 1\n")


def test_warnings_about_the_live_instance_are_not_errors(live, postfix, capsys):
    # postfix-script runs postconf on the default instance too; its complaint is not ours.
    postfix.stderr["postfix check"] = (0, (FIXTURES / "debian12-check-unused.stderr").read_text())
    result = run_module(args(live), capsys)
    assert result["rc"] == 0
    assert result["validation"]["other_warnings"] == [
        "postconf: warning: /etc/postfix/main.cf: unused parameter: live_unused=1"
    ]
    assert result["validation"]["errors"] == []


def test_fatal_syntax_error_refuses_with_postfix_message(live, postfix, capsys):
    before = snapshot(live)
    fatal = (FIXTURES / "debian12-missing-eq.stderr").read_text()
    for command in ("postconf -n", "postconf -M", "postconf -m", "postconf -x -h daemon_directory"):
        postfix.stderr[command] = (1, fatal)
    postfix.stderr["postfix check"] = (1, "")
    msg = refused(run_module(args(live, main=MAIN + "garbage line\n"), capsys), live, before)
    assert (
        f"postconf -n, postconf -M, postconf -m, postconf daemon_directory failed: postconf: fatal: {live}/main.cf, "
        "line 694: missing '=' after attribute name: \"garbage line\"" in msg
    )
    assert (
        "postfix check failed: exit status 1 and no message on stderr; Postfix logged the reason"
        in msg
    )
    # Our own parser's message is left out when Postfix already said it.
    assert "missing '=' after parameter name" not in msg
    # postconf -m failed too: no "table type not supported" noise for every hash: table.
    assert "lookup table type" not in msg


def test_unknown_service_type_refuses(live, postfix, capsys):
    before = snapshot(live)
    postfix.stderr["postconf -M"] = (1, (FIXTURES / "debian12-badtype.stderr").read_text())
    msg = refused(
        run_module(args(live, master=MASTER + "foo bogus n - y - - smtpd\n"), capsys), live, before
    )
    assert 'postconf -M failed: postconf: fatal: invalid type field "bogus"' in msg
    assert "service foo/bogus: unknown service type 'bogus'" in msg


def test_missing_command_refuses(live, postfix, capsys):
    before = snapshot(live)
    msg = refused(
        run_module(args(live, master=MASTER + "bar unix - - y - - nosuchd\n"), capsys), live, before
    )
    assert msg.endswith(
        f"service bar/unix: command 'nosuchd' not found ({postfix.daemon_directory}/nosuchd does not exist)"
    )


def test_unsupported_map_type_refuses(live, postfix, capsys):
    before = snapshot(live)
    msg = refused(
        run_module(
            args(live, main=MAIN + "transport_maps = pcre:/etc/postfix/transport\n"), capsys
        ),
        live,
        before,
    )
    assert "main.cf transport_maps: lookup table type 'pcre'" in msg


def test_foreign_inet_interfaces_refuses(live, postfix, capsys):
    before = snapshot(live)
    # Postfix 3.7 catches this itself; the module's own check says it too (bind() only, no traffic).
    msg = refused(
        run_module(
            args(live, main=MAIN.replace("inet_interfaces = all", "inet_interfaces = 192.0.2.99")),
            capsys,
        ),
        live,
        before,
    )
    assert "main.cf inet_interfaces: 192.0.2.99 is not an address of this host" in msg


def test_foreign_listener_address_refuses(live, postfix, capsys):
    before = snapshot(live)
    msg = refused(
        run_module(args(live, master=MASTER + "192.0.2.99:2525 inet n - y - - smtpd\n"), capsys),
        live,
        before,
    )
    assert (
        "master.cf service 192.0.2.99:2525/inet: 192.0.2.99 is not an address of this host" in msg
    )


def test_duplicate_service_refuses(live, postfix, capsys):
    before = snapshot(live)
    msg = refused(
        run_module(args(live, master=MASTER + "smtp inet n - y - 10 smtpd\n"), capsys), live, before
    )
    assert "duplicate entry for service smtp/inet (first on line 12)" in msg


def test_failed_install_rolls_back(live, postfix, capsys, monkeypatch):
    before = snapshot(live)
    real_replace = os.replace

    def replace(src, dst):
        if dst.endswith("master.cf") and ".sbs-new." in src:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(_postfix_config.os, "replace", replace)
    new_master = MASTER + "submission inet n - y - - smtpd\n"
    result = run_module(
        args(live, main=MAIN + "message_size_limit = 1000000\n", master=new_master), capsys
    )
    assert result["rc"] == 1
    assert "No space left on device" in result["msg"]
    assert result["msg"].endswith("restored: main.cf")
    assert snapshot(live) == before


def test_bad_regex_and_missing_directory(live, postfix, capsys, tmp_path):
    result = run_module(args(live, ignore_warnings=["unused ("]), capsys)
    assert result["rc"] == 1
    assert result["msg"].startswith("ignore_warnings: 'unused (' is not a valid regular expression")
    result = run_module(args(tmp_path / "nosuch"), capsys)
    assert (
        result["msg"]
        == f"config_directory {tmp_path / 'nosuch'} does not exist or is not a directory"
    )
    assert postfix.calls == []


def test_first_installation_asks_for_restart(tmp_path, postfix, capsys):
    directory = tmp_path / "postfix-new"
    directory.mkdir()
    result = run_module(args(directory), capsys)
    assert result["changed"] is True
    assert result["restart_reasons"] == [
        f"no previous main.cf and master.cf in {directory}: Postfix starts with the new configuration"
    ]
    assert (directory / "main.cf").read_text() == MAIN


# --- kept copies and the adopt view ------------------------------------------------------------

HAND_WRITTEN_MAIN = MAIN.replace("mailbox_size_limit = 0", "mailbox_size_limit = 51200000")


def live_pair(live):
    return {name: (live / name).read_bytes() for name in ("main.cf", "master.cf")}


def copies(backup_dir):
    return sorted(os.listdir(backup_dir)) if backup_dir.exists() else []


def test_a_change_keeps_a_copy_of_the_live_pair(live, postfix, capsys):
    backup_dir = live / "sbs-backup"
    old = live_pair(live)
    new_main = MAIN + "message_size_limit = 52428800\n"
    result = run_module(args(live, main=new_main, backup_dir=str(backup_dir)), capsys)
    assert result["rc"] == 0
    assert result["changed"] is True
    [name] = copies(backup_dir)
    assert _postfix_config.BACKUP_NAME_RE.match(name)
    assert result["backup_path"] == str(backup_dir / name)
    # Both files, as they were before the swap, also the master.cf that did not change.
    assert live_pair(backup_dir / name) == old
    assert (live / "main.cf").read_text() == new_main
    assert oct((backup_dir / name / "main.cf").stat().st_mode & 0o777) == "0o600"
    assert oct((backup_dir / name).stat().st_mode & 0o777) == "0o700"
    # The copies were not staged as part of the configuration.
    assert all(not os.path.exists(os.path.join(stage, "sbs-backup")) for stage in postfix.stages)
    # No change, no copy.
    again = run_module(args(live, main=new_main, backup_dir=str(backup_dir)), capsys)
    assert again["changed"] is False
    assert again["backup_path"] is None
    assert copies(backup_dir) == [name]


def test_no_copy_without_backup_dir_or_in_check_mode(live, postfix, capsys, tmp_path):
    backup_dir = tmp_path / "sbs-backup"
    new_main = MAIN + "message_size_limit = 52428800\n"
    result = run_module(
        args(live, main=new_main, backup_dir=str(backup_dir)), capsys, check_mode=True
    )
    assert result["changed"] is True
    assert result["backup_path"] is None
    assert not backup_dir.exists()
    result = run_module(args(live, main=new_main), capsys)
    assert result["changed"] is True
    assert result["backup_path"] is None


def test_old_copies_are_pruned_to_backup_keep(live, postfix, capsys, tmp_path):
    backup_dir = tmp_path / "sbs-backup"
    old = [f"202611{day:02d}T120000Z" for day in range(1, 13)]
    for name in old:
        (backup_dir / name).mkdir(parents=True)
    (backup_dir / "keep-me").mkdir()
    new_main = MAIN + "message_size_limit = 52428800\n"
    result = run_module(
        args(live, main=new_main, backup_dir=str(backup_dir), backup_keep=3), capsys
    )
    new = os.path.basename(result["backup_path"])
    assert copies(backup_dir) == sorted([*old[-2:], new, "keep-me"])


def test_a_copy_that_cannot_be_made_changes_nothing(live, postfix, capsys, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    old = live_pair(live)
    result = run_module(
        args(live, main=MAIN + "message_size_limit = 1\n", backup_dir=str(blocker / "b")),
        capsys,
    )
    assert result["rc"] == 1
    assert result["msg"].startswith(
        f"cannot keep a copy of {live}/main.cf and master.cf in {blocker / 'b'}: "
    )
    assert result["msg"].endswith("; live files unchanged")
    assert live_pair(live) == old


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"backup_keep": 0}, "backup_keep is 0; it must be at least 1"),
        ({"backup_dir": "sbs-backup"}, "backup_dir sbs-backup must be an absolute path"),
    ],
)
def test_backup_options_are_checked_first(live, postfix, capsys, extra, message):
    result = run_module(args(live, **{"backup_dir": "/etc/postfix/sbs-backup", **extra}), capsys)
    assert result["rc"] == 1
    assert result["msg"].startswith(message)
    assert postfix.calls == []


def test_adopt_view_shows_live_against_rendered_with_headers(live, postfix, capsys, tmp_path):
    """check mode + diff on a hand-written configuration: the difference, nothing written."""
    (live / "main.cf").write_text(HAND_WRITTEN_MAIN)
    (live / "master.cf").write_text(MASTER.replace(SMTP_INET, "smtp inet n - y - 20 smtpd"))
    before = live_pair(live)
    backup_dir = tmp_path / "sbs-backup"
    result = run_module(args(live, backup_dir=str(backup_dir)), capsys, check_mode=True, diff=True)
    assert result["rc"] == 0
    assert result["changed"] is True
    assert result["changed_parameters"] == ["mailbox_size_limit", "smtp/inet"]
    assert result["diff"] == [
        {
            "before": HAND_WRITTEN_MAIN,
            "after": MAIN,
            "before_header": f"{live}/main.cf (live)",
            "after_header": f"{live}/main.cf (new)",
        },
        {
            "before": before["master.cf"].decode(),
            "after": MASTER,
            "before_header": f"{live}/master.cf (live)",
            "after_header": f"{live}/master.cf (new)",
        },
    ]
    assert live_pair(live) == before
    assert result["backup_path"] is None
    assert not backup_dir.exists()
    assert no_stage_left(live)


def test_a_stage_a_killed_run_left_behind_is_removed_by_the_next_run(live, postfix, capsys):
    # A run killed between staging and the swap leaves its stage (with copies of the maps)
    # beside the live directory; the live files are the old ones, whole.
    left = live.parent / f"{live.name}.sbs-stage.k1ll3d"
    left.mkdir(mode=0o700)
    (left / "main.cf").write_text("half = written\n")
    before = snapshot(live)
    result = run_module(args(live), capsys, check_mode=True)
    assert result["removed_stages"] == []
    assert left.is_dir()
    assert snapshot(live) == before
    result = run_module(args(live), capsys)
    assert result["removed_stages"] == [str(left)]
    assert not left.exists()
    assert no_stage_left(live)


def test_the_lock_serialises_runs_on_one_directory(live):
    with _postfix_config.config_lock(str(live)):
        fd = os.open(str(live), os.O_RDONLY | os.O_DIRECTORY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    fd = os.open(str(live), os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
    finally:
        os.close(fd)
