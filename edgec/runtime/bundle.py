"""The portable bundle: what a device needs to build its own engine (ONNX per precision,
plan.json, calib.cache, a manifest with hashes and versions), as one .tar.gz.

Unpacking trusts nothing: members must be plain files or folders inside the target (no absolute
paths, no `..`, no links or devices), every file must be listed in the manifest with a matching
SHA-256, and the bundle is extracted into a temporary folder that is renamed into place only when
all checks pass. Standard library only, Python 3.6 compatible: runs on JetPack 4.6.
"""
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
from typing import Any, Dict, List, Optional  # noqa: F401

from edgec.artifacts import BUNDLE_FILES, BUNDLE_FORMAT, BUNDLE_MANIFEST, MODEL_ONNX
from edgec.errors import EdgecError
from edgec.fileio import atomic_write_bytes, sha256_bytes, sha256_file, to_json


def pack(source_dir, out_path, extra_info=None):
    # type: (str, str, Optional[Dict[str, Any]]) -> Dict[str, Any]
    """Bundle the deployable files of an output folder; returns the manifest."""
    if not os.path.isdir(source_dir):
        raise EdgecError("%s: no such folder to pack" % source_dir)
    names = [n for n in BUNDLE_FILES if os.path.isfile(os.path.join(source_dir, n))]
    if MODEL_ONNX not in names:
        raise EdgecError("%s has no %s: run `edgec build` (or export) into it first"
                         % (source_dir, MODEL_ONNX))
    files = {}
    for name in names:
        path = os.path.join(source_dir, name)
        files[name] = {"sha256": sha256_file(path), "bytes": os.path.getsize(path)}
    manifest = {"format": BUNDLE_FORMAT, "files": files,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    manifest.update(extra_info or {})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        _add_bytes(archive, BUNDLE_MANIFEST, to_json(manifest).encode("utf-8"))
        for name in names:
            with open(os.path.join(source_dir, name), "rb") as handle:
                _add_bytes(archive, name, handle.read())
    atomic_write_bytes(out_path, buffer.getvalue())
    return manifest


def _add_bytes(archive, name, data):
    # type: (tarfile.TarFile, str, bytes) -> None
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = 0  # reproducible bundles
    archive.addfile(info, io.BytesIO(data))


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


def read_bundle(path):
    # type: (str) -> Dict[str, bytes]
    """Every member's bytes after the safety and hash checks (nothing written to disk)."""
    if not os.path.isfile(path):
        raise EdgecError("bundle %s: no such file" % path)
    try:
        archive = tarfile.open(path, mode="r:*")
    except (tarfile.TarError, OSError) as exc:
        raise EdgecError("bundle %s is not a readable .tar.gz: %s" % (path, exc))
    contents = {}  # type: Dict[str, bytes]
    with archive:
        try:
            members = archive.getmembers()
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise EdgecError("bundle %s is damaged: %s" % (path, exc))
        for member in members:
            _check_member(member, path)
            if member.isfile():
                handle = archive.extractfile(member)
                contents[os.path.normpath(member.name)] = handle.read() if handle else b""
    if BUNDLE_MANIFEST not in contents:
        raise EdgecError("bundle %s has no %s" % (path, BUNDLE_MANIFEST))
    try:
        manifest = json.loads(contents[BUNDLE_MANIFEST].decode("utf-8"))
        listed = manifest["files"]
    except (ValueError, KeyError, TypeError) as exc:
        raise EdgecError("bundle %s: %s is unreadable (%s)" % (path, BUNDLE_MANIFEST, exc))
    if manifest.get("format") != BUNDLE_FORMAT:
        raise EdgecError("bundle %s: unknown format %r (expected %s)"
                         % (path, manifest.get("format"), BUNDLE_FORMAT))
    for name, data in contents.items():
        if name == BUNDLE_MANIFEST:
            continue
        if name not in listed:
            raise EdgecError("bundle %s: member %r is not listed in the manifest; refusing the "
                             "bundle" % (path, name))
        if sha256_bytes(data) != listed[name]["sha256"]:
            raise EdgecError("bundle %s: %r does not match its hash in the manifest (it was "
                             "changed after packing); refusing the bundle" % (path, name))
    missing = sorted(set(listed) - set(contents))
    if missing:
        raise EdgecError("bundle %s: files %s listed in the manifest are missing" % (path, missing))
    return contents


def unpack(path, target_dir):
    # type: (str, str) -> Dict[str, Any]
    """Verify, then write every file into target_dir (atomically: all or nothing)."""
    contents = read_bundle(path)
    parent = os.path.dirname(os.path.abspath(target_dir))
    if not os.path.isdir(parent):
        os.makedirs(parent)
    staging = tempfile.mkdtemp(prefix=".tmp-bundle-", dir=parent)
    try:
        for name, data in contents.items():
            with open(os.path.join(staging, name), "wb") as handle:
                handle.write(data)
        if os.path.isdir(target_dir):
            for name in os.listdir(staging):
                os.replace(os.path.join(staging, name), os.path.join(target_dir, name))
            os.rmdir(staging)
        else:
            os.rename(staging, target_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return json.loads(contents[BUNDLE_MANIFEST].decode("utf-8"))
