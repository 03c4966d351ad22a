"""The three disjoint sample splits of a sample store, which every quality figure names:

- calibration: activation ranges and thresholds (`edgec calibrate`);
- selection: what the sweep measures to choose a MIX plan;
- test: every reported quality figure (quantize, the sweep's verified plan, build, the bundle's
  reference outputs, compare.png). Nothing is chosen on it, so its figures carry no selection
  bias.

The held-out fraction (`--holdout`) leaves the calibration split as it always was (the same
samples, so cached ranges stay valid); the held-out samples are then halved, in the order of
the same seeded permutation, into selection and test.
"""
from typing import Dict, Optional

import numpy as np

from edgec.errors import EdgecError

CALIBRATION, SELECTION, TEST = "calibration", "selection", "test"
SPLITS = (CALIBRATION, SELECTION, TEST)
SPLIT_SEED = 0
PURPOSE = {CALIBRATION: "activation ranges", SELECTION: "plan selection (the sweep)",
           TEST: "reported quality (nothing is chosen on it)"}


def split_all(count: int, holdout: float, seed: int = SPLIT_SEED) -> Dict[str, np.ndarray]:
    """Sorted, disjoint index arrays of the three splits, covering range(count)."""
    order = np.random.default_rng(seed).permutation(count)
    n_hold = int(round(count * holdout))
    n_select = n_hold // 2
    return {CALIBRATION: np.sort(order[n_hold:]), SELECTION: np.sort(order[:n_select]),
            TEST: np.sort(order[n_select:n_hold])}


class SampleSplits(object):
    """The three splits of one sample store, made once from the store and the held-out
    fraction; every stage of a command reads its samples from the same object."""

    def __init__(self, store, holdout: float):
        self.store = store
        self.holdout = holdout
        self._indices = split_all(store.count, holdout)

    def indices(self, split: str, limit: Optional[int] = None) -> np.ndarray:
        """The split's indices in the store (at most `limit`, the first in sample order). An
        empty split is an error naming the store: evaluating on other samples would be a
        silent fallback."""
        if split not in SPLITS:
            raise ValueError("unknown split %r" % split)
        indices = self._indices[split]
        if len(indices) == 0:
            sizes = self.sizes()
            raise EdgecError("sample store %s has %d samples: --holdout %g leaves %s; the %s "
                             "split needs at least one sample: sample more (-n) or hold out "
                             "more" % (self.store.path, self.store.count, self.holdout,
                                       ", ".join("%d for %s" % (sizes[s], s) for s in SPLITS),
                                       split))
        return indices if limit is None else indices[:limit]

    def sizes(self) -> Dict[str, int]:
        """Samples per split, for the records."""
        return {name: len(self._indices[name]) for name in SPLITS}

    def describe(self, split: str, indices) -> Dict[str, object]:
        """How a figure's samples were chosen, for the JSON records."""
        return describe(split, self.holdout, indices)


def split_indices(store, holdout: float, split: str, limit: Optional[int] = None) -> np.ndarray:
    """SampleSplits(store, holdout).indices(split, limit), for a one-off look-up."""
    return SampleSplits(store, holdout).indices(split, limit)


def describe(split: str, holdout: float, indices) -> Dict[str, object]:
    """How a figure's samples were chosen, for the JSON records."""
    return {"split": split, "purpose": PURPOSE[split], "samples": int(len(indices)),
            "holdout_fraction": holdout, "split_seed": SPLIT_SEED,
            "rule": "seeded permutation: calibration = all but the held-out fraction; the "
                    "held-out samples halved into selection, then test"}
