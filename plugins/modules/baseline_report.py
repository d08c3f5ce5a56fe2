#!/usr/bin/python
# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: baseline_report
short_description: Write the before/after evidence report of stored Postfix baselines
version_added: 0.1.0
description:
  - Reads two stored baselines per host (the JSON files the C(sbs.postfix.baseline) playbook
    writes to C(<baseline_dir>/<host>/<YYYYmmddTHHMMSSZ>.json)) and writes a report per host and
    an index over all hosts.
  - Each host gets C(<dest>/<host>/index.html), a self-contained page (inline CSS and SVG
    charts, no JavaScript, no external address, a print stylesheet), and C(<dest>/<host>/report.md)
    with the same content, charts as tables. C(<dest>/index.html) has one row per host (what
    changed, what got worse, findings) linking to each host's page.
  - A report holds every figure before and after with its absolute and relative change and a
    verdict (V(better), V(worse), V(neutral), V(same)) by what the figure means; which part of
    C(delays=) grew when the delivery delay grew; the Postfix settings that changed, with the
    reason of the run's sizing decisions when the stored document has them; findings to act on
    by hand (queue on a rotational disk, queue file system over 80 % used, less than 4 GiB RAM,
    the baseline's warnings); sender-side figures when present; charts of the hourly volume,
    delays, top deferral reasons and queue ages. C(docs/report.md) describes every rule.
  - Everything is checked before anything is written. Every host needs two readable, valid
    baselines and O(dest) must be creatable and writable; otherwise the module fails, writes
    nothing and lists every problem with what to do.
  - Files are written only when their content differs (through a temporary file and an atomic
    rename), so a second run with the same baselines reports no change.
  - >-
    Runs on the controller, where the baselines are; use C(delegate_to: localhost) and
    C(run_once: true).
author:
  - sbs.postfix maintainers (@sbs-postfix)
options:
  baseline_dir:
    description:
      - The directory the C(sbs.postfix.baseline) playbook stored the baselines in; each host
        has a directory of its own below it, named after its inventory host name.
    type: path
    required: true
  hosts:
    description:
      - The inventory host names to report on, in the order of the index page.
    type: list
    elements: str
    required: true
  dest:
    description:
      - The reports directory. Created when missing, with each host's directory below it.
    type: path
    required: true
  before:
    description:
      - The baseline to compare from, for every host. A file name (C(.json) optional) or the
        start of one, such as V(20261128) for that day's newest file.
      - Default is the newest file older than O(after) that was not measured after a change
        (its C(phase) is C(after), written by sbs.postfix.site), else the newest older file.
    type: str
  after:
    description:
      - The baseline to compare to, for every host, in the same forms as O(before).
      - Default is the newest file.
    type: str
  title:
    description:
      - Heading of the index page and of each host's page.
    type: str
    default: Postfix tuning report
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: Reads and checks everything and says which files would change; writes nothing.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
    details: The reports are generated documents; RV(reports) says which files changed.
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: posix
notes:
  - >-
    A stored document may carry C(schema) (absent means 1), C(sizing) (the run's decisions, a
    list of C({parameter, value, reason}) or C({parameter: {value, reason}})) and C(sender)
    (figures of a test sender); a schema other than 1 is refused.
  - The rules behind each verdict, the charts and the files are described in C(docs/report.md).
seealso:
  - module: sbs.postfix.baseline_info
  - module: sbs.postfix.sizing_info
"""

EXAMPLES = r"""
- name: Report on the two newest baselines of every host
  sbs.postfix.baseline_report:
    baseline_dir: "{{ inventory_dir }}/baselines"
    hosts: "{{ ansible_play_hosts_all }}"
    dest: "{{ inventory_dir }}/reports"
  delegate_to: localhost
  run_once: true
  register: report

- name: Show where the index is
  ansible.builtin.debug:
    msg: "open {{ report.index }}"
  run_once: true

- name: Compare the first baseline of 28 November with the newest one
  sbs.postfix.baseline_report:
    baseline_dir: /srv/evidence/baselines
    hosts: [mx1.example.net, mx2.example.net]
    dest: /srv/evidence/reports
    before: "20261128"
    title: Postfix tuning, December 2026
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
index:
  description: Path of the index page over all hosts.
  returned: success
  type: str
  sample: /srv/inventory/reports/index.html
index_changed:
  description: Whether the index page was (or in check mode would be) written.
  returned: success
  type: bool
reports:
  description: One entry per host, keyed by inventory host name.
  returned: success
  type: dict
  contains:
    html:
      description: Path of the host's HTML page.
      type: str
      sample: /srv/inventory/reports/mx1.example.net/index.html
    markdown:
      description: Path of the host's Markdown report.
      type: str
      sample: /srv/inventory/reports/mx1.example.net/report.md
    changed:
      description: Whether either file was (or in check mode would be) written.
      type: bool
    before:
      description: File name of the baseline compared from.
      type: str
      sample: 20261128T090000Z.json
    after:
      description: File name of the baseline compared to.
      type: str
      sample: 20261205T090000Z.json
    better:
      description: Number of figures whose verdict is V(better), in figures.
      type: int
    worse:
      description: Number of figures whose verdict is V(worse), in figures.
      type: int
    neutral:
      description: Number of figures whose verdict is V(neutral), in figures.
      type: int
    same:
      description: Number of figures whose verdict is V(same), in figures.
      type: int
    worse_figures:
      description: Names of the figures that got worse, as the report prints them.
      type: list
      elements: str
      sample: ["Delivery delay p95", "delays= before_qmgr p95"]
    settings_changed:
      description: Postfix settings whose value differs between the two baselines
        (C(main.cf) names; master.cf services as C(<service> maxproc)).
      type: list
      elements: str
      sample: [default_process_limit, smtp/inet maxproc]
    findings:
      description: What to act on by hand, from the after baseline, each C(severity)
        (V(warning) or V(info)) and C(message).
      type: list
      elements: dict
      sample: [{"severity": "warning", "message": "only 2.0 GiB RAM (less than 4 GiB): ..."}]
problems:
  description: When the module fails, every problem found, each saying what to do.
  returned: failure
  type: list
  elements: str
  sample: ["mx3: only one baseline in /srv/inventory/baselines/mx3 (20261128T093000Z.json); run
    sbs.postfix.baseline again after the change"]
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sbs.postfix.plugins.module_utils import _report


def _current(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _write(module, path, data):
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".baseline_report.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main():
    module = AnsibleModule(
        argument_spec={
            "baseline_dir": {"type": "path", "required": True},
            "hosts": {"type": "list", "elements": "str", "required": True},
            "dest": {"type": "path", "required": True},
            "before": {"type": "str"},
            "after": {"type": "str"},
            "title": {"type": "str", "default": _report.DEFAULT_TITLE},
        },
        supports_check_mode=True,
    )
    params = module.params
    hosts = list(dict.fromkeys(params["hosts"]))
    dest = params["dest"]
    pairs, problems = _report.collect_pairs(
        params["baseline_dir"], hosts, params["before"], params["after"]
    )
    problems += _report.destination_problems(dest, hosts)
    if problems:
        module.fail_json(
            msg="nothing was written; {} problem{}: {}".format(
                len(problems), "" if len(problems) == 1 else "s", " | ".join(problems)
            ),
            problems=problems,
        )

    files, reports = _report.render_all(pairs, hosts, dest, params["title"])
    written = set()
    for path, text in files:
        data = text.encode("utf-8")
        if _current(path) == data:
            continue
        written.add(path)
        if not module.check_mode:
            try:
                _write(module, path, data)
            except OSError as exc:
                module.fail_json(
                    msg=f"cannot write {path}: {exc.strerror or exc}",
                    written=sorted(written - {path}),
                )

    result = {"changed": bool(written), "reports": {}}
    for report in reports:
        paths = _report.report_paths(dest, report["host"])
        result["reports"][report["host"]] = {
            "html": paths["html"],
            "markdown": paths["markdown"],
            "changed": bool(written & set(paths.values())),
            "before": report["before"]["name"],
            "after": report["after"]["name"],
            **report["counts"],
            "worse_figures": report["worse"],
            "settings_changed": [row["name"] for row in report["settings"]],
            "findings": report["findings"],
        }
    result["index"] = os.path.join(dest, "index.html")
    result["index_changed"] = result["index"] in written
    module.exit_json(**result)


if __name__ == "__main__":
    main()
