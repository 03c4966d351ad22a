#!/usr/bin/env bash
# Run the device path (edgec bench, edgec build --bundle, Jetson detection) on a real Python
# 3.6 with only numpy, click and (for the ONNX backend) onnxruntime 1.10, as on JetPack 4.6.
# Skipped, saying so, where no Python 3.6 interpreter is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY36=""
for candidate in "${EDGEC_PY36:-}" python3.6 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.6*/bin/python3.6
do
    if [ -n "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 6)' \
            2>/dev/null; then
        PY36="$candidate"
        break
    fi
done
if [ -z "$PY36" ]; then
    echo "SKIPPED: no Python 3.6 interpreter here (set EDGEC_PY36); vermin checked the syntax"
    exit 0
fi
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$PY36" -m venv "$WORK/venv"
pip36() {  # quiet unless it fails
    if ! "$WORK/venv/bin/python" -m pip --disable-pip-version-check install "$@" \
            > "$WORK/pip.log" 2>&1; then
        grep -v "is ignored" "$WORK/pip.log"
        exit 1
    fi
}
pip36 --upgrade "pip<22"  # the venv's pip 18 cannot see manylinux2014 wheels
pip36 "numpy<1.20" "click==8.0.4" "onnxruntime==1.10.0"
pip36 --no-deps .
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
assert r["versions"]["python"].startswith("3.6"), r["versions"]
print("python 3.6 bench: median %.3f ms, output check passed" % r["latency_ms"]["median"])
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
echo "python 3.6 build --bundle: unpacked, no TensorRT said plainly, --model refused"
printf 'not an engine' > model.int8.engine
if "$EDGEC" bench model.int8.engine 2> err.txt; then echo "engine ran without TensorRT?"; exit 1; fi
grep -q "TensorRT is not installed on this host" err.txt
mkdir -p dt/proc/device-tree dt/etc
printf 'nvidia,p3450-0000\0nvidia,jetson-nano\0nvidia,tegra210\0' > dt/proc/device-tree/compatible
printf 'NVIDIA Jetson Nano Developer Kit\0' > dt/proc/device-tree/model
echo '# R32 (release), REVISION: 7.1, GCID: 1, BOARD: t210ref, EABI: aarch64, DATE: x' \
    > dt/etc/nv_tegra_release
"$WORK/venv/bin/python" -c "
from edgec.jetson.detect import detect_board
from edgec.jetson.tegrastats import parse_line
b = detect_board('dt'); assert b['profile'] == 'nano' and b['jetpack'] == '4.6.1', b
s = parse_line('RAM 534/3964MB (lfb 98x4MB) CPU [16%@204,off] GR3D_FREQ 0%@76 POM_5V_IN 1022/1022')
assert s['total_power']['current_mw'] == 1022, s
print('python 3.6 Jetson detection and tegrastats parsing: ok')"
# edgec selftest on the fixture Nano with a stand-in tegrastats: exit 0, no TensorRT said
# plainly, the bundle shipped as package data unpacked and verified, every engine check skipped
# with the reason; ONNX Runtime 1.10 cannot read the bundle's opset 17, which is a skip.
mkdir bin
printf '#!/bin/sh\nwhile true; do echo "%s"; sleep 0.05; done\n' \
    'RAM 534/3964MB (lfb 98x4MB) CPU [16%@204,off] GR3D_FREQ 0%@76 POM_5V_IN 1022/1022' \
    > bin/tegrastats
chmod +x bin/tegrastats
PATH="$WORK/bin:$PATH" "$EDGEC" selftest --json --jetson-root dt -o st.json > st.out
PATH="$WORK/bin:$PATH" "$EDGEC" selftest --jetson-root dt -o st2.json > st.txt
grep -q "TensorRT is not installed on this host" st.txt
grep -q "selftest on Jetson Nano" st.txt
"$WORK/venv/bin/python" - <<'PY'
import json
import shutil

r = json.load(open("st.json"))
assert json.load(open("st.out"))["checks"] == r["checks"]
env = r["environment"]
assert env["python"].startswith("3.6") and env["tensorrt"] is None, env
assert env["board"]["profile"] == "nano", env["board"]
checks = {c["name"]: c for c in r["checks"]}
assert checks["jetson.detect"]["status"] == "passed", checks["jetson.detect"]
stats = checks["jetson.tegrastats"]
assert stats["status"] == "passed" and "POM_5V_IN 1022 mW" in stats["summary"], stats
assert checks["bundle.unpack"]["status"] == "passed", checks["bundle.unpack"]
ort = checks["onnxruntime.fp32"]
assert ort["status"] == "skipped" and "opset 17" in ort["why"], ort
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
print("python 3.6 selftest: %(passed)d passed, %(failed)d failed, %(skipped)d skipped; "
      "a damaged bundle fails its check" % r["summary"])
PY
echo "device path on Python 3.6: ok"
