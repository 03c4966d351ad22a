"""tegrastats lines -> numbers, for JetPack 4 (rails `cur/avg` in mW without a unit) and
JetPack 5+ (`cur mW/avg mW`, a leading `MM-DD-YYYY HH:MM:SS`). Python 3.6 compatible.

Fields that are absent (EMC/GR3D clocks when not run as root, a missing sensor reported as
-256C) come back as None, never as a guess.
"""
import re
from typing import Any, Dict, List, Optional  # noqa: F401

# Rails that measure the whole module's input. AGX Xavier has none (its rails are summed).
TOTAL_RAILS = ("POM_5V_IN", "VDD_IN")

_TIMESTAMP = re.compile(r"^(\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2})\s+")
_RAM = re.compile(r"\bRAM (\d+)/(\d+)MB")
_SWAP = re.compile(r"\bSWAP (\d+)/(\d+)MB(?: \(cached (\d+)MB\))?")
_CPU = re.compile(r"\bCPU \[([^\]]*)\](?:@(\d+))?")
_ENGINE = r"\b%s (\d+)%%(?:@(\[[\d,]+\]|\d+))?"
_TEMPERATURE = re.compile(r"\b(\w+)@(-?\d+(?:\.\d+)?)C\b")
# JetPack 7.2 (R39) adds the peak: `VDD_IN 3462mW/3522mW/3582mW` (current/average/max).
_RAIL = re.compile(r"\b([A-Z][A-Z0-9_]*) (\d+)(mW)?/(\d+)(mW)?(?:/\d+(?:mW)?)?(?=\s|$)")


def _clock(text):
    # type: (Optional[str]) -> Optional[float]
    """`1377` or `[1377,1377]` (one clock per GPC on JetPack 5) -> the highest, in MHz."""
    if not text:
        return None
    values = [float(v) for v in text.strip("[]").split(",") if v]
    return max(values) if values else None


def _engine(line, name):
    # type: (str, str) -> Optional[Dict[str, Optional[float]]]
    match = re.search(_ENGINE % name, line)
    if not match:
        return None
    return {"load_percent": float(match.group(1)), "mhz": _clock(match.group(2))}


def _cpus(line):
    # type: (str) -> Optional[List[Optional[Dict[str, Optional[float]]]]]
    match = _CPU.search(line)
    if not match:
        return None
    shared_clock = float(match.group(2)) if match.group(2) else None  # old `[a%,b%]@MHz`
    cores = []  # type: List[Optional[Dict[str, Optional[float]]]]
    for part in match.group(1).split(","):
        part = part.strip()
        if part == "off" or not part:
            cores.append(None)
            continue
        load, _, mhz = part.partition("@")
        cores.append({"load_percent": float(load.rstrip("%")),
                      "mhz": float(mhz) if mhz else shared_clock})
    return cores


def parse_line(line):
    # type: (str) -> Optional[Dict[str, Any]]
    """One tegrastats line as a dict; None for a line that is not tegrastats output."""
    line = line.strip()
    ram = _RAM.search(line)
    if not ram:
        return None
    stamp = _TIMESTAMP.match(line)
    swap = _SWAP.search(line)
    temperatures = {}  # type: Dict[str, Optional[float]]
    for name, value in _TEMPERATURE.findall(line):
        reading = float(value)
        temperatures[name] = None if reading <= -256 else reading  # -256C: no sensor
    rails = {}  # type: Dict[str, Dict[str, float]]
    units = set()
    for name, current, unit1, average, unit2 in _RAIL.findall(line):
        rails[name] = {"current_mw": float(current), "average_mw": float(average)}
        units.add(bool(unit1 or unit2))
    total = None  # type: Optional[Dict[str, Any]]
    for name in TOTAL_RAILS:
        if name in rails:
            total = {"rail": name, "current_mw": rails[name]["current_mw"],
                     "average_mw": rails[name]["average_mw"]}
            break
    if total is None and rails:
        total = {"rail": "sum of rails",
                 "current_mw": sum(r["current_mw"] for r in rails.values()),
                 "average_mw": sum(r["average_mw"] for r in rails.values())}
    return {
        "timestamp": stamp.group(1) if stamp else None,
        "format": "jetpack5" if (stamp or True in units) else "jetpack4",
        "ram_mb": {"used": int(ram.group(1)), "total": int(ram.group(2))},
        "swap_mb": {"used": int(swap.group(1)), "total": int(swap.group(2)),
                    "cached": int(swap.group(3)) if swap.group(3) else None} if swap else None,
        "cpu": _cpus(line),
        "emc": _engine(line, "EMC_FREQ"),
        "gr3d": _engine(line, "GR3D_FREQ"),
        "temperatures_c": temperatures,
        "rails": rails,
        "total_power": total,
    }


def summarize(samples, total_rail=None):
    # type: (List[Dict[str, Any]], Optional[str]) -> Dict[str, Any]
    """Mean and peak module power, the GPU clock range and load over a run. `total_rail`
    (from the device profile) overrides the per-line choice when given."""
    powers = []  # type: List[float]
    for sample in samples:
        if total_rail and total_rail in sample["rails"]:
            powers.append(sample["rails"][total_rail]["current_mw"])
        elif sample["total_power"] is not None:
            powers.append(sample["total_power"]["current_mw"])
    clocks = [s["gr3d"]["mhz"] for s in samples if s["gr3d"] and s["gr3d"]["mhz"] is not None]
    loads = [s["gr3d"]["load_percent"] for s in samples if s["gr3d"]]
    rail_names = sorted(set(name for s in samples for name in s["rails"]))
    if total_rail and any(total_rail in s["rails"] for s in samples):
        rail = total_rail  # type: Optional[str]
    else:
        rail = samples[0]["total_power"]["rail"] if samples and samples[0]["total_power"] \
            else None
    return {
        "samples": len(samples),
        "power_rail": rail,
        "rails": rail_names,
        "mean_power_mw": sum(powers) / len(powers) if powers else None,
        "peak_power_mw": max(powers) if powers else None,
        "gpu_mhz_min": min(clocks) if clocks else None,
        "gpu_mhz_max": max(clocks) if clocks else None,
        "gpu_load_mean_percent": sum(loads) / len(loads) if loads else None,
        "max_temperature_c": max([t for s in samples for t in s["temperatures_c"].values()
                                  if t is not None] or [None]) if samples else None,
    }
