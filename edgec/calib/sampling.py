"""Which samples a reader takes (deterministic, spread over all valid frames) and what it
skipped on the way."""
from collections import OrderedDict
from typing import Dict, List, Sequence, Tuple

import numpy as np


class SkipLog(object):
    """Everything skipped, by reason, for the summary and the warnings."""

    def __init__(self):
        self.by_reason = OrderedDict()  # type: Dict[str, List[str]]

    def add(self, reason: str, item: str) -> None:
        self.by_reason.setdefault(reason, []).append(item)

    def to_dict(self) -> Dict[str, object]:
        return {reason: {"count": len(items), "items": items[:50]}
                for reason, items in self.by_reason.items()}

    def total(self) -> int:
        return sum(len(v) for v in self.by_reason.values())

    def summary(self) -> str:
        """One line for error messages: "2 unreadable; 1 no audio"."""
        return "; ".join("%d %s" % (len(v), k) for k, v in self.by_reason.items())


def plan_samples(valid_counts: Sequence[int], n: int, seed: int) -> List[Tuple[int, int, int]]:
    """Deterministic choice of min(n, total) (clip, frame, reference frame) triples, spread
    uniformly over all valid frames; references are other frames of the same clip."""
    rng = np.random.default_rng(seed)
    total = int(sum(valid_counts))
    chosen = np.sort(rng.choice(total, size=min(n, total), replace=False))
    bounds = np.cumsum(valid_counts)
    clip_ids = np.searchsorted(bounds, chosen, side="right")
    starts = bounds - np.asarray(valid_counts)
    frames = chosen - starts[clip_ids]
    plan = []
    for clip_id, frame in zip(clip_ids, frames):
        count = valid_counts[clip_id]
        ref = int(rng.integers(0, count - 1)) if count > 1 else int(frame)
        if count > 1 and ref >= frame:
            ref += 1
        plan.append((int(clip_id), int(frame), ref))
    return plan
