"""The TensorRT and CUDA test doubles themselves (tests/trt_doubles.py, tests/cuda_double.py):
each double has exactly its version's API, records instead of computing, mirrors the ONNX it
parses, and calls a calibrator the way TensorRT does."""
import json
import sys

import cuda_double
import numpy as np
import pytest
import trt_doubles
from onnx import TensorProto, helper, numpy_helper
from trt_doubles import (ENGINE_INFORMATION, ENGINE_MARKER, NOT_MEASURED, TIMING_CACHE_MARKER,
                         VERSIONS, make_tensorrt)

from edgec.errors import EdgecError

NAMED_TENSOR_VERSIONS = ("8.5", "10.13", "11.4")  # execute_async_v3; 8.2 has bindings only
INT8_CALIBRATION_VERSIONS = ("8.2", "8.5", "10.13")  # BuilderFlag.INT8 and a calibrator API


def graph_bytes(nodes, initializers, output_shape=("batch", 4, 16, 16)):
    graph = helper.make_graph(
        nodes, "small",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("mask", TensorProto.FLOAT, list(output_shape))],
        initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    return model.SerializeToString()


def conv_deconv_relu():
    """image [batch,3,8,8] -Conv-> features -ConvTranspose(stride 2)-> up -Relu-> mask."""
    weights = [numpy_helper.from_array(np.zeros((8, 3, 3, 3), np.float32), "conv_w"),
               numpy_helper.from_array(np.zeros((8, 4, 2, 2), np.float32), "deconv_w")]
    nodes = [helper.make_node("Conv", ["image", "conv_w"], ["features"], name="enc",
                              pads=[1, 1, 1, 1]),
             helper.make_node("ConvTranspose", ["features", "deconv_w"], ["up"], name="dec",
                              strides=[2, 2]),
             helper.make_node("Relu", ["up"], ["mask"], name="act")]
    return graph_bytes(nodes, weights)


def qdq_conv():
    """Q/DQ in front of a Conv, as the strongly typed INT8 ONNX has them."""
    weights = [numpy_helper.from_array(np.zeros((4, 3, 1, 1), np.float32), "w"),
               numpy_helper.from_array(np.array(0.1, np.float32), "scale"),
               numpy_helper.from_array(np.array(0, np.int8), "zero")]
    nodes = [helper.make_node("QuantizeLinear", ["image", "scale", "zero"], ["q"], name="q"),
             helper.make_node("DequantizeLinear", ["q", "scale", "zero"], ["dq"], name="dq"),
             helper.make_node("Conv", ["dq", "w"], ["mask"], name="conv")]
    return graph_bytes(nodes, weights, output_shape=("batch", 4, 8, 8))


def explicit_batch_flags(trt):
    """The network flags edgec passes: EXPLICIT_BATCH on 8.x, none needed from 10."""
    if trt.surface_key.startswith("8."):
        return 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    return 0


class KeepingLogger(object):
    """Makes an ILogger subclass of a double that keeps what it is told."""

    @staticmethod
    def make(trt):
        class Keeping(trt.ILogger):
            def __init__(self):
                trt.ILogger.__init__(self)
                self.messages = []

            def log(self, severity, msg):
                self.messages.append((str(severity), msg))

        return Keeping()


def parse(trt, model=None):
    logger = KeepingLogger.make(trt)
    builder = trt.Builder(logger)
    network = builder.create_network(explicit_batch_flags(trt))
    parser = trt.OnnxParser(network, logger)
    ok = parser.parse(conv_deconv_relu() if model is None else model, path="model.onnx")
    return ok, builder, network, parser, logger


def build(trt, model=None, configure=None):
    ok, builder, network, parser, logger = parse(trt, model)
    assert ok
    config = builder.create_builder_config()
    if configure is not None:
        configure(config)
    return builder.build_serialized_network(network, config), logger


def make_cache_calibrator(trt, cache, batches=()):
    class Calibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self):
            trt.IInt8EntropyCalibrator2.__init__(self)
            self.pending = list(batches)

        def get_batch_size(self):
            return 1

        def get_batch(self, names):
            return self.pending.pop(0) if self.pending else []

        def read_calibration_cache(self):
            return cache

        def write_calibration_cache(self, cache):
            return None

    return Calibrator()


# -- exactly the version's names -----------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_present_names_work_and_are_journaled(version):
    trt = make_tensorrt(version)
    assert trt.__version__ == trt_doubles.load_surface(version)["version"]
    assert trt.__version__.startswith(version + ".")
    logger = trt.Logger(trt.Logger.WARNING)
    assert trt.init_libnvinfer_plugins(logger, "") is True
    builder = trt.Builder(logger)
    config = builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    assert config.profiling_verbosity is trt.ProfilingVerbosity.DETAILED
    assert config.get_flag(trt.BuilderFlag.GPU_FALLBACK) is True
    assert builder.num_DLA_cores == 0

    assert trt.names(reads=False) == [
        "Logger.__init__", "init_libnvinfer_plugins", "Builder.__init__",
        "Builder.create_builder_config", "IBuilderConfig.set_flag",
        "IBuilderConfig.profiling_verbosity=", "IBuilderConfig.get_flag"]
    assert trt.calls("IBuilderConfig.set_flag") == [(trt.BuilderFlag.GPU_FALLBACK,)]
    assert trt.journal[0] == ("Logger.__init__", (trt.Logger.WARNING,), {})
    assert trt.results("get IBuilderConfig.profiling_verbosity") == [
        trt.ProfilingVerbosity.DETAILED]
    assert trt.results("get Builder.num_DLA_cores") == [0]
    assert make_tensorrt(version, dla_cores=2).Builder(logger).num_DLA_cores == 2


def _config(trt):
    return trt.Builder(trt.Logger(trt.Logger.WARNING)).create_builder_config()


@pytest.mark.parametrize("has, lacks, name, access", [
    ("10.13", "11.4", "BuilderFlag.FP16", lambda trt: trt.BuilderFlag.FP16),
    ("8.5", "8.2", "IExecutionContext.execute_async_v3",
     lambda trt: trt.IExecutionContext.execute_async_v3),
    ("8.2", "10.13", "IBuilderConfig.max_workspace_size",
     lambda trt: _config(trt).max_workspace_size),
    ("10.13", "11.4", "NetworkDefinitionCreationFlag.EXPLICIT_BATCH",
     lambda trt: trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH),
    ("10.13", "11.4", "IInt8EntropyCalibrator2", lambda trt: trt.IInt8EntropyCalibrator2),
    ("8.2", "8.5", "get_nv_onnx_parser_version", lambda trt: trt.get_nv_onnx_parser_version),
])
def test_absent_names_raise_attribute_error_naming_version_and_name(has, lacks, name, access):
    access(make_tensorrt(has))  # exists there
    trt = make_tensorrt(lacks)
    with pytest.raises(AttributeError) as raised:
        access(trt)
    assert name in str(raised.value)
    assert trt.__version__ in str(raised.value)


def test_absent_properties_cannot_be_set():
    config = _config(make_tensorrt("8.2"))
    config.max_workspace_size = 1 << 30
    assert config.max_workspace_size == 1 << 30
    trt = make_tensorrt("10.13")
    config = _config(trt)
    with pytest.raises(AttributeError, match="max_workspace_size"):
        config.max_workspace_size = 1 << 30
    with pytest.raises(AttributeError, match="scratch"):
        config.scratch = 1
    with pytest.raises(AttributeError, match="read-only"):
        config.set_flag = None
    assert "IBuilderConfig.max_workspace_size=" not in trt.names()


def test_bad_arguments_raise_type_error():
    trt = make_tensorrt("8.5", engine_onnx=conv_deconv_relu())
    config = _config(trt)
    with pytest.raises(TypeError, match="unexpected keyword argument 'flags'"):
        config.set_flag(flags=trt.BuilderFlag.FP16)
    with pytest.raises(TypeError, match="at most 1 positional"):
        config.set_flag(trt.BuilderFlag.FP16, True)
    with pytest.raises(TypeError):
        trt.init_libnvinfer_plugins(None, "", "extra")
    engine = trt.Runtime(None).deserialize_cuda_engine(ENGINE_MARKER)
    # Overloads: any of the listed parameter lists is accepted.
    engine.get_binding_shape(0)
    engine.get_binding_shape(name="image")
    engine.get_tensor_format("image", 0)
    with pytest.raises(TypeError, match="no overload"):
        engine.get_tensor_format("image", 0, 1)
    assert trt.calls("IBuilderConfig.set_flag") == []  # refused calls are not journaled


# -- the parser mirrors the ONNX --------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_parser_mirrors_a_small_onnx_graph(version):
    trt = make_tensorrt(version)
    ok, _, network, parser, _ = parse(trt)
    assert ok is True and parser.num_errors == 0
    layers = [network.get_layer(i) for i in range(network.num_layers)]
    assert [(layer.name, layer.type, layer.num_outputs) for layer in layers] == [
        ("enc", trt.LayerType.CONVOLUTION, 1), ("dec", trt.LayerType.DECONVOLUTION, 1),
        ("act", trt.LayerType.ACTIVATION, 1)]
    assert str(layers[1].type) == "LayerType.DECONVOLUTION"
    assert layers[1].get_input(0).name == "features" and layers[1].get_output(0).name == "up"
    assert (network.num_inputs, network.num_outputs) == (1, 1)
    image, mask = network.get_input(0), network.get_output(0)
    assert (image.name, tuple(image.shape), image.dtype) == ("image", (-1, 3, 8, 8),
                                                             trt.DataType.FLOAT)
    assert (mask.name, tuple(mask.shape)) == ("mask", (-1, 4, 16, 16))
    assert image.is_network_input and mask.is_network_output
    assert trt.calls("OnnxParser.parse")[0][0] == conv_deconv_relu()


@pytest.mark.parametrize("version, cast_type", [
    ("8.2", "IDENTITY"), ("8.5", "IDENTITY"), ("10.13", "CAST"), ("11.4", "CAST")])
def test_layer_types_are_members_the_version_has(version, cast_type):
    nodes = [helper.make_node("Cast", ["image"], ["cast"], name="cast", to=TensorProto.FLOAT),
             helper.make_node("EdgecUnknownOp", ["cast"], ["mask"], name="odd",
                              domain="edgec.test")]
    trt = make_tensorrt(version)
    ok, _, network, _, _ = parse(trt, graph_bytes(nodes, [], ("batch", 3, 8, 8)))
    assert ok
    assert [str(network.get_layer(i).type) for i in range(2)] == [
        "LayerType." + cast_type, "LayerType.PLUGIN_V2"]


def test_parse_failures_report_errors():
    trt = make_tensorrt("10.13", parse_error="Unsupported ONNX op: Foo")
    ok, _, network, parser, logger = parse(trt)
    assert ok is False and parser.num_errors == 1 and network.num_layers == 0
    assert "Unsupported ONNX op: Foo" in str(parser.get_error(0))
    assert parser.get_error(0).desc() == "Unsupported ONNX op: Foo"
    assert logger.messages == [("Severity.ERROR", "Unsupported ONNX op: Foo")]
    assert trt.names("callback *") == ["callback ILogger.log"]

    ok, _, _, parser, _ = parse(make_tensorrt("10.13"), b"not an onnx model")
    assert ok is False and parser.num_errors == 1

    # TensorRT 8's ONNX parser needs an explicit-batch network.
    trt = make_tensorrt("8.5")
    network = trt.Builder(None).create_network(0)
    parser = trt.OnnxParser(network, None)
    assert parser.parse(conv_deconv_relu()) is False
    assert "EXPLICIT_BATCH" in parser.get_error(0).desc()


# -- results are opaque -----------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_build_returns_the_marker_and_nothing_numeric(version):
    trt = make_tensorrt(version)
    timing = {}

    def configure(config):
        cache = config.create_timing_cache(b"")
        assert config.set_timing_cache(cache, False) is True
        timing["cache"] = config.get_timing_cache()

    serialized, _ = build(trt, configure=configure)
    assert bytes(serialized) == ENGINE_MARKER
    assert memoryview(serialized).tobytes() == ENGINE_MARKER
    assert serialized.nbytes == len(ENGINE_MARKER)
    assert bytes(timing["cache"].serialize()) == TIMING_CACHE_MARKER

    engine = trt.Runtime(trt.Logger(trt.Logger.WARNING)).deserialize_cuda_engine(serialized)
    memory = "device_memory_size_v2" if version in ("10.13", "11.4") else "device_memory_size"
    assert getattr(engine, memory) == NOT_MEASURED
    assert engine.num_layers == NOT_MEASURED
    info = engine.create_engine_inspector().get_engine_information(
        trt.LayerInformationFormat.JSON)
    assert info == ENGINE_INFORMATION and json.loads(info) == {"Layers": []}
    assert trt.Runtime(None).deserialize_cuda_engine(b"a real engine?") is None


def test_build_failure_scenario_returns_none_and_logs():
    trt = make_tensorrt("8.5", build_error="out of tactics")
    serialized, logger = build(trt)
    assert serialized is None
    assert logger.messages == [("Severity.ERROR", "out of tactics")]


def test_timing_cache_mismatch_scenario():
    config = _config(make_tensorrt("10.13", timing_cache_mismatch=True))
    cache = config.create_timing_cache(b"from another GPU")
    assert config.set_timing_cache(cache, False) is False
    assert config.set_timing_cache(cache, True) is True


@pytest.mark.parametrize("version", NAMED_TENSOR_VERSIONS)
def test_engine_and_context_mirror_the_network_named_tensors(version):
    trt = make_tensorrt(version)
    serialized, _ = build(trt)
    engine = trt.Runtime(None).deserialize_cuda_engine(bytes(serialized))
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    assert names == ["image", "mask"]
    assert [engine.get_tensor_mode(n) for n in names] == [trt.TensorIOMode.INPUT,
                                                          trt.TensorIOMode.OUTPUT]
    assert tuple(engine.get_tensor_shape("image")) == (-1, 3, 8, 8)
    assert engine.get_tensor_dtype("mask") is trt.DataType.FLOAT
    context = engine.create_execution_context()
    assert tuple(context.get_tensor_shape("mask")) == (-1, 4, 16, 16)  # batch not set yet
    assert context.set_input_shape("image", (2, 3, 8, 8)) is True
    assert tuple(context.get_tensor_shape("image")) == (2, 3, 8, 8)
    assert tuple(context.get_tensor_shape("mask")) == (2, 4, 16, 16)
    assert context.set_tensor_address("image", 0x1000) is True
    assert context.execute_async_v3(7) is True
    assert trt.calls("IExecutionContext.set_input_shape") == [("image", (2, 3, 8, 8))]
    assert trt.calls("IExecutionContext.execute_async_v3") == [(7,)]
    with pytest.raises(AttributeError, match="execute_async_v2" if version != "8.5"
                       else "set_binding_shapes"):
        getattr(context, "execute_async_v2" if version != "8.5" else "set_binding_shapes")


def test_engine_and_context_mirror_the_network_bindings_on_8_2():
    trt = make_tensorrt("8.2")
    serialized, _ = build(trt)
    engine = trt.Runtime(None).deserialize_cuda_engine(serialized)
    assert engine.num_bindings == 2
    assert [engine.binding_is_input(i) for i in range(2)] == [True, False]
    assert [engine.get_binding_name(i) for i in range(2)] == ["image", "mask"]
    assert tuple(engine.get_binding_shape(0)) == (-1, 3, 8, 8)
    assert engine.get_binding_dtype(1) is trt.DataType.FLOAT
    context = engine.create_execution_context()
    assert context.set_binding_shape(0, (4, 3, 8, 8)) is True
    assert tuple(context.get_binding_shape(1)) == (4, 4, 16, 16)
    assert context.execute_async_v2(bindings=[1, 2], stream_handle=3) is True
    assert trt.entries("IExecutionContext.execute_async_v2")[0].kwargs == {
        "bindings": [1, 2], "stream_handle": 3}
    with pytest.raises(AttributeError, match="8.2.1.*execute_async_v3"):
        context.execute_async_v3(3)
    with pytest.raises(AttributeError, match="num_io_tensors"):
        engine.num_io_tensors


def test_engine_io_from_the_scenario_and_rejected_shapes():
    trt = make_tensorrt("11.4", engine_onnx=conv_deconv_relu(), reject_input_shapes=True)
    engine = trt.Runtime(None).deserialize_cuda_engine(ENGINE_MARKER)
    assert engine.num_io_tensors == 2
    assert engine.create_execution_context().set_input_shape("image", (9, 3, 8, 8)) is False
    with pytest.raises(RuntimeError, match="engine_onnx"):
        make_tensorrt("11.4").Runtime(None).deserialize_cuda_engine(ENGINE_MARKER)


# -- INT8 calibration at build ----------------------------------------------------------------

def _int8(trt, calibrator=None):
    def configure(config):
        config.set_flag(trt.BuilderFlag.INT8)
        if calibrator is not None:
            config.int8_calibrator = calibrator
    return configure


@pytest.mark.parametrize("version", INT8_CALIBRATION_VERSIONS)
def test_int8_build_reads_the_calibrators_cache(version):
    trt = make_tensorrt(version)
    serialized, _ = build(trt, configure=_int8(trt, make_cache_calibrator(trt, b"TRT-cache")))
    assert bytes(serialized) == ENGINE_MARKER
    after_build = trt.names(reads=False)[trt.names(reads=False).index(
        "Builder.build_serialized_network") + 1:]
    assert after_build == ["callback IInt8EntropyCalibrator2.get_batch_size",
                           "callback IInt8EntropyCalibrator2.read_calibration_cache"]
    assert trt.results("callback *") == [1, b"TRT-cache"]
    assert "note int8_without_calibrator" not in trt.names()


def test_calibrator_is_ignored_without_the_int8_flag():
    trt = make_tensorrt("8.5")

    def configure(config):
        config.int8_calibrator = make_cache_calibrator(trt, b"TRT-cache")

    build(trt, configure=configure)
    assert trt.names("callback *") == []


def test_calibration_without_a_cache_pulls_batches():
    trt = make_tensorrt("8.2")
    calibrator = make_cache_calibrator(trt, None, batches=[[0x100]])
    serialized, _ = build(trt, configure=_int8(trt, calibrator))
    assert serialized is not None
    assert trt.names("callback *") == [
        "callback IInt8EntropyCalibrator2.get_batch_size",
        "callback IInt8EntropyCalibrator2.read_calibration_cache",
        "callback IInt8EntropyCalibrator2.get_batch",
        "callback IInt8EntropyCalibrator2.get_batch",
        "callback IInt8EntropyCalibrator2.write_calibration_cache"]
    assert trt.calls("callback IInt8EntropyCalibrator2.get_batch")[0] == (["image"],)
    written = trt.calls("callback IInt8EntropyCalibrator2.write_calibration_cache")[0][0]
    assert bytes(written) == trt_doubles.CALIBRATION_CACHE_MARKER

    # No cache and no batch: nothing to take scales from, the build fails.
    trt = make_tensorrt("8.2")
    serialized, logger = build(trt, configure=_int8(trt, make_cache_calibrator(trt, b"")))
    assert serialized is None
    assert logger.messages[-1][0] == "Severity.ERROR"


@pytest.mark.parametrize("model, noted", [(conv_deconv_relu, True), (qdq_conv, False)])
def test_int8_without_calibrator_is_noted_unless_qdq(model, noted):
    trt = make_tensorrt("10.13")
    serialized, logger = build(trt, model=model(), configure=_int8(trt))
    assert bytes(serialized) == ENGINE_MARKER
    assert ("note int8_without_calibrator" in trt.names()) is noted
    assert bool(logger.messages) is noted


# -- pybind11-like classes and enums ----------------------------------------------------------

def test_classes_subclass_like_pybind11():
    trt = make_tensorrt("8.5")

    class Forgetful(trt.ILogger):
        def __init__(self):
            self.messages = []

        def log(self, severity, msg):
            pass

    with pytest.raises(TypeError, match="ILogger.__init__"):
        Forgetful()
    logger = KeepingLogger.make(trt)
    assert isinstance(logger, trt.ILogger) and logger.messages == []
    assert trt.names() == ["ILogger.__init__"]
    with pytest.raises(TypeError, match="No constructor"):
        trt.ILayer()
    assert trt.Logger.WARNING is trt.ILogger.Severity.WARNING
    assert trt.Logger.Severity is trt.ILogger.Severity
    assert isinstance(trt.Logger(trt.Logger.INFO), trt.ILogger)


@pytest.mark.parametrize("version", VERSIONS)
def test_enums_behave_like_pybind11(version):
    trt = make_tensorrt(version)
    members = trt_doubles.load_surface(version)["classes"]["DataType"]["enum_members"]
    half = trt.DataType.HALF
    assert int(half) == members.index("HALF") and half.value == int(half)
    assert str(half) == "DataType.HALF" and half.name == "HALF"
    assert trt.DataType(int(half)) is half and trt.DataType.__members__["HALF"] is half
    assert half == trt.DataType.HALF and half != trt.DataType.FLOAT and half != int(half)
    assert {half: "fp16"}[trt.DataType.HALF] == "fp16"
    with pytest.raises(AttributeError, match="DataType.FP64"):
        trt.DataType.FP64
    assert 1 << int(trt.BuilderFlag.GPU_FALLBACK) > 0


@pytest.mark.parametrize("version", VERSIONS)
def test_dims_index_and_compare(version):
    trt = make_tensorrt(version)
    dims = trt.Dims([2, -1, 5])
    assert len(dims) == 3 and (dims[0], dims[-1]) == (2, 5) and dims == (2, -1, 5)
    assert tuple(trt.Dims3(1, 2, 3)) == (1, 2, 3) and len(trt.Dims2([4, 5])) == 2
    assert (trt.DimsHW(7, 9).h, trt.DimsHW(7, 9).w) == (7, 9)
    assert trt.calls("Dims.__init__") == [([2, -1, 5],)]


def test_host_memory_has_no_bytes_methods():
    trt = make_tensorrt("10.13")
    serialized, _ = build(trt)
    with pytest.raises(AttributeError, match="IHostMemory.decode"):
        serialized.decode()
    with pytest.raises(TypeError, match="No constructor"):
        trt.IHostMemory()


def test_unknown_scenario_keys_and_versions_are_refused():
    with pytest.raises(TypeError, match="dla_core"):
        make_tensorrt("8.5", dla_core=1)
    with pytest.raises(ValueError, match="9.0"):
        make_tensorrt("9.0")
    assert make_tensorrt("8.5.2.2").surface_key == "8.5"


# -- the CUDA double ----------------------------------------------------------------------------

def test_cuda_double_copies_bytes_and_measures_nothing():
    cuda_double.reset()
    assert cuda_double.memory_info() == (-1, -1)
    assert "test double" in cuda_double.device_info()["name"]
    host = cuda_double.PinnedArray((2, 3), np.float32)
    device = cuda_double.DeviceBuffer(host.nbytes)
    stream, start, end = cuda_double.Stream(), cuda_double.Event(), cuda_double.Event()
    host.array[...] = np.arange(6, dtype=np.float32).reshape(2, 3)
    start.record(stream)
    stream.copy_to_device(device, host)
    assert np.array_equal(device.data.view(np.float32), np.arange(6, dtype=np.float32))
    assert cuda_double.buffer_at(device.ptr) is device
    device.data[:] = 0  # the engine double computes nothing: outputs come back as zeros
    stream.copy_to_host(host, device)
    end.record(stream)
    end.synchronize()
    assert not host.array.any()
    assert end.elapsed_ms(start) == -1.0
    assert cuda_double.names("cuda.Stream.*") == ["cuda.Stream.__init__",
                                                  "cuda.Stream.copy_to_device",
                                                  "cuda.Stream.copy_to_host"]
    assert cuda_double.calls("cuda.Stream.copy_to_device") == [(device, host)]
    device.free()
    with pytest.raises(EdgecError, match="freed"):
        stream.copy_to_device(device, host)
    with pytest.raises(EdgecError, match="bytes into a"):
        stream.copy_to_device(cuda_double.DeviceBuffer(4), host)


def test_install_puts_both_doubles_in_place_with_one_journal(monkeypatch):
    trt = trt_doubles.install(monkeypatch, "8.5")
    import tensorrt

    from edgec.runtime import cuda

    assert tensorrt is trt and sys.modules["tensorrt"] is trt
    assert cuda is cuda_double and cuda_double.journal is trt.journal
    trt.Logger(trt.Logger.WARNING)
    cuda.memory_info()
    assert trt.names() == ["Logger.__init__", "cuda.memory_info"]
