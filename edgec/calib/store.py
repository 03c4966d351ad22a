"""The sample store: calibration samples streamed to disk, one .npy per model input.

Samples are written as they are made (memory does not grow with their number) into memory-mapped
.npy files in a temporary folder that is renamed into place when complete. Wav2Lip faces are
stored as uint8 (they come from 8-bit video) and divided by 255 on reading, as Wav2Lip does.
"""
import json
import os
import shutil
import tempfile
from typing import Dict, Iterator, List, Optional

import numpy as np

from edgec.errors import EdgecError
from edgec.fileio import atomic_write_json, sha256_file

MANIFEST = "manifest.json"


class StoreInput(object):
    def __init__(self, name: str, shape, dtype: str, divide_by: Optional[float] = None):
        self.name = name
        self.shape = tuple(shape)
        self.dtype = dtype
        self.divide_by = divide_by

    def to_dict(self):
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype,
                "divide_by": self.divide_by}


class SampleStoreWriter(object):
    """Append samples up to `capacity`; `close(meta)` trims and publishes the store."""

    def __init__(self, path: str, inputs: List[StoreInput], capacity: int):
        self.path = os.path.abspath(path)
        parent = os.path.dirname(self.path)
        os.makedirs(parent, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix=".tmp-store-", dir=parent)
        self.inputs = inputs
        self.capacity = capacity
        self.count = 0
        self.arrays = {i.name: np.lib.format.open_memmap(
            os.path.join(self.tmp, i.name + ".npy"), mode="w+", dtype=i.dtype,
            shape=(max(capacity, 1),) + i.shape) for i in inputs}

    def append(self, sample: Dict[str, np.ndarray]) -> None:
        for spec in self.inputs:
            self.arrays[spec.name][self.count] = sample[spec.name]
        self.count += 1

    def close(self, meta: Dict[str, object]) -> str:
        for spec in self.inputs:
            array = self.arrays.pop(spec.name)
            array.flush()
            del array
            if self.count != self.capacity:
                self._trim(spec)
        manifest = dict(meta)
        manifest.update({"count": self.count, "inputs": [i.to_dict() for i in self.inputs],
                         "sha256": {i.name: sha256_file(os.path.join(self.tmp, i.name + ".npy"))
                                    for i in self.inputs}})
        atomic_write_json(os.path.join(self.tmp, MANIFEST), manifest)
        if os.path.exists(self.path):
            shutil.rmtree(self.path)
        os.replace(self.tmp, self.path)
        return self.path

    def _trim(self, spec: StoreInput) -> None:
        path = os.path.join(self.tmp, spec.name + ".npy")
        full = np.load(path, mmap_mode="r")
        trimmed_path = path + ".trim"
        trimmed = np.lib.format.open_memmap(trimmed_path, mode="w+", dtype=spec.dtype,
                                            shape=(self.count,) + spec.shape)
        for start in range(0, self.count, 1024):
            trimmed[start:start + 1024] = full[start:min(self.count, start + 1024)]
        trimmed.flush()
        del trimmed, full
        os.replace(trimmed_path, path)

    def abort(self) -> None:
        self.arrays.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)


class SampleStore(object):
    """Read access: batches of model inputs as float32 (or their stored dtype)."""

    def __init__(self, path: str):
        manifest_path = os.path.join(path, MANIFEST)
        if not os.path.isfile(manifest_path):
            raise EdgecError("%s is not an edgec sample store (no %s)" % (path, MANIFEST))
        with open(manifest_path) as handle:
            self.manifest = json.load(handle)
        self.path = path
        self.count = int(self.manifest["count"])
        self.inputs = [StoreInput(i["name"], i["shape"], i["dtype"], i.get("divide_by"))
                       for i in self.manifest["inputs"]]
        self.arrays = {i.name: np.load(os.path.join(path, i.name + ".npy"), mmap_mode="r")
                       for i in self.inputs}

    def get(self, indices) -> Dict[str, np.ndarray]:
        out = {}
        for spec in self.inputs:
            values = np.array(self.arrays[spec.name][indices])  # a copy: memmaps are read-only
            if spec.divide_by:
                values = values.astype(np.float32) / np.float32(spec.divide_by)
            out[spec.name] = values
        return out

    def batches(self, indices=None, batch_size: int = 64) -> Iterator[Dict[str, np.ndarray]]:
        indices = np.arange(self.count) if indices is None else np.asarray(indices)
        for start in range(0, len(indices), batch_size):
            chosen = indices[start:start + batch_size]
            # Contiguous runs read as slices: memmap fancy indexing copies element by element.
            if len(chosen) and chosen[-1] - chosen[0] == len(chosen) - 1 and np.all(np.diff(chosen) == 1):
                yield self.get(slice(int(chosen[0]), int(chosen[-1]) + 1))
            else:
                yield self.get(chosen)

    def split(self, holdout_fraction: float, seed: int):
        """(calibration indices, held-out indices): a deterministic split."""
        rng = np.random.default_rng(seed)
        order = rng.permutation(self.count)
        n_hold = int(round(self.count * holdout_fraction))
        return np.sort(order[n_hold:]), np.sort(order[:n_hold])
