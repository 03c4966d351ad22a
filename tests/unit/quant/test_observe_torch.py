"""PyTorch activation observers (the GPU calibration path, run here on the CPU) against the
ONNX Runtime observers, and the sweep's changes for LivePortrait-scale models: shape reads that
do not make a branch dirty, a layout-keeping instance norm, batches bounded by memory."""
import numpy as np
import onnx
import pytest
import torch
from torch.nn import functional as F

from edgec.errors import EdgecError
from edgec.settings import CalibrationSettings

FACTORY = "tests.tiny_models:tiny_spade"
INPUTS = ["feature:1x4x16x16"]


@pytest.fixture(scope="module")
def tiny_spade(tmp_path_factory):
    """The exported tiny SPADE-like model and a store of random inputs for it."""
    from edgec.calib.store import SampleStoreWriter, StoreInput
    from edgec.exporter.export import export_zoo_model
    from edgec.models import resolve_model

    out = tmp_path_factory.mktemp("tiny-spade")
    entry = resolve_model(FACTORY, INPUTS)
    export_zoo_model(entry, str(out))
    rng = np.random.default_rng(0)
    writer = SampleStoreWriter(str(out / "samples"), [StoreInput("feature", (4, 16, 16),
                                                                  "float32")], 40)
    for _ in range(40):
        writer.append({"feature": rng.normal(0, 1, (4, 16, 16)).astype(np.float32)})
    writer.close({"source": "random (test)", "seed": 0})
    return entry, out


def _splits(folder, holdout=0.2):
    from edgec.calib.store import SampleStore
    from edgec.quant.quality.splits import SampleSplits

    return SampleSplits(SampleStore(str(folder / "samples")), holdout)


def _collect(entry, out, torch_path):
    from edgec.calib.store import SampleStore
    from edgec.quant.calibration.ort_observer import ActivationObserver
    from edgec.quant.calibration.torch_observer import TorchActivationObserver

    model = onnx.load(str(out / "model.onnx"))
    store = SampleStore(str(out / "samples"))
    indices = np.arange(store.count)
    if torch_path:
        observer = TorchActivationObserver(model, entry, None, store, indices, "cpu")
    else:
        observer = ActivationObserver(model)
    return observer, observer.collect(store, indices, 8, progress=False)


def test_pytorch_statistics_equal_onnxruntime_within_the_stated_tolerance(tiny_spade):
    """The tolerance benchmarks/calibration_devices.py states: absmax within 1e-4 of itself;
    max, percentile and mse thresholds within one of the 2048 histogram bins; entropy's
    threshold within 1% of the least KL divergence on the other path's histogram."""
    from edgec.quant.calibration.ort_observer import HIST_BINS
    from edgec.quant.calibration.thresholds import entropy_excess, thresholds

    entry, out = tiny_spade
    observer, ours = _collect(entry, out, True)
    _, theirs = _collect(entry, out, False)
    assert sorted(ours) == sorted(theirs)
    described = observer.description()
    # GELU's erf steps and the Linear's product before its bias have no PyTorch value: they
    # are computed from their paired neighbours by ONNX Runtime.
    assert described["onnx_runtime_remainder"]["tensors"] > 0
    assert described["paired_with_pytorch"] + described["onnx_runtime_remainder"]["tensors"] \
        + 1 == described["tensors"]  # plus the graph input
    for name, a in theirs.items():
        b = ours[name]
        assert abs(a["absmax"] - b["absmax"]) <= 1e-4 * max(a["absmax"], 1e-12), name
        assert sum(a["histogram"]) == sum(b["histogram"]), name
        ta, tb = thresholds(a), thresholds(b)
        bin_width = a["absmax"] / HIST_BINS
        for method in ("max", "percentile", "mse"):
            assert abs(ta[method] - tb[method]) <= bin_width * 1.001, (name, method)
        assert entropy_excess(a, tb["entropy"]) <= 0.01, name


def test_a_wrongly_paired_tensor_would_be_caught(tiny_spade):
    """Pairing is by value: a tensor scaled by 1.01 pairs with nothing."""
    from edgec.quant.calibration.torch_observer import fingerprint, pair_tensors

    value = np.random.default_rng(1).normal(size=(1, 8, 8, 8)).astype(np.float32)
    prints = {"t": fingerprint(value)}
    assert pair_tensors(prints, {"node": fingerprint(torch.from_numpy(value))}) == {"t": "node"}
    assert pair_tensors(prints, {"node": fingerprint(torch.from_numpy(value * 1.01))}) == {}
    assert pair_tensors(prints, {"node": fingerprint(torch.from_numpy(value[:, :4]))}) == {}


def test_calibration_device_errors_name_the_problem(tiny_spade, tmp_path):
    from edgec.quant.calibration.calibrate import calibrate

    entry, out = tiny_spade
    with pytest.raises(EdgecError, match="give --model"):
        calibrate(str(out / "model.onnx"), _splits(out), str(tmp_path),
                  settings=CalibrationSettings(calibration_device="cuda"), progress=False)
    if not torch.cuda.is_available():
        with pytest.raises(EdgecError, match="no CUDA device"):
            calibrate(str(out / "model.onnx"), _splits(out), str(tmp_path),
                      settings=CalibrationSettings(calibration_device="cuda"), entry=entry,
                      progress=False)
    record = calibrate(str(out / "model.onnx"), _splits(out), str(tmp_path),
                       settings=CalibrationSettings(calibration_device="auto"), entry=entry,
                       progress=False)
    expected = "pytorch" if torch.cuda.is_available() else "onnxruntime"
    assert record["observer"]["backend"] == expected


def _engine(entry, out, tmp_path, memory_budget=None, batch_size=8):
    from edgec.calib.store import SampleStore
    from edgec.quant.calibration.calibrate import calibrate, load_ranges
    from edgec.quant.evaluator.fakequant import build_evaluator
    from edgec.quant.qdq.spec import QuantSpec
    from edgec.quant.quantize import layer_macs
    from edgec.quant.search.sweep import SweepEngine

    calibrate(str(out / "model.onnx"), _splits(out), str(tmp_path), progress=False)
    model = onnx.load(str(out / "model.onnx"))
    spec = QuantSpec.from_onnx(model, load_ranges(str(tmp_path / "ranges.json")))
    store = SampleStore(str(out / "samples"))
    batches = ([b["feature"]] for b in store.batches(np.arange(16), batch_size))
    return SweepEngine(build_evaluator(entry, spec), spec.layer_names,
                       layer_macs(str(out), model), batches, "cpu",
                       memory_budget=memory_budget), spec


def test_shape_reads_leave_the_conditioning_branch_clean_and_partial_runs_exact(
        tiny_spade, tmp_path):
    """Changing conv_in's precision changes x but not x.shape: the resized condition and the
    convs reading it are reused, and the partial run still equals a full run bit for bit."""
    entry, out = tiny_spade
    engine, spec = _engine(entry, out, tmp_path)
    runner = engine.runner
    evaluator = engine.evaluator
    conv_in = [l for l in spec.layer_names if "conv_in" in l][0]
    condition_convs = [l for l in spec.layer_names if "mlp" in l]
    assert len(condition_convs) == 3
    dirty = set(runner.dirty_nodes([conv_in]))
    assert not any(runner.layer_node[l] in dirty for l in condition_convs)
    assert runner.recompute_fraction([conv_in], engine.macs) < 1.0
    batch = engine.batches[0]
    for base in ("fp16", "int8"):
        engine._set({l: base for l in spec.layer_names})
        env = runner.run_full(batch)
        for layer in spec.layer_names:
            evaluator.switches[layer].precision = "int8" if base == "fp16" else "fp16"
            partial = runner.run_partial(env, [layer])
            with torch.no_grad():
                full = evaluator(*batch)
            assert torch.equal(partial, full), (base, layer)
            evaluator.switches[layer].precision = base


def test_layout_keeping_instance_norm_matches_pytorchs():
    from edgec.quant.evaluator.fakequant import _instance_norm

    x = torch.randn(3, 16, 9, 7).contiguous(memory_format=torch.channels_last) * 3 + 1
    ours = _instance_norm(x, 1e-5)
    assert ours.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(ours, F.instance_norm(x.contiguous(), eps=1e-5), atol=1e-5)


def test_the_evaluator_uses_it_for_parameter_free_instance_norms(tiny_spade, tmp_path):
    from edgec.quant.evaluator.fakequant import LayoutInstanceNorm

    entry, out = tiny_spade
    engine, _ = _engine(entry, out, tmp_path)
    kinds = [type(m) for m in engine.evaluator.modules()]
    assert LayoutInstanceNorm in kinds and torch.nn.InstanceNorm2d not in kinds


def test_batches_are_split_to_fit_the_memory_budget(tiny_spade, tmp_path):
    """Two bases' caches of a batch must fit the budget; the metrics do not change."""
    entry, out = tiny_spade
    whole, spec = _engine(entry, out, tmp_path / "a")
    per_sample = whole.cache_bytes_per_sample
    assert per_sample > 0 and whole.max_batch is None and len(whole.batches) == 2
    bounded, _ = _engine(entry, out, tmp_path / "b", memory_budget=int(2 * 3 * per_sample))
    assert bounded.max_batch == 3
    assert [b[0].shape[0] for b in bounded.batches] == [3, 3, 2, 3, 3, 2]
    plan = {l: "int8" for l in spec.layer_names}
    a, b = whole.evaluate_plan(plan), bounded.evaluate_plan(plan)
    assert a["psnr_db"] == pytest.approx(b["psnr_db"], abs=1e-4)
    assert a["samples"] == b["samples"] == 16 if "samples" in a else True


def test_layer_input_observer_equals_onnxruntime_on_the_layers_inputs(tiny_spade):
    """The observer of models with external data (calibration.layer_observer) sees only the
    quantizable layers' inputs, by hooks on their modules: the same statistics as ONNX
    Runtime's for those tensors, within the tolerance above."""
    from edgec.calib.store import SampleStore
    from edgec.quant.calibration.calibrate import layer_tensors
    from edgec.quant.calibration.layer_observer import SCOPE, LayerInputObserver
    from edgec.quant.calibration.thresholds import thresholds

    entry, out = tiny_spade
    model = onnx.load(str(out / "model.onnx"))
    store = SampleStore(str(out / "samples"))
    indices = np.arange(store.count)
    observer = LayerInputObserver(model, entry, None, "cpu")
    ours = observer.collect(store, indices, 8, progress=False)
    _, theirs = _collect(entry, out, False)
    wanted = {t["input"] for t in layer_tensors(model).values()}
    assert set(ours) == wanted and len(wanted) < len(theirs)
    assert observer.description()["scope"] == SCOPE
    for name in wanted:
        a, b = theirs[name], ours[name]
        assert abs(a["absmax"] - b["absmax"]) <= 1e-4 * max(a["absmax"], 1e-12), name
        assert sum(a["histogram"]) == sum(b["histogram"]), name
        ta, tb = thresholds(a), thresholds(b)
        for method in ("max", "percentile", "mse"):
            assert abs(ta[method] - tb[method]) <= a["absmax"] / 2048 * 1.001, (name, method)
