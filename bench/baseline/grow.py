#!/usr/bin/env python3
# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Grow a real Postfix log to a given number of lines for the benchmark.

The real log is repeated; copy k is shifted forward in time by k times the log's span (plus one
second) and every queue id gets a copy prefix, so each copy is a new set of messages and the
grown log reads like a longer day of the same traffic. Lines keep their real format.

Usage: grow.py REAL_LOG LINES OUTPUT
"""

from __future__ import annotations

import re
import sys
import time

STAMP = re.compile(rb"^([A-Z][a-z]{2}) +(\d+) (\d\d):(\d\d):(\d\d) ")
# queue ids where Postfix writes them: after the syslog tag, and where a line names another
# message of this host (bounce notifications, forwarded copies)
QID = re.compile(
    rb"(?<=\]: )[0-9A-F]{6,12}(?=: )|(?<=notification: )[0-9A-F]{6,12}\b"
    rb"|(?<=forwarded as )[0-9A-F]{6,12}\b"
)
MONTHS = [
    b"Jan",
    b"Feb",
    b"Mar",
    b"Apr",
    b"May",
    b"Jun",
    b"Jul",
    b"Aug",
    b"Sep",
    b"Oct",
    b"Nov",
    b"Dec",
]


def epoch(m, year):
    mon = MONTHS.index(m.group(1)) + 1
    return time.mktime(
        (year, mon, int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5)), 0, 0, -1)
    )


def main():
    source, wanted, output = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(source, "rb") as handle:
        lines = handle.read().splitlines()
    year = time.localtime().tm_year
    parsed = []
    for line in lines:
        m = STAMP.match(line)
        if m:
            parsed.append((epoch(m, year), line[m.end() :]))
    start, end = parsed[0][0], parsed[-1][0]
    span = int(end - start) + 1
    written = 0
    copy = 0
    cache = {}
    with open(output, "wb") as out:
        while written < wanted:
            shift = copy * span
            prefix = b"%X" % (copy + 1)
            chunk = []
            for when, rest in parsed:
                t = when + shift
                stamp = cache.get(t)
                if stamp is None:
                    stamp = time.strftime("%b %e %H:%M:%S ", time.localtime(t)).encode()
                    cache[t] = stamp
                chunk.append(stamp + QID.sub(lambda m, p=prefix: p + m.group(0), rest))
                written += 1
                if written >= wanted:
                    break
            out.write(b"\n".join(chunk) + b"\n")
            copy += 1
            if len(cache) > 200_000:
                cache.clear()
    print(f"{written} lines, {copy} copies of {len(parsed)} lines, span {span} s each")


if __name__ == "__main__":
    main()
