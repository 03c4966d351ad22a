"""The backend interface every runner implements (Polygraphy's activate/infer/deactivate shape).

Python 3.6 compatible (no dataclasses, no postponed annotations): runs on JetPack 4.6.
"""
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple  # noqa: F401

import numpy as np  # noqa: F401

from edgec.errors import EdgecError


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
    manager. infer() returns host numpy arrays by output name.

    infer() and timed_infer() are template methods: the base checks the feed against inputs()
    (names, fixed dimensions, dtypes) for every backend, with one message naming the file, then
    calls the backend's _infer() / _timed_infer()."""

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

    def label(self):
        # type: () -> str
        """What the messages call this runner's model (its file)."""
        return self.backend

    def infer(self, feed):
        # type: (Dict[str, np.ndarray]) -> Dict[str, np.ndarray]
        self.check_feed(feed)
        return self._infer(feed)

    def timed_infer(self, feed):
        # type: (Dict[str, np.ndarray]) -> Tuple[float, Optional[float]]
        """(end-to-end ms, compute-only ms or None)."""
        self.check_feed(feed)
        return self._timed_infer(feed)

    def check_feed(self, feed):
        # type: (Dict[str, np.ndarray]) -> None
        expected = self.inputs()
        names = [t.name for t in expected]
        missing = [n for n in names if n not in feed]
        unknown = sorted(n for n in feed if n not in names)
        if missing or unknown:
            raise EdgecError("%s takes inputs %s; the feed %s%s" % (
                self.label(), names, "lacks %s" % missing if missing else "",
                ("%shas unknown %s" % ("; " if missing else "", unknown)) if unknown else ""))
        for info in expected:
            value = feed[info.name]
            shape = tuple(getattr(value, "shape", ()))
            fixed_mismatch = [i for i, dim in enumerate(info.shape)
                              if isinstance(dim, int) and dim >= 0 and i < len(shape)
                              and shape[i] != dim]
            if len(shape) != len(info.shape) or fixed_mismatch:
                raise EdgecError("%s: input %r has shape %s; the model takes %s"
                                 % (self.label(), info.name, shape,
                                    tuple("?" if d is None or d < 0 else d for d in info.shape)))
            dtype = str(getattr(value, "dtype", ""))
            if dtype != info.dtype:
                raise EdgecError("%s: input %r is %s; the model takes %s"
                                 % (self.label(), info.name, dtype, info.dtype))

    def _infer(self, feed):
        # type: (Dict[str, np.ndarray]) -> Dict[str, np.ndarray]
        raise NotImplementedError

    def _timed_infer(self, feed):
        # type: (Dict[str, np.ndarray]) -> Tuple[float, Optional[float]]
        """The default suits synchronous host backends: _infer() has returned, so the work is
        done when the clock is read, and there are no host-device copies to separate."""
        started = time.perf_counter()
        self._infer(feed)
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
