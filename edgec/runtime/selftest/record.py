"""The self-test's record: one outcome per check (passed, failed or skipped, with why and
TensorRT's messages), the ordered list of them, and the context the checks share. Python 3.6
compatible."""
import os
import time
import traceback
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple  # noqa: F401

import numpy as np  # noqa: F401  (type comments)

from edgec.errors import EdgecError

from edgec.runtime.selftest.judge import FAILED, PASSED, SKIPPED


def _outcome(status, why=None, summary=None, messages=None, details=None):
    # type: (str, Optional[str], Optional[str], Optional[List[str]], Optional[Dict[str, Any]]) -> Dict[str, Any]  # noqa: E501
    return {"status": status, "why": why, "summary": summary, "messages": list(messages or []),
            "details": details or {}}


def passed(summary=None, details=None, messages=None):
    # type: (Optional[str], Optional[Dict[str, Any]], Optional[List[str]]) -> Dict[str, Any]
    return _outcome(PASSED, None, summary, messages, details)


def failed(why, details=None, messages=None):
    # type: (str, Optional[Dict[str, Any]], Optional[List[str]]) -> Dict[str, Any]
    return _outcome(FAILED, why, None, messages, details)


def skipped(why, details=None, messages=None):
    # type: (str, Optional[Dict[str, Any]], Optional[List[str]]) -> Dict[str, Any]
    return _outcome(SKIPPED, why, None, messages, details)


class Checks(object):
    """The ordered check records. A check that raises is recorded as failed (an EdgecError's
    message, or the unexpected exception and the end of its traceback) and the next one runs."""

    def __init__(self):
        # type: () -> None
        self.records = []  # type: List[Dict[str, Any]]
        self._status = {}  # type: Dict[str, str]

    def add(self, name, outcome, seconds=0.0):
        # type: (str, Dict[str, Any], float) -> Dict[str, Any]
        record = dict(outcome, name=name, seconds=round(seconds, 3))
        self.records.append(record)
        self._status[name] = record["status"]
        return record

    def status(self, name):
        # type: (str) -> Optional[str]
        return self._status.get(name)

    def run(self, name, func, args=(), needs=()):
        # type: (str, Callable[..., Dict[str, Any]], Sequence[Any], Sequence[str]) -> Dict[str, Any]  # noqa: E501
        for need in needs:
            if self.status(need) != PASSED:
                return self.add(name, skipped("needs %s, which %s"
                                              % (need, self.status(need) or "did not run")))
        started = time.time()
        try:
            outcome = func(*args)
        except EdgecError as exc:
            # TensorRT's text follows the first line of the builder's errors.
            outcome = failed(exc.message, messages=[line.strip() for line in
                                                    exc.message.splitlines()[1:] if line.strip()])
        except Exception as exc:  # a self-test records what broke and goes on
            outcome = failed("unexpected %s: %s" % (type(exc).__name__, exc),
                             messages=traceback.format_exc().rstrip().splitlines()[-8:])
        return self.add(name, outcome, time.time() - started)

    def summary(self):
        # type: () -> Dict[str, int]
        counts = {PASSED: 0, FAILED: 0, SKIPPED: 0}
        for record in self.records:
            counts[record["status"]] += 1
        return counts


class Context(object):
    """What the checks share: where things are and what earlier checks found."""

    def __init__(self, bundle_path, work_dir, jetson_root, tensorrt_version):
        # type: (str, str, str, Optional[str]) -> None
        self.bundle_path = bundle_path
        self.work_dir = work_dir
        self.bundle_dir = os.path.join(work_dir, "bundle")
        self.jetson_root = jetson_root
        self.tensorrt_version = tensorrt_version
        self.board = None  # type: Optional[Dict[str, Any]]
        self.profile = None  # type: Any
        self.cuda = None  # type: Optional[Dict[str, Any]]
        self.compute_capability = None  # type: Optional[str]
        self.manifest = None  # type: Optional[Dict[str, Any]]
        self.reference = None  # type: Optional[Tuple[Dict[str, np.ndarray], Dict[str, np.ndarray]]]  # noqa: E501
        self.plan = None  # type: Optional[Dict[str, str]]
        self.quality = {}  # type: Dict[str, Any]
        self.opset = None  # type: Optional[int]
        self.engines = {}  # type: Dict[str, str]
        self.sidecars = {}  # type: Dict[str, Dict[str, Any]]
        self.outputs = {}  # type: Dict[str, Dict[str, np.ndarray]]

