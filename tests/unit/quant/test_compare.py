"""compare.png: held-out outputs per precision, labelled with their PSNR vs FP32."""
import json
import shutil
import struct

import numpy as np
import pytest

from edgec import artifacts
from edgec.quant.quality.compare import DPI, ComparisonPlan, figure_size, write_comparison
from edgec.quant.quality.splits import SampleSplits

HOLDOUT = 0.4  # 20 samples: 12 calibrate, 4 select, 4 test (the figure's four rows)


def _png_size(path):
    """(width, height) from the IHDR chunk, after checking the PNG signature."""
    with open(str(path), "rb") as handle:
        head = handle.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", path
    return struct.unpack(">II", head[16:24])


def _assert_size(path, rows, precisions):
    """The PNG has the pixels of a figure of `rows` samples: an input column and one per
    precision, then one heat map per precision other than FP32 (matplotlib rounds down or to
    nearest: a pixel either way)."""
    width, height = figure_size(rows, 1 + len(precisions), len(precisions) - 1)
    size = _png_size(path)
    assert abs(size[0] - width * DPI) <= 1 and abs(size[1] - height * DPI) <= 1, (
        size, width * DPI, height * DPI)
    return size


def _quantize(run_cli, *args):
    result = run_cli("quantize", "--json", "-n", 20, "--eval-samples", 4, "--holdout", HOLDOUT,
                     *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{"):])


@pytest.fixture(scope="module")
def image_model(tmp_path_factory):
    """A tiny image-to-image factory model quantized to FP16, then INT8, in one folder: the
    record and picture size after each step."""
    from click.testing import CliRunner

    from edgec.cli import main

    def run_cli(*args):
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)

    root = tmp_path_factory.mktemp("compare")
    (root / "data").mkdir()
    rng = np.random.default_rng(0)
    np.savez(root / "data" / "images.npz", image=rng.random((20, 3, 32, 32), dtype=np.float32))
    out = root / "out"
    common = ["--model", "tests.tiny_models:tiny_convnet", "--input", "image:1x3x32x32",
              "--data", root / "data", "-o", out]
    steps = []
    for precision, precisions in (("fp16", ["fp32", "fp16"]), ("int8", ["fp32", "fp16", "int8"])):
        record = _quantize(run_cli, "--precision", precision, *common)
        steps.append((record, precisions, _assert_size(out / artifacts.COMPARE_PNG, 4, precisions)))
    return {"out": out, "steps": steps, "common": common, "run_cli": run_cli}


def test_quantize_draws_a_row_per_sample_and_a_column_per_precision(image_model):
    (first, _, first_size), (second, _, second_size) = image_model["steps"]
    for record, precisions, _ in image_model["steps"]:
        compare = record["compare"]
        assert compare["skipped"] is None
        assert compare["path"] == str(image_model["out"] / artifacts.COMPARE_PNG)
        assert compare["precisions"] == precisions
        assert compare["missing"] == [p for p in artifacts.PRECISIONS if p not in precisions]
    # INT8 added two columns (its output and its heat map) and no row.
    assert second_size[0] > first_size[0] and second_size[1] == first_size[1]
    stages = {s["stage"]: s for s in second["stages"]}
    assert not stages["compare"]["reused"]  # a new model file: drawn again


def test_psnr_labels_match_onnx_runtime_outputs(image_model, tmp_path):
    """The numbers on the picture, recomputed from each ONNX file run in ONNX Runtime directly,
    on held-out samples (none of which calibrated anything)."""
    import onnxruntime

    from edgec.calib.store import SampleStore
    from edgec.quant.quality.splits import split_all

    out = tmp_path / "copy"
    shutil.copytree(str(image_model["out"]), str(out))
    plan = ComparisonPlan(str(out), artifacts.PRECISIONS)
    splits = SampleSplits(SampleStore(str(out / artifacts.SAMPLES_DIR)), HOLDOUT)
    record = write_comparison(plan, splits, "tiny", rows=3)
    _assert_size(out / artifacts.COMPARE_PNG, 3, ["fp32", "fp16", "int8"])
    store = SampleStore(str(out / artifacts.SAMPLES_DIR))
    splits = split_all(store.count, HOLDOUT)
    assert len(record["samples"]) == 3 and set(record["samples"]) <= set(splits["test"].tolist())
    assert not set(record["samples"]) & set(splits["calibration"].tolist() +
                                            splits["selection"].tolist())

    images = store.get(record["samples"])["image"].astype(np.float32)
    outputs = {}
    for precision in ("fp32", "fp16", "int8"):
        session = onnxruntime.InferenceSession(str(out / artifacts.model_onnx(precision)),
                                               providers=["CPUExecutionProvider"])
        outputs[precision] = session.run(None, {"image": images})[0].astype(np.float64)
    reference = outputs["fp32"]
    peak = reference.max() - reference.min()
    assert record["peak"] == pytest.approx(peak, rel=1e-6)
    for precision in ("fp16", "int8"):
        error = outputs[precision] - reference
        mse = (error ** 2).reshape(3, -1).mean(axis=1)
        assert record["psnr_db"][precision] == pytest.approx(
            list(10 * np.log10(peak ** 2 / mse)), abs=1e-3), precision
        assert record["max_abs_error"][precision] == pytest.approx(
            list(np.abs(error).reshape(3, -1).max(axis=1)), rel=1e-4)
    # INT8 loses more than FP16 on every sample.
    assert all(i < f for i, f in zip(record["psnr_db"]["int8"], record["psnr_db"]["fp16"]))


def test_second_run_reuses_the_picture(image_model, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(str(image_model["out"]), str(out))
    picture = (out / artifacts.COMPARE_PNG).read_bytes()
    common = [str(out) if str(a) == str(image_model["out"]) else a
              for a in image_model["common"]]
    record = _quantize(image_model["run_cli"], "--precision", "int8", *common)
    stages = {s["stage"]: s for s in record["stages"]}
    assert stages["compare"]["reused"] and stages["quantize-int8"]["reused"]
    assert (out / artifacts.COMPARE_PNG).read_bytes() == picture
    # A damaged picture is drawn again, not trusted.
    (out / artifacts.COMPARE_PNG).write_bytes(b"not a png")
    record = _quantize(image_model["run_cli"], "--precision", "int8", *common)
    assert not {s["stage"]: s for s in record["stages"]}["compare"]["reused"]
    _png_size(out / artifacts.COMPARE_PNG)


def test_a_model_file_from_another_calibration_is_left_out(image_model, tmp_path):
    """model.fp16.onnx replaced by other bytes no longer matches its quality report: the
    picture shows FP32 and INT8 only, and says FP16 is missing."""
    from edgec.pipeline.cache import StageRunner
    from edgec.pipeline.stages import CalibratedModel, stage_compare

    out = tmp_path / "copy"
    shutil.copytree(str(image_model["out"]), str(out))
    shutil.copyfile(str(out / "model.int8.onnx"), str(out / "model.fp16.onnx"))
    model = CalibratedModel(str(out / artifacts.MODEL_ONNX), str(out / artifacts.SAMPLES_DIR),
                            {}, str(out / artifacts.RANGES_JSON), HOLDOUT)
    record = stage_compare(StageRunner(str(out)), model, "tiny")
    assert record["precisions"] == ["fp32", "int8"] and "fp16" in record["missing"]
    _assert_size(out / artifacts.COMPARE_PNG, 4, ["fp32", "int8"])


def test_non_image_model_is_skipped_with_its_reason(run_cli, tmp_path):
    """tiny_onnx outputs 4 channels: no picture, and the record and the stage log say why."""
    from onnx_fixtures import tiny_onnx

    (tmp_path / "data").mkdir()
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "data" / "images.npz",
             image=rng.random((20, 3, 16, 16), dtype=np.float32))
    model = tiny_onnx(str(tmp_path / "tiny.onnx"))
    out = tmp_path / "out"
    record = _quantize(run_cli, "--precision", "int8", "--onnx", model, "--data",
                       tmp_path / "data", "-o", out)
    assert record["compare"]["path"] is None
    assert record["compare"]["skipped"].startswith(
        "compare.png skipped: output is not an image")
    assert "(batch, 4, 16, 16)" in record["compare"]["skipped"]
    stage = [s for s in record["stages"] if s["stage"] == "compare"]
    assert len(stage) == 1 and stage[0]["skipped"].startswith("output is not an image")
    assert not (out / artifacts.COMPARE_PNG).exists()
    assert (out / "model.int8.onnx").is_file()
    result = run_cli("quantize", "--precision", "int8", "--onnx", model, "--data",
                     tmp_path / "data", "-n", 20, "--eval-samples", 4, "-o", out)
    assert "compare.png skipped: output is not an image" in result.output


def test_fp32_build_says_why_it_has_no_picture(run_cli, tmp_path):
    out = tmp_path / "out"
    result = run_cli("build", "--model", "tests.tiny_models:tiny_convnet", "--input",
                     "image:1x3x32x32", "--precision", "fp32", "-o", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["compare"]["path"] is None
    assert summary["compare"]["skipped"].startswith("compare.png skipped: an FP32 build")
    assert summary["compare"]["skipped"] in summary["notes"]
    assert [s["stage"] for s in summary["stages"]] == ["export", "compare", "reference", "pack"]
    assert not (out / artifacts.COMPARE_PNG).exists()
