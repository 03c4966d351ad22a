"""Training data for distillation: the calibration readers' sample stores, made once per data
folder (cached like the build's stages), or a sample store given directly."""
import os
from typing import Dict, Tuple

from edgec.errors import EdgecError


def is_sample_store(path: str) -> bool:
    from edgec.calib.store import MANIFEST

    return os.path.isfile(os.path.join(path, MANIFEST))


def sample_store_for(runner, stage: str, data_dir: str, dest: str, entry, count: int,
                     seed: int, option: str, progress: bool = True) -> Tuple[str, Dict]:
    """The store of `entry`'s inputs made from data_dir by its data family's reader, or
    data_dir itself when it is already a sample store (e.g. a build's samples/)."""
    from edgec.calib.store import SampleStore
    from edgec.fingerprints import folder_key

    if not os.path.isdir(data_dir):
        raise EdgecError("%s %s: no such folder" % (option, data_dir))
    if is_sample_store(data_dir):
        return data_dir, SampleStore(data_dir).manifest.get("summary", {})
    inputs = [(i.name, tuple(i.shape)) for i in entry.inputs]
    made = {}  # type: Dict[str, object]

    def build():
        from edgec.calib.datasets import build_store

        try:
            _, summary = build_store(data_dir, dest, inputs, entry.data_family, count, seed,
                                     progress)
        except EdgecError as exc:
            raise EdgecError("%s: %s" % (option, exc.message))
        made.update(summary)

    runner.run(stage, {"data": folder_key(data_dir), "n": count, "seed": seed,
                       "family": entry.data_family, "inputs": inputs}, [dest], build)
    return dest, made or SampleStore(dest).manifest.get("summary", {})
