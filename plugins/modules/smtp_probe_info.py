#!/usr/bin/python
# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: smtp_probe_info
short_description: Try to relay through an SMTP server, stopping before any message exists
version_added: 0.1.0
description:
  - Runs on the probe host (usually with C(delegate_to)) and acts as an SMTP client of O(host)
    on O(port) the way a spammer looking for an open relay would, C(EHLO), C(MAIL FROM) and
    C(RCPT TO) a foreign domain, then C(RSET) and C(QUIT).
  - It never sends C(DATA), so even an open relay gets no message to pass on; the verdict is the
    reply to C(RCPT TO). M(sbs.postfix.audit_info) judges the result (O(sbs.postfix.audit_info#module:relay_probe)).
  - The module only reads; a connection that fails is reported in RV(probe.error), not as a
    failure of the task.
  - Run it from a host outside the networks the server should trust; from the server itself
    the attempt comes from loopback, which Postfix trusts, and proves nothing.
author:
  - sbs.postfix maintainers (@sbs-postfix)
options:
  host:
    description: The address (or name) of the server to probe.
    type: str
    required: true
  port:
    description: Its SMTP port.
    type: int
    default: 25
  sender:
    description: The envelope sender of the attempt.
    type: str
    default: sbs-audit@sbs-audit.invalid
  recipient:
    description: A recipient in a domain the server is not the destination for.
    type: str
    default: sbs-audit-relay-test@example.com
  timeout:
    description: Time allowed for the connection and each reply, in seconds.
    type: float
    default: 10.0
attributes:
  check_mode:
    description: Can run in check mode and return the same result.
    support: full
    details: The module changes nothing; it runs the same in check mode.
  diff_mode:
    description: Would return a diff; the module changes nothing, so there is none.
    support: none
seealso:
  - module: sbs.postfix.audit_info
"""

EXAMPLES = r"""
- name: Try to relay through the host from the controller
  sbs.postfix.smtp_probe_info:
    host: 192.0.2.25
  delegate_to: localhost
  register: relay

- name: Show the reply to RCPT TO
  ansible.builtin.debug:
    msg: "{{ relay.probe.rcpt | default(relay.probe.error) }}"
"""

RETURN = r"""
probe:
  description: What the server answered. Replies are C([code, text]).
  returned: always
  type: dict
  contains:
    target:
      description: O(host).
      type: str
    port:
      description: O(port).
      type: int
    source:
      description: The address the connection came from, as the server saw it (unless NAT is in
        between); V(null) when no connection was made.
      type: str
      sample: "10.88.0.7"
    sender:
      description: O(sender).
      type: str
    recipient:
      description: O(recipient).
      type: str
    greeting:
      description: The server's greeting.
      type: list
      sample: [220, "mail.example.test ESMTP"]
    ehlo:
      description: The reply to C(EHLO).
      type: list
    mail:
      description: The reply to C(MAIL FROM).
      type: list
    rcpt:
      description: The reply to C(RCPT TO); a 2xx code means the server would relay.
        Absent when C(MAIL FROM) was refused.
      type: list
      sample: [554, "5.7.1 <sbs-audit-relay-test@example.com>: Relay access denied"]
    error:
      description: Why the attempt stopped early (connection refused, time-out), or V(null).
      type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sbs.postfix.plugins.module_utils import _audit


def main():
    module = AnsibleModule(
        argument_spec={
            "host": {"type": "str", "required": True},
            "port": {"type": "int", "default": 25},
            "sender": {"type": "str", "default": _audit.PROBE_SENDER},
            "recipient": {"type": "str", "default": _audit.PROBE_RECIPIENT},
            "timeout": {"type": "float", "default": 10.0},
        },
        supports_check_mode=True,
    )
    params = module.params
    probe = _audit.relay_attempt(
        params["host"],
        params["port"],
        sender=params["sender"],
        recipient=params["recipient"],
        timeout=params["timeout"],
    )
    module.exit_json(changed=False, probe=probe)


if __name__ == "__main__":
    main()
