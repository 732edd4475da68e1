#!/usr/bin/env bash
# issue 28: the stronger ReLU twin (60 epochs, cosine, crop+flip+cutout 8, label smoothing 0.1), one thread, niced
cd "$(dirname "$0")/../.."   # the repository root
out=runs/vgg16_c10_ann60
resume=(); [[ -f $out/last.pt ]] && resume=(--resume)
PYTHONUNBUFFERED=1 exec nice -n 19 .venv/bin/python -m snn.train --arch vgg16 --neuron relu --timesteps 1 --dataset cifar10 \
  --data-dir ../shared/datasets/cifar10-jpeg.tar.gz --epochs 60 --batch-size 128 --lr 0.1 --weight-decay 5e-4 \
  --label-smoothing 0.1 --cutout 8 --precision bf16 --num-threads 1 --seed 0 --chunk-minutes 600 --out $out "${resume[@]}"
