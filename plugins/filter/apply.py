# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters behind the server role's one restart-or-reload decision (logic in plugin_utils)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.sbs.postfix.plugins.plugin_utils._lazy import LazyModule, lazy_function

_APPLY = LazyModule("ansible_collections.sbs.postfix.plugins.plugin_utils._apply")


def postfix_apply_plan(config, contributions=None, started=False, in_force_restart=None):
    """Filter: ``{action, state, reasons, restart_reasons, reload_reasons}``."""
    try:
        return _APPLY.apply_plan(config, contributions, started, in_force_restart).as_dict()
    except _APPLY.ApplyError as exc:
        raise AnsibleFilterError(str(exc)) from exc


class FilterModule:
    """sbs.postfix apply filter."""

    def filters(self):
        return {
            "postfix_apply_plan": postfix_apply_plan,
            "postfix_applied": lazy_function(_APPLY, "applied_configuration"),
        }
