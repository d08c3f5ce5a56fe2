#!/usr/bin/python
# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: config
short_description: Apply a complete, validated Postfix main.cf and master.cf
version_added: 0.1.0
description:
  - Puts a complete C(main.cf) and C(master.cf) live on a host, but only after Postfix itself
    accepted them.
  - Writes both files to a private staging directory beside O(config_directory) (mode C(0700),
    named C(<config_directory>.sbs-stage.XXXXXX), removed afterwards). The other files of the live
    directory are copied into it so that C($config_directory) references resolve.
  - Validates the staged pair with C(postfix -c STAGE check), C(postconf -c STAGE -n) and
    C(postconf -c STAGE -M). Every Postfix warning (for example C(unused parameter) or
    C(unknown parameter)) is an error unless it matches O(ignore_warnings).
  - Adds the checks Postfix does not make before a daemon trips over the problem at run time
    (see O(main_cf) and O(master_cf)).
  - Only if everything passed, replaces the live files atomically (temporary file in the live
    directory and rename; the old pair is kept until both renames succeeded and put back if the
    second one fails). If validation fails the live files stay byte for byte unchanged.
  - With O(backup_dir), keeps a copy of the live pair it replaces, in
    C(<backup_dir>/<UTC time>/), before the swap (see O(backup_dir)).
  - In check mode with C(--diff) it reports the difference between the live files and the new
    ones without changing anything, which is how to see what adopting an existing, hand-written
    configuration would change.
  - Does not reload or restart Postfix. It returns RV(restart_required) and RV(restart_reasons)
    so that a handler can run C(postfix reload) or a full stop and start.
  - This module owns both files completely. It is what the C(sbs.postfix.server) role uses; to
    change one parameter of a configuration that something else owns, use
    M(sbs.postfix.postconf) instead. Do not use both on the same files, the next run of the role
    would undo the other module's edits.
author:
  - sbs.postfix maintainers (@sbs-postfix)
options:
  main_cf:
    description:
      - The complete content of C(main.cf), usually
        C({{ lookup('ansible.builtin.template', 'etc/postfix/main.cf.j2') }}).
      - A missing final newline is added, so that a template that loses it does not report a
        change on every run.
      - Every C(type:table) lookup table in a parameter that takes tables (C(*_maps), C(*_checks),
        C(*_restrictions), C(mydestination), C(mynetworks), C(relay_domains), ...) must use a type
        listed by C(postconf -m); every address in C(inet_interfaces) must belong to the host.
    type: str
    required: true
  master_cf:
    description:
      - The complete content of C(master.cf).
      - Every service type must be one of C(inet), C(unix), C(unix-dgram), C(fifo), C(pass);
        the y/n, wakeup and process limit fields must have master(5) syntax; every command must
        exist in C(daemon_directory) (or be an absolute path that exists); an inet service that
        names an address must name one of the host's addresses.
    type: str
    required: true
  config_directory:
    description:
      - The Postfix configuration directory to manage; another one than C(/etc/postfix) for a
        secondary instance of a multi-instance setup.
      - Must exist. Its parent directory receives the temporary staging directory.
    type: path
    default: /etc/postfix
  ignore_warnings:
    description:
      - Regular expressions (Python C(re.search)) for Postfix warnings that are not errors.
      - "Matched against the whole warning line, for example
        C(postconf: warning: /etc/postfix/main.cf: unused parameter: foo=bar). Paths in
        messages name O(config_directory), not the staging directory."
      - Ignored warnings are still returned in RV(validation.ignored_warnings).
    type: list
    elements: str
    default: []
  backup_dir:
    description:
      - Where to keep a copy of the live C(main.cf) and C(master.cf) before they are replaced.
        The C(sbs.postfix.server) role passes C(/etc/postfix/sbs-backup).
      - Only when a file actually changes, and never in check mode, the live pair (both files,
        also when only one changes) is copied to C(<backup_dir>/<YYYYmmddTHHMMSSZ>/) (UTC time
        of the change; C(-2), C(-3) ... appended when two changes fall in the same second)
        before the swap. Directories are created with mode C(0700), the copies with C(0600),
        owned by the user the module runs as (root).
      - If the copy cannot be made, the module fails and the live files stay unchanged.
      - Must be an absolute path. Inside O(config_directory) it is not copied into the staging
        directory.
      - Unset (the default), no copies are kept.
    type: path
  backup_keep:
    description:
      - How many copies to keep in O(backup_dir). After a new copy is made, the oldest are
        removed until at most this many remain. Only directories named like a copy
        (C(YYYYmmddTHHMMSSZ), optionally C(-N)) are counted or removed.
      - At least 1.
    type: int
    default: 10
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Stages, validates and compares; never touches the live files.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: >-
      One before/after entry per file whose content changes, with the live path as header; in
      check mode this is the difference between the live files and the new ones.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
requirements:
  - Postfix 3.x (C(postfix) and C(postconf) on the PATH of the managed host).
  - Root privileges (C(become)) to run C(postfix check) and to replace the files.
notes:
  - C(postfix check) also creates missing queue directories and fixes their permissions (that is
    what Postfix's own check does); it never changes the configuration files.
  - Restart versus reload. C(inet_interfaces) and C(inet_protocols) are documented in
    postconf(5) as needing a stop and start; master(8) also applies C(queue_directory) and
    C(import_environment) only at start-up. An inet listener added to or removed from master.cf
    (a changed address or type counts as both) also sets RV(restart_required), so that the
    listening sockets afterwards are exactly those in master.cf. So does a change of an inet
    listener's listen backlog, which master(8) sets to max(maxproc, C(default_process_limit)),
    capped by C(net.core.somaxconn), only when it opens the socket, so a larger process limit
    would otherwise be served through the old accept queue. Everything else is applied by
    C(postfix reload).
seealso:
  - module: sbs.postfix.postconf
  - name: postconf(5)
    description: Postfix configuration parameters.
    link: https://www.postfix.org/postconf.5.html
  - name: master(5)
    description: Postfix master process configuration file format.
    link: https://www.postfix.org/master.5.html
"""

EXAMPLES = r"""
- name: Apply main.cf and master.cf
  sbs.postfix.config:
    main_cf: "{{ lookup('ansible.builtin.template', 'etc/postfix/main.cf.j2') }}"
    master_cf: "{{ lookup('ansible.builtin.template', 'etc/postfix/master.cf.j2') }}"
  register: postfix_config

- name: Restart Postfix when the change needs it, reload it otherwise
  ansible.builtin.systemd_service:
    name: postfix
    state: "{{ 'restarted' if postfix_config.restart_required else 'reloaded' }}"
  when: postfix_config is changed

- name: Apply a configuration that keeps a parameter Postfix calls unused
  sbs.postfix.config:
    main_cf: "{{ main_cf_text }}"
    master_cf: "{{ master_cf_text }}"
    ignore_warnings:
      - "unused parameter: sbs_site_name="

- name: Apply, keeping the ten last replaced pairs in /etc/postfix/sbs-backup/<UTC time>/
  sbs.postfix.config:
    main_cf: "{{ lookup('ansible.builtin.template', 'etc/postfix/main.cf.j2') }}"
    master_cf: "{{ lookup('ansible.builtin.template', 'etc/postfix/master.cf.j2') }}"
    backup_dir: /etc/postfix/sbs-backup
    backup_keep: 10
  register: postfix_config

- name: Show what would change on a second instance, without changing it
  sbs.postfix.config:
    main_cf: "{{ lookup('ansible.builtin.file', 'postfix-out/main.cf') }}"
    master_cf: "{{ lookup('ansible.builtin.file', 'postfix-out/master.cf') }}"
    config_directory: /etc/postfix-out
  check_mode: true
  diff: true
"""

RETURN = r"""
changed:
  description: Whether main.cf or master.cf (would have) changed.
  returned: always
  type: bool
changed_parameters:
  description:
    - main.cf parameters whose effective value differs (added, removed or changed; a re-folded or
      moved line is not a change), followed by master.cf services, as C(name/type), whose fields
      or arguments differ. Computed by parsing both old and new files.
  returned: always
  type: list
  elements: str
  sample: [message_size_limit, smtpd_helo_required, submission/inet]
restart_required:
  description:
    - Whether the change needs C(postfix stop) and C(postfix start) instead of C(postfix reload).
      False when nothing changed.
  returned: always
  type: bool
restart_reasons:
  description: One line per reason for RV(restart_required); empty when a reload suffices.
  returned: always
  type: list
  elements: str
  sample:
    - >-
      main.cf inet_interfaces changed from 'all' to '127.0.0.1' (postconf(5): 'you need to
      stop and start Postfix when this parameter changes'; master(8) ignores the change on
      reload)
    - master.cf inet listener submission/inet added (new listening socket)
removed_stages:
  description:
    - Staging directories (paths) that killed runs had left beside O(config_directory), removed
      before this run staged its own. Empty in check mode.
  returned: always
  type: list
  elements: str
  sample: [/etc/postfix.sbs-stage.k2j4h1]
backup_path:
  description:
    - The directory (path) holding the copy of the live main.cf and master.cf made before they
      were replaced. Null when nothing changed, in check mode, without O(backup_dir), or when
      there were no live files to copy.
  returned: always
  type: str
  sample: /etc/postfix/sbs-backup/20261130T021500Z
diff:
  description: One before/after entry per changed file.
  returned: when diff mode is on and a file changes
  type: list
  elements: dict
  contains:
    before:
      description: Live content.
      type: str
    after:
      description: New content.
      type: str
    before_header:
      description: Live path, with C((live)).
      type: str
    after_header:
      description: Live path, with C((new)).
      type: str
validation:
  description: What was checked and what Postfix said.
  returned: always
  type: dict
  contains:
    commands:
      description: Each Postfix command run on the staged files, with exit status and its output lines.
      type: list
      elements: dict
      sample:
        - {command: "postfix -c /etc/postfix.sbs-stage.x1y2z3 check", rc: 0, output: []}
    checks:
      description: The checks that were made, one line each.
      type: list
      elements: str
    warnings:
      description: Every warning Postfix printed (paths rewritten to O(config_directory)).
      type: list
      elements: str
    ignored_warnings:
      description: The warnings that matched O(ignore_warnings).
      type: list
      elements: str
    other_warnings:
      description:
        - Warnings about another configuration directory's main.cf or master.cf (C(postfix check)
          also runs C(postconf) on the default instance). Reported, not errors, because the new
          files did not cause them.
      type: list
      elements: str
    errors:
      description: Why the configuration was refused; empty when it was accepted.
      type: list
      elements: str
    map_types:
      description: Lookup table types this Postfix supports (C(postconf -m)).
      type: list
      elements: str
    daemon_directory:
      description: Where master.cf commands were looked up.
      type: str
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sbs.postfix.plugins.module_utils._postconf import (
    parse_main_cf,
    parse_master_cf,
    parse_postconf_m,
    parse_postconf_n,
    split_messages,
)
from ansible_collections.sbs.postfix.plugins.module_utils._postfix_config import (
    MAIN_CF,
    MASTER_CF,
    RESTART_INPUTS,
    InstallError,
    changed_parameters,
    check_services,
    check_tables,
    classify_warnings,
    config_lock,
    ensure_newline,
    file_diffs,
    install_files,
    interface_hosts,
    is_local_address,
    keep_copy,
    listener_hosts,
    make_stage,
    populate_stage,
    prune_copies,
    read_text,
    remove_stage,
    restart_reasons,
    staged_to_live,
    stale_stages,
    warnings_about,
)
from ansible_collections.sbs.postfix.plugins.module_utils._runner import CommandRunner
from ansible_collections.sbs.postfix.plugins.module_utils._sysinfo import read_sysctl_int


class Validator:
    """Runs Postfix's own checks on a staged directory and collects what they say."""

    def __init__(self, run, stage, directory):
        self.runner = run
        self.stage = stage
        self.directory = directory
        self.commands = []
        self.warnings = []
        self.other_warnings = []
        self.failures = {}

    def run(self, args, label):
        rc, out, err = self.runner(args)
        warnings, fatals = split_messages(err)
        staged, other = warnings_about(warnings, self.stage)
        for bucket, found in ((self.warnings, staged), (self.other_warnings, other)):
            for warning in found:
                shown = staged_to_live(warning, self.stage, self.directory)
                if shown not in bucket:
                    bucket.append(shown)
        self.commands.append(
            {
                "command": " ".join(self.runner.argv(args)),
                "rc": rc,
                # stdout of postconf is the configuration itself; what Postfix *says* is on stderr.
                "output": [
                    staged_to_live(line, self.stage, self.directory)
                    for line in err.splitlines()
                    if line.strip()
                ][:50],
            }
        )
        if rc != 0:
            silent = (
                f"exit status {rc} and no message on stderr; Postfix logged the reason to the mail "
                "log (journalctl -t postfix/postfix-script -t postfix/postfix)"
            )
            details = [staged_to_live(f, self.stage, self.directory) for f in fatals] or [silent]
            for detail in details:
                self.failures.setdefault(detail, []).append(label)
        return rc, out

    def errors(self):
        """One error per distinct Postfix message, naming every command that printed it."""
        return [f"{', '.join(labels)} failed: {detail}" for detail, labels in self.failures.items()]


def postconf_values(run, directory, names):
    """Effective (expanded) values of ``names`` in ``directory``, or ``{}`` if unreadable."""
    if not os.path.exists(os.path.join(directory, MAIN_CF)):
        return {}
    rc, out, _err = run(["postconf", "-c", directory, "-x", *names])
    return parse_postconf_n(out) if rc == 0 else {}


def validate(run, stage, directory, new_main, new_master, *, ignore_warnings):
    v = Validator(run, stage, directory)
    checks = []

    v.run(["postconf", "-c", stage, "-n"], "postconf -n")
    checks.append("postconf -n: main.cf syntax, unknown and unused parameters")
    v.run(["postconf", "-c", stage, "-M"], "postconf -M")
    checks.append("postconf -M: master.cf syntax")
    v.run(["postfix", "-c", stage, "check"], "postfix check")
    checks.append("postfix check: Postfix's own configuration and file permission check")
    _rc, out = v.run(["postconf", "-c", stage, "-m"], "postconf -m")
    map_types = parse_postconf_m(out)
    _rc, out = v.run(
        ["postconf", "-c", stage, "-x", "-h", "daemon_directory"],
        "postconf daemon_directory",
    )
    daemon_directory = out.strip() or "/usr/lib/postfix/sbin"

    main_params, main_errors = parse_main_cf(new_main)
    services, master_errors = parse_master_cf(new_master)
    # Postfix's own message about a syntax error is better than ours; add ours only if it was silent.
    own_errors = [] if v.failures else [f"main.cf {e}" for e in main_errors]
    own_errors += [f"master.cf {e}" for e in master_errors if not v.failures or "duplicate" in e]
    own_errors += check_services(services, daemon_directory)
    checks.append(
        f"master.cf: service types, field syntax, commands exist in {daemon_directory} or as absolute paths"
    )
    if map_types:
        # Without postconf -m (it failed on a broken main.cf) every table would look unsupported.
        own_errors += check_tables(main_params, services, map_types)
    checks.append(
        "lookup table types used in main.cf and master.cf -o overrides are listed by postconf -m"
    )

    new_effective = postconf_values(run, stage, RESTART_INPUTS)
    for host in interface_hosts(new_effective.get("inet_interfaces", "")):
        ok, detail = is_local_address(host)
        if not ok:
            own_errors.append(f"main.cf inet_interfaces: {detail}")
    for key, host in listener_hosts(services):
        ok, detail = is_local_address(host)
        if not ok:
            own_errors.append(f"master.cf service {key}: {detail}")
    checks.append("inet_interfaces and inet listener addresses belong to this host")

    warning_errors, ignored = classify_warnings(v.warnings, ignore_warnings)
    errors = v.errors() + warning_errors + own_errors
    validation = {
        "commands": v.commands,
        "checks": checks,
        "warnings": v.warnings,
        "ignored_warnings": ignored,
        "other_warnings": v.other_warnings,
        "errors": errors,
        "map_types": map_types,
        "daemon_directory": daemon_directory,
    }
    return validation, new_effective


def stage_skip(directory, backup_dir):
    """The kept copies are not part of the configuration: do not copy them into the stage."""
    if backup_dir is None:
        return ()
    parent, name = os.path.split(os.path.normpath(backup_dir))
    return (name,) if os.path.normpath(parent) == directory else ()


def keep_live_copy(module, directory, backup_dir, keep, result):
    """Copy the live pair into ``backup_dir`` before the swap and prune old copies.

    A copy that cannot be made fails the module with the live files untouched; a copy that
    cannot be pruned is a warning (the new copy exists, there are just more than ``keep``).
    """
    try:
        path = keep_copy(directory, backup_dir)
    except OSError as exc:
        module.fail_json(
            msg=(
                f"cannot keep a copy of {directory}/main.cf and master.cf in {backup_dir}: "
                f"{exc}; live files unchanged"
            ),
            **result,
        )
    try:
        prune_copies(backup_dir, keep)
    except OSError as exc:
        module.warn(f"cannot remove old copies in {backup_dir} (keeping {keep}): {exc}")
    return path


def selinux_preparer(module):
    if not module.selinux_enabled():
        return None

    def prepare(tmp, live):
        context = (
            module.selinux_context(live)
            if os.path.exists(live)
            else module.selinux_default_context(live)
        )
        module.set_context_if_different(tmp, context, False)

    return prepare


def main():
    module = AnsibleModule(
        argument_spec={
            "main_cf": {"type": "str", "required": True},
            "master_cf": {"type": "str", "required": True},
            "config_directory": {"type": "path", "default": "/etc/postfix"},
            "ignore_warnings": {"type": "list", "elements": "str", "default": []},
            "backup_dir": {"type": "path"},
            "backup_keep": {"type": "int", "default": 10},
        },
        supports_check_mode=True,
    )
    directory = os.path.abspath(module.params["config_directory"])
    if not os.path.isdir(directory):
        module.fail_json(msg=f"config_directory {directory} does not exist or is not a directory")
    backup_dir = module.params["backup_dir"]
    if backup_dir is not None and not os.path.isabs(backup_dir):
        module.fail_json(msg=f"backup_dir {backup_dir} must be an absolute path")
    if module.params["backup_keep"] < 1:
        module.fail_json(
            msg=f"backup_keep is {module.params['backup_keep']}; it must be at least 1 "
            "(leave backup_dir unset to keep no copies)"
        )
    new_main = ensure_newline(module.params["main_cf"])
    new_master = ensure_newline(module.params["master_cf"])
    for pattern in module.params["ignore_warnings"]:
        try:
            re.compile(pattern)
        except re.error as exc:
            module.fail_json(
                msg=f"ignore_warnings: {pattern!r} is not a valid regular expression: {exc}"
            )

    run = CommandRunner(module)
    # A host without Postfix fails here, naming the program, before anything is staged.
    for program in ("postfix", "postconf"):
        run.path(program)

    # Serialised per host: staging, validation and the swap happen under one lock, so no
    # other run can stage or swap at the same time, and stages of killed runs can go.
    with config_lock(directory):
        apply_config(module, run, directory, new_main, new_master)


def apply_config(module, run, directory, new_main, new_master):
    """Stage, validate and (unless in check mode) swap, under :func:`config_lock`."""
    backup_dir = module.params["backup_dir"]
    leftovers = stale_stages(directory)
    if leftovers and not module.check_mode:
        for path in leftovers:
            remove_stage(path)
    old_main = read_text(os.path.join(directory, MAIN_CF))
    old_master = read_text(os.path.join(directory, MASTER_CF))

    stage = make_stage(directory)
    try:
        populate_stage(
            stage, directory, new_main, new_master, skip=stage_skip(directory, backup_dir)
        )
        validation, new_effective = validate(
            run,
            stage,
            directory,
            new_main,
            new_master,
            ignore_warnings=module.params["ignore_warnings"],
        )
    finally:
        remove_stage(stage)

    result = {
        "removed_stages": [] if module.check_mode else leftovers,
        "changed": False,
        "changed_parameters": changed_parameters(
            old_main or "", new_main, old_master or "", new_master
        ),
        "restart_required": False,
        "restart_reasons": [],
        "backup_path": None,
        "validation": validation,
    }
    changed = old_main != new_main or old_master != new_master
    if module._diff and changed:
        result["diff"] = file_diffs(
            directory, old_main or "", new_main, old_master or "", new_master
        )

    if validation["errors"]:
        module.fail_json(
            msg=(
                f"Postfix configuration for {directory} refused, live files unchanged: "
                + "; ".join(validation["errors"])
            ),
            **result,
        )

    if not changed:
        module.exit_json(**result)

    old_effective = postconf_values(run, directory, RESTART_INPUTS)
    if old_main is None or old_master is None:
        reasons = [
            f"no previous main.cf and master.cf in {directory}: Postfix starts with the new configuration"
        ]
    elif not old_effective:
        reasons = [
            f"postconf cannot read the live configuration in {directory}, so a reload may not apply the change"
        ]
    else:
        reasons = restart_reasons(
            old_effective,
            new_effective,
            old_master,
            new_master,
            somaxconn=read_sysctl_int("net.core.somaxconn"),
        )
    result.update(changed=True, restart_required=bool(reasons), restart_reasons=reasons)

    if not module.check_mode:
        if backup_dir is not None:
            result["backup_path"] = keep_live_copy(
                module, directory, backup_dir, module.params["backup_keep"], result
            )
        contents = {}
        if old_main != new_main:
            contents[MAIN_CF] = new_main
        if old_master != new_master:
            contents[MASTER_CF] = new_master
        try:
            install_files(directory, contents, prepare=selinux_preparer(module))
        except InstallError as exc:
            module.fail_json(
                msg=f"{exc}; restored: {', '.join(exc.rolled_back) or 'nothing needed restoring'}",
                **result,
            )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
