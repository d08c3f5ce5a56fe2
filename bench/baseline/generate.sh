#!/bin/bash
# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Make a real Postfix log: boot a throw-away test container (the project's Debian image, Postfix
# under systemd), run traffic.sh in it (all traffic on the container's loopback), copy the log
# out, remove the container.
#
# Usage: bench/baseline/generate.sh OUTPUT_FILE [ROUNDS] [MSGS_PER_ROUND]
# Environment: SBS_IMAGE (default localhost/sbs-debian:12), CONTAINERS_CONF (see Makefile).
set -eu -o pipefail
out=${1:?usage: generate.sh OUTPUT_FILE [ROUNDS] [MSGS_PER_ROUND]}
rounds=${2:-3}
msgs=${3:-200}
image=${SBS_IMAGE:-localhost/sbs-debian:12}
here=$(cd "$(dirname "$0")" && pwd)
name=sbs-baseline-gen-$$
: "${CONTAINERS_CONF:=$here/../../.cache/containers.conf}"
export CONTAINERS_CONF

podman run -d --name "$name" --systemd=always "$image" /sbin/init >/dev/null
trap 'podman rm -f "$name" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 30); do
  podman exec "$name" systemctl is-system-running 2>/dev/null | grep -qE 'running|degraded' && break
  sleep 1
done
podman cp "$here/traffic.sh" "$name:/root/traffic.sh"
podman exec -e MSGS_PER_ROUND="$msgs" ${JOURNAL:+-e MAILLOG_FILE=} "$name" \
  /root/traffic.sh "$rounds" >/dev/null 2>&1
# the deferred messages to soft.test expire after maximal_queue_lifetime (60 s): wait for one
# queue run past it so the log also holds "status=expired" and delay notifications
if [ "${WAIT_EXPIRE:-1}" = 1 ]; then
  sleep 70
  podman exec "$name" postqueue -f
  sleep 5
fi
podman exec "$name" postqueue -j >"$out.postqueue.json" || true
if [ -n "${JOURNAL:-}" ]; then
  # journald's export as baseline_info reads it (log_source: journal)
  podman exec "$name" sh -c \
    'journalctl -o short-iso --no-pager -q SYSLOG_FACILITY=2 >/var/log/journal-export.log'
  podman cp "$name:/var/log/journal-export.log" "$out"
else
  podman cp "$name:/var/log/postfix.log" "$out"
fi
wc -l "$out"
