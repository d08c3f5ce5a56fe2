#!/usr/bin/python
# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: audit_info
short_description: Check a Postfix host against the collection's hardening baseline
version_added: 0.1.0
description:
  - Reads the host and returns one finding per check, each with an C(id), a C(title), a
    C(severity) (V(high), V(medium), V(low), V(info)), a C(status) (V(pass), V(fail),
    V(advice)), the C(evidence) it rests on and the C(fix).
  - "Checks: open relay (judged from the result of a real relay attempt, O(relay_probe), made by
    M(sbs.postfix.smtp_probe_info) from another host), TLS protocol floor (real handshakes with
    TLS 1.0, 1.1, 1.2 and 1.3 on every smtpd port), SMTP AUTH only after TLS, VRFY disabled,
    HELO required, client rate limits, the banner without the version, private keys' modes and
    owners (every key the TLS parameters name, in C(main.cf) and C(master.cf), and the DKIM keys
    below O(dkim_key_dirs)), chrooted smtpd services, C(postfix check), DKIM key sizes,
    certificate expiry, and whether the queue has a file system of its own (advice)."
  - The protocol checks talk to the host's own smtpd services over loopback (or the address a
    service listens on) with Python's C(smtplib) and C(ssl); they never send C(DATA), so they
    queue nothing. The relay check cannot be made over loopback, which Postfix always trusts.
  - The module never changes the host and never fails because of a finding; the
    C(sbs.postfix.audit) playbook decides that (C(audit_fail_on)). See C(docs/audit.md).
requirements:
  - C(openssl) on the host (key sizes, certificate dates).
author:
  - sbs.postfix maintainers (@sbs-postfix)
options:
  config_directory:
    description: Postfix's configuration directory.
    type: path
    default: /etc/postfix
  dkim_key_dirs:
    description:
      - Directories searched (three levels deep) for DKIM private keys (PEM files, such as
        OpenDKIM's C(*.private)). Directories that do not exist are skipped.
    type: list
    elements: path
    default: [/etc/dkimkeys]
  relay_probe:
    description:
      - The RV(sbs.postfix.smtp_probe_info#module:probe) result of a relay attempt against this
        host from a client outside the networks it should trust.
      - Without it the open-relay finding is V(advice) ("not tested").
    type: dict
  probe:
    description:
      - Whether to talk to the host's smtpd services. V(false) judges VRFY, HELO and the banner
        from the configuration alone and leaves the TLS and AUTH checks untested (V(advice)).
    type: bool
    default: true
  probe_address:
    description: The address the protocol probes connect to for services that listen on all
      addresses.
    type: str
    default: 127.0.0.1
  cert_expiry_warn_days:
    description: A certificate that expires sooner than this fails (medium); an expired one fails
      high. In days.
    type: int
    default: 21
  fail_on:
    description:
      - Severity at or above which a failed finding is listed in RV(threshold_failures).
        V(none) lists nothing. The module itself never fails because of a finding.
    type: str
    choices: [none, high, medium, low]
    default: none
  label:
    description: The name the Markdown report carries in its heading. Default is the host's name.
    type: str
  timeout:
    description: Time allowed for each SMTP connection and reply, in seconds.
    type: float
    default: 10.0
attributes:
  check_mode:
    description: Can run in check mode and return the same result.
    support: full
    details: The module only reads; it runs the same in check mode.
  diff_mode:
    description: Would return a diff; the module changes nothing, so there is none.
    support: none
notes:
  - C(postfix check) creates queue directories that are missing; a working Postfix has them all.
seealso:
  - module: sbs.postfix.smtp_probe_info
  - module: sbs.postfix.runtime_info
"""

EXAMPLES = r"""
- name: Audit the host without a relay attempt (the open-relay check stays untested)
  sbs.postfix.audit_info:
  register: audit

- name: Try to relay from the controller, then audit with that result
  sbs.postfix.smtp_probe_info:
    host: "{{ ansible_facts['default_ipv4']['address'] }}"
  delegate_to: localhost
  register: relay

- name: Audit, listing failures of high severity
  sbs.postfix.audit_info:
    relay_probe: "{{ relay.probe }}"
    fail_on: high
  register: audit

- name: Stop on a high failure
  ansible.builtin.fail:
    msg: "{{ audit.lines }}"
  when: audit.threshold_failures | length > 0
"""

RETURN = r"""
report:
  description: Everything the audit found, as the C(sbs.postfix.audit) playbook stores it in JSON.
  returned: always
  type: dict
  contains:
    label:
      description: The report's name (O(label)).
      type: str
    audited_at:
      description: When the audit ran (ISO 8601, UTC).
      type: str
      sample: "2026-11-30T05:40:00Z"
    postfix_version:
      description: C(mail_version).
      type: str
    fail_on:
      description: O(fail_on).
      type: str
    summary:
      description: C(passed) and C(advice) (findings), C(failed) (findings per severity).
      type: dict
      sample: {"passed": 10, "advice": 1, "failed": {"high": 1, "medium": 1, "low": 0, "info": 0}}
    findings:
      description: One per check, failures first.
      type: list
      elements: dict
      contains:
        id:
          description: The check, for example V(open_relay) or V(tls_protocol_floor).
          type: str
        title:
          description: What a passing host does.
          type: str
        severity:
          description: How bad a failure of this check is (V(high), V(medium), V(low), V(info));
            checks with several problems take the worst.
          type: str
        status:
          description: V(pass), V(fail), or V(advice) (a suggestion, or a check that could not
            be made).
          type: str
        evidence:
          description: What the check saw (SMTP replies, values in force, modes, dates).
          type: str
        fix:
          description: What to do; empty for a pass.
          type: str
    facts:
      description: What the checks read, C(parameters), C(smtpd_services), C(smtp_probes),
        C(tls_probes), C(private_keys) (modes as octal strings), C(certificates) (C(not_after),
        ISO 8601 UTC), C(dkim_keys) (C(bits) in bits), C(relay_probe).
      type: dict
threshold_failures:
  description: IDs of failed findings at or above O(fail_on).
  returned: always
  type: list
  elements: str
lines:
  description: A short summary, one line per finding that did not pass, then the totals.
  returned: always
  type: list
  elements: str
markdown:
  description: The report as Markdown.
  returned: always
  type: str
"""

import datetime
import socket

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sbs.postfix.plugins.module_utils import _audit
from ansible_collections.sbs.postfix.plugins.module_utils._runner import CommandRunner


def main():
    module = AnsibleModule(
        argument_spec={
            "config_directory": {"type": "path", "default": "/etc/postfix"},
            # names directories, not keys: nothing secret to hide
            "dkim_key_dirs": {
                "type": "list",
                "elements": "path",
                "default": ["/etc/dkimkeys"],
                "no_log": False,
            },
            "relay_probe": {"type": "dict"},
            "probe": {"type": "bool", "default": True},
            "probe_address": {"type": "str", "default": "127.0.0.1"},
            "cert_expiry_warn_days": {"type": "int", "default": 21},
            "fail_on": {"type": "str", "choices": list(_audit.FAIL_ON), "default": "none"},
            "label": {"type": "str"},
            "timeout": {"type": "float", "default": 10.0},
        },
        supports_check_mode=True,
    )
    params = module.params
    now = datetime.datetime.now(datetime.UTC)
    try:
        findings, facts = _audit.audit(
            CommandRunner(module, missing_ok=True),
            config_directory=params["config_directory"],
            dkim_key_dirs=params["dkim_key_dirs"],
            relay=params["relay_probe"],
            probe_address=params["probe_address"],
            probe=params["probe"],
            warn_days=params["cert_expiry_warn_days"],
            timeout=params["timeout"],
            now=now,
        )
    except RuntimeError as exc:
        module.fail_json(msg=str(exc))
    report = {
        "label": params["label"] or socket.getfqdn(),
        "audited_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "postfix_version": facts["parameters"].get("mail_version"),
        "fail_on": params["fail_on"],
        "summary": _audit.summarize(findings),
        "findings": _audit.ordered(findings),
        "facts": facts,
    }
    module.exit_json(
        changed=False,
        report=report,
        threshold_failures=_audit.at_or_above(findings, params["fail_on"]),
        lines=_audit.summary_lines(findings),
        markdown=_audit.render_markdown(report),
    )


if __name__ == "__main__":
    main()
