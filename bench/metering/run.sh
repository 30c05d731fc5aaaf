#!/usr/bin/env bash
# The metering benchmark, end to end (see bench/README.md, "Metering"):
#   bench/metering/run.sh [--nice 20] [--floor] [--breakdown] [--profile] [--rounds 3] [--duration 10] ...
#   (bench/metering/run.sh --help lists every option)
# Installs bench/requirements.txt into .venv when missing, then runs bench/metering/run.py,
# which migrates its own database, starts one gunicorn, runs wrk and stops gunicorn.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=.venv/bin/python
if [ ! -x "$PY" ]; then
  python3 -m venv .venv
  .venv/bin/pip install -q -r requirements.txt
fi
if ! "$PY" -c "import rest_framework_api_key, django_ratelimit" 2>/dev/null || [ ! -x .venv/bin/py-spy ]; then
  echo "[bench] installing bench/requirements.txt into .venv" >&2
  .venv/bin/pip install -q -r bench/requirements.txt
fi
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  else
    echo "wrk is missing: install it (apt-get install wrk)" >&2
    exit 2
  fi
fi
exec "$PY" -m bench.metering.run "$@"
