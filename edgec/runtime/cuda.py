"""The few CUDA runtime calls the thin runtime needs, through ctypes on libcudart.

Why ctypes: libcudart ships with every JetPack (TensorRT links against it), its C API has been
stable from CUDA 10.2 (JetPack 4.6) to 13, and ctypes is in the standard library. cuda-python
does not exist for Python 3.6 and pycuda must be compiled on the device; both would add a
dependency the device path does not otherwise need. Python 3.6 compatible.
"""
import ctypes
import ctypes.util
import glob
import os
import sys
from typing import Any, List, Optional, Tuple  # noqa: F401

import numpy as np

from edgec.errors import EdgecError

MEMCPY_HOST_TO_DEVICE = 1
MEMCPY_DEVICE_TO_HOST = 2
_ATTR_CLOCK_RATE_KHZ = 13
_ATTR_CC_MAJOR = 75
_ATTR_CC_MINOR = 76
# cudaDeviceProp begins with `char name[256]`; the rest of the struct changes between CUDA
# releases, so only the name is read, from a buffer larger than any release's struct.
_PROP_BUFFER_BYTES = 16384

_LIB = None  # type: Any


def _candidates():
    # type: () -> List[str]
    names = []  # type: List[str]
    if os.environ.get("EDGEC_CUDART"):
        names.append(os.environ["EDGEC_CUDART"])
    found = ctypes.util.find_library("cudart")
    if found:
        names.append(found)
    names += ["libcudart.so", "libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0",
              "libcudart.so.10.2"]
    # JetPack keeps the toolkit in /usr/local/cuda; pip-installed CUDA (workstations) keeps it
    # under site-packages/nvidia/cuda_runtime.
    names += sorted(glob.glob("/usr/local/cuda/lib64/libcudart.so*"))
    for entry in sys.path:
        names += sorted(glob.glob(os.path.join(entry, "nvidia", "cu*", "lib", "libcudart.so*")))
        names += sorted(glob.glob(os.path.join(entry, "nvidia", "cuda_runtime", "lib",
                                               "libcudart.so*")))
    return names


def cudart():
    # type: () -> Any
    """The loaded libcudart, or EdgecError saying where it was looked for."""
    global _LIB
    if _LIB is not None:
        return _LIB
    tried = _candidates()
    for name in tried:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.cudaGetErrorString.restype = ctypes.c_char_p
        _LIB = lib
        return lib
    raise EdgecError("the CUDA runtime library (libcudart) was not found (tried %s); on a Jetson "
                     "it is in /usr/local/cuda/lib64, or set EDGEC_CUDART to its path"
                     % ", ".join(tried[:6]))


def check(status, what):
    # type: (int, str) -> None
    if status != 0:
        message = cudart().cudaGetErrorString(status)
        raise EdgecError("CUDA %s failed: %s (error %d)"
                         % (what, message.decode() if message else "unknown", status))


def _call(what, *args):
    # type: (str, Any) -> None
    check(getattr(cudart(), what)(*args), what)


def runtime_version():
    # type: () -> str
    value = ctypes.c_int()
    _call("cudaRuntimeGetVersion", ctypes.byref(value))
    return "%d.%d" % (value.value // 1000, (value.value % 1000) // 10)


def device_count():
    # type: () -> int
    value = ctypes.c_int()
    status = cudart().cudaGetDeviceCount(ctypes.byref(value))
    return value.value if status == 0 else 0


def _attribute(attribute, device):
    # type: (int, int) -> int
    value = ctypes.c_int()
    _call("cudaDeviceGetAttribute", ctypes.byref(value), attribute, device)
    return value.value


def device_info(device=0):
    # type: (int) -> dict
    """Name, compute capability and max GPU clock of one device."""
    lib = cudart()
    buffer = ctypes.create_string_buffer(_PROP_BUFFER_BYTES)
    # CUDA 12 renamed the exported symbol; CUDA 10.2/11 only have the plain one.
    getter = getattr(lib, "cudaGetDeviceProperties_v2", None) or lib.cudaGetDeviceProperties
    check(getter(buffer, device), "cudaGetDeviceProperties")
    name = buffer.raw[:256].split(b"\0", 1)[0].decode("utf-8", "replace")
    major = _attribute(_ATTR_CC_MAJOR, device)
    minor = _attribute(_ATTR_CC_MINOR, device)
    clock = None  # type: Optional[float]
    try:
        clock = _attribute(_ATTR_CLOCK_RATE_KHZ, device) / 1000.0
    except EdgecError:
        clock = None  # CUDA 13 dropped this attribute; the clock is then not recorded
    return {"name": name, "compute_capability": "%d.%d" % (major, minor),
            "max_clock_mhz": clock, "cuda_runtime": runtime_version()}


def memory_info():
    # type: () -> Tuple[int, int]
    """(free, total) device memory in bytes."""
    free, total = ctypes.c_size_t(), ctypes.c_size_t()
    _call("cudaMemGetInfo", ctypes.byref(free), ctypes.byref(total))
    return free.value, total.value


class DeviceBuffer(object):
    """Device memory of a fixed size."""

    def __init__(self, nbytes):
        # type: (int) -> None
        self.nbytes = max(int(nbytes), 1)
        pointer = ctypes.c_void_p()
        _call("cudaMalloc", ctypes.byref(pointer), ctypes.c_size_t(self.nbytes))
        self.ptr = pointer.value or 0

    def free(self):
        # type: () -> None
        if self.ptr:
            _call("cudaFree", ctypes.c_void_p(self.ptr))
            self.ptr = 0


class PinnedArray(object):
    """Page-locked host memory seen as a numpy array (fast, asynchronous copies)."""

    def __init__(self, shape, dtype):
        # type: (Tuple[int, ...], Any) -> None
        self.dtype = np.dtype(dtype)
        self.shape = tuple(int(d) for d in shape)
        self.nbytes = max(int(np.prod(self.shape)) * self.dtype.itemsize, 1)
        pointer = ctypes.c_void_p()
        _call("cudaMallocHost", ctypes.byref(pointer), ctypes.c_size_t(self.nbytes))
        self.ptr = pointer.value or 0
        self.array = None  # type: Any
        raw = (ctypes.c_uint8 * self.nbytes).from_address(self.ptr)
        flat = np.frombuffer(raw, dtype=np.uint8)
        count = int(np.prod(self.shape))
        self.array = flat[:count * self.dtype.itemsize].view(self.dtype).reshape(self.shape)

    def free(self):
        # type: () -> None
        if self.ptr:
            self.array = None
            _call("cudaFreeHost", ctypes.c_void_p(self.ptr))
            self.ptr = 0


class _Handle(object):
    """A CUDA object made by `<create>(&handle)` and released by `<destroy>(handle)`."""
    create = ""
    release = ""

    def __init__(self):
        # type: () -> None
        handle = ctypes.c_void_p()
        _call(self.create, ctypes.byref(handle))
        self.handle = handle.value or 0

    def destroy(self):
        # type: () -> None
        if self.handle:
            _call(self.release, ctypes.c_void_p(self.handle))
            self.handle = 0


class Stream(_Handle):
    create, release = "cudaStreamCreate", "cudaStreamDestroy"

    def copy_to_device(self, device, host):
        # type: (DeviceBuffer, PinnedArray) -> None
        _call("cudaMemcpyAsync", ctypes.c_void_p(device.ptr), ctypes.c_void_p(host.ptr),
              ctypes.c_size_t(host.nbytes), MEMCPY_HOST_TO_DEVICE, ctypes.c_void_p(self.handle))

    def copy_to_host(self, host, device):
        # type: (PinnedArray, DeviceBuffer) -> None
        _call("cudaMemcpyAsync", ctypes.c_void_p(host.ptr), ctypes.c_void_p(device.ptr),
              ctypes.c_size_t(host.nbytes), MEMCPY_DEVICE_TO_HOST, ctypes.c_void_p(self.handle))

    def synchronize(self):
        # type: () -> None
        _call("cudaStreamSynchronize", ctypes.c_void_p(self.handle))


class Event(_Handle):
    create, release = "cudaEventCreate", "cudaEventDestroy"

    def record(self, stream):
        # type: (Stream) -> None
        _call("cudaEventRecord", ctypes.c_void_p(self.handle), ctypes.c_void_p(stream.handle))

    def synchronize(self):
        # type: () -> None
        _call("cudaEventSynchronize", ctypes.c_void_p(self.handle))

    def elapsed_ms(self, start):
        # type: (Event) -> float
        """Milliseconds from `start` to this event (both recorded and completed)."""
        value = ctypes.c_float()
        _call("cudaEventElapsedTime", ctypes.byref(value), ctypes.c_void_p(start.handle),
              ctypes.c_void_p(self.handle))
        return float(value.value)
