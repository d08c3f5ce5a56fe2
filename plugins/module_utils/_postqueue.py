# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Summarise ``postqueue -j`` output (Postfix >= 3.1): the ``queue`` part of baseline_info.

PRIVATE to the sbs.postfix collection: the interface may change without notice.

Runs on the managed host: standard library only, Python 3.11+. Pure functions: text in, data out.

``postqueue -j`` prints one JSON object per queued message (``queue_name``, ``queue_id``,
``arrival_time`` in epoch seconds, ``message_size`` in bytes, ``recipients`` ...); an empty queue
prints nothing.
"""

from __future__ import annotations

import json

QUEUES = ("maildrop", "incoming", "active", "deferred", "hold")

# qshape(1)'s default buckets: -t 5 -b 10, each bucket twice as wide as the one before (minutes)
QSHAPE_BUCKETS = (5, 10, 20, 40, 80, 160, 320, 640, 1280)


def age_buckets(bucket_minutes=QSHAPE_BUCKETS):
    """The empty histogram: ``[{"max_minutes": 5, "count": 0}, ..., {"max_minutes": None}]``."""
    return [{"max_minutes": m, "count": 0} for m in bucket_minutes] + [
        {"max_minutes": None, "count": 0}
    ]


def _bucket_index(age_seconds, bucket_minutes=QSHAPE_BUCKETS):
    minutes = age_seconds / 60.0
    for index, limit in enumerate(bucket_minutes):
        if minutes < limit:
            return index
    return len(bucket_minutes)


def parse_postqueue_json(text, now):
    """Counts, bytes and ages per queue from ``postqueue -j`` output.

    ``now``: epoch seconds the ages are measured against. Returns::

        {"total": {"count", "bytes", "recipients"},
         "<queue>": {"count", "bytes", "recipients", "oldest_age_seconds",
                     "age_histogram": [...]}, ... for each of QUEUES,
         "oldest_age_seconds": int or None, "age_histogram": [...], "invalid_lines": int}

    A queue name Postfix adds in the future is reported under its own name, not dropped.
    """
    result = {}
    for name in QUEUES:
        result[name] = _empty_queue()
    total = {"count": 0, "bytes": 0, "recipients": 0}
    histogram = age_buckets()
    oldest = None
    invalid = 0
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            invalid += 1
            continue
        if not isinstance(entry, dict):
            invalid += 1
            continue
        name = str(entry.get("queue_name") or "unknown")
        queue = result.setdefault(name, _empty_queue())
        size = _int(entry.get("message_size"))
        recipients = entry.get("recipients")
        rcpt = len(recipients) if isinstance(recipients, list) else 0
        queue["count"] += 1
        queue["bytes"] += size
        queue["recipients"] += rcpt
        total["count"] += 1
        total["bytes"] += size
        total["recipients"] += rcpt
        arrival = entry.get("arrival_time")
        if isinstance(arrival, (int, float)) and not isinstance(arrival, bool):
            age = max(0, int(now - arrival))
            index = _bucket_index(age)
            queue["age_histogram"][index]["count"] += 1
            histogram[index]["count"] += 1
            if queue["oldest_age_seconds"] is None or age > queue["oldest_age_seconds"]:
                queue["oldest_age_seconds"] = age
            if oldest is None or age > oldest:
                oldest = age
    result["total"] = total
    result["oldest_age_seconds"] = oldest
    result["age_histogram"] = histogram
    result["invalid_lines"] = invalid
    return result


def _empty_queue():
    return {
        "count": 0,
        "bytes": 0,
        "recipients": 0,
        "oldest_age_seconds": None,
        "age_histogram": age_buckets(),
    }


def _int(value):
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0
