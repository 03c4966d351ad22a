"""torch -> ONNX export with simplification, layer naming, checking and a parity run.

Stages are small functions composed by `export_zoo_model` (and `import_onnx` for files exported
elsewhere); nothing is written until every check passed, and then atomically.
"""
import io
import os
import shutil
import warnings
from typing import Dict, List, Optional

import numpy as np
import onnx
from onnx import numpy_helper

from edgec import artifacts
from edgec.errors import EdgecError
from edgec.exporter.external import (EXTERNAL_DATA_ABOVE, check_file, fix_input_shapes,
                                     move_into_place, remove_stale_data,
                                     save_with_external_data,
                                     staging_folder, trace_inputs, weight_bytes)
from edgec.exporter.fold import fold_batchnorm
from edgec.exporter.onnx_layers import (describe_layers, initializer_map, name_unnamed_layers,
                                        quantizable_nodes)
from edgec.exporter.parity import check_parity, parity_report
from edgec.exporter.variants import build_export_model, export_opset, rewrite_onnx
from edgec.fileio import atomic_write_bytes, atomic_write_json, sha256_bytes, sha256_file
from edgec.models.entry import DEFAULT_PARITY_TOLERANCE
from edgec.versions import library_versions

MIN_OPSET = 17
BATCH_AXIS = "batch"


def torch_export(entry, model, opset: int, target, args, dynamic_axes) -> None:
    """torch.onnx.export (the TorchScript exporter) into `target`, a buffer or a path; to a
    path, a model over 2 GB gets its weights written as files beside it."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        torch.onnx.export(model, args, target, dynamo=False, opset_version=opset,
                          input_names=[i.name for i in entry.inputs],
                          output_names=list(entry.outputs), dynamic_axes=dynamic_axes,
                          do_constant_folding=True)


def torch_to_onnx(entry, model, opset: int) -> onnx.ModelProto:
    """Export with a dynamic batch axis on every input and output."""
    import torch

    dummy = entry.dummy_inputs(1)
    args = tuple(torch.from_numpy(dummy[i.name]) for i in entry.inputs)
    names = [i.name for i in entry.inputs] + list(entry.outputs)
    buffer = io.BytesIO()
    torch_export(entry, model, opset, buffer, args, {n: {0: BATCH_AXIS} for n in names})
    return onnx.load_from_string(buffer.getvalue())


def simplify(model: onnx.ModelProto) -> onnx.ModelProto:
    import onnxslim

    return onnxslim.slim(model)


def name_layers_by_weight(onnx_model: onnx.ModelProto, folded_model, layers) -> List[str]:
    """Rename each conv node after the zoo layer whose (BN-folded) weights it carries.

    Matching by weight bytes works whatever names the exporter chose. Returns the layers that
    matched no node (an error for the caller)."""
    modules = dict(folded_model.named_modules())
    by_digest: Dict[str, str] = {}
    for layer in layers:
        weight = modules[layer.module_path].weight.detach().numpy().astype(np.float32)
        by_digest[sha256_bytes(np.ascontiguousarray(weight).tobytes())] = layer.name
    inits = initializer_map(onnx_model)
    matched = set()
    for node in quantizable_nodes(onnx_model):
        weight = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
        name = by_digest.get(sha256_bytes(np.ascontiguousarray(weight).tobytes()))
        if name is not None and name not in matched:
            node.name = name
            matched.add(name)
    return [layer.name for layer in layers if layer.name not in matched]


def check_model(model: onnx.ModelProto, where: str) -> None:
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise EdgecError("%s is not a valid ONNX model: %s" % (where, str(exc).strip()))


def export_zoo_model(entry, out_dir: str, checkpoint: Optional[str] = None,
                     opset: Optional[int] = None, tolerance: Optional[float] = None,
                     batches=None, external_above: int = EXTERNAL_DATA_ABOVE
                     ) -> Dict[str, object]:
    """Export `entry`, in its chosen variants, to out_dir/model.onnx + export.json. `opset`,
    `tolerance` and `batches` default to the entry's. A model whose weights exceed
    `external_above` bytes keeps them in model.onnx.data (edgec.exporter.external). Returns
    the export record."""
    opset = entry.opset if opset is None else opset
    tolerance = entry.parity_tolerance if tolerance is None else tolerance
    if opset < MIN_OPSET:
        raise EdgecError("--opset %d: edgec needs opset %d or newer" % (opset, MIN_OPSET))
    opset = export_opset(entry, opset)
    batches = batches or entry.parity_batches
    model = build_export_model(entry, checkpoint)
    folded = fold_batchnorm(model)
    layers = entry.layers(folded)
    if weight_bytes(folded) > external_above:
        return _export_external(entry, model, folded, layers, out_dir, checkpoint, opset,
                                tolerance, batches)
    onnx_model = simplify(torch_to_onnx(entry, folded, opset))
    rewrite_onnx(entry, onnx_model)
    unmatched = name_layers_by_weight(onnx_model, folded, layers)
    if unmatched:
        raise EdgecError("export of %s: no ONNX conv node carries the weights of layers %s; the "
                         "exporter or simplifier rewrote them" % (entry.name, unmatched))
    check_model(onnx_model, "the export of %s" % entry.name)
    data = onnx_model.SerializeToString()
    rows = parity_report(entry, model, data, batches)
    check_parity(rows, tolerance, "%s exported to ONNX" % entry.name)
    record = _record(entry, checkpoint, opset, tolerance, rows, layers)
    record["onnx_sha256"] = sha256_bytes(data)
    return _write_export(out_dir, data, record)


def _record(entry, checkpoint, opset, tolerance, rows, layers) -> Dict[str, object]:
    return {
        "model": entry.name,
        "checkpoint": ({"path": os.path.abspath(checkpoint), "sha256": sha256_file(checkpoint)}
                       if checkpoint else None),
        "weights": "checkpoint" if checkpoint else "random (seed 0)",
        "opset": opset,
        "grid_sample": entry.variant_key().get("grid_sample"),
        "inputs": [{"name": i.name, "shape": [BATCH_AXIS] + list(i.shape), "dtype": i.dtype}
                   for i in entry.inputs],
        "outputs": list(entry.outputs),
        "dynamic_axes": {"batch": 0},
        "batchnorm_folded": True,
        "parity": {"tolerance": tolerance, "backend": "onnxruntime-cpu", "results": rows},
        "layers": [layer.to_dict() for layer in layers],
        "versions": library_versions(),
    }


def _export_external(entry, model, folded, layers, out_dir: str, checkpoint, opset: int,
                     tolerance: float, batches) -> Dict[str, object]:
    """The export of a model beyond 2 GB: staged in a folder inside out_dir, weights in
    model.onnx.data, checked and parity-run from the files, then moved into place. Not
    simplified: onnxslim works on the serialized model, which protobuf cannot hold."""
    staged = staging_folder(out_dir)
    try:
        args, axes = trace_inputs(entry, folded, BATCH_AXIS)
        raw = os.path.join(staged, "raw.onnx")
        torch_export(entry, folded, opset, raw, args, axes)
        onnx_model = onnx.load(raw)
        fix_input_shapes(onnx_model, entry, BATCH_AXIS)
        for leftover in os.listdir(staged):  # the exporter's per-tensor files, now in memory
            os.unlink(os.path.join(staged, leftover))
        rewrite_onnx(entry, onnx_model)
        unmatched = name_layers_by_weight(onnx_model, folded, layers)
        if unmatched:
            raise EdgecError("export of %s: no ONNX conv node carries the weights of layers %s"
                             % (entry.name, unmatched))
        path = save_with_external_data(onnx_model, staged)
        del onnx_model
        check_file(path, "the export of %s" % entry.name)
        rows = parity_report(entry, model, path, batches)
        check_parity(rows, tolerance, "%s exported to ONNX" % entry.name)
        hashes = move_into_place(staged, out_dir)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    record = _record(entry, checkpoint, opset, tolerance, rows, layers)
    data_path = os.path.join(out_dir, artifacts.MODEL_ONNX_DATA)
    record.update(onnx_sha256=hashes[artifacts.MODEL_ONNX], simplified=False,
                  external_data={"file": artifacts.MODEL_ONNX_DATA,
                                 "sha256": hashes[artifacts.MODEL_ONNX_DATA],
                                 "bytes": os.path.getsize(data_path),
                                 "why": "weights beyond protobuf's 2 GB limit"})
    atomic_write_json(os.path.join(out_dir, artifacts.EXPORT_JSON), record)
    return record


def _write_export(out_dir: str, data: bytes, record: Dict[str, object]) -> Dict[str, object]:
    """model.onnx, then export.json: a record on disk always describes the file beside it."""
    remove_stale_data(out_dir, artifacts.MODEL_ONNX)  # this model.onnx holds its own weights
    atomic_write_bytes(os.path.join(out_dir, artifacts.MODEL_ONNX), data)
    atomic_write_json(os.path.join(out_dir, artifacts.EXPORT_JSON), record)
    return record


def load_onnx(path: str) -> onnx.ModelProto:
    if not os.path.isfile(path):
        raise EdgecError("ONNX file %s: no such file" % path)
    try:
        return onnx.load(path)
    except Exception as exc:  # protobuf raises DecodeError and friends
        raise EdgecError("%s is not an ONNX model: %s" % (path, str(exc).strip() or type(exc)))


def import_onnx(path: str, out_dir: str) -> Dict[str, object]:
    """Bring an ONNX file exported elsewhere into edgec's layout: simplified, layers named,
    checked, and run once in ONNX Runtime (no PyTorch reference exists for parity)."""
    onnx_model = load_onnx(path)
    check_model(onnx_model, path)
    original = onnx_model.SerializeToString()
    onnx_model = simplify(onnx_model)
    name_unnamed_layers(onnx_model)
    check_model(onnx_model, "the simplified %s" % path)
    data = onnx_model.SerializeToString()
    rows = simplification_parity(original, data)
    # No entry declares a tolerance for a file exported elsewhere: the zoo's default.
    check_parity(rows, DEFAULT_PARITY_TOLERANCE, "%s after simplification" % path)
    record = {
        "model": os.path.basename(path), "source_onnx": {"path": os.path.abspath(path),
                                                          "sha256": sha256_file(path)},
        "weights": "from the ONNX file",
        "opset": max(o.version for o in onnx_model.opset_import if o.domain in ("", "ai.onnx")),
        "inputs": [{"name": v.name, "shape": [d.dim_param or d.dim_value
                                               for d in v.type.tensor_type.shape.dim]}
                   for v in onnx_model.graph.input],
        "outputs": [v.name for v in onnx_model.graph.output],
        "parity": {"tolerance": DEFAULT_PARITY_TOLERANCE, "backend": "onnxruntime-cpu",
                   "reference": "the original ONNX file (no PyTorch model given)", "results": rows},
        "layers": describe_layers(onnx_model),
        "onnx_sha256": sha256_bytes(data),
        "versions": library_versions(),
    }
    return _write_export(out_dir, data, record)


def simplification_parity(original: bytes, simplified: bytes) -> List[Dict[str, object]]:
    from edgec.exporter.parity import compare_outputs
    from edgec.runtime.ort_backend import OnnxRuntimeRunner

    rows = []
    with OnnxRuntimeRunner(original) as ref, OnnxRuntimeRunner(simplified) as cand:
        rng = np.random.default_rng(0)
        feed = {}
        for info in ref.inputs():
            shape = [d if isinstance(d, int) and d > 0 else 1 for d in info.shape]
            feed[info.name] = rng.uniform(0, 1, size=shape).astype(info.dtype)
        expected, got = ref.infer(feed), cand.infer(feed)
        for name in expected:
            row = {"batch": 1, "output": name}
            row.update(compare_outputs(expected[name], got[name]))
            rows.append(row)
    return rows
