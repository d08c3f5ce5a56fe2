#!/bin/bash
# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Benchmark baseline_info's log parser against pflogsumm, side by side, on a real Postfix log
# grown to 1M and 10M lines. Prints a Markdown section (docs/benchmarks.md "baseline_info parser").
#
#   bench/baseline/run.sh [RUNS]            (default 5 runs per tool and size; medians reported)
#
# Steps: install pflogsumm (Debian package) on this host if missing; make a real log with
# generate.sh (a test container, traffic on its loopback only) unless $BENCH_DIR/base.log exists;
# grow it (grow.py); time each tool with /usr/bin/time (wall, user+sys CPU, peak RSS); count
# the instructions each executes on a sample with callgrind (a figure the VM's CPU speed, which
# moves the timings by half during a day, does not touch).
set -eu -o pipefail
runs=${1:-5}
here=$(cd "$(dirname "$0")" && pwd)
dir=${BENCH_DIR:-/var/tmp/sbs-bench-baseline}
sizes=${BENCH_SIZES:-1000000 10000000}
py=${BENCH_PYTHON:-python3}
mkdir -p "$dir"

if ! command -v pflogsumm >/dev/null; then
  apt-get install -y pflogsumm >/dev/null
fi
[ -x /usr/bin/time ] || apt-get install -y time >/dev/null
command -v valgrind >/dev/null || apt-get install -y valgrind >/dev/null
[ -s "$dir/base.log" ] || "$here/generate.sh" "$dir/base.log" 5 200 >&2

# one timed run: prints "wall cpu maxrss_kib"; the tool's stdout goes to $2
timed() {
  local out=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$dir/time.txt" "$@" >"$out" 2>/dev/null
  awk '{printf "%s %.2f %s\n", $1, $2 + $3, $4}' "$dir/time.txt"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

base_lines=$(wc -l <"$dir/base.log")
echo "## baseline_info parser"
echo
echo "Measured $(date -u +%Y-%m-%d) on $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')),"
echo "$(free -g | awk '/Mem:/ {print $2}') GiB, $(. /etc/os-release; echo "$PRETTY_NAME"), $($py --version 2>&1), pflogsumm $(dpkg-query -W -f='${Version}' pflogsumm), load average at start $(cut -d' ' -f1 /proc/loadavg)."
echo "Input: a real Postfix $(grep -m1 -o 'version [0-9.]*' "$dir/base.log" | cut -d' ' -f2) log of $base_lines lines made by"
echo "\`bench/baseline/generate.sh\` (smtp-source into Postfix; sinks that accept, hard-reject and"
echo "soft-reject; local deliveries, aliases, unknown users, pickup), grown with \`grow.py\`. Medians of"
echo "$runs runs, the three tools taking turns within each run; lines/s from wall time and from CPU"
echo "time (user+sys), peak memory = max RSS; the last column compares the medians, the line below"
echo "each table gives the ratio of each run and their median."
echo
for size in $sizes; do
  echo "| lines | tool | wall s | lines/s (wall) | CPU s | lines/s (CPU) | peak RSS MiB | vs pflogsumm (CPU) |"
  echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  log="$dir/grown-$size.log"
  [ -s "$log" ] || $py "$here/grow.py" "$dir/base.log" "$size" "$log" >&2
  declare -A wall cpu rss
  for tool in pflogsumm parser loop; do : >"$dir/runs-$tool.txt"; done
  : >"$dir/runs-ratio.txt"
  # The tools take turns within each run (the first one moving round), so a busy moment of a
  # shared machine weighs on all of them; the ratio is taken per run, then its median.
  for run in $(seq "$runs"); do
    case $((run % 3)) in
      1) order="pflogsumm parser loop" ;;
      2) order="parser loop pflogsumm" ;;
      0) order="loop pflogsumm parser" ;;
    esac
    for tool in $order; do
      case $tool in
        pflogsumm) timed "$dir/out-$tool.txt" pflogsumm "$log" ;;
        parser) timed "$dir/out-$tool.txt" $py "$here/parse.py" parser "$log" ;;
        loop) timed "$dir/out-$tool.txt" $py "$here/parse.py" loop "$log" ;;
      esac >>"$dir/runs-$tool.txt"
    done
    paste -d' ' <(tail -n1 "$dir/runs-pflogsumm.txt") <(tail -n1 "$dir/runs-parser.txt") |
      awk '{printf "%.2f %.2f\n", $1 / $4, $2 / $5}' >>"$dir/runs-ratio.txt"
  done
  for tool in pflogsumm parser loop; do
    wall[$tool]=$(awk '{print $1}' "$dir/runs-$tool.txt" | median)
    cpu[$tool]=$(awk '{print $2}' "$dir/runs-$tool.txt" | median)
    rss[$tool]=$(awk '{print $3}' "$dir/runs-$tool.txt" | median)
  done
  ratio_wall=$(awk '{print $1}' "$dir/runs-ratio.txt" | median)
  ratio_cpu=$(awk '{print $2}' "$dir/runs-ratio.txt" | median)
  for tool in pflogsumm parser loop; do
    name=$tool
    [ "$tool" = parser ] && name="baseline_info parser"
    [ "$tool" = loop ] && name="bare Python loop (ceiling)"
    awk -v n="$size" -v t="$name" -v w="${wall[$tool]}" -v c="${cpu[$tool]}" -v r="${rss[$tool]}" \
      -v pc="${cpu[pflogsumm]}" 'BEGIN {
        printf "| %d | %s | %.2f | %d | %.2f | %d | %.1f | %s |\n", n, t, w, n / w, c, n / c, r / 1024,
          (t == "pflogsumm") ? "1.0x" : sprintf("%.1fx", pc / c) }'
  done
  echo
  echo "$size lines, pflogsumm / parser per run (wall, CPU): $(tr '\n' ';' <"$dir/runs-ratio.txt" | sed 's/;$//; s/;/; /g'); median **${ratio_wall}x wall, ${ratio_cpu}x CPU**."
  # the same Grand Totals?
  $py - "$dir/out-pflogsumm.txt" "$dir/out-parser.txt" "$size" <<'PY'
import json, re, sys
theirs = {}
names = {"received": "received", "delivered": "delivered", "forwarded": "forwarded",
         "deferred": "deferred_messages", "bounced": "bounced", "rejected": "rejected",
         "reject warnings": "reject_warnings", "held": "held", "discarded": "discarded",
         "bytes received": "bytes_received", "bytes delivered": "bytes_delivered"}
for line in open(sys.argv[1]):
    m = re.match(r"\s*(\d+)([km ])\s+([a-z ]+?)(?:\s+\(.*)?$", line.rstrip("\n"))
    if m and m.group(3) in names and names[m.group(3)] not in theirs:
        theirs[names[m.group(3)]] = (int(m.group(1)), m.group(2))
    m = re.search(r"\((\d+)k?\s+deferrals\)", line)
    if m and "deferred" not in theirs:
        theirs["deferred"] = (int(m.group(1)), " " if "k" not in line.split("(")[1] else "k")
ours = json.load(open(sys.argv[2]))
def units(v):
    return (int(v / 1048576), "m") if v > 536870912 else (int(v / 1024), "k") if v > 524288 else (v, " ")
diff = {k: (units(ours[k]), v) for k, v in theirs.items() if units(ours[k]) != v}
shown = ", ".join(f"{k} {ours[k]}" for k in ("received", "delivered", "deferred", "bounced", "rejected"))
print()
print(f"{sys.argv[3]} lines, Grand Totals: " + ("identical to pflogsumm's (" + str(len(theirs)) + " figures; " + shown + ")" if not diff else "DIFFERENT: " + repr(diff)) + f"; open per-message state at the end: {ours['open_state']} entries.")
print()
PY
done

# Instructions, not seconds: callgrind counts what each tool executes, the same on a busy or an
# idle machine. Python and Perl run a different mix of instructions, so this is the work ratio,
# a check on the timed ratio, not a replacement for it.
sample_lines=${BENCH_SAMPLE_LINES:-100000}
sample="$dir/sample-$sample_lines.log"
head -n "$sample_lines" "$dir/grown-${sizes%% *}.log" >"$sample"
icount() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | awk '/Collected/ {print $4}'; }
i_pflogsumm=$(icount pflogsumm "$sample")
i_parser=$(icount $py "$here/parse.py" parser "$sample")
awk -v n="$sample_lines" -v f="${sizes%% *}" -v p="$i_pflogsumm" -v q="$i_parser" 'BEGIN {
  printf "Instructions executed (valgrind --tool=callgrind, start-up included) on the first %d lines of the %d-line file: pflogsumm %d per line, baseline_info parser %d per line: **%.2fx** fewer.\n", n, f, p / n, q / n, p / q }'
