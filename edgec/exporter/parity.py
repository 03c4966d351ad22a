"""Parity of an exported ONNX file against the PyTorch model it came from."""
from typing import Dict, List, Sequence

import numpy as np

from edgec.errors import EdgecError
from edgec.runtime.ort_backend import OnnxRuntimeRunner


def compare_outputs(reference: np.ndarray, candidate: np.ndarray) -> Dict[str, float]:
    ref = reference.astype(np.float64).ravel()
    cand = candidate.astype(np.float64).ravel()
    denom = np.linalg.norm(ref) * np.linalg.norm(cand)
    cosine = float(ref @ cand / denom) if denom > 0 else float(np.array_equal(ref, cand))
    return {"max_abs_error": float(np.max(np.abs(ref - cand))), "cosine": cosine}


def parity_report(entry, torch_model, onnx_source, batches: Sequence[int] = (1, 8),
                  seed: int = 0) -> List[Dict[str, object]]:
    """ONNX Runtime vs PyTorch on the same random inputs, per batch size and output."""
    import torch

    rows = []
    with OnnxRuntimeRunner(onnx_source) as runner:
        output_names = [o.name for o in runner.outputs()]
        for batch in batches:
            feed = entry.dummy_inputs(batch, seed=seed + batch)
            with torch.no_grad():
                expected = torch_model(*[torch.from_numpy(feed[i.name]) for i in entry.inputs])
            expected_list = expected if isinstance(expected, (tuple, list)) else [expected]
            got = runner.infer(feed)
            for name, ref in zip(output_names, expected_list):
                row = {"batch": batch, "output": name}
                row.update(compare_outputs(ref.numpy(), got[name]))
                rows.append(row)
    return rows


def check_parity(rows: List[Dict[str, object]], tolerance: float, where: str) -> None:
    bad = [r for r in rows if not float(r["max_abs_error"]) <= tolerance]
    if bad:
        details = "; ".join("output %s at batch %d: max abs error %.3g, cosine %.6f"
                            % (r["output"], r["batch"], r["max_abs_error"], r["cosine"])
                            for r in bad)
        raise EdgecError("parity check failed for %s (tolerance %.1g): %s. Nothing was written."
                         % (where, tolerance, details))
