"""Which Jetson is this? From the device tree and the L4T release file, under an injectable root
so tests run on fixture trees. Damaged or missing files give warnings, never a crash.
Python 3.6 compatible.
"""
import os
import re
from typing import Any, Dict, List, Optional, Tuple  # noqa: F401

from edgec.jetson.profiles import BY_KEY, DeviceProfile  # noqa: F401

COMPATIBLE = "proc/device-tree/compatible"
MODEL = "proc/device-tree/model"
TEGRA_RELEASE = "etc/nv_tegra_release"

# L4T release -> JetPack (NVIDIA's JetPack archive). Longest matching prefix wins.
L4T_TO_JETPACK = [
    ("32.5", "4.5"), ("32.5.1", "4.5.1"), ("32.5.2", "4.5.1"), ("32.6.1", "4.6"),
    ("32.7.1", "4.6.1"), ("32.7.2", "4.6.2"), ("32.7.3", "4.6.3"), ("32.7.4", "4.6.4"),
    ("32.7.5", "4.6.5"), ("32.7.6", "4.6.6"), ("35.1.0", "5.0.2"), ("35.2.1", "5.1"),
    ("35.3.1", "5.1.1"), ("35.4.1", "5.1.2"), ("35.5.0", "5.1.3"), ("35.6.0", "5.1.4"),
    ("36.2.0", "6.0 DP"), ("36.3.0", "6.0"), ("36.4.0", "6.1"), ("36.4.3", "6.2"),
]
_SOC_PROFILES = {"tegra186": "tx2", "tegra210": "nano"}


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
    if not l4t:
        return None
    best = None  # type: Optional[Tuple[str, str]]
    for prefix, jetpack in L4T_TO_JETPACK:
        if (l4t == prefix or l4t.startswith(prefix + ".")) and \
                (best is None or len(prefix) > len(best[0])):
            best = (prefix, jetpack)
    return best[1] if best else None


def _profile_key(soc, model):
    # type: (str, str) -> Optional[str]
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
    key = _profile_key(soc, model)
    if key is None:
        warnings.append("unknown Jetson (SoC %s, model %r): no device profile, so no latency "
                        "prediction or power-rail total" % (soc, model))
    profile = BY_KEY.get(key) if key else None
    return {"profile": key, "name": profile.name if profile else "unknown Jetson (%s)" % soc,
            "soc": soc, "model": model, "l4t": l4t, "jetpack": jetpack_for(l4t),
            "warnings": warnings}
