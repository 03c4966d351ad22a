import json
import signal
import subprocess
import sys
import time

import numpy as np
import onnx
import pytest
import torch
from paths import REPO

from edgec.errors import EdgecError
from edgec.quant.quality.budget import Budget


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory, lrs2_tree):
    """An output folder with export, samples and ranges for lite-wav2lip (shared by tests)."""
    from click.testing import CliRunner

    from edgec.cli import main

    out = tmp_path_factory.mktemp("calibrated")
    result = CliRunner().invoke(main, ["calibrate", "--model", "lite-wav2lip", "--data",
                                       lrs2_tree, "-n", "50", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _sweep_args(data, out, budget, *extra):
    return ["sweep", "--model", "lite-wav2lip", "--data", data, "-n", 50, "--eval-samples", 10,
            "--batch-size", 4, "--budget", budget, "-o", out] + list(extra)


@pytest.mark.parametrize("model_name", ["lite-wav2lip",
                                        pytest.param("wav2lip", marks=pytest.mark.slow)])
def test_partial_recompute_is_exact(lrs2_tree, tmp_path, model_name):
    """Reusing base activations gives bit-identical outputs to a full run, residuals included."""
    from edgec.calib.datasets import build_store
    from edgec.calib.store import SampleStore
    from edgec.exporter.export import export_zoo_model
    from edgec.models import get_model
    from edgec.quant.calibration.calibrate import calibrate, load_ranges
    from edgec.quant.evaluator.fakequant import build_evaluator
    from edgec.quant.evaluator.partial import PartialRunner
    from edgec.quant.qdq.spec import QuantSpec
    from edgec.quant.quality.splits import SampleSplits

    entry = get_model(model_name)
    export_zoo_model(entry, str(tmp_path))
    build_store(lrs2_tree, str(tmp_path / "s"), [], "wav2lip", 12, 0, progress=False)
    calibrate(str(tmp_path / "model.onnx"), SampleSplits(SampleStore(str(tmp_path / "s")), 0.2),
              str(tmp_path), progress=False)
    spec = QuantSpec.from_onnx(onnx.load(str(tmp_path / "model.onnx")),
                               load_ranges(str(tmp_path / "ranges.json")))
    evaluator = build_evaluator(entry, spec)
    runner = PartialRunner(evaluator)
    batch = SampleStore(str(tmp_path / "s")).get(slice(0, 3))
    inputs = [torch.from_numpy(batch["mel"]), torch.from_numpy(batch["face"])]
    layers = spec.layer_names
    rng = np.random.default_rng(0)
    for base in ("fp16", "int8"):
        for switch in (evaluator.switches.values()):
            switch.precision = base
        env = runner.run_full(inputs)
        for _ in range(4):
            changed = list(rng.choice(layers, size=3, replace=False))
            for name in changed:
                evaluator.switches[name].precision = "int8" if base == "fp16" else "fp16"
            partial = runner.run_partial(env, changed)
            with torch.no_grad():
                full = evaluator(*inputs)
            assert torch.equal(partial, full), (base, changed)
            assert len(runner.dirty_nodes(changed)) < len(runner.nodes)
            for name in changed:
                evaluator.switches[name].precision = base


def test_budget_parsing():
    budget = Budget.parse("psnr>=fp16-0.5, ssim>=0.98")
    assert budget.holds({"psnr_db": 39.6, "ssim": 0.99}, {"psnr_db": 40.0, "ssim": 1.0})
    assert not budget.holds({"psnr_db": 39.4, "ssim": 0.99}, {"psnr_db": 40.0, "ssim": 1.0})
    assert not budget.holds({"psnr_db": 45, "ssim": 0.97}, {"psnr_db": 40.0, "ssim": 1.0})
    for bad in ("psnr>35", "fid<=4", "psnr>=abc", ""):
        with pytest.raises(EdgecError):
            Budget.parse(bad)


def test_sweep_meets_its_budget_and_the_plan_verifies(run_cli, lrs2_tree, calibrated):
    loose = run_cli(*_sweep_args(lrs2_tree, calibrated, "psnr>=0", "--json"))
    assert loose.exit_code == 0, loose.output
    report = json.loads(loose.output)
    assert report["selection"]["fp16_layers"] == []  # INT8 everywhere already meets it
    low, high = report["all_int8"]["psnr_db"], report["all_fp16"]["psnr_db"]
    assert low < high
    bound = low + 0.6 * (high - low)

    result = run_cli(*_sweep_args(lrs2_tree, calibrated, "psnr>=%.3f" % bound, "--json"))
    assert result.exit_code == 0, result.output
    selection = json.loads(result.output)["selection"]
    assert selection["fp16_layers"] and selection["metrics"]["psnr_db"] >= bound
    assert 0 < selection["int8_mac_share"] < 1

    record = json.loads((calibrated / "sensitivity.json").read_text())
    results = record["results"]
    assert [r["layer"] for r in results["per_layer"]][:2] == ["enc0.0", "enc1.0"]
    assert len(results["per_layer"]) == 23
    assert len(results["boundary"]["head_fp16"]) == len(results["boundary"]["tail_fp16"]) == 24
    # -n 50, holdout 0.2: 40 calibrate, 5 choose the plan, 5 test it.
    settings = record["settings"]
    assert settings["samples"] == settings["selection"]["samples"] == 5 and settings["budget"]
    assert settings["test"]["samples"] == 5 and settings["test"]["split"] == "test"
    test = results["test"]
    assert set(test) >= {"all_fp16", "all_int8", "plan", "meets_budget", "split"}
    assert test["plan"]["samples"] == 5 and test["plan"] != results["selection"]["metrics"]
    plan = json.loads((calibrated / "plan.json").read_text())["provenance"]
    assert plan["metrics"] == test["plan"] and plan["metrics_split"] == "test"
    assert plan["selection_metrics"] == results["selection"]["metrics"]
    # Every candidate plan was evaluated; the chosen one is the last that met the budget.
    assert all("metrics" in step for step in results["selection"]["steps"])
    assert (calibrated / "sensitivity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The deployed artifact: the plan written as Q/DQ ONNX and run in ONNX Runtime on the test
    # split lands where the sweep's test figure said.
    quant = run_cli("quantize", "--model", "lite-wav2lip", "--data", lrs2_tree, "-n", 50,
                    "--eval-samples", 10, "--precision", "mix", "--plan",
                    calibrated / "plan.json", "-o", calibrated, "--json")
    assert quant.exit_code == 0, quant.output
    quality = json.loads(quant.output)
    assert quality["evaluation"]["split"] == "test" and quality["evaluation"]["samples"] == 5
    ort_psnr = quality["quality"]["onnxruntime"]["psnr_db"]
    assert abs(ort_psnr - test["plan"]["psnr_db"]) < 1.0


def test_unreachable_budget_is_an_error(run_cli, lrs2_tree, calibrated):
    result = run_cli(*_sweep_args(lrs2_tree, calibrated, "psnr>=500"))
    assert result.exit_code == 2 and "cannot be met" in result.output


def test_interrupt_and_resume_equals_one_run(run_cli, lrs2_tree, calibrated, tmp_path,
                                              monkeypatch):
    import shutil

    budget = "psnr>=fp16-3"
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    for folder in (whole, broken):
        shutil.copytree(calibrated, folder)
        for name in ("sensitivity.json", "plan.json", "sensitivity.png", "sweep.state.json"):
            (folder / name).unlink(missing_ok=True)
    assert run_cli(*_sweep_args(lrs2_tree, whole, budget)).exit_code == 0

    monkeypatch.setenv("EDGEC_SWEEP_INTERRUPT_AFTER", "2")  # Ctrl-C after the 2nd checkpoint
    result = run_cli(*_sweep_args(lrs2_tree, broken, budget))
    assert result.exit_code == 2 and "--resume" in result.output
    assert (broken / "sweep.state.json").exists() and not (broken / "sensitivity.json").exists()
    monkeypatch.setenv("EDGEC_SWEEP_INTERRUPT_AFTER", "5")  # interrupted again, in phase 2
    assert run_cli(*_sweep_args(lrs2_tree, broken, budget, "--resume")).exit_code == 2
    monkeypatch.delenv("EDGEC_SWEEP_INTERRUPT_AFTER")
    result = run_cli(*_sweep_args(lrs2_tree, broken, budget, "--resume"))
    assert result.exit_code == 0, result.output
    assert (whole / "sensitivity.json").read_bytes() == (broken / "sensitivity.json").read_bytes()
    assert (whole / "plan.json").read_bytes() == (broken / "plan.json").read_bytes()
    assert not (broken / "sweep.state.json").exists()


def test_descriptive_subset_keeps_the_plan_and_resumes(run_cli, lrs2_tree, calibrated,
                                                       tmp_path, monkeypatch):
    """--describe-samples measures the configurations no plan reads on fewer samples: the
    plan, its steps and every plan-deciding figure stay the same; the descriptive ones are
    set against all-FP16 on their own samples; an interrupted run resumes to the same file."""
    import shutil

    budget = "psnr>=fp16-3"
    folders = {}
    for name in ("all", "subset", "resumed"):
        folders[name] = tmp_path / name
        shutil.copytree(calibrated, folders[name])
        for artifact in ("sensitivity.json", "plan.json", "sensitivity.png", "sweep.state.json"):
            (folders[name] / artifact).unlink(missing_ok=True)
    # 5 selection samples in batches of 4 and 1: the descriptive ones are the first batch.
    assert run_cli(*_sweep_args(lrs2_tree, folders["all"], budget,
                                "--describe-samples", 0)).exit_code == 0
    assert run_cli(*_sweep_args(lrs2_tree, folders["subset"], budget,
                                "--describe-samples", 3)).exit_code == 0
    monkeypatch.setenv("EDGEC_SWEEP_INTERRUPT_AFTER", "2")  # after the descriptive batch
    assert run_cli(*_sweep_args(lrs2_tree, folders["resumed"], budget,
                                "--describe-samples", 3)).exit_code == 2
    monkeypatch.delenv("EDGEC_SWEEP_INTERRUPT_AFTER")
    assert run_cli(*_sweep_args(lrs2_tree, folders["resumed"], budget, "--describe-samples", 3,
                                "--resume")).exit_code == 0
    assert (folders["subset"] / "sensitivity.json").read_bytes() == \
        (folders["resumed"] / "sensitivity.json").read_bytes()

    def results(name):
        return json.loads((folders[name] / "sensitivity.json").read_text())["results"]

    whole, subset = results("all"), results("subset")
    assert whole["samples"]["descriptive"] == whole["samples"]["plan_deciding"] == 5
    assert subset["samples"]["descriptive"] == 4 and subset["samples"]["plan_deciding"] == 5
    assert subset["selection"] == whole["selection"]
    assert subset["all_fp16"] == whole["all_fp16"] and subset["all_int8"] == whole["all_int8"]
    for mine, theirs in zip(subset["per_layer"], whole["per_layer"]):
        assert mine["fp16_alone"] == theirs["fp16_alone"]
        assert mine["gain_when_fp16"] == theirs["gain_when_fp16"]
        assert mine["int8_alone"]["samples"] == 4 and theirs["int8_alone"]["samples"] == 5
    # Each boundary line is on one sample set, its all-FP16 end included.
    ends = [subset["boundary"]["head_fp16"][k]["metrics"] for k in (0, -1)]
    assert all(e["samples"] == 4 for e in ends) and ends[1] != whole["all_fp16"]
    drop = subset["per_layer"][0]
    assert abs(drop["drop_when_int8"] - (ends[1]["psnr_db"] - drop["int8_alone"]["psnr_db"])) \
        < 1e-5


def test_killed_sweep_resumes(lrs2_tree, calibrated, tmp_path):
    """SIGKILL mid-sweep (no chance to clean up), then --resume: same result as one run."""
    import shutil

    budget = "psnr>=fp16-3"
    killed = tmp_path / "killed"
    shutil.copytree(calibrated, killed)
    for name in ("sensitivity.json", "plan.json", "sensitivity.png", "sweep.state.json"):
        (killed / name).unlink(missing_ok=True)
    reference = tmp_path / "reference"
    shutil.copytree(killed, reference)
    args = [sys.executable, "-m", "edgec.cli"] + [str(a) for a in _sweep_args(
        lrs2_tree, reference, budget)]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    args = [sys.executable, "-m", "edgec.cli"] + [str(a) for a in _sweep_args(
        lrs2_tree, killed, budget)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = killed / "sweep.state.json"
    deadline = time.time() + 120
    while not state.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    if not state.exists():
        pytest.skip("the sweep finished before it could be killed")
    subprocess.run(args + ["--resume"], check=True, stdout=subprocess.DEVNULL)
    assert (reference / "sensitivity.json").read_bytes() == \
        (killed / "sensitivity.json").read_bytes()


def test_layer_macs_come_from_export_json_when_present(tmp_path):
    """The sweep weighs layers by MACs; ONNX shape inference cannot size every layer (after a
    decomposed grid sample), so the PyTorch counts in export.json win when they exist."""
    import json as _json

    from edgec.quant.quantize import layer_macs

    assert layer_macs(str(tmp_path)) == {}
    (tmp_path / "export.json").write_text(_json.dumps(
        {"layers": [{"name": "a", "macs": 7}, {"name": "b", "macs": 5}]}))
    assert layer_macs(str(tmp_path), onnx_model=object()) == {"a": 7, "b": 5}


_ALLOCATION_PATTERN = """
import resource, sys, torch
if sys.argv[1] == "keep":
    from edgec.quant.evaluator.host_memory import keep_freed_memory
    assert keep_freed_memory()
def step():  # a sweep step's shape: large activations alive together, then all freed
    live = [torch.empty(10 << 20).fill_(1.0) for _ in range(3)]  # 3 x 40 MiB
    del live
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_cpu_sweep_keeps_freed_memory_mapped():
    """With keep_freed_memory, repeating a step that frees and reallocates large tensors
    faults far fewer fresh pages in than glibc's defaults (which unmap such blocks on free)."""
    from edgec.quant.evaluator.host_memory import keep_freed_memory

    if not keep_freed_memory():
        pytest.skip("the C library is not glibc")

    def page_faults(mode):
        out = subprocess.run([sys.executable, "-c", _ALLOCATION_PATTERN, mode], check=True,
                             stdout=subprocess.PIPE, universal_newlines=True,
                             cwd=REPO).stdout
        return int(out.split()[-1])

    plain, kept = page_faults("plain"), page_faults("keep")
    assert plain > 100000  # 5 steps x 3 x 10240 pages, faulted in anew each time
    assert kept < plain / 2
