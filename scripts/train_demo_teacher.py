"""Train the demo teacher: the zoo Wav2Lip on real public faces, on the GPU machine.

Training clips: lrs2-mini and the portraits videos with audio, except the held-out people of
scripts/demo_split.py, whose clips make the evaluation store (and the shipped demo data). Two
steps: `--pack-only` decodes the clips and crops the faces (PyAV, OpenCV) into small packs, on
any machine; then the training run, on the GPU machine, needs only torch, numpy and Pillow. The
objective is Wav2Lip's reconstruction loss (L1 to the real frame); there is no SyncNet and no
discriminator here, so the teacher learns to fill the masked lower half from the reference
frame and the audio, not lip sync. Writes WORK/train-store and WORK/eval-store (edgec sample
stores, with the real frame as `target`), WORK/teacher.pth, WORK/teacher.json and
WORK/teacher-loss.png.

    python scripts/train_demo_teacher.py --pack-only --portraits ../shared/data/portraits \
        --lrs2 ../shared/data/lrs2-mini --work work
    python scripts/train_demo_teacher.py --work work --seconds 240
"""
import argparse
import io
import json
import os
import sys
import time
from multiprocessing import Pool

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from demo_split import HELD_OUT  # noqa: E402

PACK_JPEG_QUALITY = 95


def clip_lists(portraits, lrs2):
    videos = sorted(os.path.join(portraits, "videos", f) for f in os.listdir(
        os.path.join(portraits, "videos")) if f.endswith(".mp4"))
    held = [v for v in videos if os.path.basename(v)[:-4] in HELD_OUT]
    train = [v for v in videos if v not in held]
    for folder, _, files in sorted(os.walk(lrs2)):
        train += [os.path.join(folder, f) for f in sorted(files) if f.endswith(".mp4")]
    return train, held


def pack_clip(job):
    """Every valid frame of one clip with a face: its 96x96 crop (JPEG) and mel window, by the
    Wav2Lip reader's own decoding, detection and smoothing. Packed small, so the data can
    travel to a GPU machine that has neither PyAV nor OpenCV's face detector."""
    import cv2

    from edgec.calib import mel as melmod
    from edgec.calib.faces import HaarFaceDetector
    from edgec.calib.media import MediaError
    from edgec.calib.wav2lip import VideoClip

    clip_path, out = job
    try:
        clip = VideoClip(clip_path)
    except MediaError as exc:
        return clip_path, 0, str(exc)
    mel, crops = clip.load(list(range(clip.valid)), HaarFaceDetector())
    frames, jpegs, windows = [], [], []
    for index in range(clip.valid):
        window = melmod.mel_window(mel, index, clip.fps)
        if crops.get(index) is None or window is None:
            continue
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(crops[index], cv2.COLOR_RGB2BGR),
                                [cv2.IMWRITE_JPEG_QUALITY, PACK_JPEG_QUALITY])
        frames.append(index)
        jpegs.append(np.frombuffer(jpeg.tobytes(), np.uint8))
        windows.append(window.astype(np.float16))
    if not frames:
        return clip_path, 0, "no face found"
    np.savez(out, frames=np.array(frames), mel=np.stack(windows),
             jpeg=np.concatenate(jpegs), offsets=np.cumsum([0] + [len(j) for j in jpegs]),
             fps=clip.fps, name=os.path.basename(clip_path))
    return clip_path, len(frames), None


def pack(portraits, lrs2, pack_dir, workers):
    train, held = clip_lists(portraits, lrs2)
    os.makedirs(pack_dir, exist_ok=True)
    jobs = [(c, os.path.join(pack_dir, "%s-%02d.npz" % ("held" if c in held else "train", i)))
            for i, c in enumerate(train + held)]
    with Pool(workers) as pool:
        for clip, count, error in pool.imap(pack_clip, jobs):
            print("  %s: %s" % (os.path.basename(clip), error or "%d frames" % count), flush=True)


def unpack_store(pack_files, out, seed):
    """An edgec sample store (mel, face = masked target + reference, target) from packed clips;
    each frame's reference is another frame of its clip, drawn as the Wav2Lip reader does."""
    from PIL import Image

    from edgec.calib.store import SampleStoreWriter
    from edgec.calib.wav2lip import WAV2LIP_STORE_INPUTS, WAV2LIP_TARGET, wav2lip_face_input

    packs = [np.load(f) for f in pack_files]
    rng = np.random.default_rng(seed)
    total = sum(len(p["frames"]) for p in packs)
    positions = []  # [clip, frame] per sample: the lip-sync term finds runs of frames by them
    with SampleStoreWriter(out, WAV2LIP_STORE_INPUTS + [WAV2LIP_TARGET], total) as writer:
        for clip_id, packed in enumerate(packs):
            offsets = packed["offsets"]
            crops = [np.asarray(Image.open(io.BytesIO(packed["jpeg"][a:b].tobytes())).convert("RGB"))
                     for a, b in zip(offsets[:-1], offsets[1:])]
            for i, crop in enumerate(crops):
                ref = int(rng.integers(0, len(crops) - 1)) if len(crops) > 1 else i
                ref += int(len(crops) > 1 and ref >= i)
                writer.append({"mel": packed["mel"][i][None].astype(np.float32),
                               "face": wav2lip_face_input(crop, crops[ref]),
                               "target": crop.transpose(2, 0, 1)})
                positions.append([clip_id, int(packed["frames"][i])])
        writer.close({"reader": "wav2lip (packed by scripts/train_demo_teacher.py)",
                      "clips": [str(p["name"]) for p in packs], "positions": positions,
                      "summary": {"clips": len(packs), "written": total}})
    return {"clips": [str(p["name"]) for p in packs], "frames": total}


def make_stores(pack_dir, work, seed):
    files = sorted(os.listdir(pack_dir))
    return {name: unpack_store([os.path.join(pack_dir, f) for f in files if f.startswith(prefix)],
                               os.path.join(work, name), seed)
            for name, prefix in (("train-store", "train-"), ("eval-store", "held-"))}


def load(store_path, device):
    import torch

    from edgec.calib.store import SampleStore

    store = SampleStore(store_path)
    return {name: torch.from_numpy(store.rows(name, slice(None))).to(device)
            for name in ("mel", "face", "target")}


def as_float(data, index):
    return (data["mel"][index].float(), data["face"][index].float() / 255.0,
            data["target"][index].float() / 255.0)


def psnr_on(model, data, batch=256):
    """PSNR of the model's output against the real frame: whole face and lower half."""
    import torch

    count = data["mel"].shape[0]
    sq, sq_low, n, n_low = 0.0, 0.0, 0, 0
    model.eval()
    with torch.no_grad():
        for start in range(0, count, batch):
            index = torch.arange(start, min(count, start + batch), device=data["mel"].device)
            mel, face, target = as_float(data, index)
            diff = (model(mel, face) - target).double()
            sq += float((diff ** 2).sum())
            n += diff.numel()
            low = diff[:, :, diff.shape[2] // 2:]
            sq_low += float((low ** 2).sum())
            n_low += low.numel()
    model.train()
    return {"psnr_db": 10 * np.log10(n / sq), "lower_half_psnr_db": 10 * np.log10(n_low / sq_low),
            "frames": int(count)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portraits", help="with --pack-only: the portraits data folder")
    parser.add_argument("--lrs2", help="with --pack-only: the lrs2-mini folder")
    parser.add_argument("--pack-only", action="store_true",
                        help="only decode, detect and pack the clips into WORK/pack (on a "
                             "machine with PyAV and OpenCV)")
    parser.add_argument("--work", required=True)
    parser.add_argument("--seconds", type=float, default=240.0, help="training time")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-4, help="Wav2Lip's learning rate")
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import torch

    from edgec.fileio import atomic_write_bytes, atomic_write_json
    from edgec.models.registry import get_model

    os.makedirs(args.work, exist_ok=True)
    pack_dir = os.path.join(args.work, "pack")
    if args.pack_only:
        pack(args.portraits, args.lrs2, pack_dir, args.workers)
        return
    started = time.time()
    data_summary = make_stores(pack_dir, args.work, args.seed)
    store_seconds = time.time() - started
    print("stores: %s in %.0f s" % (json.dumps({k: v["frames"] for k, v in data_summary.items()}),
                                    store_seconds), flush=True)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    train, held = load(os.path.join(args.work, "train-store"), device), \
        load(os.path.join(args.work, "eval-store"), device)
    torch.manual_seed(args.seed)
    model = get_model("wav2lip").factory().to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    count = train["mel"].shape[0]
    losses, step, window = [], 0, []
    train_start = time.time()
    while time.time() - train_start < args.seconds:
        index = torch.randint(0, count, (args.batch_size,), device=device)
        mel, face, target = as_float(train, index)
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=device == "cuda"):
            out = model(mel, face)
        loss = (out.float() - target).abs().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        window.append(loss.detach())
        if step % 50 == 0:
            losses.append({"step": step, "l1": float(torch.stack(window).mean()),
                           "seconds": round(time.time() - train_start, 1)})
            window = []
            if step % 1000 == 0:
                print("step %d l1 %.4f" % (step, losses[-1]["l1"]), flush=True)
    if device == "cuda":
        torch.cuda.synchronize()
    train_seconds = time.time() - train_start
    record = {"model": "wav2lip", "objective": "L1 to the real frame (Wav2Lip's reconstruction "
                                               "loss; no SyncNet, no discriminator)",
              "steps": step, "batch_size": args.batch_size, "lr": args.lr,
              "train_seconds": round(train_seconds, 1), "store_seconds": round(store_seconds, 1),
              "steps_per_second": round(step / train_seconds, 2), "device": device,
              "gpu": torch.cuda.get_device_name() if device == "cuda" else None,
              "data": data_summary, "train_frames": int(count),
              "held_out_vs_real": psnr_on(model, held), "train_vs_real": psnr_on(model, {
                  k: v[:2048] for k, v in train.items()}),
              "final_l1": losses[-1]["l1"] if losses else None, "losses": losses,
              "torch": torch.__version__}
    buffer = io.BytesIO()
    torch.save({"state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
                "global_step": step}, buffer)
    atomic_write_bytes(os.path.join(args.work, "teacher.pth"), buffer.getvalue())
    atomic_write_json(os.path.join(args.work, "teacher.json"), record)
    plot(record, os.path.join(args.work, "teacher-loss.png"))
    print("teacher: %d steps in %.0f s; held-out PSNR %.2f dB (lower half %.2f dB) vs the real "
          "frames" % (step, train_seconds, record["held_out_vs_real"]["psnr_db"],
                      record["held_out_vs_real"]["lower_half_psnr_db"]), flush=True)


def plot(record, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axis = plt.subplots(figsize=(7, 4))
    axis.plot([r["step"] for r in record["losses"]], [r["l1"] for r in record["losses"]])
    axis.set_yscale("log")
    axis.set_xlabel("step (batch %d)" % record["batch_size"])
    axis.set_ylabel("L1 to the real frame")
    axis.set_title("demo teacher (wav2lip): %d steps, %.0f s; held-out PSNR %.2f dB"
                   % (record["steps"], record["train_seconds"],
                      record["held_out_vs_real"]["psnr_db"]), fontsize=10)
    axis.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
