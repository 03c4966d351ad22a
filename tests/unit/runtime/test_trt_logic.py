"""The TensorRT code's decisions, tested without TensorRT: which API path each version takes,
how a plan maps to network layers, what the engine report says, and when an engine is refused."""
import json

import pytest

from edgec import artifacts
from edgec.errors import EdgecError
from edgec.runtime.trt import layers as trt_layers
from edgec.runtime.trt.builder import EngineSettings, calibration_cache_for, parse_batch_range
from edgec.runtime.trt.sidecar import check_compatible, make_sidecar, read_sidecar, write_sidecar
from edgec.runtime.trt.versions import ApiPaths, BuildStrategy, dla_settings


@pytest.mark.parametrize("version, workspace, execution, network_flags, header", [
    ("8.2.1.8", "max_workspace_size", "bindings_v2", ["EXPLICIT_BATCH"],
     "TRT-8201-EntropyCalibration2"),
    ("8.4.1", "memory_pool_limit", "bindings_v2", ["EXPLICIT_BATCH"],
     "TRT-8401-EntropyCalibration2"),
    ("8.5.2.2", "memory_pool_limit", "tensor_address_v3", ["EXPLICIT_BATCH"],
     "TRT-8502-EntropyCalibration2"),
    ("10.3.0", "memory_pool_limit", "tensor_address_v3", ["STRONGLY_TYPED"],
     "TRT-100300-EntropyCalibration2"),
    ("11.4.0", "memory_pool_limit", "tensor_address_v3", [], "TRT-110400-EntropyCalibration2"),
])
def test_api_path_per_version(version, workspace, execution, network_flags, header):
    paths = ApiPaths(version)
    assert paths.workspace == workspace
    assert paths.execution == execution
    assert paths.network_flags == network_flags
    assert paths.strongly_typed is (paths.number[0] >= 10)
    assert paths.builder_precision_flags is (not paths.strongly_typed)
    assert paths.deconv_weight_axis == (0 if paths.number[0] < 10 else 1)
    assert paths.calibration_cache_header() == header


def test_too_old_tensorrt_is_refused():
    with pytest.raises(EdgecError, match="too old"):
        ApiPaths("7.1.3")


def test_build_strategy_tensorrt8_uses_flags_calibrator_and_constraints():
    paths = ApiPaths("8.2.1")
    fp16, int8, mix = (BuildStrategy(paths, p) for p in ("fp16", "int8", "mix"))
    assert fp16.onnx_file == int8.onnx_file == mix.onnx_file == "model.onnx"
    assert fp16.flags == ["FP16"] and not fp16.calibrator
    assert int8.flags == ["FP16", "INT8"] and int8.calibrator and not int8.layer_constraints
    assert mix.flags == ["FP16", "INT8", "OBEY_PRECISION_CONSTRAINTS"]
    assert mix.layer_constraints and mix.needed_files() == ["model.onnx", "calib.cache",
                                                            "plan.json"]
    assert BuildStrategy(paths, "fp32").flags == []


@pytest.mark.parametrize("version", ["10.13.0", "11.4.0"])
def test_build_strategy_strongly_typed_takes_precision_from_the_onnx(version):
    paths = ApiPaths(version)
    for precision in ("fp16", "int8", "mix"):
        strategy = BuildStrategy(paths, precision)
        assert strategy.onnx_file == "model.%s.onnx" % precision
        assert strategy.network_flags == paths.network_flags
        assert strategy.flags == [] and not strategy.calibrator
        assert not strategy.layer_constraints
    assert BuildStrategy(paths, "fp32").onnx_file == "model.onnx"
    with pytest.raises(EdgecError, match="unknown precision"):
        BuildStrategy(paths, "int4")


def test_dla_settings():
    assert dla_settings(None, "fp32") is None
    assert dla_settings(1, "int8") == {"core": 1, "gpu_fallback": True}
    with pytest.raises(EdgecError, match="no FP32"):
        dla_settings(0, "fp32")
    with pytest.raises(EdgecError, match="no DLA"):
        dla_settings(0, "fp16", soc_has_dla=False)


@pytest.mark.parametrize("version, has_dla", [("8.2.1", True), ("8.6.2", True), ("10.3.0", True),
                                              ("10.7.0", True), ("10.8.0", False),
                                              ("10.16.1", False), ("11.4.0", False),
                                              ("11.4.1", True)])
def test_dla_by_tensorrt_version(version, has_dla):
    """No DLA from 10.8 until 11.4.1: JetPack 7.2's TensorRT 10.16 refuses --dla-core by name;
    JetPack 6.2's 10.3 keeps it."""
    paths = ApiPaths(version)
    assert paths.dla is has_dla and paths.to_dict()["dla"] is has_dla
    if has_dla:
        assert dla_settings(0, "int8", paths=paths) == {"core": 0, "gpu_fallback": True}
    else:
        with pytest.raises(EdgecError, match="TensorRT %s has no DLA" % version):
            dla_settings(0, "int8", paths=paths)


def test_engine_settings_and_batch_range():
    assert parse_batch_range("4") == (4, 4, 4)
    assert parse_batch_range("1:4:8") == (1, 4, 8)
    for bad in ("1:8", "a", "1:2:x"):
        with pytest.raises(EdgecError):
            parse_batch_range(bad)
    with pytest.raises(EdgecError, match="min <= opt <= max"):
        EngineSettings("fp16", batch=(4, 2, 8))


NETWORK = [("enc0.0", "CONVOLUTION"), ("Relu_1", "ACTIVATION"), ("enc1.2", "CONVOLUTION"),
           ("enc1.20", "CONVOLUTION"), ("dec0.0", "DECONVOLUTION"),
           ("dec0.0_bias", "ELEMENTWISE"), ("out.1", "CONVOLUTION"),
           ("out.1 [cast]", "CONVOLUTION")]


def test_plan_maps_to_network_layers_by_node_name():
    plan = {"enc0.0": "fp16", "enc1.2": "int8", "dec0.0": "int8", "out.1": "fp16",
            "audio.3": "int8"}
    mapped, unmapped = trt_layers.map_plan_to_layers(plan, NETWORK)
    assert mapped["enc1.2"] == ["enc1.2"]  # not enc1.20
    assert mapped["dec0.0"] == ["dec0.0"]  # the bias elementwise is not constrained
    assert mapped["out.1"] == ["out.1", "out.1 [cast]"]
    assert unmapped == ["audio.3"]  # listed, not dropped


def _plan_file(tmp_path, precisions):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"format": artifacts.PLAN_FORMAT, "precisions": precisions}))
    return str(path)


def test_engine_build_reads_plan_layers(tmp_path):
    """What the MIX engine build reads from plan.json: FP16 and INT8 layers only."""
    def read(path):
        return artifacts.read_plan(path, artifacts.ENGINE_LAYER_PRECISIONS)

    assert read(_plan_file(tmp_path, {"a": "fp16", "b": "int8"})) == {"a": "fp16", "b": "int8"}
    with pytest.raises(EdgecError, match="other than fp16/int8"):
        read(_plan_file(tmp_path, {"a": "fp8"}))
    with pytest.raises(EdgecError, match="other than fp16/int8"):
        read(_plan_file(tmp_path, {"a": "fp32"}))  # TensorRT MIX builds pin FP16/INT8 only
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(EdgecError, match="bad.json is not valid JSON"):
        read(str(bad))


# The shape of IEngineInspector's JSON (ProfilingVerbosity.DETAILED), as TensorRT 8.2+ prints it.
ENGINE_INFO = json.dumps({"Layers": [
    {"Name": "enc0.0 + Relu_1", "LayerType": "CaskConvolution",
     "Inputs": [{"Name": "face", "Format/Datatype": "Row major linear FP16 format"}],
     "Outputs": [{"Name": "t1", "Format/Datatype": "Row major linear FP16 format"}]},
    {"Name": "enc1.2 + Add_7 + Relu_8", "LayerType": "CaskConvolution",
     "Inputs": [{"Name": "t1",
                 "Format/Datatype": "Thirty-two wide channel vectorized row major Int8 format"}],
     "Outputs": [{"Name": "t2", "Format/Datatype": "Channel major FP16 format"}]},
    {"Name": "Reformatting CopyNode for Input Tensor 0 to out.1", "LayerType": "Reformat",
     "Inputs": [{"Format/Datatype": "Float"}], "Outputs": [{"Format/Datatype": "Half"}]},
    {"Name": "PWN(out.1, Sigmoid_9)", "LayerType": "PointWiseV2",
     "Inputs": [{"Format/Datatype": "Row major linear FP32"}],
     "Outputs": [{"Format/Datatype": "Row major linear FP32"}]},
    "an ONELINE entry is skipped",
]})


def test_engine_report_precisions_and_planned_vs_built():
    rows = trt_layers.engine_layer_precisions(ENGINE_INFO)
    assert [r["precision"] for r in rows] == ["fp16", "int8", "fp32", "fp32"]
    report = trt_layers.planned_vs_built(
        {"enc0.0": "fp16", "enc1.2": "int8", "out.1": "fp16", "dec3.0": "int8"}, rows)
    assert report["enc0.0"]["built"] == "fp16"
    assert report["enc1.2"] == {"planned": "int8", "built": "int8",
                                "engine_layer": "enc1.2 + Add_7 + Relu_8"}
    assert report["out.1"]["built"] == "fp32"  # a planned FP16 layer that ran FP32 shows
    assert report["dec3.0"]["built"] is None  # not found: unknown, not guessed
    with pytest.raises(EdgecError, match="not JSON"):
        trt_layers.engine_layer_precisions("{")


def test_calibration_cache_header_is_rewritten_for_the_running_tensorrt(tmp_path):
    path = tmp_path / "calib.cache"
    path.write_text(artifacts.format_calib_cache({"face": 0.0078125, "t1": 0.5}))
    served = calibration_cache_for(ApiPaths("8.5.2"), str(path)).decode()
    header, scales = artifacts.parse_calib_cache(served)
    assert header == "TRT-8502-EntropyCalibration2"
    assert scales == {"face": 0.0078125, "t1": 0.5}


DEVICE = {"name": "Xavier", "compute_capability": "7.2"}


def test_sidecar_round_trip_and_mismatch_errors(tmp_path):
    engine = str(tmp_path / "model.mix.engine")
    sidecar = make_sidecar("8.5.2.2", DEVICE, "mix", str(tmp_path / "model.onnx"), "ab" * 32,
                           {"workspace_mib": 1024}, {}, 12.5)
    write_sidecar(engine, sidecar)
    loaded = read_sidecar(engine)
    assert loaded["precision"] == "mix" and loaded["tensorrt"] == "8.5.2.2"
    assert check_compatible(engine, loaded, "8.5.2.2", DEVICE) == []
    with pytest.raises(EdgecError) as info:
        check_compatible(engine, loaded, "8.2.1.8", {"name": "NVIDIA Tegra X1",
                                                     "compute_capability": "5.3"})
    message = info.value.message
    assert "built for Xavier (compute capability 7.2) with TensorRT 8.5.2.2" in message
    assert "TensorRT 8.2.1.8 here" in message and "compute capability 5.3 here" in message
    assert "edgec build --bundle" in message
    with pytest.raises(EdgecError, match="TensorRT 8.5.2.1 here"):
        check_compatible(engine, loaded, "8.5.2.1", DEVICE)
    warnings = check_compatible(engine, loaded, "8.5.2.2", {"name": "Xavier NX",
                                                            "compute_capability": "7.2"})
    assert len(warnings) == 1 and "timed on the other GPU" in warnings[0]


def test_damaged_sidecar_is_named(tmp_path):
    engine = str(tmp_path / "model.engine")
    assert read_sidecar(engine) is None
    (tmp_path / "model.engine.json").write_text("{oops")
    with pytest.raises(EdgecError, match="model.engine.json is not valid JSON"):
        read_sidecar(engine)
