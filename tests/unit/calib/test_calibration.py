import ast
import glob
import json
import os
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest

from edgec.artifacts import format_calib_cache, parse_calib_cache, read_calib_cache
from edgec.calib import reader_registry, synthetic
from edgec.calib.datasets import build_store
from edgec.calib.readers import reader_families, reader_for, register_reader
from edgec.calib.sampling import plan_samples
from edgec.calib.store import SampleStore
from edgec.errors import EdgecError
from edgec.quant.calibration.thresholds import threshold_entropy, threshold_percentile


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

    header, scales = read_calib_cache(str(tmp_path / "a" / "calib.cache"))
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


@pytest.mark.slow
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
    _, scales = read_calib_cache(str(tmp_path / "out" / "calib.cache"))
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


def test_each_family_gets_its_own_reader(lrs2_tree, tmp_path):
    """The same videos become mel windows and face pairs for wav2lip, portrait crops for
    portrait: build_store picks the reader by the model's data family."""
    made = {}
    for family in ("wav2lip", "portrait"):
        path, summary = build_store(lrs2_tree, str(tmp_path / family), [], family, n=4, seed=0,
                                    progress=False)
        store = SampleStore(path)
        assert store.manifest["reader"] == family and summary["written"] == store.count == 4
        made[family] = store.get(slice(None))
    assert made["wav2lip"]["face"].shape == (4, 6, 96, 96)
    assert made["wav2lip"]["mel"].shape == (4, 1, 80, 16)
    assert set(made["portrait"]) == {"image"}
    assert made["portrait"]["image"].shape == (4, 3, 256, 256)


def test_build_store_dispatches_through_the_registry(monkeypatch, tmp_path):
    monkeypatch.setattr(reader_registry, "_READERS", OrderedDict(reader_registry._READERS))
    calls = []

    def build_test_store(root, out_path, n, seed, progress):
        calls.append((root, out_path, n, seed, progress))
        return out_path, {"written": n}

    register_reader("test-family", build_test_store, describe="anything")
    assert "test-family" in reader_families() and reader_for("test-family").describe == "anything"
    (tmp_path / "data").mkdir()
    result = build_store(str(tmp_path / "data"), str(tmp_path / "store"), [], "test-family",
                         n=5, seed=2, progress=False)
    assert result == (str(tmp_path / "store"), {"written": 5})
    assert calls == [(str(tmp_path / "data"), str(tmp_path / "store"), 5, 2, False)]
    with pytest.raises(ValueError, match="registered twice"):
        register_reader("test-family", build_test_store, describe="anything")


@pytest.mark.parametrize("family", reader_families() + [None])
def test_arrays_work_for_every_family(family, tmp_path):
    data = tmp_path / "arrays"
    data.mkdir()
    rng = np.random.default_rng(0)
    rows = {"x": rng.random((7, 2, 3), dtype=np.float32), "y": rng.random((7, 4), dtype=np.float32)}
    np.savez(data / "part.npz", **rows)
    (data / "README.txt").write_text("what the arrays are")  # a note beside them is no media
    path, summary = build_store(str(data), str(tmp_path / "store"), [("x", (2, 3)), ("y", (4,))],
                                family, n=5, seed=0, progress=False)
    store = SampleStore(path)
    assert store.manifest["reader"] == "arrays" and summary["written"] == store.count == 5
    got = store.get(slice(None))
    for index in range(5):  # every sample is one row of the file, the same row for both inputs
        matches = [r for r in range(7) if np.array_equal(got["x"][index], rows["x"][r])]
        assert len(matches) == 1 and np.array_equal(got["y"][index], rows["y"][matches[0]])


def test_unknown_family_is_an_error_naming_the_families(tmp_path):
    (tmp_path / "data").mkdir()
    np.save(tmp_path / "data" / "x.npy", np.zeros((3, 2), dtype=np.float32))
    with pytest.raises(EdgecError) as info:
        build_store(str(tmp_path / "data"), str(tmp_path / "store"), [("x", (2,))], "talking-cat",
                    n=2, seed=0, progress=False)
    assert "'talking-cat'" in info.value.message
    for family in reader_families():
        assert family in info.value.message
    assert not (tmp_path / "store").exists()


def test_media_without_a_family_asks_for_arrays_or_a_reader(tmp_path):
    synthetic.write_frame_folder(str(tmp_path / "data" / "spk0" / "00000"), n_frames=20)
    with pytest.raises(EdgecError) as info:
        build_store(str(tmp_path / "data"), str(tmp_path / "store"), [("image", (3, 8, 8))], None,
                    n=2, seed=0, progress=False)
    message = info.value.message
    assert "holds frames" in message and "['image']" in message and "--reader" in message
    for family in reader_families():
        assert family in message


@pytest.mark.parametrize("family", reader_families() + [None])
def test_a_folder_with_nothing_to_read_is_an_error(family, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "notes.txt").write_text("no media, no arrays")
    with pytest.raises(EdgecError) as info:
        build_store(str(tmp_path / "data"), str(tmp_path / "store"), [], family, n=2, seed=0,
                    progress=False)
    assert str(tmp_path / "data") in info.value.message and "holds no videos" in info.value.message
    with pytest.raises(EdgecError, match="no such folder"):
        build_store(str(tmp_path / "missing"), str(tmp_path / "store"), [], family, n=2, seed=0,
                    progress=False)


def test_readers_import_no_media_or_torch_libraries():
    code = ("import sys, edgec.calib.datasets, edgec.calib.readers; "
            "print(sorted(set(sys.modules) & {'cv2', 'av', 'torch'}))")
    out = subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE, check=True,
                         universal_newlines=True).stdout
    assert out.strip() == "[]"


def test_calib_modules_import_each_other_without_cycles():
    """Imports at module level and inside functions both count: either closes a cycle."""
    folder = os.path.dirname(synthetic.__file__)
    imports = {}
    for path in glob.glob(os.path.join(folder, "*.py")):
        name = os.path.splitext(os.path.basename(path))[0]
        found = set()
        for node in ast.walk(ast.parse(open(path).read())):
            module = getattr(node, "module", None) or ""
            if isinstance(node, ast.ImportFrom) and module == "edgec.calib":
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and module.startswith("edgec.calib."):
                found.add(module.split(".")[2])
            elif isinstance(node, ast.Import):
                found.update(a.name.split(".")[2] for a in node.names
                             if a.name.startswith("edgec.calib."))
        imports[name] = found
    assert {"datasets", "readers", "wav2lip", "portrait"} <= set(imports)

    def reaches(start, target, seen=()):
        return any(step == target or (step not in seen and reaches(step, target, seen + (step,)))
                   for step in imports.get(start, ()))

    assert [name for name in imports if reaches(name, name)] == []


def test_sampling_is_deterministic_and_spread():
    plan = plan_samples([100, 50, 10], 80, seed=3)
    assert plan == plan_samples([100, 50, 10], 80, seed=3)
    assert plan != plan_samples([100, 50, 10], 80, seed=4)
    assert len(set((c, f) for c, f, _ in plan)) == 80
    assert {c for c, _, _ in plan} == {0, 1, 2}
    assert all(f != r for c, f, r in plan)


def test_cache_round_trip_and_a_tensorrt_written_cache(tmp_path):
    scales = {"input": 0.0078125, "conv1_out": 0.0123}
    header, parsed = parse_calib_cache(format_calib_cache(scales))
    assert header == "TRT-8201-EntropyCalibration2"
    assert parsed["input"] == np.float32(0.0078125)
    assert abs(parsed["conv1_out"] - 0.0123) < 1e-9
    # As TensorRT 8.6 writes it: 1/127 is 0x3c010204 in big-endian float32.
    header, parsed = parse_calib_cache("TRT-8601-EntropyCalibration2\ninput: 3c010204\n"
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
        read_calib_cache(str(path))
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


def _entropy_threshold_by_loops(hist, absmax):
    """NVIDIA's entropy calibration written out plainly, bin by bin (an independent check of
    the vectorised search): zero bin replaced by bin 1, clips from bin 128, KL(P || Q) with P
    the clipped histogram and Q its 128-level version spread over non-empty bins."""
    hist = [float(h) for h in hist]
    hist[0] = hist[1]
    best, best_kl = None, None
    for i in range(128, len(hist) + 1):
        p = hist[:i]
        p[-1] += sum(hist[i:])
        q = [0.0] * i
        for level in range(128):
            lo = int(np.ceil(level * i / 128.0))
            hi = int(np.ceil((level + 1) * i / 128.0))
            members = [j for j in range(lo, min(hi, i)) if hist[j] != 0]
            total = sum(hist[j] for j in range(lo, min(hi, i)))
            for j in members:
                q[j] = total / len(members)
        p_sum, q_sum = sum(p), sum(q)
        kl = 0.0
        for pj, qj in zip(p, q):
            if pj > 0:
                kl = float("inf") if qj == 0 else kl + pj / p_sum * np.log((pj / p_sum) / (qj / q_sum))
        if best_kl is None or kl < best_kl:
            best, best_kl = i, kl
    return best * absmax / len(hist)


@pytest.mark.parametrize("case", ["relu", "gaussian", "sparse"])
def test_entropy_threshold_matches_the_plain_algorithm(case):
    rng = np.random.default_rng({"relu": 1, "gaussian": 2, "sparse": 3}[case])
    if case == "relu":  # half the values exactly zero, as after a ReLU
        values = np.maximum(rng.standard_normal(100000), 0) * rng.lognormal(0, 0.5, 100000)
    elif case == "gaussian":
        values = np.abs(rng.standard_normal(100000))
    else:  # a histogram with empty bins between clusters
        values = np.concatenate([rng.uniform(0, 0.2, 5000), rng.uniform(2.0, 2.1, 50)])
    absmax = float(values.max())
    hist = np.bincount(np.minimum((values * 256 / absmax).astype(int), 255), minlength=256)
    expected = _entropy_threshold_by_loops(hist, absmax)
    assert threshold_entropy({"absmax": absmax, "histogram": hist.tolist()}) == pytest.approx(
        expected, rel=1e-9)


@pytest.mark.parametrize("case", ["smooth", "counts", "sparse"])
def test_all_clips_at_once_equal_each_clip_alone(case):
    """The entropy search's closed form (every clip from prefix sums) against _kl_at, clip by
    clip: the same divergences, and infinite at the same clips (an empty last bin receiving
    outliers; nothing below the clip)."""
    from edgec.quant.calibration.thresholds import QUANT_LEVELS, _kl_all, _kl_at

    rng = np.random.default_rng({"smooth": 4, "counts": 5, "sparse": 6}[case])
    if case == "smooth":
        hist = rng.exponential(1.0, 2048) * 1000
    elif case == "counts":
        hist = np.floor(rng.exponential(1.0, 2048) * 1.5)
    else:
        hist = np.zeros(2048)
        hist[rng.choice(2048, 40, replace=False)] = rng.integers(1, 1000, 40)
    each = np.array([_kl_at(hist, i) for i in range(QUANT_LEVELS, len(hist) + 1)])
    together = _kl_all(hist)
    assert np.array_equal(np.isfinite(each), np.isfinite(together))
    if case != "smooth":
        assert not np.isfinite(each).all()  # the infinite clips are exercised
    finite = np.isfinite(each)
    assert np.allclose(together[finite], each[finite], rtol=1e-10, atol=1e-12)


def test_mse_threshold_is_the_least_error_clip_of_the_raw_values():
    """Against brute force on the values themselves: quantize them at every candidate
    threshold and measure the error directly."""
    from edgec.quant.calibration.thresholds import threshold_mse

    rng = np.random.default_rng(5)
    values = np.abs(rng.laplace(0, 1, 50000))  # a long tail: the best clip is below the max
    absmax = float(values.max())
    bins = 512
    hist = np.bincount(np.minimum((values * bins / absmax).astype(int), bins - 1), minlength=bins)
    found = threshold_mse({"absmax": absmax, "histogram": hist.tolist()})

    def error(threshold):
        step = threshold / 127.0
        return float(np.mean((values - np.minimum(np.round(values / step), 127) * step) ** 2))

    candidates = np.arange(128, bins + 1) * absmax / bins
    best = candidates[int(np.argmin([error(t) for t in candidates]))]
    assert found < 0.9 * absmax  # clipped, not the maximum
    # The histogram stands each value at its bin centre: the two optima are close, and the
    # histogram's choice costs at most 2% more error on the raw values.
    assert abs(found - best) <= 0.05 * best
    assert error(found) <= 1.02 * error(best)
