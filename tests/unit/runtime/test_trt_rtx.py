"""edgec's TensorRT builder steps against a real NVIDIA module: TensorRT-RTX (`tensorrt_rtx`),
whose API has TensorRT 11's shape and which parses and builds on a CPU-only machine. Skipped
where it is not installed (CI installs it: `pip install 'edgec[rtx]'`)."""
import json
import os
import shutil
import sys

import pytest
import trt_doubles
from paths import REPO

from edgec.check import rtx
from edgec.runtime.bundle import unpack

pytestmark = pytest.mark.skipif(rtx.rtx_version() is None, reason="TensorRT-RTX not installed")
SELFTEST = os.path.join(REPO, "edgec", "data", "selftest", "bundle.tar.gz")
SURFACE = os.path.join(REPO, "tests", "trt_api", "surface-11.4.json")


@pytest.fixture(scope="module")
def selftest_files(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("selftest"))
    unpack(SELFTEST, folder)
    return folder


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8", "mix"])
def test_builder_steps_build_the_selftest_bundle_on_tensorrt_rtx(selftest_files, tmp_path,
                                                                  precision):
    """Parse, config (workspace, profile over the batch axis, detailed profiling), serialized
    build and save: the TensorRT 11 strategy, on the real module. The bundle's MIX file holds
    the INT8 ConvTranspose with per-output-channel scales."""
    from edgec.runtime.trt.versions import ApiPaths, BuildStrategy

    strategy = BuildStrategy(ApiPaths(rtx.API_VERSION), precision)
    engine = str(tmp_path / "model.engine")
    record = rtx.parse_and_build(os.path.join(selftest_files, strategy.onnx_file), precision,
                                 keep_engine=engine)
    assert record["parsed"] and record["built"], record["messages"]
    assert record["engine_bytes"] == os.path.getsize(engine) > 0
    assert "tensorrt" not in sys.modules or sys.modules["tensorrt"].__name__ != "tensorrt_rtx"


def test_every_name_the_builder_calls_on_the_11_double_exists_in_tensorrt_rtx(selftest_files,
                                                                             tmp_path):
    import tensorrt_rtx

    from edgec.runtime.trt.builder import EngineSettings, build_engine

    called = set()
    for precision in ("fp32", "fp16", "int8", "mix"):
        folder = str(tmp_path / precision)
        shutil.copytree(selftest_files, folder)
        trt = trt_doubles.make_tensorrt("11.4")
        sys.modules["tensorrt"] = trt
        try:
            build_engine(folder, precision, os.path.join(folder, "x.engine"),
                         EngineSettings(precision), {"name": "double",
                                                     "compute_capability": "0.0"},
                         trt.__version__)
        finally:
            del sys.modules["tensorrt"]
        called |= set(e.name for e in trt.journal if not e.name.startswith(("callback", "note")))
    assert "Builder.build_serialized_network" in called
    missing = []
    for name in sorted(called):
        target = tensorrt_rtx
        for part in name.replace("get ", "").rstrip("=").split("."):
            target = getattr(target, part, None)
            if target is None:
                missing.append(name)
                break
    assert missing == []


def test_the_11_surface_agrees_with_tensorrt_rtx_where_both_have_a_name():
    """tools/trt_surface/live.py: signatures, enum members and values of every name both
    have. The one difference left is TensorRT-RTX's own (TensorRT 10.13's stubs agree with
    the 11.4 surface); add_normalization's parameters were a misread of the wheel reader,
    corrected (tools/trt_surface/surfaces.py MISREADS)."""
    import tensorrt_rtx

    from tools.trt_surface.live import compare

    with open(SURFACE) as handle:
        lines = compare(tensorrt_rtx, json.load(handle))
    assert [line.split(":")[0] for line in lines] == ["IPluginCreatorV3Quick.create_plugin"]
