# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter that refuses untested systems (logic in plugin_utils/_platform.py)."""

from __future__ import annotations

from ansible_collections.sbs.postfix.plugins.plugin_utils._lazy import lazy_function


class FilterModule:
    """sbs.postfix platform filter."""

    def filters(self):
        return {
            "postfix_platform_problem": lazy_function(
                "ansible_collections.sbs.postfix.plugins.plugin_utils._platform", "platform_problem"
            )
        }
