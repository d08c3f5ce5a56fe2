# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Grafana dashboard in docs/examples/grafana: well formed, on the datasource and host the
user picks, and only on metrics docs/monitoring.md documents or the exporters publish. The
Molecule scenario `monitoring` runs every one of its queries in a real Prometheus."""

from __future__ import annotations

import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[4]
DASHBOARD = json.loads((ROOT / "docs/examples/grafana/sbs-postfix.json").read_text())
PANELS = DASHBOARD["panels"]
EXPRESSIONS = [target["expr"] for panel in PANELS for target in panel["targets"]]
DOCUMENTED = set(
    re.findall(r"^\| `(sbs_postfix_[a-z_]+)`", (ROOT / "docs/monitoring.md").read_text(), re.M)
)
# PromQL words that look like metric names.
KEYWORDS = {
    "sum",
    "avg",
    "by",
    "on",
    "group_left",
    "rate",
    "time",
    "instance",
    "job",
    "mode",
    "queue",
}


def _metrics(expr):
    without_labels = re.sub(r"\{[^}]*\}|\[[^]]*\]|\"[^\"]*\"|\([a-z_, ]*\)", " ", expr)
    return {
        word
        for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", without_labels)
        if word not in KEYWORDS
    }


def test_panels_have_unique_ids_and_fit_the_grid():
    ids = [panel["id"] for panel in PANELS]
    assert len(ids) == len(set(ids))
    for panel in PANELS:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_every_query_uses_the_chosen_datasource_and_host():
    variables = {var["name"] for var in DASHBOARD["templating"]["list"]}
    assert {"datasource", "host"} <= variables
    for panel in PANELS:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            # every selector of the expression names the host
            selectors = re.findall(r"\{([^}]*)\}", target["expr"])
            assert selectors and all('instance=~"$host:.*"' in s for s in selectors), target["expr"]


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_metrics_are_documented_or_from_the_exporters(expr):
    for metric in _metrics(expr):
        assert metric in DOCUMENTED or metric.startswith(("postfix_", "node_")), (
            f"{metric} in {expr} is neither documented in docs/monitoring.md nor an exporter's"
        )


def test_every_documented_check_figure_of_the_seed_has_a_panel():
    used = set().union(*(_metrics(expr) for expr in EXPRESSIONS))
    for metric in (
        "sbs_postfix_master_up",
        "sbs_postfix_queue_messages",
        "sbs_postfix_interval_messages",
        "sbs_postfix_interval_delivery_delay_seconds",
        "sbs_postfix_queue_fs_used_ratio",
        "node_cpu_seconds_total",
        "node_memory_MemAvailable_bytes",
    ):
        assert metric in used
