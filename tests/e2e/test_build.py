import io
import json
import os
import tarfile

import pytest

from edgec.errors import EdgecError
from edgec.pipeline.build import DEMO_PROVENANCE
from edgec.runtime.bundle import read_bundle


@pytest.fixture(scope="module")
def demo_build(tmp_path_factory):
    """The README's first command: `edgec build` with no arguments (the demo default)."""
    from click.testing import CliRunner

    from edgec.cli import main

    out = tmp_path_factory.mktemp("demo") / "edgec-out"
    result = CliRunner().invoke(main, ["build", "-o", str(out)])
    return out, result


def test_demo_build_runs_end_to_end(demo_build):
    out, result = demo_build
    assert result.exit_code == 0, result.output
    assert "demo default" in result.output
    # The shipped demo network, trained, with its provenance beside it.
    assert "weights are random" not in result.output
    assert "trained" in result.output and "18 public clips" in result.output
    export = json.loads((out / "export.json").read_text())
    provenance = json.loads(open(DEMO_PROVENANCE).read())
    assert export["weights"] == "checkpoint"
    assert export["checkpoint"]["sha256"] == provenance["sha256"]
    assert "No engine was built: TensorRT is not installed" in result.output
    for name in ("model.onnx", "model.mix.onnx", "calib.cache", "plan.json", "sensitivity.json",
                 "sensitivity.png", "quality.json", "reference.npz", "bundle.tar.gz",
                 "model.fp16.onnx", "model.int8.onnx", "compare.png"):
        assert (out / name).is_file(), name
    assert "compare.png" in result.output  # in the summary table
    contents = read_bundle(str(out / "bundle.tar.gz"))
    manifest = json.loads(contents["manifest.json"])
    assert manifest["model"] == "lite-wav2lip"
    assert set(manifest["mix_precision_per_layer"].values()) <= {"fp16", "int8"}
    assert {"model.onnx", "model.mix.onnx", "plan.json", "calib.cache",
            "reference.npz"} <= set(manifest["files"])


def test_bundle_reference_checks_the_mix_model(run_cli, demo_build, tmp_path):
    """What the device does with an engine, done here with the MIX ONNX: bench it against the
    bundle's FP32 reference outputs (real held-out samples)."""
    out = demo_build[0]
    result = run_cli("bench", out / "model.mix.onnx", "--reference", out / "reference.npz",
                     "--iterations", 5, "--warmup", 0, "-o", tmp_path / "result.json")
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "result.json").read_text())
    assert record["model"] == dict(record["model"], name="lite-wav2lip", precision="mix")
    assert record["batch"] == 8 and record["check"]["passed"] is True
    assert record["check"]["outputs"]["output"]["psnr_db"] > 40


def test_second_build_reuses_every_stage(run_cli, demo_build):
    out, _ = demo_build
    result = run_cli("build", "-o", out, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert [s["stage"] for s in summary["stages"]] == [
        "export", "samples", "calibrate", "sweep", "quantize-fp16", "quantize-int8",
        "quantize-mix", "compare", "reference", "pack"]
    assert all(s["reused"] for s in summary["stages"])
    assert summary["compare"] == {"path": str(out / "compare.png"), "skipped": None,
                                  "precisions": ["fp32", "fp16", "int8", "mix"], "missing": []}


def test_demo_picture_shows_the_reference_face(demo_build):
    """Wav2Lip's face input holds the masked target (0:3) and the reference (3:6): the picture's
    context column is the reference."""
    from edgec.quant.quality.compare import image_layout

    layout, reason = image_layout(str(demo_build[0] / "model.onnx"))
    assert reason is None
    assert (layout.input_name, layout.channels, layout.output) == ("face", (3, 6), "output")


def test_changed_option_reruns_only_what_depends_on_it(run_cli, demo_build, tmp_path):
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(demo_build[0], out)
    result = run_cli("build", "-o", out, "--budget", "psnr>=fp16-20", "--json")
    assert result.exit_code == 0, result.output
    reused = {s["stage"]: s["reused"] for s in json.loads(result.output)["stages"]}
    assert reused["export"] and reused["samples"] and reused["calibrate"]
    assert not reused["sweep"]


def _rewrite(bundle, target, edit, last=()):
    """A copy of `bundle` with its members passed through edit(name, data) -> list of TarInfo,
    then the members named in `last` again, at the end."""
    with tarfile.open(bundle) as source, tarfile.open(target, "w:gz") as dest:
        members = [(m.name, source.extractfile(m).read()) for m in source.getmembers()]
        for name, data in members + [m for m in members if m[0] in last]:
            for info, payload in edit(name, data):
                dest.addfile(info, io.BytesIO(payload) if payload is not None else None)
    return target


def _file(name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


@pytest.mark.parametrize("tamper", ["changed-file", "dot-dot", "absolute", "symlink",
                                    "unlisted", "manifest-last"])
def test_tampered_bundles_are_refused(run_cli, demo_build, tmp_path, tamper):
    """Unpacking streams the members in order, so the manifest must come first."""
    bundle = str(demo_build[0] / "bundle.tar.gz")
    seen = []

    def edit(name, data):
        if tamper == "manifest-last" and name == "manifest.json" and name not in seen:
            seen.append(name)  # left out here, written at the end
            return
        yield _file(name, data + b"x" if tamper == "changed-file" and name == "plan.json"
                    else data)
        if name == "manifest.json":
            if tamper == "dot-dot":
                yield _file("../escaped.txt", b"owned")
            elif tamper == "absolute":
                yield _file(str(tmp_path / "absolute.txt"), b"owned")
            elif tamper == "symlink":
                link = tarfile.TarInfo("calib.link")
                link.type = tarfile.SYMTYPE
                link.linkname = "/etc/passwd"
                yield link, None
            elif tamper == "unlisted":
                yield _file("extra.py", b"print('hi')")

    bad = _rewrite(bundle, str(tmp_path / "bad.tar.gz"), edit, last=["manifest.json"]
                   if tamper == "manifest-last" else ())
    target = tmp_path / "deploy" / "target"
    result = run_cli("build", "--bundle", bad, "-o", target)
    assert result.exit_code == 2
    assert "refusing the bundle" in result.output and bad in result.output
    assert not target.exists()
    assert not (tmp_path / "deploy" / "escaped.txt").exists()
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "absolute.txt").exists()
    assert os.listdir(tmp_path / "deploy") == [] if (tmp_path / "deploy").exists() else True


def test_good_bundle_unpacks_then_says_tensorrt_is_missing(run_cli, demo_build, tmp_path):
    target = tmp_path / "target"
    result = run_cli("build", "--bundle", demo_build[0] / "bundle.tar.gz", "-o", target)
    assert result.exit_code == 2
    assert "verified and unpacked" in result.output and "TensorRT is not installed" in result.output
    assert (target / "model.mix.onnx").read_bytes() == \
        (demo_build[0] / "model.mix.onnx").read_bytes()


def test_pack_command(run_cli, demo_build, tmp_path):
    result = run_cli("pack", demo_build[0], "-o", tmp_path / "b.tar.gz")
    assert result.exit_code == 0, result.output
    assert "model.mix.onnx" in read_bundle(str(tmp_path / "b.tar.gz"))
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_cli("pack", empty, "-o", tmp_path / "c.tar.gz")
    assert result.exit_code == 2 and "model.onnx" in result.output


def test_check_of_the_demo_bundle(run_cli, demo_build):
    """Every board and JetPack line: the demo's FP32/FP16 import everywhere; INT8 and MIX
    only where the GPU has INT8 (exit 1: Nano and TX2 cannot). TensorRT-RTX, where installed,
    parses and builds each file its TensorRT 11 strategy reads."""
    from edgec.check import rtx

    result = run_cli("check", str(demo_build[0] / "bundle.tar.gz"), "--json")
    assert result.exit_code == 1
    record = json.loads(result.output)
    cannot = {(r["board"], r["precision"]) for r in record["rows"]
              if r["verdict"] == "cannot import"}
    assert cannot == {(b, p) for b in ("nano", "tx2") for p in ("int8", "mix")}
    assert {r["board"] for r in record["rows"]} >= {"nano", "agx-xavier", "orin-nano",
                                                    "agx-orin"}
    if rtx.rtx_version():
        built = {r["file"]: r for r in record["rtx"]}
        assert set(built) == {"model.onnx", "model.fp16.onnx", "model.int8.onnx",
                              "model.mix.onnx"}
        assert all(r["built"] and r["engine_bytes"] > 0 for r in built.values())
    result = run_cli("check", str(demo_build[0]), "--target", "agx-orin", "--no-rtx")
    assert result.exit_code == 0, result.output


def test_not_a_bundle(tmp_path):
    path = tmp_path / "x.tar.gz"
    path.write_bytes(b"not a tarball")
    with pytest.raises(EdgecError):
        read_bundle(str(path))


def test_device_path_runs_without_torch_or_onnx(demo_build, tmp_path):
    """`edgec build --bundle` on a device: no torch, no onnx, no onnxruntime importable."""
    import subprocess
    import sys

    blocker = ("import sys\n"
               "for name in ('torch', 'onnx', 'onnxruntime', 'onnxslim', 'cv2', 'av'):\n"
               "    sys.modules[name] = None\n"
               "from edgec.cli import main\n"
               "sys.argv = ['edgec', 'build', '--bundle', %r, '-o', %r]\n"
               "main()\n" % (str(demo_build[0] / "bundle.tar.gz"), str(tmp_path / "t")))
    result = subprocess.run([sys.executable, "-c", blocker], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True)
    assert result.returncode == 2, result.stdout
    assert "verified and unpacked" in result.stdout and "Traceback" not in result.stdout
    assert (tmp_path / "t" / "plan.json").is_file()
    engine = tmp_path / "t" / "model.mix.engine"
    engine.write_bytes(b"engine bytes")
    bench = blocker.replace("'build', '--bundle', %r, '-o', %r" % (
        str(demo_build[0] / "bundle.tar.gz"), str(tmp_path / "t")), "'bench', %r" % str(engine))
    result = subprocess.run([sys.executable, "-c", bench], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True)
    assert result.returncode == 2, result.stdout
    assert "TensorRT is not installed on this host" in result.stdout
