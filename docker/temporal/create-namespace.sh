#!/bin/sh
# The namespace this service uses and its custom search attributes (the same list as
# src/workflows/common/search-attributes.ts). Idempotent. Run by the compose file's one-shot
# temporalio/admin-tools container and by `npm run cluster` (scripts/cluster), which set
# TEMPORAL_ADDRESS, NAMESPACE and TEMPORAL_CLI (default: temporal on PATH).
set -eu
ns=${NAMESPACE:-default}
addr=${TEMPORAL_ADDRESS:-temporal:7233}
temporal() { "${TEMPORAL_CLI:-temporal}" "$@"; }

until temporal operator cluster health --address "$addr" >/dev/null 2>&1; do echo "waiting for Temporal at $addr"; sleep 2; done

temporal operator namespace describe -n "$ns" --address "$addr" >/dev/null 2>&1 \
  || temporal operator namespace create -n "$ns" --address "$addr"

# A new namespace reaches the frontend's namespace cache within its refresh interval (about 10 s).
tries=0
until temporal operator search-attribute list -n "$ns" --address "$addr" >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "namespace $ns is still not visible after 60 s" >&2; exit 1; }
  echo "waiting for namespace $ns"; sleep 1
done

for name in RunbookKind RunbookService RunbookSeverity RunbookStatus RunbookStage; do
  temporal operator search-attribute list -n "$ns" --address "$addr" | grep -qw "$name" \
    || temporal operator search-attribute create -n "$ns" --address "$addr" --name "$name" --type Keyword
done
echo "namespace $ns ready with the Runbook* search attributes"
