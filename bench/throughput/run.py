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
   ``driver.py`` inside the container: smtp-source with N concurrent senders and M messages of
   S bytes, from the first connection until the queue is empty and the sink holds every message
   Postfix accepted with 250. The ceiling (smtp-source straight into smtp-sink) is measured in
   each round too.
5. Reads each point's log window with baseline_info's parser (plugins/module_utils/_maillog.py)
   for the delivery latency p95, reports medians and the median of the paired per-round ratios
   (tuned / stock of the same round and point), writes the raw results as JSON and,
   with --update-docs, the "throughput" section of docs/benchmarks.md.

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
LOG = "/var/log/postfix-bench.log"
BEGIN = "<!-- throughput:begin -->"
END = "<!-- throughput:end -->"
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


def latency_p95(offset):
    """delay= p95 of the window, through baseline_info's own log parser."""
    from ansible_collections.sbs.postfix.plugins.module_utils import _maillog  # noqa: PLC0415

    window = pexec("tail", "-c", f"+{offset + 1}", LOG).stdout.encode()
    parser = _maillog.MailLogParser(since=None)
    parser.begin_source()
    parser.feed_stream(io.BytesIO(window))
    mail = parser.result()
    delay = mail["latency"]["delay"]
    return delay.get("p95"), mail.get("delivered")


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
    if ceiling:
        argv.append("--ceiling")
    data = json.loads(pexec(*argv, timeout=300).stdout)
    data["loadavg_before"] = before
    if not ceiling:
        try:
            data["p95_baseline_info"], data["delivered_baseline_info"] = latency_p95(offset)
        except Exception as exc:  # the driver's own p95 stays; say why this one is missing
            data["p95_baseline_info"] = None
            data["baseline_info_error"] = str(exc)
    return data


def median(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 1) if values else None


def summarise(results, senders_list, sizes):
    rows = []
    for size in sizes:
        for senders in senders_list:

            def pick(config, key="rate", s=senders, z=size):
                return [
                    r[key]
                    for r in results
                    if r["config"] == config and r["senders"] == s and r["size"] == z
                ]

            stock = median(pick("stock"))
            tuned = median(pick("tuned"))
            # tuned / stock of the same round: both measured back to back, so a busy moment of
            # the shared machine weighs on both sides of each ratio
            by_round = {
                config: {
                    r["round"]: r["rate"]
                    for r in results
                    if r["config"] == config and r["senders"] == senders and r["size"] == size
                }
                for config in ("stock", "tuned")
            }
            paired = [
                round(by_round["tuned"][n] / by_round["stock"][n], 2)
                for n in sorted(by_round["stock"])
                if by_round["stock"][n] and by_round["tuned"].get(n)
            ]
            rows.append(
                {
                    "size": size,
                    "senders": senders,
                    "stock": stock,
                    "tuned": tuned,
                    "ratio": round(statistics.median(paired), 2) if paired else None,
                    "ratios": paired,
                    "ceiling": median(pick("ceiling")),
                    "stock_p95": median(pick("stock", "p95_baseline_info")),
                    "tuned_p95": median(pick("tuned", "p95_baseline_info")),
                    "stock_rounds": pick("stock"),
                    "tuned_rounds": pick("tuned"),
                    "lost": sum(
                        r["lost"] or 0
                        for r in results
                        if r["senders"] == senders and r["size"] == size
                    ),
                    "accepted": sum(
                        r["accepted"] or 0
                        for r in results
                        if r["senders"] == senders
                        and r["size"] == size
                        and r["config"] != "ceiling"
                    ),
                }
            )
    return rows


def markdown(meta, rows, senders_list, sizes):
    m = meta
    out = [BEGIN, "", "## Throughput", ""]
    out.append(
        f"Run {m['date']} with `bench/throughput/run.py --rounds {m['rounds']}` on "
        f"{m['cpus']} CPUs, image `{m['image']}` (Postfix {m['postfix']}), {m['rounds']} "
        "rounds, stock and tuned measured back to back at each point in alternating order, "
        f"{m['minutes']} minutes in all. Load average of "
        f"the machine during the run: {m['load_min']}-{m['load_max']} (the machine is shared "
        "with other work; ratios matter, not absolutes)."
    )
    out.append("")
    out.append(
        "Messages/s end to end: from smtp-source's first connection until the queue is empty "
        "and the smtp-sink holds every message Postfix accepted with 250. Rates are medians of "
        "the rounds; ratio = the median of the per-round ratios tuned / stock (each pair "
        "measured back to back). Ceiling = smtp-source straight into smtp-sink (no Postfix). "
        "p95 = delivery delay (`delay=`) from Postfix's log, read with baseline_info's parser."
    )
    out.append("")
    out.append(
        "| size | senders | stock msg/s | tuned msg/s | ratio | ceiling msg/s "
        "| p95 stock s | p95 tuned s | lost |"
    )
    out.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        cells = [
            f"{r['size'] // 1024} KB",
            r["senders"],
            r["stock"],
            r["tuned"],
            r["ratio"],
            r["ceiling"],
            r["stock_p95"],
            r["tuned_p95"],
            f"{r['lost']} of {r['accepted']}",
        ]
        out.append("| " + " | ".join(str(c) for c in cells) + " |")
    out.append("")
    hi, mid = max(senders_list), sorted(senders_list)[len(senders_list) // 2]
    for size in sizes:
        by = {r["senders"]: r for r in rows if r["size"] == size}
        if by.get(hi) and by.get(mid) and by[hi]["tuned"] and by[mid]["tuned"]:
            share = round(100 * by[hi]["tuned"] / by[mid]["tuned"])
            out.append(
                f"- {size // 1024} KB: at {hi} senders tuned/stock = {by[hi]['ratio']}; tuned at "
                f"{hi} senders runs at {share}% of its own {mid}-sender rate."
            )
    out.append("")
    out.append(
        'What "tuned" changed (sizing_info on this container, applied on top of the same '
        "stock files):"
    )
    out.append("")
    out.extend(f"- {line}" for line in m["tuned_values"])
    out.append("")
    out.append("Per-round rates (msg/s) and ratios, in run order:")
    out.append("")
    for r in rows:
        out.append(
            f"- {r['size'] // 1024} KB, {r['senders']} senders: stock {r['stock_rounds']}, "
            f"tuned {r['tuned_rounds']}, ratios {r['ratios']}"
        )
    out.append("")
    out.append(f"Raw results: `{m['results_file']}`.")
    out.append("")
    out.append(END)
    return "\n".join(out)


def update_docs(section):
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


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
    parser.add_argument("--keep", action="store_true", help="keep the container for inspection")
    args = parser.parse_args(argv)
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
                        f"p95 {data.get('p95_baseline_info')} s, "
                        f"backlog {backlog}, load {data['loadavg_before']}",
                        flush=True,
                    )
            for size in sizes:
                for senders in senders_list:
                    data = point(senders, counts[size] * 2, size, ceiling=True)
                    data.update(config="ceiling", round=rnd, backlog=None)
                    results.append(data)
                    print(
                        f"round {rnd} ceiling {size // 1024:>3} KB {senders:>3} senders: "
                        f"{data['rate']} msg/s",
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
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
