#!/usr/bin/env bash
# Reproduce the shipped demo student (edgec/data/demo/lite-wav2lip-demo.pth) on a GPU machine:
# train the teacher (scripts/train_demo_teacher.py), then distill lite-wav2lip from it with
# `edgec distill`, on the held-out split of scripts/demo_split.py.
# First pack the clips where PyAV and OpenCV are installed (the workstation):
#   python scripts/train_demo_teacher.py --pack-only --portraits PORTRAITS --lrs2 LRS2 --work WORK
# then, on the GPU machine, with WORK/pack copied there:
#   scripts/train_demo.sh WORK [TEACHER_SECONDS] [DISTILL_SECONDS]
set -euo pipefail
work=$1 teacher_seconds=${2:-230} distill_seconds=${3:-200}
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONPATH="$here/..${PYTHONPATH:+:$PYTHONPATH}"
python3 "$here/train_demo_teacher.py" --work "$work" --seconds "$teacher_seconds"
# Steps the distillation can make in its time (a step costs about half a teacher training
# step: the teacher only runs forward), so its learning-rate decay fits in.
steps=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(max(100, int(2.0 * r['steps_per_second'] * float(sys.argv[2]))))" "$work/teacher.json" "$distill_seconds")
python3 -m edgec.cli distill --teacher "$work/teacher.pth" --data "$work/train-store" \
    --eval-data "$work/eval-store" --eval-samples 1024 --steps "$steps" --batch-size 64 \
    --time-limit "$distill_seconds" --checkpoint-every 2000 --no-progress -o "$work/distill"
