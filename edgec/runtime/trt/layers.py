"""From plan.json layer names (ONNX node names) to TensorRT network layers, and back from the
built engine's layer report to the precision each planned layer actually got. plan.json itself
is read by edgec.artifacts.read_plan.

Pure Python (no TensorRT import) so both mappings are tested without TensorRT. Python 3.6
compatible.
"""
import json
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple  # noqa: F401

from edgec.errors import EdgecError

# Layer types that carry plan.json precisions (the quantizable layers).
CONSTRAINED_TYPES = ("CONVOLUTION", "DECONVOLUTION")


def belongs_to_node(layer_name, node_name):
    # type: (str, str) -> bool
    """The ONNX parser names a layer after its node; helper layers it adds for the same node
    carry the node name plus a suffix (`enc1.2_1`, `enc1.2 [bias]`). `enc1.2` must not claim
    `enc1.20`, so the name must end or continue with a non-alphanumeric character."""
    if layer_name == node_name:
        return True
    if not layer_name.startswith(node_name):
        return False
    nxt = layer_name[len(node_name)]
    return not (nxt.isalnum() or nxt == ".")


def map_plan_to_layers(plan_layers, network_layers):
    # type: (Dict[str, str], Sequence[Tuple[str, str]]) -> Tuple[Dict[str, List[str]], List[str]]
    """plan_layers: {onnx node name: "fp16"|"int8"}; network_layers: (name, type) in network
    order, type the LayerType name. Returns ({plan layer: [network layer names]}, unmapped plan
    layers). A plan layer maps to the convolution layers named after it."""
    mapped = {}  # type: Dict[str, List[str]]
    unmapped = []  # type: List[str]
    for node in sorted(plan_layers):
        hits = [name for name, kind in network_layers
                if kind in CONSTRAINED_TYPES and belongs_to_node(name, node)]
        if hits:
            mapped[node] = hits
        else:
            unmapped.append(node)
    return mapped, unmapped


def format_precision(text):
    # type: (str) -> Optional[str]
    """The data type in an engine inspector "Format/Datatype" string: "Int8 NC/32HW32 ...",
    "Row major linear FP16 format", "Half", "Float", "Row major linear FP32"."""
    lowered = text.lower()
    if "int8" in lowered:
        return "int8"
    if "fp16" in lowered or "half" in lowered:
        return "fp16"
    if "fp32" in lowered or "float" in lowered:
        return "fp32"
    return None


def engine_layer_precisions(engine_info):
    # type: (str) -> List[Dict[str, Any]]
    """Each engine layer's name, type and compute precision from IEngineInspector's JSON
    (ProfilingVerbosity.DETAILED). A layer computes in INT8 when an input is INT8, otherwise in
    the precision of its first input or output that states one."""
    try:
        data = json.loads(engine_info)
    except ValueError as exc:
        raise EdgecError("the engine inspector's report is not JSON: %s" % exc)
    rows = []
    for layer in data.get("Layers", []) if isinstance(data, dict) else []:
        if not isinstance(layer, dict):  # LayerInformationFormat.ONELINE gives strings
            continue
        inputs = [format_precision(str(t.get("Format/Datatype", "")))
                  for t in layer.get("Inputs", []) if isinstance(t, dict)]
        outputs = [format_precision(str(t.get("Format/Datatype", "")))
                   for t in layer.get("Outputs", []) if isinstance(t, dict)]
        precision = None  # type: Optional[str]
        if "int8" in inputs:
            precision = "int8"
        else:
            precision = next((p for p in inputs + outputs if p), None)
        rows.append({"name": str(layer.get("Name", "")), "type": str(layer.get("LayerType", "")),
                     "precision": precision})
    return rows


def fused_parts(engine_layer_name):
    # type: (str) -> List[str]
    """Engine layers fuse network layers: "enc1.2 + Relu_5", "PWN(enc1.2, Add_7)"."""
    return [part for part in re.split(r"\s*\+\s*|[(),]\s*|^PWN|\s+", engine_layer_name) if part]


def is_reformat_layer(row):
    # type: (Dict[str, Any]) -> bool
    """TensorRT's reformatting layers ("Reformatting CopyNode for Input Tensor 0 to enc1.2 +
    Relu_5") name the layer they feed, in the precision they convert from."""
    return row.get("type") == "Reformat" or str(row.get("name", "")).startswith("Reformatting ")


def planned_vs_built(plan_layers, engine_rows):
    # type: (Dict[str, str], List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]
    """{plan layer: {planned, built, engine_layer}}; built is None when no engine layer names
    the node (fused beyond recognition) and is then reported as unknown, not guessed.
    Reformatting layers are passed over: they name the layer they feed, so the first match
    would be a copy in the wrong precision."""
    report = {}
    computing = [row for row in engine_rows if not is_reformat_layer(row)]
    for node, planned in sorted(plan_layers.items()):
        built = None  # type: Optional[str]
        where = None  # type: Optional[str]
        for row in computing:
            if any(belongs_to_node(part, node) for part in fused_parts(row["name"])):
                built, where = row["precision"], row["name"]
                break
        report[node] = {"planned": planned, "built": built, "engine_layer": where}
    return report
