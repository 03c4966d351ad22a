"""One `edgec bench` run: pick the backend for the file, prepare inputs, read the device's clock
state, measure (with power sampling on a Jetson), check the outputs, assemble result.json.
Python 3.6 compatible; no torch, no onnx.
"""
import os
from typing import Any, Dict, List, Optional  # noqa: F401

from edgec.errors import EdgecError
from edgec.runtime import bench
from edgec.runtime.results import Target, host_info, make_result, peak_host_rss_bytes


class BenchOptions(object):
    def __init__(self, batch=None, iterations=None, duration_s=None, warmup_s=1.0,
                 reference=None, save_reference=None, min_psnr=30.0, max_abs=None,
                 model_name=None, precision=None, power=True, power_interval_ms=100,
                 jetson_root=None, seed=0, profile=None, profile_runs=20):
        # type: (Optional[int], Optional[int], Optional[float], float, Optional[str], Optional[str], float, Optional[float], Optional[str], Optional[str], bool, int, Optional[str], int, Optional[str], int) -> None  # noqa: E501
        self.batch = batch
        self.iterations = iterations
        self.duration_s = duration_s
        self.warmup_s = warmup_s
        self.reference = reference
        self.save_reference = save_reference
        self.min_psnr = min_psnr
        self.max_abs = max_abs
        self.model_name = model_name
        self.precision = precision
        self.power = power
        self.power_interval_ms = power_interval_ms
        # Where /proc/device-tree and /etc/nv_tegra_release are read from: "/" on a device;
        # EDGEC_JETSON_ROOT points elsewhere (fixture trees, containers with host files mounted).
        self.jetson_root = jetson_root or os.environ.get("EDGEC_JETSON_ROOT", "/")
        self.seed = seed
        self.profile = profile  # where profile.json goes; None: no per-layer profiling
        self.profile_runs = profile_runs

    def settings(self):
        # type: () -> Dict[str, Any]
        return {"batch": self.batch, "iterations": self.iterations,
                "duration_s": self.duration_s, "warmup_s": self.warmup_s,
                "reference": os.path.basename(self.reference) if self.reference else None,
                "min_psnr_db": self.min_psnr if self.reference else None,
                "max_abs_error": self.max_abs if self.reference else None,
                "inputs": "reference" if self.reference else "uniform random, seed %d"
                                                             % self.seed,
                "power_sampling": self.power, "power_interval_ms": self.power_interval_ms,
                "profile_runs": self.profile_runs if self.profile else None}


def _device(runner, board):
    # type: (Any, Optional[Dict[str, Any]]) -> Dict[str, Any]
    description = runner.describe()
    if runner.backend == "tensorrt":
        device = dict(description["device"], kind="gpu")
    else:
        device = {"kind": "cpu", "name": host_info()["cpu"] or "unknown CPU",
                  "providers": description.get("providers")}
    if board is not None:
        device["processor"] = device["name"]
        device["name"] = board["name"]  # the fleet report groups by board, not chip
        device["jetson"] = board
    return device


def run_bench(path, options):
    # type: (str, BenchOptions) -> Dict[str, Any]
    from edgec.jetson.detect import detect_board

    target = Target(path, options.model_name, options.precision)
    reference_inputs, reference_outputs = None, None
    batch = options.batch
    if options.reference:
        reference_inputs, reference_outputs = bench.load_reference(options.reference)
        ref_batch = int(next(iter(reference_inputs.values())).shape[0])
        if batch is not None and batch != ref_batch:
            raise EdgecError("reference %s holds a batch of %d; give --batch %d or omit --batch"
                             % (options.reference, ref_batch, ref_batch))
        batch = ref_batch
    batch = batch or 1
    options.batch = batch
    warnings = []  # type: List[str]
    board = detect_board(options.jetson_root)
    clock_state = None  # type: Optional[Dict[str, Any]]
    if board is not None:
        from edgec.jetson.clocks import read_clock_state

        warnings += board["warnings"]
        clock_state = read_clock_state()
        clocks = clock_state["clocks"]
        if clocks is None:
            warnings.append("clock state unknown (jetson_clocks --show failed; it needs root): "
                            "latencies may include clock ramp-up")
        elif not clocks["locked"]:
            warnings.append("clocks are not locked (%s): run `sudo nvpmodel -m <max mode>` and "
                            "`sudo jetson_clocks` before benchmarking"
                            % "; ".join(clocks["why_not_locked"]))
    runner = target.runner(batch)
    monitor = None  # the power sampler, started and stopped around the measured runs
    if board and options.power:
        from edgec.jetson.monitor import make_sampler

        monitor = make_sampler(options.power_interval_ms, options.jetson_root)
    with runner:
        warnings += getattr(runner, "warnings", [])
        feed = reference_inputs if reference_inputs is not None else \
            bench.random_inputs(runner.inputs(), batch, options.seed)
        timing = bench.run_benchmark(runner, feed, options.warmup_s, options.iterations,
                                     options.duration_s, monitor=monitor)
        outputs = runner.infer(feed)
        device = _device(runner, board)
        memory = {"host_peak_rss_bytes": peak_host_rss_bytes()}
        if runner.backend == "tensorrt":
            memory["device_bytes"] = runner.device_memory_bytes
        check = None
        if reference_outputs is not None:
            check = bench.compare_outputs(outputs, reference_outputs, options.min_psnr,
                                          options.max_abs)
        if options.save_reference:
            bench.save_reference(options.save_reference, feed, outputs)
        extra = {}  # type: Dict[str, Any]
        if board is not None:
            extra["jetson"] = _jetson_record(board, clock_state, monitor, timing)
        if options.profile:
            # After the timed runs and the output check: profiling slows every run.
            extra["profile"] = _write_profile(runner, feed, options, target, device, board)
        return make_result(target, runner, timing, options.settings(), check, device, memory,
                           warnings, extra)


def _jetson_record(board, clock_state, monitor, timing):
    # type: (Dict[str, Any], Optional[Dict[str, Any]], Any, Dict[str, Any]) -> Dict[str, Any]
    from edgec.jetson.monitor import power_summary
    from edgec.jetson.profiles import BY_KEY

    profile = BY_KEY.get(board["profile"] or "")
    record = {"board": board, "clock_state": clock_state, "power": None}  # type: Dict[str, Any]
    if monitor is not None:
        locked = None
        clocks = (clock_state or {}).get("clocks") or {}
        if clocks.get("locked") and clocks.get("gpu_hz"):
            locked = clocks["gpu_hz"]["max"] / 1e6
        record["power"] = power_summary(monitor.samples, timing["measured"]["runs"],
                                        timing["batch"], timing["measured"]["seconds"],
                                        profile.total_power_rail if profile else None, locked)
        record["power"]["source"] = monitor.source
    return record


def _write_profile(runner, feed, options, target, device, board):
    # type: (Any, Dict[str, Any], BenchOptions, Target, Dict[str, Any], Optional[Dict[str, Any]]) -> Dict[str, Any]  # noqa: E501
    from edgec.fileio import atomic_write_json
    from edgec.runtime.layer_profile import make_profile

    path = options.profile or ""
    rows, notes = runner.profile_layers(feed, options.profile_runs)
    describe = runner.describe()
    profile = make_profile(rows, {"backend": runner.backend, "version": describe.get("version")},
                           device, (board or {}).get("profile"), target.model_name,
                           target.precision, options.batch or 1, options.profile_runs,
                           os.path.basename(target.path))
    profile["notes"] = notes
    atomic_write_json(path, profile)
    return {"file": path, "layers": len(rows), "total_ms": profile["total_ms"],
            "notes": notes}
