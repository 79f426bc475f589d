#!/usr/bin/env bash
# A throwaway PostgreSQL for the server's tests and benchmark: installs Debian's postgresql if
# it is missing, creates a cluster in a temporary directory owned by the `postgres` user
# (PostgreSQL refuses to run as root), starts it on 127.0.0.1 on a free port with durable
# commits (fsync and synchronous_commit on, the defaults), and creates a database.
#
#   eval "$(bash scripts/postgres.sh)"     # prints export lines: DATABASE_URL, AI_CREDITS_PG_DIR
#   source scripts/postgres.sh             # the same, exported into the current shell
#   bash scripts/postgres.sh stop DIR      # stops the cluster in DIR and removes DIR
# (Sourced, it leaves the caller's shell options alone.)
if [ "${BASH_SOURCE[0]}" = "$0" ]; then set -euo pipefail; fi

pg_say() { printf '\033[1m[postgres]\033[0m %s\n' "$*" >&2; }

pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$dir" ] || [ ! -x "$dir/pg_ctl" ]; then
    pg_say "installing Debian's postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >/dev/null
    dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  printf '%s\n' "$dir"
}

pg_stop() {
  local dir=$1 bin
  [ -d "$dir" ] || return 0
  bin=$(pg_bin)
  pg_as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

pg_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

pg_start() {
  local bin dir port
  bin=$(pg_bin)
  dir=$(mktemp -d /tmp/ai-credits-pg.XXXXXX)
  chmod 755 "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
  pg_as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 >/dev/null
  port=$(pg_free_port)
  # Enough connections for several test servers at once (each opens at most 16).
  pg_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  pg_as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres ai_credits_test
  pg_say "started on 127.0.0.1:$port (cluster in $dir)"
  AI_CREDITS_PG_DIR=$dir
  DATABASE_URL="postgres://postgres@127.0.0.1:$port/ai_credits_test"
}

if [ "${1:-}" = stop ]; then
  pg_stop "${2:?usage: postgres.sh stop DIR}"
elif [ "${BASH_SOURCE[0]}" != "$0" ]; then
  pg_start && export AI_CREDITS_PG_DIR DATABASE_URL
else
  pg_start
  printf 'export AI_CREDITS_PG_DIR=%q\nexport DATABASE_URL=%q\n' "$AI_CREDITS_PG_DIR" "$DATABASE_URL"
fi
