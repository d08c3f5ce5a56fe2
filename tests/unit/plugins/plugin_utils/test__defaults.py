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
    with pytest.raises(UnknownDefault, match="known: mynetworks"):
        sbs_default("relayhost")
