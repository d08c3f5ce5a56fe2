# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Streaming parser for Postfix log lines (used by baseline_info).

PRIVATE to the sbs.postfix collection: the interface may change without notice.

Runs on the managed host: standard library only, Python 3.11+.

Design, because this has to read millions of lines quickly with a few MB of memory:

* The input is read as **bytes** in blocks of ``BLOCK_SIZE`` and scanned with **one compiled
  regular expression** (``re.finditer``) per block. The expression starts with the literal
  syslog name (``postfix``), so the regex engine (C) jumps from one Postfix line to the next
  and fails fast on the lines the baseline does not need (``message-id=``, TLS chatter);
  other daemons' lines cost nothing. Its repeats are possessive (``*+``, ``++``, Python 3.11):
  a tag, a PID or a queue id that does not fit is not tried again one character shorter, so a
  line the baseline does not need fails after a few steps. Optional fields are written as
  ``(?:field|)`` rather than ``(?:field)?``: the engine checks a branch's first literal
  character in one step but runs its general repeat machinery for ``?`` on a group. Python code
  runs only for the lines that change a figure, and dispatches on the group a match closed last
  (each branch ends with one of its own), fetching only the groups that kind of line needs. One
  pass finds everything, smtpd's connect and disconnect lines included: a second pass over the
  block would cost more than the Python work for those lines. Bytes are never decoded, except
  the few reason texts kept in the result (``errors="replace"``: lines that are not valid UTF-8
  never raise).
* Logs are written in time order, so the window is applied per block: a block wholly inside
  is parsed without converting a single time stamp, a block across an edge is cut at the edge
  (bisection on line stamps), a block outside is skipped. Time stamps that are converted are
  cached per distinct second; classic stamps get their year from the file's date.
* Per-message state exists only for messages still open: the size of a queued message is
  forgotten at ``removed``; the set of received-but-not-yet-queued ids is forgotten when qmgr
  picks the message up. Entries whose end never shows up in the log (a client that drops the
  connection after DATA) are pruned by age (``STATE_MAX_AGE`` seconds of log time).
* Latency figures come from exact value counters (Postfix prints delays with two significant
  digits, so there are few distinct values): percentiles are exact while a counter holds at
  most ``EXACT_LIMIT`` distinct values, after which it folds into log-spaced bins of 1 % width
  (percentiles then within 1 %). Sizes use bins at most 1/128 of their value wide.

Counting rules follow pflogsumm 1.1.5's "Grand Totals" (see docs/baseline.md for the list and
the few deliberate differences).
"""

from __future__ import annotations

import bisect
import calendar
import gzip
import math
import os
import re
import time

BLOCK_SIZE = 1 << 22
EXACT_LIMIT = 4096
STATE_MAX_AGE = 6 * 86400
_STATE_PRUNE_AT = 100_000
REASON_LIMIT = 2000
LATENCY_EXACT_LIMIT = 20000
TOP_N = 10

MONTHS = {
    b"Jan": 1,
    b"Feb": 2,
    b"Mar": 3,
    b"Apr": 4,
    b"May": 5,
    b"Jun": 6,
    b"Jul": 7,
    b"Aug": 8,
    b"Sep": 9,
    b"Oct": 10,
    b"Nov": 11,
    b"Dec": 12,
}

# what a syslog tag is, for the lines that start or end a message (truthy: cached in a dict)
_RECEIVED, _REINJECTION, _PICKUP, _POSTSUPER, _OTHER = 1, 2, 3, 4, 5
_RECEIVING = frozenset((_RECEIVED, _REINJECTION))

# master.cf service names that are ordinary SMTP entry points (not a content-filter return path)
SUBMISSION_SERVICES = frozenset((b"submission", b"submissions", b"smtps", b"smtp", b""))

SIZE_BUCKETS = (
    1024,
    4096,
    16384,
    65536,
    262144,
    1048576,
    4194304,
    16777216,
)

_LINE_TEMPLATE = rb"""
(?P<tag>(?:%(names)s)[^\ \n\[:]*+)
(?:
  # smtpd's sessions: the look-behind keeps other daemons' connects (qmqpd) out.
  # Addresses and relay= are skipped up to their closing character only ([^>], [^,]: one
  # comparison per byte in the engine, where a class that also excludes the newline costs
  # about eight); Postfix writes both whole, so a match never reaches into the next line.
  (?<=/smtpd)\[\d++\]:\ (?:\[ID\ \d++\ [^\]\n]++\]\ |)
  (?:connect\ from\ (?P<connect>)
   |disconnect\ from\ (?:[^\n]*\ commands=(?P<commands>[\d/]++)|)(?P<disconnect>)
  )
 |\[\d++\]:\ (?:\[ID\ \d++\ [^\]\n]++\]\ |)
  (?:(?P<qid>[0-9A-Za-z]++):\ |)
  (?:
    to=<[^>]*+>,\ (?:orig_to=<[^>]*+>,\ |)relay=[^,]++,\ (?:conn_use=\d++,\ |)
    delay=(?P<delays>[\d.]++,\ (?:delays=[\d.]++/[\d.]++/[\d.]++/[\d.]++,\ |))
    (?:tls=[^,\n]*+,\ |)(?:dsn=\d\.\d++\.\d++,\ |)
    status=(?:sent(?:\ \(forwarded\ as\ (?P<forwarded>)|(?P<sent>))|(?P<status>[A-Za-z]++))
   |from=<[^>]*+>,\ (?:size=(?P<size>\d++)|status=expired(?P<expired>))
   |client=(?P<client>)
   |removed(?P<removed>)$
   |(?:uid|sender)=(?P<pickup>)
   |(?P<rej>reject|reject_warning|milter-reject|hold|discard|warning|fatal|panic):[\ ]
   |(?P<notif>sender\ non-delivery|postmaster\ non-delivery|sender\ delay
      |sender\ delivery\ status)\ notification
  )
)
"""

# the time stamp at the start of a line: classic syslog or RFC 3339 (rsyslog, journalctl -o
# short-iso[-precise]); fractions are dropped, the offset kept
_STAMP = re.compile(
    rb"([A-Z][a-z][a-z] +\d\d? \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)"
    rb"(?:[.,]\d+)?(Z|[+-]\d\d:?\d\d)?[ \n]"
)


def _names(syslog_names):
    return b"|".join(re.escape(n if isinstance(n, bytes) else n.encode()) for n in syslog_names)


def compile_line_regex(syslog_names=(b"postfix",)):
    """The one expression that finds every line the baseline needs.

    It starts at the syslog tag (a literal prefix, so the regex engine skips to it at C speed)
    and ends as soon as the figures it needs are captured: the rest of a line is read only for
    the few lines whose reason text is kept.

    ``syslog_names``: prefixes of the syslog tags to accept (``postfix`` also matches
    ``postfix-inst`` of a multi-instance set-up; add a custom ``syslog_name`` here).
    """
    return re.compile(_LINE_TEMPLATE % {b"names": _names(syslog_names)}, re.VERBOSE | re.MULTILINE)


_DEFAULT_RX = compile_line_regex()
# Each branch of the expression ends with a group of its own (most of them empty markers), so
# the last group a match closed (``Match.lastindex``) says which kind of line it is: the parser
# dispatches on that number and fetches only the groups that kind needs. The numbers do not
# depend on the syslog names (those sit in a non-capturing group).
_GROUP = _DEFAULT_RX.groupindex
# groups whose text the parser reads
_TAG, _QID, _DELAYS = _GROUP["tag"], _GROUP["qid"], _GROUP["delays"]
_STATUS, _SIZE, _COMMANDS = _GROUP["status"], _GROUP["size"], _GROUP["commands"]
_REJ, _NOTIF = _GROUP["rej"], _GROUP["notif"]
# the kinds of line (a group that carries text can close its branch too)
_IS_SENT, _IS_FORWARDED, _IS_STATUS = _GROUP["sent"], _GROUP["forwarded"], _STATUS
_IS_SIZE, _IS_EXPIRED, _IS_CLIENT = _SIZE, _GROUP["expired"], _GROUP["client"]
_IS_REMOVED, _IS_PICKUP, _IS_REJ, _IS_NOTIF = _GROUP["removed"], _GROUP["pickup"], _REJ, _NOTIF
_IS_CONNECT, _IS_DISCONNECT = _GROUP["connect"], _GROUP["disconnect"]


class ValueCounter:
    """Counts of values for exact percentiles, folding into 1 % log bins when too varied.

    ``add`` takes the value as the raw bytes from the log (no float conversion per line).
    """

    __slots__ = ("bins", "count", "exact", "limit", "max")

    _RATIO = math.log(1.01)

    def __init__(self, limit=EXACT_LIMIT):
        self.exact = {}
        self.bins = None
        self.count = 0
        self.max = 0.0
        self.limit = limit

    def add(self, raw, n=1):
        exact = self.exact
        exact[raw] = exact.get(raw, 0) + n
        if len(exact) > self.limit:
            self._fold()

    def _fold(self):
        bins = self.bins if self.bins is not None else {}
        for raw, n in self.exact.items():
            value = float(raw)
            self.count += n
            self.max = max(self.max, value)
            index = -1 if value <= 0 else math.floor(math.log(value) / self._RATIO)
            bins[index] = bins.get(index, 0) + n
        self.exact = {}
        self.bins = bins

    def merge(self, other):
        for raw, n in other.exact.items():
            self.exact[raw] = self.exact.get(raw, 0) + n
        if other.bins is not None:
            self._fold()
            self.count += other.count
            self.max = max(self.max, other.max)
            for index, n in other.bins.items():
                self.bins[index] = self.bins.get(index, 0) + n
        if len(self.exact) > self.limit:
            self._fold()

    def _pairs(self):
        pairs = [(float(raw), n) for raw, n in self.exact.items()]
        if self.bins:
            # the geometric middle of a bin: at most 0.5 % away from any value in it
            for index, n in self.bins.items():
                value = 0.0 if index < 0 else math.exp((index + 0.5) * self._RATIO)
                pairs.append((value, n))
        pairs.sort()
        return pairs

    @property
    def exact_mode(self):
        return self.bins is None

    def total(self):
        return self.count + sum(self.exact.values())

    def summary(self, percentiles=(50, 95, 99)):
        """``{"count", "p50", ..., "max", "exact"}``; values in the unit of the input."""
        pairs = self._pairs()
        total = sum(n for _value, n in pairs)
        result = {"count": total}
        for p in percentiles:
            result[f"p{p}"] = _percentile(pairs, total, p)
        top = pairs[-1][0] if pairs else None
        if self.bins is not None:
            top = self.max if not self.exact else max(self.max, *map(float, self.exact))
        result["max"] = top
        result["exact"] = self.bins is None
        return result

    def histogram(self, edges):
        """Counts of values ``<= edge`` for each edge (ascending) plus one for the rest."""
        counts = [0] * (len(edges) + 1)
        for value, n in self._pairs():
            for i, edge in enumerate(edges):
                if value <= edge:
                    counts[i] += n
                    break
            else:
                counts[-1] += n
        return counts

    def mean_and_sum(self):
        pairs = self._pairs()
        total = sum(n for _value, n in pairs)
        acc = sum(v * n for v, n in pairs)
        return (acc / total if total else None), acc


class SizeCounter:
    """Message sizes: count, sum, max and bins whose width is at most 1/128 of their lower
    bound (so a reported percentile is within 0.8 % of the true value); the histogram edges
    (``SIZE_BUCKETS``, powers of two) fall on bin boundaries, so the histogram is exact."""

    __slots__ = ("bins", "count", "max", "total")

    def __init__(self):
        self.bins = {}
        self.count = 0
        self.total = 0
        self.max = 0

    def add_size(self, size, n=1):
        self.count += n
        self.total += size * n
        self.max = max(self.max, size)
        shift = size.bit_length() - 8
        low = size >> shift << shift if shift > 0 else size
        self.bins[low] = self.bins.get(low, 0) + n

    def summary(self):
        pairs = sorted(self.bins.items())
        result = {
            "count": self.count,
            "average": round(self.total / self.count) if self.count else None,
            "max": self.max if self.count else None,
        }
        for p in (50, 95, 99):
            result[f"p{p}"] = _percentile(pairs, self.count, p)
        buckets = [0] * (len(SIZE_BUCKETS) + 1)
        for low, n in pairs:
            buckets[bisect.bisect_right(SIZE_BUCKETS, low)] += n
        result["histogram"] = [
            {"below": edge, "count": n}
            for edge, n in zip([*SIZE_BUCKETS, None], buckets, strict=True)
        ]
        return result


def _percentile(pairs, total, p):
    """Nearest-rank percentile over sorted ``(value, count)`` pairs."""
    if not total:
        return None
    rank = max(1, math.ceil(p / 100.0 * total))
    seen = 0
    for value, n in pairs:
        seen += n
        if seen >= rank:
            return value
    return pairs[-1][0]


def _rest_of_line(data, start):
    """The bytes from ``start`` to the end of its line (blocks end with a newline)."""
    return data[start : data.find(b"\n", start)]


def _client(data, start):
    """The ``client=`` value starting at ``start``: ``name[addr]`` (the line may go on with
    ``, orig_queue_id=...``)."""
    return _rest_of_line(data, start).split(b",", 1)[0]


def _is_loopback(client):
    """``client=`` value ``name[addr]`` (maybe ``:port``): is the address a loopback one?"""
    start = client.find(b"[")
    addr = client[start + 1 : client.find(b"]", start)] if start >= 0 else client
    return addr.startswith(b"127.") or addr in (b"::1", b"ipv6:::1") or addr == b"localhost"


_ANGLE = re.compile(rb"<[^>]*>")
# "host X said: " or "server X said: " before a remote reply; Postfix's own cause comes first
# when there is one ("SASL authentication failed; server X said: 535 ..."), and is kept.
_SAID = re.compile(rb"^(?:([^;]*); (?=host |server ))?.*? said: ")
_HOSTPORT = re.compile(rb"\[[0-9A-Fa-f:.]+\](?::\d+)?")
_LONGNUM = re.compile(rb"\b[0-9A-F]{6,}\b|\d{4,}")
_SPACES = re.compile(rb"\s+")


def normalise_reason(text, limit=120):
    """Make a reason text countable: addresses, host addresses, ids and long numbers become
    placeholders so the same cause from different senders counts as one reason."""
    text = _SAID.sub(lambda m: m.group(1) + b": " if m.group(1) else b"", text, count=1)
    text = _ANGLE.sub(b"<>", text)
    text = _HOSTPORT.sub(b"[]", text)
    text = _LONGNUM.sub(b"N", text)
    text = _SPACES.sub(b" ", text).strip()
    if len(text) > limit:
        text = text[:limit]
    return text.decode("utf-8", "replace")


def _status_reason(rest):
    """`` (reply text)`` after ``status=...`` -> the text inside the outer parentheses."""
    start = rest.find(b"(")
    if start < 0:
        return rest.strip()
    end = rest.rfind(b")")
    return rest[start + 1 : end if end > start else len(rest)]


def _reject_reason(rest):
    """``RCPT from host[addr]: 554 5.7.1 <x>: Relay access denied; from=<...> ...``
    -> ``554 5.7.1 <>: Relay access denied`` (smtpd, postscreen) or, for cleanup's
    ``header Subject: ... from host[addr]; from=<> ...: 5.7.1 text``, the rule and reply."""
    semi = rest.find(b"; from=<")
    head = rest[:semi] if semi >= 0 else rest
    if rest.startswith((b"header ", b"body ", b"END-OF-MESSAGE")):
        # cleanup: the reply text follows the envelope part, after the last ": "
        tail = rest[rest.rfind(b": ") + 2 :] if semi >= 0 else b""
        kind = head.split(b" ", 1)[0]
        return kind + b": " + tail if tail else head
    colon = head.find(b"]: ")
    if colon < 0:
        colon = head.find(b": ")
        return head[colon + 2 :] if colon >= 0 else head
    return head[colon + 3 :]


class _Reasons:
    """Bounded reason counter: after ``REASON_LIMIT`` distinct reasons new ones count as other."""

    __slots__ = ("counts", "other")

    def __init__(self):
        self.counts = {}
        self.other = 0

    def add(self, key):
        counts = self.counts
        if key in counts:
            counts[key] += 1
        elif len(counts) < REASON_LIMIT:
            counts[key] = 1
        else:
            self.other += 1

    def top(self, n=TOP_N):
        ranked = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
        return [dict(key, count=count) for key, count in ((dict(k), c) for k, c in ranked)]


class MailLogParser:
    """Feed it log files (or bytes); ask ``result()`` for the figures.

    ``since``/``until``: epoch seconds (float) bounding the window, ``None`` for open.
    ``now``: epoch used for year inference of classic stamps when the file date is unknown.
    """

    def __init__(self, since=None, until=None, syslog_names=(b"postfix",), now=None):
        self.since = since
        self.until = until
        self.now = time.time() if now is None else now
        self._rx = compile_line_regex(syslog_names)
        # counts (the names of the result)
        self.received = 0
        self.reinjected = 0
        self.delivered = 0
        self.forwarded = 0
        self.deferred = 0
        self.deferred_messages = 0
        self.bounced = 0
        self.expired = 0
        self.rejected = 0
        self.reject_warnings = 0
        self.held = 0
        self.discarded = 0
        self.bytes_received = 0
        self.bytes_delivered = 0
        self.other_status = 0
        self.notifications = {}
        self.removed = 0
        self.removed_by_postsuper = 0
        self.warnings = 0
        self.fatal = 0
        self.panic = 0
        self.smtpd_sessions = 0
        self.peak_concurrency = 0
        self.peak_concurrency_at = None
        self._open_sessions = 0
        self.smtpd_commands = 0
        self.smtpd_commands_failed = 0
        self.smtpd_sessions_with_errors = 0
        # distributions
        self.per_minute = {}
        self.sizes = SizeCounter()
        # (syslog tag, "DELAY, delays=A/B/C/D, ") as logged -> deliveries; folded into by_transport
        self._latency = {}
        self.by_transport = {}  # syslog tag -> [ValueCounter x 5]: delay, a, b, c, d
        self.deferral_reasons = _Reasons()
        self.bounce_reasons = _Reasons()
        self.reject_reasons = _Reasons()
        # sources
        self.files = []
        self.lines_read = 0
        self.lines_recognised = 0
        self.lines_in_window = 0
        self.lines_outside = 0  # lines in blocks that lie wholly outside the window (not parsed)
        self.first = None
        self.last = None
        # per-message state for open messages only
        self._queued = {}  # qid -> [size or 0, epoch first seen]
        self._pending = {}  # qid -> epoch of client=/pickup (not yet seen by qmgr)
        self._deferred_open = {}  # qid -> epoch of first deferral
        self._minute_keys = {}  # minute stamp (bytes) -> messages received, this source
        self._entry_kinds = {}  # syslog tag -> _RECEIVED, _REINJECTION, _PICKUP, ... (a cache)
        self._reason_cache = {}  # (dsn, raw reply) -> counted reason key
        # timestamp cache and year inference
        self._tcache = {}
        self._year = None
        self._last_month = None
        self._year_hint = None

    # ------------------------------------------------------------------ input

    def begin_source(self, mtime=None):
        """Call before each file: the year of classic stamps is inferred from the file's date."""
        self._year = None
        self._last_month = None
        self._year_hint = time.localtime(self.now if mtime is None else mtime)
        self._tcache = {}

    def feed_path(self, path):
        """Read one file (plain or ``.gz``). Raises ``OSError`` when it cannot be read."""
        opener = gzip.open if path.endswith(".gz") else open
        st = os.stat(path)
        with opener(path, "rb") as handle:
            self.begin_source(st.st_mtime)
            lines = self.lines_read
            self.feed_stream(handle)
            self.end_source()
        self.files.append({"path": path, "lines": self.lines_read - lines, "bytes": st.st_size})

    def feed_stream(self, handle, block_size=BLOCK_SIZE):
        """Read a binary stream to its end, block by block."""
        rest = b""
        read = handle.read
        while True:
            block = read(block_size)
            if not block:
                break
            cut = block.rfind(b"\n")
            if cut < 0:
                rest += block
                continue
            self.feed(rest + block[: cut + 1])
            rest = block[cut + 1 :]
        if rest:
            self.feed(rest + b"\n")

    def feed_lines(self, lines):
        """Convenience for tests and small inputs: an iterable of str or bytes lines."""
        if self._year_hint is None:
            self.begin_source()
        data = b"".join(
            (line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line).rstrip(
                b"\n"
            )
            + b"\n"
            for line in lines
        )
        self.feed(data)
        self.end_source()

    # ------------------------------------------------------------ timestamps

    def _epoch(self, ts, off):
        """Seconds since the epoch for a stamp (bytes), cached per distinct second."""
        key = ts + off if off else ts
        value = self._tcache.get(key)
        if value is not None:
            return value
        if len(self._tcache) > 100_000:
            self._tcache = {}
        if ts[4:5] == b"-":  # RFC 3339 / ISO 8601
            y, mo, d = int(ts[0:4]), int(ts[5:7]), int(ts[8:10])
            h, mi, s = int(ts[11:13]), int(ts[14:16]), int(ts[17:19])
            if off and off != b"Z":
                sign = -1 if off[:1] == b"-" else 1
                digits = off[1:].replace(b":", b"")
                offset = sign * (int(digits[:2]) * 3600 + int(digits[2:4]) * 60)
                value = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) - offset
            elif off == b"Z":
                value = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
            else:
                value = time.mktime((y, mo, d, h, mi, s, 0, 0, -1))
        else:
            month = MONTHS.get(ts[:3])
            if month is None:
                return None
            parts = ts[3:].split()
            d = int(parts[0])
            h, mi, s = int(parts[1][0:2]), int(parts[1][3:5]), int(parts[1][6:8])
            year = self._infer_year(month)
            value = time.mktime((year, month, d, h, mi, s, 0, 0, -1))
        self._tcache[key] = value
        return value

    def _infer_year(self, month):
        """Classic stamps carry no year: start from the file's date (a first month later than
        the file's month means last year), then follow December -> January wraps (and back,
        for the odd line logged out of order around midnight on New Year's Eve)."""
        if self._year is None:
            hint = self._year_hint or time.localtime(self.now)
            self._year = hint.tm_year - 1 if month > hint.tm_mon else hint.tm_year
        elif self._last_month is not None and month != self._last_month:
            if month < self._last_month - 6:
                self._year += 1
                self._tcache = {}
            elif month > self._last_month + 6:
                self._year -= 1
                self._tcache = {}
        self._last_month = month
        return self._year

    # ------------------------------------------------------------------ parse

    def feed(self, data):
        """Parse a block of complete lines (bytes ending with a newline).

        Logs are written in time order, so the window is applied per block: a block wholly
        outside is skipped, a block across an edge is cut at the first line inside and the first
        line after (found by bisection), and no line inside is converted to a time at all.
        """
        lines = data.count(b"\n")
        self.lines_read += lines
        span = self._block_span(data)
        if span is None:
            return
        since = self.since
        until = self.until
        t0, t1 = span
        if (since is not None and t1 < since) or (until is not None and t0 >= until):
            self.lines_outside += lines
            return
        if not ((since is None or t0 >= since) and (until is None or t1 < until)):
            start = self._bisect(data, since) if since is not None and t0 < since else 0
            end = self._bisect(data, until) if until is not None and t1 >= until else len(data)
            inside = data[start:end]
            self.lines_outside += lines - inside.count(b"\n")
            data = inside
            span = self._block_span(data)
            if span is None:
                return
            t0, t1 = span
        self._cover(t0)
        self._cover(t1)
        when = t1  # state ages are kept per block: pruning needs days, not seconds
        minute_keys = self._minute_keys
        queued = self._queued
        pending = self._pending
        deferred_open = self._deferred_open
        latency = self._latency
        entry_kinds = self._entry_kinds
        sizes = {}  # size -> messages received, this block (folded into self.sizes below)
        rfind = data.rfind
        delivered = bytes_delivered = received = bytes_received = removed = 0
        open_sessions = self._open_sessions
        peak = self.peak_concurrency
        peak_at = None  # where in the block the peak rose, if it did
        sessions = 0
        command_counts = {}  # commands=ok/total text -> disconnects, this block
        recognised = 0
        for recognised, m in enumerate(self._rx.finditer(data), 1):  # noqa: B007 (read after)
            kind = m.lastindex
            if kind == _IS_SENT:
                delivered += 1
                entry = queued.get(m[_QID])
                if entry is not None:
                    bytes_delivered += entry[0]
                key = (m[_TAG], m[_DELAYS])
                latency[key] = latency.get(key, 0) + 1
            elif kind == _IS_SIZE:
                qid = m[_QID]
                if qid in queued:
                    continue
                size = int(m[_SIZE])
                queued[qid] = (size, when)
                if pending and pending.pop(qid, None) is not None:
                    bytes_received += size
                    sizes[size] = sizes.get(size, 0) + 1
            elif kind == _IS_REMOVED:
                qid = m[_QID]
                if qid is None:
                    continue
                queued.pop(qid, None)
                if deferred_open:
                    deferred_open.pop(qid, None)
                if pending:
                    pending.pop(qid, None)
                tag = m[_TAG]
                if (entry_kinds.get(tag) or self._entry_kind(tag)) == _POSTSUPER:
                    self.removed_by_postsuper += 1
                else:
                    removed += 1
            elif kind in (_IS_CLIENT, _IS_PICKUP):
                qid = m[_QID]
                if qid is None:
                    continue
                tag = m[_TAG]
                entry_kind = entry_kinds.get(tag) or self._entry_kind(tag)
                if kind == _IS_PICKUP:
                    if entry_kind != _PICKUP:
                        continue
                elif entry_kind == _REINJECTION and _is_loopback(_client(data, m.end())):
                    self.reinjected += 1
                    continue
                elif entry_kind not in _RECEIVING:
                    continue
                pending[qid] = when
                received += 1
                start = rfind(b"\n", 0, m.start()) + 1
                if data[start + 4] != 45:  # not "-": classic stamp, minute is 12 bytes
                    key = data[start : start + 12]
                else:
                    key = self._minute_key(data, start)
                minute_keys[key] = minute_keys.get(key, 0) + 1
            elif kind == _IS_CONNECT:
                open_sessions += 1
                if open_sessions > peak:
                    peak = open_sessions
                    peak_at = m.start()
            elif kind == _IS_DISCONNECT:
                if open_sessions:  # a log that starts inside a session: never below zero
                    open_sessions -= 1
                sessions += 1
                commands = m[_COMMANDS]  # None before Postfix 3.0
                if commands is not None:
                    command_counts[commands] = command_counts.get(commands, 0) + 1
            elif kind == _IS_STATUS:
                status = m[_STATUS]
                qid = m[_QID]
                if status == b"deferred":
                    self.deferred += 1
                    if qid not in deferred_open:
                        deferred_open[qid] = when
                        self.deferred_messages += 1
                    self.deferral_reasons.add(self._status_key(data, m))
                elif status == b"bounced":
                    self.bounced += 1
                    self.bounce_reasons.add(self._status_key(data, m))
                else:
                    self.other_status += 1
            elif kind == _IS_FORWARDED:
                self.forwarded += 1
            elif kind == _IS_REJ:
                self._reject(m[_TAG], m[_QID], m[_REJ], _rest_of_line(data, m.end()))
            elif kind == _IS_EXPIRED:
                self.expired += 1
            elif kind == _IS_NOTIF:
                name = m[_NOTIF].decode().replace(" ", "_")
                self.notifications[name] = self.notifications.get(name, 0) + 1
        for size, n in sizes.items():
            self.sizes.add_size(size, n)
        self.delivered += delivered
        self.bytes_delivered += bytes_delivered
        self.received += received
        self.bytes_received += bytes_received
        self.removed += removed
        self._open_sessions = open_sessions
        if peak_at is not None:
            self.peak_concurrency = peak
            self.peak_concurrency_at = self._line_epoch(data, peak_at)
        self.smtpd_sessions += sessions
        self._count_commands(command_counts)
        self.lines_recognised += recognised
        self.lines_in_window += recognised
        if len(latency) > LATENCY_EXACT_LIMIT:
            self._fold_latency()
        if len(queued) + len(pending) + len(deferred_open) > _STATE_PRUNE_AT:
            self._prune()

    def _entry_kind(self, tag):
        """What a syslog tag's ``client=``/``uid=`` and ``removed`` lines mean, cached per tag."""
        program = tag[tag.rfind(b"/") + 1 :]
        if program == b"pickup":
            kind = _PICKUP
        elif program == b"postsuper":
            kind = _POSTSUPER
        elif program not in (b"smtpd", b"postscreen"):
            kind = _OTHER
        elif tag.count(b"/") > 1 and tag[tag.find(b"/") + 1 : tag.rfind(b"/")] not in (
            SUBMISSION_SERVICES
        ):
            # a listener of its own (postfix/10025/smtpd): with a loopback client, that is a
            # content filter handing mail back
            kind = _REINJECTION
        else:
            kind = _RECEIVED
        self._entry_kinds[tag] = kind
        return kind

    def _count_commands(self, command_counts):
        """smtpd's command counters from ``disconnect ... commands=ok/total`` (Postfix >= 3.0;
        ``commands=5`` when all succeeded), read once per distinct text."""
        for raw, n in command_counts.items():
            good, _sep, total = raw.partition(b"/")
            good = int(good)
            total = int(total) if total else good
            self.smtpd_commands += total * n
            if total > good:
                self.smtpd_commands_failed += (total - good) * n
                self.smtpd_sessions_with_errors += n

    def _bisect(self, data, limit):
        """Offset of the first line of ``data`` stamped at or after ``limit`` (len if none)."""
        low, high = 0, len(data)
        while low < high:
            middle = (low + high) // 2
            start = data.rfind(b"\n", 0, middle) + 1
            end = data.find(b"\n", start) + 1 or len(data)
            when = None
            probe = start
            # skip lines without a stamp (continuations, garbage)
            while when is None and probe < len(data):
                when = self._line_epoch(data, probe)
                if when is None:
                    probe = data.find(b"\n", probe) + 1 or len(data)
            if when is None or when >= limit:
                high = start
            else:
                low = end
        return low

    def _fold_latency(self):
        """Move the combined latency counts into one counter per transport and figure."""
        by_transport = self.by_transport
        for (tag, logged), n in self._latency.items():
            # the group holds "DELAY, delays=A/B/C/D, " (or "DELAY, " before Postfix 2.3): split
            # here, once per distinct value, not per line
            delay, _sep, parts = logged.partition(b", delays=")
            if parts:
                values = (delay, *parts[:-2].split(b"/"))
            else:
                values = (delay[:-2], None, None, None, None)
            per = by_transport.get(tag)
            if per is None:
                per = by_transport[tag] = [ValueCounter() for _part in range(5)]
            for counter, raw in zip(per, values, strict=True):
                if raw is not None:
                    counter.add(raw, n)
        self._latency = {}

    def _cover(self, when):
        if self.first is None or when < self.first:
            self.first = when
        if self.last is None or when > self.last:
            self.last = when

    def _status_key(self, data, m):
        """(dsn, normalised reason) of a deferral or bounce; normalising is cached per raw
        text, because the same few replies repeat for thousands of recipients."""
        text = m[0]
        at = text.rfind(b" dsn=")
        dsn = text[at + 5 : text.find(b",", at)] if at >= 0 else b""
        raw = (dsn, _rest_of_line(data, m.end()))
        key = self._reason_cache.get(raw)
        if key is None:
            if len(self._reason_cache) > 10_000:
                self._reason_cache = {}
            reason = normalise_reason(_status_reason(raw[1]))
            key = self._reason_cache[raw] = (
                ("dsn", raw[0].decode()),
                ("reason", reason),
            )
        return key

    def _line_epoch(self, data, pos):
        """Epoch of the line holding ``pos`` (``None`` when it has no time stamp)."""
        start = data.rfind(b"\n", 0, pos) + 1
        m = _STAMP.match(data, start)
        if m is None:
            return None
        return self._epoch(m.group(1), m.group(2))

    def _block_span(self, data):
        """Epochs of the first and last time-stamped lines of a block (``None``: no stamps)."""
        first = last = None
        pos = 0
        for _attempt in range(50):
            m = _STAMP.match(data, pos)
            if m is not None:
                first = self._epoch(m.group(1), m.group(2))
                if first is not None:
                    break
            pos = data.find(b"\n", pos) + 1
            if pos <= 0 or pos >= len(data):
                break
        if first is None:
            return None
        end = len(data) - 1
        for _attempt in range(50):
            start = data.rfind(b"\n", 0, end) + 1
            m = _STAMP.match(data, start)
            if m is not None:
                last = self._epoch(m.group(1), m.group(2))
                if last is not None:
                    break
            if start == 0:
                break
            end = start - 1
        if last is None or last < first:
            # a block whose end looks older than its start (clock step, mixed sources): treat
            # it as a boundary block, so every line is checked on its own
            return first, last if last is not None else first
        return first, last

    @staticmethod
    def _minute_key(data, start):
        """The RFC 3339 stamp of the line at ``start`` up to the minute, with its UTC offset."""
        m = _STAMP.match(data, start)
        if m is None:
            return data[start : start + 16]
        return m.group(1)[:16] + (m.group(2) or b"")

    def end_source(self):
        """Turn the minute keys of the source just read into epoch minutes, in log order (so
        classic stamps get their year the same way as the lines did)."""
        keys = self._minute_keys
        if not keys:
            return
        self._year = None
        self._last_month = None
        self._tcache = {}
        per_minute = self.per_minute
        for key, n in keys.items():
            if key[4:5] == b"-":
                when = self._epoch(key[:16] + b":00", key[16:] or None)
            else:
                when = self._epoch(key + b":00", None)
            if when is None:
                continue
            minute = int(when // 60)
            per_minute[minute] = per_minute.get(minute, 0) + n
        self._minute_keys = {}

    def _reject(self, tag, qid, kind, rest):
        """reject / reject_warning / hold / discard / milter-reject / warning / fatal / panic."""
        program = tag[tag.rfind(b"/") + 1 :]
        if kind in (b"warning", b"fatal", b"panic"):
            if (
                kind == b"warning"
                and program == b"cleanup"
                and qid is not None
                and rest.startswith((b"header ", b"body ", b"END-OF-MESSAGE "))
            ):
                self.reject_warnings += 1
                self.reject_reasons.add(
                    (
                        ("kind", "warning"),
                        ("reason", normalise_reason(_reject_reason(rest))),
                    )
                )
            elif qid is None:
                name = "warnings" if kind == b"warning" else kind.decode()
                setattr(self, name, getattr(self, name) + 1)
            return
        if program == b"cleanup" and not rest.startswith(
            (b"header ", b"body ", b"END-OF-MESSAGE ")
        ):
            return
        if kind in (b"reject", b"milter-reject"):
            self.rejected += 1
            self.reject_reasons.add(
                (
                    ("kind", kind.decode()),
                    ("reason", normalise_reason(_reject_reason(rest))),
                )
            )
            if qid is not None and program == b"cleanup":
                self._pending.pop(qid, None)
        elif kind == b"reject_warning":
            self.reject_warnings += 1
            self.reject_reasons.add(
                (
                    ("kind", "reject_warning"),
                    ("reason", normalise_reason(_reject_reason(rest))),
                )
            )
        elif kind == b"hold":
            self.held += 1
        elif kind == b"discard":
            self.discarded += 1

    def _prune(self):
        """Forget open-message state older than ``STATE_MAX_AGE`` of log time."""
        if self.last is None:
            return
        horizon = self.last - STATE_MAX_AGE
        for table in (self._pending, self._deferred_open):
            for qid in [q for q, t in table.items() if t < horizon]:
                del table[qid]
        for qid in [q for q, e in self._queued.items() if e[1] < horizon]:
            del self._queued[qid]

    # ----------------------------------------------------------------- output

    def open_state(self):
        """Number of per-message entries held (for tests of bounded memory)."""
        return len(self._queued) + len(self._pending) + len(self._deferred_open)

    def counts(self):
        return {
            "received": self.received,
            "reinjected": self.reinjected,
            "delivered": self.delivered,
            "forwarded": self.forwarded,
            "deferred": self.deferred,
            "deferred_messages": self.deferred_messages,
            "bounced": self.bounced,
            "expired": self.expired,
            "rejected": self.rejected,
            "reject_warnings": self.reject_warnings,
            "held": self.held,
            "discarded": self.discarded,
            "bytes_received": self.bytes_received,
            "bytes_delivered": self.bytes_delivered,
        }

    def result(self):
        """Everything measured, as plain data (the ``mail`` part of baseline_info).

        Units: counts in messages/recipients/lines, sizes in bytes, delays in seconds, rates in
        messages per hour or per minute, times as ISO 8601 UTC strings.
        """
        self._fold_latency()
        self.end_source()
        result = self.counts()
        result["volume"] = self._volume()
        result["size"] = self.sizes.summary()
        result["latency"] = self._latency_summary()
        result["top_deferral_reasons"] = self.deferral_reasons.top()
        result["top_bounce_reasons"] = self.bounce_reasons.top()
        result["top_reject_reasons"] = self.reject_reasons.top()
        result["other"] = {
            "removed": self.removed,
            "removed_by_postsuper": self.removed_by_postsuper,
            "other_status": self.other_status,
            "notifications": dict(sorted(self.notifications.items())),
            "warnings": self.warnings,
            "fatal": self.fatal,
            "panic": self.panic,
        }
        result["sessions"] = {
            "count": self.smtpd_sessions,
            "peak_concurrency": self.peak_concurrency,
            "peak_concurrency_time": iso_time(self.peak_concurrency_at),
            "commands": self.smtpd_commands,
            "commands_failed": self.smtpd_commands_failed,
            "sessions_with_errors": self.smtpd_sessions_with_errors,
        }
        result["sources"] = {
            "files": list(self.files),
            "lines_read": self.lines_read,
            "lines_recognised": self.lines_recognised,
            "lines_in_window": self.lines_in_window,
            "first": iso_time(self.first),
            "last": iso_time(self.last),
            "since": iso_time(self.since),
            "until": iso_time(self.until),
        }
        return result

    def _volume(self):
        per_minute = self.per_minute
        span = (self.last - self.first) if self.first is not None else None
        hours = max(span or 0, 60) / 3600.0 if span is not None else None
        per_hour = {}
        peak_minute = None
        peak = 0
        for minute, n in per_minute.items():
            hour = minute // 60
            per_hour[hour] = per_hour.get(hour, 0) + n
            if n > peak or (n == peak and peak_minute is not None and minute < peak_minute):
                peak = n
                peak_minute = minute
        return {
            "messages_per_hour": round(self.received / hours, 1) if hours else None,
            "peak_messages_per_minute": peak,
            "peak_minute": iso_time(peak_minute * 60) if peak_minute is not None else None,
            "per_hour": [
                {"hour": iso_time(hour * 3600), "received": per_hour[hour]}
                for hour in sorted(per_hour)
            ],
        }

    def _latency_summary(self):
        overall = [ValueCounter() for _part in range(5)]
        transports = {}
        for tag, counters in sorted(self.by_transport.items()):
            name = tag[tag.rfind(b"/") + 1 :].decode("utf-8", "replace")
            merged = transports.get(name)
            if merged is None:
                merged = transports[name] = [ValueCounter() for _part in range(5)]
            for target, total, counter in zip(merged, overall, counters, strict=True):
                target.merge(counter)
                total.merge(counter)
        result = _latency_block(overall)
        result["by_transport"] = {name: _latency_block(c) for name, c in transports.items()}
        return result


DELAY_PARTS = ("before_qmgr", "in_qmgr", "connection_setup", "transmission")


def _latency_block(counters):
    """``delay`` percentiles and the p95 (and max) of each ``delays=a/b/c/d`` part."""
    block = {"delay": counters[0].summary()}
    block["delays"] = {}
    for name, counter in zip(DELAY_PARTS, counters[1:], strict=True):
        summary = counter.summary(percentiles=(50, 95))
        block["delays"][name] = {
            "count": summary["count"],
            "p50": summary["p50"],
            "p95": summary["p95"],
            "max": summary["max"],
        }
    return block


def iso_time(epoch):
    """Epoch seconds -> ``YYYY-MM-DDTHH:MM:SSZ`` (``None`` stays ``None``)."""
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def parse_time(text, now=None):
    """``since``/``until`` value -> epoch seconds, or ``None`` for ``all``.

    Accepts ``all``, a relative age (``90s``, ``30m``, ``24h``, ``7d``, ``2w``; meaning that long
    before ``now``), an epoch number, or an absolute time ``YYYY-MM-DD[ HH:MM[:SS]]`` (also with
    ``T``, a fraction and a ``Z``/``+HH:MM``/``+HHMM`` offset; without offset: local time).
    Raises ``ValueError`` with a message a person can act on.
    """
    now = time.time() if now is None else now
    value = str(text).strip()
    if value.lower() in ("all", ""):
        return None
    if value.lower() == "now":
        return now
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])", value)
    if m:
        factor = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}[m.group(2)]
        return now - float(m.group(1)) * factor
    if re.fullmatch(r"\d{9,}(?:\.\d+)?", value):
        return float(value)
    m = re.fullmatch(
        r"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.\d+)?)?)?"
        r"\s*(Z|[+-]\d\d:?\d\d)?",
        value,
    )
    if not m:
        raise ValueError(
            f"cannot read time {value!r}: use 'all', a relative age such as '24h' or '7d', "
            "or an absolute time such as '2026-11-28 14:00' or '2026-11-28T14:00:00+01:00'"
        )
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    h, mi, s = int(m.group(4) or 0), int(m.group(5) or 0), int(m.group(6) or 0)
    offset = m.group(7)
    if offset is None:
        return time.mktime((y, mo, d, h, mi, s, 0, 0, -1))
    seconds = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    if offset != "Z":
        digits = offset[1:].replace(":", "")
        shift = int(digits[:2]) * 3600 + int(digits[2:]) * 60
        seconds -= shift if offset[0] == "+" else -shift
    return seconds
