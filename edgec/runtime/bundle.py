"""The portable bundle: what a device needs to build its own engine (ONNX per precision,
plan.json, calib.cache, a manifest with hashes and versions), as one .tar.gz.

Unpacking trusts nothing: members must be plain files or folders inside the target (no absolute
paths, no `..`, no links or devices), every file must be listed in the manifest with a matching
SHA-256, and the bundle is extracted into a temporary folder that is renamed into place only when
all checks pass. Standard library only, Python 3.6 compatible: runs on JetPack 4.6.
"""
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
import zlib
from typing import Any, Callable, Dict, List, Optional, Set  # noqa: F401

from edgec.artifacts import BUNDLE_FILES, BUNDLE_FORMAT, BUNDLE_MANIFEST, MODEL_ONNX
from edgec.errors import EdgecError
from edgec.fileio import atomic_writer, sha256_file, to_json


def pack(source_dir, out_path, extra_info=None):
    # type: (str, str, Optional[Dict[str, Any]]) -> Dict[str, Any]
    """Bundle the deployable files of an output folder; returns the manifest. Files are
    streamed into the archive (a UNet's data file is 5 GB), which is renamed into place when
    complete."""
    if not os.path.isdir(source_dir):
        raise EdgecError("%s: no such folder to pack" % source_dir)
    names = [n for n in BUNDLE_FILES if os.path.isfile(os.path.join(source_dir, n))]
    if MODEL_ONNX not in names:
        raise EdgecError("%s has no %s: run `edgec build` (or export) into it first"
                         % (source_dir, MODEL_ONNX))
    files = {}  # type: Dict[str, Dict[str, Any]]
    for name in names:
        path = os.path.join(source_dir, name)
        files[name] = {"sha256": sha256_file(path), "bytes": os.path.getsize(path)}
    manifest = {"format": BUNDLE_FORMAT, "files": files,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    manifest.update(extra_info or {})
    # The manifest first: unpacking reads it before any other member.
    with atomic_writer(out_path) as raw:
        with tarfile.open(fileobj=raw, mode="w:gz") as archive:
            data = to_json(manifest).encode("utf-8")
            archive.addfile(_info(BUNDLE_MANIFEST, len(data)), io.BytesIO(data))
            for name in names:
                with open(os.path.join(source_dir, name), "rb") as handle:
                    archive.addfile(_info(name, files[name]["bytes"]), handle)
    return manifest


def _info(name, size):
    # type: (str, int) -> tarfile.TarInfo
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 0  # reproducible bundles
    return info


def _check_member(member, where):
    # type: (tarfile.TarInfo, str) -> None
    name = member.name
    parts = name.replace("\\", "/").split("/")
    if os.path.isabs(name) or name.startswith("/") or ".." in parts:
        raise EdgecError("bundle %s: member %r would be written outside the target folder; "
                         "refusing the bundle" % (where, name))
    if member.issym() or member.islnk():
        raise EdgecError("bundle %s: member %r is a link (to %r); bundles hold plain files only; "
                         "refusing the bundle" % (where, name, member.linkname))
    if not (member.isfile() or member.isdir()):
        raise EdgecError("bundle %s: member %r is not a plain file; refusing the bundle"
                         % (where, name))


def _verified_members(path, open_target):
    # type: (str, Callable[[str], Any]) -> Dict[str, Any]
    """Read the bundle member by member, in one pass (no member is held in memory whole):
    each file is checked for safety, streamed to open_target(name) (a writable file object,
    closed here) while hashed, and compared with the manifest. Returns the manifest."""
    if not os.path.isfile(path):
        raise EdgecError("bundle %s: no such file" % path)
    try:
        archive = tarfile.open(path, mode="r|*")
    except (tarfile.TarError, OSError) as exc:
        raise EdgecError("bundle %s is not a readable .tar.gz: %s" % (path, exc))
    manifest = None  # type: Optional[Dict[str, Any]]
    seen = set()  # type: Set[str]
    with archive:
        try:
            for member in archive:
                _check_member(member, path)
                if not member.isfile():
                    continue
                name = os.path.normpath(member.name)
                handle = archive.extractfile(member)
                if handle is None:  # a plain file always has a reader
                    raise EdgecError("bundle %s: member %r cannot be read" % (path, name))
                if manifest is None:
                    raw = handle.read()
                    manifest = _read_manifest(path, name, raw)
                    target = open_target(name)
                    try:
                        target.write(raw)
                    finally:
                        target.close()
                    continue
                _copy_checked(path, name, handle, manifest["files"], open_target)
                seen.add(name)
        except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
            raise EdgecError("bundle %s is damaged: %s" % (path, exc))
    if manifest is None:
        raise EdgecError("bundle %s has no %s" % (path, BUNDLE_MANIFEST))
    missing = sorted(set(manifest["files"]) - seen)
    if missing:
        raise EdgecError("bundle %s: files %s listed in the manifest are missing" % (path, missing))
    return manifest


def _read_manifest(path, name, raw):
    # type: (str, str, bytes) -> Dict[str, Any]
    if name != BUNDLE_MANIFEST:
        raise EdgecError("bundle %s: its first file is %r, not %s; refusing the bundle"
                         % (path, name, BUNDLE_MANIFEST))
    try:
        manifest = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise EdgecError("bundle %s: %s is unreadable (%s)" % (path, BUNDLE_MANIFEST, exc))
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise EdgecError("bundle %s: %s is unreadable (no table of files)"
                         % (path, BUNDLE_MANIFEST))
    if manifest.get("format") != BUNDLE_FORMAT:
        raise EdgecError("bundle %s: unknown format %r (expected %s)"
                         % (path, manifest.get("format"), BUNDLE_FORMAT))
    return manifest


def _copy_checked(path, name, source, listed, open_target):
    # type: (str, str, Any, Dict[str, Any], Callable[[str], Any]) -> None
    if name not in listed:
        raise EdgecError("bundle %s: member %r is not listed in the manifest; refusing the "
                         "bundle" % (path, name))
    digest = hashlib.sha256()
    target = open_target(name)
    try:
        while True:
            block = source.read(1 << 20)
            if not block:
                break
            digest.update(block)
            target.write(block)
    finally:
        target.close()
    if digest.hexdigest() != listed[name]["sha256"]:
        raise EdgecError("bundle %s: %r does not match its hash in the manifest (it was "
                         "changed after packing); refusing the bundle" % (path, name))


class _Kept(io.BytesIO):
    """A member's bytes, kept when closed."""

    def close(self):
        # type: () -> None
        self.kept = self.getvalue()
        io.BytesIO.close(self)


def read_bundle(path):
    # type: (str) -> Dict[str, bytes]
    """Every member's bytes after the safety and hash checks (nothing written to disk): for
    small bundles and tests; unpack streams to disk."""
    buffers = {}  # type: Dict[str, _Kept]

    def keep(name):
        # type: (str) -> _Kept
        buffers[name] = _Kept()
        return buffers[name]
    _verified_members(path, keep)
    return {name: buffer.kept for name, buffer in buffers.items()}


def unpack(path, target_dir):
    # type: (str, str) -> Dict[str, Any]
    """Verify, then write every file into target_dir (atomically: all or nothing)."""
    parent = os.path.dirname(os.path.abspath(target_dir))
    if not os.path.isdir(parent):
        os.makedirs(parent)
    staging = tempfile.mkdtemp(prefix=".tmp-bundle-", dir=parent)
    try:
        manifest = _verified_members(path, lambda name: open(os.path.join(staging, name), "wb"))
        if os.path.isdir(target_dir):
            for name in os.listdir(staging):
                os.replace(os.path.join(staging, name), os.path.join(target_dir, name))
            os.rmdir(staging)
        else:
            os.rename(staging, target_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest
