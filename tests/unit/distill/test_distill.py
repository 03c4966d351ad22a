"""`edgec distill`: the objective's terms, resumable training, and refusals of bad inputs."""
import hashlib
import json
import os

import numpy as np
import pytest
import torch

from edgec import artifacts
from edgec.calib.store import SampleStoreWriter
from edgec.calib.wav2lip import WAV2LIP_STORE_INPUTS
from edgec.distill.losses import ChannelAdapters, VGG16Features, load_vgg16, ssim, total_variation
from edgec.distill.objective import DECODER_BLOCKS
from edgec.errors import EdgecError
from edgec.models import get_model


def _sha(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.fixture(scope="module")
def wav2lip_store(tmp_path_factory):
    """A small sample store of Wav2Lip inputs (what --data may be given directly)."""
    path = str(tmp_path_factory.mktemp("store") / "samples")
    rng = np.random.default_rng(3)
    with SampleStoreWriter(path, WAV2LIP_STORE_INPUTS, 20) as writer:
        for _ in range(20):
            writer.append({"mel": rng.uniform(-4, 4, (1, 80, 16)).astype(np.float32),
                           "face": rng.integers(0, 256, (6, 96, 96)).astype(np.uint8)})
        # Two clips of ten frames, the second missing its frame 4: runs of five frames start at
        # samples 0-5 (clip 0) and 15 (clip 1, frames 5-9).
        positions = [[0, f] for f in range(10)] + [[1, f] for f in range(11) if f != 4]
        writer.close({"reader": "test", "positions": positions})
    return path


@pytest.fixture(scope="module")
def teacher_checkpoint(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("teacher") / "teacher.pth")
    torch.save({"state_dict": get_model("wav2lip").build().state_dict()}, path)
    return path


def _distill(run_cli, teacher, data, out, *extra):
    return run_cli("distill", "--teacher", teacher, "--data", data, "--batch-size", 2,
                   "--device", "cpu", "--no-progress", "-o", out, *extra)


def test_ssim_is_one_for_equal_images_and_falls_with_noise():
    gen = torch.Generator().manual_seed(0)
    image = torch.rand(2, 3, 32, 32, generator=gen)
    assert float(ssim(image, image)) == pytest.approx(1.0, abs=1e-5)
    noisy = (image + 0.2 * torch.randn(image.shape, generator=gen)).clamp(0, 1)
    assert float(ssim(image, noisy)) < 0.9
    noisy.requires_grad_(True)
    (1 - ssim(image, noisy)).backward()
    assert noisy.grad is not None and float(noisy.grad.abs().sum()) > 0


def test_total_variation_matches_neighbour_differences():
    image = torch.rand(3, 3, 8, 9, generator=torch.Generator().manual_seed(1))
    array = image.numpy()
    expected = (np.abs(np.diff(array, axis=3)).sum() + np.abs(np.diff(array, axis=2)).sum()) / 3
    assert float(total_variation(image)) == pytest.approx(float(expected), rel=1e-5)
    assert float(total_variation(torch.ones(2, 3, 8, 8))) == 0.0


def test_channel_distillation_compares_channel_means_through_adapters():
    adapters = ChannelAdapters([4], [6]).eval()
    student = torch.rand(2, 4, 5, 5)
    teacher = torch.rand(2, 6, 5, 5)
    with torch.no_grad():
        mapped = adapters.adapters[0](student).mean(dim=(2, 3))
        expected = ((mapped - teacher.mean(dim=(2, 3))) ** 2).mean()
    with torch.no_grad():
        value = float(adapters([student], [teacher]))
    assert value == pytest.approx(float(expected), rel=1e-6)


def test_vgg16_loads_torchvision_layout_and_refuses_other_files(tmp_path):
    state = VGG16Features().state_dict()
    good = str(tmp_path / "vgg16.pth")
    torch.save({k: v for k, v in state.items() if k.startswith("features.")}, good)
    taps = load_vgg16(good)(torch.rand(1, 3, 32, 32))
    assert [t.shape[1] for t in taps] == [64, 128, 256, 512]
    bad = str(tmp_path / "other.pth")
    torch.save({"features.0.weight": torch.zeros(1)}, bad)
    with pytest.raises(EdgecError, match="other.pth"):
        load_vgg16(bad)


def test_distill_writes_a_student_that_loads_with_checkpoint(run_cli, tmp_path, wav2lip_store,
                                                             teacher_checkpoint):
    out = str(tmp_path / "run")
    result = _distill(run_cli, teacher_checkpoint, wav2lip_store, out, "--steps", 4, "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["step"] == 4 and record["stopped"] == "finished"
    assert record["objective"]["terms"] == ["ssim", "tv", "cd"]  # no VGG given: no VGG terms
    assert len(record["objective"]["cd_layers"]) == 7  # the seven decoder blocks
    assert all(s.startswith(DECODER_BLOCKS) for s, _ in record["objective"]["cd_layers"])
    # 10% of 20 held out, halved into selection and test by the rule of every quality figure:
    # the student is measured on the test split's one sample, trained on the other 18.
    assert record["student_vs_teacher"]["samples"] == 1
    assert "test split" in record["held_out"]
    for name in (artifacts.DISTILL_STUDENT, artifacts.DISTILL_JSON, artifacts.DISTILL_LOSS_PNG,
                 artifacts.DISTILL_CHECKPOINT):
        assert os.path.isfile(os.path.join(out, name)), name
    student = get_model("lite-wav2lip").build(os.path.join(out, artifacts.DISTILL_STUDENT))
    untrained = get_model("lite-wav2lip").build()
    assert any(not torch.equal(a, b) for a, b in zip(student.state_dict().values(),
                                                      untrained.state_dict().values()))


def test_resumed_run_equals_the_uninterrupted_run(run_cli, tmp_path, wav2lip_store,
                                                  teacher_checkpoint):
    whole, split = str(tmp_path / "whole"), str(tmp_path / "split")
    assert _distill(run_cli, teacher_checkpoint, wav2lip_store, whole, "--steps", 6).exit_code == 0
    # Stopped by its time limit after its first step, as a killed run stops at a checkpoint.
    first = _distill(run_cli, teacher_checkpoint, wav2lip_store, split, "--steps", 6,
                     "--time-limit", "0.001", "--json")
    assert first.exit_code == 0 and json.loads(first.output)["step"] < 6
    resumed = _distill(run_cli, teacher_checkpoint, wav2lip_store, split, "--steps", 6, "--resume")
    assert resumed.exit_code == 0, resumed.output
    a = torch.load(os.path.join(whole, artifacts.DISTILL_STUDENT), weights_only=True)
    b = torch.load(os.path.join(split, artifacts.DISTILL_STUDENT), weights_only=True)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_bad_inputs_are_refused_and_nothing_is_overwritten(run_cli, tmp_path, wav2lip_store,
                                                           teacher_checkpoint):
    out = str(tmp_path / "run")
    assert _distill(run_cli, teacher_checkpoint, wav2lip_store, out, "--steps", 2).exit_code == 0
    before = {n: _sha(os.path.join(out, n)) for n in os.listdir(out)
              if os.path.isfile(os.path.join(out, n))}

    # A teacher checkpoint of the wrong model: the error names the file and the fitting model.
    student_pth = os.path.join(out, artifacts.DISTILL_STUDENT)
    result = _distill(run_cli, student_pth, wav2lip_store, str(tmp_path / "r2"))
    assert result.exit_code == 2
    assert student_pth in result.output and "lite-wav2lip" in result.output
    assert not os.path.exists(str(tmp_path / "r2"))  # refused before any data work

    result = _distill(run_cli, teacher_checkpoint, wav2lip_store, str(tmp_path / "r3"),
                      "--student", "not-a-model")
    assert result.exit_code == 2 and "not-a-model" in result.output
    result = _distill(run_cli, teacher_checkpoint, wav2lip_store, str(tmp_path / "r3"),
                      "--student", "liveportrait-motion")
    assert result.exit_code == 2 and "same inputs" in result.output

    empty = tmp_path / "empty"
    empty.mkdir()
    result = _distill(run_cli, teacher_checkpoint, str(empty), str(tmp_path / "r4"))
    assert result.exit_code == 2 and "--data" in result.output and str(empty) in result.output

    # A new run over an existing one, and a resume from a damaged checkpoint.
    result = _distill(run_cli, teacher_checkpoint, wav2lip_store, out, "--steps", 2)
    assert result.exit_code == 2 and "--resume" in result.output
    checkpoint = os.path.join(out, artifacts.DISTILL_CHECKPOINT)
    with open(checkpoint, "rb") as handle:
        data = handle.read()
    with open(checkpoint, "wb") as handle:
        handle.write(data[:len(data) // 3])
    before[artifacts.DISTILL_CHECKPOINT] = _sha(checkpoint)
    result = _distill(run_cli, teacher_checkpoint, wav2lip_store, out, "--steps", 4, "--resume")
    assert result.exit_code == 2 and checkpoint in result.output and "damaged" in result.output
    after = {n: _sha(os.path.join(out, n)) for n in before}
    assert after == before

    result = _distill(run_cli, teacher_checkpoint, wav2lip_store, out, "--weight", "nope=1")
    assert result.exit_code == 2 and "unknown term" in result.output


def test_reader_target_is_the_unmasked_frame(tmp_path, lrs2_tree):
    from edgec.calib.store import SampleStore
    from edgec.calib.wav2lip import build_wav2lip_store

    path, summary = build_wav2lip_store(lrs2_tree, str(tmp_path / "s"), 6, 0, progress=False,
                                        with_target=True)
    store = SampleStore(path)
    target = store.rows("target", slice(None))
    face = store.rows("face", slice(None))
    assert target.shape == (summary["written"], 3, 96, 96)
    assert np.array_equal(face[:, :3, :48], target[:, :, :48])  # upper half: the input
    assert not face[:, :3, 48:].any() and target[:, :, 48:].any()  # lower half: masked


def test_frame_runs_finds_five_consecutive_frames_of_one_clip():
    from edgec.distill.syncnet import frame_runs

    positions = [[0, f] for f in range(10)] + [[1, f] for f in range(11) if f != 4]
    runs = frame_runs(positions, range(20))
    assert [list(r) for r in runs] == [list(range(s, s + 5)) for s in range(6)] + [
        list(range(14, 19)), list(range(15, 20))]
    assert len(frame_runs(positions, [0, 1, 2, 3, 5, 6])) == 0  # frame 4 not allowed


def test_syncnet_term_with_original_format_weights(run_cli, tmp_path, wav2lip_store,
                                                   teacher_checkpoint):
    from conftest import save_original_format

    from edgec.distill.syncnet import SyncNet, load_syncnet, stack_lower_halves

    path = str(tmp_path / "lipsync_expert.pth")
    save_original_format(SyncNet(), path)
    syncnet = load_syncnet(path)
    frames = torch.rand(10, 3, 96, 96)
    stacked = stack_lower_halves(frames)
    assert stacked.shape == (2, 15, 48, 96)
    assert torch.equal(stacked[1, 3:6], frames[6, :, 48:])  # window 1, its second frame
    audio, face = syncnet(torch.rand(2, 1, 80, 16), stacked)
    assert audio.shape == face.shape == (2, 512)

    result = _distill(run_cli, teacher_checkpoint, wav2lip_store, str(tmp_path / "run"),
                      "--steps", 2, "--syncnet", path, "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert "sync" in record["objective"]["terms"] and record["final_losses"]["sync"] > 0
    assert record["settings"]["sync_windows"] > 0

    wrong = str(tmp_path / "wrong.pth")
    torch.save(get_model("lite-wav2lip").build().state_dict(), wrong)
    result = _distill(run_cli, teacher_checkpoint, wav2lip_store, str(tmp_path / "r2"),
                      "--syncnet", wrong)
    assert result.exit_code == 2 and "--syncnet" in result.output and wrong in result.output
