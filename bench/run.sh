#!/usr/bin/env bash
# End-to-end benchmarks with their peers measured in the same run (figures go to BENCHMARKS.md).
#   bash bench/run.sh [reader|decoders|infer|trivial|int8|imaging|coldstart|cohort [int8] [tc0]|ab REV|all]   (default: all)
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
if [[ $what != imaging && $what != ab && $what != cohort ]]; then
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
