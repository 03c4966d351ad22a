"""Power and clock sampling around a benchmark: jetson-stats (jtop) where it is installed,
tegrastats otherwise. Python 3.6 compatible.

The sampler runs in the background while the measured loop runs, and its samples are reduced
to mean/peak power, the GPU clock range (throttling) and energy per inference.
"""
import subprocess
import threading
from typing import Any, Dict, List, Optional  # noqa: F401

from edgec.errors import EdgecError
from edgec.jetson.clocks import gpu_devfreq_path, read_gpu_mhz
from edgec.jetson.tegrastats import parse_line, summarize


class TegrastatsSampler(object):
    """`tegrastats --interval MS` in a subprocess; lines parsed as they arrive."""

    source = "tegrastats"

    def __init__(self, interval_ms=100, command="tegrastats", gpu_clock_file=None):
        # type: (int, str, Optional[str]) -> None
        self.interval_ms = interval_ms
        self.command = command
        # sysfs GPU clock (clocks.gpu_devfreq_path): read with each line whose GR3D_FREQ has no
        # clock (tegrastats on R36/R39, and on older releases without root).
        self.gpu_clock_file = gpu_clock_file
        self.samples = []  # type: List[Dict[str, Any]]
        self.unparsed = 0
        self._process = None  # type: Any
        self._thread = None  # type: Any

    def start(self):
        # type: () -> None
        try:
            self._process = subprocess.Popen(
                [self.command, "--interval", str(self.interval_ms)], stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, universal_newlines=True)
        except OSError as exc:
            raise EdgecError("cannot start %s (%s): power and clocks are not recorded; "
                             "give --no-power to benchmark without them"
                             % (self.command, exc))
        self._thread = threading.Thread(target=self._read, name="tegrastats")
        self._thread.daemon = True
        self._thread.start()

    def _read(self):
        # type: () -> None
        for line in self._process.stdout:
            sample = parse_line(line)
            if sample is None:
                self.unparsed += 1
                continue
            gr3d = sample["gr3d"]
            if gr3d is not None and gr3d["mhz"] is None and self.gpu_clock_file:
                gr3d["mhz"] = read_gpu_mhz(self.gpu_clock_file)
                gr3d["mhz_source"] = "sysfs"
            self.samples.append(sample)

    def stop(self):
        # type: () -> List[Dict[str, Any]]
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
            self._thread.join(timeout=5)
        return list(self.samples)


class JtopSampler(object):
    """jetson-stats' jtop client (it talks to the jtop service, no root needed). Its samples
    are mapped to the tegrastats dict shape so one summary serves both."""

    source = "jetson-stats"

    def __init__(self, interval_ms=100):
        # type: (int) -> None
        self.interval_ms = interval_ms
        self.samples = []  # type: List[Dict[str, Any]]
        self._stop = threading.Event()
        self._thread = None  # type: Any

    def start(self):
        # type: () -> None
        self._thread = threading.Thread(target=self._run, name="jtop")
        self._thread.daemon = True
        self._thread.start()

    def _run(self):
        # type: () -> None
        from jtop import jtop  # type: ignore[import-not-found]  # jetson-stats, untyped

        with jtop(interval=max(self.interval_ms / 1000.0, 0.1)) as jetson:
            while jetson.ok() and not self._stop.is_set():
                self.samples.append(self._convert(jetson.power, jetson.gpu))

    @staticmethod
    def _convert(power, gpu):
        # type: (Dict[str, Any], Dict[str, Any]) -> Dict[str, Any]
        rails = {name: {"current_mw": float(v.get("power", 0)),
                        "average_mw": float(v.get("avg", 0))}
                 for name, v in (power.get("rail") or {}).items()}
        total = power.get("tot") or {}
        gpu_info = next(iter(gpu.values()), {}) if isinstance(gpu, dict) else {}  # type: Dict[str, Any]  # noqa: E501
        freq = (gpu_info.get("freq") or {}).get("cur")
        load = (gpu_info.get("status") or {}).get("load")
        return {"rails": rails, "temperatures_c": {},
                "total_power": {"rail": total.get("name", "total"),
                                "current_mw": float(total.get("power", 0)),
                                "average_mw": float(total.get("avg", 0))} if total else None,
                "gr3d": {"load_percent": load, "mhz": freq / 1000.0 if freq else None}}

    def stop(self):
        # type: () -> List[Dict[str, Any]]
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        return list(self.samples)


def make_sampler(interval_ms=100, jetson_root="/"):
    # type: (int, str) -> Any
    try:
        import jtop  # noqa: F401
    except ImportError:
        return TegrastatsSampler(interval_ms, gpu_clock_file=gpu_devfreq_path(jetson_root))
    return JtopSampler(interval_ms)


def power_summary(samples, runs, batch, measured_seconds, total_rail=None, locked_gpu_mhz=None):
    # type: (List[Dict[str, Any]], int, int, float, Optional[str], Optional[float]) -> Dict[str, Any]  # noqa: E501
    """Mean power, energy per inference (mJ per frame) and whether the GPU clock dropped."""
    summary = summarize(samples, total_rail)
    mean_mw = summary["mean_power_mw"]
    if mean_mw is not None and runs:
        seconds_per_run = measured_seconds / runs
        summary["energy_per_run_mj"] = mean_mw * seconds_per_run
        summary["energy_per_frame_mj"] = mean_mw * seconds_per_run / max(batch, 1)
    else:
        summary["energy_per_run_mj"] = summary["energy_per_frame_mj"] = None
    low, high = summary["gpu_mhz_min"], summary["gpu_mhz_max"]
    if low is None:
        summary["gpu_clock_dropped"] = None  # no GR3D clock in tegrastats, none in sysfs
    else:
        reference = locked_gpu_mhz or high
        summary["gpu_clock_dropped"] = bool(low < 0.97 * reference)
    return summary
