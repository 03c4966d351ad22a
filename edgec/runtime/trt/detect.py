"""Is TensorRT importable here, and which version? Python 3.6 compatible."""
from typing import Optional  # noqa: F401


def tensorrt_version():
    # type: () -> Optional[str]
    """The installed TensorRT's version, or None. A type-stub package (tensorrt-stubs) makes
    `import tensorrt` succeed as an empty namespace package: that is not TensorRT."""
    try:
        import tensorrt
    except ImportError:
        return None
    if not hasattr(tensorrt, "Builder"):
        return None
    return str(getattr(tensorrt, "__version__", "unknown"))
