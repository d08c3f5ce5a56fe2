# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's main() the way Ansible does and return what it printed."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args


def run_module(main, args, capsys, check_mode=False, diff=False):
    """Call `main` with `args` as module arguments; return its JSON result plus `rc`."""
    if check_mode:
        args = dict(args, _ansible_check_mode=True)
    if diff:
        args = dict(args, _ansible_diff=True)
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exc.value.code
    return result
