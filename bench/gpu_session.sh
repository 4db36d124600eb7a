#!/usr/bin/env bash
# One GPU session in at most 9 minutes: CUDA tests, network latency on CUDA, then training from the
# committed checkpoints for the remaining minutes; checkpoints + metrics into $OUT.
#
# 1. Here, before asking for the machine (once; writes the git-ignored .gpu_carry/, ~25 MiB):
#      echo /.gpu_carry/ >> .git/info/exclude
#      .venv/bin/python bench/gpu_session_tools.py pack --out .gpu_carry      # KITTI 00/02/06 at 384 px
#      .venv/bin/python -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#          --implementation cp --platform manylinux_2_17_x86_64 -d .gpu_carry/whl kornia==0.9.0 kornia-rs==0.2.0
# 2. The device tool: run(command="bash bench/gpu_session.sh", carry=[".gpu_carry"], timeout_s=600)
#    ($OUT is the tool's output folder; at most 8 files come back, so the runs are packed as .tgz).
# 3. CPU check of every stage for a few seconds (no GPU needed; what was run in the session that wrote it):
#      OUT=runs/gpu_dry bash bench/gpu_session.sh --dry-run
#
# Environment: OUT (required unless --dry-run: default runs/gpu_dry), BUDGET_S (default 540 s from the
# script's start), PY (default python3, or .venv/bin/python for --dry-run when present).
set -u -o pipefail
START=$(date +%s)
DRY=0
[ "${1:-}" = "--dry-run" ] && DRY=1
if [ $DRY = 1 ]; then
    OUT=${OUT:-runs/gpu_dry}
    BUDGET_S=${BUDGET_S:-900}   # a shared 2-core CPU needs minutes for what the GPU machine does in seconds
    PY=${PY:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
    DEVICE=cpu
else
    : "${OUT:?OUT must name the output folder (the device tool sets it)}"
    BUDGET_S=${BUDGET_S:-540}
    PY=${PY:-python3}
    DEVICE=cuda
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=${WORK:-$(mktemp -d)}
LOG="$OUT/session.log"
export PYTHONUNBUFFERED=1
elapsed() { echo $(( $(date +%s) - START )); }
left() { echo $(( BUDGET_S - $(elapsed) )); }
say() { echo "[gpu_session +$(elapsed)s] $*" | tee -a "$LOG"; }
STAGES="$OUT/session.json"
echo "{" > "$STAGES"
stage_done() { echo "  \"$1\": {\"rc\": $2, \"end_s\": $(elapsed)}," >> "$STAGES"; }

say "start: dry_run=$DRY device=$DEVICE budget=${BUDGET_S}s out=$OUT work=$WORK"

# --- 0. packages the device image lacks (kornia), from the carried wheels
if [ $DRY = 0 ] && ls .gpu_carry/whl/*.whl >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" \
        .gpu_carry/whl/*.whl >>"$LOG" 2>&1 && export PYTHONPATH="$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
fi
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || echo "no nvidia-smi"
  $PY -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"
} >>"$LOG" 2>&1
if [ $DRY = 0 ] && ! $PY -c "import torch; assert torch.cuda.is_available()" 2>>"$LOG"; then
    say "torch sees no CUDA device: stopping"; exit 2
fi

# --- 1. CUDA tests (the test modules with @pytest.mark.cuda; the C++ backend is not built there)
T_TESTS=$([ $DRY = 1 ] && echo 150 || echo 90)
CUDA_TEST_FILES=$(grep -l "mark.cuda" tests/*.py | tr '\n' ' ')
say "stage tests: $CUDA_TEST_FILES"
timeout $T_TESTS $PY -m pytest -q -m cuda -p no:cacheprovider $CUDA_TEST_FILES >"$OUT/tests.txt" 2>&1
rc=$?; stage_done tests $rc; say "tests rc=$rc: $(tail -1 "$OUT/tests.txt")"

# --- 2. latency of both networks at 640x192 (eager, TorchScript, channels_last; fp16 on CUDA)
if [ $DRY = 1 ]; then TIMING_ARGS="--device cpu --iters 1 --warmup 1 --width 320 --height 96"
else TIMING_ARGS="--device cuda --iters 50 --warmup 10 --width 640 --height 192"; fi
say "stage timing"
timeout $T_TESTS $PY bench/gpu_timing.py $TIMING_ARGS --json "$OUT/timing.json" >>"$LOG" 2>&1
rc=$?; stage_done timing $rc; say "timing rc=$rc"

# --- 3. training data: renders made here (fast on many cores), KITTI from the carried pack
RENDERS="$WORK/synth_train"
FRAMES=$([ $DRY = 1 ] && echo 4 || echo 200)
JOBS=$($PY -c "import os; print(max(1, min(16, (os.cpu_count() or 2))))")
say "stage renders: 2 x $FRAMES frames, $JOBS jobs"
( $PY -m apps.cli synth --trajectory kitti-like --frames $FRAMES --width 640 --height 192 --seed 1 --out "$RENDERS" --name 01 --jobs $JOBS &&
  $PY -m apps.cli synth --trajectory turns --frames $FRAMES --width 640 --height 192 --seed 2 --out "$RENDERS" --name 02 --jobs $JOBS ) >>"$LOG" 2>&1
rc=$?; stage_done renders $rc
if [ -d .gpu_carry/data/kitti ]; then DATA_ROOT=.gpu_carry/data
elif [ -d ../shared/data/kitti ]; then DATA_ROOT=../shared/data
else say "no KITTI data (.gpu_carry/data or ../shared/data): run the pack step first"; DATA_ROOT=""; fi

# --- 4. training: both networks at once (small nets leave the GPU mostly idle), from the committed weights
if [ $DRY = 1 ]; then PROBE_S=240; CKPT_EVERY=1; else PROBE_S=120; CKPT_EVERY=50; fi
if [ $DRY = 1 ]; then BATCH=2; WORKERS=0; THREADS=1; PROBE=2; else BATCH=16; WORKERS=6; THREADS=2; PROBE=30; fi
train() {  # task run_dir config timeout_s
    timeout -s INT "$4" $PY -m apps.cli train "$1" --config "$3" --out "$2" --device $DEVICE --no-progress \
        --data-root "$DATA_ROOT" >>"$WORK/train_$1.log" 2>&1
}
if [ -n "$DATA_ROOT" ]; then
    say "stage probe: $PROBE steps of each network (step time and start-up)"
    for task in depth keypoints; do
        $PY bench/gpu_session_tools.py config --task $task --out "$WORK/probe_$task.yaml" --steps $PROBE \
            --batch-size $BATCH --workers $WORKERS --threads $THREADS --render-root "$RENDERS" --checkpoint-every 1000
    done
    t0=$(date +%s)
    train depth "$WORK/probe_depth" "$WORK/probe_depth.yaml" $PROBE_S & p1=$!
    train keypoints "$WORK/probe_keypoints" "$WORK/probe_keypoints.yaml" $PROBE_S & p2=$!
    wait $p1; r1=$?; t1=$(date +%s); wait $p2; r2=$?; t2=$(date +%s)
    stage_done probe $(( r1 | r2 ))
    LEFT=$(( $(left) - 25 ))   # 25 s for packing the outputs
    if [ $DRY = 1 ]; then STEPS_D=2; STEPS_K=2; else
        STEPS_D=$($PY bench/gpu_session_tools.py plan --probe "$WORK/probe_depth" --probe-wall $((t1 - t0)) --seconds-left $LEFT)
        STEPS_K=$($PY bench/gpu_session_tools.py plan --probe "$WORK/probe_keypoints" --probe-wall $((t2 - t0)) --seconds-left $LEFT)
    fi
    say "stage train: depth $STEPS_D steps, keypoints $STEPS_K steps, ${LEFT}s left (probe rc $r1/$r2)"
    for task in depth keypoints; do
        steps=$([ $task = depth ] && echo $STEPS_D || echo $STEPS_K)
        $PY bench/gpu_session_tools.py config --task $task --out "$WORK/$task.yaml" --steps $steps \
            --batch-size $BATCH --workers $WORKERS --threads $THREADS --render-root "$RENDERS" --checkpoint-every $CKPT_EVERY
    done
    train depth "$WORK/depth" "$WORK/depth.yaml" $LEFT & p1=$!
    train keypoints "$WORK/keypoints" "$WORK/keypoints.yaml" $LEFT & p2=$!
    wait $p1; r1=$?; wait $p2; r2=$?
    stage_done train $(( r1 | r2 )); say "train rc depth=$r1 keypoints=$r2 (124/130: stopped by the time limit; the last checkpoint stays)"
fi

# --- 5. outputs: <= 8 files (the tool's limit): session.log, session.json, tests.txt, timing.json, 2 x .tgz
for task in depth keypoints; do
    d="$WORK/$task"
    [ -d "$d" ] || continue
    cat "$WORK/train_$task.log" >> "$LOG" 2>/dev/null
    files=$(cd "$d" && ls *_net.pt config.yaml metrics.csv validation.csv summary.json *.png 2>/dev/null || true)
    (cd "$d" && tar -czf "$OUT/$task.tgz" $files) && say "$task: $(tar -tzf "$OUT/$task.tgz" | tr '\n' ' ')"
done
echo "  \"total_s\": $(elapsed)" >> "$STAGES"; echo "}" >> "$STAGES"
say "done in $(elapsed)s; outputs: $(ls "$OUT" | tr '\n' ' ')"
