"""What each TensorRT version's ONNX parser imports, as data: one rule per fact, each with the
version range it holds for and its source (onnx-tensorrt's `docs/operators.md` and changelog at
the release tag; ../shared/REFERENCE.md section 7). `edgec check` (edgec.check.checker) applies
them per target; tests/unit/check test each rule on a small graph.

A rule's `before` is the first TensorRT version that no longer has the limitation (None: every
version edgec targets has it). `severity` "error" means the parser refuses the node (the file
does not import); "warning" means it imports with a caveat. Where no operators.md exists for a
version (10.3, 10.13, 10.16), the nearest tag's text is used and the source says so.
"""
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple  # noqa: F401

Version = Tuple[int, int]

OPS_MD = "onnx/onnx-tensorrt docs/operators.md"
# The tags read (git mirror of onnx/onnx-tensorrt); 10.15's operators.md and changelog from the
# stored index (no 10.2+ tag in the mirror).
TAG = {(8, 2): "release/8.2-GA 85e79f6", (8, 5): "release/8.5-GA 3b008c4",
       (8, 6): "release/8.6-GA 6ba67d3", (10, 1): "release/10.1-GA 96e7811",
       (10, 15): "10.15 (stored copy)"}


def source(version, line=None, path=OPS_MD):
    # type: (Version, Optional[int], str) -> str
    return "%s at %s%s" % (path, TAG[version], "#L%d" % line if line else "")


# The highest opset each version's operators.md documents: (first version, max opset, source).
# A version takes the last row at or before it.
MAX_OPSET = [
    ((8, 2), 13, source((8, 2), 5) + ": \"TensorRT 8.2 supports operators up to Opset 13\""),
    ((8, 5), 17, source((8, 5), 5) + ": \"TensorRT 8.5 supports operators up to Opset 17\""),
    ((8, 6), 17, source((8, 6), 5) + ": \"TensorRT 8.6 supports operators up to Opset 17\""),
    ((10, 1), 20, source((10, 1), 5) + ": \"opset 9 to opset 20\" (no later statement until "
     "10.15)"),
    ((10, 15), 24, source((10, 15), 5) + ": \"opset 9 to opset 24\""),
    ((11, 5), 25, "TensorRT 11.5 GA release notes: \"Added support for ONNX opset 25\""),
]  # type: List[Tuple[Version, int, str]]


def max_opset(version):
    # type: (Version) -> Tuple[int, str]
    rows = [row for row in MAX_OPSET if row[0] <= version]
    if not rows:
        return MAX_OPSET[0][1], MAX_OPSET[0][2]
    return rows[-1][1], rows[-1][2]


class Rule(NamedTuple("Rule", [("rule", str), ("ops", Tuple[str, ...]),
                               ("before", Optional[Version]), ("severity", str),
                               ("reason", str), ("source", str), ("applies", Any)])):
    """`applies(node, graph)`: whether the node breaks the rule (None: every node of `ops`)."""


def _initializer_or_constant(graph, name):
    # type: (Any, str) -> bool
    return name in graph.initializers or name in graph.constants


def _input_not_constant(index):
    # type: (int) -> Callable[[Any, Any], bool]
    def check(node, graph):
        # type: (Any, Any) -> bool
        return len(node.input) > index and bool(node.input[index]) and \
            not _initializer_or_constant(graph, node.input[index])
    return check


def _attribute(node, name, default=None):
    # type: (Any, str, Any) -> Any
    for attribute in node.attribute:
        if attribute.name == name:
            import onnx

            value = onnx.helper.get_attribute_value(attribute)
            return value.decode() if isinstance(value, bytes) else value
    return default


def _grid_sample_5d(node, graph):
    # type: (Any, Any) -> bool
    return graph.rank(node.input[0]) == 5


def _einsum_ellipsis(node, graph):
    # type: (Any, Any) -> bool
    return "..." in str(_attribute(node, "equation", ""))


def _instance_norm_params(node, graph):
    # type: (Any, Any) -> bool
    return any(not _initializer_or_constant(graph, name) for name in node.input[1:3])


def _resize_unsupported(node, graph):
    # type: (Any, Any) -> bool
    cubic = _attribute(node, "mode", "nearest") == "cubic"
    return cubic or int(_attribute(node, "antialias", 0)) == 1


def _nonzero_zero_point(node, graph):
    # type: (Any, Any) -> bool
    if len(node.input) < 3 or not node.input[2]:
        return False
    values = graph.constant_values(node.input[2])
    return values is None or bool((values != 0).any())


def _scatter_reduction(node, graph):
    # type: (Any, Any) -> bool
    return _attribute(node, "reduction", "none") != "none"


RULES = [
    Rule("no-gridsample", ("GridSample",), (8, 5), "error",
         "no GridSample importer before TensorRT 8.5",
         source((8, 2)) + " (no GridSample row); REFERENCE.md section 7 (8.5 GA)", None),
    Rule("gridsample-5d", ("GridSample",), (11, 2), "error",
         "5-D GridSample (3-D spatial) does not import before TensorRT 11.2 (\"Input must be "
         "4D input\"); decompose it (edgec export --grid-sample decomposed)",
         source((10, 1)) + "; TensorRT 11.2 release notes; TensorRT issue 2005",
         _grid_sample_5d),
    Rule("no-layernorm", ("LayerNormalization",), (8, 6), "error",
         "LayerNormalization imports from TensorRT 8.6 (INormalizationLayer)",
         source((8, 5), 86) + " (listed N)", None),
    Rule("no-groupnorm", ("GroupNormalization",), (8, 6), "error",
         "GroupNormalization imports from TensorRT 8.6", source((8, 6)), None),
    Rule("no-deformconv", ("DeformConv",), (10, 1), "error",
         "DeformConv imports from TensorRT 10.1", source((10, 1), 59), None),
    Rule("no-attention", ("Attention",), (10, 14), "error",
         "ONNX Attention imports from TensorRT 10.14",
         "onnx-tensorrt docs/Changelog.md, 10.14 (stored copy)", None),
    Rule("no-rope-rmsnorm", ("RotaryEmbedding", "RMSNormalization"), (10, 15), "error",
         "RotaryEmbedding and RMSNormalization import from TensorRT 10.15",
         "onnx-tensorrt docs/Changelog.md, 10.15 (stored copy)", None),
    Rule("no-col2im", ("Col2Im",), None, "error",
         "Col2Im has no importer (listed N)", source((10, 1), 43), None),
    Rule("einsum-ellipsis", ("Einsum",), (10, 1), "error",
         "Einsum with an ellipsis: \"Ellipsis and diagonal operations are not supported\"",
         source((8, 6), 55), _einsum_ellipsis),
    Rule("slice-axes-tensor", ("Slice",), (10, 3), "error",
         "Slice `axes` must be an initializer", source((8, 2), 157), _input_not_constant(3)),
    Rule("pad-axes-tensor", ("Pad",), (10, 4), "error",
         "Pad `axes` must be an initializer", source((10, 1), 135), _input_not_constant(3)),
    Rule("squeeze-axes-tensor", ("Squeeze", "Unsqueeze"), None, "error",
         "Squeeze/Unsqueeze `axes` must be a constant", source((8, 2), 166),
         _input_not_constant(1)),
    Rule("instancenorm-params", ("InstanceNormalization",), (8, 6), "error",
         "InstanceNormalization `scale` and `B` must be initializers", source((8, 2), 76),
         _instance_norm_params),
    Rule("resize-mode", ("Resize",), None, "error",
         "Resize: cubic mode and antialiasing are not supported (nearest and linear only)",
         source((8, 2), 133) + "; " + source((10, 15), 162), _resize_unsupported),
    Rule("qdq-zero-point", ("QuantizeLinear", "DequantizeLinear"), None, "error",
         "Q/DQ zero point must be 0 (symmetric quantization only)", source((8, 2), 114),
         _nonzero_zero_point),
    Rule("scatternd-reduction", ("ScatterND",), None, "error",
         "ScatterND `reduction` other than none is not supported", source((10, 15), 174),
         _scatter_reduction),
]  # type: List[Rule]

# Not per node: whole-file facts.
LOCAL_FUNCTIONS = ((9, 0), "error", "ONNX local functions import from TensorRT 9.0",
                   "onnx-tensorrt docs/Changelog.md, 9.0 EA")
INT64_IO = ((9, 0), "warning", "INT64 inputs/outputs are cast to INT32, clamping values, before "
            "TensorRT 9.0", "onnx-tensorrt docs/Changelog.md, 9.0 EA (native INT64)")
UNKNOWN_OP = ("error", "no importer for this op: the parser falls back to a TensorRT plugin of "
              "the same name, which must be registered (\"Plugin not found\" otherwise)",
              "onnx-tensorrt ModelImporter (checkFallbackPluginImporter); REFERENCE.md "
              "section 5")
DOMAINS = ("", "ai.onnx")  # the standard domain: anything else needs a plugin

# edgec's own rules, beside the parser's.
NO_INT8 = ("error", "%s has no INT8 on its GPU: an INT8 or MIX file cannot run there",
           "edgec/jetson/profiles.py (REFERENCE.md section 3)")
DECONV_AXIS = ((10, 0), "error",
               "INT8 ConvTranspose weights with per-output-channel scales (axis 1): TensorRT "
               "8.x kernels take per-input-channel scales only; edgec builds 8.x from the FP32 "
               "ONNX and calib.cache instead", "TensorRT issues 1694, 2380")
EXTERNAL_DATA = ("error", "its weights are in %s, which is not beside it",
                 "ONNX external data (onnx.external_data_helper)")
MEMORY = ("error", "its weights (%.0f MiB) exceed %s's memory left for engines (%.0f MiB)",
          "edgec/jetson/profiles.py; edgec.latency.cost_model.RESERVED_MIB")
