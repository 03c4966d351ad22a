"""ONNX files beyond protobuf's 2 GB limit: the graph in model.onnx, every weight in one
external data file beside it (artifacts.MODEL_ONNX_DATA). Such a model cannot be serialized
to bytes, so its export is written to a temporary folder first, checked and run for parity from
there, and moved into place only when both passed."""
import os
import shutil
import tempfile
from typing import Dict

import onnx

from edgec import artifacts
from edgec.errors import EdgecError
from edgec.fileio import make_shared, sha256_file

# Protobuf refuses messages of 2 GiB; weights above this many bytes go to the data file, with
# room left for the graph itself.
EXTERNAL_DATA_ABOVE = 1800 * 2 ** 20


def weight_bytes(model) -> int:
    """Bytes of a PyTorch model's parameters and buffers (what its ONNX initializers hold)."""
    return int(sum(t.numel() * t.element_size() for t in list(model.parameters())
                   + list(model.buffers())))


def trace_inputs(entry, model, batch_axis: str):
    """The example the tracer runs (entry.trace_shapes where given, else the entry's inputs)
    and the dynamic axes: the batch everywhere, and every axis of an input traced smaller
    (and then of every output)."""
    import numpy as np
    import torch

    rng = np.random.default_rng(0)
    args, axes = [], {}
    for spec in entry.inputs:
        shape = tuple(entry.trace_shapes.get(spec.name, spec.shape))
        args.append(torch.from_numpy(rng.uniform(spec.low, spec.high, (1,) + shape)
                                     .astype(spec.dtype)))
        axes[spec.name] = {0: batch_axis}
        if spec.name in entry.trace_shapes:
            axes[spec.name].update({d + 1: "%s_%d" % (spec.name, d + 1)
                                    for d in range(len(shape))})
    ranks = [2] * len(entry.outputs)
    if entry.trace_shapes:
        with torch.no_grad():
            outputs = model(*args)
        outputs = outputs if isinstance(outputs, (tuple, list)) else [outputs]
        ranks = [o.dim() for o in outputs]
    for name, rank in zip(entry.outputs, ranks):
        axes[name] = {0: batch_axis}
        if entry.trace_shapes:  # their sizes follow the inputs'
            axes[name].update({d: "%s_%d" % (name, d) for d in range(1, rank)})
    return tuple(args), axes


def fix_input_shapes(model: onnx.ModelProto, entry, batch_axis: str) -> None:
    """The entry's input shapes on a graph traced at others; ONNX Runtime and TensorRT then
    see the shapes the model is built for."""
    for value in model.graph.input:
        spec = next((i for i in entry.inputs if i.name == value.name), None)
        if spec is None:
            continue
        dims = value.type.tensor_type.shape.dim
        for index, size in enumerate(spec.shape):
            dims[index + 1].ClearField("dim_param")
            dims[index + 1].dim_value = int(size)
        dims[0].dim_param = batch_axis


def save_with_external_data(model: onnx.ModelProto, folder: str,
                            name: str = artifacts.MODEL_ONNX) -> str:
    """folder/name with its tensors in folder/name.data (artifacts.onnx_data); returns the
    ONNX path."""
    path = os.path.join(folder, name)
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location=artifacts.onnx_data(name), size_threshold=1024,
                    convert_attribute=True)  # Constant nodes too: folded weights land there
    return path


def remove_stale_data(out_dir: str, onnx_name: str) -> None:
    """An earlier file's data file, before an ONNX file that holds its own weights replaces
    it."""
    stale = os.path.join(out_dir, artifacts.onnx_data(onnx_name))
    if os.path.exists(stale):
        os.unlink(stale)


def has_external_data(onnx_path: str) -> bool:
    """Whether the file keeps weights in a data file (reads the graph alone)."""
    graph = onnx.load(onnx_path, load_external_data=False).graph
    return any(t.data_location == onnx.TensorProto.EXTERNAL for t in graph.initializer)


def check_file(path: str, where: str) -> None:
    """The checker on the file (a model over 2 GB cannot be checked in memory)."""
    try:
        onnx.checker.check_model(path, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise EdgecError("%s is not a valid ONNX model: %s" % (where, str(exc).strip()))


def staging_folder(out_dir: str) -> str:
    os.makedirs(out_dir, exist_ok=True)
    return tempfile.mkdtemp(prefix=".export-", dir=out_dir)


def move_into_place(staged: str, out_dir: str, onnx_name: str = artifacts.MODEL_ONNX
                    ) -> Dict[str, str]:
    """The data file first, then the graph that names it: an ONNX file on disk always finds
    its data. Returns both files' SHA-256."""
    hashes = {}
    for name in (artifacts.onnx_data(onnx_name), onnx_name):
        source = os.path.join(staged, name)
        hashes[name] = sha256_file(source)
        make_shared(source)  # onnx writes its data file 0600
        os.replace(source, os.path.join(out_dir, name))
    shutil.rmtree(staged, ignore_errors=True)
    return hashes
