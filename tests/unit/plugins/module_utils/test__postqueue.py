# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Unit tests for the ``postqueue -j`` summary (real output captured from Postfix 3.7)."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.sbs.postfix.plugins.module_utils._postqueue import (
    QSHAPE_BUCKETS,
    parse_postqueue_json,
)

FIXTURE = os.path.join(
    os.path.dirname(__file__),
    "..",
    "..",
    "fixtures",
    "maillog",
    "postqueue-j-deb12.json",
)


def _real():
    with open(FIXTURE, encoding="utf-8") as handle:
        return handle.read()


def test_real_output_counts_and_bytes_per_queue():
    text = _real()
    entries = [json.loads(line) for line in text.splitlines()]
    arrival = min(e["arrival_time"] for e in entries)
    result = parse_postqueue_json(text, now=arrival + 30)
    assert result["deferred"]["count"] == 6
    assert result["hold"]["count"] == 1
    assert result["active"]["count"] == 0
    assert result["total"]["count"] == 7
    assert result["total"]["bytes"] == sum(e["message_size"] for e in entries)
    assert result["deferred"]["recipients"] == 2 * 3 + 4
    assert result["oldest_age_seconds"] == 30
    assert result["age_histogram"][0] == {"max_minutes": 5, "count": 7}
    assert result["invalid_lines"] == 0


def test_empty_queue_prints_nothing():
    result = parse_postqueue_json("", now=0)
    assert result["total"] == {"count": 0, "bytes": 0, "recipients": 0}
    assert result["oldest_age_seconds"] is None
    assert [b["max_minutes"] for b in result["age_histogram"]] == [*QSHAPE_BUCKETS, None]


@pytest.mark.parametrize(
    "age_minutes, index",
    [
        (0, 0),
        (4.9, 0),
        (5, 1),
        (9, 1),
        (10, 2),
        (639, 7),
        (640, 8),
        (1279, 8),
        (1280, 9),
        (99999, 9),
    ],
)
def test_qshape_buckets(age_minutes, index):
    line = json.dumps({"queue_name": "deferred", "arrival_time": 1000, "message_size": 1})
    result = parse_postqueue_json(line, now=1000 + age_minutes * 60)
    assert [b["count"] for b in result["deferred"]["age_histogram"]].index(1) == index


def test_garbage_and_unknown_queue_names_are_reported_not_fatal():
    text = "\n".join(
        [
            "not json",
            "[1, 2]",
            json.dumps({"queue_name": "corrupt", "arrival_time": 10, "message_size": "x"}),
            json.dumps({"queue_name": "active", "message_size": 5}),
        ]
    )
    result = parse_postqueue_json(text, now=100)
    assert result["invalid_lines"] == 2
    assert result["corrupt"]["count"] == 1
    assert result["active"]["bytes"] == 5
    assert result["active"]["oldest_age_seconds"] is None
    assert result["oldest_age_seconds"] == 90
