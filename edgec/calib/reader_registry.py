"""The table of calibration readers, keyed by data family.

A reader module registers itself here when imported. Everyone else asks edgec.calib.readers,
which imports the built-in reader modules first, so its answers cover them all; this module
imports no reader, so the reader modules can import it without a cycle.
"""
from collections import OrderedDict
from typing import Callable, Dict, NamedTuple, Tuple

# (root, out_path, n, seed, progress) -> (store path, summary); the reader knows the inputs
# its family's models take.
ReaderBuilder = Callable[[str, str, int, int, bool], Tuple[str, Dict[str, object]]]


class CalibrationReader(NamedTuple):
    family: str
    build: ReaderBuilder
    describe: str  # what it reads, for help texts and error messages


_READERS = OrderedDict()  # type: Dict[str, CalibrationReader]


def register_reader(family: str, builder: ReaderBuilder, describe: str) -> CalibrationReader:
    if family in _READERS:
        raise ValueError("calibration reader %r registered twice" % family)
    reader = CalibrationReader(family, builder, describe)
    _READERS[family] = reader
    return reader


def registered_readers() -> Dict[str, CalibrationReader]:
    """The readers registered so far, by family."""
    return dict(_READERS)
