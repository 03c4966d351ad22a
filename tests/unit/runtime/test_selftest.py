"""`edgec selftest`: what it runs without TensorRT (the real thing, on this machine), the
bookkeeping of its TensorRT branch as pure functions, and that branch's wiring end to end with
edgec's real builder and runner over per-version doubles of TensorRT and CUDA (tests/
trt_doubles.py). A double computes nothing: its "engine" is a marker and its outputs are zeros,
so the selftest must judge every engine check of such a run as failed, and does."""
import io
import json
import os
import shutil
import stat
import tarfile
import time

import numpy as np
import pytest

from edgec import artifacts
from edgec.errors import EdgecError
from edgec.runtime import selftest

# A tegrastats line captured on a Xavier NX (JetPack 4), as in tests/test_jetson.py.
XAVIER_NX_LINE = ("RAM 4412/7772MB (lfb 237x4MB) SWAP 139/3886MB (cached 2MB) CPU [9%@1190,"
                  "6%@1190,6%@1190,5%@1190,4%@1190,8%@1267] EMC_FREQ 10%@1600 GR3D_FREQ 62%@306 "
                  "APE 150 MTS fg 0% bg 0% AO@41.5C GPU@43C PMIC@100C AUX@41.5C CPU@43.5C "
                  "thermal@42.55C VDD_IN 4067/4067 VDD_CPU_GPU_CV 738/738 VDD_SOC 1353/1353")
XAVIER_NX = (b"nvidia,p3509-0000+p3668-0001\0nvidia,jetson-xavier-nx\0nvidia,tegra194\0",
             b"NVIDIA Jetson Xavier NX Developer Kit\0",
             "# R35 (release), REVISION: 2.1, GCID: 32413640, BOARD: t186ref, EABI: aarch64, "
             "DATE: x\n")
NANO = (b"nvidia,p3450-0000\0nvidia,jetson-nano\0nvidia,tegra210\0",
        b"NVIDIA Jetson Nano Developer Kit\0",
        "# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t210ref, EABI: aarch64, DATE: x\n")


def jetson_root(root, board):
    compatible, model, release = board
    os.makedirs(os.path.join(root, "proc", "device-tree"))
    os.makedirs(os.path.join(root, "etc"))
    with open(os.path.join(root, "proc", "device-tree", "compatible"), "wb") as handle:
        handle.write(compatible)
    with open(os.path.join(root, "proc", "device-tree", "model"), "wb") as handle:
        handle.write(model)
    with open(os.path.join(root, "etc", "nv_tegra_release"), "w") as handle:
        handle.write(release)
    return root


@pytest.fixture
def fake_tegrastats(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    path = str(bin_dir / "tegrastats")
    with open(path, "w") as handle:
        handle.write('#!/bin/sh\nwhile true; do echo "%s"; sleep 0.02; done\n' % XAVIER_NX_LINE)
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
    return str(bin_dir)


@pytest.fixture
def not_a_jetson(tmp_path, monkeypatch):
    """Whatever this host is, the selftest sees no Jetson and no tegrastats."""
    root = tmp_path / "not-a-jetson"
    root.mkdir()
    monkeypatch.setenv("EDGEC_JETSON_ROOT", str(root))
    monkeypatch.setenv("PATH", os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep)
        if not os.path.exists(os.path.join(p, "tegrastats"))))
    return str(root)


def by_name(record):
    return {check["name"]: check for check in record["checks"]}


# -- Without TensorRT: the real run on this machine ------------------------------------------

def test_without_tensorrt_runs_what_it_can(tmp_path, run_cli, not_a_jetson):
    out = str(tmp_path / "selftest.json")
    result = run_cli("selftest", "-o", out)
    assert result.exit_code == 0, result.output
    assert "TensorRT is not installed on this host" in result.output
    record = json.load(open(out))
    assert record["format"] == selftest.SELFTEST_FORMAT and record["passed"] is True
    env = record["environment"]
    assert env["tensorrt"] is None and env["board"] is None
    assert env["python"] and env["numpy"] == np.__version__
    assert set(env) >= {"cuda", "polygraphy", "onnxruntime", "jetson_root"}
    checks = by_name(record)
    assert list(checks) == (["jetson.detect", "jetson.tegrastats", "cuda.runtime",
                             "bundle.unpack", "onnxruntime.fp32"] + selftest.ENGINE_CHECKS)
    assert checks["jetson.detect"]["status"] == "skipped"
    assert "not a Jetson" in checks["jetson.detect"]["why"]
    assert checks["jetson.tegrastats"]["status"] == "skipped"
    assert checks["cuda.runtime"]["status"] in ("passed", "skipped")  # no GPU is no fault here
    bundle = checks["bundle.unpack"]
    assert bundle["status"] == "passed"
    assert set(bundle["details"]["files"]) >= {artifacts.model_onnx(p)
                                               for p in artifacts.PRECISIONS}
    assert bundle["details"]["plan"]["up"] in ("fp16", "int8")  # the ConvTranspose is planned
    ort = checks["onnxruntime.fp32"]
    assert ort["status"] == "passed", ort
    row = ort["details"]["check"]["outputs"]["output"]
    threshold = ort["details"]["check"]["min_psnr_db"]
    assert threshold == selftest.FP32_PSNR_DB
    # null PSNR is an exact match (JSON has no infinity)
    assert row["passed"] and (row["psnr_db"] is None or row["psnr_db"] >= threshold)
    assert row["max_abs_error"] < 1e-4
    for name in selftest.ENGINE_CHECKS:
        assert checks[name]["status"] == "skipped"
        assert "TensorRT is not installed" in checks[name]["why"]
    assert "2 passed, 0 failed, 20 skipped" in result.output


def test_json_output_parses_and_equals_the_file(tmp_path, run_cli, not_a_jetson):
    out = str(tmp_path / "st.json")
    result = run_cli("selftest", "--json", "-o", out)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == json.load(open(out))
    assert printed["summary"] == {"passed": 2, "failed": 0, "skipped": 20}


def test_fixture_jetson_reports_the_board_and_a_tegrastats_sample(tmp_path, run_cli,
                                                                  fake_tegrastats, monkeypatch):
    root = jetson_root(str(tmp_path / "root"), XAVIER_NX)
    monkeypatch.setenv("PATH", fake_tegrastats + os.pathsep + os.environ["PATH"])
    out = str(tmp_path / "selftest.json")
    result = run_cli("selftest", "--jetson-root", root, "-o", out)
    assert result.exit_code == 0, result.output
    assert "selftest on Jetson Xavier NX" in result.output
    record = json.load(open(out))
    board = record["environment"]["board"]
    assert board["profile"] == "xavier-nx" and board["jetpack"] == "5.1"
    checks = by_name(record)
    detect = checks["jetson.detect"]
    assert detect["status"] == "passed"
    assert detect["details"]["profile"]["dla_cores"] == 2
    stats = checks["jetson.tegrastats"]
    assert stats["status"] == "passed", stats
    assert stats["details"]["sample"]["total_power"]["current_mw"] == 4067
    assert "VDD_IN 4067 mW" in stats["summary"]
    # The DLA would be tried here, but there is no TensorRT to build with.
    assert checks["dla"]["status"] == "skipped"
    assert "TensorRT is not installed" in checks["dla"]["why"]


def test_env_jetson_root_is_the_default(tmp_path, monkeypatch):
    root = jetson_root(str(tmp_path / "root"), NANO)
    monkeypatch.setenv("EDGEC_JETSON_ROOT", root)
    record = selftest.run_selftest(tegrastats_timeout_s=0.5)
    assert record["environment"]["board"]["profile"] == "nano"
    assert record["environment"]["jetson_root"] == root


# -- A damaged bundle fails -------------------------------------------------------------------

def _corrupted_copy(tmp_path):
    damaged = str(tmp_path / "damaged.tar.gz")
    with open(selftest.SHIPPED_BUNDLE, "rb") as handle:
        data = bytearray(handle.read())
    middle = len(data) // 2
    for offset in range(middle, middle + 64):
        data[offset] ^= 0xFF
    with open(damaged, "wb") as handle:
        handle.write(bytes(data))
    return damaged


def _tampered_copy(tmp_path):
    """The same members and manifest, one member's bytes changed after packing."""
    tampered = str(tmp_path / "tampered.tar.gz")
    with tarfile.open(selftest.SHIPPED_BUNDLE) as source, \
            tarfile.open(tampered, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name == artifacts.REFERENCE_NPZ:
                data = data[:-1] + bytes([data[-1] ^ 1])
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            target.addfile(info, io.BytesIO(data))
    return tampered


def test_damaged_bundle_fails_and_what_needs_it_is_skipped(tmp_path, not_a_jetson):
    record = selftest.run_selftest(bundle_path=_corrupted_copy(tmp_path))
    checks = by_name(record)
    assert checks["bundle.unpack"]["status"] == "failed"
    assert "damaged.tar.gz" in checks["bundle.unpack"]["why"] \
        or "CRC" in checks["bundle.unpack"]["why"] or "damaged" in checks["bundle.unpack"]["why"]
    assert checks["onnxruntime.fp32"]["status"] == "skipped"
    assert checks["onnxruntime.fp32"]["why"] == "needs bundle.unpack, which failed"
    assert record["passed"] is False and record["summary"]["failed"] == 1


def test_tampered_bundle_fails_on_its_hash(tmp_path, not_a_jetson):
    record = selftest.run_selftest(bundle_path=_tampered_copy(tmp_path))
    unpack = by_name(record)["bundle.unpack"]
    assert unpack["status"] == "failed"
    assert "does not match its hash in the manifest" in unpack["why"]


def test_damaged_shipped_bundle_exits_1_after_writing_the_record(tmp_path, run_cli,
                                                                 not_a_jetson, monkeypatch):
    monkeypatch.setattr(selftest, "SHIPPED_BUNDLE", _corrupted_copy(tmp_path))
    out = str(tmp_path / "selftest.json")
    result = run_cli("selftest", "-o", out)
    assert result.exit_code == 1, result.output
    assert "self-test FAILED: bundle.unpack" in result.output
    assert "bundle.unpack FAILED" in result.output
    assert json.load(open(out))["passed"] is False


def test_shipped_bundle_is_small_and_described():
    assert 10 * 1024 < os.path.getsize(selftest.SHIPPED_BUNDLE) < 100 * 1024
    readme = open(os.path.join(os.path.dirname(selftest.SHIPPED_BUNDLE), "README.md")).read()
    assert "scripts/make_selftest_bundle.py" in readme and "edgec pack" in readme


# -- The TensorRT branch's bookkeeping, as pure functions -------------------------------------

def test_psnr_thresholds():
    assert selftest.psnr_threshold("fp32") == selftest.FP32_PSNR_DB  # CPU: no TF32
    assert selftest.psnr_threshold("fp32", "7.2") == selftest.FP32_PSNR_DB  # Xavier
    assert selftest.psnr_threshold("fp32", "5.3") == selftest.FP32_PSNR_DB  # Nano
    assert selftest.psnr_threshold("fp32", "8.7") == selftest.FP32_TF32_PSNR_DB  # Orin: TF32
    fp32 = selftest.psnr_threshold("fp32", "8.7")
    assert fp32 > selftest.psnr_threshold("fp16") > selftest.psnr_threshold("int8")
    assert selftest.psnr_threshold("mix") >= selftest.psnr_threshold("int8")
    with pytest.raises(EdgecError):
        selftest.psnr_threshold("fp8")


def test_thresholds_leave_room_below_what_the_workstation_measured():
    """Each quantized precision's threshold sits at least 10 dB under the PSNR the workstation
    measured for the shipped bundle in ONNX Runtime (quality.json)."""
    with tarfile.open(selftest.SHIPPED_BUNDLE) as archive:
        quality = json.loads(archive.extractfile(artifacts.QUALITY_JSON).read().decode())
    for precision in ("fp16", "int8", "mix"):
        measured = selftest.workstation_psnr(quality, precision)
        assert measured is not None
        assert measured - selftest.psnr_threshold(precision) >= 10, (precision, measured)


def test_compare_clocks():
    good = selftest.compare_clocks([(1.0, 1.05), (1.1, 1.12), (0.9, 0.95)] * 10)
    assert good["passed"] and good["runs"] == 30 and good["runs_host_behind_events"] == 0
    assert good["host_minus_event_ms"]["median"] == pytest.approx(0.05)
    # Within the events' resolution counts as equal.
    assert selftest.compare_clocks([(1.0, 1.0 - selftest.EVENT_RESOLUTION_MS / 2)])["passed"]
    behind = selftest.compare_clocks([(1.0, 1.05)] * 9 + [(1.0, 0.8)])
    assert not behind["passed"] and behind["runs_host_behind_events"] == 1
    assert "read less than the CUDA events" in behind["problems"][0]
    far = selftest.compare_clocks([(1.0, 3.5)] * 5)
    assert not far["passed"] and "over the 1.000 ms allowed" in far["problems"][0]
    # A slow engine may take a quarter of its event time outside the events.
    slow = selftest.compare_clocks([(40.0, 48.0)] * 5)
    assert slow["passed"] and slow["allowed_gap_ms"] == 10.0
    assert not selftest.compare_clocks([(0.0, 0.1)])["passed"]
    with pytest.raises(EdgecError):
        selftest.compare_clocks([])


def test_polygraphy_gate():
    assert selftest.polygraphy_gate("0.49.6", "8.5.2.2") == (True, None)
    assert selftest.polygraphy_gate("0.53.6", "11.4.0.106") == (True, None)
    ok, why = selftest.polygraphy_gate(None, "10.13.0")
    assert not ok and "not installed" in why
    ok, why = selftest.polygraphy_gate("0.49.5", "10.13.0")
    assert not ok and "older than 0.49.6" in why
    ok, why = selftest.polygraphy_gate("0.49.6", "8.2.1.8")  # JetPack 4.6
    assert not ok and "8.5 and newer" in why
    ok, why = selftest.polygraphy_gate("0.49.6", None)
    assert not ok and why == selftest.NO_TENSORRT


def test_polygraphy_build_plan():
    assert selftest.polygraphy_build_plan("fp32", "8.5.2") == ("model.onnx", {})
    assert selftest.polygraphy_build_plan("fp16", "8.5.2") == ("model.onnx", {"fp16": True})
    assert selftest.polygraphy_build_plan("fp16", "10.13.0") == ("model.onnx", {"fp16": True})
    # TensorRT 11 is strongly typed only: no precision flags, the FP16 ONNX.
    assert selftest.polygraphy_build_plan("fp16", "11.4.0") == ("model.fp16.onnx", {})
    assert selftest.polygraphy_build_plan("fp32", "11.4.0") == ("model.onnx", {})
    with pytest.raises(EdgecError):
        selftest.polygraphy_build_plan("int8", "10.13.0")


def test_onnxruntime_gate_and_versions():
    assert selftest.version_tuple("8.5.2.2") == (8, 5, 2, 2)
    assert selftest.version_tuple("1.10.0+cpu") == (1, 10, 0)
    assert selftest.version_tuple("0.49.6rc1") == (0, 49, 6)
    assert selftest.version_tuple("unknown") is None and selftest.version_tuple(None) is None
    ok, why = selftest.onnxruntime_gate("1.10.0", 17)  # Python 3.6's last onnxruntime
    assert not ok and "opset 17" in why and "1.12" in why
    assert selftest.onnxruntime_gate("1.10.0", 13) == (True, None)
    assert selftest.onnxruntime_gate("1.12.1", 17) == (True, None)
    assert selftest.onnxruntime_gate("1.32.0", None) == (True, None)
    ok, why = selftest.onnxruntime_gate(None, 17)
    assert not ok and "not installed" in why


def _rows(precisions):
    return [{"name": name, "type": "Convolution", "precision": p} for name, p in precisions]


def test_check_layer_precisions():
    assert selftest.check_layer_precisions("fp32", _rows([("a", "fp32"), ("b", "fp32")]))[
        "passed"]
    bad = selftest.check_layer_precisions("fp32", _rows([("a", "fp32"), ("b", "fp16")]))
    assert not bad["passed"] and "run in FP16: b" in bad["problems"][0]
    assert not selftest.check_layer_precisions("fp16", _rows([("a", "int8")]))["passed"]
    none = selftest.check_layer_precisions("int8", _rows([("a", "fp16")]))
    assert not none["passed"] and "no layer of the INT8 engine" in none["problems"][0]
    plan = {"stem": {"planned": "fp16", "built": "fp16", "engine_layer": "stem"},
            "up": {"planned": "int8", "built": "fp16", "engine_layer": "up + relu"},
            "head": {"planned": "fp16", "built": None, "engine_layer": None}}
    mix = selftest.check_layer_precisions("mix", _rows([("stem", "fp16")]), plan)
    assert not mix["passed"] and "up planned int8, built fp16" in mix["problems"][0]
    assert mix["plan"] == {"honoured": ["stem"], "mismatched": [mix["plan"]["mismatched"][0]],
                           "unknown": ["head"]}
    unknown = selftest.check_layer_precisions("mix", [], {"head": plan["head"]})
    assert unknown["passed"] and unknown["undecided"]
    from edgec.runtime.trt.layers import is_reformat_layer, planned_vs_built

    assert is_reformat_layer({"name": "Reformatting CopyNode for Input Tensor 0 to stem",
                              "type": "Reformat"})
    assert not is_reformat_layer({"name": "stem + /relu/Relu", "type": "Convolution"})
    rows = [{"name": "Reformatting CopyNode for Input Tensor 0 to stem + /relu/Relu",
             "type": "Reformat", "precision": "fp32"},
            {"name": "stem + /relu/Relu", "type": "CaskConvolution", "precision": "fp16"}]
    assert planned_vs_built({"stem": "fp16"}, rows)["stem"]["built"] == "fp16"


def test_compare_layer_precisions():
    result = selftest.compare_layer_precisions(_rows([("a", "fp16"), ("b", "fp16"), ("c", "int8")]),
                                               _rows([("a", "fp16"), ("b", "fp32"), ("d", "fp16")]))
    assert result["common_layers"] == 2 and result["differ"] == ["b: edgec fp16, Polygraphy fp32"]
    assert result["edgec_only"] == 1 and result["polygraphy_only"] == 1


def test_a_check_that_raises_is_recorded_and_the_next_runs():
    checks = selftest.Checks()

    def broken():
        return {}["missing"]
    checks.run("first", broken)
    checks.run("second", lambda: selftest.passed("ok"))
    checks.run("third", lambda: selftest.passed("ok"), needs=["first"])
    first, second, third = checks.records
    assert first["status"] == "failed" and first["why"].startswith("unexpected KeyError")
    assert any("broken" in line for line in first["messages"])
    assert second["status"] == "passed"
    assert third["status"] == "skipped" and third["why"] == "needs first, which failed"


# -- The TensorRT branch end to end: real builder and runner, doubles of TensorRT and CUDA ----

@pytest.fixture(params=["8.2", "10.13"])
def tensorrt_double(request, monkeypatch):
    """TensorRT 8.2 (bindings, calibrator, layer constraints) or 10.13 (named tensors, strongly
    typed), recording every call; CUDA likewise."""
    import trt_doubles

    return trt_doubles.install(monkeypatch, request.param)


ENGINE_CHECKS = ["%s.%s" % (kind, p) for p in artifacts.PRECISIONS
                 for kind in ("build", "reference", "layers")]


def test_tensorrt_branch_runs_every_check_through_the_real_builder(tmp_path, tensorrt_double,
                                                                   not_a_jetson):
    import trt_doubles

    trt = tensorrt_double
    keep = str(tmp_path / "kept")
    record = selftest.run_selftest(keep_dir=keep, clock_runs=5)
    checks = by_name(record)
    assert record["environment"]["tensorrt"] == trt.__version__
    for name in ENGINE_CHECKS + ["timing_cache", "dla", "clocks"]:
        assert name in checks, name
    for precision in artifacts.PRECISIONS:
        # Each build went through edgec's builder into the double: what it wrote is the marker.
        assert checks["build." + precision]["status"] == "passed", checks["build." + precision]
        engine = os.path.join(keep, precision, artifacts.engine_file(precision))
        with open(engine, "rb") as handle:
            assert handle.read() == trt_doubles.ENGINE_MARKER
        # ...and the runner ran it: the double computes nothing, so the outputs are zeros and
        # the reference check fails, as it must for an engine that computes nothing.
        reference = checks["reference." + precision]
        assert reference["status"] == "failed", reference
    builds = trt.entries("Builder.build_serialized_network")
    assert len(builds) >= len(artifacts.PRECISIONS) + 1  # + the timing cache's second build
    run_api = ("IExecutionContext.execute_async_v2" if trt.__version__.startswith("8.2")
               else "IExecutionContext.execute_async_v3")
    assert trt.entries(run_api)
    # The inspector of a double reports no layers: nothing about precisions can be read back.
    assert checks["layers.fp32"]["status"] == "failed"
    assert "reported no layers" in checks["layers.fp32"]["why"]
    assert checks["dla"]["status"] == "skipped" and "not a Jetson" in checks["dla"]["why"]
    assert checks["polygraphy.fp32"]["status"] == "skipped"
    assert record["passed"] is False and record["kept_in"] == os.path.abspath(keep)


def test_tensorrt_build_failure_carries_tensorrts_message(tmp_path, run_cli, monkeypatch,
                                                         not_a_jetson):
    import trt_doubles

    trt_doubles.install(monkeypatch, "8.5", build_error="out of memory building enc1.2")
    out = str(tmp_path / "selftest.json")
    result = run_cli("selftest", "--json", "-o", out)
    assert result.exit_code == 1, result.output
    checks = by_name(json.load(open(out)))
    assert json.loads(result.stdout) == json.load(open(out))
    assert checks["build.fp16"]["status"] == "failed"
    assert "out of memory building enc1.2" in checks["build.fp16"]["why"]
    assert checks["reference.fp16"]["why"] == "needs build.fp16, which failed"


def test_nano_skips_int8_and_dla(tmp_path, monkeypatch):
    import trt_doubles

    trt_doubles.install(monkeypatch, "8.2")
    root = jetson_root(str(tmp_path / "root"), NANO)
    checks = by_name(selftest.run_selftest(jetson_root=root, clock_runs=5,
                                           tegrastats_timeout_s=0.5))
    for precision in ("int8", "mix"):
        assert checks["build." + precision]["status"] == "skipped"
        assert "Jetson Nano's GPU has no INT8" in checks["build." + precision]["why"]
    assert checks["build.fp16"]["status"] == "passed"
    assert checks["dla"]["why"] == "the Jetson Nano has no DLA"
