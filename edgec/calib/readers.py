"""Calibration readers by data family: which reader turns a folder of media into the inputs of
a family's models. Import from here: importing this module registers the built-in readers."""
from typing import List

from edgec.calib import portrait, wav2lip  # noqa: F401  (importing a reader registers it)
from edgec.calib.reader_registry import (CalibrationReader, register_reader,  # noqa: F401
                                         registered_readers)
from edgec.errors import EdgecError


def reader_families() -> List[str]:
    return sorted(registered_readers())


def reader_for(family: str) -> CalibrationReader:
    readers = registered_readers()
    if family not in readers:
        raise EdgecError("no calibration reader for data family %r; the registered families: %s"
                         % (family, "; ".join("%s (%s)" % (name, readers[name].describe)
                                              for name in sorted(readers))))
    return readers[family]
