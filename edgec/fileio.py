"""Atomic file writes and hashing.

A killed run must never leave a half-written artifact that looks whole, so every artifact is
written to a temporary file in the target folder and renamed into place. Python 3.6 compatible:
used on the device path.
"""
import contextlib
import hashlib
import json
import os
import tempfile
from typing import BinaryIO, Iterator  # noqa: F401  (type comments)


@contextlib.contextmanager
def atomic_writer(path):
    # type: (str) -> Iterator[BinaryIO]
    """A binary file that becomes `path` only when the block ends without an error (written to a
    temporary file beside it, synced, renamed); for outputs written in pieces."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix="-" + os.path.basename(path), dir=folder)
    try:
        make_shared(tmp)  # mkstemp makes 0600
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path, data):
    # type: (str, bytes) -> None
    with atomic_writer(path) as handle:
        handle.write(data)


def make_shared(path):
    # type: (str) -> None
    """Artifacts are shared files: readable as the umask allows, whatever wrote them 0600."""
    os.chmod(path, 0o666 & ~_umask())


def _umask():
    # type: () -> int
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path, text):
    # type: (str, str) -> None
    atomic_write_bytes(path, text.encode("utf-8"))


def to_json(obj):
    # type: (object) -> str
    """Deterministic JSON (sorted keys) so identical inputs give byte-identical files."""
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"


def atomic_write_json(path, obj):
    # type: (str, object) -> None
    atomic_write_text(path, to_json(obj))


def sha256_file(path, chunk=1 << 20):
    # type: (str, int) -> str
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while True:
            block = handle.read(chunk)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data):
    # type: (bytes) -> str
    return hashlib.sha256(data).hexdigest()


def read_json(path, what):
    # type: (str, str) -> object
    """The JSON in `path`; an EdgecError naming `what` and the file when it cannot be read or
    parsed."""
    from edgec.errors import EdgecError

    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError) as exc:
        raise EdgecError("%s %s cannot be read: %s" % (what, path, exc))
    except ValueError as exc:
        raise EdgecError("%s %s is not valid JSON: %s" % (what, path, exc))
