#!/usr/bin/env bash
# Run the device path (edgec bench, edgec build --bundle, edgec selftest, Jetson detection) on a
# real Python of one JetPack line, with only numpy, click and (for the ONNX backend)
# onnxruntime, as on the board:
#   bash scripts/device_path_check.sh 3.6    # JetPack 4.6 (Nano, TX2): a Nano fixture
#   bash scripts/device_path_check.sh 3.10   # JetPack 6.x (Orin): an Orin Nano on R36.4
#   bash scripts/device_path_check.sh 3.12   # JetPack 7.2 (Orin): an Orin Nano on R39.2.1
# Skipped, saying so, where no interpreter of that version is installed (EDGEC_PY<VERSION
# without the dot> names one, e.g. EDGEC_PY310).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="${1:-3.6}"
case "$VERSION" in
    3.6)  # the last releases for Python 3.6; the venv's pip 18 cannot see manylinux2014 wheels
        PINS=("numpy<1.20" "click==8.0.4" "onnxruntime==1.10.0"); PIP_FIRST="pip<22"
        COMPATIBLE='nvidia,p3450-0000\0nvidia,jetson-nano\0nvidia,tegra210\0'
        MODEL='NVIDIA Jetson Nano Developer Kit\0'
        RELEASE='# R32 (release), REVISION: 7.1, GCID: 1, BOARD: t210ref, EABI: aarch64, DATE: x'
        PROFILE=nano NAME="Jetson Nano" JETPACK=4.6.1 RAIL="POM_5V_IN 1022 mW"
        TEGRASTATS='RAM 534/3964MB (lfb 98x4MB) CPU [16%@204,off] GR3D_FREQ 0%@76 POM_5V_IN 1022/1022'
        ;;
    3.10)
        PINS=("numpy<2.3" "click" "onnxruntime"); PIP_FIRST=""
        COMPATIBLE='nvidia,p3768-0000+p3767-0005\0nvidia,p3767-0005\0nvidia,tegra234\0'
        MODEL='NVIDIA Jetson Orin Nano Developer Kit\0'
        RELEASE='# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: x'
        PROFILE=orin-nano NAME="Jetson Orin Nano 8GB" JETPACK=6.2 RAIL="VDD_IN 4968 mW"
        TEGRASTATS='01-04-2025 16:02:59 RAM 1273/7620MB (lfb 1x4MB) CPU [0%@1036,off] GR3D_FREQ 0% tj@46.3C VDD_IN 4968mW/4968mW VDD_CPU_GPU_CV 436mW/436mW VDD_SOC 1708mW/1708mW'
        ;;
    3.12)
        PINS=("numpy" "click" "onnxruntime"); PIP_FIRST=""
        COMPATIBLE='nvidia,p3768-0000+p3767-0005-super\0nvidia,p3767-0005\0nvidia,tegra234\0'
        MODEL='NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super\0'
        RELEASE='# R39 (release), REVISION: 2.1, GCID: 46758480, BOARD: generic, EABI: aarch64, DATE: x'
        PROFILE=orin-nano NAME="Jetson Orin Nano 8GB" JETPACK=7.2.1 RAIL="VDD_IN 3462 mW"
        TEGRASTATS='09-19-2026 13:33:03 RAM 2845/7486MB (lfb 33x4MB) CPU [1%@729,off] GR3D_FREQ 0%@[305] tj@46.562C/46.843C VDD_IN 3462mW/3522mW/3582mW VDD_CPU_GPU_CV 442mW/483mW/523mW VDD_SOC 1127mW/1127mW/1127mW'
        ;;
    *) echo "device_path_check.sh: Python 3.6, 3.10 or 3.12 (the JetPack lines' Pythons)"; exit 2 ;;
esac
VAR="EDGEC_PY${VERSION//./}"
PY=""
for candidate in "${!VAR:-}" "python$VERSION" \
        "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$VERSION".*/bin/python"$VERSION"; do
    if [ -n "$candidate" ] && "$candidate" -c \
            "import sys; assert '%d.%d' % sys.version_info[:2] == '$VERSION'" 2>/dev/null; then
        PY="$candidate"
        break
    fi
done
if [ -z "$PY" ]; then
    echo "SKIPPED: no Python $VERSION interpreter here (set $VAR); vermin checked the syntax"
    exit 0
fi
export VERSION PROFILE NAME JETPACK RAIL TEGRASTATS
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$PY" -m venv "$WORK/venv"
pip_venv() {  # quiet unless it fails
    if ! "$WORK/venv/bin/python" -m pip --disable-pip-version-check install "$@" \
            > "$WORK/pip.log" 2>&1; then
        grep -v "is ignored" "$WORK/pip.log"
        exit 1
    fi
}
[ -z "$PIP_FIRST" ] || pip_venv --upgrade "$PIP_FIRST"
pip_venv "${PINS[@]}"
pip_venv --no-deps .
EDGEC="$WORK/venv/bin/edgec"
cd "$WORK"
# An opset-13 model (ONNX Runtime 1.10 predates opset 17), made with this environment's onnx.
python "$OLDPWD/tests/onnx_fixtures.py" tiny.onnx
"$EDGEC" bench tiny.onnx --iterations 20 --warmup 0.2 --save-reference ref.npz -o r1.json
"$EDGEC" bench tiny.onnx --iterations 20 --warmup 0.2 --reference ref.npz -o r2.json
"$WORK/venv/bin/python" - <<'PY'
import json
r = json.load(open("r2.json"))
assert r["format"] == "edgec-result/1" and r["check"]["passed"], r["check"]
import os
assert r["versions"]["python"].startswith(os.environ["VERSION"] + "."), r["versions"]
print("python %s bench: median %.3f ms, output check passed"
      % (os.environ["VERSION"], r["latency_ms"]["median"]))
PY
# edgec build --bundle: verified and unpacked, then a plain "no TensorRT here" (exit 2); the
# workstation options are refused. The bundle is packed by this environment's edgec.
mkdir build && cp tiny.onnx build/model.onnx
python -c "from edgec.runtime.bundle import pack; pack('build', 'bundle.tar.gz')"
if "$EDGEC" build --bundle bundle.tar.gz -o unpacked 2> err.txt; then
    echo "engine built without TensorRT?"; exit 1
fi
grep -q "verified and unpacked" err.txt && test -f unpacked/model.onnx
if "$EDGEC" build --bundle bundle.tar.gz --model wav2lip -o unpacked2 2> err.txt; then
    echo "--bundle with --model was not refused"; exit 1
fi
grep -q -- "--model" err.txt && test ! -e unpacked2
"$EDGEC" --help > help.txt && grep -q "bench" help.txt && grep -q "sweep" help.txt
echo "python $VERSION build --bundle: unpacked, no TensorRT said plainly, --model refused"
printf 'not an engine' > model.int8.engine
if "$EDGEC" bench model.int8.engine 2> err.txt; then echo "engine ran without TensorRT?"; exit 1; fi
grep -q "TensorRT is not installed on this host" err.txt
mkdir -p dt/proc/device-tree dt/etc
printf "$COMPATIBLE" > dt/proc/device-tree/compatible
printf "$MODEL" > dt/proc/device-tree/model
echo "$RELEASE" > dt/etc/nv_tegra_release
"$WORK/venv/bin/python" -c "
import os
from edgec.jetson.detect import detect_board
from edgec.jetson.tegrastats import parse_line
b = detect_board('dt')
assert (b['profile'], b['jetpack']) == (os.environ['PROFILE'], os.environ['JETPACK']), b
s = parse_line(os.environ['TEGRASTATS'])
assert '%s %d mW' % (s['total_power']['rail'], s['total_power']['current_mw']) == os.environ['RAIL']
print('python %s Jetson detection (%s, JetPack %s) and tegrastats parsing: ok'
      % (os.environ['VERSION'], b['name'], b['jetpack']))"
# edgec selftest on the fixture board with a stand-in tegrastats: exit 0, no TensorRT said
# plainly, the bundle shipped as package data unpacked and verified, every engine check skipped
# with the reason; ONNX Runtime 1.10 (Python 3.6) cannot read the bundle's opset 17, a skip.
mkdir bin
printf '#!/bin/sh\nwhile true; do echo "%s"; sleep 0.05; done\n' "$TEGRASTATS" > bin/tegrastats
chmod +x bin/tegrastats
PATH="$WORK/bin:$PATH" "$EDGEC" selftest --json --jetson-root dt -o st.json > st.out
PATH="$WORK/bin:$PATH" "$EDGEC" selftest --jetson-root dt -o st2.json > st.txt
grep -q "TensorRT is not installed on this host" st.txt
grep -q "selftest on $NAME" st.txt
"$WORK/venv/bin/python" - <<'PY'
import json
import os

r = json.load(open("st.json"))
assert json.load(open("st.out"))["checks"] == r["checks"]
env = r["environment"]
assert env["python"].startswith(os.environ["VERSION"] + ".") and env["tensorrt"] is None, env
assert env["board"]["profile"] == os.environ["PROFILE"], env["board"]
checks = {c["name"]: c for c in r["checks"]}
assert checks["jetson.detect"]["status"] == "passed", checks["jetson.detect"]
stats = checks["jetson.tegrastats"]
assert stats["status"] == "passed" and os.environ["RAIL"] in stats["summary"], stats
assert checks["bundle.unpack"]["status"] == "passed", checks["bundle.unpack"]
ort = checks["onnxruntime.fp32"]
if os.environ["VERSION"] == "3.6":  # ONNX Runtime 1.10 reads opsets up to 15
    assert ort["status"] == "skipped" and "opset 17" in ort["why"], ort
else:
    assert ort["status"] == "passed", ort
engine = [n for n in checks if n.split(".")[0] in ("build", "reference", "layers")]
assert len(engine) == 12, engine
for name in engine + ["timing_cache", "dla", "clocks", "polygraphy.fp32", "polygraphy.fp16"]:
    assert checks[name]["status"] == "skipped", checks[name]
    assert "TensorRT is not installed" in checks[name]["why"], checks[name]
assert r["summary"]["failed"] == 0 and r["passed"], r["summary"]
# A damaged copy of the shipped bundle: a failed check, not a crash.
from edgec.runtime import selftest
data = bytearray(open(selftest.SHIPPED_BUNDLE, "rb").read())
data[len(data) // 2:len(data) // 2 + 64] = bytes(64)
open("damaged.tar.gz", "wb").write(bytes(data))
bad = {c["name"]: c for c in selftest.run_selftest("damaged.tar.gz", jetson_root="dt")["checks"]}
assert bad["bundle.unpack"]["status"] == "failed", bad["bundle.unpack"]
print("python %s selftest: %d passed, %d failed, %d skipped; a damaged bundle fails its check"
      % (os.environ["VERSION"], r["summary"]["passed"], r["summary"]["failed"],
         r["summary"]["skipped"]))
PY
echo "device path on Python $VERSION: ok"
