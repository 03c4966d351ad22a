"""The library call behind `edgec distill`: sample stores from the data folders (cached stages),
then training."""
import os
from typing import Callable, Dict, Optional

from edgec import artifacts
from edgec.distill.data import sample_store_for
from edgec.distill.trainer import DistillSettings, resolve_models, resumable_state, run_distill
from edgec.errors import EdgecError
from edgec.pipeline.cache import StageRunner
from edgec.settings import SampleSettings


def run_distill_job(settings: DistillSettings, samples: SampleSettings,
                    eval_dir: Optional[str],
                    out_dir: str, resume: bool, say: Callable[[str], None],
                    progress: bool = True) -> Dict[str, object]:
    """`samples`: the training data (--data, -n, --seed: the samples option group)."""
    # Every refusal before any data work: model names, the teacher file, the output folder.
    teacher_entry, student = resolve_models(settings)
    if not os.path.isfile(settings.teacher_checkpoint):
        raise EdgecError("--teacher %s: no such file" % settings.teacher_checkpoint)
    teacher = teacher_entry.build(settings.teacher_checkpoint)
    state = resumable_state(settings, out_dir, resume)
    runner = StageRunner(out_dir, report=say)
    train_store, train_summary = sample_store_for(
        runner, "train-samples", samples.require_data(),
        os.path.join(out_dir, artifacts.DISTILL_TRAIN_SAMPLES), student, samples.count,
        samples.seed, "--data", progress)
    eval_store = None
    if eval_dir:
        eval_store, _ = sample_store_for(
            runner, "eval-samples", eval_dir, os.path.join(out_dir, artifacts.DISTILL_EVAL_SAMPLES),
            student, settings.eval_samples, settings.seed + 1, "--eval-data", progress)
    record = run_distill(settings, train_store, eval_store, out_dir, resume, say, progress,
                         teacher=teacher, state=state)
    record["data"] = train_summary
    record["stages"] = runner.log
    return record
