# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whether a directory on the controller can be written, before anything is written there.

Private to the sbs.postfix collection: not a public API, may change without notice. Shared by
the baseline_report module and the controller_dir_problems filter.
"""

from __future__ import annotations

import os
import tempfile


def nearest_existing(path):
    """``path`` itself, or its nearest ancestor that exists (the directory a missing one would
    be created in); ``.`` for a relative path none of whose parts exists."""
    current = os.path.normpath(path)
    while not os.path.lexists(current):
        parent = os.path.dirname(current)
        if parent in ("", current):
            return "."
        current = parent
    return current


def can_create_in(directory):
    """Whether a file can be created in ``directory``. os.access says yes to root everywhere,
    also where nothing can be created (/proc, a read-only mount), so an anonymous temporary
    file is tried; it is gone when closed."""
    if not os.access(directory, os.W_OK | os.X_OK):
        return False
    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False
