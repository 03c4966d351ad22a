"""The backend interface every runner implements (Polygraphy's activate/infer/deactivate shape).

Python 3.6 compatible (no dataclasses, no postponed annotations): runs on JetPack 4.6.
"""
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple  # noqa: F401

import numpy as np  # noqa: F401


class TensorInfo(object):
    """Name, shape (None or -1 for a dynamic axis) and numpy dtype name of an engine tensor."""

    def __init__(self, name, shape, dtype):
        # type: (str, Sequence[Any], str) -> None
        self.name = name
        self.shape = tuple(shape)
        self.dtype = dtype

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


class Runner(object):
    """Load on activate(), run with infer(), release on deactivate(); usable as a context
    manager. infer() returns host numpy arrays by output name."""

    backend = "abstract"

    def __init__(self):
        # type: () -> None
        self.active = False

    def activate(self):
        # type: () -> None
        raise NotImplementedError

    def deactivate(self):
        # type: () -> None
        self.active = False

    def inputs(self):
        # type: () -> List[TensorInfo]
        raise NotImplementedError

    def outputs(self):
        # type: () -> List[TensorInfo]
        raise NotImplementedError

    def infer(self, feed):
        # type: (Dict[str, np.ndarray]) -> Dict[str, np.ndarray]
        raise NotImplementedError

    def timed_infer(self, feed):
        # type: (Dict[str, np.ndarray]) -> Tuple[float, Optional[float]]
        """(end-to-end ms, compute-only ms or None). The default suits synchronous host
        backends: infer() has returned, so the work is done when the clock is read, and there
        are no host-device copies to separate."""
        started = time.perf_counter()
        self.infer(feed)
        return (time.perf_counter() - started) * 1000.0, None

    def describe(self):
        # type: () -> Dict[str, Any]
        """Backend name, versions and settings, recorded in every result."""
        raise NotImplementedError

    def __enter__(self):
        self.activate()
        return self

    def __exit__(self, *exc):
        self.deactivate()
        return False
