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
        # Plain appends, not a memmap: mapped pages would count against the process's memory.
        self.files = {}
        for spec in inputs:
            handle = open(os.path.join(self.tmp, spec.name + ".npy"), "wb")
            _write_header(handle, spec, capacity)
            self.files[spec.name] = handle

    def append(self, sample: Dict[str, np.ndarray]) -> None:
        if self.count >= self.capacity:
            raise ValueError("sample store is full (%d samples)" % self.capacity)
        for spec in self.inputs:
            # asarray, not ascontiguousarray: that makes a scalar input (a timestep) 1-D.
            value = np.asarray(sample[spec.name], dtype=spec.dtype)
            if value.shape != spec.shape:
                raise ValueError("sample %r has shape %s, expected %s"
                                 % (spec.name, value.shape, spec.shape))
            self.files[spec.name].write(value.tobytes())
        self.count += 1

    def close(self, meta: Dict[str, object]) -> str:
        for spec in self.inputs:
            handle = self.files.pop(spec.name)
            handle.close()
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
        """Rewrite with the header of the real count (fewer samples than planned)."""
        path = os.path.join(self.tmp, spec.name + ".npy")
        trimmed_path = path + ".trim"
        row_bytes = int(np.prod(spec.shape)) * np.dtype(spec.dtype).itemsize
        with open(path, "rb") as source, open(trimmed_path, "wb") as target:
            source.seek(_data_offset(source))
            _write_header(target, spec, self.count)
            remaining = row_bytes * self.count
            while remaining:
                block = source.read(min(remaining, 1 << 24))
                target.write(block)
                remaining -= len(block)
        os.replace(trimmed_path, path)

    def abort(self) -> None:
        for handle in self.files.values():
            handle.close()
        self.files.clear()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "SampleStoreWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        # Any failure before close() (an error, Ctrl-C) leaves no half-written store behind.
        if exc_type is not None and os.path.isdir(self.tmp):
            self.abort()
        return False


def _write_header(handle, spec: StoreInput, count: int) -> None:
    np.lib.format.write_array_header_1_0(handle, {
        "descr": np.lib.format.dtype_to_descr(np.dtype(spec.dtype)), "fortran_order": False,
        "shape": (int(count),) + tuple(spec.shape)})


def _data_offset(handle) -> int:
    handle.seek(0)
    np.lib.format.read_magic(handle)
    np.lib.format.read_array_header_1_0(handle)
    return handle.tell()


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
        # Explicit reads rather than memmaps: mapped pages of a 10,000-sample store would count
        # against the process's memory as it is read.
        self.offsets = {}
        for spec in self.inputs:
            with open(os.path.join(path, spec.name + ".npy"), "rb") as handle:
                self.offsets[spec.name] = _data_offset(handle)

    def _read_rows(self, spec: StoreInput, start: int, stop: int) -> np.ndarray:
        row = int(np.prod(spec.shape))
        with open(os.path.join(self.path, spec.name + ".npy"), "rb") as handle:
            handle.seek(self.offsets[spec.name] + start * row * np.dtype(spec.dtype).itemsize)
            values = np.fromfile(handle, dtype=spec.dtype, count=(stop - start) * row)
        return values.reshape((stop - start,) + spec.shape)

    def _read(self, spec: StoreInput, indices) -> np.ndarray:
        if isinstance(indices, slice):
            start, stop, step = indices.indices(self.count)
            return self._read_rows(spec, start, stop)[::step]
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size and np.any((indices < 0) | (indices >= self.count)):
            raise IndexError("sample index out of range 0..%d" % (self.count - 1))
        out = np.empty((len(indices),) + spec.shape, dtype=spec.dtype)
        # Read each run of consecutive indices at once.
        breaks = np.flatnonzero(np.diff(indices) != 1) + 1
        position = 0
        for run in np.split(indices, breaks):
            if run.size:
                out[position:position + run.size] = self._read_rows(spec, int(run[0]),
                                                                     int(run[-1]) + 1)
                position += run.size
        return out

    def rows(self, name: str, indices) -> np.ndarray:
        """One field's rows as stored (uint8 faces stay uint8): for copying samples between
        stores."""
        spec = next((i for i in self.inputs if i.name == name), None)
        if spec is None:
            raise EdgecError("sample store %s has no field %r" % (self.path, name))
        return self._read(spec, indices)

    def get(self, indices) -> Dict[str, np.ndarray]:
        out = {}
        for spec in self.inputs:
            values = self._read(spec, indices)
            if spec.divide_by:
                values = values.astype(np.float32) / np.float32(spec.divide_by)
            out[spec.name] = values
        return out

    def batches(self, indices=None, batch_size: int = 64) -> Iterator[Dict[str, np.ndarray]]:
        indices = np.arange(self.count) if indices is None else np.asarray(indices)
        for start in range(0, len(indices), batch_size):
            yield self.get(indices[start:start + batch_size])
