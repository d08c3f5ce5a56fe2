# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tests for plugins/filter/risks.py: a thin wrapper around plugins/plugin_utils/_risks.py,
whose own tests hold the rules. Here: the name the roles call, the shape they read, and the
error type."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sbs.postfix.plugins.filter.risks import (
    FilterModule,
    postfix_risk_settings,
    postfix_risks,
)


def test_filter_module_exports_postfix_risks():
    assert FilterModule().filters() == {
        "postfix_risks": postfix_risks,
        "postfix_risk_settings": postfix_risk_settings,
    }


def test_shape_the_roles_read():
    report = postfix_risks(
        {"smtpd_tls_protocols": {"value": ">=TLSv1", "variable": "tls_server_protocols"}},
        ["weak_tls_protocols", "nonsense"],
        {"addresses": ["127.0.0.1"], "mem_total": 2**32},
    )
    assert set(report) == {"risks", "failures", "warnings"}
    assert report["failures"][0].startswith("sbs_postfix_accept_risks[1]: 'nonsense'")
    assert report["warnings"][0].startswith("tls_server_protocols: '>=TLSv1' allows TLSv1")


def test_defaults_judge_nothing_extra():
    assert postfix_risks({}) == {"risks": [], "failures": [], "warnings": []}


def test_unjudgeable_input_is_a_filter_error():
    with pytest.raises(AnsibleFilterError, match=r"^server_mynetworks: 'lan' is not a network"):
        postfix_risks({"mynetworks": {"value": ["lan"], "variable": "server_mynetworks"}})
