"""The array reader, for any model: `.npz` (one array per input name) or `.npy` (single-input
models) files holding ready model inputs with a leading batch axis. build_store falls back to it
for every data family."""
import os
from typing import Dict, Sequence, Tuple

import numpy as np

from edgec.calib.layout import array_files
from edgec.calib.sampling import SkipLog
from edgec.calib.store import SampleStoreWriter, StoreInput
from edgec.errors import EdgecError


def build_array_store(root: str, out_path: str, inputs: Sequence[Tuple[str, Tuple[int, ...]]],
                      n: int, seed: int, progress: bool = True):
    """Samples from .npz/.npy files holding ready inputs (leading batch axis)."""
    from edgec.progress import progress_bar

    files = array_files(root)
    skipped = SkipLog()
    tables = []
    for path in files:
        try:
            if path.endswith(".npy"):
                if len(inputs) != 1:
                    raise ValueError("a .npy file holds one array; the model has inputs %s: "
                                     "use .npz" % [name for name, _ in inputs])
                arrays = {inputs[0][0]: np.load(path, mmap_mode="r", allow_pickle=False)}
            else:
                with np.load(path, allow_pickle=False) as archive:
                    arrays = {name: archive[name] for name, _ in inputs if name in archive}
            rows = _check_arrays(arrays, inputs)
            tables.append((path, arrays, rows))
        except (ValueError, OSError, KeyError) as exc:
            skipped.add("unreadable", "%s (%s)" % (path, exc))
    if not tables:
        raise EdgecError("calibration data %s: no usable array file (%s)"
                         % (root, skipped.summary() or "none found"))
    rng = np.random.default_rng(seed)
    counts = [rows for _, _, rows in tables]
    total = sum(counts)
    chosen = np.sort(rng.choice(total, size=min(n, total), replace=False))
    bounds = np.cumsum(counts)
    specs = [StoreInput(name, shape, "float32") for name, shape in inputs]
    with SampleStoreWriter(out_path, specs, len(chosen)) as writer:
        with progress_bar(total=len(chosen), desc="calibration samples", unit="sample",
                          enabled=progress) as bar:
            for flat in chosen:
                file_id = int(np.searchsorted(bounds, flat, side="right"))
                row = int(flat - (bounds[file_id] - counts[file_id]))
                arrays = tables[file_id][1]
                writer.append({name: np.asarray(arrays[name][row], dtype=np.float32)
                               for name, _ in inputs})
                bar.update(1)
        summary = {"layout": "arrays", "files_found": len(files), "files_used": len(tables),
                   "requested": n, "written": writer.count, "skipped": skipped.to_dict()}
        path = writer.close({"source": os.path.abspath(root), "seed": seed, "reader": "arrays",
                             "summary": summary})
    return path, summary


def _check_arrays(arrays: Dict[str, np.ndarray], inputs) -> int:
    """Rows shared by the arrays of every input, each of the model's sample shape."""
    rows = None
    for name, shape in inputs:
        if name not in arrays:
            raise ValueError("no array named %r" % name)
        got = tuple(arrays[name].shape[1:])
        if got != tuple(shape):
            raise ValueError("array %r has sample shape %s, the model needs %s"
                             % (name, list(got), list(shape)))
        count = arrays[name].shape[0]
        if rows is not None and count != rows:
            raise ValueError("arrays have different sample counts")
        rows = count
    return int(rows or 0)
