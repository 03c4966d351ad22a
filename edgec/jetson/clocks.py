"""Clock state: the power mode from `nvpmodel -q` and the clocks from `jetson_clocks --show`.
Parsers are pure (tested on captured outputs); `read_clock_state` runs the tools when present.
Python 3.6 compatible.
"""
import re
import subprocess
from typing import Any, Dict, List, Optional  # noqa: F401

_FREQS = re.compile(r"MinFreq=(\d+)\s+MaxFreq=(\d+)\s+CurrentFreq=(\d+)")


def parse_nvpmodel(text):
    # type: (str) -> Optional[Dict[str, Any]]
    """`NV Power Mode: MAXN` then the mode id on the next line."""
    match = re.search(r"NV Power Mode:\s*(\S+)\s*\n\s*(\d+)", text)
    if match:
        return {"name": match.group(1), "id": int(match.group(2))}
    match = re.search(r"NV Power Mode:\s*(\S+)", text)
    return {"name": match.group(1), "id": None} if match else None


def parse_jetson_clocks(text):
    # type: (str) -> Dict[str, Any]
    """GPU, EMC and per-CPU Min/Max/Current frequencies (Hz for GPU/EMC, kHz for CPUs, as the
    tool prints them) and whether they are locked: GPU and online CPUs at MinFreq = MaxFreq =
    CurrentFreq, EMC at its maximum."""
    units = {}  # type: Dict[str, Dict[str, int]]
    for line in text.splitlines():
        match = _FREQS.search(line)
        if not match:
            continue
        name = line.strip().split()[0].rstrip(":")
        if "Online=0" in line:
            continue
        units[name] = {"min": int(match.group(1)), "max": int(match.group(2)),
                       "current": int(match.group(3))}
    gpu = units.get("GPU")
    cpus = [v for k, v in units.items() if re.match(r"^cpu\d+$", k)]
    emc = units.get("EMC")
    reasons = []  # type: List[str]
    if gpu is None:
        reasons.append("no GPU line")
    elif not gpu["min"] == gpu["max"] == gpu["current"]:
        reasons.append("GPU at %d of %d MHz (min %d)" % (
            gpu["current"] // 1000000, gpu["max"] // 1000000, gpu["min"] // 1000000))
    unlocked_cpus = [c for c in cpus if not c["min"] == c["max"] == c["current"]]
    if unlocked_cpus:
        reasons.append("%d CPU cores not at a fixed maximum" % len(unlocked_cpus))
    if emc is not None and emc["current"] != emc["max"]:
        reasons.append("EMC at %d of %d MHz" % (emc["current"] // 1000000,
                                                emc["max"] // 1000000))
    return {"gpu_hz": gpu, "emc_hz": emc, "cpu_khz": cpus and {
        "min": min(c["current"] for c in cpus), "max": max(c["current"] for c in cpus)},
        "locked": bool(units) and not reasons, "why_not_locked": reasons}


def _run(command):
    # type: (List[str]) -> Optional[str]
    try:
        output = subprocess.check_output(command, stderr=subprocess.STDOUT, timeout=10)
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return None
    return output.decode("utf-8", "replace")


def read_clock_state():
    # type: () -> Dict[str, Any]
    """Power mode and clocks; fields are None where a tool is missing or needs root."""
    mode_text = _run(["nvpmodel", "-q"])
    clocks_text = _run(["jetson_clocks", "--show"])
    return {"power_mode": parse_nvpmodel(mode_text) if mode_text else None,
            "clocks": parse_jetson_clocks(clocks_text) if clocks_text else None,
            "tools": {"nvpmodel": mode_text is not None,
                      "jetson_clocks": clocks_text is not None}}


# The GPU's devfreq node under /sys/class/devfreq: `57000000.gpu` (Nano), `17000000.gp10b` (TX2),
# `17000000.gv11b` (Xavier), `17000000.ga10b` or `17000000.gpu` (Orin, R35/R36/R39), as
# jetson-stats finds it. tegrastats on R36 and R39 prints `GR3D_FREQ 12%` with no clock, so the
# clock is read here instead (cur_freq in Hz; world-readable, no root needed).
GPU_DEVFREQ_NAMES = ("gpu", "gp10b", "gv11b", "ga10b", "gb10b")


def gpu_devfreq_path(root="/"):
    # type: (str) -> Optional[str]
    """The GPU's devfreq `cur_freq` file under `root` (a Jetson's /, or a fixture tree), or
    None where there is none (not a Jetson, or sysfs not mounted in a container)."""
    import os

    base = os.path.join(root, "sys", "class", "devfreq")
    try:
        names = sorted(os.listdir(base))
    except OSError:
        return None
    for name in names:
        if name.split(".")[-1] in GPU_DEVFREQ_NAMES:
            path = os.path.join(base, name, "cur_freq")
            if os.path.isfile(path):
                return path
    return None


def read_gpu_mhz(path):
    # type: (Optional[str]) -> Optional[float]
    """The GPU clock in MHz from a devfreq `cur_freq` file (Hz); None when unreadable."""
    if not path:
        return None
    try:
        with open(path) as handle:
            return int(handle.read().strip()) / 1e6
    except (OSError, ValueError):
        return None
