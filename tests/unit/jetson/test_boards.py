"""The board table and the JetPack table: the Orin family recognised from captured-format
device trees and release files (JetPack 6.0, 6.2 and 7.2 and the TensorRT each ships), and every
board or JetPack list in edgec derived from the two tables, so a board added there appears
everywhere and a forgotten list cannot fail silently."""
import os
import re

import pytest

from edgec.jetson import detect
from edgec.jetson.jetpacks import JETPACKS, line_of, release_of
from edgec.jetson.profiles import BY_KEY, PROFILES, board_keys, int8_board_keys
from paths import REPO

R36_3 = "# R36 (release), REVISION: 3.0, GCID: 36191598, BOARD: generic, EABI: aarch64, DATE: x\n"
R36_4 = "# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: x\n"
R39_2 = "# R39 (release), REVISION: 2.0, GCID: 00000000, BOARD: generic, EABI: aarch64, DATE: x\n"
ORIN = [  # profile, carrier + module, model string
    ("orin-nano", "p3768-0000+p3767-0005", "NVIDIA Jetson Orin Nano Developer Kit"),
    ("orin-nano", "p3768-0000+p3767-0003", "NVIDIA Jetson Orin Nano Engineering Reference "
                                           "Developer Kit Super"),
    ("orin-nano-4gb", "p3768-0000+p3767-0004", "NVIDIA Jetson Orin Nano Developer Kit"),
    ("orin-nx", "p3768-0000+p3767-0000", "NVIDIA Jetson Orin NX Engineering Reference "
                                         "Developer Kit"),
    ("orin-nx-8gb", "p3768-0000+p3767-0001", "NVIDIA Jetson Orin NX Engineering Reference "
                                             "Developer Kit"),
    ("agx-orin", "p3737-0000+p3701-0005", "NVIDIA Jetson AGX Orin Developer Kit"),
    ("agx-orin-32gb", "p3737-0000+p3701-0004", "NVIDIA Jetson AGX Orin"),
    # the first developer kit's module: 32 GB with the 64 GB module's compute
    ("agx-orin", "p3737-0000+p3701-0000", "NVIDIA Jetson AGX Orin Developer Kit"),
    # JetPack 6.2's Super flash names the module with a suffix; the module entry stays
    ("orin-nano", "p3768-0000+p3767-0005-super", "NVIDIA Jetson Orin Nano Engineering Reference "
                                                 "Developer Kit Super"),
]


def _tree(root, compatible, model, release):
    for relative, data in ((detect.COMPATIBLE, compatible), (detect.MODEL, model),
                           (detect.TEGRA_RELEASE, release)):
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data if isinstance(data, bytes) else data.encode())
    return root


def _compatible(ids):
    module = ids.split("+")[-1].replace("-super", "")
    return ("nvidia,%s\0nvidia,%s\0nvidia,tegra234\0" % (ids, module)).encode()


@pytest.mark.parametrize("key, ids, model", ORIN)
@pytest.mark.parametrize("release, l4t, jetpack, tensorrt, python", [
    (R36_3, "36.3.0", "6.0", "8.6.2", "3.10"),
    (R36_4, "36.4.3", "6.2", "10.3.0", "3.10"),
    (R39_2, "39.2.0", "7.2", "10.16", "3.12"),
])
def test_each_orin_and_its_jetpack_line(tmp_path, key, ids, model, release, l4t, jetpack,
                                       tensorrt, python):
    board = detect.detect_board(_tree(str(tmp_path), _compatible(ids), model + "\0", release))
    assert board["profile"] == key and board["name"] == BY_KEY[key].name
    assert (board["l4t"], board["jetpack"], board["tensorrt"], board["python"]) == (
        l4t, jetpack, tensorrt, python)
    assert board["warnings"] == []


def test_jetpack5_agx_orin_lists_its_soc_twice(tmp_path):
    """R35 device trees end in `nvidia,tegra23x` after `nvidia,tegra234`."""
    compatible = (b"nvidia,p3737-0000+p3701-0005\0nvidia,p3701-0005\0nvidia,tegra234\0"
                  b"nvidia,tegra23x\0")
    release = "# R35 (release), REVISION: 3.1, GCID: 32827747, BOARD: t186ref, EABI: aarch64\n"
    board = detect.detect_board(_tree(str(tmp_path), compatible,
                                      b"NVIDIA Jetson AGX Orin Developer Kit\0", release))
    assert (board["profile"], board["soc"], board["jetpack"], board["tensorrt"]) == (
        "agx-orin", "tegra234", "5.1.1", "8.5.2")


def test_a_point_release_no_row_lists_keeps_its_line():
    assert release_of("36.4.9") is None
    assert line_of("36.4.9").tensorrt == "10.3.0"  # still JetPack 6.2's line
    assert release_of("36.4.7")[0] == "6.2.1"
    assert line_of("36.2.0").tensorrt.startswith("8.6")
    assert line_of("41.0.0") is None


def test_orin_profiles_follow_the_data_sheets():
    """Dense GPU peaks are half NVIDIA's sparse GPU TOPS; DLAs and rails as REFERENCE.md says."""
    nano, agx = BY_KEY["orin-nano"], BY_KEY["agx-orin"]
    assert nano.int8_tops == pytest.approx(20.47) and agx.int8_tops == pytest.approx(85.23)
    assert nano.dla_cores == 0 and agx.dla_cores == 2 and BY_KEY["orin-nx"].dla_cores == 2
    assert nano.total_power_rail == "VDD_IN" and agx.total_power_rail is None  # AGX sums rails
    assert BY_KEY["orin-nano-super"].max_gpu_clock_mhz > nano.max_gpu_clock_mhz
    assert {p.compute_capability for p in PROFILES if p.soc == "tegra234"} == {"8.7"}
    modules = [m for p in PROFILES for m in p.modules]
    assert len(modules) == len(set(modules))  # a module id names one board


def test_every_board_list_derives_from_the_board_table():
    from click.testing import CliRunner

    from edgec.cli import main
    from edgec.commands.options import SWEEP
    from edgec.fleet.inventory import BOARD_GROUPS, JETPACK_GROUPS
    from edgec.pipeline.predict import DEVICES
    from edgec.pipeline.report import DEVICE_ORDER

    assert list(DEVICES) == board_keys()
    assert sorted(DEVICE_ORDER) == sorted(p.name for p in PROFILES)
    assert sorted(BOARD_GROUPS.values()) == sorted(board_keys())
    assert sorted(JETPACK_GROUPS) == sorted(j.group for j in JETPACKS)
    target = next(o for o in SWEEP.options if o.name == "target")
    assert list(target.attrs["type"].choices) == int8_board_keys()
    assert "nano" not in int8_board_keys() and "orin-nano" in int8_board_keys()
    help_text = CliRunner().invoke(main, ["predict", "--help"]).output
    for key in board_keys():
        assert key in help_text


def test_dockerfile_has_a_stage_per_jetpack_line_with_a_base_image():
    with open(os.path.join(REPO, "Dockerfile.l4t")) as handle:
        stages = dict(re.findall(r"^FROM (\S+) AS base-(\S+)$", handle.read(), re.M))
    wanted = {j.version: j.base_image for j in JETPACKS if j.base_image}
    assert {version: image for image, version in stages.items()} == wanted


def test_orin_tegrastats_lines():
    from edgec.jetson.tegrastats import parse_line

    nano = parse_line("12-07-2026 10:00:00 RAM 2893/7620MB (lfb 2x4MB) SWAP 0/3810MB (cached 0MB) "
                      "CPU [2%@729,1%@729,0%@729,0%@729,off,off] EMC_FREQ 0%@2133 GR3D_FREQ 12% "
                      "cpu@48.2C soc2@46.8C tj@48.2C VDD_IN 4936mW/4936mW VDD_CPU_GPU_CV "
                      "493mW/493mW VDD_SOC 1480mW/1480mW")
    assert nano["gr3d"] == {"load_percent": 12.0, "mhz": None}  # R36: no clock in the line
    assert nano["total_power"]["rail"] == "VDD_IN" and nano["total_power"]["current_mw"] == 4936
    agx = parse_line("12-07-2026 10:00:00 RAM 5210/62841MB (lfb 1x4MB) SWAP 0/31421MB (cached "
                     "0MB) CPU [1%@2201,0%@2201] GR3D_FREQ 0%@[0,0] cpu@45.1C VDD_GPU_SOC "
                     "2795mW/2795mW VDD_CPU_CV 399mW/399mW VIN_SYS_5V0 2723mW/2723mW "
                     "VDDQ_VDD2_1V8AO 502mW/502mW")
    assert agx["gr3d"]["load_percent"] == 0.0  # two GPCs, both idle
    assert agx["total_power"]["rail"] == "sum of rails"
    assert agx["total_power"]["current_mw"] == 2795 + 399 + 2723 + 502
    # JetPack 7.2 (R39): rails current/average/max, temperatures current/max
    r39 = parse_line("09-19-2026 13:33:03 RAM 2845/7486MB (lfb 33x4MB) CPU [1%@729,2%@729] "
                     "EMC_FREQ 3%@665 GR3D_FREQ 0%@[305] APE 200 cpu@45.375C/45.812C "
                     "tj@46.562C/46.843C VDD_IN 3462mW/3522mW/3582mW VDD_CPU_GPU_CV "
                     "442mW/483mW/523mW VDD_SOC 1127mW/1127mW/1127mW")
    assert r39["total_power"] == {"rail": "VDD_IN", "current_mw": 3462.0, "average_mw": 3522.0}
    assert r39["gr3d"] == {"load_percent": 0.0, "mhz": 305.0}
    assert r39["temperatures_c"]["tj"] == 46.562
