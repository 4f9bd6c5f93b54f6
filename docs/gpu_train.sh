#!/bin/bash
# Run on a lent GPU machine (see docs/gpu-training.md): train every run of a plan side by side on one
# GPU for TRAIN_S seconds, export each run's EMA network, and put into $OUT what fits the transfer limits
# (8 files of at most 16 MiB): the exported weights (split into 15 MiB parts when larger), each run's
# resumable checkpoint when it is at most 15 MiB (NAME-last.pt), and one logs.tgz with the cards, step
# logs, last lines of output and latest sample grids.
#
#   bash docs/gpu_train.sh PLAN        (PLAN: lines "NAME TASK ARGS...", e.g.
#   sesame-landscape sesame --data .gpu/data/stanford_background --size 192 --batch 12 --init-spade .gpu/models/spade-landscape.safetensors)
#
# Environment: TRAIN_S (default 480), GPU (default .gpu: the folder written by docs/gpu_prepare.py),
# RUNS (default /tmp/runs), OUT (set by the device tool), PY (default python3), DEV (default cuda; cpu for a
# dry run here with a tiny plan).
set -u
PLAN=$1
T0=$(date +%s)
GPU=${GPU:-.gpu}
TRAIN_S=${TRAIN_S:-480}
R=${RUNS:-/tmp/runs}
PY=${PY:-python3}
DEV=${DEV:-cuda}
export PYTHONUNBUFFERED=1 GANPAINT_HED_WEIGHTS=$PWD/$GPU/hed16.h5 PYTHONPATH=$PWD:$PWD/$GPU/site
mkdir -p "$R/export" "$R/pack" "$OUT"
LOG=$R/pack/session.log
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; } > "$LOG" 2>&1
cat "$LOG"
[ "$DEV" = cpu ] || $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" || { echo "no CUDA device"; exit 3; }

RUN="--device $DEV --threads 4 --checkpoint-every 200 --log-every 50 --sample-every 500"  # options every trainer has
pids=()
while read -r name task args; do
  [ -z "$name" ] || [ "${name:0:1}" = "#" ] && continue
  timeout -k 60 "$TRAIN_S" $PY -m ganpaint.cli train "$task" $args --out "$R/$name" --steps 1000000 $RUN \
    > "$R/$name.log" 2>&1 &
  pids+=($!)
done < "$PLAN"
(while sleep 30; do nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader; done) >> "$LOG" 2>&1 &
monitor=$!
wait "${pids[@]}"
kill $monitor
echo "training stopped after $(( $(date +%s) - T0 )) s" >> "$LOG"

while read -r name task args; do
  [ -z "$name" ] || [ "${name:0:1}" = "#" ] && continue
  # --checkpoint last: a plan line that resumed from a carried checkpoint must export the new one
  $PY -m ganpaint.cli train "$task" $args --out "$R/$name" --resume --checkpoint "$R/$name/last.pt" --steps 1 $RUN \
    --export "$name" --models-dir "$R/export" >> "$R/$name.log" 2>&1 &
  # a resumable checkpoint comes back too when it fits (the inpainting network's: 13.6 MB)
  if [ "$(stat -c %s "$R/$name/last.pt" 2>/dev/null || echo 0)" -gt 0 ] && \
     [ "$(stat -c %s "$R/$name/last.pt")" -le 15728640 ]; then cp "$R/$name/last.pt" "$OUT/$name-last.pt"; fi
done < "$PLAN"
wait
echo "exported after $(( $(date +%s) - T0 )) s" >> "$LOG"

for f in "$R"/export/*.safetensors; do
  [ -e "$f" ] || continue
  if [ "$(stat -c %s "$f")" -gt 15728640 ]; then split -b 15M -d "$f" "$OUT/$(basename "$f").part"; else cp "$f" "$OUT/"; fi
done
for log in "$R"/*.log; do
  name=$(basename "$log" .log)
  mkdir -p "$R/pack/$name"
  tr '\r' '\n' < "$log" | tail -n 40 > "$R/pack/$name/output-tail.txt"
  cp "$R/$name/train_log.jsonl" "$R/$name/samples/latest.png" "$R/pack/$name/" 2>/dev/null
done
cp "$R"/export/*.json "$R/pack/" 2>/dev/null
tar czf "$OUT/logs.tgz" -C "$R" pack
ls -la "$OUT"
cat "$LOG"
for f in "$R"/pack/*/output-tail.txt; do echo "== $f"; tail -n 4 "$f"; done
