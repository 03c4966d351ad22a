"""`edgec distill`: train the student against the frozen teacher, resumably.

Everything a run needs to continue is in one checkpoint file, written atomically every
`checkpoint_every` steps, at the time limit, on Ctrl-C and at the end: student, adapters,
optimizer, step, loss log and settings. Batches are drawn from a generator seeded by
(seed, step), so a resumed run draws the batches the uninterrupted run would have drawn.
"""
import io
import os
import time
from collections import OrderedDict
from typing import Callable, Dict, List, Optional

import numpy as np

from edgec import artifacts
from edgec.errors import EdgecError
from edgec.fileio import atomic_write_bytes, atomic_write_json, sha256_file

LOG_EVERY = 25  # steps per loss-log entry (the mean over those steps)
DISTILL_HOLDOUT = 0.1


class DistillSettings(object):
    """What a distillation run is: its models, its objective and its schedule."""

    def __init__(self, teacher_checkpoint, teacher_model="wav2lip", student="lite-wav2lip",
                 steps=20000, batch_size=32, lr=2e-4, seed=0, device="auto", weights=None,
                 vgg_path=None, checkpoint_every=500, time_limit=None, student_checkpoint=None,
                 eval_samples=256, syncnet_path=None, holdout=DISTILL_HOLDOUT):
        from edgec.distill.objective import DEFAULT_WEIGHTS

        self.teacher_checkpoint = teacher_checkpoint
        self.teacher_model = teacher_model
        self.student = student
        self.steps = steps
        self.batch_size = batch_size
        self.lr = lr
        self.seed = seed
        self.device = device
        self.weights = OrderedDict(DEFAULT_WEIGHTS)
        self.weights.update(weights or {})
        self.vgg_path = vgg_path
        self.syncnet_path = syncnet_path
        self.checkpoint_every = checkpoint_every
        self.time_limit = time_limit
        self.student_checkpoint = student_checkpoint
        self.eval_samples = eval_samples
        # Without --eval-data: the share of the training samples held out, split by the rule
        # every quality figure follows (quant.quality.splits): trained on the calibration
        # split, measured on the test split.
        self.holdout = holdout

    def identity(self) -> Dict[str, object]:
        """What a resumed run must share with the run it continues (the schedule may change:
        more steps, another time limit)."""
        return {"teacher_model": self.teacher_model, "student": self.student,
                "teacher_sha256": sha256_file(self.teacher_checkpoint),
                "weights": dict(self.weights), "batch_size": self.batch_size, "lr": self.lr,
                "seed": self.seed,
                "vgg_sha256": sha256_file(self.vgg_path) if self.vgg_path else None,
                "syncnet_sha256": sha256_file(self.syncnet_path) if self.syncnet_path else None,
                "student_init_sha256": (sha256_file(self.student_checkpoint)
                                        if self.student_checkpoint else None)}


def resolve_models(settings: DistillSettings):
    """(teacher entry, student entry), refusing pairs that cannot be distilled."""
    from edgec.models.registry import get_model, model_names

    entries = []
    for role, name in (("teacher", settings.teacher_model), ("student", settings.student)):
        if name not in model_names():
            raise EdgecError("--%s %r is not a zoo model; distillation needs zoo models "
                             "(`edgec models` lists them)" % ("teacher-model" if role == "teacher"
                                                              else "student", name))
        entries.append(get_model(name))
    teacher, student = entries
    t_inputs = [(i.name, i.shape) for i in teacher.inputs]
    s_inputs = [(i.name, i.shape) for i in student.inputs]
    if t_inputs != s_inputs:
        raise EdgecError("student %s takes inputs %s, teacher %s takes %s: a student learns from "
                         "its teacher on the same inputs" % (student.name, s_inputs, teacher.name,
                                                             t_inputs))
    return teacher, student


def load_store_tensors(store_path: str, input_names: List[str], device: str, indices=None):
    """The store's model inputs (all samples, or `indices`) as float32 tensors on `device`:
    training draws random batches from the whole set."""
    import torch

    from edgec.calib.store import SampleStore

    store = SampleStore(store_path)
    missing = [n for n in input_names if n not in [i.name for i in store.inputs]]
    if missing:
        raise EdgecError("sample store %s has no %s: it was not made for this model's inputs"
                         % (store_path, ", ".join(missing)))
    indices = np.arange(store.count) if indices is None else np.asarray(indices)
    if len(indices) == 0:
        raise EdgecError("sample store %s: no samples to use" % store_path)
    out = {name: [] for name in input_names}  # type: Dict[str, list]
    for batch in store.batches(indices, 512):
        for name in input_names:
            out[name].append(torch.from_numpy(np.ascontiguousarray(batch[name], np.float32)))
    return {name: torch.cat(parts).to(device) for name, parts in out.items()}


def read_checkpoint(path: str) -> Dict[str, object]:
    """A resume checkpoint, loaded without running pickled code; a damaged file is refused."""
    import pickle

    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EdgecError("distillation checkpoint %s cannot be read (%s): it is damaged or not "
                         "an edgec distillation checkpoint; nothing was changed. Delete it to "
                         "start over, or restore a good copy" % (path, text[:200]))
    if not isinstance(state, dict) or state.get("format") != "edgec-distill/1":
        raise EdgecError("%s is not an edgec distillation checkpoint (no edgec-distill/1 "
                         "format tag); nothing was changed" % path)
    return state


def _save_torch(path: str, obj) -> None:
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _lr_factor(step: int, total: int) -> float:
    """OMGD's schedule: constant for the first half, then linear decay towards zero."""
    half = total // 2
    if step < half:
        return 1.0
    return max(0.0, 1.0 - (step - half) / float(max(1, total - half)))


def evaluate_student(student, teacher, data: Dict[str, "object"], batch: int = 128
                     ) -> Dict[str, float]:
    """Student vs teacher outputs on held-out inputs: PSNR (peak 1: sigmoid outputs), SSIM."""
    import torch

    from edgec.quant.quality.metrics import QualitySums

    sums = QualitySums()
    student.eval()
    names = list(data)
    count = int(data[names[0]].shape[0])
    with torch.no_grad():
        for start in range(0, count, batch):
            feed = {n: data[n][start:start + batch] for n in names}
            sums.update(teacher(**feed).float(), student(**feed).float(), 1.0)
    student.train()
    result = sums.result(1.0)
    return {"psnr_db": result["psnr_db"], "ssim": result["ssim"],
            "max_abs_error": result["max_abs_error"], "samples": result["samples"]}


def split_indices(train_store: str, eval_store: Optional[str], holdout: float,
                  eval_samples: int):
    """(training indices, held-out indices or None, held-out store): with --eval-data the
    held-out faces come from there (clips never trained on); otherwise the training store's
    splits (quant.quality.splits, the rule of every quality figure): training on the
    calibration split, figures on the test split, which shares clips with training
    (neighbouring frames), and the record says so."""
    from edgec.calib.store import SampleStore
    from edgec.quant.quality.splits import CALIBRATION, TEST, SampleSplits

    if eval_store:
        held = np.arange(min(eval_samples, SampleStore(eval_store).count))
        return None, held, eval_store
    splits = SampleSplits(SampleStore(train_store), holdout)
    return splits.indices(CALIBRATION), splits.indices(TEST, eval_samples), train_store


def sync_runs(train_store: str, train_idx) -> np.ndarray:
    """Runs of five consecutive frames among the training samples, as rows of the training
    tensors (which hold the samples `train_idx`, in order)."""
    from edgec.calib.store import SampleStore
    from edgec.distill.syncnet import SYNC_FRAMES, frame_runs

    store = SampleStore(train_store)
    positions = store.manifest.get("positions")
    if not positions or len(positions) != store.count:
        raise EdgecError("--syncnet: sample store %s does not record which clip and frame each "
                         "sample is (stores made by the Wav2Lip reader do); the lip-sync term "
                         "needs runs of %d consecutive frames" % (train_store, SYNC_FRAMES))
    indices = np.arange(store.count) if train_idx is None else np.asarray(train_idx)
    runs = frame_runs(positions, indices)
    if len(runs) == 0:
        raise EdgecError("--syncnet: the training samples of %s hold no run of %d consecutive "
                         "frames of one clip: give --samples at least the number of frames in "
                         "the data, so that whole clips are taken" % (train_store, SYNC_FRAMES))
    row_of = {int(index): row for row, index in enumerate(indices)}
    return np.vectorize(row_of.__getitem__)(runs).astype(np.int64)


def resumable_state(settings: DistillSettings, out_dir: str, resume: bool):
    """The checkpoint to resume from (None for a new run), refusing before any work: a damaged
    or mismatched checkpoint, or a new run over an existing one."""
    checkpoint_path = os.path.join(out_dir, artifacts.DISTILL_CHECKPOINT)
    if not resume:
        if os.path.isfile(checkpoint_path):
            raise EdgecError("%s already holds a distillation run (%s): --resume continues it; "
                             "nothing was overwritten" % (out_dir, artifacts.DISTILL_CHECKPOINT))
        return None
    if not os.path.isfile(checkpoint_path):
        raise EdgecError("--resume: %s holds no distillation checkpoint (%s)"
                         % (out_dir, artifacts.DISTILL_CHECKPOINT))
    state = read_checkpoint(checkpoint_path)
    identity = settings.identity()
    if state["identity"] != identity:
        changed = sorted(k for k in identity if state["identity"].get(k) != identity[k])
        raise EdgecError("--resume: %s was made with other settings (%s differ); resume with "
                         "the same teacher, student, weights, batch size, lr and seed, or start "
                         "a new run in another folder" % (checkpoint_path, ", ".join(changed)))
    return state


def run_distill(settings: DistillSettings, train_store: str, eval_store: Optional[str],
                out_dir: str, resume: bool, say: Callable[[str], None],
                progress: bool = True, teacher=None,
                state=None) -> Dict[str, object]:
    """Train, checkpointing as it goes; returns the run's record (also distill.json).
    `teacher` and `state`: the loaded teacher and resume checkpoint, when the caller has
    already checked them (edgec.pipeline.distill does, before making any data)."""
    import torch

    from edgec.distill.losses import ChannelAdapters, load_vgg16
    from edgec.distill.objective import (DistillObjective, LayerTaps, block_channels,
                                         decoder_block_names)
    from edgec.distill.plot import plot_losses
    from edgec.progress import progress_bar
    from edgec.quant.evaluator.device import pick_device

    teacher_entry, student_entry = resolve_models(settings)
    checkpoint_path = os.path.join(out_dir, artifacts.DISTILL_CHECKPOINT)
    if state is None:
        state = resumable_state(settings, out_dir, resume)
    device = pick_device(settings.device)
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    if teacher is None:
        teacher = teacher_entry.build(settings.teacher_checkpoint)
    teacher = teacher.to(device).requires_grad_(False)
    torch.manual_seed(settings.seed)
    student = student_entry.factory()
    if settings.student_checkpoint:
        student = student_entry.build(settings.student_checkpoint)
    student = student.to(device).train()
    names = [i.name for i in student_entry.inputs]
    example = {n: torch.from_numpy(v).to(device)
               for n, v in student_entry.dummy_inputs(2, settings.seed).items()}
    t_layers = decoder_block_names(teacher, "teacher", teacher_entry.name)
    s_layers = decoder_block_names(student, "student", student_entry.name)
    if len(t_layers) != len(s_layers):
        raise EdgecError("teacher %s has %d decoder blocks, student %s %d: channel distillation "
                         "pairs them one to one" % (teacher_entry.name, len(t_layers),
                                                    student_entry.name, len(s_layers)))
    adapters = ChannelAdapters(block_channels(student.eval(), s_layers, example),
                               block_channels(teacher, t_layers, example)).to(device)
    student.train()
    vgg = load_vgg16(settings.vgg_path).to(device) if settings.vgg_path else None
    syncnet = None
    if settings.syncnet_path:
        from edgec.distill.syncnet import load_syncnet

        syncnet = load_syncnet(settings.syncnet_path).to(device)
    objective = DistillObjective(settings.weights, adapters, vgg, syncnet)
    params = list(student.parameters()) + list(adapters.parameters())
    optimizer = torch.optim.Adam(params, lr=settings.lr, betas=(0.5, 0.999))

    train_idx, held_idx, held_store = split_indices(train_store, eval_store, settings.holdout,
                                                    settings.eval_samples)
    train = load_store_tensors(train_store, names, device, train_idx)
    count = int(train[names[0]].shape[0])
    held = (load_store_tensors(held_store, names, device, held_idx)
            if held_idx is not None and len(held_idx) else None)
    runs = sync_runs(train_store, train_idx) if "sync" in objective.active_terms() else None
    step, losses, seconds_before = 0, [], 0.0
    if state is not None:
        student.load_state_dict(state["student"])
        adapters.load_state_dict(state["adapters"])
        optimizer.load_state_dict(state["optimizer"])
        step, losses = int(state["step"]), list(state["losses"])
        seconds_before = float(state["seconds"])
        say("resuming at step %d of %d" % (step, settings.steps))
    if step >= settings.steps:
        say("already at step %d of %d: nothing to train" % (step, settings.steps))

    t_taps, s_taps = LayerTaps(teacher, t_layers), LayerTaps(student, s_layers)
    start_time = time.time()
    pending = {}  # type: Dict[str, List[float]]
    stopped = "finished"

    identity = settings.identity()  # hashes the teacher file: once, not at every checkpoint

    def save(reason: str) -> None:
        elapsed = seconds_before + time.time() - start_time
        _save_torch(checkpoint_path, {
            "format": "edgec-distill/1", "identity": identity, "step": step,
            "student": student.state_dict(), "adapters": adapters.state_dict(),
            "optimizer": optimizer.state_dict(), "losses": losses, "seconds": elapsed,
            "reason": reason})
        _save_torch(os.path.join(out_dir, artifacts.DISTILL_STUDENT), student.state_dict())

    os.makedirs(out_dir, exist_ok=True)
    try:
        with progress_bar(total=settings.steps, desc="distill", unit="step",
                          enabled=progress) as bar:
            bar.update(step)
            while step < settings.steps:
                generator = torch.Generator().manual_seed(settings.seed * 1000003 + step)
                index = torch.randint(0, count, (settings.batch_size,), generator=generator)
                index = index.to(device)
                feed = {n: train[n][index] for n in names}
                with torch.no_grad():
                    teacher_out = teacher(**feed)
                teacher_feats = t_taps.take()
                student_out = student(**feed)
                student_feats = s_taps.take()
                sync_mel = sync_frames = None
                if runs is not None:
                    pick = torch.randint(0, len(runs), (max(1, settings.batch_size // 5),),
                                         generator=generator)
                    rows = torch.from_numpy(runs[pick.numpy()]).to(device)
                    sync_frames = student(**{n: train[n][rows.reshape(-1)] for n in names})
                    sync_mel = train["mel"][rows[:, 0]]
                    s_taps.take()  # the sync pass's block outputs are not distilled
                total, values = objective(student_out, teacher_out, student_feats, teacher_feats,
                                          sync_mel, sync_frames)
                if not torch.isfinite(total):
                    raise EdgecError("distillation diverged at step %d (loss %s): lower --lr; "
                                     "the last checkpoint (%s) is intact"
                                     % (step, float(total), checkpoint_path))
                for group in optimizer.param_groups:
                    group["lr"] = settings.lr * _lr_factor(step, settings.steps)
                optimizer.zero_grad(set_to_none=True)
                total.backward()
                optimizer.step()
                step += 1
                bar.update(1)
                pending.setdefault("total", []).append(float(total.detach()))
                for name, value in values.items():
                    pending.setdefault(name, []).append(float(value.detach()))
                if step % LOG_EVERY == 0 or step == settings.steps:
                    entry = {"step": step}
                    entry.update({k: float(np.mean(v)) for k, v in pending.items()})
                    losses.append(entry)
                    pending = {}
                    bar.set_postfix_str("loss %.4g" % entry["total"])
                if step % settings.checkpoint_every == 0:
                    save("periodic")
                if settings.time_limit and time.time() - start_time >= settings.time_limit:
                    stopped = "time limit"
                    break
    except KeyboardInterrupt:
        save("interrupted")
        say("interrupted at step %d: saved %s; --resume continues" % (step, checkpoint_path))
        raise
    save(stopped)
    t_taps.remove()
    s_taps.remove()

    quality = evaluate_student(student, teacher, held) if held is not None else None
    seconds = seconds_before + time.time() - start_time
    record = OrderedDict([
        ("format", "edgec-distill/1"), ("teacher", teacher_entry.name),
        ("teacher_checkpoint", os.path.abspath(settings.teacher_checkpoint)),
        ("student", student_entry.name), ("device", device), ("step", step),
        ("steps", settings.steps), ("stopped", stopped), ("seconds", round(seconds, 1)),
        ("train_samples", count), ("train_store", os.path.abspath(train_store)),
        ("eval_store", os.path.abspath(eval_store) if eval_store else None),
        ("held_out", "--eval-data (clips never trained on)" if eval_store else
         "the test split of %.0f%% held out of the training samples (frames of the training "
         "clips)" % (100 * settings.holdout)),
        ("objective", {"weights": dict(settings.weights), "terms": objective.active_terms(),
                       "cd_layers": list(zip(s_layers, t_layers))}),
        ("settings", {"batch_size": settings.batch_size, "lr": settings.lr,
                      "seed": settings.seed, "vgg": settings.vgg_path,
                      "syncnet": settings.syncnet_path,
                      "sync_windows": int(len(runs)) if runs is not None else None}),
        ("final_losses", losses[-1] if losses else None),
        ("student_vs_teacher", quality),
        ("student_weights", os.path.join(out_dir, artifacts.DISTILL_STUDENT)),
        ("losses", losses)])
    atomic_write_json(os.path.join(out_dir, artifacts.DISTILL_JSON), record)
    if losses:
        plot_losses(record, os.path.join(out_dir, artifacts.DISTILL_LOSS_PNG))
    return record

