import json
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from conftest import listdir_or_none

from edgec.models import get_model


def _ort_vs_torch(onnx_path, entry, model, batch, seed):
    feed = entry.dummy_inputs(batch, seed=seed)
    session = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    got = session.run(None, feed)[0]
    with torch.no_grad():
        expected = model(*[torch.from_numpy(feed[i.name]) for i in entry.inputs]).numpy()
    return float(np.abs(got - expected).max())


@pytest.mark.parametrize("name", ["lite-wav2lip", "wav2lip"])
def test_export_original_checkpoint_matches_pytorch(run_cli, tmp_path, trained_like_checkpoints,
                                                    name):
    out = tmp_path / "out"
    result = run_cli("export", "--model", name, "--checkpoint", trained_like_checkpoints[name],
                     "-o", out)
    assert result.exit_code == 0, result.output
    onnx_path = str(out / "model.onnx")
    model = onnx.load(onnx_path)
    onnx.checker.check_model(model)
    assert max(o.version for o in model.opset_import if o.domain == "") >= 17
    record = json.loads((out / "export.json").read_text())
    assert record["checkpoint"]["sha256"]
    assert {r["batch"] for r in record["parity"]["results"]} == {1, 8}
    assert all(r["max_abs_error"] <= 1e-4 for r in record["parity"]["results"])

    # Independently of edgec's own report: ORT vs the loaded PyTorch model, new inputs.
    entry = get_model(name)
    torch_model = entry.build(trained_like_checkpoints[name])
    for batch in (1, 8):
        assert _ort_vs_torch(onnx_path, entry, torch_model, batch, seed=99) <= 1e-4

    # Every quantizable layer is a named ONNX node; batch axis is dynamic.
    layer_names = {l["name"] for l in record["layers"]}
    node_names = {n.name for n in model.graph.node if n.op_type in ("Conv", "ConvTranspose")}
    assert layer_names == node_names
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"


@pytest.mark.parametrize("damage", ["truncated", "other-model", "not-a-checkpoint"])
def test_bad_checkpoints_fail_cleanly(run_cli, tmp_path, trained_like_checkpoints, damage):
    path = tmp_path / "bad.pth"
    if damage == "truncated":
        data = open(trained_like_checkpoints["lite-wav2lip"], "rb").read()
        path.write_bytes(data[: len(data) // 2])
    elif damage == "other-model":
        path.write_bytes(open(trained_like_checkpoints["wav2lip"], "rb").read())
    else:
        path.write_text("these are not the weights you are looking for\n")
    out = tmp_path / "out"
    result = run_cli("export", "--model", "lite-wav2lip", "--checkpoint", path, "-o", out)
    assert result.exit_code == 2
    assert str(path) in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1  # one paragraph
    assert listdir_or_none(str(out)) is None


def test_factory_model_export(run_cli, tmp_path):
    result = run_cli("export", "--model", "tests.tiny_models:tiny_convnet",
                     "--input", "image:1x3x32x32", "-o", tmp_path)
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "export.json").read_text())
    assert [l["name"] for l in record["layers"]] == ["features.0", "features.2", "head"]
    # The export is a stage: the same export again, and the calibration after it, reuse it.
    again = run_cli("export", "--model", "tests.tiny_models:tiny_convnet",
                    "--input", "image:1x3x32x32", "-o", tmp_path)
    assert again.exit_code == 0 and again.output.startswith("reused"), again.output
    rng = np.random.default_rng(0)
    np.savez(str(tmp_path / "x.npz"), image=rng.normal(size=(4, 3, 32, 32)).astype("float32"))
    result = run_cli("calibrate", "--model", "tests.tiny_models:tiny_convnet", "--input",
                     "image:1x3x32x32", "--data", tmp_path, "-n", "4", "-o", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    stages = {s["stage"]: s["reused"] for s in json.loads(result.output)["stages"]}
    assert stages["export"] is True and stages["calibrate"] is False


def test_factory_model_needs_inputs(run_cli, tmp_path):
    result = run_cli("export", "--model", "tests.tiny_models:tiny_convnet", "-o", tmp_path)
    assert result.exit_code == 2 and "--input" in result.output


def test_import_foreign_onnx(run_cli, tmp_path):
    first = tmp_path / "first"
    assert run_cli("export", "--model", "lite-wav2lip", "-o", first).exit_code == 0
    result = run_cli("export", "--onnx", first / "model.onnx", "-o", tmp_path / "second")
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "second" / "export.json").read_text())
    assert len(record["layers"]) == 23
    # Costs read from the ONNX graph agree with the ones the zoo computed from PyTorch.
    zoo = {l.name: l for l in get_model("lite-wav2lip").layers()}
    for layer in record["layers"]:
        assert layer["macs"] == zoo[layer["name"]].macs
        assert layer["macs_output_grid"] == zoo[layer["name"]].macs_output_grid


def test_not_an_onnx_file(run_cli, tmp_path):
    bad = tmp_path / "x.onnx"
    bad.write_bytes(os.urandom(64))
    result = run_cli("export", "--onnx", bad, "-o", tmp_path / "o")
    assert result.exit_code == 2 and str(bad) in result.output


def test_entries_declare_export_settings_and_variants():
    from edgec.exporter.gridsample import DecomposedGridSample5d
    from edgec.exporter.variants import build_export_model, export_opset
    from edgec.models import model_names, resolve_model
    from edgec.models.gridsample import GridSample5d

    for name in model_names():
        entry = get_model(name)
        assert (entry.opset, entry.parity_tolerance) == (17, 1e-4)
        assert export_opset(entry, entry.opset) == 17
    assert get_model("wav2lip").variant_key() == {}
    decomposed = resolve_model("liveportrait-warping")
    native = resolve_model("liveportrait-warping", grid_sample="native")
    assert decomposed.variant_key() == {"grid_sample": "decomposed"}
    assert json.loads(json.dumps(native.variant_key())) == {"grid_sample": "native"}
    assert export_opset(native, 17) == 20 and export_opset(decomposed, 17) == 17

    def samplers(model):
        return sorted(type(m).__name__ for m in model.modules()
                      if isinstance(m, (GridSample5d, DecomposedGridSample5d)))
    # The model code keeps the plain grid sample; the exporter swaps in the chosen form.
    assert samplers(decomposed.build()) == ["GridSample5d"] * 2
    assert samplers(build_export_model(decomposed)) == ["DecomposedGridSample5d"] * 2
    assert samplers(build_export_model(native)) == ["GridSample5d"] * 2
