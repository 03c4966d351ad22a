"""TensorRT calibration caches (text format): read and write.

Format: a header line `TRT-<version>-<Calibrator>` (e.g. `TRT-8201-EntropyCalibration2`), then
one `tensor_name: <scale>` line per tensor, the scale a float32 as 8 big-endian hex digits.
Python 3.6 compatible: the device-side calibrator serves these files.
"""
import re
import struct
from typing import Dict, Tuple  # noqa: F401

from edgec.errors import EdgecError

HEADER_RE = re.compile(r"^TRT-(\d+)-(\w+)$")
DEFAULT_HEADER = "TRT-8201-EntropyCalibration2"


def scale_to_hex(scale):
    # type: (float) -> str
    return struct.pack(">f", scale).hex()


def hex_to_scale(text):
    # type: (str) -> float
    return struct.unpack(">f", bytes.fromhex(text))[0]


def format_cache(scales, header=DEFAULT_HEADER):
    # type: (Dict[str, float], str) -> str
    if not HEADER_RE.match(header):
        raise ValueError("bad calibration cache header %r" % header)
    lines = [header] + ["%s: %s" % (name, scale_to_hex(scales[name])) for name in sorted(scales)]
    return "\n".join(lines) + "\n"


def parse_cache(text, where="<calibration cache>"):
    # type: (str, str) -> Tuple[str, Dict[str, float]]
    """(header, {tensor: scale}); raises EdgecError naming the file and line on damage."""
    lines = text.splitlines()
    if not lines or not HEADER_RE.match(lines[0].strip()):
        raise EdgecError("%s is not a TensorRT calibration cache: the first line should look "
                         "like %s, found %r" % (where, DEFAULT_HEADER,
                                                lines[0][:60] if lines else ""))
    scales = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        name, sep, value = line.rpartition(":")
        value = value.strip()
        if not sep or not name or not re.match(r"^[0-9a-fA-F]{8}$", value):
            raise EdgecError("%s line %d: expected 'tensor_name: <8 hex digits>', found %r"
                             % (where, number, line[:80]))
        scale = hex_to_scale(value)
        if not (scale == scale) or scale < 0 or scale == float("inf"):
            raise EdgecError("%s line %d: tensor %r has an invalid scale %r"
                             % (where, number, name, scale))
        scales[name] = scale
    return lines[0].strip(), scales


def read_cache(path):
    # type: (str) -> Tuple[str, Dict[str, float]]
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        raise EdgecError("calibration cache %s cannot be read: %s" % (path, exc))
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise EdgecError("%s is not a TensorRT calibration cache (binary data)" % path)
    return parse_cache(text, path)
