#!/bin/bash
# Copyright: (c) 2026, sbs.postfix maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Runs INSIDE a throw-away test container (Debian + Postfix under systemd) and makes Postfix
# carry real mail of every kind the baseline counts, so the log it writes is a real one:
#   accepted (smtp-sink on 127.0.0.1:2525), hard-rejected (smtp-sink -u nobody -f RCPT, 5xx, on :2526),
#   soft-rejected (smtp-sink -u nobody -r RCPT, 4xx, on :2527: deferrals), local deliveries, an alias
#   that forwards, unknown local users and an unauthorised relay attempt (NOQUEUE rejects),
#   mail submitted with sendmail (pickup), bounce notifications for the hard rejects.
# Network rule: everything stays on loopback. default_transport points at the accepting sink,
# DNS lookups are off, so no message can leave the container.
#
# Usage: traffic.sh ROUNDS  (each round sends a few hundred messages; bounded, stops by itself)
# Prints nothing; the log is /var/log/postfix.log (Postfix's own maillog_file).
set -eu -o pipefail
rounds=${1:-1}
msgs=${MSGS_PER_ROUND:-200}

# MAILLOG_FILE= (empty) leaves Postfix logging to syslog, i.e. journald in the test image
postconf -e "maillog_file = ${MAILLOG_FILE-/var/log/postfix.log}"
postconf -e \
  "inet_interfaces = loopback-only" \
  "mynetworks = 127.0.0.0/8 [::1]/128" \
  "mydestination = \$myhostname, localhost.localdomain, localhost" \
  "relay_domains = accept.test hard.test soft.test" \
  "transport_maps = hash:/etc/postfix/transport" \
  "default_transport = smtp:[127.0.0.1]:2525" \
  "relayhost =" \
  "disable_dns_lookups = yes" \
  "smtp_host_lookup = native" \
  "smtp_dns_support_level = disabled" \
  "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination" \
  "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination" \
  "local_recipient_maps = proxy:unix:passwd.byname \$alias_maps" \
  "smtp_connection_cache_on_demand = no" \
  "minimal_backoff_time = 5s" "maximal_backoff_time = 10s" "queue_run_delay = 5s" \
  "bounce_queue_lifetime = 60s" "maximal_queue_lifetime = 60s"
cat >/etc/postfix/transport <<'MAP'
accept.test smtp:[127.0.0.1]:2525
hard.test   smtp:[127.0.0.1]:2526
soft.test   smtp:[127.0.0.1]:2527
MAP
postmap /etc/postfix/transport
id alice >/dev/null 2>&1 || useradd -m alice
grep -q '^fwd:' /etc/aliases || echo 'fwd: someone@accept.test' >>/etc/aliases
newaliases
: >/var/log/postfix.log
systemctl restart postfix
sleep 2

# the sinks: bounded by the container's life; killed at the end
smtp-sink -u nobody -c 127.0.0.1:2525 256 & accept=$!
smtp-sink -u nobody -f RCPT 127.0.0.1:2526 64 & hard=$!
smtp-sink -u nobody -r RCPT 127.0.0.1:2527 64 & soft=$!
trap 'kill $accept $hard $soft 2>/dev/null || true' EXIT

for _ in $(seq "$rounds"); do
  # bulk to the accepting sink, three sizes, one and two recipients
  smtp-source -s 10 -m "$msgs" -l 2000 -f sender@localhost -t user@accept.test 127.0.0.1:25
  smtp-source -s 5 -m $((msgs / 4)) -l 40000 -f sender@localhost -t big@accept.test 127.0.0.1:25
  smtp-source -s 5 -m $((msgs / 4)) -r 2 -l 300 -f sender@localhost -t pair@accept.test 127.0.0.1:25
  # hard reject at the remote end -> bounced + sender non-delivery notification (local)
  smtp-source -s 2 -m $((msgs / 20)) -f alice@localhost -t nobody@hard.test 127.0.0.1:25
  # soft reject -> deferred (and, after maximal_queue_lifetime, expired)
  smtp-source -s 2 -m $((msgs / 20)) -f alice@localhost -t later@soft.test 127.0.0.1:25
  # local deliveries, an alias that forwards, an unknown user, a relay attempt (rejected)
  smtp-source -s 2 -m $((msgs / 10)) -f sender@localhost -t alice@localhost 127.0.0.1:25
  smtp-source -s 1 -m $((msgs / 40)) -f sender@localhost -t fwd@localhost 127.0.0.1:25
  smtp-source -s 1 -m $((msgs / 40)) -f sender@localhost -t nosuchuser@localhost 127.0.0.1:25 || true
  smtp-source -s 1 -m $((msgs / 40)) -f sender@localhost -t victim@elsewhere.test 127.0.0.1:25 || true
  # pickup: local submission
  for i in $(seq $((msgs / 40))); do
    printf 'Subject: pickup %s\n\nbody\n' "$i" | /usr/sbin/sendmail -f root alice
  done
done
# let the queue drain (bounded: 60 s at most)
for _ in $(seq 60); do
  [ "$(postqueue -j | grep -c '"queue_name": *"active"' || true)" = 0 ] && break
  sleep 1
done
