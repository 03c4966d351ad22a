"""`edgec check`: will this ONNX (or build folder, or bundle) import on these boards? Every node
the board's TensorRT parser would refuse, per JetPack line, by the rules of edgec.check.rules,
plus edgec's own (INT8 on boards without it, external weights, memory, ConvTranspose scale axes).

For a build folder or bundle each precision is checked in the file that board's TensorRT builds
it from (edgec.runtime.trt.versions.BuildStrategy: TensorRT 8.x builds every precision from the
FP32 ONNX and calib.cache; 10+ from the precision's Q/DQ or FP16 file). The weights are never
loaded: a LatentSync UNet of 5 GB is checked from its graph.
"""
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple  # noqa: F401

import numpy as np
import onnx

from edgec import artifacts
from edgec.check import rules
from edgec.errors import EdgecError

QDQ = ("QuantizeLinear", "DequantizeLinear")
BYTES = {onnx.TensorProto.FLOAT: 4, onnx.TensorProto.FLOAT16: 2, onnx.TensorProto.INT8: 1,
         onnx.TensorProto.UINT8: 1, onnx.TensorProto.INT64: 8, onnx.TensorProto.INT32: 4,
         onnx.TensorProto.DOUBLE: 8, onnx.TensorProto.BOOL: 1}


class Graph(object):
    """What the rules read of a model: initializer and Constant names, small constant values,
    tensor ranks (shape inference), opset and sizes. Weights stay on disk."""

    def __init__(self, path):
        # type: (str) -> None
        try:
            model = onnx.load(path, load_external_data=False)
        except Exception as exc:  # protobuf's errors name no file
            raise EdgecError("%s is not an ONNX model: %s" % (path, exc))
        self.path = path
        self.model = model
        graph = model.graph
        self.nodes = list(graph.node)
        self.initializers = {init.name: init for init in graph.initializer}
        self.constants = {}  # type: Dict[str, Any]
        for node in self.nodes:
            if node.op_type == "Constant" and node.domain in rules.DOMAINS:
                for attribute in node.attribute:
                    if attribute.name == "value":
                        self.constants[node.output[0]] = attribute.t
        self.opset = next((o.version for o in model.opset_import if o.domain in rules.DOMAINS),
                          None)
        try:
            inferred = onnx.shape_inference.infer_shapes(model)
        except Exception:  # an op shape inference does not know: ranks stay unknown
            inferred = model
        self.ranks = {}  # type: Dict[str, int]
        for info in list(inferred.graph.value_info) + list(inferred.graph.input) + \
                list(inferred.graph.output):
            if info.type.tensor_type.HasField("shape"):
                self.ranks[info.name] = len(info.type.tensor_type.shape.dim)

    def rank(self, name):
        # type: (str) -> Optional[int]
        return self.ranks.get(name)

    def constant_values(self, name):
        # type: (str) -> Optional[np.ndarray]
        tensor = self.initializers.get(name) or self.constants.get(name)
        if tensor is None or onnx.external_data_helper.uses_external_data(tensor):
            return None
        return onnx.numpy_helper.to_array(tensor)

    def weight_bytes(self):
        # type: () -> int
        total = 0
        for init in self.initializers.values():
            total += int(np.prod(list(init.dims) or [1])) * BYTES.get(init.data_type, 4)
        return total

    def external_files(self):
        # type: () -> List[str]
        names = set()
        for init in self.initializers.values():
            if onnx.external_data_helper.uses_external_data(init):
                for entry in init.external_data:
                    if entry.key == "location":
                        names.add(entry.value)
        return sorted(names)


def finding(severity, reason, source, rule, node=None, op=None, opset=None):
    # type: (str, str, str, str, Optional[str], Optional[str], Optional[int]) -> Dict[str, Any]
    return {"severity": severity, "reason": reason, "source": source, "rule": rule,
            "node": node, "op": op, "opset": opset}


def _is_default(attribute, schema):
    # type: (Any, Any) -> bool
    declared = schema.attributes.get(attribute.name)
    if declared is None or not declared.default_value.name:
        return False
    return onnx.helper.get_attribute_value(attribute) == \
        onnx.helper.get_attribute_value(declared.default_value)


def _opset_findings(graph, version):
    # type: (Graph, Tuple[int, int]) -> List[Dict[str, Any]]
    """A file above the version's documented opset: each node whose op's definition changed
    after that opset in a way the node uses (an op defined later, an attribute or an input
    added later). Type-only changes are not flagged."""
    documented, where = rules.max_opset(version)
    if graph.opset is None or graph.opset <= documented:
        return []
    found = [finding("warning", "opset %d is above the %d this TensorRT documents"
                     % (graph.opset, documented), where, "opset")]
    for node in graph.nodes:
        if node.domain not in rules.DOMAINS or not onnx.defs.has(node.op_type):
            continue
        newest = onnx.defs.get_schema(node.op_type, graph.opset)
        if newest.since_version <= documented:
            continue
        try:
            older = onnx.defs.get_schema(node.op_type, documented)
        except onnx.defs.SchemaError:
            found.append(finding("error", "%s does not exist at opset %d, the highest this "
                                 "TensorRT documents (the file uses its opset-%d definition)"
                                 % (node.op_type, documented, newest.since_version),
                                 where, "opset-new-op", node.name, node.op_type, graph.opset))
            continue
        # An attribute added later, set to its default (torch writes Reshape's allowzero=0),
        # keeps the old meaning.
        added = sorted(a.name for a in node.attribute if a.name not in older.attributes
                       and not _is_default(a, newest))
        inputs = len([i for i in node.input if i])
        if added or (inputs > len(older.inputs) and not any(
                p.option == onnx.defs.OpSchema.FormalParameterOption.Variadic
                for p in older.inputs)):
            what = ("attributes %s" % ", ".join(added)) if added else \
                "%d inputs (opset %d has %d)" % (inputs, documented, len(older.inputs))
            found.append(finding("error", "%s changed at opset %d and this node uses %s, which "
                                 "opset %d lacks" % (node.op_type, newest.since_version, what,
                                                     documented),
                                 where, "opset-changed-op", node.name, node.op_type,
                                 graph.opset))
    return found


def parser_findings(graph, version):
    # type: (Graph, Tuple[int, int]) -> List[Dict[str, Any]]
    """What TensorRT `version`'s ONNX parser would refuse or warn about in `graph`."""
    found = []  # type: List[Dict[str, Any]]
    for node in graph.nodes:
        if node.op_type == "Constant" and node.domain in rules.DOMAINS:
            continue
        if node.domain not in rules.DOMAINS or not onnx.defs.has(node.op_type):
            severity, reason, where = rules.UNKNOWN_OP
            found.append(finding(severity, "%s (domain %r)" % (reason, node.domain or "ai.onnx"),
                                 where, "unknown-op", node.name, node.op_type, graph.opset))
            continue
        for rule in rules.RULES:
            if node.op_type not in rule.ops or (rule.before and version >= rule.before):
                continue
            if rule.applies is None or rule.applies(node, graph):
                found.append(finding(rule.severity, rule.reason, rule.source, rule.rule,
                                     node.name, node.op_type, graph.opset))
    if graph.model.functions and version < rules.LOCAL_FUNCTIONS[0]:
        found.append(finding(*rules.LOCAL_FUNCTIONS[1:], rule="local-functions"))
    if version < rules.INT64_IO[0]:
        io = list(graph.model.graph.input) + list(graph.model.graph.output)
        wide = [i.name for i in io if i.type.tensor_type.elem_type == onnx.TensorProto.INT64]
        if wide:
            found.append(finding(rules.INT64_IO[1], "%s: %s" % (rules.INT64_IO[2],
                                                                ", ".join(wide)),
                                 rules.INT64_IO[3], "int64-io"))
    return found + _opset_findings(graph, version)


def edgec_findings(graph, version, profile):
    # type: (Graph, Tuple[int, int], Any) -> List[Dict[str, Any]]
    """edgec's own rules for one board and TensorRT version."""
    from edgec.latency.cost_model import RESERVED_MIB

    found = []  # type: List[Dict[str, Any]]
    quantized = [n for n in graph.nodes if n.op_type in QDQ]
    if quantized and not profile.supports("int8"):
        found.append(finding(rules.NO_INT8[0], rules.NO_INT8[1] % profile.name,
                             rules.NO_INT8[2], "no-int8", quantized[0].name,
                             quantized[0].op_type))
    if version < rules.DECONV_AXIS[0]:
        producers = dict((out, n) for n in graph.nodes for out in n.output)
        for node in graph.nodes:
            weight = producers.get(node.input[1]) if node.op_type == "ConvTranspose" and \
                len(node.input) > 1 else None
            if weight is not None and weight.op_type == "DequantizeLinear" and \
                    int(rules._attribute(weight, "axis", 1)) == 1:
                found.append(finding(rules.DECONV_AXIS[1], rules.DECONV_AXIS[2],
                                     rules.DECONV_AXIS[3], "deconv-scale-axis", node.name,
                                     node.op_type))
    folder = os.path.dirname(os.path.abspath(graph.path))
    for name in graph.external_files():
        if not os.path.isfile(os.path.join(folder, name)):
            found.append(finding(rules.EXTERNAL_DATA[0], rules.EXTERNAL_DATA[1] % name,
                                 rules.EXTERNAL_DATA[2], "external-data"))
    weights_mib = graph.weight_bytes() / 2.0 ** 20
    available = profile.memory_gb * 1024.0 - RESERVED_MIB
    if weights_mib > available:
        found.append(finding(rules.MEMORY[0], rules.MEMORY[1] % (weights_mib, profile.name,
                                                                 available),
                             rules.MEMORY[2], "memory"))
    return found


def targets(boards):
    # type: (Sequence[str]) -> List[Tuple[Any, Any, Tuple[int, int]]]
    """(board profile, JetPack line, TensorRT major.minor) for every JetPack line of each
    board, in board-table order."""
    from edgec.jetson.jetpacks import JETPACKS
    from edgec.jetson.profiles import PROFILES, get_profile
    from edgec.runtime.trt.versions import parse_version

    chosen = [get_profile(key) for key in boards] if boards else list(PROFILES)
    lines = dict((j.group, j) for j in JETPACKS)
    return [(profile, lines[group], parse_version(lines[group].tensorrt)[:2])
            for profile in chosen for group in profile.jetpack_lines]


def files_to_check(path):
    # type: (str) -> Tuple[str, List[Tuple[Optional[str], str]]]
    """(folder, [(precision or None, file name)]): a lone ONNX is checked as it is; a folder by
    precision (the files BuildStrategy picks per version are resolved per target)."""
    if os.path.isfile(path):
        return os.path.dirname(os.path.abspath(path)), [(None, os.path.basename(path))]
    if not os.path.isdir(path):
        raise EdgecError("%s: no such file or folder" % path)
    present = [(p, artifacts.model_onnx(p)) for p in artifacts.PRECISIONS
               if os.path.isfile(os.path.join(path, artifacts.model_onnx(p)))]
    if not present:
        raise EdgecError("%s holds no model ONNX (%s): give an ONNX file, an edgec build folder "
                         "or a bundle" % (path, ", ".join(artifacts.model_onnx(p)
                                                          for p in artifacts.PRECISIONS)))
    return path, present


def check(path, boards=(), progress=None, rtx=None):
    # type: (str, Sequence[str], Any, Optional[bool]) -> Dict[str, Any]
    """The check record: one row per (board, JetPack line, precision) with its file, verdict
    and findings. A bundle is verified and unpacked into a temporary folder first."""
    import shutil
    import tarfile
    import tempfile

    if os.path.isfile(path) and tarfile.is_tarfile(path):
        from edgec.runtime.bundle import unpack

        folder = tempfile.mkdtemp(prefix="edgec-check-")
        try:
            unpack(path, folder)
            return dict(check_folder(folder, boards, progress, rtx), path=path)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return check_folder(path, boards, progress, rtx)


def rtx_records(path, progress=None):
    # type: (str, Any) -> List[Dict[str, Any]]
    """TensorRT-RTX's parse and build of each file the TensorRT 11 strategy builds from."""
    from edgec.check import rtx
    from edgec.runtime.trt.versions import ApiPaths, BuildStrategy

    folder, present = files_to_check(path)
    records = []
    for precision, name in present:
        if precision is not None:
            name = BuildStrategy(ApiPaths(rtx.API_VERSION), precision).onnx_file
        if progress:
            progress("%s: parsing and building %s" % (rtx.name(), name))
        record = rtx.parse_and_build(os.path.join(folder, name), precision or "fp32")
        records.append(dict(record, file=name))
    return records


def check_folder(path, boards=(), progress=None, rtx=None):
    # type: (str, Sequence[str], Any, Optional[bool]) -> Dict[str, Any]
    from edgec.runtime.trt.versions import ApiPaths, BuildStrategy

    folder, present = files_to_check(path)
    graphs = {}  # type: Dict[str, Graph]
    rows = []
    for profile, jetpack, version in targets(boards):
        for precision, name in present:
            needed = [name]
            if precision is not None:
                strategy = BuildStrategy(ApiPaths(jetpack.tensorrt), precision)
                needed = strategy.needed_files()
                name = strategy.onnx_file
            missing = [f for f in needed if not os.path.isfile(os.path.join(folder, f))]
            found = [finding("error", "lacks %s, which TensorRT %s builds %s from"
                             % (f, jetpack.tensorrt, precision), "edgec.runtime.trt.versions."
                             "BuildStrategy", "missing-file") for f in missing]
            file_path = os.path.join(folder, name)
            if os.path.isfile(file_path):
                if file_path not in graphs:
                    if progress:
                        progress("reading %s" % file_path)
                    graphs[file_path] = Graph(file_path)
                graph = graphs[file_path]
                found += parser_findings(graph, version) + edgec_findings(graph, version,
                                                                          profile)
            if precision in ("int8", "mix") and not profile.supports("int8") and \
                    not any(f["rule"] == "no-int8" for f in found):
                found.append(finding(rules.NO_INT8[0], rules.NO_INT8[1] % profile.name,
                                     rules.NO_INT8[2], "no-int8"))
            errors = [f for f in found if f["severity"] == "error"]
            rows.append({"board": profile.key, "jetpack": jetpack.version,
                         "tensorrt": jetpack.tensorrt, "precision": precision, "file": name,
                         "verdict": "cannot import" if errors else
                         ("imports, with warnings" if found else "imports"),
                         "findings": found})
    from edgec.check.rtx import rtx_version

    record = {"format": "edgec-check/1", "path": path, "rows": rows, "files": sorted(graphs),
              "ok": all(r["verdict"] != "cannot import" for r in rows),
              "rtx": None, "rtx_skipped": None}  # type: Dict[str, Any]
    if rtx or (rtx is None and rtx_version()):
        if not rtx_version():
            raise EdgecError("--rtx: TensorRT-RTX is not installed: pip install 'edgec[rtx]'")
        record["rtx"] = rtx_records(path, progress)
    else:
        record["rtx_skipped"] = ("--no-rtx" if rtx is False else
                                 "TensorRT-RTX is not installed (pip install 'edgec[rtx]')")
    return record


def blocking(record, precisions=None):
    # type: (Dict[str, Any], Optional[Sequence[str]]) -> List[str]
    """One line per board, TensorRT and file that cannot import (of `precisions` only, when
    given): the precisions, and the first node and reason."""
    lines = []  # type: List[str]
    grouped = {}  # type: Dict[Tuple[str, str, str, str], List[str]]
    for row in record["rows"]:
        if row["verdict"] != "cannot import" or (precisions and
                                                 row["precision"] not in precisions):
            continue
        first = next(f for f in row["findings"] if f["severity"] == "error")
        reason = "%s%s" % ("node %s (%s): " % (first["node"], first["op"]) if first["node"]
                           else "", first["reason"])
        key = (row["board"], "JetPack %s (TensorRT %s)" % (row["jetpack"], row["tensorrt"]),
               row["file"], reason)
        grouped.setdefault(key, []).append(row["precision"] or "as given")
    for (board, line, name, reason), which in grouped.items():
        lines.append("%s on %s: %s (%s) cannot import: %s" % (board, line, name,
                                                              "/".join(which), reason))
    return lines


def unusable_boards(record, precisions=None):
    # type: (Dict[str, Any], Optional[Sequence[str]]) -> List[str]
    """Boards on which no file of `precisions` imports on any JetPack line they run."""
    boards = []  # type: List[str]
    usable = set()
    for row in record["rows"]:
        if precisions and row["precision"] not in precisions:
            continue
        if row["board"] not in boards:
            boards.append(row["board"])
        if row["verdict"] != "cannot import":
            usable.add(row["board"])
    return [b for b in boards if b not in usable]
