"""LatentSync's zoo entries: the UNet's key layout is the released checkpoint's, released file
layouts load strictly, the frame coupling is kept, exports hold only ops TensorRT 8.x builds
natively, and `edgec models` counts the full-size models without building their weights."""
import gzip
import json
import os

import numpy as np
import pytest
import torch
from paths import REPO, TESTS

from edgec.errors import EdgecError
from edgec.models.checkpoint import load_checkpoint
from edgec.settings import CalibrationSettings

TINY_UNET = dict(channels=(32, 64, 64, 64), context_dim=16)


def _splits(folder, holdout=0.2):
    from edgec.calib.store import SampleStore
    from edgec.quant.quality.splits import SampleSplits

    return SampleSplits(SampleStore(str(folder / "samples")), holdout)


def _unet_keys():
    """Names and shapes of the LatentSync 1.5/1.6 UNet state dict: LatentSync's own modules
    (bytedance/LatentSync a229c394, diffusers 0.32.2) built at full size, listed once."""
    with gzip.open(os.path.join(TESTS, "data", "latentsync_unet_keys.txt.gz"), "rt") as handle:
        rows = [line.split(None, 1) for line in handle if line.strip()]
    return {key: tuple(int(n) for n in shape.strip(" ()\n").split(",") if n.strip())
            for key, shape in rows}


def test_unet_state_dict_is_the_released_layout():
    from edgec.models.registry import get_model

    model = get_model("latentsync-unet").build_meta()
    ours = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    theirs = _unet_keys()
    assert len(theirs) == 1246
    assert sorted(set(theirs) - set(ours)) == [] and sorted(set(ours) - set(theirs)) == []
    assert [k for k in ours if ours[k] != theirs[k]] == []


def _tiny_unet():
    from edgec.models.latentsync_unet import LatentSyncUNet

    torch.manual_seed(0)
    model = LatentSyncUNet(**TINY_UNET).eval()
    with torch.no_grad():
        for p in model.parameters():  # zero-initialised parts would hide the paths
            p.add_(torch.randn_like(p) * 0.05)
    return model


def _unet_inputs(frames=3, size=8):
    g = torch.Generator().manual_seed(1)
    return (torch.randn(2, 13, frames, size, size, generator=g), torch.tensor([500.0, 20.0]),
            torch.randn(2, frames, 5, 16, generator=g))


def test_released_checkpoint_layout_loads_strictly_and_a_wrong_one_is_named(tmp_path):
    from edgec.models.latentsync_unet import LatentSyncUNet

    source = _tiny_unet()
    path = tmp_path / "latentsync_unet.pt"
    torch.save({"global_step": 7, "state_dict": source.state_dict()}, path)
    loaded = LatentSyncUNet(**TINY_UNET).eval()
    load_checkpoint(loaded, str(path), "latentsync-unet")
    inputs = _unet_inputs()
    with torch.no_grad():
        assert torch.equal(loaded(*inputs), source(*inputs))
    state = source.state_dict()
    del state["up_blocks.1.motion_modules.0.temporal_transformer.proj_out.weight"]
    torch.save({"state_dict": state}, path)
    with pytest.raises(EdgecError, match="latentsync_unet.pt.*1 missing keys.*proj_out"):
        load_checkpoint(LatentSyncUNet(**TINY_UNET), str(path), "latentsync-unet")


def test_unet_couples_a_samples_frames_and_no_two_samples():
    """ResNet GroupNorms and motion modules span the frames of one sample; samples (and so
    guidance's two halves) stay independent."""
    model = _tiny_unet()
    sample, timestep, audio = _unet_inputs()
    with torch.no_grad():
        base = model(sample, timestep, audio)
        changed = sample.clone()
        changed[0, :, 2] += 1.0  # the last frame of the first sample
        out = model(changed, timestep, audio)
    assert out.shape == (2, 4, 3, 8, 8)
    assert (out[0, :, 0] - base[0, :, 0]).abs().max() > 1e-4  # frame 0 sees frame 2
    assert torch.equal(out[1], base[1])  # the other sample does not


def test_frame_spanning_group_norm_equals_group_norm_on_five_axes():
    from edgec.models.norms import ExplicitGroupNorm

    torch.manual_seed(0)
    ours, reference = ExplicitGroupNorm(4, 8, 1e-5), torch.nn.GroupNorm(4, 8, 1e-5)
    with torch.no_grad():
        ours.weight.normal_()
        ours.bias.normal_()
        reference.load_state_dict(ours.state_dict())
    volume = torch.randn(2, 8, 3, 5, 6)
    folded = volume.transpose(1, 2).reshape(6, 8, 5, 6)
    with torch.no_grad():
        got = ours(folded, frames=3).reshape(2, 3, 8, 5, 6).transpose(1, 2)
        assert (got - reference(volume)).abs().max() < 1e-5
        flat = torch.randn(2, 8, 7)
        assert (ours(flat) - reference(flat)).abs().max() < 1e-5


def test_vae_file_with_legacy_attention_names_loads_both_halves(tmp_path):
    from edgec.models.sd_vae import VaeDecoder, VaeEncoder, vae_part

    torch.manual_seed(0)
    blocks = (32, 32, 64, 64)
    encoder, decoder = VaeEncoder(blocks), VaeDecoder(blocks)
    whole = {}
    for part in (encoder, decoder):
        for key, value in part.state_dict().items():
            for new, old in (("to_q.", "query."), ("to_k.", "key."), ("to_v.", "value."),
                             ("to_out.0.", "proj_attn.")):
                if ".attentions.0." + new in key:
                    key = key.replace(new, old)
                    value = value[:, :, None, None] if value.dim() == 2 else value
            whole[key] = value
    for prefix, part, cls in (("encoder.", encoder, VaeEncoder),
                              ("decoder.", decoder, VaeDecoder)):
        fresh = cls(blocks)
        fresh.load_state_dict(vae_part(whole, prefix), strict=True)
        for a, b in zip(fresh.state_dict().values(), part.state_dict().values()):
            assert torch.equal(a, b)
    mean, logvar = encoder.eval()(torch.rand(1, 3, 32, 32) * 2 - 1)
    assert mean.shape == logvar.shape == (1, 4, 4, 4)
    assert decoder.eval()(mean).shape == (1, 3, 32, 32)


def test_whisper_checkpoint_keeps_the_encoder(tmp_path):
    from edgec.models.registry import get_model
    from edgec.models.whisper_tiny import WhisperTinyEncoder, sinusoids

    source = WhisperTinyEncoder()
    state = {"encoder." + k: v for k, v in source.state_dict().items()}
    state["decoder.token_embedding.weight"] = torch.zeros(10, 384)
    path = tmp_path / "tiny.pt"
    torch.save({"dims": {"n_audio_state": 384}, "model_state_dict": state}, path)
    loaded = get_model("whisper-tiny-encoder").build(str(path))
    assert torch.equal(loaded.conv2.weight, source.conv2.weight)
    assert torch.equal(loaded.positional_embedding, sinusoids(1500, 384))
    with torch.no_grad():
        states = loaded(torch.randn(1, 80, 3000))
    assert states.shape == (1, 5, 1500, 384)


def test_tiny_unet_exports_without_norm_ops_tensorrt_8_lacks(tmp_path):
    """LayerNormalization needs TensorRT 8.6; InstanceNormalization (torch's GroupNorm export)
    a plugin: neither may appear. ONNX Runtime agrees with PyTorch."""
    import onnx

    from edgec.exporter.export import export_zoo_model

    record = export_zoo_model(_tiny_unet_entry(), str(tmp_path))
    assert all(r["max_abs_error"] <= 1e-4 for r in record["parity"]["results"])
    ops = {n.op_type for n in onnx.load(str(tmp_path / "model.onnx")).graph.node}
    assert not ops & {"LayerNormalization", "GroupNormalization", "InstanceNormalization"}
    assert {"Conv", "MatMul", "Softmax", "Erf"} <= ops


def _tiny_unet_entry(size=8, **extra):
    from edgec.models.entry import InputSpec, ModelEntry

    return ModelEntry(name="tiny-latentsync-unet", summary="test", factory=_tiny_unet,
                      inputs=[InputSpec("sample", (13, 3, size, size), -4, 4),
                              InputSpec("timestep", (), 0, 999),
                              InputSpec("audio", (3, 5, 16), -3, 3)],
                      outputs=["noise"], parity_batches=(1, 2), **extra)


def test_export_beyond_the_protobuf_limit_keeps_weights_beside_the_graph(tmp_path):
    """The path a 5 GB UNet takes, forced on a small one (external_above=0): weights in
    model.onnx.data, parity from the files, both files hashed; a later in-file export of the
    same folder removes the stale data file."""
    import onnx

    from edgec import artifacts
    from edgec.exporter.export import export_zoo_model
    from edgec.fileio import sha256_file
    from edgec.runtime.ort_backend import OnnxRuntimeRunner

    # Traced at 2 frames of 8 x 8 (as the 5 GB UNet must be, for memory), built for 3 of 16 x 16.
    entry = _tiny_unet_entry(16, trace_shapes={"sample": (13, 2, 8, 8), "audio": (2, 5, 16)})
    record = export_zoo_model(entry, str(tmp_path), external_above=0)
    graph, data = tmp_path / artifacts.MODEL_ONNX, tmp_path / artifacts.MODEL_ONNX_DATA
    from edgec.exporter.external import weight_bytes

    assert data.stat().st_size >= 0.95 * weight_bytes(_tiny_unet())
    assert data.stat().st_mode & 0o044 == graph.stat().st_mode & 0o044  # readable alike
    inits = onnx.load(str(graph), load_external_data=False).graph.initializer
    assert any(i.data_location == onnx.TensorProto.EXTERNAL for i in inits)
    assert record["external_data"]["sha256"] == sha256_file(str(data))
    assert record["onnx_sha256"] == sha256_file(str(graph)) and record["simplified"] is False
    assert all(r["max_abs_error"] <= 1e-4 for r in record["parity"]["results"])
    assert sorted(os.listdir(tmp_path)) == sorted([artifacts.MODEL_ONNX, artifacts.MODEL_ONNX_DATA,
                                                   artifacts.EXPORT_JSON])
    dims = [[d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
            for i in onnx.load(str(graph), load_external_data=False).graph.input]
    assert dims[0] == ["batch", 13, 3, 16, 16] and dims[2] == ["batch", 3, 5, 16]
    with OnnxRuntimeRunner(str(graph)) as runner:
        out = runner.infer(entry.dummy_inputs(1))["noise"]
    assert out.shape == (1, 4, 3, 16, 16)
    assert json.loads((tmp_path / artifacts.EXPORT_JSON).read_text())["external_data"]
    export_zoo_model(entry, str(tmp_path))
    assert not data.exists() and onnx.load(str(graph)).graph.initializer


def test_models_counts_full_size_entries_on_the_meta_device(run_cli):
    result = run_cli("models", "latentsync-unet", "--json")
    assert result.exit_code == 0, result.output
    row = json.loads(result.output)[0]
    assert row["params"] == 1267099844
    # Convs count every one of the 16 frames; Linear and attention products are included.
    convs = row["macs"] - row["macs_linear"] - row["macs_attention"]
    assert row["macs_attention"] > 0 and convs > row["macs_attention"]
    assert row["public_figures"][0]["figure"] == "params"
    result = run_cli("models", "latentsync-vae-decoder-512", "--json")
    row = json.loads(result.output)[0]
    macs = [f for f in row["public_figures"] if f["figure"] == "macs"][0]
    assert abs(macs["edgec_over_public"] - 1) < 0.05 and row["params"] == 49490199
    assert np.isclose(row["params"], [f for f in row["public_figures"]
                                      if f["figure"] == "params"][0]["public"], rtol=1e-4)


def test_predict_says_what_fits_and_the_time_per_window(run_cli):
    result = run_cli("predict", "latentsync-unet", "--batch", "2", "--precision", "fp16",
                     "--precision", "int8", "--json")
    assert result.exit_code == 0, result.output
    rows = {(r["device"], r["precision"]): r for r in json.loads(result.output)["rows"]}
    nano = rows[("nano", "fp16")]
    assert nano["status"] == "does not fit"
    assert nano["memory_mib"]["needed"] > nano["memory_mib"]["available"]
    agx = rows[("agx-xavier", "int8")]
    assert agx["status"] == "ok" and agx["window"]["calls"] == 20  # 40 samples, 2 a call
    assert np.isclose(agx["window"]["ms_per_frame"], agx["latency_ms"] * 20 / 16)
    # INT8 quantizes the convs only: the Linear layers and attention stay FP16, so INT8
    # saves less than its share of the MACs would.
    fp16 = rows[("agx-xavier", "fp16")]
    assert agx["latency_ms"] < fp16["latency_ms"]
    assert agx["memory_mib"]["needed"] > 0.5 * fp16["memory_mib"]["needed"]


def test_unquantized_layers_keep_fp16_in_int8_and_mix():
    from edgec.latency.cost_model import layer_precisions

    layers = [{"name": "conv", "kind": "Conv"}, {"name": "fc", "kind": "Linear"},
              {"name": "attn", "kind": "Attention"}]
    assert layer_precisions(layers, "int8") == ["int8", "fp16", "fp16"]
    assert layer_precisions(layers, "fp32") == ["fp32"] * 3
    assert layer_precisions(layers, "mix", {"conv": "int8"}) == ["int8", "fp16", "fp16"]
    with pytest.raises(EdgecError, match="conv"):
        layer_precisions(layers, "mix", {"fc": "int8"})


def test_denoising_inputs_follow_the_schedule_and_load_as_samples(tmp_path):
    """The UNet's calibration inputs: DDIM's 20 timesteps, noise that grows with the step,
    values in the entry's ranges; the script's .npz folder is read by the array reader, and
    the scalar timestep stays a scalar per sample in the store."""
    import subprocess
    import sys

    from edgec.calib.arrays import build_array_store
    from edgec.calib.latentsync import alphas_cumprod, ddim_timesteps, denoising_samples
    from edgec.calib.store import SampleStore
    from edgec.models.registry import get_model

    steps = ddim_timesteps()
    assert len(steps) == 20 and steps[0] == 951 and steps[-1] == 1
    assert np.all(np.diff(alphas_cumprod()) < 0)
    arrays = denoising_samples(np.random.default_rng(0), 64, 2, 8, 5, 16)
    assert set(np.unique(arrays["timestep"])) <= set(steps.tolist())
    noisy, mask = arrays["sample"][:, :4], arrays["sample"][:, 4]
    assert np.all(mask[..., :4, :] == 0) and np.all(mask[..., 4:, :] == 1)
    # The noisy latents' correlation with their clean source falls as the timestep grows.
    clean_half = arrays["sample"][:, 5:9, :, :4]  # masked latents = clean on the upper half
    corr = [np.corrcoef(n[:, :, :4].ravel(), c.ravel())[0, 1]
            for n, c in zip(noisy, clean_half)]
    early, late = arrays["timestep"] > 700, arrays["timestep"] < 200
    assert np.mean(np.array(corr)[late]) > np.mean(np.array(corr)[early]) + 0.3
    entry = get_model("latentsync-unet")
    for spec in entry.inputs:
        value = arrays[spec.name] if spec.name != "sample" else arrays["sample"]
        assert value.min() >= spec.low and value.max() <= spec.high, spec.name

    out = tmp_path / "inputs"
    script = os.path.join(REPO, "scripts", "make_latentsync_inputs.py")
    done = subprocess.run([sys.executable, script, "--out", str(out), "-n", "5",
                           "--per-file", "2"], stdout=subprocess.PIPE, check=True)
    assert json.loads(done.stdout.decode())["samples"] == 5
    assert len([n for n in os.listdir(out) if n.endswith(".npz")]) == 3
    inputs = [(i.name, i.shape) for i in entry.inputs]
    path, summary = build_array_store(str(out), str(tmp_path / "store"), inputs, 5, 0,
                                      progress=False)
    store = SampleStore(path)
    got = store.get(np.arange(5))
    assert summary["written"] == 5 and got["timestep"].shape == (5,)
    assert got["sample"].shape == (5,) + tuple(entry.inputs[0].shape)
    assert set(got["timestep"].tolist()) <= set(steps.tolist())


def _external_unet(folder):
    """The tiny UNet exported with external data (as the 5 GB one is) and a store of 8
    random in-range samples."""
    from edgec.calib.store import SampleStoreWriter, StoreInput
    from edgec.exporter.export import export_zoo_model

    entry = _tiny_unet_entry()
    export_zoo_model(entry, str(folder), external_above=0)
    rng = np.random.default_rng(0)
    specs = [StoreInput(i.name, i.shape, "float32") for i in entry.inputs]
    writer = SampleStoreWriter(str(folder / "samples"), specs, 8)
    for _ in range(8):
        writer.append({i.name: rng.uniform(i.low, i.high, i.shape) for i in entry.inputs})
    writer.close({"source": "random (test)", "seed": 0})
    return entry, str(folder / "model.onnx")


def test_calibrating_an_external_data_model_observes_its_layers_inputs(tmp_path):
    """A model with external data is calibrated on its PyTorch model's layer inputs (the
    graph alone is read); --method output and a missing model are refused by name."""
    from edgec.quant.calibration.calibrate import calibrate, layer_tensors, load_ranges
    from edgec.quant.calibration.layer_observer import SCOPE

    entry, onnx_path = _external_unet(tmp_path)
    record = calibrate(onnx_path, _splits(tmp_path), str(tmp_path), entry=entry,
                       settings=CalibrationSettings(calibration_device="auto"), progress=False)
    assert record["observer"]["scope"] == SCOPE
    import onnx

    graph = onnx.load(onnx_path, load_external_data=False)
    ranges = load_ranges(str(tmp_path / "ranges.json"))
    assert set(ranges["tensors"]) == {t["input"] for t in layer_tensors(graph).values()}
    with pytest.raises(EdgecError, match="model.onnx.*external data.*percentile"):
        calibrate(onnx_path, _splits(tmp_path), str(tmp_path),
                  settings=CalibrationSettings(method="output"), entry=entry, progress=False,
                  output_search=lambda *args, **kwargs: {})
    with pytest.raises(EdgecError, match="model.onnx.*give --model"):
        calibrate(onnx_path, _splits(tmp_path), str(tmp_path), progress=False)


def test_quantize_and_bundle_carry_the_external_data(tmp_path):
    """Quantize writes model.fp16.onnx beside its own data file (checked and run from the
    files), hashes both; the stage key and the bundle cover the data files, and an unpacked
    bundle runs in ONNX Runtime."""
    from edgec import artifacts
    from edgec.calib.store import SampleStore
    from edgec.fileio import sha256_file
    from edgec.fingerprints import file_key
    from edgec.quant.calibration.calibrate import calibrate
    from edgec.quant.quality.splits import TEST, split_indices
    from edgec.quant.quantize import quantize
    from edgec.runtime.bundle import pack, read_bundle, unpack
    from edgec.runtime.ort_backend import OnnxRuntimeRunner

    entry, onnx_path = _external_unet(tmp_path)
    calibrate(onnx_path, _splits(tmp_path, 0.5), str(tmp_path), entry=entry, progress=False)
    key = file_key(onnx_path)
    assert key["data_sha256"] == sha256_file(str(tmp_path / artifacts.MODEL_ONNX_DATA))
    report = quantize(str(tmp_path), onnx_path, str(tmp_path / "ranges.json"),
                      _splits(tmp_path, 0.5), precision="fp16", entry=entry, progress=False)
    name = artifacts.model_onnx("fp16")
    fp16, data = tmp_path / name, tmp_path / artifacts.onnx_data(name)
    assert report["sha256"] == sha256_file(str(fp16))
    assert report["external_data"]["sha256"] == sha256_file(str(data))
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".export-")]
    ort = report["quality"]["onnxruntime"]
    test = split_indices(SampleStore(str(tmp_path / "samples")), 0.5, TEST)
    assert report["evaluation"]["samples"] == len(test) > 0 and 30 < ort["psnr_db"] < 200
    # Casts to FP16 halve the convs' weights: the data file is smaller than FP32's.
    assert data.stat().st_size < (tmp_path / artifacts.MODEL_ONNX_DATA).stat().st_size

    manifest = pack(str(tmp_path), str(tmp_path / "b.tar.gz"))
    assert manifest["files"][artifacts.onnx_data(name)]["sha256"] == sha256_file(str(data))
    assert artifacts.MODEL_ONNX_DATA in read_bundle(str(tmp_path / "b.tar.gz"))
    unpack(str(tmp_path / "b.tar.gz"), str(tmp_path / "device"))
    assert (tmp_path / "device" / artifacts.onnx_data(name)).read_bytes() == data.read_bytes()
    with OnnxRuntimeRunner(str(tmp_path / "device" / name)) as runner:
        assert runner.infer(entry.dummy_inputs(1))["noise"].shape == (1, 4, 3, 8, 8)
