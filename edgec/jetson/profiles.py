"""What each supported Jetson can do: the limits the latency estimator and the benchmark need.

Figures from ../shared/REFERENCE.md (NVIDIA data sheets); FP32 peak is CUDA cores x 2 FLOP x the
max GPU clock. Python 3.6 compatible.
"""
from typing import Any, Dict, List, Optional  # noqa: F401


class DeviceProfile(object):
    def __init__(self, key, name, soc, arch, compute_capability, cuda_cores, sms, tensor_cores,
                 max_gpu_clock_mhz, fp16_tflops, int8_tops, dla_cores, bandwidth_gbs, memory_gb,
                 jetpack, l4t, tensorrt, python, max_perf_mode, total_power_rail, cpu="",
                 cpu_ghz=2.0, cpu_core="carmel"):
        # type: (str, str, str, str, str, int, int, int, float, float, Optional[float], int, float, float, str, str, str, str, int, Optional[str], str, float, str) -> None  # noqa: E501
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
        self.cpu_core = cpu_core  # "a57" (Cortex-A57 class) or "carmel" (NVIDIA Carmel)

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
                  "4x Cortex-A57 @ 1.43 GHz", 1.43, "a57"),
    DeviceProfile("tx2", "Jetson TX2", "tegra186", "Pascal", "6.2", 256, 2, 0, 1300.5, 1.33,
                  None, 0, 59.7, 8, "4.6", "32.7", "8.2.1", "3.6", 0, "VDD_IN",
                  "2x Denver2 + 4x Cortex-A57 @ 2.0 GHz", 2.0, "a57"),
    DeviceProfile("xavier-nx", "Jetson Xavier NX", "tegra194", "Volta", "7.2", 384, 6, 48,
                  1109.25, 6.8, 13.6, 2, 51.2, 8, "5.1", "35", "8.5.2", "3.8", 8, "VDD_IN",
                  "6x Carmel @ 1.9 GHz", 1.9, "carmel"),
    DeviceProfile("agx-xavier", "Jetson AGX Xavier", "tegra194", "Volta", "7.2", 512, 8, 64,
                  1377.0, 11.0, 22.6, 2, 136.5, 32, "5.1", "35", "8.5.2", "3.8", 0, None,
                  "8x Carmel @ 2.26 GHz", 2.26, "carmel"),
]  # type: List[DeviceProfile]

BY_KEY = {p.key: p for p in PROFILES}


def get_profile(key):
    # type: (str) -> DeviceProfile
    from edgec.errors import EdgecError

    if key not in BY_KEY:
        raise EdgecError("unknown device %r (known: %s)" % (key, ", ".join(sorted(BY_KEY))))
    return BY_KEY[key]
