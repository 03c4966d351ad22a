"""Every zoo entry, exported, parity-checked and calibrated, as a tiny variant of itself: the same
module classes and export path at small widths and input sizes, so the whole zoo runs on 2 cores.

A new zoo entry fails `test_every_zoo_entry_has_a_row` until it has a row here (as Optimum's
`test_all_models_tested` does): a model nobody ran through the pipeline does not ship.
"""
import dataclasses

import numpy as np
import pytest

from edgec.models import get_model, model_names


def _wav2lip(width, residual):
    from edgec.models.wav2lip import Wav2Lip

    return lambda: Wav2Lip(width=width, residual=residual)


def _liveportrait(class_name, **kwargs):
    def make():
        from edgec.models import liveportrait

        return getattr(liveportrait, class_name)(**kwargs)
    return make


def _tiny_motion():
    from edgec.models.liveportrait import ConvNeXtV2, MotionExtractor

    model = MotionExtractor()
    model.detector = ConvNeXtV2(depths=(1, 1, 1, 1), dims=(8, 16, 32, 64))
    return model


def _tiny_warping(channels=4, depth=4):
    from edgec.models.liveportrait import DenseMotionNetwork, WarpingNetwork

    model = WarpingNetwork(block_expansion=4, max_features=channels * depth,
                           reshape_channel=channels)
    model.dense_motion_network = DenseMotionNetwork(
        block_expansion=4, num_blocks=2, max_features=32, feature_channel=channels,
        reshape_depth=depth, compress=2)
    return model


def _latentsync(module, class_name, **kwargs):
    def make():
        import importlib

        return getattr(importlib.import_module("edgec.models." + module), class_name)(**kwargs)
    return make


TINY_UNET = dict(channels=(32, 64, 64, 64), context_dim=16)
TINY_VAE = dict(blocks=(32, 32, 32, 32))
UNET_INPUTS = {"sample": (13, 3, 8, 8), "timestep": (), "audio": (3, 5, 16)}
# zoo name -> (the tiny factory, or None for the entry's own; input shapes changed from the
# entry's, without the batch axis). Same classes as the zoo's, smaller widths and inputs. A name
# instead: the entry is that one at another input size (its tiny variant would be the same), so
# its row is that one's, once the two are checked to differ only in input sizes.
ROWS = {
    "wav2lip": (_wav2lip(0.125, True), {}),
    "lite-wav2lip": (None, {}),
    "liveportrait-appearance": (_liveportrait("AppearanceFeatureExtractor", block_expansion=8,
                                              max_features=32, reshape_channel=4,
                                              reshape_depth=8, num_resblocks=1),
                                {"image": (3, 32, 32)}),
    "liveportrait-motion": (_tiny_motion, {"image": (3, 64, 64)}),
    "liveportrait-warping": (_tiny_warping, {"feature_3d": (4, 4, 16, 16)}),
    "liveportrait-spade": (_liveportrait("SPADEDecoder", max_features=16, block_expansion=4,
                                         out_channels=8), {"feature": (16, 16, 16)}),
    "liveportrait-stitching": (None, {}),
    "latentsync-unet": (_latentsync("latentsync_unet", "LatentSyncUNet", **TINY_UNET),
                        UNET_INPUTS),  # exported with external data, as the 5 GB UNet is
    "latentsync-unet-512": "latentsync-unet",
    "latentsync-vae-encoder": (_latentsync("sd_vae", "VaeEncoder", **TINY_VAE),
                               {"image": (3, 16, 16)}),
    "latentsync-vae-encoder-512": "latentsync-vae-encoder",
    "latentsync-vae-decoder": (_latentsync("sd_vae", "VaeDecoder", **TINY_VAE),
                               {"latents": (4, 2, 2)}),
    "latentsync-vae-decoder-512": "latentsync-vae-decoder",
    "whisper-tiny-encoder": (_latentsync("whisper_tiny", "WhisperTinyEncoder", width=64,
                                         heads=2, blocks=1, steps=50), {"mel": (80, 100)}),
}


def tiny_entry(name):
    entry = get_model(name)
    factory, shapes = ROWS[name]
    inputs = [dataclasses.replace(i, shape=tuple(shapes.get(i.name, i.shape)))
              for i in entry.inputs]
    trace = {k: v for k, v in entry.trace_shapes.items() if k not in shapes}
    return dataclasses.replace(entry, factory=factory or entry.factory, inputs=inputs,
                               trace_shapes=trace)


# Rows exported with their weights in an external data file, as the full-size model is (beyond
# protobuf's 2 GB): they take that path through export and calibration (the layer-input observer).
EXTERNAL = ("latentsync-unet",)
RUN = sorted(name for name, row in ROWS.items() if not isinstance(row, str))


def test_every_zoo_entry_has_a_row():
    assert sorted(model_names()) == sorted(ROWS), (
        "zoo entries without a row in tests/e2e/test_zoo_models.py: %s; rows for no entry: %s"
        % (sorted(set(model_names()) - set(ROWS)), sorted(set(ROWS) - set(model_names()))))
    for name, row in ROWS.items():
        if isinstance(row, str):
            entry, same = get_model(name), get_model(row)
            assert [(i.name, len(i.shape)) for i in entry.inputs] == [
                (i.name, len(i.shape)) for i in same.inputs], (name, row)
            assert entry.outputs == same.outputs and entry.opset == same.opset, (name, row)


@pytest.mark.slow
@pytest.mark.parametrize("name", RUN)
def test_tiny_variant_exports_with_parity_and_calibrates(name, tmp_path):
    from edgec.calib.store import SampleStore, SampleStoreWriter, StoreInput
    from edgec.exporter.export import export_zoo_model
    from edgec.quant.calibration.calibrate import calibrate
    from edgec.quant.quality.splits import SampleSplits

    entry = tiny_entry(name)
    external = {"external_above": 0} if name in EXTERNAL else {}
    record = export_zoo_model(entry, str(tmp_path), **external)  # raises when parity fails
    assert record["parity"]["results"], record["parity"]
    rng = np.random.default_rng(0)
    writer = SampleStoreWriter(str(tmp_path / "samples"),
                               [StoreInput(i.name, i.shape, "float32") for i in entry.inputs], 6)
    for _ in range(6):
        writer.append({i.name: rng.uniform(i.low, i.high, i.shape) for i in entry.inputs})
    writer.close({"source": "random (test)", "seed": 0})
    ranges = calibrate(str(tmp_path / "model.onnx"),
                       SampleSplits(SampleStore(str(tmp_path / "samples")), 0.34),
                       str(tmp_path), progress=False, entry=entry)
    # Every quantizable layer the zoo declares is found and calibrated (the stitching MLP has
    # none: its Linear layers are not quantized).
    assert len(ranges["layers"]) == len(record["layers"]), name
    for layer in ranges["layers"].values():  # every layer's input has a finite, positive range
        threshold = ranges["tensors"][layer["input"]]["thresholds"]["percentile"]
        assert np.isfinite(threshold) and threshold > 0, (name, layer)
    # `edgec check`: the export imports on AGX Orin's TensorRT lines by the rules, and where
    # TensorRT-RTX is installed (CI) its real parser and builder take it too.
    from edgec.check.checker import check

    checked = check(str(tmp_path / "model.onnx"), ["agx-orin"])
    assert checked["ok"], [r["findings"] for r in checked["rows"]]
    for built in checked["rtx"] or []:
        assert built["parsed"] and built["built"] and built["engine_bytes"] > 0, \
            (name, built["messages"])
