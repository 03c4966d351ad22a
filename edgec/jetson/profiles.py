"""The board table: what each supported Jetson can do (the limits the latency estimator and the
benchmark need) and how it is recognised. Every board list in edgec derives from it: detection,
`predict --device`, `--target` (boards with INT8), the report's columns, the fleet's board
groups; the JetPack lines are edgec.jetson.jetpacks.

Figures from ../shared/REFERENCE.md (NVIDIA data sheets); FP32 peak is CUDA cores x 2 FLOP x the
max GPU clock. Orin's FP16 and INT8 are the GPU's dense tensor-core peaks (NVIDIA's TOPS figures
are sparse and count the DLAs): 2048 FP16 and 4096 INT8 operations (a multiply-add counts two)
per SM per clock on Orin's Ampere, times the SMs and the power mode's top GPU clock; AGX Orin
64GB then gives 85 dense INT8 TOPS, half the 170 sparse TOPS NVIDIA lists for its GPU, and Orin
Nano 8GB 20.5, half its 40. A "super" profile is the MAXN_SUPER power mode of JetPack 6.2 on the
same module: detection cannot see a power mode, so it reports the module's profile, and
`--device` / `--target` name the mode. Python 3.6 compatible.
"""
from typing import Any, Dict, List, Optional, Sequence  # noqa: F401


class DeviceProfile(object):
    def __init__(self, key, name, soc, arch, compute_capability, cuda_cores, sms, tensor_cores,
                 max_gpu_clock_mhz, fp16_tflops, int8_tops, dla_cores, bandwidth_gbs, memory_gb,
                 jetpack, l4t, tensorrt, python, max_perf_mode, total_power_rail, cpu="",
                 cpu_ghz=2.0, cpu_core="carmel", modules=(), jetpack_lines=(),
                 dla_int8_tops=None, dla_fp16_tflops=None):
        # type: (str, str, str, str, str, int, int, int, float, float, Optional[float], int, float, float, str, str, str, str, int, Optional[str], str, float, str, Sequence[str], Sequence[str], Optional[float], Optional[float]) -> None  # noqa: E501
        self.key = key
        self.name = name
        self.soc = soc
        self.arch = arch
        self.compute_capability = compute_capability
        self.cuda_cores = cuda_cores
        self.sms = sms
        self.tensor_cores = tensor_cores
        self.max_gpu_clock_mhz = max_gpu_clock_mhz
        self.fp32_tflops = cuda_cores * 2 * max_gpu_clock_mhz / 1e6
        self.fp16_tflops = fp16_tflops
        self.int8_tops = int8_tops  # None: no INT8 on this GPU (no DP4A, no tensor cores)
        self.dla_cores = dla_cores
        # Dense peak of ONE DLA core (NVIDIA lists sparse totals over all cores); None where no
        # figure is published: the planner then places nothing of that precision on the DLA.
        self.dla_int8_tops = dla_int8_tops
        self.dla_fp16_tflops = dla_fp16_tflops
        self.bandwidth_gbs = bandwidth_gbs
        self.memory_gb = memory_gb
        self.jetpack = jetpack
        self.l4t = l4t
        self.tensorrt = tensorrt
        self.python = python
        self.max_perf_mode = max_perf_mode
        self.total_power_rail = total_power_rail  # None: sum the rails (AGX Xavier)
        # The CPU that launches TensorRT's kernels: per-layer launch overhead scales with it.
        self.cpu = cpu
        self.cpu_ghz = cpu_ghz
        self.cpu_core = cpu_core  # "a57" (Cortex-A57 class), "carmel", "a78ae"
        # Device-tree module ids that are this board (`nvidia,p3767-0003`); empty: recognised
        # by SoC and model string (the boards of one module each).
        self.modules = list(modules)
        # The JetPack lines (edgec.jetson.jetpacks groups) the board runs; `jetpack`, `l4t`,
        # `tensorrt` and `python` above are the newest line edgec's figures assume.
        self.jetpack_lines = list(jetpack_lines)

    def supports(self, precision):
        # type: (str) -> bool
        if precision in ("int8", "mix"):
            return self.int8_tops is not None
        return True

    def to_dict(self):
        # type: () -> Dict[str, Any]
        return dict(vars(self))


PROFILES = [
    DeviceProfile("nano", "Jetson Nano", "tegra210", "Maxwell", "5.3", 128, 1, 0, 921.6, 0.47,
                  None, 0, 25.6, 4, "4.6", "32.7", "8.2.1", "3.6", 0, "POM_5V_IN",
                  "4x Cortex-A57 @ 1.43 GHz", 1.43, "a57", jetpack_lines=("jp46",)),
    DeviceProfile("tx2", "Jetson TX2", "tegra186", "Pascal", "6.2", 256, 2, 0, 1300.5, 1.33,
                  None, 0, 59.7, 8, "4.6", "32.7", "8.2.1", "3.6", 0, "VDD_IN",
                  "2x Denver2 + 4x Cortex-A57 @ 2.0 GHz", 2.0, "a57", jetpack_lines=("jp46",)),
    DeviceProfile("xavier-nx", "Jetson Xavier NX", "tegra194", "Volta", "7.2", 384, 6, 48,
                  1109.25, 6.8, 13.6, 2, 51.2, 8, "5.1", "35", "8.5.2", "3.8", 8, "VDD_IN",
                  "6x Carmel @ 1.9 GHz", 1.9, "carmel", jetpack_lines=("jp51",)),
    DeviceProfile("agx-xavier", "Jetson AGX Xavier", "tegra194", "Volta", "7.2", 512, 8, 64,
                  1377.0, 11.0, 22.6, 2, 136.5, 32, "5.1", "35", "8.5.2", "3.8", 0, None,
                  "8x Carmel @ 2.26 GHz", 2.26, "carmel", jetpack_lines=("jp51",),
                  dla_int8_tops=5.7, dla_fp16_tflops=2.85),
]  # type: List[DeviceProfile]


def _orin(key, name, sms, tensor_cores, gpu_mhz, dla_cores, bandwidth_gbs, memory_gb, rail,
          cpu, cpu_ghz, modules, max_perf_mode=0, dla_sparse_tops=None):
    # type: (str, str, int, int, float, int, float, float, Optional[str], str, float, Sequence[str], int, Optional[float]) -> DeviceProfile  # noqa: E501
    """An Orin board: Ampere (compute capability 8.7), 128 CUDA cores per SM, dense tensor-core
    peaks from the SMs and the clock, JetPack 5.1, 6.0, 6.2 and 7.2. `dla_sparse_tops`: NVIDIA's
    sparse INT8 figure for all DLA cores together; a core's dense INT8 peak is a quarter of it
    per two cores. Orin's DLA traded FP16 for INT8 and NVIDIA publishes no FP16 figure for it
    ("lower FP16 convolution compute, compared to ... Xavier": the DLA FAQ), so none is
    assumed."""
    per_sm_clock = sms * gpu_mhz * 1e6
    dla_int8 = dla_sparse_tops / 2.0 / dla_cores if dla_sparse_tops and dla_cores else None
    return DeviceProfile(key, name, "tegra234", "Ampere", "8.7", 128 * sms, sms, tensor_cores,
                         gpu_mhz, round(2048 * per_sm_clock / 1e12, 2),
                         round(4096 * per_sm_clock / 1e12, 2), dla_cores, bandwidth_gbs,
                         memory_gb, "6.2", "36.4", "10.3.0", "3.10", max_perf_mode, rail, cpu,
                         cpu_ghz, "a78ae", modules, ("jp51", "jp60", "jp62", "jp72"),
                         dla_int8_tops=dla_int8)


# Module ids: p3767-0000 Orin NX 16 GB, -0001 Orin NX 8 GB (one DLA), -0003 Orin Nano 8 GB, -0004
# Orin Nano 4 GB, -0005 the Orin Nano developer kit's 8 GB module; p3701-0004 AGX Orin 32 GB,
# -0005 AGX Orin 64 GB, -0000 the AGX developer kit's (REFERENCE.md section 6; jetson-stats'
# module table; clocks from NVIDIA's nvpmodel files and `jetson_clocks --show` captures). DLA
# sparse INT8 TOPS for all cores: AGX Orin 64GB 105 (MAXN), 32GB 92, Orin NX 16GB 40 (NVIDIA's
# Deep-Learning-Accelerator-SW README: "comparable to the 15W power mode on Jetson AGX Orin
# 64GB"), Orin NX 8GB 20 (one core; 70 TOPS module total less its GPU's 50). AGX Xavier: 5.7
# dense INT8 TOPS per core (11.4 for two, REFERENCE.md section 3), FP16 half of it (NVIDIA's
# Xavier DLA brief: 5 TOPS INT8 or 2.5 TFLOPS FP16). Xavier NX has two cores but no published
# per-core figure here: no DLA placement is predicted for it.
PROFILES += [
    _orin("orin-nano-4gb", "Jetson Orin Nano 4GB", 4, 16, 624.75, 0, 34.1, 4, "VDD_IN",
          "6x Cortex-A78AE @ 1.5 GHz", 1.5, ["p3767-0004"]),
    _orin("orin-nano", "Jetson Orin Nano 8GB", 8, 32, 624.75, 0, 68.3, 8, "VDD_IN",
          "6x Cortex-A78AE @ 1.5 GHz", 1.5, ["p3767-0003", "p3767-0005"]),
    _orin("orin-nano-super", "Jetson Orin Nano 8GB (MAXN_SUPER)", 8, 32, 1020.0, 0, 102.4, 8,
          "VDD_IN", "6x Cortex-A78AE @ 1.7 GHz", 1.7, [], max_perf_mode=2),
    _orin("orin-nx-8gb", "Jetson Orin NX 8GB", 8, 32, 765.0, 1, 102.4, 8, "VDD_IN",
          "6x Cortex-A78AE @ 2.0 GHz", 2.0, ["p3767-0001"], dla_sparse_tops=20.0),
    _orin("orin-nx", "Jetson Orin NX 16GB", 8, 32, 918.0, 2, 102.4, 16, "VDD_IN",
          "8x Cortex-A78AE @ 2.0 GHz", 2.0, ["p3767-0000"], dla_sparse_tops=40.0),
    _orin("orin-nx-super", "Jetson Orin NX 16GB (MAXN_SUPER)", 8, 32, 1173.0, 2, 102.4, 16,
          "VDD_IN", "8x Cortex-A78AE @ 2.0 GHz", 2.0, [], dla_sparse_tops=40.0),
    _orin("agx-orin-32gb", "Jetson AGX Orin 32GB", 14, 56, 930.0, 2, 204.8, 32, None,
          "8x Cortex-A78AE @ 2.2 GHz", 2.2, ["p3701-0004"], dla_sparse_tops=92.0),
    # p3701-0000, the first developer kit's module, has 32 GB and the 64 GB module's compute.
    _orin("agx-orin", "Jetson AGX Orin 64GB", 16, 64, 1300.5, 2, 204.8, 64, None,
          "12x Cortex-A78AE @ 2.2 GHz", 2.2, ["p3701-0005", "p3701-0000"],
          dla_sparse_tops=105.0),
]

BY_KEY = {p.key: p for p in PROFILES}


def board_keys():
    # type: () -> List[str]
    """Every board's key, in table order: `predict --device` and the latency tables."""
    return [p.key for p in PROFILES]


def int8_board_keys():
    # type: () -> List[str]
    """Boards whose GPU runs INT8: the latency-aware planner's `--target` choices."""
    return [p.key for p in PROFILES if p.supports("int8")]


def fastest_first():
    # type: () -> List[DeviceProfile]
    """The boards by FP16 throughput, fastest first: the report's column order."""
    return sorted(PROFILES, key=lambda p: -p.fp16_tflops)


def fleet_group(key):
    # type: (str) -> str
    """A board's Ansible group: its key with `_` for `-` (group names must be identifiers)."""
    return key.replace("-", "_")


def get_profile(key):
    # type: (str) -> DeviceProfile
    from edgec.errors import EdgecError

    if key not in BY_KEY:
        raise EdgecError("unknown device %r (known: %s)" % (key, ", ".join(sorted(BY_KEY))))
    return BY_KEY[key]
