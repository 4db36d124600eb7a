#!/usr/bin/env bash
# Renders for configs/train/depth_light_rd_many.yaml: 16 training scenes (runs/synth_many, seeds 11-26) and
# three more held-out ones (runs/synth_eval, seeds 8-10; seed 7 is the older runs/synth_eval/sequences/00).
# Run from the repository root (about 2 min on 2 cores).
set -e
S="${PYTHON:-.venv/bin/python} -m apps.cli synth --width 640 --height 192 --frames 150 --jobs 2 --out runs/synth_many"
kinds=(kitti-like turns loop straight kitti-like turns kitti-like loop kitti-like turns kitti-like loop kitti-like turns kitti-like turns)
for i in $(seq 0 15); do
  seed=$((11+i)); k=${kinds[$i]}; extra=""
  case $((i % 4)) in
    1) extra="--exposure 0.05 --noise 1.0 --vignette 0.2";;
    2) extra="--blur 0.3 --traffic 4";;
    3) extra="--noise 2.0 --lead-car --speed 1.4";;
  esac
  $S --trajectory $k --seed $seed --name $seed $extra > /dev/null 2>&1
  echo "$seed $k $extra"
done
# held-out evaluation renders (never trained on)
for spec in "8 turns" "9 loop" "10 kitti-like"; do set -- $spec
  ${PYTHON:-.venv/bin/python} -m apps.cli synth --width 640 --height 192 --frames 60 --jobs 2 --out runs/synth_eval --trajectory $2 --seed $1 --name $1 > /dev/null 2>&1; echo eval $1 $2; done
