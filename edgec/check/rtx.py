"""TensorRT-RTX as a real ONNX importer and builder on this machine (`pip install 'edgec[rtx]'`).

TensorRT-RTX's Python API has TensorRT 11's shape (strongly typed networks only, no precision
flags or calibrators), its parser is built from the onnx-tensorrt sources, and it builds
ahead of time on a CPU-only machine. So edgec's own builder steps (edgec.runtime.trt.builder:
NetworkFromOnnx, CreateConfig, EngineBytesFromNetwork, SaveEngine) run against it with
`import tensorrt` answered by `tensorrt_rtx` and the TensorRT 11 strategy of
edgec.runtime.trt.versions. Its verdict is reported under its own name: it is a real parser and
builder, never evidence about a Jetson's TensorRT (it cannot run an engine without an RTX-class
GPU, and it is more lenient than TensorRT 10 on 5-D GridSample).
"""
import contextlib
import os
import sys
import tempfile
import time
from typing import Any, Dict, Iterator, Optional  # noqa: F401

from edgec.errors import EdgecError

# The TensorRT API generation TensorRT-RTX shares (edgec.runtime.trt.versions.ApiPaths).
API_VERSION = "11.4.0"


def rtx_version():
    # type: () -> Optional[str]
    try:
        import tensorrt_rtx
    except ImportError:
        return None
    return str(tensorrt_rtx.__version__)


def name():
    # type: () -> str
    return "TensorRT-RTX %s" % rtx_version()


@contextlib.contextmanager
def as_tensorrt():
    # type: () -> Iterator[Any]
    """`import tensorrt` gives tensorrt_rtx inside the block; the previous module after."""
    import tensorrt_rtx

    missing = object()
    previous = sys.modules.get("tensorrt", missing)
    sys.modules["tensorrt"] = tensorrt_rtx
    try:
        yield tensorrt_rtx
    finally:
        if previous is missing:
            del sys.modules["tensorrt"]
        else:
            sys.modules["tensorrt"] = previous


def parse_and_build(onnx_path, precision="fp32", keep_engine=None):
    # type: (str, str, Optional[str]) -> Dict[str, Any]
    """Parse `onnx_path` and build it with edgec's builder steps on TensorRT-RTX; the engine is
    written to `keep_engine` (else into a temporary folder, removed). A parse or build failure
    is the verdict, with TensorRT-RTX's messages (its parser names the node it refuses)."""
    from edgec.runtime.trt import builder as steps
    from edgec.runtime.trt.versions import ApiPaths, BuildStrategy

    record = {"importer": name(), "api": "TensorRT 11 strategy", "file": onnx_path,
              "precision": precision, "parsed": False, "built": False, "parse_s": None,
              "build_s": None, "engine_bytes": None, "messages": []}  # type: Dict[str, Any]
    paths = ApiPaths(API_VERSION)
    strategy = BuildStrategy(paths, precision)
    with tempfile.TemporaryDirectory(prefix="edgec-rtx-") as scratch, as_tensorrt():
        engine_path = keep_engine or os.path.join(scratch, "model.engine")
        logger = steps.make_logger()
        started = time.time()
        try:
            parsed = steps.NetworkFromOnnx(onnx_path, paths, strategy, logger)()
        except EdgecError as exc:
            record["messages"] = [_own_name(exc.message)]
            return record
        record.update(parsed=True, parse_s=round(time.time() - started, 3))
        config = steps.CreateConfig(paths, strategy, steps.EngineSettings(precision))
        started = time.time()
        try:
            steps.SaveEngine(steps.EngineBytesFromNetwork(
                lambda: parsed, config, logger, "an engine from %s" % onnx_path), engine_path)()
        except EdgecError as exc:
            record["messages"] = [_own_name(exc.message)]
            return record
        finally:
            record["messages"] += logger.messages[-20:]
        record.update(built=True, build_s=round(time.time() - started, 3),
                      engine_bytes=os.path.getsize(engine_path))
    return record


def _own_name(message):
    # type: (str) -> str
    """edgec's builder names the API version it follows; here the product is TensorRT-RTX."""
    return message.replace("TensorRT %s" % API_VERSION, name())
