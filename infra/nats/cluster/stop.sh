#!/usr/bin/env bash
# Stops the nodes infra/nats/cluster/start.sh started (SIGTERM, then SIGKILL after 5 s). The data
# folders stay: the next start recovers the streams. PULSE_NATS_CLUSTER_DIR as for start.sh;
# PULSE_NATS_NODES (default "1 2 3") to stop only some; PULSE_NATS_SIGNAL=KILL to kill at once.
set -euo pipefail
dir=${PULSE_NATS_CLUSTER_DIR:-.data/nats-cluster}
read -r -a nodes <<<"${PULSE_NATS_NODES:-1 2 3}"
signal=${PULSE_NATS_SIGNAL:-TERM}
[ -d "$dir" ] || exit 0
for n in "${nodes[@]}"; do
  pidfile="$dir/node-$n.pid"
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -"$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    echo "node $n stopped (pid $pid)"
  fi
  rm -f "$pidfile"
done
if [ "${PULSE_NATS_NODES:-1 2 3}" = "1 2 3" ] && [ -f "$dir/watcher.pid" ]; then
  w=$(cat "$dir/watcher.pid")
  [ "$w" = "$$" ] || [ "$w" = "$PPID" ] || kill "$w" 2>/dev/null || true
  rm -f "$dir/watcher.pid"
fi
