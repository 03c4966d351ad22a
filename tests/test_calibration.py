import json
import os

import numpy as np
import pytest

from edgec.calib import synthetic
from edgec.calib.datasets import build_store, plan_samples
from edgec.calib.store import SampleStore
from edgec.errors import EdgecError
from edgec.quant.calib_cache import format_cache, parse_cache, read_cache
from edgec.quant.ranges import threshold_entropy, threshold_percentile


@pytest.fixture(scope="module")
def raw_tree(tmp_path_factory):
    """LRS2 raw layout with good clips plus a corrupt one, a silent one, and a too-short one."""
    root = str(tmp_path_factory.mktemp("lrs2"))
    synthetic.write_lrs2_tree(root, speakers=2, clips_per_speaker=2, n_frames=40)
    good = os.path.join(root, "pretrain", "spk0", "00000.mp4")
    with open(good, "rb") as handle:
        head = handle.read(2000)
    with open(os.path.join(root, "pretrain", "spk1", "corrupt.mp4"), "wb") as handle:
        handle.write(head)
    synthetic.write_talking_clip(os.path.join(root, "pretrain", "spk1", "silent.mp4"),
                                 n_frames=20, with_audio=False)
    synthetic.write_talking_clip(os.path.join(root, "pretrain", "spk1", "short.mp4"),
                                 n_frames=3)
    return root


def _calibrate(run_cli, data, out, *extra):
    return run_cli("calibrate", "--model", "lite-wav2lip", "--data", data, "-n", 64, "-o", out,
                   *extra)


def test_calibrate_raw_layout_end_to_end(run_cli, raw_tree, tmp_path):
    import onnx

    result = _calibrate(run_cli, raw_tree, tmp_path / "a", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    skipped = report["data"]["skipped"]
    assert skipped["unreadable"]["count"] == 1 and "corrupt.mp4" in skipped["unreadable"]["items"][0]
    assert skipped["no audio"]["count"] == 1 and "silent.mp4" in skipped["no audio"]["items"][0]
    assert "short.mp4" in skipped["shorter than one mel window"]["items"][0]
    assert report["data"]["written"] == 64

    header, scales = read_cache(str(tmp_path / "a" / "calib.cache"))
    assert header.startswith("TRT-")
    model = onnx.load(str(tmp_path / "a" / "model.onnx"))
    conv_inputs = [n.input[0] for n in model.graph.node if n.op_type in ("Conv", "ConvTranspose")]
    assert len(conv_inputs) == 23
    for tensor in conv_inputs:
        assert np.isfinite(scales[tensor]) and scales[tensor] > 0, tensor

    ranges = json.loads((tmp_path / "a" / "ranges.json").read_text())
    assert set(ranges["layers"]) == {n.name for n in model.graph.node
                                     if n.op_type in ("Conv", "ConvTranspose")}
    face = ranges["tensors"]["face"]
    assert 0 <= face["min"] and face["max"] <= 1  # faces are /255
    assert ranges["samples"]["calibration"] + ranges["samples"]["held_out"] == 64


def test_same_command_twice_gives_identical_files(run_cli, raw_tree, tmp_path):
    for out in ("a", "b"):
        assert _calibrate(run_cli, raw_tree, tmp_path / out).exit_code == 0
    for name in ("ranges.json", "calib.cache", "samples/face.npy", "samples/mel.npy"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    other = _calibrate(run_cli, raw_tree, tmp_path / "c", "--seed", "1")
    assert other.exit_code == 0
    assert (tmp_path / "a" / "samples/face.npy").read_bytes() != \
        (tmp_path / "c" / "samples/face.npy").read_bytes()


def test_second_run_reuses_every_stage(run_cli, raw_tree, tmp_path):
    assert _calibrate(run_cli, raw_tree, tmp_path / "a").exit_code == 0
    again = _calibrate(run_cli, raw_tree, tmp_path / "a", "--json")
    report = json.loads(again.output[again.output.index("{"):])
    assert all(stage["reused"] for stage in report["stages"])


def test_frame_folder_layout(tmp_path):
    synthetic.write_frame_folder(str(tmp_path / "data" / "spk0" / "00000"), n_frames=30)
    synthetic.write_frame_folder(str(tmp_path / "data" / "spk1" / "00003"), n_frames=30, seed=3)
    path, summary = build_store(str(tmp_path / "data"), str(tmp_path / "store"), [], "wav2lip",
                                n=20, seed=0, progress=False)
    assert summary["layout"] == "frames" and summary["written"] == 20
    batch = SampleStore(path).get(slice(0, 20))
    assert batch["face"].shape == (20, 6, 96, 96) and batch["mel"].shape == (20, 1, 80, 16)
    assert np.all(batch["face"][:, :3, 48:] == 0)  # lower half of the target masked
    assert batch["face"][:, 3:, 48:].max() > 0  # the reference keeps its lower half


def test_array_layout_for_any_model(run_cli, tmp_path):
    data = tmp_path / "arrays"
    data.mkdir()
    rng = np.random.default_rng(0)
    np.savez(data / "part0.npz", image=rng.random((10, 3, 32, 32), dtype=np.float32))
    np.savez(data / "part1.npz", image=rng.random((6, 3, 32, 32), dtype=np.float32))
    np.savez(data / "wrong.npz", image=rng.random((4, 3, 16, 16), dtype=np.float32))
    result = run_cli("calibrate", "--model", "tests.tiny_models:tiny_convnet", "--input",
                     "image:1x3x32x32", "--data", data, "-n", 12, "-o", tmp_path / "out",
                     "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{"):])
    assert report["data"]["written"] == 12
    assert "wrong.npz" in report["data"]["skipped"]["unreadable"]["items"][0]
    _, scales = read_cache(str(tmp_path / "out" / "calib.cache"))
    assert scales["image"] > 0


def test_empty_data_is_an_error(run_cli, tmp_path):
    (tmp_path / "empty").mkdir()
    result = _calibrate(run_cli, tmp_path / "empty", tmp_path / "out")
    assert result.exit_code == 2 and "empty" in result.output and "Traceback" not in result.output


def test_failed_sample_build_leaves_no_partial_store(tmp_path):
    """Every frame fails (no faces in plain noise video): an error, and no half-written store."""
    import av

    path = tmp_path / "data" / "spk0" / "00000.mp4"
    path.parent.mkdir(parents=True)
    noise = np.random.default_rng(0).integers(0, 255, (30, 64, 64, 3), dtype=np.uint8)
    with av.open(str(path), mode="w") as container:  # noise frames, real audio
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=16000)
        audio.layout = "mono"
        for frame in noise:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
        wave = synthetic.speech_like_audio(1.2).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(wave, format="flt", layout="mono")
        frame.sample_rate = 16000
        for packet in list(audio.encode(frame)) + list(audio.encode(None)):
            container.mux(packet)
    with pytest.raises(EdgecError) as info:
        build_store(str(tmp_path / "data"), str(tmp_path / "out" / "samples"), [], "wav2lip",
                    n=10, seed=0, progress=False)
    assert "no face found" in info.value.message
    assert os.listdir(tmp_path / "out") == []


def test_sampling_is_deterministic_and_spread():
    plan = plan_samples([100, 50, 10], 80, seed=3)
    assert plan == plan_samples([100, 50, 10], 80, seed=3)
    assert plan != plan_samples([100, 50, 10], 80, seed=4)
    assert len(set((c, f) for c, f, _ in plan)) == 80
    assert {c for c, _, _ in plan} == {0, 1, 2}
    assert all(f != r for c, f, r in plan)


def test_cache_round_trip_and_a_tensorrt_written_cache(tmp_path):
    scales = {"input": 0.0078125, "conv1_out": 0.0123}
    header, parsed = parse_cache(format_cache(scales))
    assert header == "TRT-8201-EntropyCalibration2"
    assert parsed["input"] == np.float32(0.0078125)
    assert abs(parsed["conv1_out"] - 0.0123) < 1e-9
    # As TensorRT 8.6 writes it: 1/127 is 0x3c010204 in big-endian float32.
    header, parsed = parse_cache("TRT-8601-EntropyCalibration2\ninput: 3c010204\n"
                                 "(Unnamed Layer* 3) [Activation]_output: 3d8e2d6a\n")
    assert abs(parsed["input"] - 1 / 127.0) < 1e-9
    assert "(Unnamed Layer* 3) [Activation]_output" in parsed


@pytest.mark.parametrize("text,needle", [
    ("not a cache\n", "first line"),
    ("TRT-8201-EntropyCalibration2\ninput 3c010204\n", "line 2"),
    ("TRT-8201-EntropyCalibration2\ninput: zz010204\n", "line 2"),
])
def test_malformed_cache(tmp_path, text, needle):
    path = tmp_path / "bad.cache"
    path.write_text(text)
    with pytest.raises(EdgecError) as info:
        read_cache(str(path))
    assert str(path) in info.value.message and needle in info.value.message


def test_thresholds_on_a_known_distribution():
    rng = np.random.default_rng(0)
    values = np.abs(rng.standard_normal(200000))
    absmax = float(values.max())
    hist = np.bincount(np.minimum((values * 2048 / absmax).astype(int), 2047), minlength=2048)
    stats = {"absmax": absmax, "histogram": hist.tolist()}
    expected = np.percentile(values, 99.9)
    assert abs(threshold_percentile(stats, 99.9) - expected) <= 2 * absmax / 2048
    entropy = threshold_entropy(stats)
    # KL calibration clips a Gaussian's tail: below the max, well above one sigma.
    assert 2.0 < entropy < absmax
