#!/usr/bin/python
# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sizing_info
short_description: Derive Postfix, systemd and kernel limits from the detected hardware
version_added: 0.1.0
description:
  - Detects the CPUs, memory and swap (cgroup limits included), the queue directory's file system
    and whether its disk is rotational, whether the host is a container, and the open-files limit
    Postfix's master can be given (the lower of the kernel's C(fs.nr_open) and, in a container
    without CAP_SYS_RESOURCE, PID 1's own hard limit).
  - Reads the current values of every parameter it sizes (C(postconf), C(postconf -M),
    C(/proc/sys), C(systemctl show)).
  - Returns recommended values, each with the one-line reason and the inputs that produced it,
    and findings an administrator should act on by hand. The formulas are explained in
    C(docs/sizing.md) of the collection.
  - Optionally validates administrator overrides (type, range, what the host can grant) and
    returns the final values; a bad override fails the module naming the variable.
  - Optionally reads a baseline measured by M(sbs.postfix.baseline_info) (its result or the file
    the C(sbs.postfix.baseline) playbook stored) from a fixed set of keys (schema version 1, see
    C(docs/sizing.md)). A baseline of another shape or schema fails the module naming what is
    missing or wrong; one with too few messages or too old is reported in RV(sizing.baseline),
    the report and a warning, and ignored.
  - Read-only; never changes the host.
author:
  - sbs.postfix maintainers (@sbs-postfix)
options:
  profile:
    description:
      - How much of the machine Postfix may plan for and how bursty the traffic is.
      - V(small) keeps Postfix's defaults as ceilings (a small office on a shared host).
      - V(medium) is a dedicated small-business mail server.
      - V(burst) plans for newsletters or bulk bursts (more sessions per CPU, larger active queue).
    type: str
    choices: [small, medium, burst]
    default: medium
  baseline:
    description:
      - A measured baseline - the C(baseline) result of M(sbs.postfix.baseline_info), or the
        document the C(sbs.postfix.baseline) playbook stores, C({"host", "baseline"}) (read it
        with the C(ansible.builtin.file) lookup and the C(from_json) filter). Raises limits to
        what was observed, within what the host can hold; RV(sizing.baseline) lists every
        figure read.
      - Read from exactly the keys of baseline_info's schema 1 (C(baseline.schema); a baseline
        without it predates the field and is read as 1). Another schema, a missing or
        non-numeric figure, or any other shape fails the module naming the key, like a bad
        override (the message is in C(errors)).
      - A plain dict of figures (C(peak_concurrency), ...) is not a baseline and is refused.
    type: dict
  baseline_min_messages:
    description:
      - A baseline with fewer received messages than this (C(mail.received)) shows too little
        traffic to size from; it is reported and ignored (sized from the hardware alone).
    type: int
    default: 100
  baseline_max_age_days:
    description:
      - A baseline measured more than this many days before the run is reported and ignored.
        V(0) means no limit.
    type: int
    default: 30
  baseline_variable:
    description:
      - The variable name used in messages about O(baseline) (the tuning role passes
        C(tuning_baseline)); the limits are named C(<name>_min_messages) and
        C(<name>_max_age_days) in them.
    type: str
    default: baseline
  queue_directory:
    description:
      - The directory whose file system and disk are examined.
      - Default is Postfix's C(queue_directory), or C(/var/spool/postfix) when Postfix is not
        installed yet (its nearest existing parent is examined then).
    type: path
  relayhost:
    description:
      - The relayhost Postfix will use (for example the server role's C(server_relayhost)).
        Default is the current main.cf value. With a relayhost all mail has one next hop, which
        allows a higher C(default_destination_concurrency_limit).
    type: str
  message_size_limit:
    description:
      - The largest message Postfix will accept, in bytes (for example the server role's
        C(server_message_size_limit)). Default is the current main.cf value, or Postfix's
        default (10240000). C(queue_minfree) is at least 1.5 times this.
    type: int
  unit:
    description:
      - The systemd unit that runs Postfix's master. On Debian 12 that is C(postfix@-.service)
        (C(postfix.service) is only a wrapper there); on Debian 13 it is C(postfix.service).
    type: str
    default: postfix@-.service
  overrides:
    description:
      - Administrator overrides keyed by recommendation name (see RV(sizing.recommended)).
        Each is checked for type and range, and C(LimitNOFILE) against what the host can grant,
        before anything changes. Returned merged in RV(sizing.final).
    type: dict
    default: {}
  sysctl_apply:
    description:
      - Whether the caller intends to apply kernel settings now; only shapes RV(sizing.sysctl).
    type: bool
    default: true
  overrides_variable:
    description:
      - The variable name used in error messages about O(overrides) (the tuning role passes
        C(tuning_overrides)).
    type: str
    default: overrides
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Read-only; runs the same in check mode.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
notes:
  - Memory sizes are in bytes, limits in processes or file descriptors, rates per second.
seealso:
  - module: sbs.postfix.baseline_info
  - name: Postfix Performance Tuning (TUNING_README)
    description: The Postfix documentation the formulas follow.
    link: https://www.postfix.org/TUNING_README.html
"""

EXAMPLES = r"""
- name: Size Postfix for this host
  sbs.postfix.sizing_info:
  register: sizing

- name: Show each decision and why
  ansible.builtin.debug:
    msg: "{{ item.key }} = {{ item.value.value }}: {{ item.value.reason }}"
  loop: "{{ sizing.sizing.recommended | dict2items }}"
  loop_control:
    label: "{{ item.key }}"

- name: Size from a measured baseline, for bursts, with one override
  sbs.postfix.sizing_info:
    profile: burst
    baseline: "{{ baseline.baseline }}"
    overrides:
      LimitNOFILE: 65536
    overrides_variable: tuning_overrides
  register: sizing

- name: Size from the baseline the sbs.postfix.baseline playbook stored, if it is recent
  sbs.postfix.sizing_info:
    baseline: "{{ lookup('ansible.builtin.file', inventory_dir ~ '/baselines/mx1/20261129T100000Z.json') | from_json }}"
    baseline_max_age_days: 14
  register: sizing

- name: Say whether the baseline was used
  ansible.builtin.debug:
    msg: "{{ sizing.sizing.baseline.ignored_because or 'baseline used' }}"
"""

RETURN = r"""
sizing:
  description: Detected hardware, current values, recommendations, findings and final values.
  returned: always
  type: dict
  contains:
    profile:
      description: The profile used.
      type: str
      sample: medium
    hardware:
      description: What was detected.
      type: dict
      contains:
        cpus:
          description: CPUs Postfix can use (online CPUs, affinity mask and cgroup quota), in CPUs.
          type: int
          sample: 2
        cpu_model:
          description: CPU model name.
          type: str
          sample: Intel(R) Xeon(R) Processor
        mem_total:
          description: Memory, in bytes (the cgroup limit when lower than the RAM).
          type: int
          sample: 25276510208
        mem_available:
          description: Memory available now, in bytes (informational; sizing uses mem_total).
          type: int
          sample: 24844689408
        swap_total:
          description: Swap, in bytes.
          type: int
          sample: 0
        queue_directory:
          description: Directory examined.
          type: str
          sample: /var/spool/postfix
        queue_filesystem:
          description: >-
            The queue's file system: mount_point, fstype, source, device (kernel name or null),
            rotational (bool or null when unknown), size/used/free in bytes, used_percent and
            inodes_used_percent in percent.
          type: dict
        rotational:
          description: Whether the queue's disk is rotational (HDD); null when unknown (overlay, dm with mixed members).
          type: bool
          sample: false
        container:
          description: Container type (C(podman), C(docker), C(lxc), ...) or null on a host.
          type: str
          sample: podman
        nofile:
          description: >-
            Open-file limits in file descriptors: kernel_nr_open, kernel_file_max,
            systemd (the unit's soft/hard), systemd_default (systemd's DefaultLimitNOFILE
            soft/hard), master (the running master's soft/hard, null when not running),
            init (PID 1's soft/hard), init_can_raise (PID 1 holds CAP_SYS_RESOURCE),
            grantable (the highest LimitNOFILE this host can give Postfix). null = unlimited/unknown.
          type: dict
        load:
          description: Load averages 1m, 5m, 15m in runnable tasks.
          type: dict
    current:
      description: >-
        Current values of what is sized: main.cf parameters (strings as postconf prints them,
        null when Postfix is not installed), C(<name>_maxproc) from master.cf (int; null for
        C(-), meaning default_process_limit), C(LimitNOFILE) of the unit (file descriptors),
        C(smtp_destination_rate_delay) (as Postfix resolves it; the in-queue rule needs 0),
        and sysctls as the kernel prints them (null when not readable).
      type: dict
      sample: {"default_process_limit": "100", "smtpd_maxproc": null, "net.core.somaxconn": "4096"}
    recommended:
      description: >-
        One entry per sized value, each C({value, reason, inputs}): main.cf names
        (default_process_limit, default_destination_concurrency_limit,
        smtpd_client_connection_count_limit, qmgr_message_active_limit, in_flow_delay,
        queue_minfree; smtp_destination_concurrency_limit only when a baseline shows smtp
        deliveries waiting for a relayhost, see docs/sizing.md),
        master.cf maxproc (smtpd_maxproc for smtp/inet, smtp_maxproc for smtp/unix and
        relay/unix, lmtp_maxproc for lmtp/unix), LimitNOFILE (file descriptors) and sysctl keys
        as written in sysctl.d. Counts are processes, connections or messages; in_flow_delay is
        a Postfix duration; the port range is the string C(LOW HIGH).
      type: dict
      sample:
        smtpd_maxproc:
          value: 250
          reason: 125 sessions per CPU (sessions mostly wait on the network) x 2 CPUs
          inputs: {cpus: 2, mem_total: 25276510208, rotational: false, profile: medium}
    findings:
      description: >-
        What to act on by hand, each C({severity, message}); severity is C(warning) or
        C(info).
      type: list
      elements: dict
      sample: [{"severity": "warning", "message": "The queue directory is on a rotational disk ..."}]
    overridden:
      description: Names whose final value comes from O(overrides).
      type: list
      elements: str
      sample: [LimitNOFILE]
    final:
      description: >-
        C({name: value}) after O(overrides), same names and units as
        RV(sizing.recommended).
      type: dict
    sysctl:
      description: >-
        Per kernel setting: C(value) (to write), C(current) (as the kernel prints it, spaces
        collapsed), C(apply) (this host lets the caller set it now), C(changed) (it may be set
        and differs), C(skip) (why it is only written to the file: kernel-global key in a
        container, read-only /proc/sys, missing entry, or O(sysctl_apply=false)).
      type: dict
      sample: {"vm.swappiness": {"value": "10", "current": "60", "apply": false, "changed": false,
               "skip": "global to the kernel: set it on the host, never from inside a podman container"}}
    contribution:
      description: >-
        The C(tuning) entry for the C(sbs_postfix_contributions) fact (see docs/handoff.md):
        C(main) (main.cf parameters), C(master) (C(name/type) -> C({maxproc})) and C(reasons).
      type: dict
      sample: {"main": {"default_process_limit": 250}, "master": {"smtp/inet": {"maxproc": 250}},
               "reasons": {"smtp/inet maxproc": "125 sessions per CPU ..."}}
    file_reasons:
      description: >-
        C({name: reason}) for every sized value, as files carry it beside the value (main.cf
        through RV(sizing.contribution), sysctl.d, the systemd drop-in): the reason of
        RV(sizing.recommended), except that a value a baseline figure moved says so without the
        figures and the date, which change with every measurement (a file that changed with
        them would be rewritten, and Postfix reloaded, on every run).
      type: dict
      sample: {"smtpd_maxproc": "125 sessions per CPU ... x 2 CPUs"}
    report:
      description: >-
        For people: the line about O(baseline) when one was given (used by which values, or
        ignored and why), one line per decision with its reason, then one per finding.
      type: list
      elements: str
      sample: ["smtpd_maxproc = 250 (125 sessions per CPU ... x 2 CPUs)"]
    baseline:
      description: >-
        What was taken from O(baseline). C(used) (bool: the figures moved the sizing),
        C(measured_at) (ISO 8601 UTC), C(messages) (C(mail.received), in messages),
        C(ignored_because) (why a baseline that was given is not used - too few messages, too
        old, no mail part - or null), C(figures) (every figure of the schema, whether used or
        not; C({}) without a baseline). Without O(baseline) C(used) is false and
        C(ignored_because) null.
      type: dict
      contains:
        used:
          description: Whether the sizing used the baseline.
          type: bool
        measured_at:
          description: When the baseline was measured (ISO 8601, UTC); null without a baseline.
          type: str
          sample: "2026-11-29T10:00:00Z"
        messages:
          description: Messages received in the baseline's window, in messages.
          type: int
          sample: 4200
        ignored_because:
          description: Why the baseline is not used; null when it is used or none was given.
          type: str
          sample: "42 messages received, fewer than tuning_baseline_min_messages (100): too few to show the traffic"
        figures:
          description: >-
            The figures, each from one key of baseline_info's result (docs/sizing.md):
            C(measured_at); C(messages), C(reinjected), C(deferred_messages) (messages);
            C(deferral_rate) (deferred_messages / (messages + reinjected), a fraction 0-1);
            C(peak_messages_per_minute) (messages per minute); C(peak_concurrency) (SMTP
            sessions); C(size_average), C(size_p95), C(size_max) (bytes); C(deliveries)
            (recipients); C(delay_p95), C(before_qmgr_p95), C(in_qmgr_p95),
            C(connection_setup_p95), C(transmission_p95) (seconds); C(smtp_deliveries)
            (recipients) and C(smtp_in_qmgr_p95) (seconds) of smtp(8) deliveries;
            C(queue_oldest_age_seconds) (seconds). null where the baseline has no value.
          type: dict
          sample: {"measured_at": "2026-11-29T10:00:00Z", "messages": 4200, "peak_messages_per_minute": 240,
                   "peak_concurrency": 12, "smtp_in_qmgr_p95": 3.2, "smtp_deliveries": 5100, "deferral_rate": 0.004}
    master_services:
      description: Which master.cf services each C(*_maxproc) name applies to.
      type: dict
      sample: {"smtpd_maxproc": ["smtp/inet"], "smtp_maxproc": ["smtp/unix", "relay/unix"]}
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sbs.postfix.plugins.module_utils import _sizing, _sysinfo
from ansible_collections.sbs.postfix.plugins.module_utils._runner import CommandRunner


def _existing(path):
    while path and not os.path.exists(path):
        parent = os.path.dirname(path.rstrip("/")) or "/"
        if parent == path:
            break
        path = parent
    return path


# The smtp transport's rate delay and the default it names unless main.cf sets it.
RATE_DELAYS = ["smtp_destination_rate_delay", "default_destination_rate_delay"]


def rate_delay(values):
    """``smtp_destination_rate_delay`` as Postfix resolves it (``postconf -h`` prints the
    stock ``$default_destination_rate_delay`` unexpanded); ``None`` when Postfix is absent."""
    value = values.get("smtp_destination_rate_delay")
    if value is not None and value.strip() in (
        "$default_destination_rate_delay",
        "${default_destination_rate_delay}",
    ):
        value = values.get("default_destination_rate_delay")
    return value


def read_postfix(run):
    """Current main.cf values and master.cf maxproc, or ``None``s when Postfix is absent."""
    names = [
        *_sizing.MAIN_PARAMETERS,
        "relayhost",
        "queue_directory",
        "message_size_limit",
        *RATE_DELAYS,
    ]
    values = dict.fromkeys(names)
    rc, out, _err = run(["postconf", "-h", *names])
    if rc == 0:
        values = _sizing.parse_postconf_values(names, out)
    values["smtp_destination_rate_delay"] = rate_delay(values)
    maxproc = {}
    services = sorted({s for group in _sizing.MASTER_SERVICES.values() for s in group})
    rc, out, _err = run(["postconf", "-M", *services])
    if rc == 0:
        maxproc = _sizing.parse_master_maxproc(out)
    for name, group in _sizing.MASTER_SERVICES.items():
        values[name] = maxproc.get(group[0])
    return values


def read_baseline(params):
    """``(summary, problems)`` for the ``baseline`` option (``_sizing.read_baseline``), with a
    problem for a negative limit."""
    label = params["baseline_variable"]
    problems = [
        f"{label}_{name} = {params['baseline_' + name]} is below the minimum 0{zero}"
        for name, zero in (("min_messages", ""), ("max_age_days", " (0 means no limit)"))
        if params["baseline_" + name] < 0
    ]
    summary, found = _sizing.read_baseline(
        params["baseline"],
        label,
        min_messages=max(0, params["baseline_min_messages"]),
        max_age_days=max(0, params["baseline_max_age_days"]),
        now=time.time(),
    )
    return summary, problems + found


def main():
    module = AnsibleModule(
        argument_spec={
            "profile": {
                "type": "str",
                "choices": list(_sizing.PROFILES),
                "default": "medium",
            },
            "baseline": {"type": "dict"},
            "queue_directory": {"type": "path"},
            "relayhost": {"type": "str"},
            "message_size_limit": {"type": "int"},
            "unit": {"type": "str", "default": "postfix@-.service"},
            "overrides": {"type": "dict", "default": {}},
            "overrides_variable": {"type": "str", "default": "overrides"},
            "baseline_min_messages": {"type": "int", "default": 100},
            "baseline_max_age_days": {"type": "int", "default": 30},
            "baseline_variable": {"type": "str", "default": "baseline"},
            "sysctl_apply": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    run = CommandRunner(module, missing_ok=True)
    postfix = read_postfix(run)
    queue_directory = (
        module.params["queue_directory"] or postfix.get("queue_directory") or "/var/spool/postfix"
    )
    master_pid = _sysinfo.read_master_pid(queue_directory)
    system = _sysinfo.collect_system(
        _existing(queue_directory),
        run=run,
        unit=module.params["unit"],
        pid=master_pid,
        sysctls=_sizing.SYSCTLS,
    )

    relayhost = module.params["relayhost"]
    if relayhost is None:
        relayhost = postfix.get("relayhost")
    message_size_limit = module.params["message_size_limit"]
    if message_size_limit is None:
        message_size_limit = postfix.get("message_size_limit")
    hardware = _sizing.hardware_from_system(system, relayhost, message_size_limit)
    nofile = system["nofile"]
    overrides, errors = _sizing.validate_overrides(
        module.params["overrides"],
        module.params["overrides_variable"],
        grantable=nofile["grantable"],
        nr_open=nofile["kernel_nr_open"],
    )
    baseline, baseline_errors = read_baseline(module.params)
    if errors or baseline_errors:
        # The tuning role records this message with its other problems (validate.yml).
        kinds = " and ".join(
            kind
            for kind, listed in (("overrides", errors), ("baseline", baseline_errors))
            if listed
        )
        errors = errors + baseline_errors
        module.fail_json(
            msg=f"Invalid {kinds}, nothing was changed: " + "; ".join(errors),
            errors=errors,
        )

    current = {
        name: postfix.get(name) for name in _sizing.MAIN_PARAMETERS + list(_sizing.MASTER_SERVICES)
    }
    current["LimitNOFILE"] = (nofile["systemd"] or {}).get("hard")
    current["smtp_destination_rate_delay"] = postfix.get("smtp_destination_rate_delay")
    current.update(system["sysctl"])

    profile = module.params["profile"]
    figures = baseline["figures"] if baseline["used"] else None
    recommended = _sizing.recommend(hardware, profile, figures, current)
    container = system["container"]["type"] if system["container"]["container"] else None
    fs = system["filesystem"] or {}
    final = _sizing.final_values(recommended, overrides)
    figures = figures or {}
    found = _sizing.findings(
        hardware,
        fs,
        container,
        figures.get("peak_messages_per_minute"),
        figures.get("measured_at"),
    )
    found += _sizing.baseline_findings(figures, hardware, profile, recommended, current)
    baseline_line = _sizing.baseline_report_line(baseline, recommended)
    if baseline["ignored_because"]:
        module.warn(baseline_line)
    writable = {}
    for key in _sizing.SYSCTLS:
        path = "/proc/sys/" + key.replace(".", "/")
        # access() answers EROFS for the read-only /proc/sys of an unprivileged container.
        writable[key] = os.access(path, os.W_OK) if os.path.exists(path) else None
    overridden = sorted(overrides)
    module.exit_json(
        changed=False,
        sizing={
            "profile": profile,
            "hardware": {
                "cpus": hardware["cpus"],
                "cpu_model": system["cpu"]["model"],
                "mem_total": hardware["mem_total"],
                "mem_available": system["memory"]["available"],
                "swap_total": hardware["swap_total"],
                "queue_directory": queue_directory,
                "queue_filesystem": fs,
                "rotational": fs.get("rotational"),
                "container": container,
                "nofile": {
                    "kernel_nr_open": nofile["kernel_nr_open"],
                    "kernel_file_max": nofile["kernel_file_max"],
                    "systemd": nofile["systemd"],
                    "systemd_default": nofile["systemd_default"],
                    "master": nofile["process"],
                    "init": nofile["init"],
                    "init_can_raise": nofile["init_can_raise"],
                    "grantable": nofile["grantable"],
                },
                "load": system["load"],
            },
            "baseline": baseline,
            "current": current,
            "recommended": recommended,
            "findings": found,
            "overridden": overridden,
            "final": final,
            "sysctl": _sizing.sysctl_plan(
                final, current, container, writable, module.params["sysctl_apply"]
            ),
            "contribution": _sizing.contribution(recommended, overridden, final),
            "file_reasons": _sizing.file_reasons(recommended, overridden),
            "report": _sizing.report_lines(recommended, overridden, final, found, baseline_line),
            "master_services": _sizing.MASTER_SERVICES,
        },
    )


if __name__ == "__main__":
    main()
