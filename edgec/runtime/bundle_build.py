"""`edgec build --bundle` on the device: verify and unpack the bundle, then build its engine
for this host's TensorRT and GPU. Python 3.6 compatible; no torch, no onnx."""
import os
from typing import Any, Dict  # noqa: F401

from edgec.errors import EdgecError


def build_from_bundle(bundle_path, out_dir, engine):
    # type: (str, str, Any) -> Dict[str, Any]
    """The engine's sidecar record. Without TensorRT the bundle is still verified and unpacked,
    then an EdgecError says that no engine could be built here."""
    from edgec.runtime.bundle import unpack
    from edgec.runtime.trt.builder import build_in_folder
    from edgec.runtime.trt.detect import tensorrt_version

    manifest = unpack(bundle_path, out_dir)
    if tensorrt_version() is None:
        raise EdgecError("bundle %s verified and unpacked to %s (%d files), but TensorRT is not "
                         "installed on this host, so no engine was built. Run this command on "
                         "the Jetson (or in the L4T container), where TensorRT is present."
                         % (bundle_path, out_dir, len(manifest["files"])))
    return build_in_folder(out_dir, engine, {"bundle": os.path.basename(bundle_path),
                                             "model": manifest.get("model")})
