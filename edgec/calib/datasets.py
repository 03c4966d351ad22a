"""Calibration datasets: a data folder into a store of the model's exact inputs, by the reader
registered for the model's data family (edgec.calib.readers), with the array reader
(`.npz`/`.npy` files of ready inputs) as the fallback for every family and for models with none.
"""
from typing import Optional, Sequence, Tuple

from edgec.calib.arrays import build_array_store
from edgec.calib.layout import NoCalibrationData, array_files, detect_layout, require_folder
from edgec.calib.readers import reader_families, reader_for
from edgec.errors import EdgecError


def build_store(root: str, out_path: str, inputs: Sequence[Tuple[str, Tuple[int, ...]]],
                data_family: Optional[str], n: int, seed: int, progress: bool = True):
    """The family's reader makes the samples; a folder holding nothing it reads, or a model
    with no family, gets the array reader. `inputs`: [(name, shape without batch)].
    Returns (store path, summary)."""
    reader = reader_for(data_family) if data_family is not None else None
    require_folder(root)
    if reader is not None:
        try:
            return reader.build(root, out_path, n, seed, progress)
        except NoCalibrationData:
            if not array_files(root):
                raise
    elif not array_files(root):
        raise _needs_arrays(root, inputs)
    return build_array_store(root, out_path, inputs, n, seed, progress)


def _needs_arrays(root: str, inputs) -> EdgecError:
    """For a model with no data family, whose folder holds media but no arrays."""
    layout = detect_layout(root)  # raises when the folder holds nothing edgec reads
    return EdgecError("calibration data %s holds %s, which edgec turns into inputs only for "
                      "models of a data family (%s: --reader); give this model .npz/.npy "
                      "arrays of its inputs %s"
                      % (root, layout, ", ".join(reader_families()),
                         [name for name, _ in inputs]))
