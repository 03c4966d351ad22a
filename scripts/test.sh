#!/usr/bin/env bash
# The project's checks: the test suite, and that the device path (what runs on a Jetson with
# Python 3.6, numpy and TensorRT only) needs no newer Python.
set -euo pipefail
cd "$(dirname "$0")/.."
DEVICE_PATH=(edgec/__init__.py edgec/errors.py edgec/fileio.py edgec/tables.py
             edgec/runtime edgec/quant/calib_cache.py)
echo "== vermin: device path must run on Python 3.6"
vermin -t=3.6- --no-tips --violations "${DEVICE_PATH[@]}"
echo "== pytest"
python -m pytest -q
