# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Import a library on first use.

Private to the sbs.postfix collection: not a public API, may change without notice.

Ansible looks a collection's filter up by loading every file under plugins/filter in each
task's worker process (compiling it from source: the collection loader keeps no bytecode), so
whatever those files import at the top is paid by every task that uses any sbs.postfix filter,
on a controller that runs a hundred such tasks per host (issue 12). The filter files therefore
import their plugin_utils on the first call (``lazy_function``), and only the few filters that
read a key, a certificate or a network import cryptography or netaddr.
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


class LazyFunction:
    """The function ``name`` of a LazyModule, imported on the first call. ``__wrapped__`` is the
    function itself, so ``inspect.signature`` (and the filter documentation test) see its
    parameters."""

    def __init__(self, module, name):
        self._module = module
        self.__name__ = self.__qualname__ = name

    @property
    def __wrapped__(self):
        return getattr(self._module, self.__name__)

    def __call__(self, *args, **kwargs):
        return self.__wrapped__(*args, **kwargs)


def lazy_function(module, name):
    """A LazyFunction for ``name`` of ``module`` (a LazyModule or a module name)."""
    return LazyFunction(module if isinstance(module, LazyModule) else LazyModule(module), name)
