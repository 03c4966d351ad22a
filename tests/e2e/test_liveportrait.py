"""LivePortrait's modules: the decomposed 5-D grid sample, export with parity for all five
modules, the released weight layouts, and portrait calibration samples."""
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from edgec.errors import EdgecError
from edgec.exporter.gridsample import DecomposedGridSample5d, grid_sample_3d_decomposed
from edgec.models import liveportrait as lp
from edgec.models.gridsample import GridSample5d

LIVEPORTRAIT = ["liveportrait-appearance", "liveportrait-motion", "liveportrait-warping",
                "liveportrait-spade", "liveportrait-stitching"]


@pytest.mark.parametrize("align_corners", [False, True])
def test_decomposed_grid_sample_matches_pytorch(align_corners):
    gen = torch.Generator().manual_seed(3)
    volume = torch.randn(3, 4, 5, 9, 7, generator=gen)
    # Coordinates well outside [-1, 1] on every axis exercise zeros padding.
    grid = torch.rand(3, 6, 8, 10, 3, generator=gen) * 3.2 - 1.6
    grid[0, 0, 0, 0] = torch.tensor([-1.0, 1.0, -1.0])  # exact corners
    expected = F.grid_sample(volume, grid, mode="bilinear", padding_mode="zeros",
                             align_corners=align_corners)
    got = grid_sample_3d_decomposed(volume, grid, align_corners)
    assert float((expected - got).abs().max()) <= 1e-5
    outside = (grid.abs() > 1.6).all(-1)  # none here; but far-out points must give zeros:
    far = grid.clone()
    far[..., 0] = 5.0
    assert float(grid_sample_3d_decomposed(volume, far, align_corners).abs().max()) == 0.0
    assert not outside.any()


SAMPLERS = {"native": GridSample5d, "decomposed": DecomposedGridSample5d}


@pytest.mark.parametrize("form, opset", [("native", 20), ("decomposed", 17)])
def test_both_grid_sample_forms_export_and_run_in_onnxruntime(tmp_path, form, opset):
    import io

    import onnx

    from edgec.exporter.gridsample import int32_gather_indices
    from edgec.runtime.ort_backend import OnnxRuntimeRunner

    gen = torch.Generator().manual_seed(0)
    volume = torch.randn(2, 3, 4, 6, 5, generator=gen)
    grid = torch.rand(2, 3, 4, 5, 3, generator=gen) * 2.4 - 1.2
    buffer = io.BytesIO()
    torch.onnx.export(SAMPLERS[form](align_corners=False), (volume, grid), buffer, dynamo=False,
                      opset_version=opset,
                      input_names=["volume", "grid"], output_names=["out"],
                      dynamic_axes={"volume": {0: "b"}, "grid": {0: "b"}, "out": {0: "b"}})
    model = onnx.load_from_string(buffer.getvalue())
    ops = {node.op_type for node in model.graph.node}
    if form == "native":
        assert "GridSample" in ops
    else:
        assert "GridSample" not in ops and "GatherElements" in ops
        assert int32_gather_indices(model) > 0
        casts = [a.i for n in model.graph.node if n.op_type == "Cast" for a in n.attribute]
        assert onnx.TensorProto.INT64 not in casts  # TensorRT 8.x has no int64 tensors
        onnx.checker.check_model(model, full_check=True)
    with OnnxRuntimeRunner(model.SerializeToString()) as runner:
        got = runner.infer({"volume": volume.numpy(), "grid": grid.numpy()})["out"]
    expected = F.grid_sample(volume, grid, align_corners=False).numpy()
    assert np.abs(got - expected).max() <= 1e-5


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """`edgec export` of every module (warping in both grid-sample forms)."""
    from click.testing import CliRunner

    from edgec.cli import main

    folder = tmp_path_factory.mktemp("lp-export")
    records = {}
    for name, extra in [(n, []) for n in LIVEPORTRAIT] + [
            ("liveportrait-warping", ["--grid-sample", "native"])]:
        out = folder / (name + "-".join([""] + extra[1:]))
        result = CliRunner().invoke(main, ["export", "--model", name, "-o", str(out), "--json"]
                                    + extra)
        records[(name, tuple(extra))] = (result, out)
    return records


def test_every_module_exports_with_parity_at_batch_1_and_2(exported):
    for (name, extra), (result, out) in exported.items():
        assert result.exit_code == 0, (name, result.output[-2000:])
        record = json.loads(result.output)
        rows = record["parity"]["results"]
        assert {row["batch"] for row in rows} == {1, 2}
        assert max(row["max_abs_error"] for row in rows) <= 1e-4, (name, rows)
        assert record["parity"]["tolerance"] == 1e-4
    native = json.loads(exported[("liveportrait-warping", ("--grid-sample", "native"))][0].output)
    decomposed = json.loads(exported[("liveportrait-warping", ())][0].output)
    assert native["opset"] == 20 and native["grid_sample"] == "native"
    assert decomposed["opset"] == 17 and decomposed["grid_sample"] == "decomposed"


def test_models_lists_the_modules(run_cli):
    rows = {r["name"]: r for r in json.loads(run_cli("models", "--json").output)}
    for name in LIVEPORTRAIT:
        assert rows[name]["params"] > 0
    assert rows["liveportrait-motion"]["macs_linear"] > rows["liveportrait-motion"]["macs"] / 2
    assert rows["liveportrait-warping"]["quantizable_layers"] == 16
    assert rows["liveportrait-stitching"]["quantizable_layers"] == 0


def test_spectral_norm_weights_fold_to_the_same_function():
    """Released SPADE weights carry spectral norm's weight_orig/u/v; folded into plain weights
    they must compute what the spectral-normed layers compute (small decoder: same code)."""
    torch.manual_seed(0)
    reference = lp.SPADEDecoder(upscale=1, max_features=32, block_expansion=8,
                                out_channels=8).eval()
    for block in [m for m in reference.modules() if isinstance(m, lp.SPADEResnetBlock)]:
        for attr in ("conv_0", "conv_1", "conv_s"):
            if hasattr(block, attr):
                setattr(block, attr, torch.nn.utils.spectral_norm(getattr(block, attr)))
    reference.train()
    reference(torch.rand(1, 32, 8, 8))  # one power iteration, as training leaves u and v
    reference.eval()
    released = reference.state_dict()
    assert any(k.endswith("weight_orig") for k in released)
    plain = lp.SPADEDecoder(upscale=1, max_features=32, block_expansion=8, out_channels=8)
    plain.load_state_dict(lp.fold_spectral_norm(released), strict=True)
    x = torch.rand(2, 32, 8, 8)
    with torch.no_grad():
        assert float((reference(x) - plain.eval()(x)).abs().max()) < 1e-5


def test_released_stitching_layout_loads_and_a_wrong_one_is_named(run_cli, tmp_path):
    torch.manual_seed(1)
    module = lp.StitchingRetargeting()
    groups = {group: {"module." + k[len(prefix) + 1:]: v for k, v in module.state_dict().items()
                      if k.startswith(prefix + ".")}
              for group, prefix in lp.STITCHING_GROUPS}
    path = tmp_path / "stitching_retargeting_module.pth"
    torch.save(groups, str(path))
    result = run_cli("export", "--model", "liveportrait-stitching", "--checkpoint", path,
                     "-o", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["weights"] == "checkpoint"
    flat = tmp_path / "flat.pth"
    torch.save(module.state_dict(), str(flat))
    wrong = run_cli("export", "--model", "liveportrait-stitching", "--checkpoint", flat,
                    "-o", tmp_path / "out2")
    assert wrong.exit_code == 2 and "flat.pth does not have the layout" in wrong.output
    with pytest.raises(EdgecError, match="no 5-D grid sample"):
        from edgec.models import resolve_model
        resolve_model("liveportrait-spade", grid_sample="native")


def test_portrait_samples_from_videos_and_images(tmp_path, lrs2_tree):
    import cv2
    from skimage import data

    from edgec.calib.portrait import build_portrait_store
    from edgec.calib.store import SampleStore

    path, summary = build_portrait_store(lrs2_tree, str(tmp_path / "v"), 6, seed=0,
                                         progress=False)
    store = SampleStore(path)
    assert store.count == summary["written"] == 6
    images = store.get(slice(None))["image"]
    assert images.shape == (6, 3, 256, 256) and 0 <= images.min() and images.max() <= 1
    folder = tmp_path / "photos"
    folder.mkdir()
    cv2.imwrite(str(folder / "astronaut.png"), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    (folder / "notes.txt").write_text("not an image")
    path, summary = build_portrait_store(str(folder), str(tmp_path / "i"), 4, seed=0,
                                         progress=False)
    assert SampleStore(path).count == 1 and summary["sources_found"] == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EdgecError, match="no videos or images"):
        build_portrait_store(str(empty), str(tmp_path / "e"), 4, seed=0, progress=False)
