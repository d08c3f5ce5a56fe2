#!/usr/bin/env bash
# Outage drain benchmark: how long after the primary MX returns does the mail a backup MX
# queued during the outage reach the mailbox? Not a test. Three variants on the containers of
# the `topology` Molecule scenario, one after the other:
#
#   stock     Postfix's retry schedule on the backup (queue_run_delay 300s, minimal_backoff_time
#             300s, maximal_backoff_time 4000s), no ETRN from the primary
#   backoff   the topology role's schedule on the backup (60s, 60s, 300s), no ETRN
#   tuned     the role's schedule and the primary's ETRN unit (what the role installs)
#
#   bench/outage/run.sh [COUNT] [HOLD_SECONDS]
#
# COUNT messages (default 20) go to the backup while Postfix is stopped on the primary; the
# primary stays down HOLD_SECONDS (default 30) after the backup deferred them all. Run it
# inside a Molecule slot (/tmp/dev/with-slot on the shared test bed). Results:
# bench/outage/results/<UTC time>.json, and one line per variant on stdout.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/.cache/containers.conf}
export PATH=$ROOT/.venv/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.cache/collections
COUNT=${1:-20}
HOLD=${2:-30}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=$ROOT/bench/outage/results/$STAMP.json
cd "$ROOT"
# BENCH_REUSE=1: use the scenario's containers as `molecule converge -s topology` left them,
# and leave them; otherwise build them and destroy them at the end.
if [ "${BENCH_REUSE:-0}" != 1 ]; then
  molecule destroy -s topology >/dev/null
  trap 'molecule destroy -s topology >/dev/null' EXIT
  molecule create -s topology >/dev/null
  molecule prepare -s topology >/dev/null
  molecule converge -s topology >/dev/null
fi
# Molecule's ephemeral directory of the scenario holds the inventory it generated.
INVENTORY=$(ls -td "$HOME"/.ansible/tmp/molecule.*.topology/inventory 2>/dev/null | head -1)
LINES=$(mktemp)
for variant in stock backoff tuned; do
  ansible-playbook -i "$INVENTORY" bench/outage/outage.yml \
    -e "bench_variant=$variant bench_count=$COUNT bench_hold=$HOLD bench_out=$LINES" >/dev/null
  echo "$variant: $(tail -1 "$LINES")"
done
MACHINE="$(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"), load average at end $(cut -d' ' -f1 /proc/loadavg)"
python3 - "$LINES" "$OUT" "$STAMP" "$MACHINE" "$COUNT" "$HOLD" <<'PY'
import json, sys
lines, out, stamp, machine, count, hold = sys.argv[1:]
runs = [json.loads(line) for line in open(lines) if line.strip()]
json.dump({"date": stamp, "machine": machine, "count": int(count), "hold_s": int(hold), "runs": runs},
          open(out, "w"), indent=1)
PY
rm -f "$LINES"
echo "results: $OUT"
