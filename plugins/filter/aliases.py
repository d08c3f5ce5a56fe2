# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters for the server role's /etc/aliases: merge the inventory with the SBS defaults, check
the targets, loops and who root and postmaster reach, and list the DMARC report addresses the
dkim role publishes (logic in plugin_utils/_aliases.py)."""

from __future__ import annotations

from ansible_collections.sbs.postfix.plugins.plugin_utils._lazy import lazy_function

_ALIASES = "ansible_collections.sbs.postfix.plugins.plugin_utils._aliases"


class FilterModule:
    """sbs.postfix aliases filters."""

    def filters(self):
        return {
            "postfix_aliases": lazy_function(_ALIASES, "merge_aliases"),
            "postfix_alias_problems": lazy_function(_ALIASES, "alias_problems"),
            "postfix_report_addresses": lazy_function(_ALIASES, "report_addresses"),
        }
