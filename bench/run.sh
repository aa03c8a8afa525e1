#!/usr/bin/env bash
# End-to-end benchmarks with their peers measured in the same run (figures go to BENCHMARKS.md).
#   bash bench/run.sh [reader|decoders|infer|trivial|int8|imaging|coldstart|serve|ab REV|all]   (default: all)
# Raw output goes to bench/results/YYYY-MM-DD-SECTION.txt as well as the terminal; commit it with the table it feeds.
# Needs: a python3 with the peer packages (see ../shared/README.md; the first on PATH that imports openslide, else
# /usr/bin/python3), ../shared next to the repo.
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
for c in $(type -ap python3) /usr/bin/python3; do "$c" -c 'import openslide' 2>/dev/null && { py=$c; break; }; done
[ -n "$py" ] || { echo "no python3 with openslide (apt-get install python3-openslide ...): the peers cannot run" >&2; exit 1; }
say() { echo; echo "### $*"; echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"; }
run() { echo "\$ $*"; "$@"; }

big=$data/synth-40000x32000.svs        # ≥ 1 GP, JPEG Q80, 240 px tiles, Aperio layout
mid=$data/synth-20000x16000.svs
if [[ $what != imaging && $what != ab && $what != serve ]]; then
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
  say "JPEG decoder candidates on real tiles (1 thread, then 2)"
  dotnet build -c Release bench/Histoscale.Bench -v q -nologo >/dev/null
  for t in 1 2; do run bench/Histoscale.Bench/bin/Release/net10.0/Histoscale.Bench jpeg "$big" $t 3000; done
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

if [[ $what == serve || $what == all ]]; then
  # histoscale serve against the same model in process, same cores, same instance layout, interleaved rounds:
  #   in-process  bench infer --batch 32 --instances N --threads 1 (model only; peak RSS of that process)
  #   gRPC c8     batch-32 requests at concurrency 8 (each request fills a batch)
  #   gRPC b4 c16 batch-4 requests at concurrency 16 through dynamic batching (max_queue_delay 5 ms)
  # then the CPU layout of issue 9 §4 (no instance_group: one instance with every core) and the ORT arena settings.
  # The client (bench serve) runs on the same cores; the server's peak RSS is its VmHWM.
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
  serve_run() { # LABEL REPO BATCH CONCURRENCY SECONDS [serve flags...]
    local label=$1 repo=$2 b=$3 c=$4 s=$5; shift 5
    $H serve --model-repository "$repo" --host 127.0.0.1 --http-port 18100 --grpc-port 18101 --metrics-port 18102 "$@" > "$data/serve.log" 2>&1 &
    local pid=$! i
    for i in $(seq 1 240); do grep -q "ready" "$data/serve.log" && break; sleep 0.5; done
    local line; line=$($H bench serve --server grpc://127.0.0.1:18101 --model $m --batch "$b" --concurrency "$c" --seconds "$s" | tail -1)
    local hwm; hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    echo "$label: $(echo "$line" | awk -F, '{printf "%s inferences/s, p50 %.0f ms, p99 %.0f ms, server input %s us/request", $2, $10/1000, $13/1000, $6}'), server peak RSS $((hwm / 1024)) MB"
  }
  inproc_run() { # LABEL INSTANCES THREADS
    local line; line=$(/usr/bin/time -f "%M" -o "$data/inproc-rss" $H bench infer --model "$shared/models/$m.onnx" --batch 32 --seconds "$secs" --instances "$2" --threads "$3")
    echo "$1: $(echo "$line" | grep -o '[0-9.]* tiles/s') ($line), peak RSS $(( $(cat "$data/inproc-rss") / 1024 )) MB"
  }
  say "serve: $m, in-process vs gRPC (batch 32 c8; batch 4 c16 dynamic batching), $(nproc) x 1-thread instances, 3 rounds"
  for round in $rounds; do
    echo "-- round $round"
    inproc_run "in-process $(nproc)x1" "$(nproc)" 1
    serve_run "gRPC batch 32 c8" "$data/serve-layout" 32 8 "$secs"
    serve_run "gRPC batch 4 c16" "$data/serve-layout" 4 16 "$secs"
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
