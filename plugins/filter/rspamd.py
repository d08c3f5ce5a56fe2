# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter of the sbs.postfix.rspamd role: its checks, worker sizing and hand-off to the server
role (logic in plugin_utils/_rspamd.py)."""

from __future__ import annotations

from ansible_collections.sbs.postfix.plugins.plugin_utils._lazy import lazy_function


class FilterModule:
    """sbs.postfix rspamd filter."""

    def filters(self):
        return {
            "rspamd_plan": lazy_function(
                "ansible_collections.sbs.postfix.plugins.plugin_utils._rspamd", "rspamd_plan"
            )
        }
