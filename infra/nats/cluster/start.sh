#!/usr/bin/env bash
# Starts the three-node NATS cluster of infra/nats/cluster-node-{1,2,3}.conf on loopback, each
# node with its own data folder, with the users and permissions of permissions.conf. Nodes
# already running are left alone, so running it again restarts only a node that died.
#
#   infra/nats/cluster/start.sh            # then: NATS_URL=nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224
#   infra/nats/cluster/stop.sh
#
# Environment (all optional):
#   PULSE_NATS_CLUSTER_DIR    data folder (default .data/nats-cluster): node-N/.data/nats-N (stores),
#                             node-N.log, node-N.pid, secrets.env
#   PULSE_NATS_CLIENT_PORTS   client ports of nodes 1 2 3 (default "4222 4223 4224")
#   PULSE_NATS_ROUTE_PORTS    cluster ports (default "6222 6223 6224")
#   PULSE_NATS_HTTP_PORTS     monitoring ports (default "8222 8223 8224")
#   PULSE_NATS_NODES          which nodes to start (default "1 2 3")
#   PULSE_NATS_WATCH_PID      stop the cluster when this process ends (tests)
#   PULSE_NATS_<USER>         a user's password; each one not set is generated once into
#                             secrets.env (mode 600) and reused on the next start.
# Prints the NATS_URL for clients on its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
conf_dir=$(dirname "$here")
dir=${PULSE_NATS_CLUSTER_DIR:-.data/nats-cluster}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
read -r -a client_ports <<<"${PULSE_NATS_CLIENT_PORTS:-4222 4223 4224}"
read -r -a route_ports <<<"${PULSE_NATS_ROUTE_PORTS:-6222 6223 6224}"
read -r -a http_ports <<<"${PULSE_NATS_HTTP_PORTS:-8222 8223 8224}"
read -r -a nodes <<<"${PULSE_NATS_NODES:-1 2 3}"
bin=$(command -v nats-server || true)
[ -n "$bin" ] || bin=/usr/sbin/nats-server
[ -x "$bin" ] || { echo "nats-server is not installed: apt-get install nats-server" >&2; exit 1; }

# Passwords: the environment's, else secrets.env's, else new ones (a letter first: nats-server
# parses an environment value as a config value, and one starting with a digit as a number).
secrets="$dir/secrets.env"
[ -f "$secrets" ] || (umask 077 && : >"$secrets")
for var in $(grep -o '\$PULSE_NATS_[A-Z0-9_]*' "$conf_dir/permissions.conf" | tr -d '$' | sort -u); do
  if [ -z "${!var:-}" ]; then
    saved=$(grep "^$var=" "$secrets" | cut -d= -f2- || true)
    if [ -z "$saved" ]; then
      saved="p$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
      echo "$var=$saved" >>"$secrets"
    fi
    export "$var=$saved"
  fi
done

routes=""
for p in "${route_ports[@]}"; do routes="${routes:+$routes,}nats-route://127.0.0.1:$p"; done

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for n in "${nodes[@]}"; do
  i=$((n - 1))
  pidfile="$dir/node-$n.pid"
  if alive "$pidfile"; then
    echo "node $n already running (pid $(cat "$pidfile"))"
    continue
  fi
  mkdir -p "$dir/node-$n"
  # The config's store_dir (.data/nats-N) is relative: run each node from its own folder. The
  # flags override the listen addresses and ports of the file, and bind everything to loopback.
  (
    cd "$dir/node-$n"
    exec setsid "$bin" -c "$conf_dir/cluster-node-$n.conf" \
      -a 127.0.0.1 -p "${client_ports[$i]}" -m "${http_ports[$i]}" \
      --cluster "nats://127.0.0.1:${route_ports[$i]}" --routes "$routes" \
      -P "$pidfile" -l "$dir/node-$n.log" </dev/null >/dev/null 2>&1
  ) &
  for _ in $(seq 1 100); do
    listening "${client_ports[$i]}" && alive "$pidfile" && break
    sleep 0.1
  done
  if ! alive "$pidfile"; then
    echo "node $n did not start; its log:" >&2
    tail -20 "$dir/node-$n.log" >&2 || true
    exit 1
  fi
  echo "node $n running (pid $(cat "$pidfile"), client port ${client_ports[$i]}, log $dir/node-$n.log)"
done

if [ -n "${PULSE_NATS_WATCH_PID:-}" ]; then
  watcher="$dir/watcher.pid"
  if ! alive "$watcher"; then
    (
      while kill -0 "$PULSE_NATS_WATCH_PID" 2>/dev/null; do sleep 0.5; done
      PULSE_NATS_CLUSTER_DIR="$dir" "$here/stop.sh" >/dev/null 2>&1
    ) </dev/null >/dev/null 2>&1 &
    echo $! >"$watcher"
  fi
fi

url=""
for p in "${client_ports[@]}"; do url="${url:+$url,}nats://127.0.0.1:$p"; done
echo "NATS_URL=$url"
