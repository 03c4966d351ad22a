"""Exercise the thin runtime's CUDA layer (edgec.runtime.cuda, ctypes on libcudart) on a real GPU:
device query, buffers, pinned host arrays, asynchronous copies on a stream, CUDA events.

It checks that data survives a host -> device -> host round trip bit for bit, that event
timings agree with a synchronised host clock, and reports copy bandwidth. TensorRT itself is not
involved (it is not installed where this runs); this is the part of the TensorRT runner that can
be executed here.

    PYTHONPATH=. python benchmarks/cuda_runtime_check.py --mib 64 --repeats 20
"""
import argparse
import json
import time

import numpy as np

from edgec.runtime import cuda


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    info = cuda.device_info()
    free_before, total = cuda.memory_info()
    count = args.mib * 2 ** 20 // 4
    source = cuda.PinnedArray((count,), np.float32)
    back = cuda.PinnedArray((count,), np.float32)
    device = cuda.DeviceBuffer(source.nbytes)
    free_after, _ = cuda.memory_info()
    stream = cuda.Stream()
    start, middle, end = cuda.Event(), cuda.Event(), cuda.Event()
    rng = np.random.RandomState(0)

    rows = []
    for repeat in range(args.repeats):
        source.array[...] = rng.standard_normal(count).astype(np.float32)
        back.array[...] = 0
        host_start = time.perf_counter()
        start.record(stream)
        stream.copy_to_device(device, source)
        middle.record(stream)
        stream.copy_to_host(back, device)
        end.record(stream)
        end.synchronize()
        host_ms = (time.perf_counter() - host_start) * 1000
        identical = bool(np.array_equal(source.array, back.array))
        rows.append({"h2d_ms": middle.elapsed_ms(start), "d2h_ms": end.elapsed_ms(middle),
                     "events_total_ms": end.elapsed_ms(start), "host_clock_ms": host_ms,
                     "identical": identical})
    measured = rows[3:]  # the first copies pay for lazy initialisation: warm-up
    h2d = float(np.median([r["h2d_ms"] for r in measured]))
    d2h = float(np.median([r["d2h_ms"] for r in measured]))
    events = float(np.median([r["events_total_ms"] for r in measured]))
    host = float(np.median([r["host_clock_ms"] for r in measured]))
    report = {
        "device": info, "total_memory_gib": round(total / 2.0 ** 30, 2),
        "allocated_mib_seen_by_cudaMemGetInfo": round((free_before - free_after) / 2.0 ** 20, 1),
        "buffer_mib": args.mib, "repeats_measured": len(measured),
        "round_trips_identical": all(r["identical"] for r in rows),
        "h2d_median_ms": round(h2d, 3), "d2h_median_ms": round(d2h, 3),
        "h2d_gb_per_s": round(source.nbytes / h2d / 1e6, 1),
        "d2h_gb_per_s": round(source.nbytes / d2h / 1e6, 1),
        "events_total_median_ms": round(events, 3), "host_clock_median_ms": round(host, 3),
        # Events measure the stream only; the synchronised host clock adds launch and
        # synchronisation overhead, so it must be a little larger, never smaller.
        "host_minus_events_ms": round(host - events, 3),
    }
    for item in (source, back, device):
        item.free()
    for event in (start, middle, end):
        event.destroy()
    stream.destroy()
    print(json.dumps(report, indent=2))
    assert report["round_trips_identical"], "data changed in a round trip"
    assert host >= events * 0.98, "event time exceeds the synchronised host time"


if __name__ == "__main__":
    main()
