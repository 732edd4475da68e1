#!/usr/bin/env bash
# The flagship VGG16 ATSNN on CIFAR-10, trained on a CPU (issue 20), from the ReLU twin to the committed
# workload. Every stage is a plain command; a stage whose run folder holds results.json is skipped, and one
# that was interrupted (a chunk ended, or the machine stopped) continues from its last.pt with --resume, so
# the script can be re-run until it finishes. About 4 CPU-hours at one thread (ANN 2.3 h, T=1 0.3 h,
# T=4 1.3 h); the other core stays free.
#
#   bash snn/recipes/vgg16_c10.sh                 # or: make vgg16
#   DATA=path/to/cifar10-jpeg.tar.gz THREADS=2 bash snn/recipes/vgg16_c10.sh
#
# Writes runs/vgg16_c10_{ann,t1,t4}/ (git-ignored), runs/vgg16_c10_t4/eval/, and the committed
# models/vgg16_c10.pt (fp16), workloads/vgg16_c10.npz and results/vgg16_c10.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}
DATA=${DATA:-../shared/datasets/cifar10-jpeg.tar.gz}
THREADS=${THREADS:-1}
COMMON=(--arch vgg16 --dataset cifar10 --data-dir "$DATA" --precision bf16 --num-threads "$THREADS" --seed 0)

stage() {   # stage OUT ARGS...: train unless OUT/results.json exists; continue an interrupted run
  local out=$1; shift
  [[ -f $out/results.json ]] && { echo "== $out: done"; return; }
  local resume=(); [[ -f $out/last.pt ]] && resume=(--resume)
  echo "== $out: python -m snn.train $* ${resume[*]}"
  PYTHONUNBUFFERED=1 "$PY" -m snn.train "$@" --out "$out" "${resume[@]}"
  [[ -f $out/results.json ]] || { echo "$out paused (--chunk-minutes): run this script again" >&2; exit 3; }
}

# 1. the ReLU twin (an ANN with the SNN's layers), 24 epochs, label smoothing
stage runs/vgg16_c10_ann "${COMMON[@]}" --neuron relu --timesteps 1 --epochs 24 --batch-size 128 --lr 0.1 \
    --weight-decay 5e-4 --label-smoothing 0.1 --chunk-minutes 150
# 2. LIF at T=1 from the twin's weights (hybrid training): the spikes learn to carry what ReLU carried
stage runs/vgg16_c10_t1 "${COMMON[@]}" --timesteps 1 --loss atsnn --init-from runs/vgg16_c10_ann/model.pt \
    --epochs 2 --batch-size 64 --lr 0.02 --warmup-epochs 0.2 --weight-decay 5e-4 --chunk-minutes 150
# 3. T=4 with the ATSNN time-dependent loss (uniform schedule), from the T=1 network
stage runs/vgg16_c10_t4 "${COMMON[@]}" --timesteps 4 --loss atsnn --schedule uniform \
    --init-from runs/vgg16_c10_t1/model.pt --epochs 2 --batch-size 64 --lr 0.01 --warmup-epochs 0.2 \
    --weight-decay 5e-4 --chunk-minutes 400

# 4. the committed checkpoint (fp16), evaluation with the threshold calibrated on training images, export
"$PY" -m snn.slim runs/vgg16_c10_t4/model.pt --out models/vgg16_c10.pt
"$PY" -m snn.evaluate models/vgg16_c10.pt --data-dir "$DATA" --out runs/vgg16_c10_t4/eval --num-threads "$THREADS"
thr=$("$PY" -c "import json; print(json.load(open('runs/vgg16_c10_t4/eval/eval.json'))['default']['entropy']['threshold'])")
"$PY" -m snn.export models/vgg16_c10.pt --data-dir "$DATA" --exit-policy entropy --threshold "$thr" \
    --out workloads/vgg16_c10.npz --num-threads "$THREADS"
"$PY" -m snn.results --run runs/vgg16_c10_t4 --eval runs/vgg16_c10_t4/eval/eval.json \
    --workload workloads/vgg16_c10.npz --model models/vgg16_c10.pt --out results/vgg16_c10.json \
    --note "${NOTE:-VGG16 ATSNN trained on a 2-core CPU in three stages (ReLU twin, LIF T=1, LIF T=4); see training_stages.}"
