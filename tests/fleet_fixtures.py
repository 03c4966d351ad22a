"""Hand-written result files for devices we do not have: the compression paper's published
Jetson latencies (../shared/REFERENCE.md, Table 4), put into edgec's result format. They are
fixtures for `edgec report`, labelled as such in every file, never measurements."""
import copy
import json
import os

PAPER_TABLE_4 = {  # (precision, model) -> {device: median ms}
    ("fp32", "wav2lip"): {"Jetson AGX Xavier": 9.27},
    ("fp32", "lite-wav2lip"): {"Jetson AGX Xavier": 1.12, "Jetson Nano": 5.39},
    ("fp16", "wav2lip"): {"Jetson AGX Xavier": 3.64, "Jetson Nano": 44.26},
    ("fp16", "lite-wav2lip"): {"Jetson AGX Xavier": 0.75, "Jetson Nano": 4.47},
    ("mix", "wav2lip"): {"Jetson AGX Xavier": 3.19},
    ("mix", "lite-wav2lip"): {"Jetson AGX Xavier": 0.64},
    ("int8", "wav2lip"): {"Jetson AGX Xavier": 2.38},
    ("int8", "lite-wav2lip"): {"Jetson AGX Xavier": 0.63},
}


def write_paper_fixtures(template, folder):
    """One result per (device, model, precision) of the paper's table, built from a real
    result dict (`template`) so every field edgec writes is present."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for (precision, model), devices in sorted(PAPER_TABLE_4.items()):
        for device, median in sorted(devices.items()):
            result = copy.deepcopy(template)
            result["device"] = {"kind": "gpu", "name": device,
                                "fixture": "paper Table 4, not measured by edgec"}
            result["backend"] = {"backend": "tensorrt", "version": "paper"}
            result["model"] = dict(result["model"], name=model, precision=precision)
            result["latency_ms"] = {"median": median, "p90": median, "p99": median,
                                    "mean": median, "min": median, "max": median, "n": 1}
            result["check"] = None
            name = "%s-%s-%s.json" % (device.replace(" ", "_"), model, precision)
            path = os.path.join(folder, name)
            with open(path, "w") as handle:
                json.dump(result, handle)
            paths.append(path)
    return paths


def bench_tiny_model(folder):
    """A real `edgec bench` result of a tiny ONNX (ONNX Runtime, this host), named lite-wav2lip
    like the paper's student: the template of report fixtures. Returns its path."""
    from click.testing import CliRunner
    from onnx_fixtures import tiny_onnx

    from edgec.cli import main

    model = tiny_onnx(os.path.join(str(folder), "model.onnx"))
    measured = os.path.join(str(folder), "measured.json")
    result = CliRunner().invoke(main, ["bench", model, "--iterations", 5, "--warmup", 0,
                                       "--model-name", "lite-wav2lip", "-o", measured])
    assert result.exit_code == 0, result.output
    return measured
