"""The command layer: option groups hand commands one settings object, commands load lazily,
a missing extra explains itself, and options that make no sense together are refused."""
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from edgec.cli import COMMANDS, main
from edgec.commands.options import CALIBRATION, SWEEP, Opt, OptionGroup


class Pair(object):
    def __init__(self, left, right):
        self.left, self.right = left, right


PAIR = OptionGroup("pair", Pair, [Opt("--left", type=int, default=1),
                                  Opt("--right", type=int, default=2)])


def _command(group_decorator):
    seen = {}

    @click.command()
    @group_decorator
    @click.option("--other", default="x")
    def command(pair, other):
        seen["pair"], seen["other"] = pair, other
    return command, seen


def test_option_group_builds_one_object():
    command, seen = _command(PAIR())
    result = CliRunner().invoke(command, ["--left", "5", "--other", "y"])
    assert result.exit_code == 0, result.output
    assert (seen["pair"].left, seen["pair"].right, seen["other"]) == (5, 2, "y")


def test_option_group_omit_fixed_and_changes():
    command, seen = _command(PAIR(omit=("right",), fixed={"right": 9}, left={"default": 4}))
    result = CliRunner().invoke(command, [])
    assert result.exit_code == 0, result.output
    assert (seen["pair"].left, seen["pair"].right) == (4, 9)
    assert CliRunner().invoke(command, ["--right", "3"]).exit_code == 2  # not an option here
    with pytest.raises(ValueError):
        PAIR(omit=("nope",))


def test_groups_build_settings_objects(monkeypatch):
    """The calibration and sweep groups hand `edgec sweep` its settings as objects."""
    import edgec.pipeline.jobs as jobs

    captured = {}

    def fake_run_sweep(source, samples, calib, sweep, out_dir, ranges_path=None, progress=True):
        captured.update(source=source, samples=samples, calib=calib, sweep=sweep)
        raise SystemExit(0)
    monkeypatch.setattr(jobs, "run_sweep", fake_run_sweep)
    result = CliRunner().invoke(main, ["sweep", "--model", "lite-wav2lip", "--data", ".", "-n",
                                       "7", "--percentile", "99.9", "--budget", "ssim>=0.9",
                                       "--batch-size", "3", "-o", "out"])
    assert result.exit_code == 0, result.output
    assert captured["source"].model_name == "lite-wav2lip"
    assert (captured["samples"].data_dir, captured["samples"].count) == (".", 7)
    assert captured["calib"].percentile == 99.9 and captured["calib"].method == "percentile"
    assert (captured["sweep"].budget, captured["sweep"].batch_size) == ("ssim>=0.9", 3)
    assert set(CALIBRATION.names) == {"method", "percentile", "holdout", "calibration_device"}
    assert "resume" in SWEEP.names


def test_bundle_refuses_workstation_options(run_cli, tmp_path):
    result = run_cli("build", "--bundle", tmp_path / "b.tar.gz", "--model", "wav2lip",
                     "--data", tmp_path, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "--model" in result.output and "--data" in result.output
    assert not (tmp_path / "out").exists()  # refused before anything was unpacked


def test_every_command_listed_and_helps(run_cli):
    listing = run_cli("--help").output
    for name in COMMANDS:
        assert name in listing
        result = run_cli(name, "--help")
        assert result.exit_code == 0 and "Usage: " in result.output, name


def _run_blocked(args, blocked=("torch", "onnx", "onnxruntime", "onnxslim", "cv2", "av")):
    code = ("import sys\n"
            "for name in %r:\n"
            "    sys.modules[name] = None\n"
            "from edgec.cli import main\n"
            "sys.argv = ['edgec'] + %r\n"
            "try:\n"
            "    main()\n"
            "finally:\n"
            "    loaded = sorted(m for m in sys.modules if m.startswith('edgec.'))\n"
            "    print('LOADED', ' '.join(loaded))\n" % (tuple(blocked), list(args)))
    return subprocess.run([sys.executable, "-c", code], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True)


def test_workstation_command_without_its_extra_explains_itself():
    result = _run_blocked(["models"])
    assert result.returncode == 2, result.stdout
    assert "pip install 'edgec[build]'" in result.stdout and "Traceback" not in result.stdout


def test_device_commands_load_only_device_modules(tmp_path):
    """`edgec bench` loads the device path alone: no pipeline, quant, models or calib."""
    result = _run_blocked(["bench", str(tmp_path / "missing.onnx")])
    assert result.returncode == 2, result.stdout
    loaded = result.stdout.split("LOADED", 1)[1].split()
    assert "edgec.commands.bench" in loaded
    workstation = [m for m in loaded if m.split(".")[1] in
                   ("pipeline", "quant", "models", "calib", "exporter")]
    assert workstation == [], workstation


@pytest.mark.parametrize("args, words", [
    (["--onnx", "m.onnx", "--input", "x:1x3x8x8"], "--input goes with --model"),
    (["--onnx", "m.onnx", "--grid-sample", "native", "--checkpoint", "c.pth"],
     "--checkpoint, --grid-sample go with --model"),
    (["--model", "lite-wav2lip", "--input", "x:1x3x8x8"], "zoo model lite-wav2lip declares"),
])
def test_model_options_that_make_no_sense_together_are_refused(run_cli, tmp_path, args, words):
    result = run_cli("export", *args, "-o", tmp_path / "out")
    assert result.exit_code == 2 and words in result.output, result.output
    assert not (tmp_path / "out").exists()
