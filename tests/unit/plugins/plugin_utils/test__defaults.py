# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest

from ansible_collections.sbs.postfix.plugins.plugin_utils._defaults import (
    UnknownDefault,
    sbs_default,
)


def test_mynetworks_is_the_host_itself():
    assert sbs_default("mynetworks") == ["127.0.0.0/8", "[::1]/128"]


def test_the_caller_gets_a_copy():
    sbs_default("mynetworks").append("0.0.0.0/0")
    assert sbs_default("mynetworks") == ["127.0.0.0/8", "[::1]/128"]


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(UnknownDefault, match="known: message_size_limit, mynetworks"):
        sbs_default("relayhost")


def test_message_size_limit_is_50_mib():
    # The server role writes it and the tuning role sizes queue_minfree from it.
    assert sbs_default("message_size_limit") == 50 * 1024 * 1024
