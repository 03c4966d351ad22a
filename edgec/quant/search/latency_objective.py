"""What a MIX plan costs, for the sweep's plan selection: the target Jetson's predicted (or
profiled) latency, or, without a target, the FP16 MACs (the share of MACs left out of INT8).

The latency of a plan is the sum of its layers' times at their precisions (edgec.latency.cost_model
`plan_costs`, from the fitted estimator or the board's profile.json) plus one reformat for
every producer -> consumer edge of the graph whose two layers differ in precision. On Jetsons
INT8 is not always faster than FP16 (small layers are launch-bound; TensorRT issues 1699, 2067),
and each boundary costs a conversion, so the plan with the most INT8 MACs is not always the
fastest.
"""
from typing import Any, Dict, List, Optional, Sequence, Tuple

from edgec.errors import EdgecError


class MacCost(object):
    """Without a target: the MACs left in FP16 (the sweep's objective before targets)."""

    name = "int8 MAC share"

    def __init__(self, macs: Dict[str, int]):
        self.macs = macs

    def __call__(self, precisions: Dict[str, str]) -> float:
        return float(sum(self.macs[l] for l, p in precisions.items() if p != "int8"))

    def describe(self, precisions: Dict[str, str]) -> Dict[str, Any]:
        total = float(sum(self.macs.values()))
        return {"objective": self.name,
                "int8_mac_share": round(1.0 - self(precisions) / total, 6) if total else 0.0}


def conv_edges(model, layer_names: Sequence[str]) -> List[Tuple[str, str]]:
    """(producer, consumer) pairs of quantizable layers (ONNX node names): the consumer reads a
    tensor computed from the producer's output through non-quantizable nodes only (activations,
    pooling, concatenation, additions, reshapes)."""
    names = set(layer_names)
    producer = {}  # tensor name -> node
    for node in model.graph.node:
        for output in node.output:
            producer[output] = node
    initializers = set(i.name for i in model.graph.initializer)
    edges = []
    for node in model.graph.node:
        if node.name not in names:
            continue
        seen = set()
        stack = [node.input[0]] if node.input else []
        sources = set()
        while stack:
            tensor = stack.pop()
            if tensor in seen or tensor in initializers or tensor not in producer:
                continue
            seen.add(tensor)
            upstream = producer[tensor]
            if upstream.name in names:
                sources.add(upstream.name)
            else:
                stack.extend(upstream.input)
        edges += [(source, node.name) for source in sorted(sources)]
    return edges


class LatencyCost(object):
    """Predicted latency of a plan on one Jetson, in ms; see the module docstring."""

    def __init__(self, target: str, layers: List[Dict[str, Any]], edges: List[Tuple[str, str]],
                 params: Dict[str, Any], measured: Optional[Dict[str, Dict[str, float]]] = None,
                 sources: Sequence[str] = (), batch: int = 1):
        from edgec.jetson.profiles import BY_KEY
        from edgec.latency import cost_model

        profile = BY_KEY[target]
        if not profile.supports("int8"):
            raise EdgecError("--target %s: %s has no INT8 on its GPU (%s), so a MIX plan has "
                             "nothing to choose there" % (target, profile.name, profile.arch))
        self.target = target
        self.name = "latency on %s" % target
        self.sources = list(sources)
        self.layers = layers  # the layer records and the fit: placement (search.placement)
        self.params = params  # reads them from here
        self.table = cost_model.plan_costs(layers, target, params, measured, batch)
        by_name = {layer["name"]: layer for layer in layers}
        self.edges = [(a, b, cost_model.reformat_ms(by_name[a]["output_shape"], target, params,
                                                 batch)) for a, b in edges]

    def __call__(self, precisions: Dict[str, str]) -> float:
        return self.breakdown(precisions)["ms"]

    def breakdown(self, precisions: Dict[str, str]) -> Dict[str, Any]:
        layers_ms = sum(self.table[l][p] for l, p in precisions.items())
        crossing = [(a, b, ms) for a, b, ms in self.edges if precisions[a] != precisions[b]]
        boundary_ms = sum(ms for _, _, ms in crossing)
        return {"ms": layers_ms + boundary_ms, "layers_ms": layers_ms,
                "boundaries": len(crossing), "boundary_ms": boundary_ms}

    def int8_not_faster(self) -> List[str]:
        return [l for l, row in self.table.items() if row["int8"] >= row["fp16"]]

    def describe(self, precisions: Dict[str, str]) -> Dict[str, Any]:
        row = self.breakdown(precisions)
        return {"objective": self.name, "target": self.target,
                "predicted_ms": round(row["ms"], 4), "boundaries": row["boundaries"],
                "boundary_ms": round(row["boundary_ms"], 4)}


def measured_times(profile_paths: Sequence[str], target: str, layer_names: Sequence[str],
                   batch: int = 1) -> Dict[str, Dict[str, float]]:
    """{layer: {precision: ms}} from profile.json files measured on `target`; a profile of
    another board, batch or model's layers is refused, naming the file."""
    from edgec.latency.attribution import attribute
    from edgec.runtime.layer_profile import read_profile

    measured = {}  # type: Dict[str, Dict[str, List[float]]]
    for path in profile_paths:
        profile = read_profile(path)
        if profile.get("board") != target:
            raise EdgecError("profile %s was measured on %s, not on the target %s"
                             % (path, profile.get("board") or "a machine that is not a Jetson",
                                target))
        if profile["batch"] != batch:
            raise EdgecError("profile %s is of batch %d; plans are chosen at batch %d"
                             % (path, profile["batch"], batch))
        credited = attribute(profile, layer_names)
        if not credited["layers"]:
            raise EdgecError("profile %s names none of this model's layers (%s, ...): it is "
                             "another model's" % (path, ", ".join(list(layer_names)[:3])))
        for layer, row in credited["layers"].items():
            if row["precision"] in ("fp16", "int8"):
                measured.setdefault(layer, {}).setdefault(row["precision"], []).append(row["ms"])
    return {layer: {p: sum(v) / len(v) for p, v in by_precision.items()}
            for layer, by_precision in measured.items()}
