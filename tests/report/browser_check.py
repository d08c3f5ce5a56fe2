#!/usr/bin/env python3
# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Open the evidence report in a real headless browser and check what a person would see.

Renders the report of the unit-test fixtures (tests/unit/fixtures/report/stored) into a
temporary directory with the collection's own code, starts Debian's ``chromium`` headless with
``--remote-debugging-pipe`` (the Chrome DevTools Protocol as NUL-separated JSON over file
descriptors 3 and 4, so no websocket library is needed) and, for the index and each host page:

* no console message, no uncaught exception, no browser log entry of level error;
* no request to anything but the page's own file (no external asset, no script);
* every chart (``figure.chart``) has an ``<svg>`` with a title and an aria-label, a non-zero
  bounding box and drawn bars, and each host page has the charts its fixture should have;
* the hostile strings of the fixtures stay text (no ``<script>`` or ``<img>`` element);
* a full-page screenshot goes to tests/output/report/<page>.png and a print rendering to
  tests/output/report/<page>.pdf (the print stylesheet).

Standard library only. Exits 0 when every check passed, 1 with one line per failure, 2 when
the browser cannot be started. ``make report-check`` runs it (and installs chromium when it is
missing, as root on Debian).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import pathlib
import select
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
BASELINES = ROOT / "tests" / "unit" / "fixtures" / "report" / "stored"
OUTPUT = ROOT / "tests" / "output" / "report"
# host -> charts its page must draw (mx2 has no mail and an empty queue: no chart at all)
HOSTS = {"mx1.example.net": 6, "mx2.example.net": 0}
TIMEOUT = 30.0

PAGE_CHECK = r"""
(() => {
  const out = {charts: [], problems: []};
  for (const figure of document.querySelectorAll('figure.chart')) {
    const svg = figure.querySelector('svg');
    if (!svg) { out.problems.push(figure.id + ': no <svg>'); continue; }
    const box = svg.getBoundingClientRect();
    const drawn = [...svg.querySelectorAll('rect.bar, path, polyline')].filter((e) => {
      const b = e.getBoundingClientRect();
      return b.width > 0 && b.height > 0;
    }).length;
    const title = svg.querySelector(':scope > title');
    const label = svg.getAttribute('aria-label') || '';
    out.charts.push({id: svg.id, width: box.width, height: box.height, drawn: drawn});
    if (!(box.width > 0 && box.height > 0)) out.problems.push(svg.id + ': empty bounding box');
    if (!drawn) out.problems.push(svg.id + ': nothing drawn');
    if (!title || !title.textContent.trim() || !label.trim())
      out.problems.push(svg.id + ': no <title> or aria-label');
  }
  out.scripts = document.querySelectorAll('script').length;
  out.images = document.querySelectorAll('img').length;
  out.handlers = [...document.querySelectorAll('*')].filter(
    (e) => [...e.attributes].some((a) => a.name.startsWith('on'))).length;
  out.external = [...document.querySelectorAll('[src], [href]')]
    .map((e) => e.getAttribute('src') || e.getAttribute('href'))
    .filter((u) => /^[a-z][a-z0-9+.-]*:/i.test(u) || u.startsWith('//'));
  out.title = document.title;
  out.text = document.body.innerText;
  out.links = [...document.querySelectorAll('a[href]')].map((a) => a.href);
  return out;
})()
"""


class BrowserError(Exception):
    pass


class Chromium:
    """A headless Chromium driven over ``--remote-debugging-pipe``."""

    def __init__(self, binary, profile):
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # Far above 3 and 4, so that placing them there in the child cannot overwrite each other.
        child_in = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_browser_r)
        os.close(from_browser_w)
        args = [
            binary,
            "--headless",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-extensions",
            "--disable-sync",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--hide-scrollbars",
            "--mute-audio",
            "--force-color-profile=srgb",
            "about:blank",
        ]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox

        def place_pipes():
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self.log_path = os.path.join(profile, "chromium.log")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(3, 4),
                preexec_fn=place_pipes,  # noqa: PLW1509 - only dup2, before exec
            )
        os.close(child_in)
        os.close(child_out)
        self.writer = to_browser_w
        self.reader = from_browser_r
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def send(self, method, params=None, session=None, timeout=TIMEOUT):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.writer, json.dumps(message).encode() + b"\0")
        wanted = self.next_id
        deadline = time.monotonic() + timeout
        while True:
            reply = self._receive(deadline, method)
            if reply.get("id") == wanted:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        for index, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(index)
        while True:
            event = self._receive(deadline, method)
            if event.get("method") == method:
                return event
            self.events.append(event)

    def _receive(self, deadline, waiting_for):
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"no answer from chromium for {waiting_for} in {TIMEOUT:g} s")
            ready, _w, _x = select.select([self.reader], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.reader, 1 << 20)
            if not chunk:
                raise BrowserError(f"chromium closed the pipe (waiting for {waiting_for})")
            self.buffer += chunk
        raw, _sep, self.buffer = self.buffer.partition(b"\0")
        return json.loads(raw)

    def close(self):
        with contextlib.suppress(BrowserError, OSError):
            self.send("Browser.close", timeout=5)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self.writer, self.reader):
            with contextlib.suppress(OSError):
                os.close(fd)

    def log_tail(self, lines=15):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return ""


def render_reports(directory):
    """Write the fixtures' reports with the collection's code; returns the index path."""
    collections = pathlib.Path(directory) / "collections"
    link = collections / "ansible_collections" / "sbs" / "postfix"
    link.parent.mkdir(parents=True)
    link.symlink_to(ROOT)
    sys.path.insert(0, str(collections))
    from ansible_collections.sbs.postfix.plugins.module_utils import _report

    dest = pathlib.Path(directory) / "reports"
    pairs, problems = _report.collect_pairs(str(BASELINES), list(HOSTS))
    problems += _report.destination_problems(str(dest), list(HOSTS))
    if problems:
        raise BrowserError("the fixtures do not make a report: " + " | ".join(problems))
    files, _reports = _report.render_all(pairs, list(HOSTS), str(dest))
    for path, text in files:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    return dest


def check_page(browser, url, name, expected_charts):
    """Load one page; returns the list of failures (empty: fine)."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.send(f"{domain}.enable", session=session)
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1100, "height": 900, "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )
    browser.events.clear()
    browser.send("Page.navigate", {"url": url}, session=session)
    browser.wait_for("Page.loadEventFired")
    check = browser.send(
        "Runtime.evaluate",
        {"expression": PAGE_CHECK, "returnByValue": True},
        session=session,
    )
    if "exceptionDetails" in check:
        failure = f"{name}: the page check itself failed: {check['exceptionDetails']}"
        return [failure], {"charts": [], "links": []}
    found = check["result"]["value"]
    metrics = browser.send("Page.getLayoutMetrics", session=session)
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    shot = browser.send(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
        session=session,
    )
    (OUTPUT / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))
    pdf = browser.send("Page.printToPDF", {"printBackground": False}, session=session)
    (OUTPUT / f"{name}.pdf").write_bytes(base64.b64decode(pdf["data"]))

    failures = [f"{name}: {problem}" for problem in found["problems"]]
    for event in browser.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled":
            texts = [str(arg.get("value", arg.get("description"))) for arg in params["args"]]
            failures.append(f"{name}: console.{params.get('type')}: {' '.join(texts)}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            thrown = details.get("exception", {}).get("description") or details.get("text")
            failures.append(f"{name}: exception: {thrown}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            failures.append(f"{name}: browser log: {params['entry'].get('text')}")
        elif method == "Network.requestWillBeSent":
            requested = params["request"]["url"]
            if requested != url:
                failures.append(f"{name}: the page requested {requested}")
    browser.events.clear()
    if len(found["charts"]) != expected_charts:
        failures.append(f"{name}: {len(found['charts'])} charts drawn, expected {expected_charts}")
    if found["scripts"] or found["images"] or found["handlers"]:
        failures.append(
            f"{name}: {found['scripts']} script, {found['images']} img elements and "
            f"{found['handlers']} event handler attributes: a baseline string became markup"
        )
    if found["external"]:
        failures.append(f"{name}: links to other sites: {', '.join(found['external'])}")
    if name == "mx1.example.net" and "<script>alert(" not in found["text"]:
        failures.append(f"{name}: the hostile sizing reason is not shown as text")
    browser.send("Target.closeTarget", {"targetId": target})
    return failures, found


def main():
    started = time.monotonic()
    binary = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not binary:
        print(
            "browser check: chromium is not installed. `make report-check` installs it "
            "(as root on Debian: scripts/require-host-tools --report-check), or: "
            "apt-get install chromium",
            file=sys.stderr,
        )
        return 2
    OUTPUT.mkdir(parents=True, exist_ok=True)
    failures = []
    with tempfile.TemporaryDirectory(prefix="sbs-report-check.") as tmp:
        try:
            dest = render_reports(tmp)
        except BrowserError as exc:
            print(f"browser check: {exc}", file=sys.stderr)
            return 1
        profile = os.path.join(tmp, "profile")
        os.mkdir(profile)
        browser = Chromium(binary, profile)
        try:
            version = browser.send("Browser.getVersion")
            pages = [("index", dest / "index.html", 0)]
            pages += [(host, dest / host / "index.html", n) for host, n in HOSTS.items()]
            for name, path, charts in pages:
                page_failures, found = check_page(browser, path.as_uri(), name, charts)
                failures += page_failures
                drawn = ", ".join(f"{c['id']} {c['drawn']} bars" for c in found["charts"])
                print(f"{name}: {len(found['charts'])} charts{': ' + drawn if drawn else ''}")
                if name == "index":
                    wanted = {(dest / host / "index.html").as_uri() for host in HOSTS}
                    missing = wanted - set(found["links"])
                    if missing:
                        failures.append(f"index: no link to {', '.join(sorted(missing))}")
        except (BrowserError, OSError, KeyError) as exc:
            print(f"browser check: {exc}", file=sys.stderr)
            print(browser.log_tail(), file=sys.stderr)
            browser.close()
            return 2
        browser.close()
    elapsed = time.monotonic() - started
    if failures:
        print("browser check FAILED:", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    print(
        f"browser check passed with {version.get('product')} in {elapsed:.1f} s; "
        f"screenshots and PDFs in {OUTPUT.relative_to(ROOT)}/"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
