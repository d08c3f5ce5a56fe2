#!/usr/bin/env python3
# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark drivers: ``parse.py parser FILE`` runs baseline_info's log parser over FILE (window
``all``) and prints its counts as JSON; ``parse.py loop FILE`` is the ceiling, a bare Python loop
over the same lines (binary mode, as the parser reads)."""

from __future__ import annotations

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# the collection as Ansible would import it (make collection-link creates this link)
sys.path.insert(0, os.path.join(HERE, "..", "..", ".cache", "collections"))


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "loop":
        n = 0
        with open(path, "rb") as handle:
            for _line in handle:
                n += 1
        print(json.dumps({"lines": n}))
        return
    # imported here, after the collection path is known
    from ansible_collections.sbs.postfix.plugins.module_utils._maillog import (  # noqa: PLC0415
        MailLogParser,
    )

    parser = MailLogParser()
    parser.feed_path(path)
    result = parser.result()
    counts = parser.counts()
    counts["lines"] = parser.lines_read
    counts["open_state"] = parser.open_state()
    counts["delay_p95"] = result["latency"]["delay"]["p95"]
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
