#!/usr/bin/env bash
# End-to-end benchmarks with their peers measured in the same run (figures go to BENCHMARKS.md).
#   bash bench/run.sh [reader|decoders|infer|trivial|int8|imaging|coldstart|storage|storage-dicomweb|serve|cohort [int8] [tc0]|cost|archive|annotations|stain|qc|dicom|iobinding|workers|ab REV|all]   (default: all)
#   (storage-dicomweb: only the DICOMweb part of storage)
# Raw output goes to bench/results/YYYY-MM-DD-SECTION.txt as well as the terminal; commit it with the table it feeds.
# Needs: a python3 with the peer packages (see ../shared/README.md): the first python3 or python3.N on PATH that
# imports openslide (HISTOSCALE_PYTHON names one explicitly); ../shared next to the repo.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
mkdir -p bench/results
results=bench/results/$(date +%F)-$what.txt
exec > >(tee "$results") 2>&1
echo "bench/run.sh $* at $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (+ uncommitted changes)')"
shared=${HISTOSCALE_SHARED:-$(cd .. && pwd)/shared}
data=${HISTOSCALE_BENCH_DATA:-/tmp/histoscale-bench}
mkdir -p "$data"
dotnet build -c Release src/Histoscale.Cli -v q -nologo >/dev/null
H=src/Histoscale.Cli/bin/Release/net10.0/histoscale
py=
for c in ${HISTOSCALE_PYTHON:-} $(IFS=:; for d in $PATH; do ls "$d"/python3 "$d"/python3.[0-9]* 2>/dev/null; done | grep -E '/python3(\.[0-9]+)?$'); do
  "$c" -c 'import openslide' 2>/dev/null && { py=$c; break; }
done
[ -n "$py" ] || { echo "no python3 on PATH imports openslide (apt-get install python3-openslide ...): the peers cannot run" >&2; exit 1; }
echo "peers' python: $py ($("$py" --version 2>&1))"
say() { echo; echo "### $*"; echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"; }
run() { echo "\$ $*"; "$@"; }
orthanc_upload() { # ORTHANC_URL DICOM_FOLDER UPLOAD_JSON: stores every instance, prints the series' DICOMweb URL
  local f
  for f in "$2"/*.dcm; do curl -fs -X POST -H 'Content-Type: application/dicom' --data-binary @"$f" "$1/instances" >"$3"; done
  $py - "$1" "$3" <<'PY'
import json, sys, urllib.request
base, upload = sys.argv[1], json.load(open(sys.argv[2]))
get = lambda p: json.load(urllib.request.urlopen(base + p))
series = get("/series/" + upload["ParentSeries"])
study = get("/studies/" + series["ParentStudy"])
print(f"{base}/dicom-web/studies/{study['MainDicomTags']['StudyInstanceUID']}/series/{series['MainDicomTags']['SeriesInstanceUID']}")
PY
}

big=$data/synth-40000x32000.svs        # ≥ 1 GP, JPEG Q80, 240 px tiles, Aperio layout
mid=$data/synth-20000x16000.svs
if [[ $what != imaging && $what != ab && $what != cost && $what != archive && $what != annotations && $what != serve && $what != cohort && $what != stain && $what != dicom && $what != iobinding && $what != storage-dicomweb && $what != workers ]]; then
  [ -f "$big" ] || run $H synth "$big" --width 40000 --height 32000 --layout svs --quality 80 --tile 240
  [ -f "$mid" ] || run $H synth "$mid" --width 20000 --height 16000 --layout svs --quality 80 --tile 240
fi

if [[ $what == reader || $what == all ]]; then
  say "reader: bench read vs Pillow + libjpeg-turbo per-tile decode (peer) vs OpenSlide, 2 threads then 1"
  for t in 2 1; do
    run $py "$shared/bench/jpeg_limit.py" "$big" $t
    run $H bench read "$big" --threads $t
    run $py "$shared/bench/openslide_read.py" "$big" $t
    run $H bench read "$big" --threads $t
  done
fi

if [[ $what == decoders || $what == all ]]; then
  say "JPEG decoder candidates on real tiles vs Pillow + libjpeg-turbo per-tile decode (peer), 1 thread, then 2"
  dotnet build -c Release bench/Histoscale.Bench -v q -nologo >/dev/null
  # The peer runs right before and after the candidates at each thread count, so every row has it from this run.
  for t in 1 2; do
    run $py "$shared/bench/jpeg_limit.py" "$big" $t
    run bench/Histoscale.Bench/bin/Release/net10.0/Histoscale.Bench jpeg "$big" $t 3000
    run $py "$shared/bench/jpeg_limit.py" "$big" $t
  done
fi

if [[ $what == infer || $what == all ]]; then
  norm=(--tile-size 224 --mean 123.675,116.28,103.53 --std 58.395,57.12,57.375 --mpp 0.5)
  # Model-only with the layout `infer` picks by default on 2-4 cores: one single-threaded instance per core.
  cfg=(--instances "$(nproc)" --threads 1)
  for spec in "resnet18 $mid" "mobilenet_v3_large $mid" "mobilenet_v3_large $big"; do
    read -r m slide <<<"$spec"
    say "pipeline vs model-only: $m on $(basename "$slide"), batch 32, CPU, infer's default layout"
    run $H bench infer --model "$shared/models/$m.onnx" --batch 32 --seconds 15 "${cfg[@]}"
    rm -rf "$data/out-$m"
    run /usr/bin/time -f "peak RSS %M KB, wall %e s" $H infer "$slide" --model "$shared/models/$m.onnx" "${norm[@]}" --batch 32 --out "$data/out-$m" --json
    run $H bench infer --model "$shared/models/$m.onnx" --batch 32 --seconds 15 "${cfg[@]}"
  done
  say "Python peer: OpenSlide + PyTorch (resnet18, 512 tiles, batch 32)"
  run $py "$shared/bench/torch_pipeline.py" "$mid" resnet18 512 32
fi

if [[ $what == trivial || $what == all ]]; then
  say "trivial per-tile model: pipeline MP/s vs bench read MP/s; peak RSS on a >= 1 GP slide"
  rm -rf "$data/repo" "$data/out-trivial" "$data/out-trivial2" "$data/two"
  run $H sample-model mean_intensity --repository "$data/repo" --tile-size 240 --sample-stride 16 >/dev/null
  # The same slide under two names, one process: the second slide shows the steady state once the runtime has
  # compiled the pipeline's code (a worker runs many slides per process).
  mkdir -p "$data/two" && ln -s "$big" "$data/two/a.svs" && ln -s "$big" "$data/two/b.svs"
  run $H bench read "$big" --threads 2
  run /usr/bin/time -f "peak RSS %M KB, wall %e s" $H infer "$big" --model "$data/repo/mean_intensity" --mpp 0.499 --no-tissue --batch 64 --out "$data/out-trivial" --json
  run $H bench read "$big" --threads 2
  run $H infer "$data/two" --model "$data/repo/mean_intensity" --mpp 0.499 --no-tissue --batch 64 --out "$data/out-trivial2" --json
  run $H bench read "$big" --threads 2
fi

if [[ $what == int8 || $what == all ]]; then
  norm=(--tile-size 224 --mean 123.675,116.28,103.53 --std 58.395,57.12,57.375 --mpp 0.5)
  cfg=(--instances "$(nproc)" --threads 1)
  calib=$data/calibration-seed7.svs   # calibrate on another slide than the one measured
  [ -f "$calib" ] || run $H synth "$calib" --width 8000 --height 6000 --layout svs --quality 80 --tile 240 --seed 7
  rm -rf "$data/qrepo" "$data/out-resnet18-int8"
  say "INT8: quantize resnet18 (calibrated on a separate slide), model-only FP32 vs INT8, pipeline INT8, Python peer"
  run $H quantize --model "$shared/models/resnet18.onnx" --calibrate "$calib" "${norm[@]}" --out "$data/qrepo/resnet18_int8.onnx"
  run $H bench infer --model "$shared/models/resnet18.onnx" --batch 32 --seconds 15 "${cfg[@]}"
  run $H bench infer --model "$data/qrepo/resnet18_int8.onnx" --batch 32 --seconds 15 "${cfg[@]}"
  run /usr/bin/time -f "peak RSS %M KB, wall %e s" $H infer "$mid" --model "$data/qrepo/resnet18_int8.onnx" "${norm[@]}" --batch 32 --out "$data/out-resnet18-int8" --json
  run $H bench infer --model "$data/qrepo/resnet18_int8.onnx" --batch 32 --seconds 15 "${cfg[@]}"
  run $py "$shared/bench/torch_pipeline.py" "$mid" resnet18 512 32
fi

if [[ $what == imaging || $what == all ]]; then
  say "imaging libraries (Magick.NET, SkiaSharp, NetVips) on every path the product needs; 1 thread unless stated"
  img=$data/synth-8000x6000.svs
  [ -f "$img" ] || run $H synth "$img" --width 8000 --height 6000 --layout svs
  dotnet build -c Release bench/Histoscale.Bench -v q -nologo >/dev/null
  run bench/Histoscale.Bench/bin/Release/net10.0/Histoscale.Bench imaging "$img" "$shared/slides/j2k.svs" 1.5
  # Our decoder against the shipped fallback's libjpeg-turbo (SIMD paths) on every real tile at hand.
  run bench/Histoscale.Bench/bin/Release/net10.0/Histoscale.Bench jpeg-verify "$img" 100000
  run bench/Histoscale.Bench/bin/Release/net10.0/Histoscale.Bench jpeg-verify-all "$shared"/slides/*.svs "$shared"/slides/*.tif
  echo "native libraries per runtime (bytes) in the NuGet cache:"
  nuget=${NUGET_PACKAGES:-$HOME/.nuget/packages}
  for p in magick.net-q8-anycpu/15.1.0 skiasharp.nativeassets.linux.nodependencies/3.119.4 skiasharp.nativeassets.macos/3.119.4 \
           netvips.native.linux-x64/8.18.7 netvips.native.linux-arm64/8.18.7 netvips.native.osx-arm64/8.18.7 netvips.native.osx-x64/8.18.7; do
    find "$nuget/$p/runtimes" -path '*native/*' -type f -printf '%s %P\n' 2>/dev/null | grep -E 'linux-(x64|arm64)/|osx' | sed "s|^|  $p: |"
  done
  say "synthesis with the product's encoder (what tests and benchmarks pay): 8000x6000 SVS, twice"
  for i in 1 2; do run /usr/bin/time -f "wall %e s, CPU %U+%S s" $H synth "$data/synth-timing.svs" --width 8000 --height 6000 --layout svs; done
fi

if [[ $what == storage || $what == all ]]; then
  # docs/data-loading.md: every loading strategy on every emulated storage class (local file behind a throttle:
  # first-byte latency + per-stream bandwidth), the paired goal check against the local raw file, the viewer pattern,
  # and an http(s) slide from a loopback range server against the same file behind the local-nvme emulation.
  say "storage: strategies x emulated storage classes, pipeline pattern (every level-0 tile, 2 threads), 8 s a run"
  run $H bench storage "$mid" --emulate all --strategy all --seconds 8
  for round in 1 2; do
    say "storage goal check, round $round: local raw file, then emulated object storage with prefetch, 15 s a run"
    run $H bench storage "$mid" --strategy none --seconds 15
    run $H bench storage "$mid" --emulate object-standard --strategy prefetch --seconds 15
    run $H bench storage "$mid" --emulate cross-region --strategy prefetch,concurrency=32 --seconds 15
  done
  say "storage viewer pattern: 30 random viewports on the top 3 levels, object-standard"
  for s in direct cache prefetch; do run $H bench storage "$mid" --pattern viewer --emulate object-standard --strategy $s; done
  say "storage over http: a loopback server with byte ranges vs the same file behind local-nvme (requests, bytes)"
  img=$data/synth-8000x6000.svs
  [ -f "$img" ] || run $H synth "$img" --width 8000 --height 6000 --layout svs
  port=${HISTOSCALE_BENCH_HTTP_PORT:-18771}
  $py - "$(dirname "$img")" "$port" <<'PY' &
import http.server, os, re, sys
root, port = sys.argv[1], int(sys.argv[2])
class Ranges(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def _file(self):
        p = os.path.join(root, os.path.basename(self.path.split('?')[0]))
        return p if os.path.isfile(p) else None
    def do_HEAD(self):
        p = self._file()
        if not p: self.send_error(404); return
        st = os.stat(p)
        self.send_response(200); self.send_header('Content-Length', str(st.st_size)); self.send_header('Accept-Ranges', 'bytes')
        self.send_header('ETag', '"%x-%x"' % (st.st_size, int(st.st_mtime))); self.end_headers()
    def do_GET(self):
        p = self._file()
        if not p: self.send_error(404); return
        st = os.stat(p); m = re.match(r'bytes=(\d+)-(\d*)', self.headers.get('Range', ''))
        start, end = (int(m.group(1)), min(int(m.group(2) or st.st_size - 1), st.st_size - 1)) if m else (0, st.st_size - 1)
        self.send_response(206 if m else 200); self.send_header('Content-Length', str(end - start + 1))
        if m: self.send_header('Content-Range', 'bytes %d-%d/%d' % (start, end, st.st_size))
        self.send_header('ETag', '"%x-%x"' % (st.st_size, int(st.st_mtime))); self.end_headers()
        with open(p, 'rb') as f: f.seek(start); self.wfile.write(f.read(end - start + 1))
class Quiet(http.server.ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address): pass   # clients closing early (prefetch, cancellation)
Quiet(('127.0.0.1', port), Ranges).serve_forever()
PY
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  for i in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  run $H bench storage "http://127.0.0.1:$port/$(basename "$img")" --strategy all --threads 2
  run $H bench storage "$img" --emulate local-nvme --strategy all --threads 2
  kill $server 2>/dev/null || true
fi

if [[ $what == storage || $what == storage-dicomweb || $what == all ]]; then
  # docs/dicom.md (issue 15): `bench storage` on a DICOMweb series from a loopback Orthanc (Debian's orthanc +
  # orthanc-dicomweb, started here by .ci/orthanc.sh with its own port and state; the series is OrthancWSIDicomizer's
  # conversion of the 8000x6000 synthesized SVS, as in the dicom section). One invocation, two interleaved rounds:
  # the same series as a local DICOM folder (raw files), over DICOMweb with the pipeline's prefetch hints (frames
  # fetched ahead, 32 per request, 4 requests in flight), on demand with multi-frame requests only (8 per request,
  # no hints), and one frame per request; every level-0 tile, 2 threads, 30 s a run at most; ratios of the medians.
  if command -v Orthanc >/dev/null 2>&1 && [ -e /usr/share/orthanc/plugins/libOrthancDicomWeb.so ] && command -v OrthancWSIDicomizer >/dev/null 2>&1; then
    img=$data/synth-8000x6000.svs
    [ -f "$img" ] || run $H synth "$img" --width 8000 --height 6000 --layout svs --quality 80 --tile 240
    lib=$( (ls /usr/lib/*/libopenslide.so.0 /usr/lib/libopenslide.so.0 2>/dev/null || true) | head -1)
    dcm=$data/dicom-8000x6000
    if [ ! -f "$dcm/.complete" ]; then
      rm -rf "$dcm" && mkdir -p "$dcm"
      run OrthancWSIDicomizer --openslide "$lib" --folder "$dcm" --max-size 0 "$img" >/dev/null 2>&1
      touch "$dcm/.complete"
    fi
    export HISTOSCALE_ORTHANC_PORT=18050 HISTOSCALE_ORTHANC_ENV=$data/orthanc-storage.env
    TMPDIR=$data/orthanc-storage bash .ci/orthanc.sh start
    trap 'TMPDIR=$data/orthanc-storage bash .ci/orthanc.sh stop >/dev/null 2>&1 || true' EXIT
    orthanc=http://127.0.0.1:$HISTOSCALE_ORTHANC_PORT
    url=$(orthanc_upload "$orthanc" "$dcm" "$data/orthanc-storage-upload.json")
    echo "DICOMweb series: $url ($(ls "$dcm"/*.dcm | wc -l) instances, $(du -sh "$dcm" | cut -f1))"
    say "storage over DICOMweb: local DICOM folder vs DICOMweb prefetch vs on-demand multi-frame vs frame-at-a-time, pipeline pattern, 2 threads, 2 rounds"
    echo "uptime: $(uptime)"
    run $H bench storage "$url" --strategy all --local "$dcm" --rounds 2 --threads 2 --seconds 30
    echo "uptime: $(uptime)"
    TMPDIR=$data/orthanc-storage bash .ci/orthanc.sh stop >/dev/null 2>&1 || true
  else
    echo "storage over DICOMweb: skipped (needs Debian's orthanc, orthanc-dicomweb and orthanc-wsi; .ci/run installs them)"
  fi
fi

if [[ $what == dicom ]]; then
  # docs/dicom.md (issue 15): a slide as SVS (our reader), as DICOM files (OrthancWSIDicomizer's conversion: the same
  # JPEG tiles in a TILED_FULL series) and as the same series over DICOMweb from a loopback Orthanc (Debian's orthanc +
  # orthanc-dicomweb, started here by .ci/orthanc.sh with its own port and state), with 8 frames per WADO-RS request
  # and with 1. bench read: every level-0 tile once, 2 threads, no tile cache. Two rounds, interleaved, so every
  # figure has its peers from the same minutes. The slide is 8000x6000 (850 tiles), not the 20000x16000 one: Orthanc
  # 1.10 loads and parses the whole instance file for every frames request, so over DICOMweb the 320 MP level-0
  # instance took minutes per pass on the shared machine (the server's cost, not the reader's).
  mid=$data/synth-8000x6000.svs
  [ -f "$mid" ] || run $H synth "$mid" --width 8000 --height 6000 --layout svs --quality 80 --tile 240
  lib=$( (ls /usr/lib/*/libopenslide.so.0 /usr/lib/libopenslide.so.0 2>/dev/null || true) | head -1)
  dcm=$data/dicom-8000x6000
  if [ ! -f "$dcm/.complete" ]; then
    rm -rf "$dcm" && mkdir -p "$dcm"
    run OrthancWSIDicomizer --openslide "$lib" --folder "$dcm" --max-size 0 "$mid" >/dev/null 2>&1
    touch "$dcm/.complete"
  fi
  export HISTOSCALE_ORTHANC_PORT=18049 HISTOSCALE_ORTHANC_ENV=$data/orthanc-bench.env
  TMPDIR=$data bash .ci/orthanc.sh start
  trap 'TMPDIR=$data bash .ci/orthanc.sh stop >/dev/null 2>&1 || true' EXIT
  orthanc=http://127.0.0.1:$HISTOSCALE_ORTHANC_PORT
  url=$(orthanc_upload "$orthanc" "$dcm" "$data/orthanc-upload.json")
  echo "DICOMweb series: $url ($(ls "$dcm"/*.dcm | wc -l) instances, $(du -sh "$dcm" | cut -f1))"
  say "dicom: bench read, 2 threads, every level-0 tile: SVS, DICOM files, DICOMweb 8 frames/request, DICOMweb 1 frame/request"
  log=$data/dicom-bench.log; : >"$log"
  for round in 1 2; do
    for kind in svs files web8 web1; do
      case $kind in
        svs) out=$(run $H bench read "$mid" --threads 2) ;;
        files) out=$(run $H bench read "$dcm" --threads 2) ;;
        web8) out=$(HISTOSCALE_DICOMWEB_FRAMES=8 run $H bench read "$url" --threads 2) ;;
        web1) out=$(HISTOSCALE_DICOMWEB_FRAMES=1 run $H bench read "$url" --threads 2) ;;
      esac
      echo "$out"
      echo "$kind $(echo "$out" | tail -1)" >>"$log"
    done
  done
  $py - "$log" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    kind, rest = line.split(" ", 1)
    mps = float(re.search(r"MP/s=([0-9.]+)", rest).group(1))
    req = re.search(r"dicomweb-requests=([0-9]+)", rest)
    tiles = int(re.search(r"tiles=([0-9]+)", rest).group(1))
    rows.setdefault(kind, []).append((mps, int(req.group(1)) if req else None, tiles))
med = {k: statistics.median(m for m, _, _ in v) for k, v in rows.items()}
for k, v in rows.items():
    print(f"{k:6} MP/s {', '.join(f'{m:.1f}' for m, _, _ in v)} (median {med[k]:.1f})" + (f"; WADO-RS requests per level-0 pass {v[-1][1]} for {v[-1][2]} tiles" if v[-1][1] is not None else ""))
print(f"DICOM files / SVS: {med['files'] / med['svs']:.3f} (target >= 0.95)")
print(f"DICOMweb 8 frames/request / DICOM files: {med['web8'] / med['files']:.3f}; / SVS: {med['web8'] / med['svs']:.3f}")
print(f"DICOMweb 1 frame/request / DICOM files: {med['web1'] / med['files']:.3f}; 8 frames / 1 frame: {med['web8'] / med['web1']:.2f}x")
PY
fi

if [[ $what == ab ]]; then
  # Before/after: the same measurements with the build of REV (default: the parent of the first commit of issue 10)
  # and with this tree, interleaved so both see the same machine state. Each pair is old then new, three rounds, on
  # the 320 MP slide: decode throughput, the trivial model (reader-bound) and mobilenet (model-bound) end to end.
  rev=${2:-f428ff0}
  old=$data/ab-$rev
  if [ ! -x "$old/src/Histoscale.Cli/bin/Release/net10.0/histoscale" ]; then
    rm -rf "$old"; git worktree add -f --detach "$old" "$rev" >/dev/null
    dotnet build -c Release "$old/src/Histoscale.Cli" -v q -nologo >/dev/null
  fi
  O=$old/src/Histoscale.Cli/bin/Release/net10.0/histoscale
  norm=(--tile-size 224 --mean 123.675,116.28,103.53 --std 58.395,57.12,57.375 --mpp 0.5)
  cfg=(--instances "$(nproc)" --threads 1)
  rm -rf "$data/ab-repo"; $H sample-model mean_intensity --repository "$data/ab-repo" --tile-size 240 --sample-stride 16 >/dev/null
  [ -f "$mid" ] || run $H synth "$mid" --width 20000 --height 16000 --layout svs --quality 80 --tile 240
  for round in 1 2 3; do
    for side in old new; do
      B=$([ $side == old ] && echo "$O" || echo "$H")
      say "A/B round $round, $side ($([ $side == old ] && echo "$rev" || git rev-parse --short HEAD))"
      run "$B" bench read "$mid" --threads 2
      rm -rf "$data/ab-trivial-$side" "$data/ab-mobilenet-$side"
      run /usr/bin/time -f "peak RSS %M KB, wall %e s" "$B" infer "$mid" --model "$data/ab-repo/mean_intensity" --mpp 0.499 --no-tissue --batch 64 --out "$data/ab-trivial-$side" --json
      run "$B" bench infer --model "$shared/models/mobilenet_v3_large.onnx" --batch 32 --seconds 10 "${cfg[@]}"
      run /usr/bin/time -f "peak RSS %M KB, wall %e s" "$B" infer "$mid" --model "$shared/models/mobilenet_v3_large.onnx" "${norm[@]}" --batch 32 --out "$data/ab-mobilenet-$side" --json
    done
    # Outputs: the tile tables must be byte-identical between the two builds but for the `status` column the new
    # build appends (issue 9 §1); the heatmap TIFF changed by design in issue 17 (it now ends at the slide's edge).
    for t in trivial mobilenet; do
      for f in "$data/ab-$t-old"/*.tiles.csv; do
        cmp "$f" <(sed 's/,[^,]*$//' "$data/ab-$t-new/$(basename "$f")") && echo "identical but for the status column: $t $(basename "$f")"
      done
    done
  done
fi

if [[ $what == coldstart || $what == all ]]; then
  # A cold `infer` process of a small slide: JIT seconds (run.json runtime.jitSeconds) and whole-process wall time of
  # the plain Release build (no precompiled code, tiered compilation off) against the ReadyToRun publish (tiering
  # on), interleaved, three rounds.
  say "cold start: Release build (JIT, no tiering) vs ReadyToRun publish (tiering on), cold infer of a 6000x4000 slide"
  pub=$data/publish-r2r
  rm -rf "$pub"; dotnet publish -c Release src/Histoscale.Cli -o "$pub" -v q -nologo >/dev/null
  small=$data/synth-6000x4000.svs
  [ -f "$small" ] || run $H synth "$small" --width 6000 --height 4000 --layout svs
  rm -rf "$data/cold-repo"; $H sample-model tissue_classifier --repository "$data/cold-repo" >/dev/null
  for round in 1 2 3; do
    for B in "$H" "$pub/histoscale"; do
      rm -rf "$data/cold-out"
      /usr/bin/time -f "wall %e s" -o "$data/cold-time" "$B" infer "$small" --model "$data/cold-repo/tissue_classifier" --out "$data/cold-out" >/dev/null
      $py - "$data/cold-out/run.json" "$B" "$(cat "$data/cold-time")" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{'readytorun' if 'publish-r2r' in sys.argv[2] else 'jit       '} jitSeconds={r['runtime']['jitSeconds']} jitMethods={r['runtime']['jitMethods']} tiles/s={r['tilesPerSecond']} {sys.argv[3]}")
PY
    done
  done
fi

if [[ $what == cost || $what == all ]]; then
  # The cost map's measured rows (issue 14): resnet18 (the shared FP32 model) model-only and end to end on a small
  # synthetic slide, on this machine, scaled per vCPU; the published GPU rows and the price table as they are. Then the
  # simulator for 1.5 M slides a year (deterministic, seed 1) with each policy on the cheapest CPU asset (measured rate)
  # and on an L4 (its published ResNet-50 INT8 figure as it is: resnet18 FP32 is not that model, see docs/cost.md).
  say "cost: measured per-vCPU rate (model-only vs pipeline, same invocation) and the map; simulator per policy"
  small=$data/synth-6000x4000.svs
  [ -f "$small" ] || run $H synth "$small" --width 6000 --height 4000 --layout svs
  m=$shared/models/resnet18.onnx
  run $H cost --model "$m" --slide "$small" --measure --measure-seconds 15 --batch 32 --json
  tiles=20000   # tiles per slide of a typical 0.5 µm/px plan (about 2.5 cm² of tissue at 224 px); docs/cost.md says why
  mkdir -p docs/cost
  run $H cost --model "$m" --tiles-per-slide $tiles --measure --measure-seconds 15 --batch 32 --plot docs/cost/map.png
  for policy in keda-queue hpa-queue-time fixed-peak fixed-mean; do
    for pattern in diurnal bursty; do
      run $H simulate --asset gcp-g2-standard-4-l4 --tiles-per-slide $tiles --days 365 --pattern $pattern --policy $policy
    done
  done
  for policy in keda-queue hpa-queue-time fixed-peak fixed-mean; do   # two weeks, for the timeline plots of docs/cost.md
    run $H simulate --asset gcp-g2-standard-4-l4 --tiles-per-slide $tiles --days 14 --pattern diurnal --policy $policy --plot docs/cost/timeline-$policy.png
  done
  run $H simulate --asset aws-c7g-xlarge --tiles-per-slide $tiles --measure --model "$m" --days 30 --pattern diurnal --policy keda-queue --max-replicas 5000
fi

if [[ $what == archive ]]; then
  # Deep Zoom tiles of the full-resolution level in random order, 16 connections, wrk with ../shared/bench/dz_tiles.lua:
  # `histoscale serve --slides` (its tile size is the slide's, so these tiles are the stored JPEGs passed through)
  # against OpenSlide's DeepZoomGenerator server (the peer: 254 px + 1 overlap, decode + re-encode), same slide,
  # interleaved twice. Not part of `all`: it needs wrk (apt-get install wrk).
  slide=$data/synth-20000x16000.svs
  [ -f "$slide" ] || run $H synth "$slide" --width 20000 --height 16000 --layout svs --quality 80 --tile 240
  dir=$data/archive-slides; rm -rf "$dir" "$data/archive.sqlite"*; mkdir -p "$dir"
  ln "$slide" "$dir/" 2>/dev/null || cp "$slide" "$dir/"
  secs=${HISTOSCALE_ARCHIVE_BENCH_SECS:-15}
  up() { for _ in $(seq 1 120); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.5; done; return 1; }
  $H serve --slides "bench=$dir" --db "$data/archive.sqlite" --anonymous read --host 127.0.0.1 --http-port 8095 >"$data/archive-serve.log" 2>&1 &
  ours=$!
  $py "$shared/bench/deepzoom_server.py" "$slide" 8096 >"$data/archive-peer.log" 2>&1 &
  peer=$!
  trap 'kill $ours $peer 2>/dev/null || true' EXIT
  up 8095; up 8096
  id=$(curl -s http://127.0.0.1:8095/api/v1/slides | $py -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
  read -r w h <<<"$($py -c 'import openslide,sys; s=openslide.OpenSlide(sys.argv[1]); print(*s.dimensions)' "$slide")"
  geometry() { $py -c 'import math,sys; w,h,t=map(int,sys.argv[1:]); print(math.ceil(math.log2(max(w,h))), math.ceil(w/t), math.ceil(h/t))' "$w" "$h" "$1"; }
  say "archive: Deep Zoom tiles/s, full-resolution level, random, 16 connections, ${secs} s each: histoscale serve --slides vs OpenSlide deepzoom_server.py"
  for round in 1 2; do
    read -r level cols rows <<<"$(geometry 240)"
    echo "histoscale (round $round): level $level, ${cols}x${rows} tiles of 240"
    DZ_LEVEL=$level DZ_COLS=$cols DZ_ROWS=$rows DZ_PREFIX=/api/v1/slides/$id/dzi_files \
      wrk -t4 -c16 -d${secs}s --latency -s "$shared/bench/dz_tiles.lua" http://127.0.0.1:8095 | tee "$data/archive-ours-$round.txt"
    read -r level cols rows <<<"$(geometry 254)"
    echo "openslide deepzoom (round $round): level $level, ${cols}x${rows} tiles of 254+1"
    DZ_LEVEL=$level DZ_COLS=$cols DZ_ROWS=$rows DZ_PREFIX=/slide_files \
      wrk -t4 -c16 -d${secs}s --latency -s "$shared/bench/dz_tiles.lua" http://127.0.0.1:8096 | tee "$data/archive-peer-$round.txt"
  done
  $py - "$data" <<'PY'
import re, sys
def rate(f): return float(re.search(r"Requests/sec:\s+([\d.]+)", open(f).read()).group(1))
def p99(f): return re.search(r"\s99%\s+(\S+)", open(f).read()).group(1)
d = sys.argv[1]
ours = sum(rate(f"{d}/archive-ours-{r}.txt") for r in (1, 2)) / 2
peer = sum(rate(f"{d}/archive-peer-{r}.txt") for r in (1, 2)) / 2
print(f"histoscale {ours:.0f} tiles/s (p99 {p99(d + '/archive-ours-2.txt')}), openslide deepzoom {peer:.0f} tiles/s (p99 {p99(d + '/archive-peer-2.txt')}): ratio {ours / peer:.2f}x")
PY
  kill $ours $peer 2>/dev/null || true
fi

# Issue 11 annotation benchmarks (section "annotations", not part of `all`): `histoscale serve --slides` over HTTP
# from a Python client, each figure with its limit measured in the same run:
#   - one polygon of 100 000 vertices: POST (save) and GET (load) round trips, against the same client's json.dumps +
#     json.loads of the same document (the raw serialise/parse floor of any JSON API);
#   - a bounding-box query over an annotation of 10 000 rectangles (a box holding ~1 % of them), against the same
#     SQL run directly on the archive's SQLite file by Python's sqlite3 (the database's own query time).
if [[ $what == annotations ]]; then
  slide=$data/synth-4000x3000.svs
  [ -f "$slide" ] || run $H synth "$slide" --width 4000 --height 3000 --layout svs --quality 80 --tile 240
  dir=$data/annotation-slides; rm -rf "$dir" "$data/annotations.sqlite"*; mkdir -p "$dir"
  ln "$slide" "$dir/" 2>/dev/null || cp "$slide" "$dir/"
  HISTOSCALE_ADMIN_TOKEN=bench-admin $H serve --slides "bench=$dir" --db "$data/annotations.sqlite" --host 127.0.0.1 --http-port 8097 >"$data/annotations-serve.log" 2>&1 &
  ours=$!
  trap 'kill $ours 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do (exec 3<>/dev/tcp/127.0.0.1/8097) 2>/dev/null && break; sleep 0.5; done
  say "annotations: 100 000-vertex polygon save/load vs raw JSON serialise+parse; box query over 10 000 elements vs the same SQL on the SQLite file"
  $py - "$data/annotations.sqlite" <<'PY'
import json, math, sqlite3, statistics, sys, time, urllib.request
base, auth = "http://127.0.0.1:8097/api/v1", {"Authorization": "Bearer bench-admin"}
def call(method, path, body=None, headers=None):
    data = None if body is None else body.encode()
    req = urllib.request.Request(base + path, data=data, method=method, headers={**auth, "Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req) as r:
        return r.read()
slide = json.loads(call("GET", "/slides"))[0]["id"]
rounds = 7
# 1. One polygon of 100 000 vertices (a circle-ish ring of radius 1500 around the slide's centre).
n = 100_000
pts = [[round(2000 + 1500 * math.cos(2 * math.pi * i / n), 3), round(1500 + 1400 * math.sin(2 * math.pi * i / n), 3), 0] for i in range(n)]
doc = {"name": "big polygon", "elements": [{"type": "polyline", "closed": True, "points": pts, "label": {"value": "tumour"}}]}
save, load, raw = [], [], []
for _ in range(rounds):
    t = time.perf_counter(); body = json.dumps(doc); created = json.loads(call("POST", f"/slides/{slide}/annotations", body)); save.append(time.perf_counter() - t)
    t = time.perf_counter(); got = json.loads(call("GET", f"/annotations/{created['id']}")); load.append(time.perf_counter() - t)
    assert len(got["annotation"]["elements"][0]["points"]) == n
    t = time.perf_counter(); json.loads(json.dumps(doc)); raw.append(time.perf_counter() - t)
print(f"100k-vertex polygon ({len(body) / 1e6:.1f} MB JSON), median of {rounds}: save {statistics.median(save) * 1e3:.0f} ms, load {statistics.median(load) * 1e3:.0f} ms, "
      f"raw json.dumps+loads {statistics.median(raw) * 1e3:.0f} ms; save+load = {(statistics.median(save) + statistics.median(load)) / statistics.median(raw):.1f}x raw")
# 2. Box query over 10 000 rectangles on a 100 x 100 grid (40 px cells); the box covers 10 x 10 cells (1 %).
els = [{"type": "rectangle", "center": [20 + 40 * (i % 100), 20 + 30 * (i // 100), 0], "width": 30, "height": 20, "rotation": 0} for i in range(10_000)]
aid = json.loads(call("POST", f"/slides/{slide}/annotations", json.dumps({"name": "grid", "elements": els})))["id"]
box = dict(left=1000, top=900, right=1400, bottom=1200)
q = "&".join(f"{k}={v}" for k, v in box.items())
api, sql, count = [], [], 0
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
for _ in range(30):
    t = time.perf_counter(); count = len(json.loads(call("GET", f"/annotations/{aid}?{q}"))["annotation"]["elements"]); api.append(time.perf_counter() - t)
    t = time.perf_counter()
    rows = db.execute("SELECT idx, type, min_x, min_y, max_x, max_y, element FROM annotation_elements WHERE annotation_id = ? AND max_x >= ? AND min_x <= ? AND max_y >= ? AND min_y <= ? ORDER BY idx",
                      (aid, box["left"], box["right"], box["top"], box["bottom"])).fetchall()
    sql.append(time.perf_counter() - t)
assert count == len(rows) and count > 0, (count, len(rows))
print(f"box query over 10 000 elements ({count} returned), median of 30: API {statistics.median(api) * 1e3:.1f} ms (p90 {sorted(api)[26] * 1e3:.1f} ms), "
      f"same SQL on the SQLite file {statistics.median(sql) * 1e3:.2f} ms; API = {statistics.median(api) / statistics.median(sql):.1f}x the database's query")
PY
  kill $ours 2>/dev/null || true
fi

if [[ $what == serve || $what == all ]]; then
  # histoscale serve against the same model in process, same cores, same instance layout, interleaved rounds:
  #   in-process  bench infer --batch 32 --instances N --threads 1 (model only; peak RSS of that process)
  #   gRPC c8     batch-32 requests at concurrency 8 (each request fills a batch)
  #   gRPC b4 c16 batch-4 requests at concurrency 16 through dynamic batching (max_queue_delay 5 ms)
  #   gRPC shm    the same two with `bench serve --shared-memory system` (tensors through /dev/shm regions, Triton's
  #               system shared memory extension; only names and shapes travel over gRPC)
  # then the CPU layout of issue 9 §4 (no instance_group: one instance with every core) and the ORT arena settings.
  # The client (bench serve) runs on the same cores; the server's peak RSS is its VmHWM. Each fresh server is
  # driven untimed for 5 s before its window (bench serve's default warm-up: min(window, 5 s)), as perf_analyzer
  # waits for stable windows, so its start-up JIT and first-touch memory stay out of the measurement.
  m=mobilenet_v3_large
  secs=${SERVE_SECONDS:-15}; rounds=$(seq 1 "${SERVE_ROUNDS:-3}") # shorter only for a smoke test of this section
  mk_repo() { # DIR INSTANCE_GROUP_LINE
    rm -rf "$1"; mkdir -p "$1/$m/1"; ln -s "$shared/models/$m.onnx" "$1/$m/1/model.onnx"
    printf '%s\n' "name: \"$m\"" 'platform: "onnxruntime_onnx"' 'max_batch_size: 32' \
      'input [ { name: "input" data_type: TYPE_FP32 dims: [ 3, 224, 224 ] } ]' \
      'output [ { name: "logits" data_type: TYPE_FP32 dims: [ 1000 ] } ]' \
      'dynamic_batching { max_queue_delay_microseconds: 5000 }' "$2" > "$1/$m/config.pbtxt"
  }
  mk_repo "$data/serve-layout" "instance_group [ { count: $(nproc) kind: KIND_CPU } ]"
  mk_repo "$data/serve-default" ""
  serve_run() { # LABEL REPO BATCH CONCURRENCY SECONDS [serve flags...]; bench serve flags in $client
    local label=$1 repo=$2 b=$3 c=$4 s=$5; shift 5
    $H serve --model-repository "$repo" --host 127.0.0.1 --http-port 18100 --grpc-port 18101 --metrics-port 18102 "$@" > "$data/serve.log" 2>&1 &
    local pid=$! i
    for i in $(seq 1 240); do grep -q "ready" "$data/serve.log" && break; sleep 0.5; done
    local line; line=$($H bench serve --server grpc://127.0.0.1:18101 --model $m --batch "$b" --concurrency "$c" --seconds "$s" ${client:-} | tail -1)
    local hwm; hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    echo "$label: $(echo "$line" | awk -F, '{printf "%s inferences/s, p50 %.0f ms, p99 %.0f ms, server input %s us/request", $2, $10/1000, $13/1000, $6}'), server peak RSS $((hwm / 1024)) MB"
  }
  inproc_run() { # LABEL INSTANCES THREADS
    local line; line=$(/usr/bin/time -f "%M" -o "$data/inproc-rss" $H bench infer --model "$shared/models/$m.onnx" --batch 32 --seconds "$secs" --instances "$2" --threads "$3")
    echo "$1: $(echo "$line" | grep -o '[0-9.]* tiles/s') ($line), peak RSS $(( $(cat "$data/inproc-rss") / 1024 )) MB"
  }
  say "serve: $m, in-process vs gRPC (batch 32 c8; batch 4 c16 dynamic batching; both again with --shared-memory system), $(nproc) x 1-thread instances, 3 rounds"
  for round in $rounds; do
    echo "-- round $round"
    inproc_run "in-process $(nproc)x1" "$(nproc)" 1
    serve_run "gRPC batch 32 c8" "$data/serve-layout" 32 8 "$secs"
    serve_run "gRPC batch 4 c16" "$data/serve-layout" 4 16 "$secs"
    client="--shared-memory system" serve_run "gRPC shm batch 32 c8" "$data/serve-layout" 32 8 "$secs"
    client="--shared-memory system" serve_run "gRPC shm batch 4 c16" "$data/serve-layout" 4 16 "$secs"
  done
  say "serve CPU layout (issue 9 §4): no instance_group (1 instance x $(nproc) threads) vs instance_group count $(nproc), gRPC batch 32 c8"
  for round in $rounds; do
    echo "-- round $round"
    inproc_run "in-process $(nproc)x1" "$(nproc)" 1
    inproc_run "in-process 1x$(nproc)" 1 "$(nproc)"
    serve_run "gRPC c8 instance_group $(nproc)x1" "$data/serve-layout" 32 8 "$secs"
    serve_run "gRPC c8 no instance_group (1x$(nproc))" "$data/serve-default" 32 8 "$secs"
    serve_run "gRPC c8 no instance_group (1x$(nproc)), --allow-spinning" "$data/serve-default" 32 8 "$secs" --allow-spinning
  done
  say "serve ORT memory settings: gRPC batch 4 c16 (dynamic batching: batches of every size), server peak RSS per setting"
  serve_run "arena (ORT default)" "$data/serve-layout" 4 16 "$secs"
  serve_run "arena + --arena-shrinkage" "$data/serve-layout" 4 16 "$secs" --arena-shrinkage
  serve_run "arena, --no-memory-pattern" "$data/serve-layout" 4 16 "$secs" --no-memory-pattern
  serve_run "--no-cpu-arena" "$data/serve-layout" 4 16 "$secs" --no-cpu-arena
  echo; echo "tables (bench/serve_table.py):"; $py bench/serve_table.py "$results"
fi

if [[ $what == workers ]]; then
  # Issue 12, scale-out through a broker, in one invocation over one cohort (8 synthetic 4000x3000 slides, seeds
  # 41-48; mobilenet_v3_large FP32, 224 px at 0.5 µm/px, batch 32, tissue detection on). Each round (WORKERS_ROUNDS,
  # default 2) runs:
  #   infer     one `infer` process over the cohort folder: the process's wall time (start-up, model load, outputs);
  #   workers K K = 1, 2, 4 `worker` processes (ONNX Runtime in-process, infer's default layout each) on a Redis
  #             stream: the wall time from starting the workers (then `submit`) until the queue's completed counter
  #             reaches 8 (the workers' start-up and model load are inside, as infer's are);
  #   split K   K = 1, 2 the same with `worker --server grpc://...` against one `histoscale serve` (the same model,
  #             2 x 1-thread instances, max_batch_size 32, dynamic batching), started once and ready before any clock;
  # with an infer run before each broker run and one closing infer run, so every broker run has the single-process
  # figure right before and after it (the machine's load drifts): its ratio is its slides/hour over the mean of those
  # two; a split run's is also over the in-process run with as many workers in the same round. Every run's tile
  # tables are compared (cmp) with the first infer run's. Redis: HISTOSCALE_BENCH_REDIS (redis://HOST:PORT/DB), else
  # a private redis-server on 127.0.0.1:16390 (HISTOSCALE_BENCH_REDIS_PORT), stopped at the end.
  m=${WORKERS_MODEL:-mobilenet_v3_large}
  norm=(--tile-size 224 --mean 123.675,116.28,103.53 --std 58.395,57.12,57.375 --mpp 0.5)
  cohort=$data/workers-cohort
  mkdir -p "$cohort"
  for s in 1 2 3 4 5 6 7 8; do
    [ -f "$cohort/w$s-4000x3000.svs" ] || run $H synth "$cohort/w$s-4000x3000.svs" --width 4000 --height 3000 --layout svs --quality 80 --tile 240 --seed $((40 + s))
  done
  n=$(ls "$cohort"/*.svs | wc -l)
  redis=${HISTOSCALE_BENCH_REDIS:-}
  rpid= spid= wpids= failed=
  trap 'kill $wpids $spid $rpid 2>/dev/null || true' EXIT
  if [ -z "$redis" ]; then
    rport=${HISTOSCALE_BENCH_REDIS_PORT:-16390}
    redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no --dir "$data" >"$data/workers-redis.log" 2>&1 &
    rpid=$!
    redis=redis://127.0.0.1:$rport/0
    for _ in $(seq 100); do redis-cli -u "$redis" ping >/dev/null 2>&1 && break; sleep 0.1; done
    kill -0 "$rpid" 2>/dev/null || { echo "workers: redis-server did not start on 127.0.0.1:$rport (port taken?): $(tail -3 "$data/workers-redis.log")"; exit 1; }
    echo "private redis-server $(redis-server --version | grep -o 'v=[0-9.]*') on 127.0.0.1:$rport (pid $rpid)"
  fi
  redis=${redis%%\?*}
  log=$data/workers-figures.txt; : >"$log"
  tables() { # OUT: its tile tables against the first infer run's
    local f same=0 partial
    for f in "$data/workers-reference"/*.tiles.csv; do cmp -s "$f" "$1/$(basename "$f")" && same=$((same + 1)); done
    partial=$(find "$1" -name '*.partial' | wc -l)
    echo "  tile tables byte-identical to infer's: $same/$n; .partial files left: $partial"
    [ "$same" -eq "$n" ] || failed="$failed $(basename "$1"):tables"
    [ "$same" -eq "$n" ] || $py - "$data/workers-reference" "$1" <<'PY'
import csv, glob, os, sys
worst, rows = 0.0, 0
for ref in sorted(glob.glob(os.path.join(sys.argv[1], "*.tiles.csv"))):
    other = os.path.join(sys.argv[2], os.path.basename(ref))
    if not os.path.exists(other):
        print(f"  missing: {other}"); continue
    a, b = list(csv.reader(open(ref))), list(csv.reader(open(other)))
    if len(a) != len(b) or a[0] != b[0]:
        print(f"  {os.path.basename(ref)}: {len(a) - 1} vs {len(b) - 1} rows or other columns"); continue
    for x, y in zip(a[1:], b[1:]):
        for u, v in zip(x, y):
            if u != v:
                try: worst = max(worst, abs(float(u) - float(v))); rows += 1
                except ValueError: print(f"  {os.path.basename(ref)}: '{u}' vs '{v}'")
print(f"  differing fields: {rows}, largest numeric difference {worst:g}")
PY
  }
  infer_run() { # LABEL
    local out=$data/workers-infer t0 t1
    rm -rf "$out"
    echo "\$ $H infer $cohort --model $shared/models/$m.onnx ${norm[*]} --batch 32 --out $out"
    t0=$(date +%s.%N)
    $H infer "$cohort" --model "$shared/models/$m.onnx" "${norm[@]}" --batch 32 --out "$out" >/dev/null
    t1=$(date +%s.%N)
    if [ ! -d "$data/workers-reference" ]; then mkdir -p "$data/workers-reference"; fi
    [ "$1" == infer-1 ] && { rm -f "$data/workers-reference"/*; cp "$out"/*.tiles.csv "$data/workers-reference/"; }
    tables "$out"
    echo "$1 1 $(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") $($py -c 'import json, sys; print(sum(s["tiles"] for s in json.load(open(sys.argv[1]))["slides"]))' "$out/run.json")" | tee -a "$log"
  }
  broker_run() { # LABEL WORKERS MODEL [worker flags...]
    local label=$1 k=$2 model=$3 out=$data/workers-out-$1 q=bench-$1-$$ t0 t1 c i alive
    shift 3
    local url="$redis?queue=$q" wp=()
    rm -rf "$out" "$data/workers-$label".log*; mkdir -p "$out"
    echo "\$ $k x $H worker --queue $url --idle-exit 15 $*; $H submit $cohort --queue $url --model $model ${norm[*]} --batch 32 --out $out"
    t0=$(date +%s.%N)
    for i in $(seq "$k"); do
      $H worker --queue "$url" --idle-exit 15 "$@" >"$data/workers-$label.log$i" 2>&1 &
      wp+=($!)
    done
    wpids="${wp[*]}"
    $H submit "$cohort" --queue "$url" --model "$model" "${norm[@]}" --batch 32 --out "$out" >/dev/null
    while :; do
      c=$(redis-cli -u "$redis" GET "$q:completed"); c=${c:-0}
      [ "$c" -ge "$n" ] && break
      alive=0; for i in "${wp[@]}"; do kill -0 "$i" 2>/dev/null && alive=1; done
      [ $alive == 1 ] || { echo "  the workers exited with $c of $n jobs completed; logs: $data/workers-$label.log*"; failed="$failed $label:incomplete"; break; }
      sleep 0.2
    done
    t1=$(date +%s.%N)
    for i in "${wp[@]}"; do wait "$i" || echo "  worker $i exited with $?"; done
    wpids=
    local st; st=$($H queue status --queue "$url" --json)
    echo "  queue: $st"
    $py -c 'import json, sys; d = json.loads(sys.argv[1]); sys.exit(1 if d.get("failed", 0) or d.get("deadLettered", 0) else 0)' "$st" \
      || failed="$failed $label:failed-jobs"
    tables "$out"
    echo "$label $k $(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }") $($py -c 'import glob, json, sys; print(sum(json.load(open(f))["slides"][0]["tiles"] for f in glob.glob(sys.argv[1] + "/.histoscale/*.run.json")))' "$out")" | tee -a "$log"
  }
  repo=$data/workers-serve-repo
  rm -rf "$repo"; mkdir -p "$repo/$m/1"; ln -s "$shared/models/$m.onnx" "$repo/$m/1/model.onnx"
  printf '%s\n' "name: \"$m\"" 'platform: "onnxruntime_onnx"' 'max_batch_size: 32' \
    'input [ { name: "input" data_type: TYPE_FP32 dims: [ 3, 224, 224 ] } ]' \
    'output [ { name: "logits" data_type: TYPE_FP32 dims: [ 1000 ] } ]' \
    'dynamic_batching { max_queue_delay_microseconds: 5000 }' "instance_group [ { count: $(nproc) kind: KIND_CPU } ]" >"$repo/$m/config.pbtxt"
  rounds=${WORKERS_ROUNDS:-2}
  say "workers: slides/hour of 1, 2, 4 worker processes on a Redis stream and of workers + one serve (gRPC), vs one infer process; $n slides, $m, $rounds rounds"
  echo "uptime before: $(uptime)"
  # The server idles (no CPU) through the in-process runs; it is up and ready before any clock starts.
  $H serve --model-repository "$repo" --host 127.0.0.1 --http-port 18110 --grpc-port 18111 --metrics-port 18112 >"$data/workers-serve.log" 2>&1 &
  spid=$!
  for _ in $(seq 1 240); do grep -q "ready" "$data/workers-serve.log" && break; sleep 0.5; done
  grep -q ready "$data/workers-serve.log" && kill -0 "$spid" 2>/dev/null \
    || { echo "workers: histoscale serve did not become ready: $(tail -5 "$data/workers-serve.log")"; exit 1; }
  echo "$(grep -m1 ready "$data/workers-serve.log") (pid $spid)"
  i=1
  for round in $(seq "$rounds"); do
    say "workers round $round"
    for k in 1 2 4; do infer_run "infer-$i"; i=$((i + 1)); broker_run "workers-$k-r$round" "$k" "$shared/models/$m.onnx"; done
    for k in 1 2; do infer_run "infer-$i"; i=$((i + 1)); broker_run "split-$k-r$round" "$k" "$m" --server grpc://127.0.0.1:18111; done
  done
  say "workers: closing infer run"
  infer_run "infer-$i"
  echo "server peak RSS $(( $(awk '/VmHWM/ {print $2}' "/proc/$spid/status") / 1024 )) MB"
  kill -TERM "$spid"; wait "$spid" 2>/dev/null || true; spid=
  echo "uptime after: $(uptime)"
  [ -z "$rpid" ] || { kill "$rpid"; wait "$rpid" 2>/dev/null || true; rpid=; }
  $py - "$log" "$n" <<'PY'
import re, statistics, sys
rows = [(r[0], int(r[1]), float(r[2]), int(r[3])) for r in (l.split() for l in open(sys.argv[1])) if r]
slides = int(sys.argv[2])
per_hour = {label: slides * 3600 / wall for label, _, wall, _ in rows}
print()
print("| run | processes | wall s | tiles | slides/hour | / infer (mean of the infer runs just before and after) | split / in-process workers (same round) |")
print("|---|---|---|---|---|---|---|")
ratios, splits = {}, {}
for i, (label, k, wall, tiles) in enumerate(rows):
    if label.startswith("infer-"):
        print(f"| {label} | 1 infer | {wall:.1f} | {tiles} | {per_hour[label]:.0f} | — | — |")
        continue
    kind, _, rnd = re.match(r"(workers|split)-(\d+)-r(\d+)", label).groups()
    peer = (per_hour[rows[i - 1][0]] + per_hour[rows[i + 1][0]]) / 2
    ratio = per_hour[label] / peer
    ratios.setdefault(f"{kind} {k}", []).append(ratio)
    split = "—"
    if kind == "split":
        s = per_hour[label] / per_hour[f"workers-{k}-r{rnd}"]
        splits.setdefault(k, []).append(s)
        split = f"{s:.2f}x"
    print(f"| {label} | {k} worker{'s' if k > 1 else ''}{' + 1 serve' if kind == 'split' else ''} | {wall:.1f} | {tiles} | {per_hour[label]:.0f} | {ratio:.2f}x | {split} |")
print()
for key, v in ratios.items():
    print(f"{key}: broker path / single infer, median {statistics.median(v):.2f}x ({', '.join(f'{x:.2f}' for x in v)})")
for k, v in splits.items():
    print(f"split {k} / in-process workers {k}: median {statistics.median(v):.2f}x ({', '.join(f'{x:.2f}' for x in v)})")
PY
  [ -z "$failed" ] || { echo "workers: runs that did not complete or whose tables differ (their figures are not valid):$failed"; exit 1; }
fi

if [[ $what == stain || $what == all ]]; then
  # Stain normalisation's cost (issue 19): the same slide and model, infer without and with --stain-normalize
  # (each method), interleaved over 2 rounds; a method's ratio is its tiles/s over the mean of the plain runs just
  # before and after it. tiles/s is run.json's per-slide figure (the slide's own time: open, tissue, stain fit,
  # inference, outputs). Target: normalisation costs <= 10 % of pipeline tiles/s (ratio >= 0.90).
  norm=(--tile-size 224 --mean 123.675,116.28,103.53 --std 58.395,57.12,57.375 --mpp 0.5)
  slide=$data/stain-6000x4500.svs
  ref=$data/stain-target-4000x3000.svs
  [ -f "$slide" ] || run $H synth "$slide" --width 6000 --height 4500 --layout svs --quality 80 --tile 240 --seed 21
  [ -f "$ref" ] || run $H synth "$ref" --width 4000 --height 3000 --layout svs --quality 80 --tile 240 --seed 22
  log=$data/stain-figures.txt; : > "$log"
  for m in macenko reinhard vahadane; do run $H stain fit "$ref" --method $m --out "$data/stain-$m.json"; done
  one() { # $1 label, then extra flags
    local label=$1; shift
    rm -rf "$data/stain-out"
    echo "\$ $H infer $slide --model resnet18.onnx ${norm[*]} --batch 32 $* --json"
    $H infer "$slide" --model "$shared/models/resnet18.onnx" "${norm[@]}" --batch 32 --out "$data/stain-out" --json "$@" >/dev/null
    $py - "$data/stain-out/run.json" "$label" <<'PY' | tee -a "$log"
import json, sys
s = json.load(open(sys.argv[1]))["slides"][0]; st = s["stages"]
print(f"{sys.argv[2]} {s['tilesPerSecond']} tiles/s ({s['tiles']} tiles, {s['seconds']} s; preprocess {st['preprocess']} s, stain fit {st.get('stainFit', 0)} s)")
PY
  }
  say "stain: infer tiles/s without and with --stain-normalize (resnet18 FP32, batch 32, $(basename "$slide")), 2 rounds interleaved"
  echo "load before: $(cat /proc/loadavg)"
  one plain
  for round in 1 2; do
    for m in macenko reinhard vahadane; do
      one "$m" --stain-normalize $m --stain-target "$data/stain-$m.json"
      one plain
    done
  done
  echo "load after: $(cat /proc/loadavg)"
  $py - "$log" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
print()
print("| method | tiles/s with normalisation (rounds) | plain tiles/s around it | ratio (median) | cost |")
print("|---|---|---|---|---|")
for m in ("macenko", "reinhard", "vahadane"):
    ratios, withs, plains = [], [], []
    for i, r in enumerate(rows):
        if r[0] == m:
            p = (float(rows[i - 1][1]) + float(rows[i + 1][1])) / 2
            ratios.append(float(r[1]) / p); withs.append(r[1]); plains.append(f"{p:.1f}")
    q = statistics.median(ratios)
    print(f"| {m} | {', '.join(withs)} | {', '.join(plains)} | {q:.3f} ({', '.join(f'{x:.3f}' for x in ratios)}) | {100 * (1 - q):.1f} % (target <= 10 %) |")
PY
fi

if [[ $what == qc || $what == all ]]; then
  # Quality control (issue 19) of the ≥ 1-GP slide against `infer` of the same slide (mobilenet_v3_large FP32, 224 px
  # at 0.5 µm/px, batch 32, infer's default layout) in the same invocation, interleaved qc, infer, qc: the ratio is the
  # mean qc wall time over the infer wall time (whole processes: start-up, model load, tissue, outputs included).
  # Target: qc a small fraction of inference.
  say "qc: histoscale qc vs histoscale infer (mobilenet_v3_large) of the same $(basename "$big")"
  norm=(--tile-size 224 --mean 123.675,116.28,103.53 --std 58.395,57.12,57.375 --mpp 0.5)
  qclog=$data/qc-figures.txt; : > "$qclog"
  timed() { # $1 label, then the command
    local label=$1; shift
    echo "\$ $*"
    /usr/bin/time -f "%e %M" -o "$data/qc-time" "$@" > "$data/qc-stdout"
    tail -3 "$data/qc-stdout"
    echo "$label $(tail -1 "$data/qc-time")" | tee -a "$qclog"
  }
  rm -rf "$data/qc-out" "$data/qc-infer"
  timed qc $H qc "$big" --out "$data/qc-out" --json
  timed infer $H infer "$big" --model "$shared/models/mobilenet_v3_large.onnx" "${norm[@]}" --batch 32 --out "$data/qc-infer" --json
  rm -rf "$data/qc-out"
  timed qc $H qc "$big" --out "$data/qc-out" --json
  echo "load after: $(cat /proc/loadavg)"
  $py - "$qclog" "$data/qc-infer/run.json" <<'PY'
import json, sys
rows = [l.split() for l in open(sys.argv[1])]
qc = [float(r[1]) for r in rows if r[0] == "qc"]
infer = [float(r[1]) for r in rows if r[0] == "infer"][0]
rss = {r[0]: int(r[2]) // 1024 for r in rows}
run = json.load(open(sys.argv[2]))
tiles = sum(s["tiles"] for s in run["slides"])
mean = sum(qc) / len(qc)
print(f"qc wall {', '.join(f'{q:.1f}' for q in qc)} s (peak RSS {rss['qc']} MB); infer wall {infer:.1f} s ({tiles} tiles, peak RSS {rss['infer']} MB)")
print(f"qc / infer: {mean / infer:.3f} ({100 * mean / infer:.1f} % of the slide's inference time)")
PY
fi

if [[ $what == cohort || $what == all ]]; then
  # Whole-process `infer` over a folder of three slides it never saw (sizes, tile sizes and seeds of issue 16) against
  # model-only `bench infer` (resnet18 FP32, 224 px, batch 32, infer's default layout), both from the ReadyToRun
  # publish (`dotnet publish -c Release`, what is deployed). Interleaved: model-only, then per round the cohort, the
  # Python peer and model-only again; a round's ratio is its cohort tiles/s (tiles ÷ the process's wall time: start-up,
  # model load, tissue detection and output writing included) over the mean of the model-only runs either side. Each
  # round can also run the cohort with DOTNET_TieredCompilation=0 (`cohort tc0`), to show what background
  # re-compilation costs.
  # `bash bench/run.sh cohort int8` adds one INT8 cohort run (quantized on a separate slide) against the same peer.
  norm=(--tile-size 224 --mean 123.675,116.28,103.53 --std 58.395,57.12,57.375 --mpp 0.5)
  cfg=(--instances "$(nproc)" --threads 1)
  cohort=$data/cohort
  mkdir -p "$cohort"
  [ -f "$cohort/a-16000x12000.svs" ] || run $H synth "$cohort/a-16000x12000.svs" --width 16000 --height 12000 --layout svs --tile 256 --seed 11
  [ -f "$cohort/b-12000x16000.svs" ] || run $H synth "$cohort/b-12000x16000.svs" --width 12000 --height 16000 --layout svs --tile 240 --seed 12
  [ -f "$cohort/c-7000x5200.svs" ] || run $H synth "$cohort/c-7000x5200.svs" --width 7000 --height 5200 --layout svs --tile 240 --seed 13
  pub=$data/publish-r2r-cohort
  # Republished unless the last publish is of the same product sources (the commit that last touched src/).
  src_rev=$(git log -1 --format=%h -- src)$(git diff --quiet -- src || echo '+')
  if [[ "$(cat "$pub/.source-rev" 2>/dev/null)" != "$src_rev" || $src_rev == *+ ]]; then
    rm -rf "$pub"; dotnet publish -c Release src/Histoscale.Cli -o "$pub" -v q -nologo >/dev/null; echo "$src_rev" > "$pub/.source-rev"
  fi
  echo "publish of src at $src_rev"
  P=$pub/histoscale
  torch=; "$py" -c 'import torch, torchvision' 2>/dev/null && torch=1
  log=$data/cohort-figures.txt; : > "$log"
  model_only() {
    local out; out=$(run $P bench infer --model "$shared/models/resnet18.onnx" --batch 32 --seconds 15 "${cfg[@]}" --json)
    echo "$out"; echo "model $($py -c 'import json, sys; print(json.loads(sys.stdin.read().splitlines()[-1])["tilesPerSecond"])' <<<"$out")" | tee -a "$log"
  }
  whole() { # $1 model file, $2 label
    rm -rf "$data/cohort-out"
    echo "\$ ${3:-}${3:+ }$P infer $cohort --model $1 ${norm[*]} --batch 32 --out $data/cohort-out --json"
    /usr/bin/time -f "%e %M" -o "$data/cohort-time" env ${3:-} $P infer "$cohort" --model "$1" "${norm[@]}" --batch 32 --out "$data/cohort-out" --json > "$data/cohort-json"
    $py - "$data/cohort-json" "$(tail -1 "$data/cohort-time")" "$data/cohort-out/run.json" "$2" <<'PY' | tee -a "$log"
import json, sys
r = json.load(open(sys.argv[1])); wall, rss = sys.argv[2].split(); wall = float(wall); run = json.load(open(sys.argv[3]))
tiles = sum(s["tiles"] for s in r["slides"] if s["status"] == "completed")
for s in run["slides"]:
    st = s["stages"]
    print(f"  {s['name']}: {s['tiles']} tiles, inference {s['inferenceSeconds']} s, tissue detection {st['tissue']} s "
          f"({100 * st['tissue'] / s['inferenceSeconds']:.2f} % of inference), plan {st['plan']} s, outputs {st['outputs']} s")
print(f"  runtime: jitSeconds={run['runtime']['jitSeconds']} jitMethods={run['runtime']['jitMethods']} gcPauseSeconds={run['runtime']['gcPauseSeconds']}; peak RSS {int(rss) // 1024} MB")
print(f"{sys.argv[4]} {tiles / wall:.2f} tiles/s ({tiles} tiles, {wall} s wall)")
PY
  }
  peer() {
    [ -n "$torch" ] || { echo "no torch/torchvision in $py: the Python peer is skipped"; return 0; }
    local out; out=$(run $py "$shared/bench/torch_pipeline.py" "$cohort/a-16000x12000.svs" resnet18 512 32)
    echo "$out"; echo "peer $(sed -n 's/.*tiles\/s=\([0-9.]*\).*/\1/p' <<<"$out")" | tee -a "$log"
  }
  say "cohort: whole-process infer of 3 slides vs model-only (resnet18 FP32, batch 32, ReadyToRun publish), Python peer; 3 rounds interleaved"
  echo "load before: $(cat /proc/loadavg)"
  model_only
  for round in 1 2 3; do
    say "cohort round $round"
    # `cohort tc0`: also with tiered compilation off (no background re-compilation of hot precompiled code; costs
    # cold start).
    [[ " ${*:2} " == *" tc0 "* ]] && whole "$shared/models/resnet18.onnx" cohort-tc0 DOTNET_TieredCompilation=0
    whole "$shared/models/resnet18.onnx" cohort
    peer
    model_only
  done
  # Tissue detection alone (nothing else running), against each slide's inference seconds in the last cohort run;
  # in the pipeline it overlaps the previous slide's inference, so run.json's stages.tissue there is contended wall time.
  say "cohort: tissue detection alone (median of 5) vs each slide's inference seconds in round 3"
  dotnet build -c Release bench/Histoscale.Bench -v q -nologo >/dev/null
  run bench/Histoscale.Bench/bin/Release/net10.0/Histoscale.Bench tissue "$cohort"/*.svs | tee "$data/cohort-tissue"
  $py - "$data/cohort-tissue" "$data/cohort-out/run.json" <<'PY'
import json, sys
inference = {s["name"]: s["inferenceSeconds"] for s in json.load(open(sys.argv[2]))["slides"]}
for line in open(sys.argv[1]):
    f = line.split()
    if f and f[0] == "tissue":
        wall = float(f[2].split("=")[1]); cpu = float(f[3].split("=")[1])
        print(f"  {f[1]}: detection {wall:.3f} s wall, {cpu:.3f} s CPU = {100 * wall / inference[f[1]]:.2f} % of its inference time ({inference[f[1]]} s) (target <= 1 %)")
PY
  echo "load after: $(cat /proc/loadavg)"
  $py - "$log" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l[:1] not in (" ", "")]
model = [float(r[1]) for r in rows if r[0] == "model"]
whole = [float(r[1]) for r in rows if r[0] == "cohort"]
tc0 = [float(r[1]) for r in rows if r[0] == "cohort-tc0"]
peer = [float(r[1]) for r in rows if r[0] == "peer"]
ratios = [w / ((model[i] + model[i + 1]) / 2) for i, w in enumerate(whole)]
print()
print("| round | model-only tiles/s (before, after) | whole-process tiles/s | ratio | Python peer tiles/s | FP32 pipeline / peer |")
print("|---|---|---|---|---|---|")
for i, w in enumerate(whole):
    p = peer[i] if i < len(peer) else None
    print(f"| {i + 1} | {model[i]:.1f}, {model[i + 1]:.1f} | {w:.1f} | {ratios[i]:.3f} | {p if p else 'n/a'} | {f'{w / p:.2f}' if p else 'n/a'} |")
print(f"\nwhole-process / model-only: median {statistics.median(ratios):.3f}, range {min(ratios):.3f}-{max(ratios):.3f} (target: median >= 0.95, worst >= 0.9)")
if tc0:
    r0 = [w / ((model[i] + model[i + 1]) / 2) for i, w in enumerate(tc0)]
    print(f"with DOTNET_TieredCompilation=0: {', '.join(f'{w:.1f}' for w in tc0)} tiles/s; ratio median {statistics.median(r0):.3f}, range {min(r0):.3f}-{max(r0):.3f}")
if peer:
    fp = [w / p for w, p in zip(whole, peer)]
    print(f"FP32 whole-process / Python peer: median {statistics.median(fp):.2f}, range {min(fp):.2f}-{max(fp):.2f}")
PY
  if [[ " ${*:2} " == *" int8 "* ]]; then
    calib=$data/calibration-seed7.svs
    [ -f "$calib" ] || run $H synth "$calib" --width 8000 --height 6000 --layout svs --quality 80 --tile 240 --seed 7
    rm -rf "$data/cohort-qrepo"
    if run $P quantize --model "$shared/models/resnet18.onnx" --calibrate "$calib" "${norm[@]}" --out "$data/cohort-qrepo/resnet18_int8.onnx"; then
      say "cohort INT8: whole-process infer of the 3 slides with resnet18 INT8, then the peer"
      whole "$data/cohort-qrepo/resnet18_int8.onnx" int8
      peer
      $py - "$log" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l[:1] not in (" ", "")]
int8 = [float(r[1]) for r in rows if r[0] == "int8"]
peer = [float(r[1]) for r in rows if r[0] == "peer"]
print(f"INT8 whole-process / Python peer (the peer run right after it): {int8[-1] / peer[-1]:.2f} ({int8[-1]:.1f} vs {peer[-1]:.1f} tiles/s)")
PY
      echo "load after INT8: $(cat /proc/loadavg)"
    else
      echo "quantize failed: no INT8 figures"
    fi
  fi
fi

# IO binding A/B on CPU (docs/gpu.md): the same model-only run with --io-binding off and on, interleaved round by
# round so drifting machine load hits both; the ratio is on/off per round and overall. GPU: not measured here.
if [[ $what == iobinding || $what == all ]]; then
  say "IO binding A/B on CPU: bench infer --io-binding off vs on, interleaved, 4 rounds per model"
  log=$data/iobinding.log; : > "$log"
  for m in resnet18 mobilenet_v3_large; do
    for round in 1 2 3 4; do
      for io in off on; do
        echo "load before $m $io: $(cut -d' ' -f1-3 /proc/loadavg)"
        out=$($H bench infer --model "$shared/models/$m.onnx" --batch 32 --instances "$(nproc)" --threads 1 --seconds 8 --warmup 2 --io-binding $io --json)
        echo "$out"
        echo "$m $io $(echo "$out" | $py -c 'import json,sys; print(json.load(sys.stdin)["tilesPerSecond"])')" >> "$log"
      done
    done
  done
  $py - "$log" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
for m in dict.fromkeys(r[0] for r in rows):
    off = [float(r[2]) for r in rows if r[0] == m and r[1] == "off"]
    on = [float(r[2]) for r in rows if r[0] == m and r[1] == "on"]
    ratios = [b / a for a, b in zip(off, on)]
    print(f"{m}: IO binding on/off per round {', '.join(f'{x:.3f}' for x in ratios)}; median {statistics.median(ratios):.3f} "
          f"(off {statistics.median(off):.1f}, on {statistics.median(on):.1f} tiles/s median)")
PY
fi
