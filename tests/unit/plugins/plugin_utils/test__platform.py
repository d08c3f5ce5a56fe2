# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest

from ansible_collections.sbs.postfix.plugins.plugin_utils._platform import (
    platform_is_tested,
    platform_problem,
)


def _facts(name, major, family="Debian"):
    return {"distribution": name, "distribution_major_version": major, "os_family": family}


@pytest.mark.parametrize("major", ["12", "13"])
def test_tested_debian_passes(major):
    assert platform_problem(_facts("Debian", major)) == ""
    assert platform_is_tested(_facts("Debian", major))


@pytest.mark.parametrize(
    "facts",
    [
        _facts("Ubuntu", "24"),
        _facts("Debian", "11"),
        _facts("Debian", "14"),
        _facts("Rocky", "9", "RedHat"),
        {},
    ],
)
def test_untested_systems_are_refused_with_the_way_out(facts):
    problem = platform_problem(facts, role="sbs.postfix.server")
    assert problem.startswith("sbs.postfix.server is tested on Debian 12 and 13 only")
    assert "Nothing was changed" in problem
    assert "sbs_postfix_allow_untested_os: true" in problem
    assert not platform_is_tested(facts)


def test_ubuntu_is_named_with_its_family():
    problem = platform_problem(_facts("Ubuntu", "24"))
    assert "this host runs Ubuntu 24 (Debian family)" in problem


def test_acknowledged_untested_system_passes():
    assert platform_problem(_facts("Ubuntu", "24"), allow_untested=True) == ""
