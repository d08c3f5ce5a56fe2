# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters that say whether a file on the host is what a role would write, and whether the
controller directories a playbook writes to can be written (logic in plugin_utils/_files.py)."""

from __future__ import annotations

from ansible_collections.sbs.postfix.plugins.plugin_utils._lazy import lazy_function

_FILES = "ansible_collections.sbs.postfix.plugins.plugin_utils._files"


class FilterModule:
    """sbs.postfix file filters."""

    def filters(self):
        return {
            "file_changes": lazy_function(_FILES, "file_changes"),
            "controller_dir_problems": lazy_function(_FILES, "controller_dir_problems"),
        }
