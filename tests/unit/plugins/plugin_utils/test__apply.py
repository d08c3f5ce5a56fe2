# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest

from ansible_collections.sbs.postfix.plugins.plugin_utils._apply import (
    ApplyError,
    apply_plan,
    contribution_requests,
)

UNCHANGED = {"changed": False, "restart_required": False, "restart_reasons": []}
RELOAD_ONLY = {
    "changed": True,
    "restart_required": False,
    "restart_reasons": [],
    "changed_parameters": ["default_process_limit", "in_flow_delay"],
}
NEEDS_RESTART = {
    "changed": True,
    "restart_required": True,
    "restart_reasons": ["smtp/inet listen backlog changes from 100 to 250"],
    "changed_parameters": ["smtp/inet maxproc"],
}
TUNING_RESTART = {"tuning": {"main": {}, "apply": {"restart": "open-file limit 1024 -> 8192"}}}
TLS_RELOAD = {"tls": {"apply": {"reload": ["certificate default-rsa renewed"]}}}


def test_no_change_does_nothing():
    plan = apply_plan(UNCHANGED, {"tls": {"main": {}}, "dkim": {}})
    assert plan.action == "none"
    assert plan.as_dict() == {
        "action": "none",
        "state": None,
        "reasons": [],
        "restart_reasons": [],
        "reload_reasons": [],
    }


def test_changed_parameters_reload():
    result = apply_plan(RELOAD_ONLY).as_dict()
    assert result["action"] == "reload"
    assert result["state"] == "reloaded"
    assert result["reasons"] == ["main.cf/master.cf changed: default_process_limit, in_flow_delay"]


def test_config_restart_wins_and_keeps_the_reload_reasons():
    result = apply_plan(NEEDS_RESTART, TLS_RELOAD).as_dict()
    assert result["action"] == "restart"
    assert result["reasons"] == [
        "smtp/inet listen backlog changes from 100 to 250",
        "main.cf/master.cf changed: smtp/inet maxproc",
        "certificate default-rsa renewed (tls)",
    ]


def test_a_contributor_restart_alone_restarts():
    result = apply_plan(UNCHANGED, TUNING_RESTART).as_dict()
    assert result["action"] == "restart"
    assert result["reasons"] == ["open-file limit 1024 -> 8192 (tuning)"]


def test_a_contributor_reload_alone_reloads():
    assert apply_plan(UNCHANGED, TLS_RELOAD).action == "reload"


def test_a_restart_found_in_force_restarts():
    plan = apply_plan(UNCHANGED, {}, in_force_restart=["smtpd listen backlog 100, expected 250"])
    assert plan.action == "restart"


def test_started_in_this_run_needs_nothing_more():
    plan = apply_plan(NEEDS_RESTART, {**TUNING_RESTART, **TLS_RELOAD}, started=True)
    result = plan.as_dict()
    assert result["action"] == "none"
    assert result["state"] is None
    assert result["reasons"] == ["Postfix was not running; it started with the new configuration"]
    # What was found is still reported, for the play's output.
    assert len(result["restart_reasons"]) == 2


def test_comment_only_change_still_reloads():
    plan = apply_plan({"changed": True, "restart_required": False, "changed_parameters": []})
    assert plan.reasons == ["main.cf/master.cf changed: comments only"]


def test_requests_in_sorted_contributor_order():
    requests = contribution_requests(
        {"tuning": {"apply": {"reload": "b"}}, "dkim": {"apply": {"reload": "a"}}, "x": None}
    )
    assert requests == {"restart": [], "reload": ["a (dkim)", "b (tuning)"]}


@pytest.mark.parametrize(
    ("apply", "where"),
    [
        ("restart", "sbs_postfix_contributions.tls.apply: 'restart' is not a dictionary"),
        ({"restart": "x", "stop": "y"}, "unknown key(s) stop"),
        ({"reload": ""}, "sbs_postfix_contributions.tls.apply.reload: '' is not a reason"),
        ({"reload": 3}, "sbs_postfix_contributions.tls.apply.reload: 3 is not a reason"),
        ({"restart": ["ok", None]}, "apply.restart: ['ok', None] is not a reason"),
    ],
)
def test_malformed_requests_are_refused_naming_them(apply, where):
    with pytest.raises(ApplyError, match=None) as caught:
        apply_plan(UNCHANGED, {"tls": {"apply": apply}})
    assert where in str(caught.value)


def test_null_request_is_no_request():
    assert apply_plan(UNCHANGED, {"tls": {"apply": {"reload": None}}}).action == "none"


def test_applied_configuration_keys_services_by_name_and_type():
    from ansible_collections.sbs.postfix.plugins.plugin_utils._apply import applied_configuration

    master = [
        {"name": "smtp", "type": "inet", "maxproc": "100"},
        {"name": "smtp", "type": "unix", "maxproc": "-"},
    ]
    applied = applied_configuration({"in_flow_delay": "1s"}, master)
    assert applied == {
        "main": {"in_flow_delay": "1s"},
        "master": {"smtp/inet": {"maxproc": "100"}, "smtp/unix": {"maxproc": "-"}},
    }
    assert applied_configuration(None, None) == {"main": {}, "master": {}}
