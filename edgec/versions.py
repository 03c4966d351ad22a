"""Versions of edgec and the libraries that shaped an artifact, recorded in every manifest."""
import importlib
import platform
from typing import Dict, Iterable


def library_versions(names: Iterable[str] = ("torch", "onnx", "onnxruntime", "onnxslim", "numpy")
                     ) -> Dict[str, str]:
    import edgec

    found = {"edgec": edgec.__version__, "python": platform.python_version()}
    for name in names:
        try:
            found[name] = str(getattr(importlib.import_module(name), "__version__", "unknown"))
        except ImportError:
            found[name] = "not installed"
    return found
