"""Model summary for `edgec models`."""
from typing import Dict, List, Optional


def zoo_summary(name: Optional[str] = None, with_layers: bool = False) -> List[Dict[str, object]]:
    """The summary of zoo model `name`, or of every zoo model."""
    from edgec.models.registry import get_model, model_names

    return [model_summary(get_model(n), with_layers) for n in ([name] if name else model_names())]


def model_summary(entry, with_layers: bool = False) -> Dict[str, object]:
    from edgec.models.layers import io_shapes, linear_macs

    model = entry.build()
    shapes = io_shapes(model, entry.example_tensors())  # one forward pass for both counts
    layers = entry.layers(model, shapes)
    linear = linear_macs(model, shapes)
    row = {
        "name": entry.name, "summary": entry.summary,
        "params": int(sum(p.numel() for p in model.parameters())),
        "macs": int(sum(layer.macs for layer in layers)) + linear,
        "macs_output_grid": int(sum(layer.macs_output_grid for layer in layers)) + linear,
        "macs_linear": linear,
        "mac_conventions": {"macs": "true: transposed convs counted on their input grid",
                            "macs_output_grid": "transposed convs on the output grid (thop, paper)",
                            "macs_linear": "nn.Linear layers (included in both totals)"},
        "quantizable_layers": len(layers),
        "inputs": [{"name": i.name, "shape": ["batch"] + list(i.shape), "dtype": i.dtype}
                   for i in entry.inputs],
        "outputs": list(entry.outputs),
    }
    if with_layers:
        row["layers"] = [layer.to_dict() for layer in layers]
    return row
