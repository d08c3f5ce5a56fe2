#!/usr/bin/env python3
# Copyright (c) sbs.postfix contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""No-change re-apply benchmark: playbooks/site.yml of two revisions, side by side in one run.

Not a test (CONTRIBUTING.md). Run it through bench/reapply/run.sh, which sets the environment
(the project's .venv, CONTAINERS_CONF); see bench/reapply/README.md.

What it does, in one run:

1. Materialises each revision (``git archive REV``, or a snapshot of the working tree for
   ``WORKTREE``) in a temporary directory and resolves it as the ``sbs.postfix`` collection
   through its own ANSIBLE_COLLECTIONS_PATH (``ansible_collections/sbs/postfix`` -> that copy).
   Both revisions run with the same ansible-core (the project's .venv), the same ansible.cfg
   (written by this script, not the revision's own) and the same inventory.
2. Starts K containers ``sbsbench-1`` .. ``sbsbench-K`` from the test-bed image with systemd as
   PID 1 and an smtp-sink on 127.0.0.1:2525 in each; the inventory routes all mail to that sink
   and turns DNS lookups off (bench/reapply/group_vars.yml).
3. Converges the hosts with each revision once (first runs, not measured).
4. For each of N rounds, for each revision (alternating which goes first): settles the hosts
   with that revision (runs site.yml on all hosts until a run reports changed=0, at most
   --max-settle runs; this also discards at least one warm-up no-change run), then measures
   - the wall time of a no-change run against the first host (``--limit sbsbench-1``), and
   - the controller CPU (user + system of ansible-playbook and every descendant it waited for,
     podman exec included) of a no-change run against all K hosts, divided by K.
   Each measured run's PLAY RECAP is recorded per host; a measured run with changed > 0 is
   flagged (it is not a no-change run).
5. With --profile, one more settled run per revision against the first host with
   ansible.posix.profile_tasks, whose slowest tasks are reported.
6. Writes bench/reapply/results/<UTC time>.json and prints a Markdown summary with the goals
   of issue 12 section 4: after's median wall time <= 0.5 x before's, and controller CPU per
   host <= 5 s (PASS/MISS; a benchmark, not a test: the exit status does not depend on them).

The containers and the temporary directory are removed at the end, also on failure, Ctrl-C
or SIGTERM (--keep keeps both for a look).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = ROOT / "bench" / "reapply"
VENV_BIN = ROOT / ".venv" / "bin"
PREFIX = "sbsbench-"
DEFAULT_BEFORE = "902f119"
WORKTREE = "WORKTREE"
SINK_PORT = 2525
GOAL_WALL_RATIO = 0.5
GOAL_CPU_PER_HOST = 5.0
RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)\s+"
    r"rescued=(?P<rescued>\d+)\s+ignored=(?P<ignored>\d+)"
)
PROFILE_LINE = re.compile(r"^(?P<name>.+?) -+ (?P<seconds>\d+\.\d+)s$")
ANSIBLE_CFG = """\
# Written by bench/reapply/reapply.py: the same settings for every revision compared.
[defaults]
interpreter_python = auto_silent
stdout_callback = default
callback_result_format = yaml
retry_files_enabled = false
host_key_checking = false
nocows = true
forks = {forks}
gathering = implicit
fact_caching = memory

[ssh_connection]
pipelining = true
"""


def log(message):
    print(f"[reapply {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def sh(argv, check=True, timeout=600, **kwargs):
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(map(str, argv))} failed ({result.returncode}): "
            f"{result.stderr.strip() or result.stdout.strip()}"
        )
    return result


def git(*args, **kwargs):
    return sh(["git", "-C", str(ROOT), *args], **kwargs).stdout.strip()


# --- revisions ---------------------------------------------------------------------------------


def materialise(label, spec, workdir):
    """Copy revision `spec` into workdir/label/src; return its description."""
    base = workdir / label
    src = base / "src"
    src.mkdir(parents=True)
    if spec == WORKTREE:
        head = git("rev-parse", "HEAD")
        status = sh(["git", "-C", str(ROOT), "status", "--porcelain"]).stdout
        dirty = [line[3:] for line in status.splitlines() if line.strip()]
        listing = sh(
            ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
        ).stdout
        count = 0
        for rel in filter(None, listing.split("\0")):
            path = ROOT / rel
            if not path.is_file() and not path.is_symlink():
                continue  # tracked but deleted in the working tree
            dest = src / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest, follow_symlinks=False)
            count += 1
        info = {
            "spec": spec,
            "commit": head,
            "describe": f"working tree at {head[:7]}" + (" + uncommitted changes" if dirty else ""),
            "subject": git("log", "-1", "--format=%s", head),
            "dirty_paths": dirty,
            "files": count,
        }
    else:
        commit = git("rev-parse", "--verify", f"{spec}^{{commit}}")
        archive = subprocess.Popen(
            ["git", "-C", str(ROOT), "archive", "--format=tar", commit], stdout=subprocess.PIPE
        )
        sh(["tar", "-x", "-C", str(src)], stdin=archive.stdout)
        archive.stdout.close()
        if archive.wait() != 0:
            raise RuntimeError(f"git archive {commit} failed")
        info = {
            "spec": spec,
            "commit": commit,
            "describe": commit[:7],
            "subject": git("log", "-1", "--format=%s", commit),
            "dirty_paths": [],
        }
    collections = base / "collections"
    link = collections / "ansible_collections" / "sbs" / "postfix"
    link.parent.mkdir(parents=True)
    link.symlink_to(src)
    site = link / "playbooks" / "site.yml"
    if not site.is_file():
        raise RuntimeError(f"{spec}: no playbooks/site.yml")
    info.update(
        label=label,
        collections_path=str(collections),
        site=str(site),
        records_dir=str(base / "dns-records"),
    )
    return info


# --- containers --------------------------------------------------------------------------------


def podman(*args, check=True, timeout=300):
    return sh(["podman", *args], check=check, timeout=timeout)


def start_hosts(names, image, network):
    image_id = podman("image", "inspect", "--format", "{{ .Id }}", image).stdout.strip()
    for name in names:
        podman("rm", "-f", name, check=False)
    for name in names:
        argv = ["run", "-d", "--name", name, "--hostname", f"{name}.example.test"]
        argv += ["--systemd=always"]
        if network:
            argv += ["--network", network]
        podman(*argv, image, "/sbin/init")
    for name in names:
        # Right after `podman run`, systemctl may not reach systemd yet (empty answer): ask again.
        deadline = time.monotonic() + 180
        while True:
            state = podman(
                "exec", name, "systemctl", "is-system-running", "--wait", check=False, timeout=180
            ).stdout.strip()
            if state in ("running", "degraded"):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}: systemd says {state!r} 180 s after boot")
            time.sleep(1)
        # An smtp-sink on loopback stands in for the rest of the Internet (network rule).
        podman(
            "exec",
            name,
            "systemd-run",
            "--unit=sbs-sink",
            "/usr/sbin/smtp-sink",
            "-u",
            "nobody",
            f"127.0.0.1:{SINK_PORT}",
            "64",
        )
    for name in names:
        for _ in range(30):
            probe = podman(
                "exec", name, "bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{SINK_PORT}", check=False
            )
            if probe.returncode == 0:
                break
            time.sleep(0.5)
        else:
            raise RuntimeError(f"{name}: smtp-sink does not listen on {SINK_PORT}")
    return image_id


def start_sshd(names, workdir):
    """Install and start sshd in each host, authorise a key of this run; return {name: IP}.

    The production transport: ssh with pipelining makes one exchange per module call where
    the podman connection runs four or five podman commands."""
    key = workdir / "id_ed25519"
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
    public = (workdir / "id_ed25519.pub").read_text()
    addresses = {}
    for name in names:
        podman(
            "exec",
            name,
            "sh",
            "-c",
            "command -v sshd >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
            "openssh-server >/dev/null; install -d -m 700 /root/.ssh",
            timeout=600,
        )
        sh(
            ["podman", "exec", "-i", name, "sh", "-c", "cat > /root/.ssh/authorized_keys"],
            input=public,
        )
        podman("exec", name, "systemctl", "enable", "--now", "ssh")
        addresses[name] = podman(
            "inspect", "--format", "{{ .NetworkSettings.IPAddress }}", name
        ).stdout.strip()
    return addresses


def ssh_master_cpu(workdir):
    """CPU seconds of this run's persistent ssh masters, which then exit: they were forked
    into the background, so the run's rusage does not hold them (ControlPersist)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for proc in pathlib.Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes()
            if b"ssh" not in cmdline or f"{workdir}/cp-".encode() not in cmdline:
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            os.kill(int(proc.name), signal.SIGTERM)
        except (OSError, ValueError, IndexError):
            continue
    return total


def remove_hosts(names):
    for name in names:
        if name.startswith(PREFIX):
            podman("rm", "-f", "-t", "2", name, check=False, timeout=120)


# --- runs --------------------------------------------------------------------------------------


def write_inventory(path, names, ssh_hosts=None):
    """The inventory; with ``ssh_hosts`` ({name: address}) the hosts are reached over SSH
    (their variables override the group's podman connection)."""
    vars_text = (HERE / "group_vars.yml").read_text()
    # YAML is a superset of JSON: the inventory is JSON with the group variables read as YAML
    # by ansible-playbook itself (no PyYAML needed here).
    hosts = {name: {} for name in names}
    for name, address in (ssh_hosts or {}).items():
        hosts[name] = {
            "ansible_connection": "ssh",
            "ansible_host": address,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(path / "id_ed25519"),
            "ansible_ssh_common_args": (
                "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
                f"-o ControlPath={path}/cp-%C"
            ),
        }
    inventory = {"all": {"children": {"mail": {"hosts": hosts}}}}
    (path / "inventory.json.yml").write_text(json.dumps(inventory, indent=2) + "\n")
    group_vars = path / "group_vars"
    group_vars.mkdir()
    (group_vars / "mail.yml").write_text(vars_text)
    return path / "inventory.json.yml"


class Runner:
    def __init__(self, workdir, inventory, hosts, timeout):
        self.workdir = workdir
        self.inventory = inventory
        self.hosts = hosts
        self.timeout = timeout
        self.count = 0
        self.logs = workdir / "logs"
        self.logs.mkdir()

    def run(self, rev, kind, limit=None, profile=False, extra_vars=None):
        """One ansible-playbook run of rev's site.yml; return its measurements."""
        self.count += 1
        logfile = self.logs / f"{self.count:03d}-{rev['label']}-{kind}.log"
        argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(self.inventory), rev["site"]]
        argv += ["-e", f"dkim_records_dir={rev['records_dir']}"]
        if extra_vars:
            argv += ["-e", f"@{extra_vars}"]
        if limit:
            argv += ["--limit", limit]
        env = dict(
            os.environ,
            PATH=f"{VENV_BIN}:{os.environ.get('PATH', '')}",
            ANSIBLE_CONFIG=str(self.workdir / "ansible.cfg"),
            ANSIBLE_COLLECTIONS_PATH=rev["collections_path"],
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            PROFILE_TASKS_TASK_OUTPUT_LIMIT="all",
        )
        for name in ("ANSIBLE_STDOUT_CALLBACK", "ANSIBLE_CALLBACKS_ENABLED"):
            env.pop(name, None)
        if profile:
            env["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
        hosts = [limit] if limit else self.hosts
        load = os.getloadavg()[0]
        busy0 = machine_busy()
        usage0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        with logfile.open("w") as out:
            proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.workdir
            )
            try:
                rc = proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise RuntimeError(f"{logfile.name}: no end after {self.timeout} s") from None
            except BaseException:  # SIGTERM, Ctrl-C: do not leave the playbook running
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                raise
        wall = time.perf_counter() - start
        usage1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        masters = ssh_master_cpu(self.workdir)
        busy1 = machine_busy()
        text = logfile.read_text(errors="replace")
        recap = parse_recap(text)
        # The ssh masters' CPU counts as system time: it is mostly encryption in the kernel's
        # and libcrypto's hands, and it is the controller's either way.
        user = usage1.ru_utime - usage0.ru_utime
        system = usage1.ru_stime - usage0.ru_stime + masters
        result = {
            "n": self.count,
            "revision": rev["label"],
            "kind": kind,
            "hosts": hosts,
            "rc": rc,
            "wall_s": round(wall, 3),
            "cpu_user_s": round(user, 3),
            "cpu_sys_s": round(system, 3),
            "cpu_s": round(user + system, 3),
            "cpu_per_host_s": round((user + system) / len(hosts), 3),
            "ssh_master_cpu_s": round(masters, 3),
            "machine_busy_cpu_s": round(busy1 - busy0, 2) if busy0 is not None else None,
            "loadavg_start": load,
            "recap": recap,
            "changed": sum(r["changed"] for r in recap.values()),
            "log": logfile.name,
        }
        if profile:
            result["profile"] = parse_profile(text)
        problems = []
        if rc != 0:
            problems.append(f"rc={rc}")
        if set(recap) != set(hosts):
            problems.append(f"recap for {sorted(recap)} instead of {hosts}")
        if any(r["failed"] or r["unreachable"] for r in recap.values()):
            problems.append("failed/unreachable hosts")
        log(
            f"{rev['label']:6} {kind:9} {len(hosts)} host(s): wall {wall:6.1f} s, "
            f"CPU {user + system:6.1f} s, changed={result['changed']}"
            + (f"  PROBLEM: {', '.join(problems)}" if problems else "")
        )
        if problems:
            tail = "\n".join(text.splitlines()[-40:])
            raise RuntimeError(f"{logfile}: {', '.join(problems)}\n{tail}")
        return result


def parse_recap(text):
    recap = {}
    lines = text.splitlines()
    try:
        start = max(i for i, line in enumerate(lines) if line.startswith("PLAY RECAP"))
    except ValueError:
        return recap
    for line in lines[start + 1 :]:
        match = RECAP.match(line.strip())
        if match:
            recap[match["host"]] = {k: int(v) for k, v in match.groupdict().items() if k != "host"}
    return recap


def parse_profile(text):
    lines = text.splitlines()
    try:
        start = max(i for i, line in enumerate(lines) if line.startswith("TASKS RECAP"))
    except ValueError:
        return []
    tasks = []
    for line in lines[start + 1 :]:
        match = PROFILE_LINE.match(line.rstrip())
        if match:
            tasks.append({"task": match["name"].strip(), "seconds": float(match["seconds"])})
    return tasks


def machine_busy():
    """CPU seconds the whole machine spent busy so far (all CPUs, from /proc/stat)."""
    try:
        fields = pathlib.Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# --- the benchmark -----------------------------------------------------------------------------


def settle(runner, rev, max_runs, min_runs, extra_vars):
    """Run rev on all hosts until a run changes nothing; these runs are not measured."""
    runs = []
    for attempt in range(max_runs):
        result = runner.run(rev, "settle", extra_vars=extra_vars)
        runs.append(result)
        if result["changed"] == 0 and attempt + 1 >= min_runs:
            break
    else:
        log(f"{rev['label']}: hosts still change after {max_runs} runs (not idempotent?)")
    return runs


def machine():
    info = {"nproc": os.cpu_count(), "cpu_model": None, "memory_gib": None, "os": None}
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
        for line in pathlib.Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                info["os"] = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    info["kernel"] = platform.release()
    info["python"] = platform.python_version()
    core = sh([str(VENV_BIN / "ansible-playbook"), "--version"], check=False).stdout
    info["ansible_core"] = core.splitlines()[0] if core else None
    info["podman"] = podman("--version", check=False).stdout.strip()
    return info


def median(values):
    return round(statistics.median(values), 3) if values else None


def busy_pct(run):
    """How busy the whole machine was during a run, in % of all its CPUs."""
    if run.get("machine_busy_cpu_s") is None:
        return None
    return round(100 * run["machine_busy_cpu_s"] / (run["wall_s"] * (os.cpu_count() or 1)))


def summarise(results, labels, k):
    summary = {}
    for label in labels:
        wall = [r for r in results if r["revision"] == label and r["kind"] == "wall"]
        cpu = [r for r in results if r["revision"] == label and r["kind"] == "cpu"]
        first = wall[0]["recap"][wall[0]["hosts"][0]] if wall else {}
        summary[label] = {
            "wall_s": [r["wall_s"] for r in wall],
            "wall_median_s": median([r["wall_s"] for r in wall]),
            "wall_machine_busy_pct": [busy_pct(r) for r in wall],
            "wall_cpu_s": [r["cpu_s"] for r in wall],
            "wall_cpu_median_s": median([r["cpu_s"] for r in wall]),
            "cpu_per_host_s": [r["cpu_per_host_s"] for r in cpu],
            "cpu_per_host_median_s": median([r["cpu_per_host_s"] for r in cpu]),
            "cpu_run_wall_s": [r["wall_s"] for r in cpu],
            "cpu_run_wall_median_s": median([r["wall_s"] for r in cpu]),
            "tasks_ok": first.get("ok"),
            "tasks_changed": first.get("changed"),
            "tasks_skipped": first.get("skipped"),
            "tasks_per_host_cpu_runs": sorted(
                {(v["ok"], v["skipped"]) for r in cpu for v in r["recap"].values()}
            ),
            "measured_runs_with_changes": [r["n"] for r in wall + cpu if r["changed"]],
        }
    before, after = (summary[label] for label in labels)
    rounds = min(len(before["wall_s"]), len(after["wall_s"]))
    pair_ratios = [after["wall_s"][i] / before["wall_s"][i] for i in range(rounds)]
    cpu_ratios = [
        after["cpu_per_host_s"][i] / before["cpu_per_host_s"][i]
        for i in range(min(len(before["cpu_per_host_s"]), len(after["cpu_per_host_s"])))
    ]
    ratio = after["wall_median_s"] / before["wall_median_s"]
    summary["comparison"] = {
        "wall_ratio_of_medians": round(ratio, 3),
        "wall_ratio_per_round": [round(x, 3) for x in pair_ratios],
        "wall_ratio_median_of_rounds": median(pair_ratios),
        "cpu_per_host_ratio_of_medians": round(
            after["cpu_per_host_median_s"] / before["cpu_per_host_median_s"], 3
        ),
        "cpu_per_host_ratio_per_round": [round(x, 3) for x in cpu_ratios],
        "goal_wall": "PASS" if ratio <= GOAL_WALL_RATIO else "MISS",
        "goal_cpu": "PASS" if after["cpu_per_host_median_s"] <= GOAL_CPU_PER_HOST else "MISS",
        "hosts": k,
    }
    return summary


def total(rev):
    if rev["tasks_ok"] is None:
        return None
    return rev["tasks_ok"] + rev["tasks_skipped"]


def markdown(data):
    meta, s = data["meta"], data["summary"]
    b, a, c = s["before"], s["after"], s["comparison"]
    m = meta["machine"]
    revs = meta["revisions"]
    k = meta["hosts"]
    lines = [
        f"## No-change re-apply of site.yml: run {meta['date']}",
        "",
        f"- before: `{revs['before']['describe']}` {revs['before']['subject']}",
        f"- after: `{revs['after']['describe']}` {revs['after']['subject']}",
        f"- machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, {m['os']}, "
        f"{m['ansible_core']}, {m['podman']}; load average {meta['load_min']}-{meta['load_max']}",
        f"- {meta['runs']} measured runs per revision, alternating; {k} hosts from "
        f"`{meta['image']}` reached by {meta.get('connection', 'podman')}; "
        f"{meta['minutes']} minutes in all",
        "",
        "| measure (median) | before | after | after / before |",
        "| --- | ---: | ---: | ---: |",
        f"| wall s, no-change run, 1 host | {b['wall_median_s']} | {a['wall_median_s']} | "
        f"{c['wall_ratio_of_medians']} |",
        f"| controller CPU s per host, run against {k} hosts | {b['cpu_per_host_median_s']} | "
        f"{a['cpu_per_host_median_s']} | {c['cpu_per_host_ratio_of_medians']} |",
        f"| controller CPU s, 1-host run | {b['wall_cpu_median_s']} | {a['wall_cpu_median_s']} | |",
        f"| wall s, run against {k} hosts | {b['cpu_run_wall_median_s']} | "
        f"{a['cpu_run_wall_median_s']} | |",
        f"| tasks run (ok) per host | {b['tasks_ok']} | {a['tasks_ok']} | |",
        f"| tasks skipped per host | {b['tasks_skipped']} | {a['tasks_skipped']} | |",
        f"| tasks in all per host (run + skipped) | {total(b)} | {total(a)} | |",
        f"| tasks changed (must be 0) | {b['tasks_changed']} | {a['tasks_changed']} | |",
        "",
        f"Per run, in order: wall s before {b['wall_s']}, after {a['wall_s']}; "
        f"per-round ratio {c['wall_ratio_per_round']} (median {c['wall_ratio_median_of_rounds']}). "
        f"CPU s per host before {b['cpu_per_host_s']}, after {a['cpu_per_host_s']}. "
        f"Machine busy during the wall runs (% of all CPUs, this run's own load included): "
        f"before {b['wall_machine_busy_pct']}, after {a['wall_machine_busy_pct']}.",
        "",
        f"- Goal wall time (after <= {GOAL_WALL_RATIO} x before): **{c['goal_wall']}** "
        f"({c['wall_ratio_of_medians']})",
        f"- Goal controller CPU per host (after <= {GOAL_CPU_PER_HOST:g} s): **{c['goal_cpu']}** "
        f"({a['cpu_per_host_median_s']} s)",
    ]
    for label, rev in (("before", b), ("after", a)):
        if rev["measured_runs_with_changes"]:
            lines.append(
                f"- **FLAG**: {label}: measured runs {rev['measured_runs_with_changes']} reported "
                "changed > 0: not a no-change run"
            )
    for label, profile in data.get("profiles", {}).items():
        lines += ["", f"Slowest tasks of one no-change run, {label} (profile_tasks, 1 host):", ""]
        lines += ["| s | task |", "| ---: | --- |"]
        lines += [f"| {t['seconds']:.2f} | {t['task']} |" for t in profile["top"]]
        lines.append(
            f"| {profile['total_s']:.2f} | all {profile['tasks']} tasks (sum of profile_tasks) |"
        )
    lines += ["", f"Raw results: `{meta['results_file']}`."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--before", default=DEFAULT_BEFORE, help="git revision (default %(default)s)"
    )
    parser.add_argument(
        "--after",
        default=WORKTREE,
        help=f"git revision, or {WORKTREE} (default): the working tree as it is now, "
        "uncommitted changes included",
    )
    parser.add_argument("--runs", type=int, default=5, help="measured runs per revision")
    parser.add_argument("--hosts", type=int, default=3, help="hosts of the CPU measure")
    parser.add_argument(
        "--image", default=os.environ.get("SBS_IMAGE_DEBIAN12", "localhost/sbs-debian:12")
    )
    parser.add_argument(
        "--network",
        default=None,
        help="podman network of the hosts (default: podman's own, as Molecule; 'none' works "
        "only while the image's apt lists are younger than the dkim role's cache_valid_time)",
    )
    parser.add_argument(
        "--connection",
        choices=("podman", "ssh"),
        default="podman",
        help="how Ansible reaches the hosts: podman exec (default), or ssh with pipelining, "
        "the production transport (sshd is installed in the hosts)",
    )
    parser.add_argument("--max-settle", type=int, default=3, help="settling runs at most")
    parser.add_argument("--profile", action="store_true", help="one profile_tasks run each")
    parser.add_argument("--top", type=int, default=15, help="slowest tasks reported")
    parser.add_argument("--before-vars", help="YAML file of extra variables for before only")
    parser.add_argument("--after-vars", help="YAML file of extra variables for after only")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per playbook run")
    parser.add_argument("--results-dir", default=str(HERE / "results"))
    parser.add_argument("--keep", action="store_true", help="keep containers and temp dir")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.hosts < 1:
        parser.error("--runs and --hosts must be at least 1")
    extra = {"before": args.before_vars, "after": args.after_vars}
    for path in filter(None, extra.values()):
        if not pathlib.Path(path).is_file():
            parser.error(f"no file {path}")
    extra = {k: str(pathlib.Path(v).resolve()) if v else None for k, v in extra.items()}

    def terminate(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)

    started = time.time()
    date = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="sbsbench-reapply-"))
    names = [f"{PREFIX}{i}" for i in range(1, args.hosts + 1)]
    labels = ("before", "after")
    results = []
    try:
        revs = {
            "before": materialise("before", args.before, workdir),
            "after": materialise("after", args.after, workdir),
        }
        for label in labels:
            log(f"{label}: {revs[label]['describe']} {revs[label]['subject']}")
            if revs[label]["dirty_paths"]:
                log(f"{label}: uncommitted: {' '.join(revs[label]['dirty_paths'])}")
        (workdir / "ansible.cfg").write_text(ANSIBLE_CFG.format(forks=max(5, args.hosts)))
        log(f"starting {', '.join(names)} from {args.image}")
        image_id = start_hosts(names, args.image, args.network)
        ssh_hosts = start_sshd(names, workdir) if args.connection == "ssh" else None
        inventory = write_inventory(workdir, names, ssh_hosts)
        runner = Runner(workdir, inventory, names, args.timeout)
        loads = [os.getloadavg()[0]]

        # First runs: each revision converges the hosts once (not what is measured).
        for label in labels:
            results.append(runner.run(revs[label], "converge", extra_vars=extra[label]))
        settled = set()
        for round_ in range(args.runs):
            order = labels if round_ % 2 == 0 else labels[::-1]
            for label in order:
                rev = revs[label]
                # The other revision configured the hosts last: settle them with this one and
                # discard at least one no-change run (two the first time: warm caches).
                min_runs = 1 if label in settled else 2
                results += settle(runner, rev, args.max_settle, min_runs, extra[label])
                settled.add(label)
                for kind, limit in (("wall", names[0]), ("cpu", None)):
                    result = runner.run(rev, kind, limit=limit, extra_vars=extra[label])
                    result["round"] = round_
                    results.append(result)
                    loads.append(result["loadavg_start"])
        profiles = {}
        if args.profile:
            for label in labels:
                results += settle(runner, revs[label], args.max_settle, 1, extra[label])
                result = runner.run(
                    revs[label], "profile", limit=names[0], profile=True, extra_vars=extra[label]
                )
                results.append(result)
                tasks = result.pop("profile")
                profiles[label] = {
                    "run": result["n"],
                    "wall_s": result["wall_s"],
                    "tasks": len(tasks),
                    "total_s": round(sum(t["seconds"] for t in tasks), 2),
                    "top": tasks[: args.top],
                    "all": tasks,
                }
        loads.append(os.getloadavg()[0])
        results_dir = pathlib.Path(args.results_dir)
        results_dir.mkdir(parents=True, exist_ok=True)
        results_file = results_dir / f"{date}.json"
        try:
            shown = str(results_file.resolve().relative_to(ROOT))
        except ValueError:
            shown = str(results_file)
        data = {
            "meta": {
                "date": date,
                "benchmark": "no-change re-apply of playbooks/site.yml",
                "machine": machine(),
                "image": args.image,
                "image_id": image_id,
                "network": args.network or "podman default",
                "connection": args.connection,
                "runs": args.runs,
                "hosts": args.hosts,
                "forks": max(5, args.hosts),
                "max_settle": args.max_settle,
                "extra_vars": extra,
                "revisions": revs,
                "minutes": round((time.time() - started) / 60, 1),
                "load_min": round(min(loads), 2),
                "load_max": round(max(loads), 2),
                "results_file": shown,
                "workdir": str(workdir) if args.keep else None,
            },
            "summary": summarise(results, labels, args.hosts),
            "profiles": profiles,
            "runs": results,
        }
        results_file.write_text(json.dumps(data, indent=1) + "\n")
        print(markdown(data))
        return 0
    except BaseException:
        if results:  # an hour's work is not lost to one failed run
            partial = pathlib.Path(args.results_dir) / f"{date}.partial.json"
            partial.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps({"runs": results}, indent=1) + "\n")
            log(f"stopped; the runs so far are in {partial}")
        raise
    finally:
        if args.keep:
            log(f"kept {', '.join(names)} and {workdir}")
        else:
            remove_hosts(names)
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
