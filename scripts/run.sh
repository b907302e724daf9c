#!/usr/bin/env bash
# The README's run command: on a fresh Debian/Ubuntu machine with Node >= 20 (root, or a user with
# sudo), installs what is missing, then becomes `pnpm start` (exec: Ctrl-C's exit code is the
# start's own, 0 on a clean stop, not pnpm's 130):
#   - nats-server from the distribution (apt-get), unless NATS_URL names a real NATS system;
#   - pnpm at package.json's packageManager version (npm i -g pnpm@<v>);
#   - the workspace (pnpm install --frozen-lockfile) when node_modules is missing or older than
#     the lockfile.
# Where it cannot install (no root, no sudo), it stops with the one command to run.
#
# scripts/run.sh [--dry-run] [start arguments…]
#   --dry-run (or PULSE_RUN_DRY=1): print what it would install and run, change nothing.
# For tests: PULSE_RUN_LOOKUP (a PATH-like list: where nats-server, pnpm, node, apt-get and sudo
# are looked up; default /usr/sbin:/usr/bin:/usr/local/bin:$PATH), PULSE_RUN_UID (as if this uid).
set -euo pipefail
cd "$(dirname "$0")/.."

dry=${PULSE_RUN_DRY:-0}
if [ "${1:-}" = "--dry-run" ]; then
  dry=1
  shift
fi
lookup=${PULSE_RUN_LOOKUP:-/usr/sbin:/usr/bin:/usr/local/bin:$PATH}
uid=${PULSE_RUN_UID:-$(id -u)}

say() { printf 'pulse: %s\n' "$*" >&2; }
# find <name>: the first executable <name> on the lookup path, or nothing.
find_cmd() {
  local d IFS=:
  for d in $lookup; do
    [ -n "$d" ] && [ -x "$d/$1" ] && { printf '%s\n' "$d/$1"; return 0; }
  done
  return 1
}
# run <command…>: runs it (or, with --dry-run, says it would).
run() {
  if [ "$dry" = 1 ]; then
    say "would run: $*"
  else
    say "running: $*"
    "$@"
  fi
}
# can_root: true when we are root or have sudo; else says the one command to run (as root) and stops.
can_root() {
  if [ "$uid" = 0 ] || find_cmd sudo >/dev/null; then return 0; fi
  say "cannot install as uid $uid without sudo. Run this as root, then run scripts/run.sh again:"
  printf '  %s\n' "$1" >&2
  exit 1
}
# as_root <command…>: as root directly, or through sudo (can_root said which is possible).
as_root() {
  if [ "$uid" = 0 ]; then run "$@"; else run "$(find_cmd sudo)" "$@"; fi
}

# Node >= 20: not installed here (Debian's is older); say the one way.
node_bin=$(find_cmd node || true)
node_major=0
[ -n "$node_bin" ] && node_major=$("$node_bin" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  say "Pulse needs Node.js 20 or newer (found: ${node_bin:-none}${node_bin:+ $node_major}). Install it, e.g. from https://nodejs.org or NodeSource, then run scripts/run.sh again."
  exit 1
fi

# nats-server: Pulse runs its own unless NATS_URL names a real system.
if [ -z "${NATS_URL:-}" ] && [ -z "${NATS_SERVER_BIN:-}" ] && ! find_cmd nats-server >/dev/null; then
  apt=$(find_cmd apt-get || true)
  if [ -z "$apt" ]; then
    say "nats-server is missing and this is not a Debian/Ubuntu machine (no apt-get). Install nats-server (https://nats.io), or set NATS_URL."
    exit 1
  fi
  can_root "apt-get update && apt-get install -y nats-server"
  as_root "$apt" update -q
  as_root env DEBIAN_FRONTEND=noninteractive "$apt" install -y -q --no-install-recommends nats-server
fi

# pnpm at the version package.json pins.
want=$(sed -n 's/.*"packageManager": *"pnpm@\([^"+]*\).*/\1/p' package.json)
pnpm_bin=$(find_cmd pnpm || true)
have=""
[ -n "$pnpm_bin" ] && have=$("$pnpm_bin" --version 2>/dev/null || true)
if [ "$have" != "$want" ]; then
  npm_bin=$(find_cmd npm || true)
  [ -n "$npm_bin" ] || { say "npm is missing (it comes with Node.js): reinstall Node.js 20 or newer"; exit 1; }
  # A global install writes npm's prefix: root's, or through sudo.
  prefix=$("$npm_bin" prefix -g 2>/dev/null || echo /usr/local)
  if [ "$uid" = 0 ] || { [ -z "${PULSE_RUN_UID:-}" ] && [ -w "$prefix/lib/node_modules" ]; }; then
    run "$npm_bin" i -g "pnpm@$want"
  else
    can_root "npm i -g pnpm@$want"
    as_root "$npm_bin" i -g "pnpm@$want"
  fi
  pnpm_bin=$(find_cmd pnpm || echo pnpm)
fi

# The workspace: installed once, again when the lockfile changed.
if [ ! -f node_modules/.pnpm/lock.yaml ] || [ pnpm-lock.yaml -nt node_modules/.pnpm/lock.yaml ]; then
  run "$pnpm_bin" install --frozen-lockfile
fi

if [ "$dry" = 1 ]; then
  say "would start: node --import tsx scripts/start.ts $*"
  exit 0
fi
exec "$node_bin" --import tsx scripts/start.ts "$@"
