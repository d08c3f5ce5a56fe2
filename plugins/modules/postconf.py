#!/usr/bin/python
# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: postconf
short_description: Set or remove one Postfix main.cf parameter or one master.cf setting
version_added: 0.1.0
description:
  - Changes exactly one setting with Postfix's own C(postconf) command and leaves the rest of
    C(main.cf) and C(master.cf) alone.
  - "What it changes depends on the options given:"
  - O(name) alone is a C(main.cf) parameter (C(postconf -e name=value), C(postconf -X name)).
  - O(service) with O(field) is one field of a master.cf service (C(postconf -F)).
  - O(service) with O(parameter) is one C(-o parameter=value) override of a service
    (C(postconf -P)).
  - O(service) alone is a whole master.cf service entry (C(postconf -M)).
  - Idempotent by comparing with what C(postconf -n), C(-M), C(-F) or C(-P) report (parsed values,
    not checksums), so folding or spacing differences are not changes.
  - "When to use it: a host whose Postfix configuration belongs to someone else (the distribution,
    another tool, an administrator) and needs a few settings. When not: a host managed by the
    C(sbs.postfix.server) role. That role owns C(main.cf) and C(master.cf) completely and writes
    them with M(sbs.postfix.config); a setting made here would be removed by its next run. Put the
    setting in the role's variables instead. Do not mix the two on one host."
  - Does not validate the whole configuration and does not reload Postfix; notify a handler that
    runs C(postfix reload) (or stop and start for C(inet_interfaces) and C(inet_protocols)).
author:
  - sbs.postfix maintainers (@sbs-postfix)
options:
  name:
    description:
      - Name of the C(main.cf) parameter to set or remove.
      - Mutually exclusive with O(service).
    type: str
  value:
    description:
      - The value to set. Required with O(state=present).
      - For a whole service entry (O(service) alone) the complete master.cf line as
        C(postconf -M) prints it, starting with the service name and type, for example
        C(submission inet n - y - - smtpd -o syslog_name=postfix/submission).
      - For O(field=command) the command name and its arguments.
      - Compared after collapsing whitespace.
    type: str
  state:
    description:
      - V(present) sets the value; V(absent) removes the parameter (C(postconf -X)), the C(-o)
        override (C(postconf -P -X)) or the whole service entry (C(postconf -M -X)).
      - A master.cf field cannot be removed; set it to C(-) for Postfix's default.
    type: str
    choices: [present, absent]
    default: present
  service:
    description:
      - A master.cf service as C(name/type), for example C(submission/inet) or C(smtp/unix).
      - The type must be one of C(inet), C(unix), C(unix-dgram), C(fifo), C(pass).
      - Mutually exclusive with O(name).
    type: str
  field:
    description:
      - The master.cf field of O(service) to set, named as C(postconf -F) names it.
      - V(maxproc) is accepted for V(process_limit) and V(unpriv) for V(unprivileged), the
        column names master(5) uses.
      - The service must already exist; create it with O(service) and a whole-entry O(value).
    type: str
    choices: [private, unprivileged, unpriv, chroot, wakeup, process_limit, maxproc, command]
  parameter:
    description:
      - Name of a C(-o parameter=value) override of O(service).
      - The service must already exist.
    type: str
  config_directory:
    description:
      - The Postfix configuration directory (C(postconf -c)); another one than C(/etc/postfix)
        for a secondary instance of a multi-instance setup.
    type: path
    default: /etc/postfix
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads the current value with postconf and reports what would change; runs no editing command.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
    details: Before and after of the one setting, as C(postconf) prints it.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
requirements:
  - Postfix 2.11 or later (C(postconf -F) and C(-P)); C(postconf) on the PATH of the managed host.
  - Root privileges (C(become)) to edit the files.
notes:
  - C(postconf) edits through a temporary file and a rename, so the file is never half written.
  - Warnings that C(postconf) prints (for example about an unknown parameter) are passed on as
    task warnings.
seealso:
  - module: sbs.postfix.config
  - name: postconf(1)
    description: The command this module runs.
    link: https://www.postfix.org/postconf.1.html
"""

EXAMPLES = r"""
- name: Limit message size
  sbs.postfix.postconf:
    name: message_size_limit
    value: "52428800"
  notify: Reload Postfix

- name: Remove a parameter so that Postfix's default applies again
  sbs.postfix.postconf:
    name: smtpd_banner
    state: absent

- name: At most 20 smtpd processes on port 25
  sbs.postfix.postconf:
    service: smtp/inet
    field: maxproc
    value: "20"

- name: Require TLS on the submission service
  sbs.postfix.postconf:
    service: submission/inet
    parameter: smtpd_tls_security_level
    value: encrypt

- name: Add the submission service
  sbs.postfix.postconf:
    service: submission/inet
    value: submission inet n - y - - smtpd -o syslog_name=postfix/submission -o smtpd_tls_security_level=encrypt

- name: Remove the submission service
  sbs.postfix.postconf:
    service: submission/inet
    state: absent

- name: Set a parameter of the second instance
  sbs.postfix.postconf:
    name: inet_interfaces
    value: 192.0.2.25
    config_directory: /etc/postfix-out
"""

RETURN = r"""
target:
  description: What was looked at, as file and key.
  returned: always
  type: str
  sample: "master.cf submission/inet/process_limit"
before:
  description: The value before the task; null if the parameter, override or service was absent.
  returned: always
  type: str
  sample: "100"
after:
  description: The value after the task (in check mode, the value it would have); null if absent.
  returned: always
  type: str
  sample: "20"
command:
  description: The postconf command that was run (or would be run in check mode); empty if nothing changed.
  returned: always
  type: list
  elements: str
  sample: [/usr/sbin/postconf, -c, /etc/postfix, -F, -e, smtp/inet/process_limit=20]
diff:
  description: Before and after of the setting.
  returned: when diff mode is on and the setting changes
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sbs.postfix.plugins.module_utils._postconf import (
    master_entry_line,
    normalize_value,
    parse_master_cf,
    parse_postconf_F,
    parse_postconf_M,
    parse_postconf_n,
    parse_postconf_P,
    parse_service_key,
    service_signature,
    split_messages,
)
from ansible_collections.sbs.postfix.plugins.module_utils._runner import CommandRunner

FIELD_ALIASES = {"maxproc": "process_limit", "unpriv": "unprivileged"}
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


class Postconf:
    def __init__(self, module):
        self.module = module
        self.run = CommandRunner(module)
        self.binary = self.run.path("postconf")
        self.directory = module.params["config_directory"]

    def argv(self, *args):
        return [self.binary, "-c", self.directory, *args]

    def read(self, *args):
        rc, out, err = self.run(self.argv(*args))
        if rc != 0:
            self.module.fail_json(
                msg=f"{' '.join(self.argv(*args))} failed (exit {rc}): {err.strip() or out.strip()}"
            )
        return out

    def edit(self, argv):
        rc, out, err = self.run(argv)
        if rc != 0:
            self.module.fail_json(
                msg=f"{' '.join(argv)} failed (exit {rc}): {err.strip() or out.strip()}"
            )
        warnings, _fatals = split_messages(err)
        for warning in warnings:
            self.module.warn(warning)


def check_name(module, option, value):
    if not value or not set(value) <= _NAME_CHARS:
        module.fail_json(
            msg=f"{option} {value!r} is not a Postfix parameter name (letters, digits, '_', '.', '-')"
        )


def plan_main(pc, name, value, state):
    current = parse_postconf_n(pc.read("-n")).get(name)
    target = f"main.cf {name}"
    if state == "present":
        if current is not None and normalize_value(current) == normalize_value(value):
            return target, current, current, None
        return target, current, value, pc.argv("-e", f"{name}={value}")
    if current is None:
        return target, None, None, None
    return target, current, None, pc.argv("-X", name)


def current_entry(pc, key):
    return parse_postconf_M(pc.read("-M", key)).get(key)


def plan_entry(module, pc, key, value, state):
    target = f"master.cf {key}"
    entry = current_entry(pc, key)
    before = master_entry_line(entry)
    if state == "absent":
        if entry is None:
            return target, None, None, None
        return target, before, None, pc.argv("-M", "-X", key)
    wanted, errors = parse_master_cf(value)
    if errors or len(wanted) != 1 or key not in wanted:
        module.fail_json(
            msg=(
                f"value must be one complete master.cf entry for {key}, starting with "
                f"'{key.replace('/', ' ')}' and 8 fields, got {value!r}"
            )
        )
    if service_signature(entry) == service_signature(wanted[key]):
        return target, before, before, None
    return (
        target,
        before,
        normalize_value(value),
        pc.argv("-M", "-e", f"{key}={normalize_value(value)}"),
    )


def require_service(module, pc, key):
    if current_entry(pc, key) is None:
        module.fail_json(
            msg=(
                f"service {key} is not in {os.path.join(pc.directory, 'master.cf')}; add it first "
                f"with service: {key} and the complete entry as value"
            )
        )


def plan_field(module, pc, key, field, *, value, state):
    target = f"master.cf {key}/{field}"
    if state == "absent":
        module.fail_json(
            msg=f"a master.cf field cannot be removed; set {field} to '-' for Postfix's default"
        )
    require_service(module, pc, key)
    current = parse_postconf_F(pc.read("-F", f"{key}/{field}")).get(key, {}).get(field)
    if current is not None and normalize_value(current) == normalize_value(value):
        return target, current, current, None
    return target, current, value, pc.argv("-F", "-e", f"{key}/{field}={value}")


def plan_parameter(module, pc, key, parameter, *, value, state):
    target = f"master.cf {key} -o {parameter}"
    require_service(module, pc, key)
    current = parse_postconf_P(pc.read("-P", f"{key}/{parameter}")).get(key, {}).get(parameter)
    if state == "absent":
        if current is None:
            return target, None, None, None
        return target, current, None, pc.argv("-P", "-X", f"{key}/{parameter}")
    if current is not None and normalize_value(current) == normalize_value(value):
        return target, current, current, None
    return target, current, value, pc.argv("-P", "-e", f"{key}/{parameter}={value}")


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str"},
            "value": {"type": "str"},
            "state": {
                "type": "str",
                "choices": ["present", "absent"],
                "default": "present",
            },
            "service": {"type": "str"},
            "field": {
                "type": "str",
                "choices": [
                    "private",
                    "unprivileged",
                    "unpriv",
                    "chroot",
                    "wakeup",
                    "process_limit",
                    "maxproc",
                    "command",
                ],
            },
            "parameter": {"type": "str"},
            "config_directory": {"type": "path", "default": "/etc/postfix"},
        },
        mutually_exclusive=[("name", "service"), ("field", "parameter")],
        required_one_of=[("name", "service")],
        required_by={"field": "service", "parameter": "service"},
        required_if=[("state", "present", ("value",))],
        supports_check_mode=True,
    )
    p = module.params
    if p["value"] is not None and ("\n" in p["value"] or "\r" in p["value"]):
        module.fail_json(msg="value must be one line; Postfix folds long values itself")
    pc = Postconf(module)

    if p["name"] is not None:
        check_name(module, "name", p["name"])
        plan = plan_main(pc, p["name"], p["value"], p["state"])
    else:
        parsed = parse_service_key(p["service"])
        if parsed is None:
            module.fail_json(
                msg=(
                    f"service {p['service']!r} must be name/type with type one of "
                    "inet, unix, unix-dgram, fifo, pass (for example submission/inet)"
                )
            )
        key = p["service"]
        if p["field"] is not None:
            field = FIELD_ALIASES.get(p["field"], p["field"])
            plan = plan_field(module, pc, key, field, value=p["value"], state=p["state"])
        elif p["parameter"] is not None:
            check_name(module, "parameter", p["parameter"])
            plan = plan_parameter(
                module, pc, key, p["parameter"], value=p["value"], state=p["state"]
            )
        else:
            plan = plan_entry(module, pc, key, p["value"], p["state"])

    target, before, after, command = plan
    result = {
        "changed": command is not None,
        "target": target,
        "before": before,
        "after": after,
        "command": command or [],
    }
    if command is not None and module._diff:
        result["diff"] = {
            "before": "" if before is None else f"{target} = {before}\n",
            "after": "" if after is None else f"{target} = {after}\n",
            "before_header": f"{target} (before)",
            "after_header": f"{target} (after)",
        }
    if command is not None and not module.check_mode:
        pc.edit(command)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
