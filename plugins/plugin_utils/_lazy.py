# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Import a library on first use.

Private to the sbs.postfix collection: not a public API, may change without notice.

Ansible looks a collection's filter up by loading every file under plugins/filter in each
task's worker process, so whatever those files import at the top is paid by every task that
uses any sbs.postfix filter: cryptography and netaddr cost about 20 ms there, on a controller
that runs a hundred such tasks per host (issue 12). Only the few filters that read a key, a
certificate or a network need them.
"""

from __future__ import annotations

import importlib
import importlib.util


class LazyModule:
    """Stands for the module ``name``, imported on the first attribute read."""

    def __init__(self, name):
        self._name = name
        self._module = None

    def __getattr__(self, attribute):
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)


def available(name):
    """Whether ``name`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:  # pragma: no cover - a parent package that is missing
        return False
