"""A recording stand-in for the parts of `edgec.runtime.cuda` the TensorRT runner uses:
device_info, memory_info, runtime_version, DeviceBuffer, PinnedArray, Stream, Event.

Same rule as the TensorRT doubles (tests/trt_doubles.py): it records and measures nothing.
memory_info() is (-1, -1), Event.elapsed_ms() is -1.0, device_info() names itself a test double.
Every call is an entry of `journal` named "cuda.<function>" or "cuda.<Class>.<method>"
("cuda.Stream.copy_to_device", constructors "cuda.PinnedArray.__init__"); trt_doubles.install
makes this the TensorRT double's journal, so one ordered record holds both.

Memory is real host memory: each DeviceBuffer and PinnedArray owns a numpy uint8 array
(`.data`; a PinnedArray's `.array` is a typed view of it), and Stream copies move the bytes
between them, so a test can check that its inputs reached the device buffers and that outputs
come back. Nothing computes on the "device": after an engine double's execute, output device
buffers still hold zeros (or whatever the test wrote into their `.data`). Pointers are fake,
distinct, non-zero addresses; `buffer_at(ptr)` finds the buffer behind one (e.g. an address
given to IExecutionContext.set_tensor_address). Copies from or to freed buffers, on a
destroyed stream, or into a smaller device buffer raise EdgecError as a CUDA error would.
"""
import itertools

import numpy as np

from edgec.errors import EdgecError
from trt_doubles import Journal

MEMORY_UNKNOWN = (-1, -1)  # (free, total): a double measures nothing
ELAPSED_UNKNOWN = -1.0
RUNTIME_VERSION = "test-double"

journal = Journal()
_buffers = {}  # fake address -> DeviceBuffer / PinnedArray
_addresses = itertools.count(1)


def reset(journal=None):  # noqa: A002  (shadows the module journal on purpose)
    """Forget every buffer and start a new journal (or record into the given one)."""
    global _addresses
    globals()["journal"] = journal if journal is not None else Journal()
    _buffers.clear()
    _addresses = itertools.count(1)


def _record(name, *args):
    return journal.add("cuda." + name, args)


def calls(pattern):
    return journal.calls(pattern)


def names(pattern="*"):
    return journal.names(pattern)


def _address(kind):
    """A distinct, aligned, non-zero fake address in a region per kind (device, host, handle)."""
    base = {"device": 0x7F0000000000, "host": 0x200000000000, "handle": 0x1000}[kind]
    return base + next(_addresses) * 0x1000


def buffer_at(ptr):
    """The live DeviceBuffer or PinnedArray at a fake address (KeyError if none)."""
    return _buffers[ptr]


def _fail(what, why):
    raise EdgecError("CUDA %s failed: %s (cuda test double)" % (what, why))


def runtime_version():
    _record("runtime_version").result = RUNTIME_VERSION
    return RUNTIME_VERSION


def device_info(device=0):
    info = {"name": "edgec CUDA test double (no GPU)", "compute_capability": "test-double",
            "max_clock_mhz": None, "cuda_runtime": RUNTIME_VERSION}
    _record("device_info", device).result = info
    return dict(info)


def memory_info():
    _record("memory_info").result = MEMORY_UNKNOWN
    return MEMORY_UNKNOWN


class DeviceBuffer(object):
    """Device memory of a fixed size, held in `data` (numpy uint8, zeros at allocation)."""

    def __init__(self, nbytes):
        _record("DeviceBuffer.__init__", nbytes)
        self.nbytes = max(int(nbytes), 1)
        self.data = np.zeros(self.nbytes, np.uint8)
        self.ptr = _address("device")
        _buffers[self.ptr] = self

    def free(self):
        _record("DeviceBuffer.free", self)
        _buffers.pop(self.ptr, None)
        self.ptr = 0


class PinnedArray(object):
    """Host memory seen as a numpy array (`array`, a view of the raw bytes in `data`)."""

    def __init__(self, shape, dtype):
        _record("PinnedArray.__init__", shape, dtype)
        self.dtype = np.dtype(dtype)
        self.shape = tuple(int(d) for d in shape)
        count = int(np.prod(self.shape))
        self.nbytes = max(count * self.dtype.itemsize, 1)
        self.data = np.zeros(self.nbytes, np.uint8)
        self.array = self.data[:count * self.dtype.itemsize].view(self.dtype).reshape(self.shape)
        self.ptr = _address("host")
        _buffers[self.ptr] = self

    def free(self):
        _record("PinnedArray.free", self)
        _buffers.pop(self.ptr, None)
        self.array = None
        self.ptr = 0


class _Handle(object):
    def __init__(self):
        _record(type(self).__name__ + ".__init__")
        self.handle = _address("handle")

    def destroy(self):
        _record(type(self).__name__ + ".destroy", self)
        self.handle = 0


class Stream(_Handle):
    def _copy(self, what, device, host, to_device):
        if not self.handle:
            _fail(what, "invalid resource handle (stream destroyed)")
        if not device.ptr or not host.ptr:
            _fail(what, "invalid argument (buffer freed)")
        if host.nbytes > device.nbytes:
            _fail(what, "invalid argument (%d bytes into a %d-byte device buffer)"
                  % (host.nbytes, device.nbytes))
        if to_device:
            device.data[:host.nbytes] = host.data
        else:
            host.data[:] = device.data[:host.nbytes]

    def copy_to_device(self, device, host):
        _record("Stream.copy_to_device", device, host)
        self._copy("cudaMemcpyAsync", device, host, to_device=True)

    def copy_to_host(self, host, device):
        _record("Stream.copy_to_host", host, device)
        self._copy("cudaMemcpyAsync", device, host, to_device=False)

    def synchronize(self):
        _record("Stream.synchronize", self)


class Event(_Handle):
    def record(self, stream):
        _record("Event.record", self, stream)

    def synchronize(self):
        _record("Event.synchronize", self)

    def elapsed_ms(self, start):
        """Not measured: ELAPSED_UNKNOWN (-1.0)."""
        _record("Event.elapsed_ms", self, start).result = ELAPSED_UNKNOWN
        return ELAPSED_UNKNOWN
