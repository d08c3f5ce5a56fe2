# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filter for the server role's authenticated relay: credentials, TLS policies and per-sender
relays from the inventory, and every problem with them (logic in plugin_utils/_relay.py)."""

from __future__ import annotations

from ansible_collections.sbs.postfix.plugins.plugin_utils._lazy import lazy_function


class FilterModule:
    """sbs.postfix relay filters."""

    def filters(self):
        return {
            "postfix_relay_plan": lazy_function(
                "ansible_collections.sbs.postfix.plugins.plugin_utils._relay", "relay_plan"
            )
        }
