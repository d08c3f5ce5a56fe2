"""Make `ansible_collections.sbs.postfix` importable from the checkout.

The Makefile links .cache/collections/ansible_collections/sbs/postfix to the repository root;
when the tests run from a copy inside an `ansible_collections/sbs/postfix` tree (ansible-test),
that tree's root is used instead.
"""

from __future__ import annotations

import os
import sys

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.abspath(os.path.join(_HERE, "..", ".."))


def _collections_root() -> str:
    parts = _ROOT.split(os.sep)
    if parts[-3:-2] == ["ansible_collections"]:
        return os.sep.join(parts[:-3])
    link = os.path.join(_ROOT, ".cache", "collections", "ansible_collections", "sbs", "postfix")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(_ROOT, link)
    return os.path.join(_ROOT, ".cache", "collections")


if _collections_root() not in sys.path:
    sys.path.insert(0, _collections_root())


@pytest.fixture
def module_warnings(monkeypatch):
    """Record what a module passes to AnsibleModule.warn.

    The `warnings` key of a module's result is not reliable in unit tests: once controller code
    (filter plugins, ansible.errors) is imported in the same process, ansible-core 2.19 routes
    module warnings elsewhere, so a test that reads result["warnings"] passes alone and fails in
    the full suite. Tests assert on the calls instead.
    """
    from ansible.module_utils import basic

    recorded: list[str] = []
    original = basic.AnsibleModule.warn

    def warn(self, warning, *args, **kwargs):
        recorded.append(warning)
        return original(self, warning, *args, **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, "warn", warn)
    return recorded
