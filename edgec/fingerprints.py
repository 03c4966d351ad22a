"""Content fingerprints of the files and folders a stage reads: what a stage key (edgec.pipeline
.cache) and a settings object's key() (edgec.settings) hold. Standard library only, beside the
contract, so the settings import nothing above them."""
import json
import os
from typing import Dict, List

from edgec.artifacts import onnx_data
from edgec.fileio import sha256_bytes, sha256_file

_HASHES = {}  # type: Dict[tuple, str]


def content_hash(path: str) -> str:
    """sha256_file, remembered for this process by path, size and mtime: one build asks for
    a 5 GB data file's hash in several stage keys and stamps."""
    info = os.stat(path)
    memo = (os.path.abspath(path), info.st_size, info.st_mtime_ns)
    if memo not in _HASHES:
        _HASHES[memo] = sha256_file(path)
    return _HASHES[memo]


def with_data_file(path: str) -> List[str]:
    """The file, and the external data file beside it where it is an ONNX file with one
    (artifacts.onnx_data): its weights are part of it."""
    data = onnx_data(path)
    return [path, data] if os.path.isfile(data) else [path]


def file_key(path: str) -> Dict[str, str]:
    """A file input's identity is its content: a moved or copied build folder stays cached.
    An ONNX file's weights in an external data file beside it (artifacts.onnx_data) are part
    of it."""
    hashes = [content_hash(name) for name in with_data_file(path)]
    return dict(zip(("sha256", "data_sha256"), hashes))


def folder_key(path: str) -> Dict[str, object]:
    """A cheap fingerprint of a data folder: every file's relative path, size and mtime."""
    entries = []
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(folder, name)
            info = os.stat(full)
            entries.append([os.path.relpath(full, path), info.st_size, int(info.st_mtime)])
    return {"path": os.path.abspath(path), "files": sha256_bytes(json.dumps(entries).encode())}
