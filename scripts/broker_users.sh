#!/usr/bin/env bash
# One RabbitMQ user per service, with only the permissions its code uses (docs/architecture.md,
# "Broker users, one per service"). Usage: broker_users.sh NAMESPACE PASSWORD_PREFIX
# Each user is onair-<service> with the password PASSWORD_PREFIX-<service>; re-running updates them.
# rabbitmqctl talks to the node named by RABBITMQ_NODENAME (and the Erlang cookie in HOME), so the
# fault tests point it at their private node. Needs rabbitmqctl with the rights to run it.
set -euo pipefail
ns=${1:?namespace}; prefix=${2:?password prefix}
ctl=${RABBITMQCTL:-rabbitmqctl}
N=${ns//./\\.}  # the namespace in a regular expression

# What every service declares and binds on connect: the exchanges, the unrouted and dead-letter
# queues (declare = configure; bind = write on the queue, read on the exchange).
shared="$N\\.(commands|requests|events|events\\.unrouted|dlx|dead-letters)"
shared_write="$N\\.(events\\.unrouted|dead-letters)"
shared_read="$N\\.(events\\.unrouted|dlx)"

user() {  # service configure write read topic-write topic-read
  local name="onair-$1" password="$prefix-$1"
  if $ctl -q list_users | cut -f1 | grep -qx "$name"; then
    $ctl -q change_password "$name" "$password"
  else
    $ctl -q add_user "$name" "$password"
  fi
  $ctl -q set_permissions -p / "$name" "^($2)\$" "^($3)\$" "^($4)\$"
  $ctl -q set_topic_permissions -p / "$name" "$N.events" "^($5)\$" "^($6)\$"
}

# gateway: publishes counters and requests, and the events of the edge (pushes, detections,
# presence); its private event queues are named amq_<uuid> by the client library. Never room.* events.
user gateway "$shared|amq_[0-9a-f]+" \
  "$shared_write|$N\\.(commands|requests|events|dlx)|amq_[0-9a-f]+" \
  "$shared_read|$N\\.events|amq_[0-9a-f]+" \
  "gateway\\.presence|stream\\.(started|stopped|recorded)|moderation\\.detected" \
  "room\\..*|gateway\\.presence|anchor\\.(followed|went_live)"
# rooms: owns the room and anchor events; consumes its five queues; answers requests
# (amq.default); follows its own room.closed (a ban hides the room's replays) and room.activated
# (the go-live alerts).
user rooms "$shared|$N\\.rooms\\.(commands|requests|queries|counters|alerts)" \
  "$shared_write|$N\\.(events|dlx)|$N\\.rooms\\.(commands|requests|queries|counters|alerts)|amq\\.default" \
  "$shared_read|$N\\.(commands|requests|events)|$N\\.rooms\\.(commands|requests|queries|counters|alerts)" \
  "room\\..*|anchor\\..*" \
  "stream\\..*|moderation\\.anchor_.*|room\\.(closed|activated)"
# status_watcher: polls; publishes strikes and recoveries, tells rooms to close, asks for pages.
user status-watcher "$shared|$N\\.status_watcher\\.(events|leader)" \
  "$shared_write|$N\\.(commands|requests|events|dlx)|$N\\.status_watcher\\.(events|leader)" \
  "$shared_read|$N\\.events|$N\\.status_watcher\\.(events|leader)" \
  "stream\\.(offline_strike|recovered)" \
  "room\\..*|stream\\.(started|stopped)"
# moderation: bans (asks rooms), cuts the pushes of closed rooms, judges detections.
user moderation "$shared|$N\\.moderation\\.(work|cuts|requests)" \
  "$shared_write|$N\\.(commands|requests|events|dlx)|$N\\.moderation\\.(work|cuts|requests)|amq\\.default" \
  "$shared_read|$N\\.(commands|requests|events)|$N\\.moderation\\.(work|cuts|requests)" \
  "moderation\\.(anchor_.*|stream_cut)" \
  "moderation\\.detected|room\\.closed"
