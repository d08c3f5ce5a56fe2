#!/usr/bin/env bash
# No-change re-apply benchmark of playbooks/site.yml, two revisions side by side in one run.
# Not a test. From anywhere in the checkout, after `make venv testbed`:
#
#   bench/reapply/run.sh [--before REV] [--after REV|WORKTREE] [--runs N] [--hosts K] [--profile]
#
# Defaults: --before 902f119 (main before issue 12), --after WORKTREE (this working tree as it
# is, uncommitted changes included), --runs 5, --hosts 3. `--help` lists every option; see
# bench/reapply/README.md. Results: bench/reapply/results/<UTC time>.json and Markdown on stdout.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/.cache/containers.conf}
export PATH=$ROOT/.venv/bin:$PATH
if [ ! -x "$ROOT/.venv/bin/ansible-playbook" ] || [ ! -f "$CONTAINERS_CONF" ]; then
  echo "bench/reapply: run 'make venv testbed' first (no .venv or $CONTAINERS_CONF)" >&2
  exit 2
fi
exec "$ROOT/.venv/bin/python3" "$ROOT/bench/reapply/reapply.py" "$@"
