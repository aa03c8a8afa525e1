#!/usr/bin/env bash
# A throwaway Orthanc with the DICOMweb plugin for the DICOMweb tests (tests/Histoscale.Storage.Tests/DicomWebTests.cs)
# and `bench/run.sh dicom` (Debian's orthanc + orthanc-dicomweb).
#   bash .ci/orthanc.sh start   install if missing, start on 127.0.0.1 with a temp config and storage, write
#                               .ci/orthanc.env (HISTOSCALE_TEST_ORTHANC='http://127.0.0.1:PORT'; the tests read it)
#   bash .ci/orthanc.sh stop    stop it and remove its folder
# No authentication, loopback only, no DICOM port: it lives for one CI run. Port: HISTOSCALE_ORTHANC_PORT (18043).
set -euo pipefail
cd "$(dirname "$0")"
state=${TMPDIR:-/tmp}/histoscale-orthanc
port=${HISTOSCALE_ORTHANC_PORT:-18043}
envfile=${HISTOSCALE_ORTHANC_ENV:-orthanc.env}   # bench/run.sh dicom starts its own with another port, state and env file
plugin=/usr/share/orthanc/plugins/libOrthancDicomWeb.so

case "${1:-start}" in
  stop)
    if [ -f "$state/pid" ]; then kill "$(cat "$state/pid")" 2>/dev/null || true; sleep 1; fi
    rm -rf "$state" "$envfile"
    exit 0 ;;
  start) ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac

if { ! command -v Orthanc >/dev/null 2>&1 || [ ! -e "$plugin" ]; } && command -v apt-get >/dev/null 2>&1; then
  as_root=; [ "$(id -u)" = 0 ] || as_root="sudo DEBIAN_FRONTEND=noninteractive"
  DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -q --no-install-recommends orthanc orthanc-dicomweb >/dev/null \
    || echo "orthanc: apt-get could not install orthanc orthanc-dicomweb" >&2
fi
if ! command -v Orthanc >/dev/null 2>&1 || [ ! -e "$plugin" ]; then
  echo "orthanc: not installed; the DICOMweb tests will skip" >&2; exit 0
fi

rm -rf "$state"
mkdir -p "$state/db"
cat >"$state/orthanc.json" <<JSON
{ "Name": "histoscale-ci", "StorageDirectory": "$state/db", "IndexDirectory": "$state/db",
  "HttpPort": $port, "HttpBindAddress": "127.0.0.1", "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
  "DicomServerEnabled": false, "HttpCompressionEnabled": false, "Plugins": ["$plugin"],
  "DicomWeb": { "Enable": true, "Root": "/dicom-web/" } }
JSON
Orthanc "$state/orthanc.json" >"$state/orthanc.log" 2>&1 &
echo $! >"$state/pid"
for _ in $(seq 1 60); do
  if curl -fs "http://127.0.0.1:$port/system" >/dev/null 2>&1; then
    echo "HISTOSCALE_TEST_ORTHANC='http://127.0.0.1:$port'" >"$envfile"
    echo "orthanc: $(Orthanc --version 2>/dev/null | head -1) on 127.0.0.1:$port"
    exit 0
  fi
  sleep 0.5
done
echo "orthanc: did not answer on 127.0.0.1:$port (log: $state/orthanc.log); the DICOMweb tests will skip" >&2
kill "$(cat "$state/pid")" 2>/dev/null || true
exit 0
