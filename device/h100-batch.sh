#!/usr/bin/env bash
# One device call, several steps, results under $OUT (at most 8 files come back: each step writes one log or tarball).
#   bash device/h100-batch.sh STEP…     (from the repository root, with .device/ from `pnpm device:pack` carried)
# Steps:
#   info      nvidia-smi, nvcc, torch, the addon's view of the device
#   verify    correctness sweep (preset verify) of cuda and wgsl, naive and tiled, causal and not → verify.tgz
#   sanitize  compute-sanitizer memcheck/racecheck/synccheck over every tiled kernel (+ memcheck naive) on odd shapes
#   time      timing sweep on the issue 6/7 target shapes with torch SDPA peers → time.tgz
#   verify2, sanitize2, final, versions: the final batch of 2026-11-25 (new kernels; see each step)
#   profile   ncu sections for the tiled kernels at BH=16 N=4096 (ATTN_PROFILE_D, ATTN_PROFILE_CFGS)
#   v4        lse v3 + forward v4: verify, compute-sanitizer, timing, ncu
#   v3        the opt-in CUDA forward v3: verify, compute-sanitizer on both copy paths, timing (next session)
#   defaults  the committed kernel defaults (no switches), tiled only, on the issue 6/7 shapes
#   time_v2   the same shapes, CUDA tiled forward with the opt-in tensor-core kernel (ATTN_CUDA_TILED_KERNEL=2)
# Extra sweep flags for verify/time come from ATTN_SWEEP_FLAGS.
set -uo pipefail
out=${OUT:-./device-out}
mkdir -p "$out"
dev=.device
status=0

step_info() {
  nvidia-smi || true
  nvcc --version | tail -1 || true
  python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0))' || true
  bash $dev/run.sh --help >/dev/null && echo "bundle runs"
}

sweep_to() { # name, sweep args…  (stopped with SIGINT after ATTN_STEP_SECONDS: the sweep then writes what finished)
  local name=$1; shift
  timeout --signal=INT --kill-after=30 "${ATTN_STEP_SECONDS:-400}" \
    bash $dev/run.sh sweep "$@" ${ATTN_SWEEP_FLAGS:-} --out "/tmp/$name" 2>&1 | tee "$out/$name.log" | grep -v '^\[' | tail -40
  local rc=${PIPESTATUS[0]}
  tar czf "$out/$name.tgz" -C /tmp "$name" 2>/dev/null
  return "$rc"
}

step_verify() {
  sweep_to verify --preset verify --backends cuda,wgsl
}

inputs() { # dir bh nq nk d seed → q,k,v,dO .npy
  python3 - "$@" <<'PY'
import sys, os, numpy as np
d, bh, nq, nk, hd, seed = sys.argv[1], *map(int, sys.argv[2:])
rng = np.random.default_rng(seed)
os.makedirs(d, exist_ok=True)
for name, n in (('q', nq), ('k', nk), ('v', nk), ('dO', nq)):
    np.save(os.path.join(d, name + '.npy'), rng.standard_normal((bh, n, hd), dtype=np.float32))
PY
}

# sanitized LOG SECONDS TITLE TOOL VARIANT STAGE DIR OUTDIR [run flags…]: one `attn run --backend cuda` on DIR's
# inputs under compute-sanitizer (SECONDS 0: no limit), logged between "== TITLE" and "== exit RC"; a non-zero exit
# marks the batch failed. Kernel switches come from the caller's environment.
sanitized() {
  local log=$1 seconds=$2 title=$3 tool=$4 variant=$5 stage=$6 dir=$7 outdir=$8 rc
  shift 8
  local grad=()
  [ "$stage" = bwd ] && grad=(--do "$dir/dO.npy")
  echo "== $title" >> "$log"
  timeout "$seconds" compute-sanitizer --tool "$tool" --error-exitcode 9 --print-limit 20 \
    bash $dev/run.sh run --backend cuda --variant "$variant" --stage "$stage" "$@" \
    --q "$dir/q.npy" --k "$dir/k.npy" --v "$dir/v.npy" "${grad[@]}" --out "$outdir" >> "$log" 2>&1
  rc=$?
  echo "== exit $rc" >> "$log"
  [ $rc -ne 0 ] && status=1
  return 0
}

# sanitize_shapes LOG SEED STAGE "TOOLS" LABEL "BH NQ NK D [--causal]"…: `sanitized` (40 s each) for every tool on
# fresh inputs of every shape, appended to LOG; kernel switches come from the caller's environment.
sanitize_shapes() {
  local log=$1 seed=$2 stage=$3 tools=$4 label=$5 shape tool
  shift 5
  for shape in "$@"; do
    set -- $shape
    local dir=/tmp/san-$seed-$1-$2-$3-$4
    inputs "$dir" "$1" "$2" "$3" "$4" "$seed"
    for tool in $tools; do
      sanitized "$log" 40 "$tool tiled $label bh=$1 nq=$2 nk=$3 d=$4 ${5:-}" "$tool" tiled "$stage" "$dir" "$dir/out" ${5:-}
    done
  done
}

step_sanitize() {
  local log="$out/sanitize.log" shape tool variant causal
  : > "$log"
  # bh nq nk d causal
  for shape in "2 17 129 40 --causal" "1 129 17 256 --causal" "3 77 131 100 " "1 1 33 16 --causal" "2 130 70 64 " "1 65 200 128 --causal"; do
    set -- $shape
    local dir=/tmp/san-$1-$2-$3-$4
    inputs "$dir" "$1" "$2" "$3" "$4" 7
    causal=${5:-}
    for variant in tiled naive; do
      for tool in memcheck racecheck synccheck; do
        [ "$variant" = naive ] && [ "$tool" != memcheck ] && continue
        sanitized "$log" 0 "$tool $variant bh=$1 nq=$2 nk=$3 d=$4 $causal" "$tool" "$variant" bwd "$dir" "$dir/out-$variant" $causal
      done
    done
    if [ "$4" = 64 ] || [ "$4" = 128 ]; then
      for tool in memcheck racecheck; do
        ATTN_CUDA_TILED_KERNEL=2 sanitized "$log" 0 "$tool tiled forward v2 (ATTN_CUDA_TILED_KERNEL=2) bh=$1 nq=$2 nk=$3 d=$4 $causal" \
          "$tool" tiled fwd "$dir" "$dir/out-v2" $causal
      done
    fi
  done
  grep -E '^== |ERROR SUMMARY|RACECHECK SUMMARY|attn:' "$log" | paste - - - 2>/dev/null | tail -40 || true
  grep -c '== exit 0' "$log" | sed 's/^/sanitizer runs clean: /'
  grep -c '== exit [1-9]' "$log" | sed 's/^/sanitizer runs failing: /'
}

step_time() {
  sweep_to time --preset gpu --backends cuda,wgsl --n 1024,4096,16384 --d 64,128 --causal both --bh 16 --peers torch
}

step_time_v2() { # the tensor-core forward (opt-in ATTN_CUDA_TILED_KERNEL=2) on the same shapes, forward only
  ATTN_CUDA_TILED_KERNEL=2 sweep_to time-v2 --preset gpu --backends cuda --variants tiled --pipelines fwd \
    --n 1024,4096,16384 --d 64,128 --causal both --bh 16
}

# ---- the final batch of 2026-11-25: new kernels (CUDA tiled v2 on tensor cores, WGSL tiled kernel 2) -----------
step_verify2() { # correctness of the new tiled kernels over the verify shapes
  ATTN_CUDA_TILED_KERNEL=2 ATTN_STEP_SECONDS=${ATTN_STEP_SECONDS:-100} \
    sweep_to verify2 --preset verify --backends cuda,wgsl --variants tiled --sample-rows 16
}

step_sanitize2() { # compute-sanitizer over the CUDA v2 kernels (all stages) on odd shapes
  local log="$out/sanitize2.log"
  : > "$log"
  ATTN_CUDA_TILED_KERNEL=2 sanitize_shapes "$log" 11 bwd "memcheck racecheck" v2 "2 130 70 64 --causal" "1 65 200 128 " "3 77 131 100 --causal"
  grep -E '^== ' "$log" | paste - - | tail -20
}

step_final() { # the report's sweep: new kernels, naive baselines, torch peers, issue 6/7 shapes
  ATTN_CUDA_TILED_KERNEL=2 ATTN_STEP_SECONDS=${ATTN_STEP_SECONDS:-270} \
    sweep_to final --preset gpu --backends cuda,wgsl --n 1024,2048,4096,8192,16384 --d 64,128 --causal both --bh 16 \
    --peers torch --min-samples 5 --time-budget 150 --sample-rows 8
}

step_versions() { # earlier and alternative kernel versions, tiled only, same card and run as `final`
  local cfg name
  for cfg in "ATTN_CUDA_TILED_KERNEL=1|cuda|4096,16384" "ATTN_WGSL_KERNEL=1|wgsl|4096" "ATTN_WGSL_ROWS=8|wgsl|4096,16384" "ATTN_WGSL_TILE_SIDE=8|wgsl|4096,16384"; do
    IFS='|' read -r env backend ns <<< "$cfg"
    name=v-$(echo "$env" | tr 'A-Z=' 'a-z-')
    ( export $env ATTN_STEP_SECONDS=25; sweep_to "$name" --preset gpu --backends "$backend" --variants tiled --pipelines fwd,bwd \
        --n "$ns" --d 64,128 --causal no --bh 16 --min-samples 5 --time-budget 100 --sample-rows 4 --no-report >/dev/null ) || status=1
    grep -h -E '^[0-9]+ records' "$out/$name.log" | sed "s/^/$name: /"
    rm -f "$out/$name.tgz"
  done
  tar czf "$out/versions.tgz" -C /tmp $(cd /tmp && ls -d v-* 2>/dev/null)
  cat "$out"/v-*.log > "$out/versions.log" 2>/dev/null; rm -f "$out"/v-*.log
}

step_defaults() { # the committed defaults as they are (no kernel switch set), tiled only, issue 6/7 shapes
  ATTN_STEP_SECONDS=${ATTN_STEP_SECONDS:-140} sweep_to defaults --preset gpu --backends cuda,wgsl --variants tiled \
    --n 1024,4096,16384 --d 64,128 --causal both --bh 16 --min-samples 5 --time-budget 100 --sample-rows 4
}

step_v3() { # the opt-in CUDA forward v3 (not yet measured): verification, sanitizer on both copy paths, timing
  ATTN_CUDA_TILED_FWD=3 ATTN_STEP_SECONDS=${ATTN_STEP_SECONDS:-120} \
    sweep_to verify-v3 --preset verify --backends cuda --variants tiled --pipelines fwd --sample-rows 16
  local log="$out/sanitize-v3.log"
  : > "$log"
  ATTN_CUDA_TILED_FWD=3 sanitize_shapes "$log" 13 fwd "memcheck racecheck" "forward v3" "1 129 129 61 --causal" "2 130 300 64 " "1 65 200 128 --causal"
  grep -E '^== ' "$log" | paste - - | tail -20
  ATTN_CUDA_TILED_FWD=3 ATTN_STEP_SECONDS=${ATTN_STEP_SECONDS:-120} \
    sweep_to time-v3 --preset gpu --backends cuda --variants tiled --pipelines fwd --n 4096,16384 --d 64,128 \
    --causal both --bh 16 --min-samples 5 --time-budget 100 --sample-rows 4
}

step_profile() { # ncu on the tiled kernels at BH=16 N=4096 d=64 (and d=128): what limits each version
  local log="$out/profile.log" dir=/tmp/prof d cfg env
  : > "$log"
  for d in ${ATTN_PROFILE_D:-64}; do
    inputs "$dir-$d" 16 4096 4096 "$d" 21
    for cfg in ${ATTN_PROFILE_CFGS:-"ATTN_CUDA_TILED_KERNEL=1|bwd" "ATTN_CUDA_TILED_KERNEL=2|bwd" "ATTN_CUDA_TILED_FWD=3|fwd"}; do
      IFS='|' read -r env stage <<< "$cfg"
      local grad=()
      [ "$stage" = bwd ] && grad=(--do "$dir-$d/dO.npy")
      echo "== $env $stage d=$d" >> "$log"
      ( export $env; timeout 150 ncu -k 'regex:tiled_kernel' --launch-count 6 --section SpeedOfLight --section Occupancy \
          --section LaunchStats --section WarpStateStats --section SchedulerStats --section ComputeWorkloadAnalysis \
          --section MemoryWorkloadAnalysis --metrics smsp__inst_executed_pipe_fp32.sum,smsp__inst_executed.sum,sm__inst_executed_pipe_tensor_op_hmma.sum,smsp__sass_inst_executed_op_shared_ld.sum,l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum \
          bash $dev/run.sh run --backend cuda --variant tiled --stage "$stage" --q "$dir-$d/q.npy" --k "$dir-$d/k.npy" \
          --v "$dir-$d/v.npy" "${grad[@]}" --out "$dir-$d/out" ) >> "$log" 2>&1
      echo "== exit $?" >> "$log"
    done
  done
  grep -E '^== |^  [a-z_]+tiled_kernel|Duration|Compute \(SM\) Throughput|Memory Throughput|Registers Per|Achieved Occupancy|Theoretical Occupancy|Issued Ipc|No Eligible|Warp Cycles Per Issued|inst_executed_pipe_tensor|bank_conflicts' "$log" | head -150
}

step_v4() { # lse v3 + forward v4 (pre-split fragment-order operands): verify, sanitizer, timing, ncu
  export ATTN_CUDA_TILED_LSE=3 ATTN_CUDA_TILED_FWD=4
  ATTN_STEP_SECONDS=${ATTN_STEP_SECONDS:-100} \
    sweep_to verify-v4 --preset verify --backends cuda --variants tiled --pipelines fwd --sample-rows 16
  local log="$out/sanitize-v4.log"
  : > "$log"
  sanitize_shapes "$log" 17 fwd "memcheck racecheck synccheck" "lse v3 + forward v4" "1 129 129 61 --causal" "2 130 300 64 " \
    "1 65 200 128 --causal" "2 17 129 100 "
  grep -E '^== ' "$log" | paste - - | tail -20
  ATTN_STEP_SECONDS=${ATTN_STEP_SECONDS:-100} \
    sweep_to time-v4 --preset gpu --backends cuda --variants tiled --pipelines fwd --n 4096,16384 --d 64,128 \
    --causal both --bh 16 --min-samples 5 --time-budget 100 --sample-rows 4
  ATTN_PROFILE_D="64 128" ATTN_PROFILE_CFGS="ATTN_CUDA_TILED_FWD=4|fwd" step_profile
  unset ATTN_CUDA_TILED_LSE ATTN_CUDA_TILED_FWD
}

step_tune() { # lse v3 + forward v4 in both tile shapes (ATTN_CUDA_TILED_CFG=0|1): correctness of 1, timing of both
  export ATTN_CUDA_TILED_LSE=3 ATTN_CUDA_TILED_FWD=4
  ATTN_CUDA_TILED_CFG=1 ATTN_STEP_SECONDS=60 \
    sweep_to verify-cfg1 --preset verify --backends cuda --variants tiled --pipelines fwd --sample-rows 8 --no-report
  local cfg
  for cfg in 0 1; do
    ATTN_CUDA_TILED_CFG=$cfg ATTN_STEP_SECONDS=70 \
      sweep_to tune-cfg$cfg --preset gpu --backends cuda --variants tiled --pipelines fwd --n 4096,16384 --d 64,128 \
      --causal no --bh 16 --min-samples 5 --time-budget 100 --sample-rows 4 --no-report
  done
  unset ATTN_CUDA_TILED_LSE ATTN_CUDA_TILED_FWD
}

step_sass() { # the SASS of the newest tiled kernels (HMMA, LDS width, spills) and the WebGPU adapter's features
  export PATH=$PATH:/usr/local/cuda/bin
  xz -dc $dev/attn_cuda.node.xz > /tmp/addon.node
  cuobjdump -sass /tmp/addon.node > /tmp/addon.sass 2>&1 || true
  python3 - /tmp/addon.sass "$out/sass-newest.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
funcs = re.split(r'(?=\n\s+Function : )', text)
keep = [f for f in funcs if re.search(r'Function : \S*(forward_tiled_kernel4|lse_tiled_kernel3|backward_\w+kernel3)', f)]
open(sys.argv[2], 'w').write(''.join(keep))
for f in keep:
    name = re.search(r'Function : (\S+)', f).group(1)
    ops = re.findall(r'/\*[0-9a-f]{4,}\*/\s+(?:@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]+)', f)
    from collections import Counter
    c = Counter(o.split('.')[0] for o in ops)
    print(name[:60], len(ops), 'instrs;', ' '.join(f'{k}:{v}' for k, v in c.most_common(14)))
PY
  bash $dev/run.sh --help > /dev/null 2>&1
  VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json} \
    __EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json} \
    $dev/bin/node device/adapter-features.mjs 2>&1 | tee "$out/adapter-features.txt" | cut -c1-400
}

step_tune2() { # lse v3 + forward v4: shape 0 (1 m-tile per warp) vs shape 1 (2 m-tiles per warp)
  export ATTN_CUDA_TILED_LSE=3 ATTN_CUDA_TILED_FWD=4
  ATTN_CUDA_TILED_CFG=1 ATTN_STEP_SECONDS=50 \
    sweep_to verify-mt2 --preset verify --backends cuda --variants tiled --pipelines fwd --sample-rows 8 --no-report
  local cfg
  for cfg in 0 1; do
    ATTN_CUDA_TILED_CFG=$cfg ATTN_STEP_SECONDS=60 \
      sweep_to tune2-cfg$cfg --preset gpu --backends cuda --variants tiled --pipelines fwd --n 4096,16384 --d 64,128 \
      --causal no --bh 16 --min-samples 5 --time-budget 100 --sample-rows 4 --no-report
  done
  unset ATTN_CUDA_TILED_LSE ATTN_CUDA_TILED_FWD
  for cfg in 0 1; do
    python3 -c "
import json
for x in json.load(open('/tmp/tune2-cfg$cfg/results.json'))['records']:
  print('cfg$cfg', x['nq'], x['d'], x['stage'], x['status'], round(x['timing']['medianMs'], 3) if x.get('timing') else None)"
  done
}

step_bwd3() { # backward v3 (opt-in): verification, sanitizers, timing next to v1 (the default), ncu
  ATTN_CUDA_TILED_BWD=3 ATTN_STEP_SECONDS=90 \
    sweep_to verify-bwd3 --preset verify --backends cuda --variants tiled --pipelines bwd --sample-rows 16 --no-report
  local log="$out/sanitize-bwd3.log"
  : > "$log"
  ATTN_CUDA_TILED_BWD=3 sanitize_shapes "$log" 19 bwd "memcheck racecheck synccheck" "backward v3" "1 129 129 61 --causal" \
    "2 130 300 64 " "1 65 200 128 --causal" "2 17 129 100 " "1 300 77 64 --causal"
  grep -E '^== ' "$log" | paste - - | tail -20
  local v
  for v in 1 3; do
    ATTN_CUDA_TILED_BWD=$v ATTN_STEP_SECONDS=70 \
      sweep_to time-bwd$v --preset gpu --backends cuda --variants tiled --pipelines bwd --n 4096,16384 --d 64,128 \
      --causal no --bh 16 --min-samples 5 --time-budget 100 --sample-rows 4 --no-report
    python3 -c "
import json
for x in json.load(open('/tmp/time-bwd$v/results.json'))['records']:
  e = x.get('error') or {}
  print('bwd v$v', x['nq'], x['d'], x['stage'], x['status'], round(x['timing']['medianMs'], 3) if x.get('timing') else None, {k: round(v['relL2'], 9) for k, v in e.items()})"
  done
  ATTN_PROFILE_D="64 128" ATTN_PROFILE_CFGS="ATTN_CUDA_TILED_BWD=3|bwd" step_profile > /dev/null
  grep -E '^== |^  [a-z_ ]*void|Duration|Issued Ipc|Registers Per|Achieved Occupancy|inst_executed.sum|hmma.sum' "$out/profile.log" | grep -v delta | head -80
}

# ---- session 2 (2026-11-25, afternoon): defaults lse 3 + forward 4 + backward 3 --------------------------------
step_check2() { # the committed defaults: verification of every tiled stage over the verify shapes, sanitizers
  ATTN_STEP_SECONDS=${ATTN_STEP_SECONDS:-150} \
    sweep_to verify3 --preset verify --backends cuda --variants tiled --sample-rows 16
  local log="$out/sanitize3.log"
  : > "$log"
  sanitize_shapes "$log" 23 bwd "memcheck racecheck synccheck" defaults "2 129 1 128 " "1 129 129 61 --causal" "2 130 300 64 " \
    "1 65 200 128 --causal" "2 17 129 100 " "1 300 77 64 --causal"
  grep -E '^== ' "$log" | paste - - | tail -20
  grep -c '== exit 0' "$log" | sed 's/^/sanitizer runs clean: /'
  grep -c '== exit [1-9]' "$log" | sed 's/^/sanitizer runs failing: /'
}

step_final2() { # the report's sweep: defaults, naive baselines, WGSL, torch peers, issue 6/7 shapes
  ATTN_STEP_SECONDS=${ATTN_STEP_SECONDS:-480} \
    sweep_to final2 --preset gpu --backends cuda,wgsl --n 1024,2048,4096,8192,16384 --d 64,128 --causal both --bh 16 \
    --peers torch --min-samples 5 --time-budget 120 --sample-rows 8
}

step_final3() { # short score chains (the new default): verify, memcheck, the report's sweep, the long-chain variant timed
  ATTN_STEP_SECONDS=80 sweep_to verify4 --preset verify --backends cuda --variants tiled --sample-rows 16 --no-report
  local log="$out/sanitize4.log"
  : > "$log"
  sanitize_shapes "$log" 29 bwd memcheck defaults "2 129 1 128 " "1 129 129 61 --causal" "2 130 300 64 "
  grep -E '^== ' "$log" | paste - - | tail -5
  ATTN_STEP_SECONDS=${ATTN_STEP_SECONDS:-400} \
    sweep_to final3 --preset gpu --backends cuda,wgsl --n 1024,2048,4096,8192,16384 --d 64,128 --causal both --bh 16 \
    --peers torch --min-samples 5 --time-budget 120 --sample-rows 8
  ATTN_CUDA_TILED_SCORES=long ATTN_STEP_SECONDS=50 \
    sweep_to long-chains --preset gpu --backends cuda --variants tiled --n 4096,16384 --d 64,128 --causal no --bh 16 \
    --min-samples 5 --time-budget 100 --sample-rows 4 --no-report
}

# ---- session 3 (2026-11-25, evening): WGSL tiled kernels (issue 7) ------------------------------------------------
wgsl_configs() { # dir-prefix, shapes (--n …), then "ENV…|label" configs: tiled WGSL fwd+bwd under each, one tarball
  local prefix=$1 ns=$2 ds=$3; shift 3
  local cfg env label
  for cfg in "$@"; do
    IFS='|' read -r env label <<< "$cfg"
    ( export $env ATTN_STEP_SECONDS=${ATTN_CFG_SECONDS:-45}; sweep_to "$prefix-$label" --preset gpu --backends "${ATTN_CFG_BACKENDS:-wgsl}" --variants tiled \
        --pipelines "${ATTN_CFG_PIPELINES:-fwd,bwd}" --n "$ns" --d "$ds" --causal no --bh 16 --min-samples "${ATTN_CFG_SAMPLES:-5}" \
        --time-budget 300 --sample-rows 4 --no-report >/dev/null ) || status=1
    grep -h -E '^[0-9]+ records' "$out/$prefix-$label.log" | sed "s/^/$label: /"
    rm -f "$out/$prefix-$label.tgz"
  done
  tar czf "$out/$prefix.tgz" -C /tmp $(cd /tmp && ls -d "$prefix"-* 2>/dev/null)
  cat "$out/$prefix"-*.log > "$out/$prefix.log" 2>/dev/null; rm -f "$out/$prefix"-*.log
}

step_wgsl3() { # WGSL kernel 3 (register loops unrolled in the source): verify; kernels 2 vs 3, rows, robustness off
  ATTN_WGSL_KERNEL=3 ATTN_STEP_SECONDS=90 sweep_to verify-wgsl3 --preset verify --backends wgsl --variants tiled \
    --sample-rows 16 --no-report | tail -3
  wgsl_configs k3 1024,4096 64,128 "ATTN_WGSL_KERNEL=2|k2" "ATTN_WGSL_KERNEL=3|k3" "ATTN_WGSL_KERNEL=3 ATTN_WGSL_ROWS=4|k3-rows4" \
    "ATTN_WGSL_KERNEL=2 ATTN_DAWN_OPTIONS=enable-dawn-features=allow_unsafe_apis,disable_robustness|k2-norobust" \
    "ATTN_WGSL_KERNEL=3 ATTN_DAWN_OPTIONS=enable-dawn-features=allow_unsafe_apis,disable_robustness|k3-norobust"
}

step_wgsl4() { # WGSL kernel 4 lse + forward (vec4 chunks fetched ahead): verify; kernels 3 vs 4, robustness on/off
  ATTN_WGSL_KERNEL=4 ATTN_STEP_SECONDS=60 sweep_to verify-wgsl4 --preset verify --backends wgsl --variants tiled \
    --pipelines fwd --sample-rows 16 --no-report | tail -3
  local off=ATTN_WGSL_ROBUSTNESS=off
  ATTN_CFG_PIPELINES=fwd ATTN_CFG_SAMPLES=15 wgsl_configs k4 1024,4096 64,128 "ATTN_WGSL_KERNEL=3|k3" "ATTN_WGSL_KERNEL=4|k4" \
    "ATTN_WGSL_KERNEL=4 ATTN_WGSL_ROWS=4|k4-rows4" "ATTN_WGSL_KERNEL=3 $off|k3-off" "ATTN_WGSL_KERNEL=4 $off|k4-off"
}

step_wgsl5() { # WGSL kernel 4 in all stages: verify; kernels 3 vs 4 (robustness on/off, rows), CUDA in the same process
  ATTN_WGSL_KERNEL=4 ATTN_STEP_SECONDS=90 sweep_to verify-wgsl5 --preset verify --backends wgsl --variants tiled \
    --sample-rows 16 --no-report | tail -3
  local off=ATTN_WGSL_ROBUSTNESS=off
  ATTN_CFG_BACKENDS=cuda,wgsl ATTN_CFG_SAMPLES=15 ATTN_CFG_SECONDS=70 wgsl_configs k5 1024,4096 64,128 "ATTN_WGSL_KERNEL=3|k3" \
    "ATTN_WGSL_KERNEL=4|k4" "ATTN_WGSL_KERNEL=4 $off|k4-off" "ATTN_WGSL_KERNEL=4 ATTN_WGSL_ROWS=4|k4-rows4"
}

step_wgsl6() { # WGSL kernel 4 tile shapes: 8 keys per invocation, 128-invocation workgroups, robustness off (CUDA in process)
  local off=ATTN_WGSL_ROBUSTNESS=off k4=ATTN_WGSL_KERNEL=4
  ATTN_WGSL_COLS=8 ATTN_WGSL_KERNEL=4 ATTN_STEP_SECONDS=60 sweep_to verify-wgsl6 --preset verify --backends wgsl --variants tiled \
    --sample-rows 16 --no-report | tail -2
  ATTN_CFG_BACKENDS=cuda,wgsl ATTN_CFG_SAMPLES=15 ATTN_CFG_SECONDS=60 wgsl_configs k6 1024,4096 64,128 "$k4|k4" \
    "$k4 ATTN_WGSL_COLS=8|k4-cols8" "$k4 ATTN_WGSL_THREADS=128|k4-t128" "$k4 ATTN_WGSL_THREADS=64|k4-t64" \
    "$k4 ATTN_WGSL_COLS=8 ATTN_WGSL_ROWS=4|k4-cols8-rows4" "$k4 ATTN_WGSL_COLS=8 $off|k4-cols8-off" "$k4 $off|k4-off"
}

step_wgsl7() { # WGSL kernel 5 (GEMM loops unrolled in the source, mask-free interior tiles, lse 8 keys per invocation)
  local off=ATTN_WGSL_ROBUSTNESS=off
  ATTN_WGSL_KERNEL=5 ATTN_STEP_SECONDS=80 sweep_to verify-wgsl7 --preset verify --backends wgsl --variants tiled \
    --sample-rows 16 --no-report | tail -2
  ATTN_CFG_BACKENDS=cuda,wgsl ATTN_CFG_SAMPLES=15 ATTN_CFG_SECONDS=60 wgsl_configs k7 1024,4096 64,128 "ATTN_WGSL_KERNEL=4|k4" \
    "ATTN_WGSL_KERNEL=5|k5" "ATTN_WGSL_KERNEL=5 $off|k5-off" "ATTN_WGSL_KERNEL=5 ATTN_WGSL_UNROLL=0|k5-rolled"
}

step_final4() { # the report's sweep with WGSL kernel 5 the default (verified in wgsl7), and WGSL without Dawn's clamps
  ATTN_STEP_SECONDS=${ATTN_STEP_SECONDS:-420} \
    sweep_to final4 --preset gpu --backends cuda,wgsl --n 1024,4096,16384 --d 64,128 --causal both --bh 16 \
    --peers torch --min-samples 5 --time-budget 120 --sample-rows 8
  ATTN_WGSL_ROBUSTNESS=off ATTN_STEP_SECONDS=100 \
    sweep_to final4-unchecked --preset gpu --backends cuda,wgsl --variants tiled --n 1024,4096,16384 --d 64,128 --causal no \
    --bh 16 --min-samples 5 --time-budget 100 --sample-rows 4 --no-report
}

step_wgsl8() { # run 6: kernel 5 with its fetch code folded into tiles4.wgsl (commit c87bfab; 10-17 % slower, reverted)
  ATTN_STEP_SECONDS=50 sweep_to verify-wgsl8 --preset verify --backends wgsl --variants tiled --sample-rows 16 --no-report | tail -2
  ATTN_CFG_BACKENDS=cuda,wgsl ATTN_CFG_SAMPLES=10 ATTN_CFG_SECONDS=50 wgsl_configs k8 1024,4096 64,128 "ATTN_WGSL_KERNEL=5|k5"
}

[ $# -gt 0 ] || set -- info verify sanitize
for step in "$@"; do
  echo "######## $step"
  "step_$step" || status=1
done
exit $status
