"""Which Jetson is this? From the device tree and the L4T release file, under an injectable root
so tests run on fixture trees. Damaged or missing files give warnings, never a crash.
Python 3.6 compatible.
"""
import os
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple  # noqa: F401

from edgec.jetson.jetpacks import line_of, release_of
from edgec.jetson.profiles import BY_KEY, PROFILES, DeviceProfile  # noqa: F401

COMPATIBLE = "proc/device-tree/compatible"
MODEL = "proc/device-tree/model"
TEGRA_RELEASE = "etc/nv_tegra_release"

_SOC_PROFILES = {"tegra186": "tx2", "tegra210": "nano"}
# JetPack 5 lists AGX Orin's SoC as `nvidia,tegra23x` after `nvidia,tegra234` (jetson-stats).
SOC_ALIASES = {"tegra23x": "tegra234"}


def _read(root, relative):
    # type: (str, str) -> Optional[bytes]
    try:
        with open(os.path.join(root, relative), "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def parse_compatible(data):
    # type: (bytes) -> List[str]
    """The NUL-separated device-tree `compatible` list, e.g. nvidia,p3450-0000 nvidia,tegra210."""
    return [part.decode("ascii", "replace").strip() for part in data.split(b"\0")
            if part.strip()]


def parse_tegra_release(text):
    # type: (str) -> Optional[str]
    """`# R32 (release), REVISION: 7.1, GCID: ...` -> "32.7.1" (BOARD is ignored)."""
    match = re.match(r"^#\s*R(\d+)\s*\(release\),\s*REVISION:\s*(\d+)(?:\.(\d+))?",
                     text.strip())
    if not match:
        return None
    return "%s.%s.%s" % (match.group(1), match.group(2), match.group(3) or "0")


def jetpack_for(l4t):
    # type: (Optional[str]) -> Optional[str]
    """The JetPack version of an L4T release (edgec.jetson.jetpacks), None when unknown."""
    found = release_of(l4t)
    return found[0] if found else None


def _profile_key(soc, model, entries=()):
    # type: (str, str, Sequence[str]) -> Optional[str]
    """The board table's key: by device-tree module id where a profile lists one (Orin:
    `nvidia,p3767-0003`), else by SoC and model string."""
    # `nvidia,p3768-0000+p3767-0005`: carrier + module, each an id
    modules = [part for entry in entries for part in entry.split(",", 1)[-1].split("+")]
    for profile in PROFILES:
        if any(module in modules for module in profile.modules):
            return profile.key
    lowered = model.lower()
    if soc == "tegra194":
        if "nx" in lowered:
            return "xavier-nx"
        return "agx-xavier"  # "Jetson-AGX", "Jetson AGX Xavier ..."
    if soc == "tegra210" and "tx1" in lowered:
        return None  # the TX1 shares the Nano's SoC but is not a profiled board
    return _SOC_PROFILES.get(soc)


def detect_board(root="/"):
    # type: (str) -> Optional[Dict[str, Any]]
    """None on a host that is not a Jetson; otherwise a dict with the board's profile key
    (None for an unknown Jetson), SoC, model string, L4T and JetPack, and any warnings."""
    return board_from_files(_read(root, COMPATIBLE), _read(root, MODEL),
                            _read(root, TEGRA_RELEASE), root)


def board_from_files(compatible_raw, model_raw, release_raw, root="/"):
    # type: (Optional[bytes], Optional[bytes], Optional[bytes], str) -> Optional[Dict[str, Any]]
    """detect_board on file contents read elsewhere (None for a missing file): `edgec fleet`
    reads a board's files over SSH and must judge them exactly as edgec on the board would.
    `root` only names the files in warnings."""
    if compatible_raw is None:
        return None
    entries = parse_compatible(compatible_raw)
    tegra = [e for e in entries if re.match(r"^nvidia,tegra\d+", e)]
    if not tegra:
        return None  # a device tree, but not NVIDIA Tegra (another ARM board)
    warnings = []  # type: List[str]
    soc = entries[-1].split(",", 1)[-1] if entries[-1] in tegra else tegra[-1].split(",", 1)[-1]
    soc = SOC_ALIASES.get(soc, soc)
    if model_raw is None:
        warnings.append("%s is missing: board model unknown" % os.path.join(root, MODEL))
        model = ""
    else:
        model = model_raw.split(b"\0", 1)[0].decode("utf-8", "replace").strip()
    l4t = None
    if release_raw is None:
        warnings.append("%s is missing: L4T release unknown"
                        % os.path.join(root, TEGRA_RELEASE))
    else:
        first = release_raw.decode("utf-8", "replace").splitlines()
        l4t = parse_tegra_release(first[0]) if first else None
        if l4t is None:
            warnings.append("%s does not start with '# R<major> (release), REVISION: <minor>': "
                            "L4T release unknown" % os.path.join(root, TEGRA_RELEASE))
    line = line_of(l4t)
    key = _profile_key(soc, model, entries)
    if key is None:
        warnings.append("unknown Jetson (SoC %s, model %r): no device profile, so no latency "
                        "prediction or power-rail total" % (soc, model))
    profile = BY_KEY.get(key) if key else None
    return {"profile": key, "name": profile.name if profile else "unknown Jetson (%s)" % soc,
            "soc": soc, "model": model, "l4t": l4t, "jetpack": jetpack_for(l4t),
            # What the JetPack line ships: the TensorRT the builder should find, its Python.
            "jetpack_line": line.version if line else None,
            "tensorrt": line.tensorrt if line else None,
            "python": line.python if line else None, "warnings": warnings}
