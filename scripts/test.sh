#!/usr/bin/env bash
# The project's checks, run by the README's test command and by CI alike (.ci/run calls this
# file after the README's install line, nothing more). After that install line, this script sets
# up what the checks need on a fresh machine or says plainly what it skips and why:
#   - tensorrt-stubs (mypy's view of the TensorRT API): pip install --no-deps, when missing;
#   - the fleet extra (ansible-playbook): pip install, when missing;
#   - the rtx extra (TensorRT-RTX, a real NVIDIA ONNX parser and builder that runs on a CPU;
#     edgec's builder steps and `edgec check --rtx` are tested against it): pip install, when
#     missing, on Python 3.11+ (its bindings' Pythons);
#   - sshd and ssh-keygen (the stand-in Jetsons of the fleet campaign test): apt-get, as root;
#   - Python 3.6, 3.10 and 3.12 interpreters (the device path as on JetPack 4.6, 6.x and 7.2):
#     used where installed (pyenv's), each skipped with a line saying so where not.
# Then: vermin (device path on Python 3.6), mypy (TensorRT code against the stubs), the
# TensorRT code's coverage by the per-generation doubles, hadolint, the device path on real
# Pythons 3.6, 3.10 and 3.12, and the test tiers (tests/unit, tests/e2e, tests/fleet), each timed; the times
# close the output, so CI's log says where its budget goes.
#
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh unit       # one tier (unit, e2e, fleet): no set-up, no static checks
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
TIMES=()
timed() {  # timed NAME COMMAND...: run it, remember its wall time
    local name="$1" start=$SECONDS
    shift
    echo "== $name"
    "$@"
    TIMES+=("$(printf '%-44s %5d s' "$name" $((SECONDS - start)))")
}
say_times() {
    echo "== where the time went"
    printf '%s\n' "${TIMES[@]}"
    printf '%-44s %5d s\n' "total" "$SECONDS"
}
tier() {  # pytest over one tier, its slowest tests listed
    "$PYTHON" -m pytest -q -p no:cacheprovider --durations=8 "tests/$1"
}

if [ $# -gt 0 ]; then
    for name in "$@"; do timed "tests/$name" tier "$name"; done
    say_times
    exit 0
fi

setup() {
    if ! "$PYTHON" -m pip show -q tensorrt-stubs >/dev/null 2>&1; then
        # It depends on the tensorrt package, which cannot be installed without NVIDIA's
        # libraries: the stubs alone, without their dependencies.
        echo "installing tensorrt-stubs (no deps)"
        "$PYTHON" -m pip install -q --no-deps tensorrt-stubs==10.13.0.35.1
    fi
    if ! "$PYTHON" -c "import tensorrt_rtx" 2>/dev/null; then
        if "$PYTHON" -c "import sys; sys.exit(sys.version_info < (3, 11))"; then
            echo "installing the rtx extra (tensorrt-rtx-cu13 1.7.1)"
            "$PYTHON" -m pip install -q "tensorrt-rtx-cu13==1.7.1.116"
        else
            echo "SKIPPING TensorRT-RTX: it has bindings for Python 3.11 and 3.12 only"
        fi
    fi
    if ! "$PYTHON" -c "import ansible" 2>/dev/null; then
        echo "installing the fleet extra (ansible-core 2.16)"
        "$PYTHON" -m pip install -q "ansible-core>=2.16,<2.17"
    fi
    if ! command -v sshd >/dev/null && [ ! -x /usr/sbin/sshd ]; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
            echo "installing openssh-server and openssh-client (apt-get)"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                openssh-server openssh-client >/dev/null
        else
            echo "SKIPPING the fleet campaign test: no sshd here and no root to apt-get" \
                 "openssh-server (the rest of tests/fleet runs)"
        fi
    fi
}
timed "set-up" setup

# What the device commands (`edgec bench`, `edgec build --bundle`, `edgec selftest`) load on a
# Jetson (Python 3.6, numpy, click, TensorRT): the command group, the device commands and their
# option groups, the workstation-device contract, the runtime and the Jetson modules.
DEVICE_PATH=(edgec/__init__.py edgec/errors.py edgec/fileio.py edgec/tables.py edgec/cli.py
             edgec/artifacts.py edgec/settings.py edgec/fingerprints.py
             edgec/commands/__init__.py edgec/commands/options.py edgec/commands/output.py
             edgec/commands/bench.py edgec/commands/build.py edgec/commands/selftest.py
             edgec/runtime edgec/jetson)
timed "vermin: device path must run on Python 3.6" \
    vermin -t=3.6- --no-tips --violations "${DEVICE_PATH[@]}"

STUBS="$(mktemp -d)"
trap 'rm -rf "$STUBS"' EXIT
mypy_trt() {
    "$PYTHON" -m tools.trt_surface.mypy_stubs "$STUBS"
    MYPYPATH="$STUBS" "$PYTHON" -m mypy --config-file mypy.ini edgec/runtime edgec/jetson
}
timed "mypy: TensorRT code against tensorrt-stubs" mypy_trt

trt_coverage() {
    COVERAGE_FILE="$STUBS/.coverage" "$PYTHON" -m coverage run --source=edgec/runtime/trt \
        -m pytest -q -p no:cacheprovider tests/unit/runtime/test_trt_generations.py \
        tests/unit/runtime/test_trt_logic.py
    COVERAGE_FILE="$STUBS/.coverage" "$PYTHON" -m coverage report -m --fail-under=90
}
timed "TensorRT code: doubles (8.2 to 11.4, 7 versions) cover >= 90%" trt_coverage

timed "hadolint Dockerfile.l4t" hadolint Dockerfile.l4t
# The JetPack lines' Pythons: 3.6 (JetPack 4.6), 3.10 (6.x), 3.12 (7.2).
for version in 3.6 3.10 3.12; do
    timed "device path on a real Python $version" bash scripts/device_path_check.sh "$version"
done

for name in unit e2e fleet; do
    timed "tests/$name" tier "$name"
done
say_times
