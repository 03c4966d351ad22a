"""Jetson detection on fixture trees, tegrastats parsing on real lines, clock state parsing, and
power sampling through a real subprocess."""
import os
import stat

import pytest

from edgec.jetson import clocks, detect, monitor, tegrastats

# Real tegrastats lines. NANO and XAVIER_NX are the two in ../shared/REFERENCE.md; the others
# were captured on devices and published as test data of a public monitoring agent.
NANO_JP4 = ("RAM 534/3964MB (lfb 98x4MB) SWAP 5/1982MB (cached 1MB) IRAM 0/252kB(lfb 252kB) "
            "CPU [16%@204,9%@204,0%@204,0%@204] EMC_FREQ 0%@204 GR3D_FREQ 0%@76 APE 25 "
            "PLL@34C CPU@36.5C PMIC@100C GPU@36C AO@39.5C thermal@36.25C POM_5V_IN 1022/1022 "
            "POM_5V_GPU 0/0 POM_5V_CPU 204/204")
XAVIER_NX_JP4 = ("RAM 4412/7772MB (lfb 237x4MB) SWAP 139/3886MB (cached 2MB) CPU [9%@1190,"
                 "6%@1190,6%@1190,5%@1190,4%@1190,8%@1267] EMC_FREQ 10%@1600 GR3D_FREQ 62%@306 "
                 "APE 150 MTS fg 0% bg 0% AO@41.5C GPU@43C PMIC@100C AUX@41.5C CPU@43.5C "
                 "thermal@42.55C VDD_IN 4067/4067 VDD_CPU_GPU_CV 738/738 VDD_SOC 1353/1353")
TX2_JP4 = ("RAM 2344/7852MB (lfb 1154x4MB) SWAP 0/3926MB (cached 0MB) CPU [1%@345,off,off,"
           "1%@345,0%@345,2%@345] EMC_FREQ 4%@1600 GR3D_FREQ 0%@624 APE 150 PLL@37.5C "
           "MCPU@37.5C PMIC@100C Tboard@32C GPU@35C BCPU@37.5C thermal@36.5C Tdiode@34.25C "
           "VDD_SYS_GPU 152/152 VDD_SYS_SOC 687/687 VDD_4V0_WIFI 0/0 VDD_IN 3056/3056 "
           "VDD_SYS_CPU 152/152 VDD_SYS_DDR 883/883")
AGX_XAVIER_JP4 = ("RAM 721/31927MB (lfb 7291x4MB) SWAP 0/15963MB (cached 0MB) CPU [2%@1190,"
                  "0%@1190,0%@1190,0%@1190,off,off,off,off] EMC_FREQ 0%@665 GR3D_FREQ 0%@318 "
                  "APE 150 MTS fg 0% bg 0% AO@37.5C GPU@37.5C Tdiode@40C PMIC@100C AUX@36C "
                  "CPU@37.5C thermal@36.9C Tboard@37C GPU 0/0 CPU 311/311 SOC 932/932 CV 0/0 "
                  "VDDRQ 621/621 SYS5V 1482/1482")
# Not run as root: EMC and GR3D without clocks.
AGX_XAVIER_JP4_USER = ("RAM 14700/15692MB (lfb 3x2MB) SWAP 898/8192MB (cached 23MB) CPU "
                       "[0%@1190,0%@1190,0%@1190,0%@1190,0%@1190,0%@1190,0%@1190,0%@1190] "
                       "EMC_FREQ 0% GR3D_FREQ 0% AO@30C GPU@30.5C Tboard@31C Tdiode@32C "
                       "AUX@30.5C CPU@31.5C thermal@30.8C PMIC@100C GPU 463/463 CPU 618/618 "
                       "SOC 2936/2936 CV 0/0 VDDRQ 309/309 SYS5V 3306/3306")
# JetPack 5 format (mW units, -256C absent sensors are not in this one), an Orin NX 16GB.
ORIN_NX_JP5 = ("RAM 6334/15388MB (lfb 1770x4MB) SWAP 491/7694MB (cached 0MB) CPU [6%@729,"
               "9%@729,5%@729,16%@729,off,off,off,off] EMC_FREQ 0%@2133 GR3D_FREQ 0%@611 "
               "VIC_FREQ 729 APE 174 CV0@45.812C CPU@47.937C SOC2@46.093C SOC0@46.968C "
               "CV1@46.406C GPU@45.875C tj@48.875C SOC1@48.875C CV2@45.75C VDD_IN "
               "5299mW/5299mW VDD_CPU_GPU_CV 773mW/773mW VDD_SOC 1424mW/1424mW")
# JetPack 5+ with the leading timestamp and per-GPC clocks (an AGX Orin on L4T R36).
ORIN_R36 = ("11-15-2024 08:38:09 RAM 29114/30697MB (lfb 3x4MB) SWAP 4915/15348MB (cached 1MB) "
            "CPU [3%@729,4%@729,0%@729,1%@729] EMC_FREQ 1%@2133 GR3D_FREQ 0%@[305,305] "
            "NVENC off NVDEC off APE 174 cpu@53.062C soc2@48.25C gpu@47.812C tj@53.062C "
            "VDD_GPU_SOC 3205mW/3205mW VDD_CPU_CV 4405mW/4405mW VIN_SYS_5V0 4767mW/4767mW")


def test_nano_line():
    sample = tegrastats.parse_line(NANO_JP4)
    assert sample["format"] == "jetpack4" and sample["timestamp"] is None
    assert sample["ram_mb"] == {"used": 534, "total": 3964}
    assert sample["swap_mb"] == {"used": 5, "total": 1982, "cached": 1}
    assert sample["cpu"][0] == {"load_percent": 16.0, "mhz": 204.0} and len(sample["cpu"]) == 4
    assert sample["emc"] == {"load_percent": 0.0, "mhz": 204.0}
    assert sample["gr3d"] == {"load_percent": 0.0, "mhz": 76.0}
    assert sample["temperatures_c"]["thermal"] == 36.25 and sample["temperatures_c"]["PMIC"] == 100
    assert set(sample["rails"]) == {"POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"}
    assert sample["total_power"] == {"rail": "POM_5V_IN", "current_mw": 1022.0,
                                     "average_mw": 1022.0}


def test_xavier_nx_and_tx2_use_vdd_in():
    nx = tegrastats.parse_line(XAVIER_NX_JP4)
    assert nx["gr3d"] == {"load_percent": 62.0, "mhz": 306.0}
    assert nx["cpu"][5] == {"load_percent": 8.0, "mhz": 1267.0}
    assert nx["total_power"]["rail"] == "VDD_IN" and nx["total_power"]["current_mw"] == 4067
    tx2 = tegrastats.parse_line(TX2_JP4)
    assert tx2["cpu"][1] is None and tx2["cpu"][2] is None  # offline cores
    assert tx2["total_power"]["current_mw"] == 3056 and len(tx2["rails"]) == 6


def test_agx_xavier_sums_its_rails_and_handles_non_root_output():
    agx = tegrastats.parse_line(AGX_XAVIER_JP4)
    assert agx["total_power"]["rail"] == "sum of rails"
    assert agx["total_power"]["current_mw"] == 0 + 311 + 932 + 0 + 621 + 1482
    assert agx["rails"]["GPU"] == {"current_mw": 0.0, "average_mw": 0.0}
    user = tegrastats.parse_line(AGX_XAVIER_JP4_USER)
    assert user["gr3d"] == {"load_percent": 0.0, "mhz": None}  # no clock without root
    assert user["emc"]["mhz"] is None
    assert user["total_power"]["current_mw"] == 463 + 618 + 2936 + 0 + 309 + 3306


def test_jetpack5_formats():
    orin = tegrastats.parse_line(ORIN_NX_JP5)
    assert orin["format"] == "jetpack5"
    assert orin["rails"]["VDD_IN"] == {"current_mw": 5299.0, "average_mw": 5299.0}
    assert orin["temperatures_c"]["tj"] == 48.875
    r36 = tegrastats.parse_line(ORIN_R36)
    assert r36["timestamp"] == "11-15-2024 08:38:09"
    assert r36["gr3d"] == {"load_percent": 0.0, "mhz": 305.0}
    assert r36["total_power"]["current_mw"] == 3205 + 4405 + 4767


def test_non_tegrastats_lines_and_absent_sensors():
    assert tegrastats.parse_line("") is None
    assert tegrastats.parse_line("tegrastats: permission denied") is None
    sample = tegrastats.parse_line("RAM 1/2MB CV0@-256C GPU@40C")
    assert sample["temperatures_c"] == {"CV0": None, "GPU": 40.0}
    assert sample["total_power"] is None and sample["cpu"] is None


def test_power_summary_energy_and_throttling():
    samples = [tegrastats.parse_line(XAVIER_NX_JP4.replace("VDD_IN 4067/4067", "VDD_IN %d/%d"
                                                           % (p, p)).replace("62%@306", c))
               for p, c in ((4000, "99%@1109"), (6000, "99%@1109"), (5000, "99%@900"))]
    summary = monitor.power_summary(samples, runs=100, batch=2, measured_seconds=0.5,
                                    total_rail="VDD_IN", locked_gpu_mhz=1109.25)
    assert summary["mean_power_mw"] == pytest.approx(5000.0)
    assert summary["energy_per_run_mj"] == pytest.approx(5000.0 * 0.005)
    assert summary["energy_per_frame_mj"] == pytest.approx(5000.0 * 0.005 / 2)
    assert summary["gpu_clock_dropped"] is True
    steady = monitor.power_summary(samples[:2], 10, 1, 1.0, "VDD_IN", 1109.25)
    assert steady["gpu_clock_dropped"] is False
    user = monitor.power_summary([tegrastats.parse_line(AGX_XAVIER_JP4_USER)], 10, 1, 1.0)
    assert user["gpu_clock_dropped"] is None  # unknown without root, not "no"


def _tree(root, compatible, model, release):
    os.makedirs(os.path.join(root, "proc", "device-tree"))
    os.makedirs(os.path.join(root, "etc"))
    if compatible is not None:
        with open(os.path.join(root, detect.COMPATIBLE), "wb") as handle:
            handle.write(compatible)
    if model is not None:
        with open(os.path.join(root, detect.MODEL), "wb") as handle:
            handle.write(model)
    if release is not None:
        with open(os.path.join(root, detect.TEGRA_RELEASE), "w") as handle:
            handle.write(release)
    return root


R32 = "# R32 (release), REVISION: 7.1, GCID: 29818004, BOARD: t210ref, EABI: aarch64, DATE: x\n"
R35 = "# R35 (release), REVISION: 2.1, GCID: 32413640, BOARD: t186ref, EABI: aarch64, DATE: x\n"
BOARDS = [
    ("nano", b"nvidia,p3450-0000\0nvidia,jetson-nano\0nvidia,tegra210\0",
     b"NVIDIA Jetson Nano Developer Kit\0", R32, "32.7.1", "4.6.1"),
    ("tx2", b"nvidia,p2771-0000-500\0nvidia,p2771-0000\0nvidia,tegra186\0", b"quill\0",
     R32.replace("7.1", "7.4"), "32.7.4", "4.6.4"),
    ("xavier-nx", b"nvidia,p3509-0000+p3668-0001\0nvidia,jetson-xavier-nx\0nvidia,tegra194\0",
     b"NVIDIA Jetson Xavier NX Developer Kit\0", R35, "35.2.1", "5.1"),
    ("agx-xavier", b"nvidia,p2972-0000\0nvidia,galen\0nvidia,tegra194\0", b"Jetson-AGX\0",
     R35.replace("2.1", "3.1"), "35.3.1", "5.1.1"),
]


@pytest.mark.parametrize("key, compatible, model, release, l4t, jetpack", BOARDS)
def test_detects_the_four_boards(tmp_path, key, compatible, model, release, l4t, jetpack):
    board = detect.detect_board(_tree(str(tmp_path), compatible, model, release))
    assert board["profile"] == key
    assert board["l4t"] == l4t and board["jetpack"] == jetpack
    assert board["warnings"] == []


def test_not_a_jetson(tmp_path):
    assert detect.detect_board(str(tmp_path)) is None  # no device tree (an x86 host)
    rpi = _tree(str(tmp_path / "rpi"), b"raspberrypi,4-model-b\0brcm,bcm2711\0",
                b"Raspberry Pi 4\0", None)
    assert detect.detect_board(rpi) is None


def test_damaged_and_unknown_boards_give_warnings_not_crashes(tmp_path):
    garbled = detect.detect_board(_tree(str(tmp_path / "a"), BOARDS[0][1], None,
                                        "\x00\xffgarbage"))
    assert garbled["profile"] == "nano" and garbled["l4t"] is None
    assert any("model unknown" in w for w in garbled["warnings"])
    assert any("L4T release unknown" in w for w in garbled["warnings"])
    empty = detect.detect_board(_tree(str(tmp_path / "b"), BOARDS[0][1], b"", ""))
    assert empty["l4t"] is None and empty["jetpack"] is None
    thor = detect.detect_board(_tree(str(tmp_path / "c"), b"nvidia,p3834-0008\0nvidia,tegra264\0",
                                     b"NVIDIA Jetson AGX Thor Developer Kit\0", R35))
    assert thor["profile"] is None and thor["name"] == "unknown Jetson (tegra264)"
    assert any("unknown Jetson" in w for w in thor["warnings"])
    tx1 = detect.detect_board(_tree(str(tmp_path / "d"), b"nvidia,p2371-2180\0nvidia,tegra210\0",
                                    b"jetson_tx1\0", R32))
    assert tx1["profile"] is None


JETSON_CLOCKS_LOCKED = """SOC family:tegra194  Machine:Jetson-AGX
Online CPUs: 0-7
cpu0: Online=1 Governor=schedutil MinFreq=2265600 MaxFreq=2265600 CurrentFreq=2265600 IdleStates: C1=0 c6=0
cpu1: Online=1 Governor=schedutil MinFreq=2265600 MaxFreq=2265600 CurrentFreq=2265600 IdleStates: C1=0 c6=0
cpu7: Online=0 Governor=schedutil MinFreq=1190400 MaxFreq=2265600 CurrentFreq=1190400 IdleStates: C1=1 c6=1
GPU MinFreq=1377000000 MaxFreq=1377000000 CurrentFreq=1377000000
EMC MinFreq=204000000 MaxFreq=2133000000 CurrentFreq=2133000000 FreqOverride=1
Fan: PWM=255
NV Power Mode: MAXN
"""


def test_clock_state_parsing():
    locked = clocks.parse_jetson_clocks(JETSON_CLOCKS_LOCKED)
    assert locked["locked"] and locked["gpu_hz"]["max"] == 1377000000
    unlocked = clocks.parse_jetson_clocks(JETSON_CLOCKS_LOCKED.replace(
        "GPU MinFreq=1377000000", "GPU MinFreq=114750000").replace(
        "CurrentFreq=1377000000", "CurrentFreq=318750000"))
    assert not unlocked["locked"]
    assert unlocked["why_not_locked"] == ["GPU at 318 of 1377 MHz (min 114)"]
    assert clocks.parse_nvpmodel("NV Fan Mode:quiet\nNV Power Mode: MAXN\n0\n") == \
        {"name": "MAXN", "id": 0}
    assert clocks.parse_nvpmodel("NV Power Mode: MODE_20W_6CORE\n8\n")["id"] == 8
    assert clocks.parse_nvpmodel("nvpmodel: command failed") is None


def write_script(path, text):
    with open(path, "w") as handle:
        handle.write("#!/bin/sh\n" + text)
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def fake_jetson_tools(tmp_path):
    """tegrastats, nvpmodel and jetson_clocks stand-ins that print captured outputs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_script(str(bin_dir / "tegrastats"),
                 'while true; do echo "%s"; sleep 0.02; done\n' % XAVIER_NX_JP4)
    write_script(str(bin_dir / "nvpmodel"), 'printf "NV Power Mode: MODE_20W_6CORE\\n8\\n"\n')
    write_script(str(bin_dir / "jetson_clocks"),
                 "cat <<'EOF'\n%s\nEOF\n" % JETSON_CLOCKS_LOCKED.replace(
                     "1377000000", "1109250000"))
    return str(bin_dir)


def test_tegrastats_sampler_reads_a_real_subprocess(fake_jetson_tools):
    sampler = monitor.TegrastatsSampler(20, os.path.join(fake_jetson_tools, "tegrastats"))
    sampler.start()
    import time
    time.sleep(0.3)
    samples = sampler.stop()
    assert len(samples) >= 3
    assert all(s["total_power"]["current_mw"] == 4067 for s in samples)
    assert sampler._process.poll() is not None  # the subprocess was stopped


def test_bench_on_a_jetson_records_power_and_clocks(tmp_path, run_cli, fake_jetson_tools,
                                                    monkeypatch):
    import json

    from onnx_fixtures import tiny_onnx

    root = _tree(str(tmp_path / "root"), BOARDS[2][1], BOARDS[2][2], R35)
    monkeypatch.setenv("EDGEC_JETSON_ROOT", root)
    monkeypatch.setenv("PATH", fake_jetson_tools + os.pathsep + os.environ["PATH"])
    model = tiny_onnx(str(tmp_path / "tiny.onnx"))
    out = str(tmp_path / "result.json")
    result = run_cli("bench", model, "--duration", "0.3", "--warmup", "0.1",
                     "--power-interval", "20", "-o", out)
    assert result.exit_code == 0, result.output
    assert "power 4067 mW mean (VDD_IN)" in result.output
    data = json.load(open(out))
    assert data["device"]["name"] == "Jetson Xavier NX"
    jetson = data["jetson"]
    assert jetson["clock_state"]["power_mode"] == {"name": "MODE_20W_6CORE", "id": 8}
    assert jetson["clock_state"]["clocks"]["locked"] is True
    assert jetson["power"]["mean_power_mw"] == 4067
    assert jetson["power"]["energy_per_frame_mj"] == pytest.approx(
        4067 * data["runs"]["measured"]["seconds"] / data["runs"]["measured"]["runs"], rel=1e-6)
    # The captured tegrastats line shows GR3D at 306 MHz under clocks locked at 1109 MHz.
    assert jetson["power"]["gpu_clock_dropped"] is True
    assert data["warnings"] == []


# tegrastats on R36/R39 without a GPU clock (REFERENCE.md section 6): `GR3D_FREQ 12%`.
ORIN_NANO_R36_NO_CLOCK = (
    "12-01-2026 10:02:11 RAM 3012/7620MB (lfb 2x4MB) SWAP 0/3810MB (cached 0MB) CPU [5%@1510,"
    "3%@1510,2%@1510,4%@1510,1%@1510,0%@1510] GR3D_FREQ 12% cpu@48.1C soc2@46.9C gpu@47C "
    "VDD_IN 5012mW/5012mW VDD_CPU_GPU_CV 1380mW/1380mW VDD_SOC 1511mW/1511mW")


@pytest.mark.parametrize("node", ["17000000.ga10b", "17000000.gpu", "17000000.gv11b",
                                  "57000000.gpu"])
def test_gpu_clock_from_sysfs_fills_a_clockless_gr3d(tmp_path, node):
    root = tmp_path / "root"
    devfreq = root / "sys" / "class" / "devfreq"
    (devfreq / "3d00000.pcie").mkdir(parents=True)  # another devfreq device: not the GPU
    (devfreq / "3d00000.pcie" / "cur_freq").write_text("100000000\n")
    (devfreq / node).mkdir()
    (devfreq / node / "cur_freq").write_text("624750000\n")
    path = clocks.gpu_devfreq_path(str(root))
    assert path == str(devfreq / node / "cur_freq")
    assert clocks.read_gpu_mhz(path) == pytest.approx(624.75)
    assert clocks.gpu_devfreq_path(str(tmp_path / "nothing")) is None
    assert clocks.read_gpu_mhz(str(tmp_path / "missing")) is None

    assert tegrastats.parse_line(ORIN_NANO_R36_NO_CLOCK)["gr3d"] == {"load_percent": 12.0,
                                                                     "mhz": None}
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = write_script(str(bin_dir / "tegrastats"),
                          'while true; do echo "%s"; sleep 0.02; done\n'
                          % ORIN_NANO_R36_NO_CLOCK)
    sampler = monitor.TegrastatsSampler(20, script, path)
    sampler.start()
    import time
    time.sleep(0.3)
    samples = sampler.stop()
    assert samples and all(s["gr3d"]["mhz"] == pytest.approx(624.75) for s in samples)
    assert all(s["gr3d"]["mhz_source"] == "sysfs" for s in samples)
    summary = monitor.power_summary(samples, 10, 1, 1.0, "VDD_IN")
    assert summary["gpu_mhz_min"] == pytest.approx(624.75)
    assert summary["gpu_clock_dropped"] is False
