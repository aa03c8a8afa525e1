#!/usr/bin/env bash
# Object-store emulators for tests/Histoscale.Storage.Tests, from the npm registry:
#   Azurite (Microsoft's Azure Blob emulator) and s3rver (an S3-compatible server).
# GCS has no emulator installable here (firebase-tools' storage emulator refuses to start without Java 21, which
# Debian bookworm lacks); the tests run the GCS provider against their own loopback fake of the JSON API.
#
#   bash .ci/emulators.sh [start]   install into .ci/node_modules if needed, start both on loopback, wait until
#                                   they answer, write .ci/emulators.env (KEY='value' lines; the tests read it)
#   bash .ci/emulators.sh stop      stop what start started
# Idempotent: a second start reuses the install and any emulator already answering on its port.
# Ports: HISTOSCALE_AZURITE_PORT (10000), HISTOSCALE_S3RVER_PORT (4569). Data, logs and pids live outside the
# repository, in ${TMPDIR:-/tmp}/histoscale-emulators.
set -euo pipefail
cd "$(dirname "$0")"
state=${TMPDIR:-/tmp}/histoscale-emulators
azurite_port=${HISTOSCALE_AZURITE_PORT:-10000}
azurite_queue_port=${HISTOSCALE_AZURITE_QUEUE_PORT:-10001}
s3_port=${HISTOSCALE_S3RVER_PORT:-4569}
mkdir -p "$state"

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_one() { # name port command...
  local name=$1 port=$2; shift 2
  if up "$port"; then echo "emulators: $name already answering on $port"; return 0; fi
  nohup "$@" >"$state/$name.log" 2>&1 </dev/null &
  echo $! >"$state/$name.pid"
  for _ in $(seq 1 120); do
    if up "$port"; then echo "emulators: $name on 127.0.0.1:$port"; return 0; fi
    sleep 0.5
  done
  echo "emulators: $name did not start on port $port; its log:" >&2
  cat "$state/$name.log" >&2 || true
  return 1
}

case "${1:-start}" in
  stop)
    for f in "$state"/*.pid; do
      [ -e "$f" ] || continue
      kill "$(cat "$f")" 2>/dev/null || true
      rm -f "$f"
    done
    rm -f emulators.env
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac

if ! command -v node >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  # As .ci/run does: hosted runners (GitHub's ubuntu-latest) are not root and install through sudo.
  as_root=; [ "$(id -u)" = 0 ] || as_root="sudo DEBIAN_FRONTEND=noninteractive"
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -q --no-install-recommends nodejs npm >/dev/null \
    || echo "emulators: apt-get could not install nodejs/npm" >&2
fi
if ! command -v node >/dev/null 2>&1; then
  echo "emulators: node is not installed; the storage emulator tests will skip" >&2
  exit 0
fi
if [ ! -x node_modules/.bin/azurite-blob ] || [ ! -x node_modules/.bin/s3rver ]; then
  # No lockfile is written: the versions are pinned exactly in package.json.
  npm install --no-package-lock --no-audit --no-fund --loglevel=error >/dev/null
fi

mkdir -p "$state/azurite" "$state/s3rver"
# Each emulator on its own: one that fails to start (under set -e) must not keep the others from starting or the
# env file from being written; the tests of a missing one skip (its failure and log are printed above).
failed=0 blob_ok=1 queue_ok=1 s3_ok=1
start_one azurite "$azurite_port" node_modules/.bin/azurite-blob --blobHost 127.0.0.1 --blobPort "$azurite_port" \
  --location "$state/azurite" --skipApiVersionCheck --loose --silent || { failed=1; blob_ok=0; }
# Azurite's queue service, for the azqueue:// worker tests (tests/Histoscale.Cli.Tests/Workers).
start_one azurite-queue "$azurite_queue_port" node_modules/.bin/azurite-queue --queueHost 127.0.0.1 --queuePort "$azurite_queue_port" \
  --location "$state/azurite" --skipApiVersionCheck --loose --silent || { failed=1; queue_ok=0; }
start_one s3rver "$s3_port" node_modules/.bin/s3rver -d "$state/s3rver" -a 127.0.0.1 -p "$s3_port" --silent || { failed=1; s3_ok=0; }

# The emulators' well-known development credentials (published by their projects; not secrets). Only the lines of
# the emulators that answer, so the tests of one that did not start skip instead of failing to connect.
key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
{
  if [ "$s3_ok" = 1 ]; then
    echo "HISTOSCALE_S3_ENDPOINT='http://127.0.0.1:$s3_port'"
    echo "HISTOSCALE_S3_ACCESS_KEY='S3RVER'"
    echo "HISTOSCALE_S3_SECRET_KEY='S3RVER'"
  fi
  if [ "$blob_ok" = 1 ]; then
    echo "HISTOSCALE_AZURE_CONNECTION_STRING='DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$azurite_port/devstoreaccount1;'"
  fi
  if [ "$queue_ok" = 1 ]; then
    echo "HISTOSCALE_AZURE_QUEUE_CONNECTION_STRING='DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$key;QueueEndpoint=http://127.0.0.1:$azurite_queue_port/devstoreaccount1;'"
  fi
} >emulators.env
if [ "$failed" = 1 ]; then
  echo "emulators: wrote .ci/emulators.env without the emulators that did not start; their tests will skip" >&2
else
  echo "emulators: wrote .ci/emulators.env"
fi
