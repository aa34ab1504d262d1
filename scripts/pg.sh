#!/usr/bin/env bash
# Start a throw-away PostgreSQL cluster on a free port; source this file.
# Sets TEST_DATABASE_URL and registers a trap that stops the cluster and deletes it.
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
PGTMP=$(mktemp -d /tmp/xunong-pg.XXXXXX)
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}
[[ $(id -u) -eq 0 ]] && chown postgres: "$PGTMP"
as_pg "$PGBIN/initdb -D $PGTMP/data -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null"
as_pg "$PGBIN/pg_ctl -D $PGTMP/data -l $PGTMP/log -w -o \"-p $PGPORT -k $PGTMP -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200\" start >/dev/null"
as_pg "$PGBIN/createdb -h 127.0.0.1 -p $PGPORT -U postgres xunong_test"
stop_pg() {
  as_pg "$PGBIN/pg_ctl -D $PGTMP/data -m immediate stop >/dev/null" || true
  rm -rf "$PGTMP"
}
trap stop_pg EXIT
export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PGPORT/xunong_test"
