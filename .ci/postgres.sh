#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests/Histoscale.Archive.Tests (Debian's postgresql, any installed major).
#   bash .ci/postgres.sh start   install if missing, initdb into a temp folder, start on 127.0.0.1, write
#                                .ci/postgres.env (HISTOSCALE_TEST_POSTGRES='...'; the archive tests read it)
#   bash .ci/postgres.sh stop    stop it and remove its folder
# Runs the server as the unprivileged 'postgres' user when started as root (initdb refuses root). Trust
# authentication on loopback only: the cluster lives for one CI run. Port: HISTOSCALE_POSTGRES_PORT (55432).
set -euo pipefail
cd "$(dirname "$0")"
state=${TMPDIR:-/tmp}/histoscale-postgres
port=${HISTOSCALE_POSTGRES_PORT:-55432}

bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-start}" in
  stop)
    if [ -d "$state/data" ] && [ -n "$(bin)" ]; then as_owner "$(bin)/pg_ctl" -D "$state/data" -m fast stop >/dev/null 2>&1 || true; fi
    rm -rf "$state" postgres.env
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac

if [ -z "$(bin)" ] && command -v apt-get >/dev/null 2>&1; then
  # As .ci/run does: hosted runners (GitHub's ubuntu-latest) are not root and install through sudo.
  as_root=; [ "$(id -u)" = 0 ] || as_root="sudo DEBIAN_FRONTEND=noninteractive"
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -q --no-install-recommends postgresql >/dev/null \
    || echo "postgres: apt-get could not install postgresql" >&2
fi
pg=$(bin)
if [ -z "$pg" ]; then echo "postgres: not installed; the PostgreSQL archive tests will skip" >&2; exit 0; fi

rm -rf "$state"
mkdir -p "$state"
[ "$(id -u)" = 0 ] && chown postgres "$state"
as_owner "$pg/initdb" -D "$state/data" -U postgres --auth=trust -E UTF8 >"$state/initdb.log" 2>&1
as_owner "$pg/pg_ctl" -D "$state/data" -l "$state/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $state -c fsync=off" start >/dev/null
echo "HISTOSCALE_TEST_POSTGRES='Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres'" >postgres.env
echo "postgres: $("$pg/postgres" --version) on 127.0.0.1:$port"
