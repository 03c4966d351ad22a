"""`edgec distill`: the compact student trained from a frozen teacher (knowledge distillation)."""
import click

from edgec.commands.options import (SAMPLES, Opt, OptionGroup, json_option, output_dir_option,
                                    progress_option)
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


def _distill_settings(teacher_checkpoint, teacher_model, student, student_checkpoint,
                      eval_samples, steps, batch_size, lr, weight_pairs, vgg_path, syncnet_path,
                      device, checkpoint_every, time_limit):
    from edgec.distill.trainer import DistillSettings

    return DistillSettings(
        teacher_checkpoint, teacher_model, student, steps=steps, batch_size=batch_size, lr=lr,
        device=device, weights=_weights(weight_pairs), vgg_path=vgg_path,
        checkpoint_every=checkpoint_every, time_limit=time_limit,
        student_checkpoint=student_checkpoint, eval_samples=eval_samples,
        syncnet_path=syncnet_path)


# What a distillation run is; the data come from the shared samples group.
DISTILL = OptionGroup("settings", _distill_settings, [
    Opt("--teacher", "teacher_checkpoint", required=True, type=click.Path(dir_okay=False),
        help="The trained teacher's checkpoint (loaded without running pickled code)."),
    Opt("--teacher-model", default="wav2lip", show_default=True,
        help="Zoo model the teacher checkpoint belongs to."),
    Opt("--student", default="lite-wav2lip", show_default=True, help="Zoo model to train."),
    Opt("--student-init", "student_checkpoint", type=click.Path(dir_okay=False), default=None,
        help="Start the student from these weights instead of random ones."),
    Opt("--eval-samples", type=click.IntRange(1), default=256, show_default=True),
    Opt("--steps", type=click.IntRange(1), default=20000, show_default=True),
    Opt("--batch-size", type=click.IntRange(1), default=32, show_default=True),
    Opt("--lr", type=click.FloatRange(min=0, min_open=True), default=2e-4, show_default=True,
        help="Adam (beta1 0.5), constant for half the steps, then decaying linearly (OMGD's "
             "schedule)."),
    Opt("--weight", "weight_pairs", multiple=True, metavar="TERM=VALUE",
        help="Override one loss weight (repeatable). Terms and defaults: ssim=10, tv=1e-5, "
             "cd=10, feature=10, style=1e4 (both need --vgg), l1=0, sync=0.03 (needs "
             "--syncnet)."),
    Opt("--vgg", "vgg_path", type=click.Path(dir_okay=False), default=None,
        help="torchvision VGG-16 weights (a state dict file) for the perceptual and style "
             "terms; nothing is downloaded."),
    Opt("--syncnet", "syncnet_path", type=click.Path(dir_okay=False), default=None,
        help="Wav2Lip's expert SyncNet weights (lipsync_expert.pth) for the lip-sync term, on "
             "runs of five consecutive training frames."),
    Opt("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto",
        show_default=True),
    Opt("--checkpoint-every", type=click.IntRange(1), default=500, show_default=True),
    Opt("--time-limit", type=click.FloatRange(min=0, min_open=True), default=None,
        help="Stop (and checkpoint) after this many seconds of training."),
])


@click.command()
@DISTILL()
@SAMPLES(omit=("reader",),
         data_dir={"required": True,
                   "help": "Training data: videos with audio, Wav2Lip frame folders, .npz/.npy "
                           "arrays (the calibration readers), or an edgec sample store."},
         count={"help": "Training samples taken from --data."},
         seed={"help": "Sampling and training seed."})
@click.option("--eval-data", "eval_dir", type=click.Path(file_okay=False), default=None,
              help="Held-out data for the student-vs-teacher figures (clips never trained "
                   "on); without it 10% of the training samples are held out (their test "
                   "split: the rule of every quality figure).")
@click.option("--resume", is_flag=True, help="Continue the run in the output folder.")
@output_dir_option()
@progress_option
@json_option
def distill(settings, samples, eval_dir, resume, out_dir, progress, as_json):
    """Train a compact student (default lite-wav2lip) from a frozen teacher with the
    compression paper's objective: channel distillation on the seven decoder blocks (1x1
    adapters) plus SSIM and total-variation output terms, and VGG-16 perceptual and style terms
    with --vgg. Writes student.pth (use it with --checkpoint), distill.json and
    distill-loss.png; checkpoints as it goes (--resume). With --syncnet, Wav2Lip's lip-sync
    term too."""
    from edgec.pipeline.distill import run_distill_job

    settings.seed = samples.seed  # the sampling seed also seeds training: one --seed
    say = say_on_stderr(as_json)
    record = run_distill_job(settings, samples, eval_dir, out_dir, resume, say, progress)
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
