#!/usr/bin/env python3
# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Throughput benchmark: stock Debian Postfix vs the same host tuned by sbs.postfix.

Not a test (CONTRIBUTING.md): run it by hand, from the repository root, with the project's
environment (the Makefile's PATH, ANSIBLE_COLLECTIONS_PATH, CONTAINERS_CONF):

    bench/throughput/run.py [--rounds 3] [--update-docs]

What it does, in one run:

1. Starts one container from the project's image (``--network none``: loopback only, nothing
   can leave it) with systemd as PID 1 and the image's stock Postfix.
2. Routes all mail to an smtp-sink on 127.0.0.1:2525 (relayhost), DNS off, Postfix's own log
   file: the same test plumbing for both configurations. That is "stock".
3. Runs ``sbs.postfix.sizing_info`` on the container through Ansible (podman connection) and
   applies its contribution (the main.cf values and master.cf maxproc the tuning role hands to
   the server role) on top of stock: that is "tuned". The sysctl and LimitNOFILE parts cannot
   change inside an unprivileged container and are the same for both (see the notes printed).
4. For every round and every point of the sweep, measures stock and tuned back to back, in
   alternating order (stock first at even positions, tuned first at odd ones, the positions
   shifting by one each round), so both see the same moment of a shared machine and neither
   always goes first; each round starts the sweep one point further on, so no point always
   follows the same one. Before each measurement Postfix is restarted on its configuration, so
   every measurement starts from a fresh master and an empty queue. A measurement is
   ``driver.py`` inside the container: the collection's own sender (``_smtpload.send_load``,
   what ``sbs.postfix.smtp_load`` runs; plugins/module_utils is copied into the container) with
   N concurrent sessions and M messages of S bytes, one message per connection, from the first
   connection attempt until the queue is empty and the sink holds every message Postfix
   accepted with 250. Besides the rate it records what the sender saw: refused connections,
   time-outs, retries, time to banner, time to 250, and first attempt to delivery at the sink
   (smtp-sink dumps one file per message; its mtime is the delivery). The ceiling (the same
   sender straight into smtp-sink) is measured in each round too.
5. Reads each point's log window with baseline_info's parser (plugins/module_utils/_maillog.py)
   for Postfix's delivery delay (``delay=``) p50/p95/p99, reports medians and the median of the
   paired per-round ratios (tuned / stock of the same round and point), writes the raw results
   as JSON and, with --update-docs, the "throughput" section of docs/benchmarks.md.

The container is removed at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import pathlib
import signal
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / ".cache" / "collections"))

NAME = "sbs-bench-throughput"
DRIVER = "/usr/local/bin/sbs-bench-driver"
# driver.py imports the collection's module_utils from here (its LIB)
LIB = "/usr/local/lib/sbs-bench"
PACKAGE = "ansible_collections/sbs/postfix/plugins/module_utils"
LOG = "/var/log/postfix-bench.log"
BEGIN = "<!-- throughput:begin -->"
END = "<!-- throughput:end -->"
# the sender's settings (driver.py point options): smtp_load's defaults, one message per
# connection (as smtp-source without -d in the earlier runs)
SENDER_OPTIONS = {
    "per-session": 1,
    "connect-timeout": 10,
    "reply-timeout": 30,
    "retries": 3,
    "retry-pause": 0.5,
}
TEST_PLUMBING = [
    "relayhost = [127.0.0.1]:2525",
    "smtp_dns_support_level = disabled",
    "smtp_host_lookup = native",
    f"maillog_file = {LOG}",
]


def sh(argv, check=True, capture=True, timeout=600):
    result = subprocess.run(argv, capture_output=capture, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}"
        )
    return result


def pexec(*argv, check=True, timeout=600):
    return sh(["podman", "exec", NAME, *argv], check=check, timeout=timeout)


def start_container(image):
    sh(["podman", "rm", "-f", NAME], check=False)
    sh(
        [
            "podman",
            "run",
            "-d",
            "--name",
            NAME,
            "--network",
            "none",
            "--systemd=always",
            "--hostname",
            "bench.example.test",
            image,
            "/sbin/init",
        ]
    )
    for _ in range(60):
        state = pexec("systemctl", "is-system-running", check=False).stdout.strip()
        if state in ("running", "degraded"):
            break
        time.sleep(1)
    sh(["podman", "cp", str(ROOT / "bench" / "throughput" / "driver.py"), f"{NAME}:{DRIVER}"])
    pexec("chmod", "0755", DRIVER)
    # the sender (_smtpload) and the log parser it reads delivery lines with (_maillog, whose
    # log paths come from _baseline, which imports more of them): all of module_utils, as the
    # package the modules import them from
    pexec("mkdir", "-p", f"{LIB}/{PACKAGE}")
    for path in sorted((ROOT / "plugins" / "module_utils").glob("*.py")):
        sh(["podman", "cp", str(path), f"{NAME}:{LIB}/{PACKAGE}/{path.name}"])


def unit():
    """The unit that runs master(8): postfix@-.service on Debian 12, postfix.service on 13."""
    state = pexec("systemctl", "is-active", "postfix@-.service", check=False).stdout.strip()
    return "postfix@-.service" if state == "active" else "postfix.service"


def sizing_contribution():
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    result = subprocess.run(
        [
            "ansible",
            "all",
            "-i",
            f"{NAME},",
            "-c",
            "containers.podman.podman",
            "-e",
            "ansible_python_interpreter=/usr/bin/python3",
            "-m",
            "sbs.postfix.sizing_info",
            "-a",
            '{"relayhost": "[127.0.0.1]:2525"}',
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"sizing_info failed: {result.stdout[-2000:]} {result.stderr[-2000:]}")
    data = json.loads(result.stdout)
    return data["plays"][0]["tasks"][0]["hosts"][NAME]["sizing"]


def prepare_configs(sizing, experiment=()):
    pexec("postconf", "-e", *TEST_PLUMBING)
    pexec("cp", "/etc/postfix/main.cf", "/root/main.cf.stock")
    pexec("cp", "/etc/postfix/master.cf", "/root/master.cf.stock")
    contribution = sizing["contribution"]
    pexec("postconf", "-e", *[f"{k} = {v}" for k, v in contribution["main"].items()])
    pexec(
        "postconf",
        "-F",
        *[f"{svc}/process_limit={v['maxproc']}" for svc, v in contribution["master"].items()],
    )
    if experiment:
        pexec("postconf", "-e", *experiment)
    pexec("cp", "/etc/postfix/main.cf", "/root/main.cf.tuned")
    pexec("cp", "/etc/postfix/master.cf", "/root/master.cf.tuned")


def switch(config, service):
    pexec("cp", f"/root/main.cf.{config}", "/etc/postfix/main.cf")
    pexec("cp", f"/root/master.cf.{config}", "/etc/postfix/master.cf")
    pexec("postfix", "check")
    # A restart, not a reload: the listen backlog is fixed when master creates the socket.
    pexec("systemctl", "restart", service)
    for _ in range(50):
        ss = pexec("ss", "-H", "-l", "-t", "-n", "sport = :25", check=False).stdout.split()
        if ss:
            return int(ss[2])
        time.sleep(0.2)
    raise RuntimeError("Postfix does not listen on port 25 after the restart")


def loadavg():
    return float(pathlib.Path("/proc/loadavg").read_text().split()[0])


def machine():
    """``2 CPUs (model), 23 GiB, Debian GNU/Linux 12 (bookworm), kernel 6.1.0``: this host."""
    cpuinfo = pathlib.Path("/proc/cpuinfo").read_text()
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line),
        "unknown CPU",
    )
    mem = next(
        int(line.split()[1])
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    system = "unknown system"
    for line in pathlib.Path("/etc/os-release").read_text().splitlines():
        if line.startswith("PRETTY_NAME="):
            system = line.split("=", 1)[1].strip('"')
    return (
        f"{os.cpu_count()} CPUs ({model}), {round(mem / 1024 / 1024)} GiB, {system}, "
        f"kernel {os.uname().release}"
    )


def commit():
    """The checkout's commit, marked when the benchmark or module_utils differ from it."""
    head = sh(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], check=False)
    status = sh(
        [
            "git",
            "-C",
            str(ROOT),
            "status",
            "--porcelain",
            "--",
            "bench/throughput/run.py",
            "bench/throughput/driver.py",
            "plugins/module_utils",
        ],
        check=False,
    )
    text = head.stdout.strip() or "unknown"
    return text + (" with uncommitted changes" if status.stdout.strip() else "")


def postfix_delay(offset):
    """delay= percentiles of the window, through baseline_info's own log parser."""
    from ansible_collections.sbs.postfix.plugins.module_utils import _maillog  # noqa: PLC0415

    window = pexec("tail", "-c", f"+{offset + 1}", LOG).stdout.encode()
    parser = _maillog.MailLogParser(since=None)
    parser.begin_source()
    parser.feed_stream(io.BytesIO(window))
    mail = parser.result()
    return mail["latency"]["delay"], mail.get("delivered")


def point(senders, messages, size, ceiling=False):
    offset = int(pexec("stat", "-c", "%s", LOG, check=False).stdout.strip() or 0)
    before = loadavg()
    argv = [
        DRIVER,
        "point",
        "--senders",
        str(senders),
        "--messages",
        str(messages),
        "--size",
        str(size),
        "--timeout",
        "240",
    ]
    for option, value in SENDER_OPTIONS.items():
        argv += [f"--{option}", str(value)]
    if ceiling:
        argv.append("--ceiling")
    data = json.loads(pexec(*argv, timeout=300).stdout)
    data["loadavg_before"] = before
    if not ceiling:
        try:
            delay, data["delivered_baseline_info"] = postfix_delay(offset)
            for p in (50, 95, 99):
                data[f"p{p}_baseline_info"] = delay.get(f"p{p}")
        except Exception as exc:  # the driver's own p95 stays; say why this one is missing
            data["p95_baseline_info"] = None
            data["baseline_info_error"] = str(exc)
    return data


def median(values, digits=1):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), digits) if values else None


# times of each point: (key in a result, label, digits of the median), seconds
TIMES = [
    ("banner_p50", "to banner p50", 4),
    ("banner_p95", "to banner p95", 4),
    ("to250_p50", "to 250 p50", 4),
    ("to250_p95", "to 250 p95", 4),
    ("to250_p99", "to 250 p99", 4),
    ("delivery_p50", "first attempt to sink p50", 4),
    ("delivery_p95", "first attempt to sink p95", 4),
    ("delivery_p99", "first attempt to sink p99", 4),
    ("p50_baseline_info", "`delay=` p50", 2),
    ("p95_baseline_info", "`delay=` p95", 2),
]
# summed over the rounds
COUNTS = [
    ("messages", "messages"),
    ("accepted", "accepted (250)"),
    ("refused", "refused connections"),
    ("timeouts", "time-outs"),
    ("retries", "retries"),
    ("dropped", "dropped connections"),
    ("gave_up", "given up"),
    ("lost", "lost"),
]


def paired(results, key, senders, size, digits):
    """Medians per configuration and the median of the per-round ratios tuned / stock: both
    measured back to back, so a busy moment of the shared machine weighs on both sides."""
    rounds = {
        config: {
            r["round"]: r.get(key)
            for r in results
            if r["config"] == config and r["senders"] == senders and r["size"] == size
        }
        for config in ("stock", "tuned", "ceiling")
    }
    ratios = [
        round(rounds["tuned"][n] / rounds["stock"][n], 2)
        for n in sorted(rounds["stock"])
        if rounds["stock"][n] and rounds["tuned"].get(n) is not None
    ]
    return {
        "stock": median(rounds["stock"].values(), digits),
        "tuned": median(rounds["tuned"].values(), digits),
        "ceiling": median(rounds["ceiling"].values(), digits),
        "ratio": round(statistics.median(ratios), 2) if ratios else None,
        "ratios": ratios,
        "stock_rounds": list(rounds["stock"].values()),
        "tuned_rounds": list(rounds["tuned"].values()),
    }


def summarise(results, senders_list, sizes):
    rows = []
    for size in sizes:
        for senders in senders_list:
            rate = paired(results, "rate", senders, size, 1)
            row = {
                "size": size,
                "senders": senders,
                # the names of the first summaries, kept
                "stock": rate["stock"],
                "tuned": rate["tuned"],
                "ratio": rate["ratio"],
                "ratios": rate["ratios"],
                "ceiling": rate["ceiling"],
                "stock_rounds": rate["stock_rounds"],
                "tuned_rounds": rate["tuned_rounds"],
                "stock_p95": paired(results, "p95_baseline_info", senders, size, 2)["stock"],
                "tuned_p95": paired(results, "p95_baseline_info", senders, size, 2)["tuned"],
                "figures": {
                    key: paired(results, key, senders, size, digits) for key, _l, digits in TIMES
                },
                "counts": {
                    config: {
                        key: sum(
                            r.get(key) or 0
                            for r in results
                            if (r["config"], r["senders"], r["size"]) == (config, senders, size)
                        )
                        for key, _label in COUNTS
                    }
                    for config in ("stock", "tuned", "ceiling")
                },
            }
            row["lost"] = row["counts"]["stock"]["lost"] + row["counts"]["tuned"]["lost"]
            row["lost"] += row["counts"]["ceiling"]["lost"]
            row["accepted"] = row["counts"]["stock"]["accepted"]
            row["accepted"] += row["counts"]["tuned"]["accepted"]
            rows.append(row)
    return rows


def seconds(value):
    """A time for the tables: three significant digits, never an exponent."""
    if value is None:
        return "-"
    text = format(value, ".3g")
    return f"{value:.0f}" if "e" in text else text


def pair(figure):
    cell = f"{seconds(figure['stock'])} / {seconds(figure['tuned'])}"
    if figure["ratio"] is not None:
        cell += f" ({figure['ratio']}x)"
    return cell


def markdown(meta, rows, senders_list, sizes):
    m = meta
    out = [BEGIN, "", "## Throughput", ""]
    out.append(
        f"Run {m['date']} with `bench/throughput/run.py --rounds {m['rounds']}` on "
        f"{m['machine']}, image `{m['image']}` (Postfix {m['postfix']}), {m['rounds']} "
        "rounds, stock and tuned measured back to back at each point in alternating order, "
        f"{m['minutes']} minutes in all, at commit `{m['commit']}`. Load average of "
        f"the machine during the run: {m['load_min']}-{m['load_max']} (the machine is shared "
        "with other work; ratios matter, not absolutes)."
    )
    out.append("")
    out.append(
        "The sender is the collection's own (`_smtpload`, what `sbs.postfix.smtp_load` runs), "
        "the same for both configurations and the ceiling: N concurrent sessions, one message "
        "per connection (as smtp-source without `-d`, which earlier runs used), "
        f"{m['sender']}. "
        "Messages/s end to end: accepted messages, from the first connection attempt until "
        "the queue is empty and the smtp-sink holds every message Postfix accepted with 250 "
        "(elapsed, per point, in the raw results). Values are medians "
        "of the rounds; ratio = the median of the per-round ratios tuned / stock (each pair "
        "measured back to back). Ceiling = the sender straight into smtp-sink (no Postfix): "
        "the sender's own limit on this machine."
    )
    out.append("")
    out.append(
        "| size | senders | stock msg/s | tuned msg/s | ratio | ceiling msg/s "
        "| ceiling to 250 p95 s | lost |"
    )
    out.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        cells = [
            f"{r['size'] // 1024} KB",
            r["senders"],
            r["stock"],
            r["tuned"],
            r["ratio"],
            r["ceiling"],
            seconds(r["figures"]["to250_p95"]["ceiling"]),
            f"{r['lost']} of {r['accepted'] + r['counts']['ceiling']['accepted']}",
        ]
        out.append("| " + " | ".join(str(c) for c in cells) + " |")
    out.append("")
    out.append(
        "What the sender saw, beside what Postfix logs. Seconds, stock / tuned (ratio "
        "tuned / stock). *To banner*: per connection, from `connect()` to the 220 greeting "
        "(the listen-queue wait, SYN retransmissions). *To 250*: per message, from its first "
        "attempt to the 250 after its data, retries included. *First attempt to sink*: per "
        "message, from its first attempt to its arrival at the smtp-sink, which writes every "
        "message to a file of its own (`-d`, on tmpfs); the file's mtime, matched to the "
        "message by its `X-SBS-Load` header, is the arrival "
        f"(resolution {m['sink_resolution']} s, the kernel's coarse clock tick, added to every "
        "value so that none is below the truth). *`delay=`*: Postfix's own delivery delay from "
        "its log (baseline_info's parser), which starts only once smtpd has accepted the "
        "connection."
    )
    out.append("")
    out.append("| size | senders | " + " | ".join(label for _k, label, _d in TIMES) + " |")
    out.append("| ---: | ---: |" + " ---: |" * len(TIMES))
    for r in rows:
        cells = [f"{r['size'] // 1024} KB", r["senders"]]
        cells += [pair(r["figures"][key]) for key, _l, _d in TIMES]
        out.append("| " + " | ".join(str(c) for c in cells) + " |")
    out.append("")
    out.append(
        "Counts, summed over the rounds, stock / tuned. Refused: connection attempts that "
        f"failed; time-outs: attempts that ran out of {m['timeouts']}; each is retried after "
        f"{m['retry_pause']} s, at most {m['retries']} times (retries). Lost: accepted with 250 "
        "but never at the sink."
    )
    out.append("")
    out.append("| size | senders | " + " | ".join(label for _k, label in COUNTS) + " |")
    out.append("| ---: | ---: |" + " ---: |" * len(COUNTS))
    for r in rows:
        cells = [f"{r['size'] // 1024} KB", r["senders"]]
        cells += [f"{r['counts']['stock'][k]} / {r['counts']['tuned'][k]}" for k, _l in COUNTS]
        out.append("| " + " | ".join(str(c) for c in cells) + " |")
    out.append("")
    hi, mid = max(senders_list), sorted(senders_list)[len(senders_list) // 2]
    for size in sizes:
        by = {r["senders"]: r for r in rows if r["size"] == size}
        if hi != mid and by.get(hi) and by.get(mid) and by[hi]["tuned"] and by[mid]["tuned"]:
            share = round(100 * by[hi]["tuned"] / by[mid]["tuned"])
            to250 = by[hi]["figures"]["to250_p95"]
            out.append(
                f"- {size // 1024} KB: at {hi} senders tuned/stock = {by[hi]['ratio']} msg/s, "
                f"time to 250 p95 {seconds(to250['stock'])} s stock, "
                f"{seconds(to250['tuned'])} s tuned; tuned at {hi} senders runs at {share}% "
                f"of its own {mid}-sender rate."
            )
    out.append("")
    out.append(
        'What "tuned" changed (sizing_info on this container, applied on top of the same '
        "stock files):"
    )
    out.append("")
    out.extend(f"- {line}" for line in m["tuned_values"])
    out.append("")
    out.append("Per-round rates (msg/s), time to 250 p95 (s) and ratios, in run order:")
    out.append("")
    for r in rows:
        to250 = r["figures"]["to250_p95"]
        out.append(
            f"- {r['size'] // 1024} KB, {r['senders']} senders: stock {r['stock_rounds']}, "
            f"tuned {r['tuned_rounds']}, ratios {r['ratios']}; to 250 p95 stock "
            f"{to250['stock_rounds']}, tuned {to250['tuned_rounds']}, ratios {to250['ratios']}"
        )
    out.append("")
    out.append(f"Raw results: `{m['results_file']}`.")
    out.append("")
    out.append(END)
    return "\n".join(out)


def update_docs(section):
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    heading = "\n## Throughput\n"
    if BEGIN not in text and END in text and heading in text[: text.index(END)]:
        # a section whose begin marker was lost: it starts at its heading
        start = text[: text.index(END)].rindex(heading) + 1
        text = text[:start] + BEGIN + "\n\n" + text[start:]
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def render_again(path, update):
    """The section of an earlier run, from its results file, with this version's tables."""
    data = json.loads(path.read_text())
    points = [r for r in data["points"] if r["config"] != "ceiling"]
    senders_list = sorted({r["senders"] for r in points})
    sizes = sorted({r["size"] for r in points})
    rows = summarise(data["points"], senders_list, sizes)
    section = markdown(data["meta"], rows, senders_list, sizes)
    if rows != data["summary"]:
        # the summary follows this version; the measured points stay as they were
        data["summary"] = rows
        data["meta"]["summary_from"] = "run.py --from-results (points unchanged)"
        path.write_text(json.dumps(data, indent=1))
    print(section)
    if update:
        update_docs(section)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--image", default=os.environ.get("SBS_IMAGE_DEBIAN12", "localhost/sbs-debian:12")
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--senders", default="10,50,200")
    parser.add_argument("--sizes", default="2048,102400")
    parser.add_argument(
        "--messages",
        default="2048:2000,102400:600",
        help="messages per point for each size, SIZE:COUNT,...",
    )
    parser.add_argument(
        "--experiment",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a main.cf setting applied on top of tuned, to find out what a difference comes "
        "from (repeatable; shown in the output)",
    )
    parser.add_argument("--update-docs", action="store_true")
    parser.add_argument(
        "--from-results",
        metavar="JSON",
        help="measure nothing: write the section again from a results file of an earlier run",
    )
    parser.add_argument("--keep", action="store_true", help="keep the container for inspection")
    args = parser.parse_args(argv)
    if args.from_results:
        return render_again(pathlib.Path(args.from_results), args.update_docs)
    senders_list = [int(s) for s in args.senders.split(",")]
    sizes = [int(s) for s in args.sizes.split(",")]
    counts = {int(k): int(v) for k, v in (p.split(":") for p in args.messages.split(","))}
    # SIGTERM (timeout, CI) unwinds like Ctrl-C, so the container is always removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.time()
    results = []
    loads = []
    try:
        start_container(args.image)
        service = unit()
        sizing = sizing_contribution()
        prepare_configs(sizing, args.experiment)
        tuned_values = [
            f"{k} = {v} ({sizing['contribution']['reasons'][k]})"
            for k, v in sizing["contribution"]["main"].items()
        ]
        tuned_values += [
            f"{svc} maxproc = {v['maxproc']}" for svc, v in sizing["contribution"]["master"].items()
        ]
        tuned_values += [
            f"{setting} (--experiment, not sizing_info's)" for setting in args.experiment
        ]
        postfix = pexec("postconf", "-h", "mail_version").stdout.strip()
        points = [(size, senders) for size in sizes for senders in senders_list]
        for rnd in range(1, args.rounds + 1):
            # each round starts one point further on, so no point always follows the same one
            # (a 200-sender point leaves thousands of sockets in TIME_WAIT for a minute)
            shift = (rnd - 1) % len(points)
            for index, (size, senders) in (
                list(enumerate(points))[shift:] + list(enumerate(points))[:shift]
            ):
                order = ["stock", "tuned"] if (rnd + index) % 2 else ["tuned", "stock"]
                for config in order:
                    backlog = switch(config, service)
                    data = point(senders, counts[size], size)
                    data.update(config=config, round=rnd, backlog=backlog)
                    results.append(data)
                    loads.append(data["loadavg_before"])
                    print(
                        f"round {rnd} {config:5} {size // 1024:>3} KB {senders:>3} senders: "
                        f"{data['rate']} msg/s, lost {data['lost']}, "
                        f"delay= p95 {data.get('p95_baseline_info')} s, "
                        f"to 250 p95 {data['to250_p95']} s, "
                        f"to sink p95 {data['delivery_p95']} s, "
                        f"refused {data['refused']}, timeouts {data['timeouts']}, "
                        f"backlog {backlog}, load {data['loadavg_before']}"
                        + (f", sender: {data['sender_error']}" if data["sender_error"] else ""),
                        flush=True,
                    )
            for size in sizes:
                for senders in senders_list:
                    data = point(senders, counts[size] * 2, size, ceiling=True)
                    data.update(config="ceiling", round=rnd, backlog=None)
                    results.append(data)
                    print(
                        f"round {rnd} ceiling {size // 1024:>3} KB {senders:>3} senders: "
                        f"{data['rate']} msg/s, to 250 p95 {data['to250_p95']} s"
                        + (f", sender: {data['sender_error']}" if data["sender_error"] else ""),
                        flush=True,
                    )
    finally:
        if not args.keep:
            sh(["podman", "rm", "-f", NAME], check=False)
    rows = summarise(results, senders_list, sizes)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = ROOT / "bench" / "throughput" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    results_file = out_dir / f"{stamp}.json"
    meta = {
        "date": stamp,
        "image": args.image,
        "postfix": postfix,
        "cpus": os.cpu_count(),
        "machine": machine(),
        "commit": commit(),
        "sender": (
            f"connect time-out {SENDER_OPTIONS['connect-timeout']} s, reply time-out "
            f"{SENDER_OPTIONS['reply-timeout']} s"
        ),
        "timeouts": (
            f"the connect time-out ({SENDER_OPTIONS['connect-timeout']} s) or the reply "
            f"time-out ({SENDER_OPTIONS['reply-timeout']} s)"
        ),
        "retries": SENDER_OPTIONS["retries"],
        "retry_pause": SENDER_OPTIONS["retry-pause"],
        "sender_options": SENDER_OPTIONS,
        "sink_resolution": next(
            (r["sink"]["resolution_seconds"] for r in results if r.get("sink")), None
        ),
        "rounds": args.rounds,
        "minutes": round((time.time() - started) / 60, 1),
        "load_min": min(loads) if loads else None,
        "load_max": max(loads) if loads else None,
        "tuned_values": tuned_values,
        "results_file": str(results_file.relative_to(ROOT)),
    }
    results_file.write_text(
        json.dumps({"meta": meta, "summary": rows, "points": results}, indent=1)
    )
    section = markdown(meta, rows, senders_list, sizes)
    print(section)
    if args.update_docs:
        update_docs(section)
    lost = sum(r["lost"] or 0 for r in results)
    failed = [r for r in results if r.get("sender_error") or not r.get("drained")]
    return 1 if lost or failed else 0


if __name__ == "__main__":
    sys.exit(main())
