# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for plugins/module_utils/_postfix_config.py (decisions and file handling)."""

from __future__ import annotations

import errno
import os
import pathlib
import socket
import stat

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils import _postfix_config as cfg
from ansible_collections.sbs.postfix.plugins.module_utils._postconf import (
    parse_master_cf,
    split_messages,
)

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "postconf"
MAIN = (FIXTURES / "debian12-main.cf").read_text()
MASTER = (FIXTURES / "debian12-master.cf").read_text()
SUBMISSION = "submission inet n - y - - smtpd\n  -o syslog_name=postfix/submission\n"


# --- changed_parameters ------------------------------------------------------------------------


def test_identical_configuration_changes_nothing():
    assert cfg.changed_parameters(MAIN, MAIN, MASTER, MASTER) == []


def test_comments_folding_and_order_are_not_changes():
    refolded = "# managed\n" + MAIN.replace(
        "mynetworks = 127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128",
        "mynetworks = 127.0.0.0/8\n    [::ffff:127.0.0.0]/104\n    [::1]/128",
    )
    assert refolded != MAIN
    reordered = "\n".join(
        reversed([line for line in MAIN.splitlines() if line and not line.startswith("#")])
    )
    assert cfg.changed_parameters(MAIN, refolded, MASTER, MASTER) == []
    assert cfg.changed_parameters(MAIN, reordered + "\n", MASTER, MASTER) == []


def test_changed_added_removed_parameters_and_services():
    new_main = (
        MAIN.replace("mailbox_size_limit = 0", "message_size_limit = 52428800")
        + "smtpd_helo_required = yes\n"
    )
    new_master = (
        MASTER.replace(
            "pickup    unix  n       -       y       60      1       pickup",
            "pickup unix n - y 30 1 pickup",
        )
        + SUBMISSION
    )
    assert "pickup    unix  n       -       y       60      1       pickup" in MASTER
    assert cfg.changed_parameters(MAIN, new_main, MASTER, new_master) == [
        "mailbox_size_limit",
        "message_size_limit",
        "smtpd_helo_required",
        "pickup/unix",
        "submission/inet",
    ]


def test_service_option_change_is_a_service_change():
    before = MASTER + SUBMISSION
    after = MASTER + SUBMISSION + "  -o smtpd_tls_security_level=encrypt\n"
    assert cfg.changed_parameters(MAIN, MAIN, before, after) == ["submission/inet"]


# --- restart_reasons ---------------------------------------------------------------------------

EFFECTIVE = {
    "inet_interfaces": "all",
    "inet_protocols": "all",
    "queue_directory": "/var/spool/postfix",
    "import_environment": "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME",
    "default_process_limit": "100",
}


def test_ordinary_change_needs_only_reload():
    assert cfg.restart_reasons(EFFECTIVE, dict(EFFECTIVE), MASTER, MASTER) == []


@pytest.mark.parametrize(
    ("name", "value", "source"),
    [
        ("inet_interfaces", "127.0.0.1", "you need to stop and start Postfix"),
        ("inet_protocols", "ipv4", "you MUST stop and start Postfix"),
        ("queue_directory", "/srv/spool/postfix", "only at start-up"),
        ("import_environment", "TZ", "only at start-up"),
    ],
)
def test_start_up_parameters_need_restart(name, value, source):
    reasons = cfg.restart_reasons(EFFECTIVE, dict(EFFECTIVE, **{name: value}), MASTER, MASTER)
    assert len(reasons) == 1
    assert reasons[0].startswith(f"main.cf {name} changed from {EFFECTIVE[name]!r} to {value!r}")
    assert source in reasons[0]
    assert "\n" not in reasons[0]


def test_parameter_appearing_with_its_default_value_is_not_a_change():
    # Effective values come from postconf -x: writing "inet_interfaces = all" changes nothing.
    assert cfg.restart_reasons(EFFECTIVE, dict(EFFECTIVE), MASTER, MASTER + "") == []


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (
            MASTER,
            MASTER + SUBMISSION,
            ["master.cf inet listener submission/inet added (new listening socket)"],
        ),
        (
            MASTER + SUBMISSION,
            MASTER,
            ["master.cf inet listener submission/inet removed (listening socket closes)"],
        ),
        # A new address is a different service to master(8): one removed, one added.
        (
            MASTER + SUBMISSION,
            MASTER + SUBMISSION.replace("submission inet", "127.0.0.1:submission inet"),
            [
                "master.cf inet listener 127.0.0.1:submission/inet added (new listening socket)",
                "master.cf inet listener submission/inet removed (listening socket closes)",
            ],
        ),
        # Options, process limits and unix services are applied by a reload.
        (MASTER + SUBMISSION, MASTER + SUBMISSION + "  -o smtpd_tls_security_level=encrypt\n", []),
        (
            MASTER,
            MASTER.replace(
                "smtp      inet  n       -       y       -       -", "smtp inet n - y - 20"
            ),
            [],
        ),
        (
            MASTER,
            MASTER + "dovecot unix - n n - - pipe flags=DRhu user=vmail argv=/usr/bin/true\n",
            [],
        ),
    ],
)
def test_listener_changes(before, after, expected):
    assert cfg.restart_reasons(EFFECTIVE, EFFECTIVE, before, after) == expected


SMTP_LINE = "smtp      inet  n       -       y       -       -"


@pytest.mark.parametrize(
    ("old_limit", "new_limit", "maxproc", "somaxconn", "expected"),
    [
        # smtpd's maxproc raised above default_process_limit: the accept queue must grow with it
        ("100", "100", "250", None, "from 100 to 250"),
        ("100", "100", "250", 4096, "from 100 to 250"),
        # default_process_limit raised, smtpd at "-": the same
        ("100", "250", "-", 4096, "from 100 to 250"),
        # maxproc 0 (no limit) listens with default_process_limit
        ("100", "250", "0", None, "from 100 to 250"),
        # both sides above the kernel's cap: the backlog in force does not change
        ("200", "500", "-", 128, None),
        ("100", "500", "-", 128, "from 100 to 128"),
        ("100", "100", "250", 100, None),
        # a lower maxproc than default_process_limit leaves the backlog at default_process_limit
        ("100", "100", "20", None, None),
        # unknown limit on one side: no claim either way
        (None, "250", "-", None, None),
        ("100", None, "-", None, None),
    ],
)
def test_listen_backlog_change_needs_restart(old_limit, new_limit, maxproc, somaxconn, expected):
    old = dict(EFFECTIVE, default_process_limit=old_limit)
    new = dict(EFFECTIVE, default_process_limit=new_limit)
    after = MASTER.replace(SMTP_LINE, f"smtp inet n - y - {maxproc}")
    assert after != MASTER
    reasons = cfg.restart_reasons(old, new, MASTER, after, somaxconn=somaxconn)
    if expected is None:
        assert reasons == []
    else:
        assert reasons == [
            f"master.cf inet listener smtp/inet listen backlog changes {expected} (master(8) "
            "sets max(maxproc, default_process_limit) when it opens the socket; a reload keeps "
            "the old one)"
        ]


def test_default_process_limit_alone_does_not_touch_unix_services():
    # pickup, cleanup, qmgr...: unix sockets, not clients' accept queue; only smtp/inet counts
    master = "\n".join(
        line for line in MASTER.splitlines() if not line.startswith("smtp      inet")
    )
    old = dict(EFFECTIVE)
    new = dict(EFFECTIVE, default_process_limit="250")
    assert cfg.restart_reasons(old, new, master, master) == []


@pytest.mark.parametrize(
    ("maxproc", "limit", "somaxconn", "backlog"),
    [
        ("-", 100, None, 100),
        ("0", 100, None, 100),
        ("250", 100, None, 250),
        ("250", 100, 200, 200),
        ("20", 100, 4096, 100),
        ("x", 100, None, None),
    ],
)
def test_listen_backlog(maxproc, limit, somaxconn, backlog):
    entry = {"process_limit": maxproc}
    assert cfg.listen_backlog(entry, limit, somaxconn) == backlog


def test_unknown_before_value_is_reported_as_not_set():
    reasons = cfg.restart_reasons({}, {"inet_interfaces": "all"}, MASTER, MASTER)
    assert reasons[0].startswith("main.cf inet_interfaces changed from (not set) to 'all'")


# --- warnings ----------------------------------------------------------------------------------

STAGE = "/etc/postfix.sbs-stage.fixture"


def test_warnings_about_stage_and_about_the_live_instance():
    staged, _unused = split_messages((FIXTURES / "debian12-check-stage-unused.stderr").read_text())
    live, _unused = split_messages((FIXTURES / "debian12-check-unused.stderr").read_text())
    about_stage, about_other = cfg.warnings_about(
        staged + live + ["postconf: warning: foo: unknown parameter"], STAGE
    )
    assert set(about_stage) == {
        "postconf: warning: /etc/postfix.sbs-stage.fixture/main.cf: unused parameter: smtpd_foo_bar=1",
        "postconf: warning: foo: unknown parameter",
    }
    assert set(about_other) == {
        "postconf: warning: /etc/postfix/main.cf: unused parameter: live_unused=1"
    }
    assert cfg.staged_to_live(about_stage[0], STAGE, "/etc/postfix") == (
        "postconf: warning: /etc/postfix/main.cf: unused parameter: smtpd_foo_bar=1"
    )


def test_classify_warnings():
    warnings = [
        "postconf: warning: /etc/postfix/main.cf: unused parameter: sbs_site=1",
        "postconf: warning: /etc/postfix/main.cf: undefined parameter: nosuch",
    ]
    assert cfg.classify_warnings(warnings, []) == (warnings, [])
    assert cfg.classify_warnings(warnings, ["unused parameter: sbs_"]) == (
        [warnings[1]],
        [warnings[0]],
    )


# --- check_services ----------------------------------------------------------------------------


@pytest.fixture
def daemon_directory(tmp_path):
    services, _unused = parse_master_cf(MASTER)
    directory = tmp_path / "sbin"
    directory.mkdir()
    for entry in services.values():
        if not entry["command"].startswith("/"):
            (directory / entry["command"]).touch()
    return str(directory)


def test_stock_master_cf_passes(daemon_directory):
    services, _unused = parse_master_cf(MASTER)
    assert cfg.check_services(services, daemon_directory) == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "foo bogus n - y - - smtpd",
            "unknown service type 'bogus' (allowed: inet, unix, unix-dgram, fifo, pass)",
        ),
        ("smtp2 inet y - y - - smtpd", "an inet service cannot be private"),
        ("x unix maybe - y - - smtpd", "field private is 'maybe', allowed: y, n, -"),
        ("x unix - - yes - - smtpd", "field chroot is 'yes', allowed: y, n, -"),
        ("x unix - - y 60s - smtpd", "field wakeup is '60s'"),
        ("x unix - - y - -1 smtpd", "field process_limit is '-1'"),
        ("x unix - - y - - nosuchd", "command 'nosuchd' not found"),
        (
            "x unix - - y - - /usr/local/bin/nosuch-filter",
            "/usr/local/bin/nosuch-filter does not exist",
        ),
    ],
)
def test_check_services_finds(daemon_directory, line, message):
    services, _unused = parse_master_cf(MASTER + line + "\n")
    errors = cfg.check_services(services, daemon_directory)
    assert len(errors) == 1
    assert message in errors[0]
    assert errors[0].startswith("master.cf line ")


def test_absolute_command_that_exists_is_accepted(daemon_directory, tmp_path):
    tool = tmp_path / "filter"
    tool.touch()
    services, _unused = parse_master_cf(
        f"{MASTER}f unix - n n - 2 {tool} -x\nt unix - - y 1000? 1 tlsmgr\n"
    )
    assert cfg.check_services(services, daemon_directory) == []


# --- check_tables ------------------------------------------------------------------------------

MAP_TYPES = (FIXTURES / "debian12-postconf-m.txt").read_text().split()


def test_check_tables():
    main = {
        "transport_maps": "hash:/etc/postfix/transport",
        "header_checks": "pcre:/etc/postfix/header_checks",
        "smtpd_milters": "inet:127.0.0.1:8891",
    }
    services, _unused = parse_master_cf(
        SUBMISSION + "  -o smtpd_sender_login_maps=cdb:/etc/postfix/login\n"
    )
    errors = cfg.check_tables(main, services, MAP_TYPES)
    assert len(errors) == 2
    assert errors[0].startswith(
        "main.cf header_checks: lookup table type 'pcre' in 'pcre:/etc/postfix/header_checks'"
    )
    assert "install the package that provides it" in errors[0]
    assert errors[1].startswith(
        "master.cf submission/inet -o smtpd_sender_login_maps: lookup table type 'cdb'"
    )
    assert cfg.check_tables(main, services, [*MAP_TYPES, "pcre", "cdb"]) == []


# --- addresses ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("all", []),
        ("loopback-only", []),
        ("127.0.0.1, [::1]", ["127.0.0.1", "::1"]),
        ("192.0.2.1 mail.example.test", ["192.0.2.1", "mail.example.test"]),
        ("", []),
    ],
)
def test_interface_hosts(value, expected):
    assert cfg.interface_hosts(value) == expected


def test_listener_hosts():
    services, _unused = parse_master_cf(
        "smtp inet n - y - - smtpd\n127.0.0.1:2525 inet n - y - - smtpd\n[::1]:587 inet n - y - - smtpd\n"
    )
    assert cfg.listener_hosts(services) == [
        ("127.0.0.1:2525/inet", "127.0.0.1"),
        ("[::1]:587/inet", "::1"),
    ]


def test_is_local_address_on_this_machine():
    # bind() only: no packet is sent. 192.0.2.0/24 is TEST-NET-1, never a local address here.
    assert cfg.is_local_address("127.0.0.1") == (True, "")
    ok, detail = cfg.is_local_address("192.0.2.99")
    assert not ok
    assert detail == "192.0.2.99 is not an address of this host"


def test_is_local_address_resolution_failure():
    def getaddrinfo(*args):
        raise socket.gaierror(-2, "Name or service not known")

    ok, detail = cfg.is_local_address("nosuch.invalid", getaddrinfo=getaddrinfo)
    assert not ok
    assert detail.startswith("cannot resolve 'nosuch.invalid'")


def test_is_local_address_checks_every_resolved_address():
    class FakeSocket:
        def __init__(self, family, kind):
            self.family = family

        def bind(self, address):
            if address[0] == "198.51.100.7":
                raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")

        def close(self):
            pass

    def getaddrinfo(host, port, family, kind):
        return [
            (socket.AF_INET, kind, 17, "", ("127.0.0.1", 0)),
            (socket.AF_INET, kind, 17, "", ("198.51.100.7", 0)),
        ]

    assert cfg.is_local_address(
        "mail.example.test", getaddrinfo=getaddrinfo, socket_factory=FakeSocket
    ) == (
        False,
        "198.51.100.7 is not an address of this host",
    )


# --- staging -----------------------------------------------------------------------------------


@pytest.fixture
def live(tmp_path):
    directory = tmp_path / "postfix"
    directory.mkdir()
    (directory / "main.cf").write_text(MAIN)
    (directory / "master.cf").write_text(MASTER)
    (directory / "dynamicmaps.cf").write_text("# empty\n")
    (directory / "sasl").mkdir()
    (directory / "sasl" / "smtpd.conf").write_text("pwcheck_method: saslauthd\n")
    secret = directory / "sasl_passwd"
    secret.write_text("[relay.example.test]:587 user:pass\n")
    secret.chmod(0o600)
    (directory / "makedefs.out").symlink_to("/usr/share/postfix/makedefs.out")
    return directory


def test_stage_is_private_sibling_with_copies(live):
    stage = cfg.make_stage(str(live))
    try:
        assert os.path.dirname(stage) == str(live.parent)
        assert os.path.basename(stage).startswith("postfix.sbs-stage.")
        assert stat.S_IMODE(os.stat(stage).st_mode) == 0o700
        cfg.populate_stage(stage, str(live), "new main\n", "new master\n")
        staged = pathlib.Path(stage)
        assert (staged / "main.cf").read_text() == "new main\n"
        assert (staged / "master.cf").read_text() == "new master\n"
        assert stat.S_IMODE((staged / "main.cf").stat().st_mode) == 0o644
        assert (staged / "sasl" / "smtpd.conf").read_text() == "pwcheck_method: saslauthd\n"
        assert stat.S_IMODE((staged / "sasl_passwd").stat().st_mode) == 0o600
        assert os.readlink(staged / "makedefs.out") == "/usr/share/postfix/makedefs.out"
    finally:
        cfg.remove_stage(stage)
    assert not os.path.exists(stage)
    # The live directory is untouched.
    assert (live / "main.cf").read_text() == MAIN


def test_two_stages_never_collide(live):
    first, second = cfg.make_stage(str(live)), cfg.make_stage(str(live))
    try:
        assert first != second
    finally:
        cfg.remove_stage(first)
        cfg.remove_stage(second)


def test_stage_skips_the_kept_copies(live):
    (live / "sbs-backup" / "20261130T021500Z").mkdir(parents=True)
    stage = cfg.make_stage(str(live))
    try:
        cfg.populate_stage(stage, str(live), "new main\n", "new master\n", skip=("sbs-backup",))
        assert not os.path.exists(os.path.join(stage, "sbs-backup"))
        assert os.path.exists(os.path.join(stage, "dynamicmaps.cf"))
    finally:
        cfg.remove_stage(stage)


# --- kept copies -------------------------------------------------------------------------------

NOW = 1796004300  # 2026-11-30T02:05:00Z


def test_backup_name_is_utc():
    assert cfg.backup_name(NOW) == "20261130T020500Z"
    assert cfg.BACKUP_NAME_RE.match("20261130T020500Z")
    assert cfg.BACKUP_NAME_RE.match("20261130T020500Z-2")
    for name in ("20261130T020500", "2026-11-30T02:05:00Z", "20261130T020500Z.old", "latest"):
        assert not cfg.BACKUP_NAME_RE.match(name), name


def test_keep_copy_of_the_live_pair(live, tmp_path):
    backup_dir = tmp_path / "sbs-backup"
    path = cfg.keep_copy(str(live), str(backup_dir), now=NOW)
    assert path == str(backup_dir / "20261130T020500Z")
    copy = pathlib.Path(path)
    assert sorted(os.listdir(copy)) == ["main.cf", "master.cf"]
    assert (copy / "main.cf").read_bytes() == (live / "main.cf").read_bytes()
    assert (copy / "master.cf").read_bytes() == (live / "master.cf").read_bytes()
    assert stat.S_IMODE(backup_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(copy.stat().st_mode) == 0o700
    assert stat.S_IMODE((copy / "main.cf").stat().st_mode) == 0o600
    assert stat.S_IMODE((copy / "master.cf").stat().st_mode) == 0o600
    assert os.listdir(backup_dir) == ["20261130T020500Z"]  # no temporary directory left


def test_keep_copy_same_second_gets_its_own_directory(live, tmp_path):
    backup_dir = str(tmp_path / "sbs-backup")
    first = cfg.keep_copy(str(live), backup_dir, now=NOW)
    (live / "main.cf").write_text("changed\n")
    second = cfg.keep_copy(str(live), backup_dir, now=NOW)
    third = cfg.keep_copy(str(live), backup_dir, now=NOW)
    assert [os.path.basename(p) for p in (first, second, third)] == [
        "20261130T020500Z",
        "20261130T020500Z-2",
        "20261130T020500Z-3",
    ]
    assert pathlib.Path(first, "main.cf").read_text() == MAIN
    assert pathlib.Path(second, "main.cf").read_text() == "changed\n"


def test_keep_copy_of_only_what_exists(tmp_path):
    directory = tmp_path / "postfix"
    directory.mkdir()
    assert cfg.keep_copy(str(directory), str(tmp_path / "b"), now=NOW) is None
    assert not (tmp_path / "b").exists()
    (directory / "main.cf").write_text(MAIN)
    path = cfg.keep_copy(str(directory), str(tmp_path / "b"), now=NOW)
    assert os.listdir(path) == ["main.cf"]


def test_keep_copy_failure_leaves_nothing_half_written(live, tmp_path, monkeypatch):
    backup_dir = tmp_path / "sbs-backup"

    def rename(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cfg.os, "rename", rename)
    with pytest.raises(OSError, match="No space left"):
        cfg.keep_copy(str(live), str(backup_dir), now=NOW)
    assert os.listdir(backup_dir) == []


def test_prune_keeps_the_newest_and_only_touches_copies(tmp_path):
    backup_dir = tmp_path / "sbs-backup"
    names = [
        "20261128T100000Z",
        "20261129T100000Z",
        "20261129T100000Z-2",
        "20261129T100000Z-10",
        "20261130T020500Z",
    ]
    for name in names:
        (backup_dir / name).mkdir(parents=True)
        (backup_dir / name / "main.cf").write_text(name)
    (backup_dir / "before-migration").mkdir()
    (backup_dir / "README").write_text("kept by hand\n")
    removed = cfg.prune_copies(str(backup_dir), 2)
    assert [os.path.basename(p) for p in removed] == [
        "20261128T100000Z",
        "20261129T100000Z",
        "20261129T100000Z-2",
    ]
    assert sorted(os.listdir(backup_dir)) == [
        "20261129T100000Z-10",
        "20261130T020500Z",
        "README",
        "before-migration",
    ]
    assert cfg.prune_copies(str(backup_dir), 2) == []
    assert cfg.prune_copies(str(tmp_path / "missing"), 2) == []


# --- install_files -----------------------------------------------------------------------------


def leftovers(directory):
    return sorted(name for name in os.listdir(directory) if ".sbs-" in name)


def test_install_replaces_both_and_keeps_mode(live):
    (live / "main.cf").chmod(0o640)
    old_inode = (live / "main.cf").stat().st_ino
    cfg.install_files(str(live), {"main.cf": "a = 1\n", "master.cf": "smtp inet n - y - - smtpd\n"})
    assert (live / "main.cf").read_text() == "a = 1\n"
    assert (live / "master.cf").read_text() == "smtp inet n - y - - smtpd\n"
    assert stat.S_IMODE((live / "main.cf").stat().st_mode) == 0o640
    assert (live / "main.cf").stat().st_ino != old_inode  # renamed into place, not rewritten
    assert leftovers(live) == []


def test_install_creates_missing_file_with_0644(tmp_path):
    cfg.install_files(str(tmp_path), {"main.cf": "a = 1\n"})
    assert stat.S_IMODE((tmp_path / "main.cf").stat().st_mode) == 0o644
    assert leftovers(tmp_path) == []


def test_failed_second_rename_rolls_back_the_first(live):
    calls = []

    def replace(src, dst):
        calls.append((os.path.basename(src), os.path.basename(dst)))
        if dst.endswith("master.cf") and ".sbs-new." in src:
            raise OSError(errno.EIO, "Input/output error")
        os.replace(src, dst)

    with pytest.raises(cfg.InstallError) as exc:
        cfg.install_files(str(live), {"main.cf": "a = 1\n", "master.cf": "x\n"}, replace=replace)
    assert exc.value.rolled_back == ["main.cf"]
    assert "Input/output error" in str(exc.value)
    # Byte for byte the old pair: never a new main.cf with an old master.cf.
    assert (live / "main.cf").read_text() == MAIN
    assert (live / "master.cf").read_text() == MASTER
    assert leftovers(live) == []
    assert calls[-1][1] == "main.cf"  # the roll-back


def test_roll_back_without_hard_links(live):
    def link(src, dst):
        raise OSError(errno.EPERM, "Operation not permitted")

    def replace(src, dst):
        if dst.endswith("master.cf") and ".sbs-new." in src:
            raise OSError(errno.EIO, "Input/output error")
        os.replace(src, dst)

    with pytest.raises(cfg.InstallError) as exc:
        cfg.install_files(
            str(live), {"main.cf": "a = 1\n", "master.cf": "x\n"}, replace=replace, link=link
        )
    assert exc.value.rolled_back == ["main.cf"]
    assert (live / "main.cf").read_text() == MAIN
    assert leftovers(live) == []


def test_failed_first_rename_changes_nothing(live):
    def replace(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(cfg.InstallError) as exc:
        cfg.install_files(str(live), {"main.cf": "a = 1\n", "master.cf": "x\n"}, replace=replace)
    assert exc.value.rolled_back == []
    assert (live / "main.cf").read_text() == MAIN
    assert (live / "master.cf").read_text() == MASTER
    assert leftovers(live) == []


def test_prepare_hook_sees_temp_and_live(live):
    seen = []
    cfg.install_files(
        str(live), {"main.cf": "a = 1\n"}, prepare=lambda tmp, dst: seen.append((tmp, dst))
    )
    assert seen[0][1] == str(live / "main.cf")
    assert ".main.cf.sbs-new." in seen[0][0]


# --- small helpers -----------------------------------------------------------------------------


def test_ensure_newline():
    assert cfg.ensure_newline("a = 1") == "a = 1\n"
    assert cfg.ensure_newline("a = 1\n") == "a = 1\n"
    assert cfg.ensure_newline("") == ""


def test_file_diffs_only_for_changed_files():
    diffs = cfg.file_diffs("/etc/postfix", "a\n", "b\n", MASTER, MASTER)
    assert diffs == [
        {
            "before": "a\n",
            "after": "b\n",
            "before_header": "/etc/postfix/main.cf (live)",
            "after_header": "/etc/postfix/main.cf (new)",
        }
    ]
