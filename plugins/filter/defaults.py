# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter that reads an SBS default shared by several roles (plugin_utils/_defaults.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.sbs.postfix.plugins.plugin_utils._lazy import LazyModule

_DEFAULTS = LazyModule("ansible_collections.sbs.postfix.plugins.plugin_utils._defaults")


def postfix_sbs_default(name):
    """Filter: the shared SBS default of a main.cf parameter."""
    try:
        return _DEFAULTS.sbs_default(name)
    except _DEFAULTS.UnknownDefault as exc:
        raise AnsibleFilterError(str(exc.args[0])) from exc


class FilterModule:
    """sbs.postfix shared defaults filter."""

    def filters(self):
        return {"postfix_sbs_default": postfix_sbs_default}
