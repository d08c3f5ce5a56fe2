"""Make `ansible_collections.sbs.postfix` importable from the checkout.

The Makefile links .cache/collections/ansible_collections/sbs/postfix to the repository root;
when the tests run from a copy inside an `ansible_collections/sbs/postfix` tree (ansible-test),
that tree's root is used instead.
"""

from __future__ import annotations

import os
import sys

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
