"""edgec's real TensorRT builder and runner against per-version doubles of the `tensorrt` module
(tests/trt_doubles.py, generated from the released API surfaces in tests/trt_api): each build
and run is checked for the calls it makes on TensorRT 8.2, 8.5, 10.13 and 11.4.

A double records calls and measures nothing: the engine file these tests see holds the double's
marker (asserted), never an engine, and no figure here comes from one.
"""
import json
import os
import shutil

import numpy as np
import pytest
import trt_doubles
from paths import REPO

from edgec import artifacts
from edgec.errors import EdgecError
from edgec.runtime.bundle import unpack

VERSIONS = trt_doubles.VERSIONS  # 8.2, 8.5, 8.6, 10.3, 10.13, 10.16, 11.4
PRECISIONS = ("fp32", "fp16", "int8", "mix")
BUNDLE = os.path.join(REPO, "edgec",
                      "data", "selftest", "bundle.tar.gz")
DOUBLE_DEVICE = {"name": "test double", "compute_capability": "0.0"}


@pytest.fixture(scope="module")
def bundle_files(tmp_path_factory):
    """The selftest bundle's files (FP32, FP16, INT8 and MIX ONNX, calib.cache, plan.json):
    what a device gets."""
    folder = str(tmp_path_factory.mktemp("bundle"))
    unpack(BUNDLE, folder)
    return folder


@pytest.fixture
def folder(bundle_files, tmp_path):
    target = str(tmp_path / "build")
    shutil.copytree(bundle_files, target)
    return target


def _build(monkeypatch, folder, version, precision, **settings):
    from edgec.runtime.trt.builder import EngineSettings, build_engine

    trt = trt_doubles.install(monkeypatch, version)
    options = EngineSettings(precision, **settings)
    engine_path = os.path.join(folder, artifacts.engine_file(precision))
    sidecar = build_engine(folder, precision, engine_path, options, DOUBLE_DEVICE,
                           trt.__version__)
    return trt, sidecar, engine_path


def _export_inputs(folder):
    with open(os.path.join(folder, artifacts.EXPORT_JSON)) as handle:
        return json.load(handle)["inputs"]


def _calls(trt, pattern):
    """(args, kwargs) of each journaled call whose name matches."""
    return [(entry.args, entry.kwargs) for entry in trt.entries(pattern)]


def _major(version):
    return int(version.split(".")[0])


def _flag_names(trt, pattern):
    return [str(args[0]).split(".")[-1] for args, _ in _calls(trt, pattern)]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("precision", PRECISIONS)
def test_build_call_sequence(monkeypatch, folder, version, precision):
    trt, sidecar, engine_path = _build(monkeypatch, folder, version, precision,
                                       batch=(1, 2, 4))
    weak = _major(version) < 10
    # Network flags: explicit batch on 8.x, strongly typed on 10, none on 11 (the only mode).
    (flags,), _ = _calls(trt, "Builder.create_network")[0]
    expected = {8: ["EXPLICIT_BATCH"], 10: ["STRONGLY_TYPED"], 11: []}[_major(version)]
    assert flags == sum(1 << int(getattr(trt.NetworkDefinitionCreationFlag, name))
                        for name in expected)
    # The ONNX file: the FP32 graph plus flags on 8.x, the precision's own file on 10+.
    parsed = _calls(trt, "OnnxParser.parse")[0][1]["path"]
    assert os.path.basename(parsed) == (artifacts.MODEL_ONNX if weak
                                        else artifacts.model_onnx(precision))
    # Workspace: max_workspace_size before 8.4, the memory pool API after.
    if version == "8.2":
        assert _calls(trt, "IBuilderConfig.max_workspace_size=") == [((1024 << 20,), {})]
        assert not _calls(trt, "IBuilderConfig.set_memory_pool_limit")
    else:
        (pool, size), _ = _calls(trt, "IBuilderConfig.set_memory_pool_limit")[0]
        assert pool == trt.MemoryPoolType.WORKSPACE and size == 1024 << 20
    # Precision: builder flags, the cache calibrator and layer constraints on 8.x only.
    flags_set = _flag_names(trt, "IBuilderConfig.set_flag")
    calibrator_reads = _calls(trt, "callback IInt8EntropyCalibrator2.read_calibration_cache")
    constraints = _calls(trt, "ILayer.precision=")
    if weak:
        assert flags_set == {"fp32": [], "fp16": ["FP16"], "int8": ["FP16", "INT8"],
                             "mix": ["FP16", "INT8", "OBEY_PRECISION_CONSTRAINTS"]}[precision]
        assert bool(_calls(trt, "IBuilderConfig.int8_calibrator=")) == (precision in
                                                                       ("int8", "mix"))
        assert len(calibrator_reads) == (1 if precision in ("int8", "mix") else 0)
        assert bool(constraints) == (precision == "mix")
    else:
        assert flags_set == [] and not calibrator_reads and not constraints
        assert not _calls(trt, "IBuilderConfig.int8_calibrator=")
    assert not _calls(trt, "note int8_without_calibrator")
    # One profile over the batch axis.
    (name, low, opt, high), _ = _calls(trt, "IOptimizationProfile.set_shape")[0]
    (model_input,) = _export_inputs(folder)
    assert [low[0], opt[0], high[0]] == [1, 2, 4] and name == model_input["name"]
    assert list(low)[1:] == list(high)[1:] == model_input["shape"][1:]
    # Detailed profiling for the inspector, whose report a double cannot fill.
    verbosity = _calls(trt, "IBuilderConfig.profiling_verbosity=")
    assert verbosity == [((trt.ProfilingVerbosity.DETAILED,), {})]
    assert sidecar["layers"]["available"] and sidecar["layers"]["engine_layers"] == []
    memory_attr = "device_memory_size_v2" if _major(version) >= 10 else "device_memory_size"
    assert trt.entries("get ICudaEngine." + memory_attr)
    # What was written is the double's marker, passed through unchanged: not an engine.
    with open(engine_path, "rb") as handle:
        assert handle.read() == trt_doubles.ENGINE_MARKER
    assert sidecar["settings"]["strategy"]["builder_flags"] == flags_set
    with open(artifacts.engine_sidecar(engine_path)) as handle:
        assert json.load(handle)["precision"] == precision


@pytest.mark.parametrize("version", [v for v in VERSIONS if v.startswith("8.")])
def test_mix_plan_becomes_layer_constraints(monkeypatch, folder, version):
    trt, sidecar, _ = _build(monkeypatch, folder, version, "mix")
    plan = artifacts.read_plan(os.path.join(folder, artifacts.PLAN_JSON))
    mapping = sidecar["layers"]["plan_mapping"]
    assert mapping["unmapped"] == [] and sorted(mapping["mapped"]) == sorted(plan)
    set_precisions = [args[0] for args, _ in _calls(trt, "ILayer.precision=")]
    half = [p for p in plan.values() if p == "fp16"]
    assert set_precisions.count(trt.DataType.HALF) == len(half)
    assert set_precisions.count(trt.DataType.INT8) == len(plan) - len(half)
    # FP16 layers also get HALF outputs; INT8 layers keep theirs.
    assert [args[1] for args, _ in _calls(trt, "ILayer.set_output_type")] == \
        [trt.DataType.HALF] * len(_calls(trt, "ILayer.set_output_type"))
    assert len(_calls(trt, "ILayer.set_output_type")) >= len(half)


def test_plan_layer_without_a_network_layer_is_refused(monkeypatch, folder):
    plan_path = os.path.join(folder, artifacts.PLAN_JSON)
    with open(plan_path) as handle:
        plan = json.load(handle)
    plan["precisions"]["no.such.layer"] = "fp16"
    with open(plan_path, "w") as handle:
        json.dump(plan, handle)
    with pytest.raises(EdgecError) as caught:
        _build(monkeypatch, folder, "8.5", "mix")
    assert "no.such.layer" in caught.value.message and "--allow-unmapped-layers" in \
        caught.value.message
    trt, sidecar, _ = _build(monkeypatch, folder, "8.5", "mix", allow_unmapped=True)
    assert sidecar["layers"]["plan_mapping"]["unmapped"] == ["no.such.layer"]


@pytest.mark.parametrize("version", VERSIONS)
def test_timing_cache_read_then_written(monkeypatch, folder, tmp_path, version):
    cache = str(tmp_path / "timing.cache")
    trt, _, _ = _build(monkeypatch, folder, version, "fp16", timing_cache=cache)
    names = trt.names(reads=False)
    order = [names.index(n) for n in ("IBuilderConfig.create_timing_cache",
                                      "IBuilderConfig.set_timing_cache",
                                      "Builder.build_serialized_network",
                                      "IBuilderConfig.get_timing_cache",
                                      "ITimingCache.serialize")]
    assert order == sorted(order)
    assert _calls(trt, "IBuilderConfig.create_timing_cache")[0][0] == (b"",)  # a new cache
    with open(cache, "rb") as handle:
        assert handle.read() == trt_doubles.TIMING_CACHE_MARKER
    trt, _, _ = _build(monkeypatch, folder, version, "fp16", timing_cache=cache)
    assert _calls(trt, "IBuilderConfig.create_timing_cache")[0][0] == \
        (trt_doubles.TIMING_CACHE_MARKER,)  # the second build reads what the first wrote


def test_timing_cache_from_elsewhere_is_refused(monkeypatch, folder, tmp_path):
    from edgec.runtime.trt.builder import EngineSettings, build_engine

    trt = trt_doubles.install(monkeypatch, "8.5", timing_cache_mismatch=True)
    cache = tmp_path / "other.cache"
    cache.write_bytes(b"from another device")
    with pytest.raises(EdgecError, match="does not fit this TensorRT/GPU"):
        build_engine(folder, "fp16", os.path.join(folder, "x.engine"),
                     EngineSettings("fp16", timing_cache=str(cache)), DOUBLE_DEVICE,
                     trt.__version__)


@pytest.mark.parametrize("version", VERSIONS)
def test_dla_with_gpu_fallback(monkeypatch, folder, version):
    from edgec.runtime.trt.versions import ApiPaths

    if not ApiPaths(trt_doubles.make_tensorrt(version).__version__).dla:
        # 10.8 to 11.4.0: no DLA in TensorRT; the build is refused by name, nothing is set
        with pytest.raises(EdgecError, match="has no DLA support"):
            _build_with(monkeypatch, folder, version, "fp16", {"dla_cores": 2}, dla_core=1)
        return
    trt, _, _ = _build_with(monkeypatch, folder, version, "fp16", {"dla_cores": 2},
                            dla_core=1)
    assert _calls(trt, "IBuilderConfig.default_device_type=") == [((trt.DeviceType.DLA,), {})]
    assert _calls(trt, "IBuilderConfig.DLA_core=") == [((1,), {})]
    assert "GPU_FALLBACK" in _flag_names(trt, "IBuilderConfig.set_flag")
    with pytest.raises(EdgecError, match="has 2 DLA cores"):
        _build_with(monkeypatch, folder, version, "fp16", {"dla_cores": 2}, dla_core=2)
    with pytest.raises(EdgecError, match="has no DLA"):
        _build_with(monkeypatch, folder, version, "fp16", {"dla_cores": 0}, dla_core=0)


def _place_on_dla(folder, layers):
    """Give the folder's plan.json a placement: `layers` on the DLA, the rest on the GPU."""
    plan_path = os.path.join(folder, artifacts.PLAN_JSON)
    with open(plan_path) as handle:
        plan = json.load(handle)
    plan["devices"] = {n: ("dla" if n in layers else "gpu") for n in plan["precisions"]}
    with open(plan_path, "w") as handle:
        json.dump(plan, handle)
    return sorted(plan["precisions"])


@pytest.mark.parametrize("version", VERSIONS)
def test_dla_placement_of_a_plan_is_followed(monkeypatch, folder, version):
    """A plan that places layers on the DLA: with --dla-core exactly those layers are set to
    the DLA (the default device stays the GPU); without it the engine is for the GPU and the
    sidecar says the placement was not followed."""
    from edgec.runtime.trt.versions import ApiPaths

    layers = _place_on_dla(folder, [])
    on_dla = layers[:2]
    _place_on_dla(folder, on_dla)
    if not ApiPaths(trt_doubles.make_tensorrt(version).__version__).dla:
        with pytest.raises(EdgecError, match="has no DLA support"):
            _build_with(monkeypatch, folder, version, "mix", {"dla_cores": 2}, dla_core=0)
        return
    trt, sidecar, _ = _build_with(monkeypatch, folder, version, "mix", {"dla_cores": 2},
                                  dla_core=0)
    placed = [args[0].name for args, _ in _calls(trt, "IBuilderConfig.set_device_type")]
    assert sorted(set(sidecar["layers"]["placement"]["placed"])) == on_dla
    assert placed and all(any(name == n or name.startswith(n) for n in on_dla)
                          for name in placed)
    assert all(args[1] == trt.DeviceType.DLA
               for args, _ in _calls(trt, "IBuilderConfig.set_device_type"))
    assert _calls(trt, "IBuilderConfig.default_device_type=") == []
    assert _calls(trt, "IBuilderConfig.DLA_core=") == [((0,), {})]
    assert sidecar["layers"]["placement"]["followed"] is True

    trt, sidecar, _ = _build_with(monkeypatch, folder, version, "mix", {"dla_cores": 2})
    assert _calls(trt, "IBuilderConfig.set_device_type") == []
    assert sidecar["layers"]["placement"]["followed"] is False
    assert "--dla-core" in sidecar["layers"]["placement"]["why"]

    with pytest.raises(EdgecError) as caught:  # TensorRT says no: named, never a silent GPU
        _build_with(monkeypatch, folder, version, "mix",
                    {"dla_cores": 2, "dla_refused_layers": placed[:1]}, dla_core=0)
    assert placed[0] in caught.value.message and "DLA cannot run it" in caught.value.message


def test_a_placement_naming_no_layer_of_the_network_is_refused(monkeypatch, folder):
    plan_path = os.path.join(folder, artifacts.PLAN_JSON)
    with open(plan_path) as handle:
        plan = json.load(handle)
    plan["precisions"]["no.such.conv"] = "int8"
    plan["devices"] = {"no.such.conv": "dla"}
    with open(plan_path, "w") as handle:
        json.dump(plan, handle)
    with pytest.raises(EdgecError, match="no.such.conv"):
        _build_with(monkeypatch, folder, "8.5", "mix", {"dla_cores": 2}, dla_core=0,
                    allow_unmapped=True)


def _build_with(monkeypatch, folder, version, precision, scenario, **settings):
    from edgec.runtime.trt.builder import EngineSettings, build_engine

    trt = trt_doubles.install(monkeypatch, version, **scenario)
    engine_path = os.path.join(folder, artifacts.engine_file(precision))
    sidecar = build_engine(folder, precision, engine_path, EngineSettings(precision, **settings),
                           DOUBLE_DEVICE, trt.__version__)
    return trt, sidecar, engine_path


def test_parse_and_build_failures_carry_tensorrts_messages(monkeypatch, folder):
    with pytest.raises(EdgecError) as caught:
        _build_with(monkeypatch, folder, "10.13", "int8", {"parse_error": "unsupported op Foo"})
    assert "cannot parse" in caught.value.message and "unsupported op Foo" in \
        caught.value.message
    with pytest.raises(EdgecError) as caught:
        _build_with(monkeypatch, folder, "8.2", "fp16", {"build_error": "out of workspace"})
    assert "could not build" in caught.value.message and "out of workspace" in \
        caught.value.message
    assert not os.path.exists(os.path.join(folder, artifacts.engine_file("fp16")))


@pytest.mark.parametrize("version", VERSIONS)
def test_external_weights_are_found_beside_the_model(monkeypatch, folder, version):
    """A model with its weights in a data file (LatentSync's UNet) parses because the builder
    gives the parser the model's path; without the data file the parser's error is carried."""
    import onnx

    for name in (artifacts.MODEL_ONNX, artifacts.model_onnx("fp16")):
        path = os.path.join(folder, name)
        onnx.save_model(onnx.load(path), path, save_as_external_data=True,
                        all_tensors_to_one_file=True, location=artifacts.onnx_data(name),
                        size_threshold=0)
    trt, _, engine_path = _build(monkeypatch, folder, version, "fp16")
    # 8.x builds FP16 from the FP32 file with the FP16 flag, 10+ from the FP16 file.
    name = artifacts.MODEL_ONNX if _major(version) == 8 else artifacts.model_onnx("fp16")
    parsed = [kwargs.get("path") for _, kwargs in _calls(trt, "*OnnxParser.parse")]
    assert parsed == [os.path.join(folder, name)] and os.path.isfile(engine_path)
    os.remove(os.path.join(folder, artifacts.onnx_data(name)))
    with pytest.raises(EdgecError) as caught:
        _build(monkeypatch, folder, version, "fp16")
    assert "cannot parse" in caught.value.message and "Failed to open file: %s" % \
        artifacts.onnx_data(name) in caught.value.message


def test_missing_bundle_files_are_named(monkeypatch, folder):
    os.remove(os.path.join(folder, artifacts.CALIB_CACHE))
    with pytest.raises(EdgecError) as caught:
        _build(monkeypatch, folder, "8.5", "int8")
    assert "calib.cache" in caught.value.message
    _build(monkeypatch, folder, "10.13", "int8")  # 10+ takes its scales from the Q/DQ ONNX


def test_a_name_the_version_lacks_fails(monkeypatch, folder):
    """Asking TensorRT 11 for the weak-typing FP16 flag is an AttributeError from the double:
    the way these tests catch an API a version does not have."""
    from edgec.runtime.trt import builder
    from edgec.runtime.trt.versions import ApiPaths, BuildStrategy

    trt_doubles.install(monkeypatch, "11.4")
    strategy = BuildStrategy(ApiPaths("11.4.0"), "fp16")
    strategy.flags = ["FP16"]
    monkeypatch.setattr(builder, "BuildStrategy", lambda paths, precision: strategy)
    with pytest.raises(AttributeError, match="FP16"):
        builder.build_engine(folder, "fp16", os.path.join(folder, "x.engine"),
                             builder.EngineSettings("fp16"), DOUBLE_DEVICE, "11.4.0")


def test_fixed_batch_and_extra_dynamic_axes_are_refused(monkeypatch, folder):
    from edgec.runtime.trt.builder import CreateConfig, ParsedNetwork
    from edgec.runtime.trt.versions import ApiPaths, BuildStrategy

    trt = trt_doubles.install(monkeypatch, "8.5")
    paths = ApiPaths("8.5.2")

    def parsed_with_input(shape):
        logger = trt.Logger(trt.Logger.WARNING)
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        network.add_input("image", trt.DataType.FLOAT, trt.Dims(shape))
        return ParsedNetwork(builder, network, None)

    from edgec.runtime.trt.builder import EngineSettings

    config = CreateConfig(paths, BuildStrategy(paths, "fp32"), EngineSettings("fp32",
                                                                              batch=(1, 2, 4)))
    with pytest.raises(EdgecError, match="fixed batch of 1"):
        config(parsed_with_input([1, 3, 32, 32]))
    with pytest.raises(EdgecError, match="dynamic axes other than the batch"):
        config(parsed_with_input([-1, 3, -1, 32]))
    fixed = CreateConfig(paths, BuildStrategy(paths, "fp32"), EngineSettings("fp32"))
    fixed(parsed_with_input([1, 3, 32, 32]))  # batch 1 at batch 1: no profile shape needed
    assert not _calls(trt, "IOptimizationProfile.set_shape")


def test_build_in_folder_without_tensorrt(monkeypatch, folder):
    import sys

    from edgec.runtime.trt.builder import EngineSettings, build_in_folder

    monkeypatch.setitem(sys.modules, "tensorrt", None)
    with pytest.raises(EdgecError, match="TensorRT is not installed"):
        build_in_folder(folder, EngineSettings("fp16"))


@pytest.mark.parametrize("version", VERSIONS)
def test_build_in_folder_uses_the_hosts_device(monkeypatch, folder, version):
    from edgec.runtime.trt.builder import EngineSettings, build_in_folder

    trt = trt_doubles.install(monkeypatch, version)
    sidecar = build_in_folder(folder, EngineSettings("fp16"), {"model": "selftest"})
    assert sidecar["tensorrt"] == trt.__version__
    assert sidecar["source"] == {"model": "selftest"}
    assert trt.entries("cuda.device_info")


@pytest.mark.parametrize("version", VERSIONS)
def test_runner_binds_runs_and_copies(monkeypatch, folder, version):
    from edgec.runtime.trt.runner import TensorRTRunner

    _, _, engine_path = _build(monkeypatch, folder, version, "fp16", batch=(1, 2, 4))
    trt = trt_doubles.install(monkeypatch, version, engine_onnx=os.path.join(
        folder, artifacts.MODEL_ONNX))
    (model_input,) = _export_inputs(folder)
    name, shape = model_input["name"], (2,) + tuple(model_input["shape"][1:])
    feed = {name: np.random.default_rng(0).random(shape).astype(np.float32)}
    with TensorRTRunner(engine_path, batch=2, check_device=False) as runner:
        assert [(t.name, t.shape) for t in runner.inputs()] == [(name, shape)]
        outputs = runner.infer(feed)
        total, compute = runner.timed_infer(feed)
        with pytest.raises(EdgecError, match="has shape"):
            runner.infer({name: feed[name][:1]})
    named = version != "8.2"  # named tensors from 8.5
    if named:
        assert _calls(trt, "IExecutionContext.set_input_shape")[0][0] == (name, shape)
        assert len(_calls(trt, "IExecutionContext.set_tensor_address")) == 2  # input, output
        assert len(_calls(trt, "IExecutionContext.execute_async_v3")) == 2
        assert not trt.entries("IExecutionContext.execute_async_v2")
    else:
        assert _calls(trt, "IExecutionContext.set_binding_shape")[0][0] == (0, shape)
        (kwargs,) = [k for _, k in _calls(trt, "IExecutionContext.execute_async_v2")][:1]
        assert len(kwargs["bindings"]) == 2
        assert not trt.entries("IExecutionContext.execute_async_v3")
    # The input reached the device; the double computes nothing, so outputs stay zeros.
    copies = _calls(trt, "cuda.Stream.copy_to_device")
    assert len(copies) == 2
    assert outputs["output"].shape[0] == 2 and not outputs["output"].any()
    assert (total, compute) == (-1.0, -1.0)  # the cuda double measures nothing
    assert trt.entries("cuda.DeviceBuffer.free") and trt.entries("cuda.Stream.destroy")


def test_runner_refuses_batches_outside_the_profile(monkeypatch, folder):
    from edgec.runtime.trt.runner import TensorRTRunner

    _, _, engine_path = _build(monkeypatch, folder, "8.5", "fp16")
    trt_doubles.install(monkeypatch, "8.5", reject_input_shapes=True,
                        engine_onnx=os.path.join(folder, artifacts.MODEL_ONNX))
    with pytest.raises(EdgecError, match="outside its optimization profile"):
        TensorRTRunner(engine_path, batch=8, check_device=False).activate()


def test_runner_refuses_what_it_cannot_load(monkeypatch, folder, tmp_path):
    from edgec.runtime.trt.runner import TensorRTRunner

    trt_doubles.install(monkeypatch, "10.13")
    with pytest.raises(EdgecError, match="no such file"):
        TensorRTRunner(str(tmp_path / "missing.engine")).activate()
    damaged = tmp_path / "damaged.engine"
    damaged.write_bytes(b"not what the double serialised")
    runner = TensorRTRunner(str(damaged), check_device=False)
    with pytest.raises(EdgecError, match="cannot load engine"):
        runner.activate()
    assert any("no sidecar" in w for w in runner.warnings)


@pytest.mark.parametrize("version", VERSIONS)
def test_profiling_attaches_a_profiler_and_invents_no_times(monkeypatch, folder, version):
    """`bench --profile` on TensorRT: an IProfiler subclass is attached to the context, the
    engine inspector is asked for layer precisions, enqueues run; a double reports no layer
    time, so the runner refuses to write a profile rather than inventing one."""
    from edgec.runtime.trt.runner import TensorRTRunner

    _, _, engine_path = _build(monkeypatch, folder, version, "fp16")
    trt = trt_doubles.install(monkeypatch, version, engine_onnx=os.path.join(
        folder, artifacts.MODEL_ONNX))
    (model_input,) = _export_inputs(folder)
    feed = {model_input["name"]: np.zeros((1,) + tuple(model_input["shape"][1:]), np.float32)}
    with TensorRTRunner(engine_path, batch=1, check_device=False) as runner:
        with pytest.raises(EdgecError, match="reported no layer times"):
            runner.profile_layers(feed, 3)
    (attached,) = _calls(trt, "IExecutionContext.profiler=")
    assert isinstance(attached[0][0], trt.IProfiler)
    assert trt.entries("ICudaEngine.create_engine_inspector")
    enqueue = "execute_async_v3" if version != "8.2" \
        else "execute_async_v2"
    assert len(_calls(trt, "IExecutionContext." + enqueue)) == 3
