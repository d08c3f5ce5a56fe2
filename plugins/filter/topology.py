# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter that plans one host's part of a multi-host mail system (logic in
plugin_utils/_topology.py)."""

from __future__ import annotations

from ansible_collections.sbs.postfix.plugins.plugin_utils._lazy import lazy_function


class FilterModule:
    """sbs.postfix topology filter."""

    def filters(self):
        return {
            "topology_plan": lazy_function(
                "ansible_collections.sbs.postfix.plugins.plugin_utils._topology", "topology_plan"
            )
        }
