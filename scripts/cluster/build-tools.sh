#!/usr/bin/env bash
# Builds the pinned Temporal server, temporal-sql-tool and Temporal UI server from their Go modules into
# .tools/temporal-<version>/ (once; later runs find them there), with the server's PostgreSQL schemas and
# config template next to them. Needs Go; the go command fetches the pinned toolchain from the module proxy.
# Prints the directory on its last line.
set -euo pipefail
cd "$(dirname "$0")/../.."
TEMPORAL_SERVER_VERSION=${TEMPORAL_SERVER_VERSION:-v1.32.2}
TEMPORAL_UI_VERSION=${TEMPORAL_UI_SERVER_VERSION:-v2.49.1}
export GOTOOLCHAIN=${GOTOOLCHAIN:-go1.27.3} # the server needs Go >= 1.26.10
dir=$PWD/.tools/temporal-$TEMPORAL_SERVER_VERSION
bin=$dir/bin
mkdir -p "$bin"
say() { echo "cluster tools: $*" >&2; }

if ! command -v go >/dev/null 2>&1; then
  say "Go is not installed: install it (https://go.dev/dl, or apt-get install golang) and run again"
  exit 1
fi

build() { # binary module-path version
  local name=$1 pkg=$2 version=$3 started
  if [ -x "$bin/$name" ]; then return; fi
  started=$(date +%s)
  say "building $name from $pkg@$version (minutes on a cold cache)"
  GOBIN=$bin go install "$pkg@$version"
  mv "$bin/$(basename "$pkg")" "$bin/$name.tmp" && mv "$bin/$name.tmp" "$bin/$name"
  say "built $name in $(($(date +%s) - started)) s"
}
build temporal-server go.temporal.io/server/cmd/server "$TEMPORAL_SERVER_VERSION"
build temporal-sql-tool go.temporal.io/server/cmd/tools/sql "$TEMPORAL_SERVER_VERSION"
if [ -z "${RUNBOOK_CLUSTER_NO_UI:-}" ]; then
  build temporal-ui-server github.com/temporalio/ui-server/v2/cmd/server "$TEMPORAL_UI_VERSION"
fi

# The schemas and the config template ship in the server's module source.
if [ ! -d "$dir/schema/postgresql/v12" ] || [ ! -f "$dir/config/development-postgres12.yaml" ]; then
  src=$(go list -m -f '{{.Dir}}' "go.temporal.io/server@$TEMPORAL_SERVER_VERSION" 2>/dev/null || true)
  if [ -z "$src" ] || [ ! -d "$src/schema" ]; then
    go mod download "go.temporal.io/server@$TEMPORAL_SERVER_VERSION"
    src=$(go env GOMODCACHE)/go.temporal.io/server@$TEMPORAL_SERVER_VERSION
  fi
  mkdir -p "$dir/schema" "$dir/config"
  rm -rf "$dir/schema/postgresql"
  cp -r "$src/schema/postgresql" "$dir/schema/"
  cp "$src/config/development-postgres12.yaml" "$dir/config/"
  chmod -R u+w "$dir/schema" "$dir/config"
fi
echo "$dir"
