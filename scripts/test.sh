#!/usr/bin/env bash
# The project's checks: the device path needs no newer Python than 3.6 (and runs on a real 3.6
# where one is installed), the TensorRT code type-checks against the official stubs, the L4T
# Dockerfile lints clean, and the test suite passes.
set -euo pipefail
cd "$(dirname "$0")/.."
# What the device commands (`edgec bench`, `edgec build --bundle`) load on a Jetson (Python 3.6,
# numpy, click, TensorRT): the command group, the device commands and their option groups, the
# workstation-device contract, the runtime and the Jetson modules.
DEVICE_PATH=(edgec/__init__.py edgec/errors.py edgec/fileio.py edgec/tables.py edgec/cli.py
             edgec/artifacts.py edgec/settings.py edgec/commands/__init__.py
             edgec/commands/options.py edgec/commands/output.py edgec/commands/bench.py
             edgec/commands/build.py edgec/commands/selftest.py edgec/runtime edgec/jetson)
echo "== vermin: device path must run on Python 3.6"
vermin -t=3.6- --no-tips --violations "${DEVICE_PATH[@]}"

echo "== mypy: TensorRT code against tensorrt-stubs"
STUBS="$(mktemp -d)"
trap 'rm -rf "$STUBS"' EXIT
python scripts/trt_stubs.py "$STUBS"
MYPYPATH="$STUBS" mypy --config-file mypy.ini edgec/runtime edgec/jetson

echo "== TensorRT code: per-generation doubles (8.2, 8.5, 10.13, 11.4) cover at least 90% of it"
COVERAGE_FILE="$STUBS/.coverage" python -m coverage run --source=edgec/runtime/trt -m pytest -q \
    -p no:cacheprovider tests/test_trt_generations.py tests/test_trt_logic.py
COVERAGE_FILE="$STUBS/.coverage" python -m coverage report -m --fail-under=90

echo "== hadolint Dockerfile.l4t"
hadolint Dockerfile.l4t

echo "== device path on a real Python 3.6"
bash scripts/py36_device_check.sh

echo "== pytest"
python -m pytest -q
