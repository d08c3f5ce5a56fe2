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


class FakeCommands:
    """Stands in for the programs a module runs, at the ``run_command`` boundary.

    ``outputs`` maps the start of a command line (program base name and arguments, joined with
    spaces: ``"postconf -c /etc/postfix -M"``) to ``(rc, stdout, stderr)`` or to a callable
    that takes the argv list (program base name first) and returns that tuple; the longest
    matching start wins. Programs named in ``missing`` are not installed (``get_bin_path`` finds
    nothing). Every call must be an argument list with the C locale, as the collection's one
    runner (``plugins/module_utils/_runner.py``) passes it. ``calls`` records each command line.
    """

    def __init__(self, outputs=None, missing=()):
        self.outputs = dict(outputs or {})
        self.missing = set(missing)
        self.calls = []

    def install(self, monkeypatch):
        from ansible.module_utils import basic

        fake = self

        def run_command(self, argv, **kwargs):
            return fake.run(argv, **kwargs)

        def get_bin_path(self, name, required=False, opt_dirs=None):
            if name in fake.missing:
                if required:
                    self.fail_json(msg=f'Failed to find required executable "{name}"')
                return None
            return f"/usr/bin/{name}"

        monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
        monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", get_bin_path)
        return self

    def run(self, argv, **kwargs):
        assert isinstance(argv, list), f"a command must be an argument list, got {argv!r}"
        assert kwargs.get("environ_update") == {"LANG": "C", "LC_ALL": "C"}
        args = [argv[0].rpartition("/")[2], *argv[1:]]
        line = " ".join(args)
        self.calls.append(line)
        matches = [key for key in self.outputs if line == key or line.startswith(key + " ")]
        if not matches:
            raise AssertionError(f"unexpected command {argv}")
        answer = self.outputs[max(matches, key=len)]
        return answer(args) if callable(answer) else answer
