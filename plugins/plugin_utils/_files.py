# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whether a file on the host already is what a role would write.

Private to the sbs.postfix collection: not a public API, may change without notice.

The roles read their files once with ``sbs.postfix.runtime_info`` (``files``), render what they
would write on the controller, and call a writing module only for a file whose reasons here are
not empty: a no-change run then makes no module call per file (issue 12).
"""

from __future__ import annotations

import hashlib
import os

from ansible_collections.sbs.postfix.plugins.module_utils._paths import (
    can_create_in,
    nearest_existing,
)


def _sha1(content):
    # The digest ansible.builtin.copy compares: of the bytes written, UTF-8 for text.
    data = content if isinstance(content, bytes) else str(content).encode("utf-8")
    return hashlib.sha1(data).hexdigest()


def file_changes(entry, content=None, owner=None, group=None, mode=None, *, kind="file"):
    """What differs between ``entry`` (one ``runtime.files`` item) and the wanted file.

    :param content: the text the role would write; ``None`` to leave the content alone (a
        directory, or a file another task fills).
    :param owner, group: names; ``None`` leaves them alone.
    :param mode: four octal digits as ``runtime_info`` returns them (``"0640"``); an int or
        a shorter string is read as octal. ``None`` leaves it alone.
    :param kind: ``file`` or ``directory``.
    :returns: one short reason per difference, empty when the file is as wanted. A file whose
        state could not be read (``exists`` null) gives a reason, so the role writes it.
    """
    entry = entry or {}
    if entry.get("exists") is None and entry:
        return ["could not be read"]
    if not entry.get("exists"):
        return ["missing"]
    if entry.get("type") != kind:
        return [f"is a {entry.get('type')}, not a {kind}"]
    reasons = []
    if content is not None and entry.get("sha1") != _sha1(content):
        reasons.append("content")
    wanted_mode = None if mode is None else _mode(mode)
    if wanted_mode is not None and entry.get("mode") != wanted_mode:
        reasons.append(f"mode {entry.get('mode')} -> {wanted_mode}")
    if owner is not None and entry.get("owner") != owner:
        reasons.append(f"owner {entry.get('owner')} -> {owner}")
    if group is not None and entry.get("group") != group:
        reasons.append(f"group {entry.get('group')} -> {group}")
    return reasons


def _mode(mode):
    value = mode if isinstance(mode, int) else int(str(mode), 8)
    return f"{value:04o}"


def controller_dir_problems(dirs):
    """One problem per directory the play would write on the controller but cannot.

    :param dirs: ``[{"variable": name, "path": path}, ...]``: the variable that sets the path
        is named in the problem, so the admin knows what to change.
    :returns: a list of messages, empty when every directory exists and can be written, or can
        be created (its nearest existing parent can be written). Nothing is left behind: the
        probe is an anonymous temporary file.
    """
    problems = []
    for entry in dirs:
        variable, path = entry["variable"], str(entry["path"])
        nearest = nearest_existing(path)
        if not os.path.isdir(nearest):
            why = f"{nearest} is not a directory"
        elif not can_create_in(nearest):
            why = f"no write permission on {nearest}"
        else:
            continue
        problems.append(
            f"{variable}: {path} cannot be written ({why}); set {variable} to a directory "
            "this user can write"
        )
    return problems
