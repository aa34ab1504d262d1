#!/usr/bin/env bash
# Every test twice: on SQLite (the embedded default) and on a real PostgreSQL server.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTEST=(.venv/bin/python -m pytest -q -p no:cacheprovider "$@")

echo "== the whole suite on SQLite =="
env -u TEST_DATABASE_URL "${PYTEST[@]}"

echo "== the whole suite on PostgreSQL =="
source scripts/pg.sh
"${PYTEST[@]}"
