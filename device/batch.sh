#!/usr/bin/env bash
# One device call, several steps; results under $OUT (at most 8 files come back: each step writes one log or tarball).
# Run from the repository root with the bundle of `pnpm device:pack` carried as .device/:
#
#   bash device/batch.sh 'STEP NAME [ARGS…]' 'STEP NAME [ARGS…]' …
#
# Steps (card-agnostic; every one writes $OUT/NAME.log or $OUT/NAME.tgz):
#   info NAME                          nvidia-smi, nvcc, torch, and what the bundle sees (attn sweep's backends)
#   sweep NAME [attn sweep flags…]     `attn sweep … --out /tmp/NAME` (results.json, report.md, charts) → NAME.tgz;
#                                      stopped with Ctrl-C after ATTN_STEP_SECONDS (default 540): what finished stays
#   sanitize NAME TOOLS VARIANT STAGE SHAPE… [-- attn run flags…]
#                                      compute-sanitizer (TOOLS: memcheck,racecheck,synccheck,initcheck) on
#                                      `attn run --backend cuda --variant VARIANT --stage STAGE` for every SHAPE
#                                      (BHxNQxNKxD, suffix c for causal: 2x129x1x128, 1x129x129x61c) on fresh inputs
#   profile NAME VARIANT STAGE SHAPE [ncu flags…] [-- attn run flags…]
#                                      Nsight Compute (--clock-control none) of one `attn run` → NAME.log
#                                      (e.g. `-- --dtype float16`)
#   sass NAME                          registers, spills and shared memory of every kernel in the addon (cuobjdump)
# Environment: ATTN_BUNDLE (default .device) picks the bundle, e.g. an older one packed for a same-run comparison;
# ATTN_STEP_SECONDS bounds each sweep. Exit status: non-zero when any step failed.
set -uo pipefail
out=${OUT:-./device-out}
mkdir -p "$out"
bundle=${ATTN_BUNDLE:-.device}
status=0
# A partial bundle (an older attn.mjs + addon packed for a same-run comparison) borrows node, the JS packages and the
# loader .debs of .device.
if [ "$bundle" != .device ]; then
  for part in bin node_modules debs; do [ -e "$bundle/$part" ] || ln -s "$PWD/.device/$part" "$bundle/$part"; done
fi

attn() { bash "$bundle/run.sh" "$@"; }

step_info() { # NAME
  local log="$out/$1.log"
  {
    nvidia-smi
    nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,clocks.mem,power.draw,power.limit,temperature.gpu --format=csv
    nvcc --version | tail -1
    python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0))'
    echo "bundle $(cat "$bundle/COMMIT" 2>/dev/null)"
    attn sweep --preset verify --n 1 --d 8 --causal no --pipelines lse --no-report --out /tmp/info-sweep
  } > "$log" 2>&1 || status=1
  tail -25 "$log"
}

step_sweep() { # NAME FLAGS…
  local name=$1
  shift
  timeout --signal=INT --kill-after=30 "${ATTN_STEP_SECONDS:-540}" bash "$bundle/run.sh" sweep "$@" --out "/tmp/$name" > "$out/$name.log" 2>&1
  local rc=$?
  cp "$out/$name.log" "/tmp/$name/sweep.log" 2>/dev/null
  tar czf "$out/$name.tgz" -C /tmp "$name" && rm -f "$out/$name.log"
  grep -v '^\[' "/tmp/$name/sweep.log" | tail -30
  [ $rc -ne 0 ] && status=1
  return 0
}

inputs() { # DIR BH NQ NK D SEED → q, k, v, dO .npy, N(0,1) float32
  python3 - "$@" <<'PY'
import sys, os, numpy as np
d, bh, nq, nk, hd, seed = sys.argv[1], *map(int, sys.argv[2:])
rng = np.random.default_rng(seed)
os.makedirs(d, exist_ok=True)
for name, n in (('q', nq), ('k', nk), ('v', nk), ('dO', nq)):
    np.save(os.path.join(d, name + '.npy'), rng.standard_normal((bh, n, hd), dtype=np.float32))
PY
}

# SHAPE → "BH NQ NK D CAUSAL-FLAG"
parse_shape() {
  local s=${1%c} causal=
  [ "$s" != "$1" ] && causal=--causal
  IFS=x read -r bh nq nk d <<< "$s"
  echo "$bh $nq $nk $d $causal"
}

run_args() { # DIR STAGE → attn run input flags
  local dir=$1 stage=$2
  echo "--q $dir/q.npy --k $dir/k.npy --v $dir/v.npy"
  [ "$stage" = bwd ] && echo "--do $dir/dO.npy"
}

# ARGS… [-- REST…] → the arrays `before` (ARGS) and `run_flags` (REST: flags for attn run)
split_run_flags() {
  before=() run_flags=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do before+=("$1"); shift; done
  if [ $# -gt 0 ]; then shift; run_flags=("$@"); fi
}

step_sanitize() { # NAME TOOLS VARIANT STAGE SHAPE… [-- attn run flags…]
  local name=$1 tools=$2 variant=$3 stage=$4 shape tool rc seed=29
  shift 4
  local before run_flags
  split_run_flags "$@"
  set -- "${before[@]}"
  local log="$out/$name.log"
  : > "$log"
  for shape in "$@"; do
    read -r bh nq nk d causal <<< "$(parse_shape "$shape")"
    local dir=/tmp/san-$shape
    inputs "$dir" "$bh" "$nq" "$nk" "$d" "$seed"
    for tool in ${tools//,/ }; do
      echo "== $tool $variant $stage $shape" >> "$log"
      # shellcheck disable=SC2046
      timeout "${ATTN_SANITIZE_SECONDS:-90}" compute-sanitizer --tool "$tool" --error-exitcode 9 --print-limit 20 \
        bash "$bundle/run.sh" run --backend cuda --variant "$variant" --stage "$stage" $causal $(run_args "$dir" "$stage") \
        "${run_flags[@]}" --out "$dir/out" >> "$log" 2>&1
      rc=$?
      echo "== exit $rc" >> "$log"
      [ $rc -ne 0 ] && status=1
    done
  done
  grep -E '^== ' "$log" | paste - - | sed 's/^== //'
}

step_profile() { # NAME VARIANT STAGE SHAPE [ncu flags…] [-- attn run flags…]
  local name=$1 variant=$2 stage=$3 shape=$4
  shift 4
  local before run_flags
  split_run_flags "$@"
  local ncu_flags=("${before[@]}")
  [ ${#ncu_flags[@]} -eq 0 ] && ncu_flags=(--section=SpeedOfLight)
  read -r bh nq nk d causal <<< "$(parse_shape "$shape")"
  local dir=/tmp/prof-$shape
  inputs "$dir" "$bh" "$nq" "$nk" "$d" 31
  # shellcheck disable=SC2046
  ncu --clock-control none --target-processes all "${ncu_flags[@]}" \
    bash "$bundle/run.sh" run --backend cuda --variant "$variant" --stage "$stage" $causal $(run_args "$dir" "$stage") \
    "${run_flags[@]}" --out "$dir/out" > "$out/$name.log" 2>&1 || status=1
  grep -E '^\s+(Duration|Compute \(SM\) Throughput|Memory Throughput|Registers Per Thread|Achieved Occupancy)|^  [a-z_]+.*\(' "$out/$name.log" | head -40
}

step_sass() { # NAME
  local addon="$bundle/attn_cuda.node"
  [ -f "$addon" ] || xz -dkc "$addon.xz" > "$addon"
  cuobjdump --dump-resource-usage "$addon" > "$out/$1.log" 2>&1 || status=1
  grep -E 'Function|REG' "$out/$1.log" | paste - - | sed -E 's/.*Function ([^ ]*).*REG:([0-9]+).*STACK:([0-9]+).*SHARED:([0-9]+).*/\2 regs \3 stack \4 smem  \1/' | sort -k5 | head -60
}

for spec in "$@"; do
  read -r -a words <<< "$spec"
  echo "######## ${words[*]}"
  if ! declare -F "step_${words[0]}" > /dev/null; then
    echo "batch.sh: no step '${words[0]}' (info, sweep, sanitize, profile, sass)"
    status=1
    continue
  fi
  "step_${words[0]}" "${words[@]:1}" || status=1
done
exit $status
