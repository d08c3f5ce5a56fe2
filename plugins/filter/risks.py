# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter behind sbs_postfix_accept_risks: unsafe values, refused unless acknowledged (logic in
plugin_utils/_risks.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.sbs.postfix.plugins.plugin_utils._lazy import LazyModule

_RISKS = LazyModule("ansible_collections.sbs.postfix.plugins.plugin_utils._risks")


def postfix_risks(settings, accepted=None, host=None):
    """Filter: ``{risks, failures, warnings}`` for the settings in force."""
    try:
        return _RISKS.risks_report(settings, accepted, host)
    except _RISKS.RiskError as exc:
        raise AnsibleFilterError(str(exc)) from None


def postfix_risk_settings(main_cf, services, inventory=None):
    """Filter: the settings postfix_risks judges, from the server role's merged main.cf and
    master.cf."""
    return _RISKS.server_settings(main_cf, services, inventory)


class FilterModule:
    """sbs.postfix risk filter."""

    def filters(self):
        return {"postfix_risks": postfix_risks, "postfix_risk_settings": postfix_risk_settings}
