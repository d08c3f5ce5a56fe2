# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters behind the sbs.postfix.inbound role: check its variables, build its contribution to
the server role and read what postmap said about its maps.

Thin wrappers: the logic lives in plugins/plugin_utils/_inbound.py. Each filter's manual is its
YAML file beside this one (ansible-doc -t filter). The checks return lists of problems, each
naming the role variable, instead of raising.
"""

from __future__ import annotations

from ansible_collections.sbs.postfix.plugins.plugin_utils._lazy import lazy_function

_INBOUND = "ansible_collections.sbs.postfix.plugins.plugin_utils._inbound"


class FilterModule:
    """Filters of the sbs.postfix.inbound role."""

    def filters(self):
        return {
            "inbound_problems": lazy_function(_INBOUND, "problems"),
            "inbound_host_problems": lazy_function(_INBOUND, "host_problems"),
            "inbound_contribution": lazy_function(_INBOUND, "contribution"),
            "inbound_maps": lazy_function(_INBOUND, "map_lines"),
            "inbound_postmap_problems": lazy_function(_INBOUND, "postmap_problems"),
        }
