"""Keep freed host memory inside the process during a CPU sweep.

glibc hands large freed blocks back to the kernel (blocks above the mmap threshold at once,
the heap top above the trim threshold), so the next tensor of that size faults in fresh zeroed
pages. A CPU sweep allocates and frees the same activation sizes for every configuration: on
lite-wav2lip that was 3.3 million page faults and a third of the sweep's time (measured with
benchmarks/sweep_speed.py). Serving every block from the heap and never trimming it keeps the
pages mapped; the process holds its peak, which the sweep reaches anyway.
"""
import ctypes
import functools
import sys

# mallopt parameter numbers from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4
_INT_MAX = 2 ** 31 - 1


@functools.lru_cache(maxsize=None)
def keep_freed_memory() -> bool:
    """Applies the settings once per process; False where the C library is not glibc (the
    sweep is then only slower)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    if not hasattr(libc, "gnu_get_libc_version"):  # glibc only
        return False
    mallopt = libc.mallopt
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return all(mallopt(param, value) == 1 for param, value in
               ((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, _INT_MAX), (_M_TOP_PAD, 256 << 20)))
