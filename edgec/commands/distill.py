"""`edgec distill`: the compact student trained from a frozen teacher (knowledge distillation)."""
import click

from edgec.commands.options import json_option, progress_option
from edgec.commands.output import emit_json, say_on_stderr
from edgec.errors import EdgecError


def _weights(pairs):
    from edgec.distill.objective import DEFAULT_WEIGHTS

    weights = {}
    for text in pairs:
        name, _, value = text.partition("=")
        if name not in DEFAULT_WEIGHTS:
            raise EdgecError("--weight %r: unknown term %r; the terms: %s"
                             % (text, name, ", ".join(DEFAULT_WEIGHTS)))
        try:
            weights[name] = float(value)
        except ValueError:
            raise EdgecError("--weight %r: expected TERM=NUMBER, e.g. ssim=10" % text)
        if weights[name] < 0:
            raise EdgecError("--weight %r: weights are not negative" % text)
    return weights


@click.command()
@click.option("--teacher", "teacher_checkpoint", required=True, type=click.Path(dir_okay=False),
              help="The trained teacher's checkpoint (loaded without running pickled code).")
@click.option("--teacher-model", default="wav2lip", show_default=True,
              help="Zoo model the teacher checkpoint belongs to.")
@click.option("--student", default="lite-wav2lip", show_default=True,
              help="Zoo model to train.")
@click.option("--student-init", "student_checkpoint", type=click.Path(dir_okay=False),
              default=None, help="Start the student from these weights instead of random ones.")
@click.option("--data", "data_dir", required=True, type=click.Path(file_okay=False),
              help="Training data: videos with audio, Wav2Lip frame folders, .npz/.npy arrays "
                   "(the calibration readers), or an edgec sample store.")
@click.option("--eval-data", "eval_dir", type=click.Path(file_okay=False), default=None,
              help="Held-out data for the student-vs-teacher figures (clips never trained "
                   "on); without it 10% of the training samples are held out.")
@click.option("--samples", "sample_count", type=click.IntRange(1), default=10000,
              show_default=True, help="Training samples taken from --data.")
@click.option("--eval-samples", type=click.IntRange(1), default=256, show_default=True)
@click.option("--steps", type=click.IntRange(1), default=20000, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=2e-4,
              show_default=True, help="Adam (beta1 0.5), constant for half the steps, then "
                                      "decaying linearly (OMGD's schedule).")
@click.option("--weight", "weight_pairs", multiple=True, metavar="TERM=VALUE",
              help="Override one loss weight (repeatable). Terms and defaults: ssim=10, tv=1e-5, "
                   "cd=10, feature=10, style=1e4 (both need --vgg), l1=0, sync=0.03 (needs "
                   "--syncnet).")
@click.option("--vgg", "vgg_path", type=click.Path(dir_okay=False), default=None,
              help="torchvision VGG-16 weights (a state dict file) for the perceptual and style "
                   "terms; nothing is downloaded.")
@click.option("--syncnet", "syncnet_path", type=click.Path(dir_okay=False), default=None,
              help="Wav2Lip's expert SyncNet weights (lipsync_expert.pth) for the lip-sync "
                   "term, on runs of five consecutive training frames.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
              show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--checkpoint-every", type=click.IntRange(1), default=500, show_default=True)
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop (and checkpoint) after this many seconds of training.")
@click.option("--resume", is_flag=True, help="Continue the run in the output folder.")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False))
@progress_option
@json_option
def distill(teacher_checkpoint, teacher_model, student, student_checkpoint, data_dir, eval_dir,
            sample_count, eval_samples, steps, batch_size, lr, weight_pairs, vgg_path,
            syncnet_path, device,
            seed, checkpoint_every, time_limit, resume, out_dir, progress, as_json):
    """Train a compact student (default lite-wav2lip) from a frozen teacher with the
    compression paper's objective: channel distillation on the seven decoder blocks (1x1
    adapters) plus SSIM and total-variation output terms, and VGG-16 perceptual and style terms
    with --vgg. Writes student.pth (use it with --checkpoint), distill.json and
    distill-loss.png; checkpoints as it goes (--resume). With --syncnet, Wav2Lip's lip-sync
    term too."""
    from edgec.distill.job import run_distill_job
    from edgec.distill.trainer import DistillSettings

    settings = DistillSettings(
        teacher_checkpoint, teacher_model, student, steps=steps, batch_size=batch_size, lr=lr,
        seed=seed, device=device, weights=_weights(weight_pairs), vgg_path=vgg_path,
        checkpoint_every=checkpoint_every, time_limit=time_limit,
        student_checkpoint=student_checkpoint, eval_samples=eval_samples,
        syncnet_path=syncnet_path)
    say = say_on_stderr(as_json)
    record = run_distill_job(settings, data_dir, eval_dir, out_dir, sample_count, resume, say,
                             progress)
    if as_json:
        emit_json(record)
        return
    final = record["final_losses"] or {}
    click.echo("%s from %s: %d of %d steps (%s) in %.0f s on %s; final loss %s"
               % (record["student"], record["teacher"], record["step"], record["steps"],
                  record["stopped"], record["seconds"], record["device"],
                  "%.4g" % final["total"] if final else "n/a"))
    quality = record["student_vs_teacher"]
    if quality:
        click.echo("held-out (%s): PSNR %.2f dB, SSIM %.4f vs the teacher on %d samples"
                   % (record["held_out"], quality["psnr_db"], quality["ssim"],
                      quality["samples"]))
    click.echo("wrote %s (load it with --model %s --checkpoint %s), distill.json, "
               "distill-loss.png" % (record["student_weights"], record["student"],
                                     record["student_weights"]))
