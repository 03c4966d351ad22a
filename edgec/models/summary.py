"""Model summary for `edgec models`."""
from typing import Dict, List, Optional


def zoo_summary(name: Optional[str] = None, with_layers: bool = False) -> List[Dict[str, object]]:
    """The summary of zoo model `name`, or of every zoo model."""
    from edgec.models.registry import get_model, model_names

    return [model_summary(get_model(n), with_layers) for n in ([name] if name else model_names())]


def model_summary(entry, with_layers: bool = False) -> Dict[str, object]:
    from edgec.models.layers import io_shapes, other_cost_layers

    device = "meta" if entry.summarize_on_meta else "cpu"
    model = entry.build_meta() if entry.summarize_on_meta else entry.build()
    calls = {}  # type: Dict[str, tuple]
    # One forward pass for every count: conv layers, Linear layers, attention products.
    shapes = io_shapes(model, entry.example_tensors(device), attention=calls)
    layers = entry.layers(model, shapes)
    others = other_cost_layers(model, shapes, calls)
    linear = int(sum(r["macs"] for r in others if r["kind"] == "Linear"))
    attention = int(sum(r["macs"] for r in others if r["kind"] == "Attention"))
    row = {
        "name": entry.name, "summary": entry.summary,
        "params": int(sum(p.numel() for p in model.parameters())),
        "macs": int(sum(layer.macs for layer in layers)) + linear + attention,
        "macs_output_grid": int(sum(layer.macs_output_grid for layer in layers)) + linear
        + attention,
        "macs_linear": linear, "macs_attention": attention,
        "mac_conventions": {"macs": "true: transposed convs counted on their input grid",
                            "macs_output_grid": "transposed convs on the output grid (thop, paper)",
                            "macs_linear": "nn.Linear layers (included in both totals)",
                            "macs_attention": "attention's two matrix products, q k^T and "
                                              "weights v (included in both totals)"},
        "quantizable_layers": len(layers),
        "inputs": [{"name": i.name, "shape": ["batch"] + list(i.shape), "dtype": i.dtype}
                   for i in entry.inputs],
        "outputs": list(entry.outputs),
    }
    if entry.public_figures:
        row["public_figures"] = [
            {"figure": f.figure, "public": f.value, "edgec": row[f.figure],
             "edgec_over_public": round(row[f.figure] / f.value, 4), "source": f.source,
             "note": f.note} for f in entry.public_figures]
    if with_layers:
        row["layers"] = [layer.to_dict() for layer in layers]
        # What edgec predict sums: the quantizable layers and every other counted cost.
        row["cost_layers"] = row["layers"] + others
    return row
