"""Peak memory and throughput of `edgec calibrate` at N samples (default 10,000).

Makes a synthetic LRS2-layout tree big enough for N frames (once, cached in --data), then runs
the real CLI in a child process and reads its peak resident memory from the OS.

    python benchmarks/calibration_memory.py --n 10000 --data /tmp/edgec-bench-lrs2
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--model", default="lite-wav2lip")
    parser.add_argument("--data", default="/tmp/edgec-bench-lrs2")
    parser.add_argument("--out", default="/tmp/edgec-bench-calib")
    parser.add_argument("--frames-per-clip", type=int, default=250)
    args = parser.parse_args()

    from edgec.calib import synthetic

    clips = -(-int(args.n * 1.1) // args.frames_per_clip)
    marker = os.path.join(args.data, ".complete-%d-%d" % (clips, args.frames_per_clip))
    if not os.path.exists(marker):
        start = time.time()
        for index in range(clips):
            synthetic.write_talking_clip(
                os.path.join(args.data, "pretrain", "spk%d" % (index % 10), "%05d.mp4" % index),
                n_frames=args.frames_per_clip, seed=index)
        open(marker, "w").close()
        print("made %d clips in %.0f s" % (clips, time.time() - start), file=sys.stderr)

    command = [sys.executable, "-m", "edgec.cli", "calibrate", "--model", args.model,
               "--data", args.data, "-n", str(args.n), "-o", args.out, "--no-progress", "--json"]
    start = time.time()
    proc = subprocess.run(command, stdout=subprocess.PIPE, universal_newlines=True)
    seconds = time.time() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        sys.exit("calibrate failed (%d)" % proc.returncode)
    report = json.loads(proc.stdout)
    stages = {s["stage"]: s["seconds"] for s in report["stages"]}
    written = report["data"]["written"]
    print(json.dumps({
        "command": " ".join(command[2:]), "samples": written, "wall_seconds": round(seconds, 1),
        "peak_rss_mib": round(peak_kib / 1024.0, 1),
        "stage_seconds": stages,
        "sampling_frames_per_second": round(written / max(stages.get("samples", 0), 1e-9), 1),
        "end_to_end_frames_per_second": round(written / seconds, 1),
        "cores": os.cpu_count(),
    }, indent=2))


if __name__ == "__main__":
    main()
