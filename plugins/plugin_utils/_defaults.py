# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SBS defaults that more than one role needs, defined once.

Private to the sbs.postfix collection: not a public API, may change without notice.

The server role's SBS defaults live in its vars; a value another role must know before the
server role runs (OpenDKIM signs for the networks Postfix relays for; the tuning role keeps
1.5 x the message size limit free on the queue) is defined here and read by both through the
``sbs.postfix.postfix_sbs_default`` filter.
"""

from __future__ import annotations

import copy

SHARED_DEFAULTS = {
    # Trust only the host itself until the admin says more.
    "mynetworks": ["127.0.0.0/8", "[::1]/128"],
    # 50 MiB: office attachments; the tuning role sizes queue_minfree from it.
    "message_size_limit": 52428800,
}


class UnknownDefault(KeyError):
    """No shared SBS default of that name."""


def sbs_default(name):
    """A copy of the shared SBS default of ``name`` (a main.cf parameter name)."""
    if name not in SHARED_DEFAULTS:
        raise UnknownDefault(
            f"no shared SBS default for {name!r}; known: {', '.join(sorted(SHARED_DEFAULTS))}"
        )
    return copy.deepcopy(SHARED_DEFAULTS[name])
