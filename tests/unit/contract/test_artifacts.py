"""The workstation-device contract (edgec.artifacts): the plan reader both sides use, the TensorRT
calibration cache format, the bundle's file list, and that the device path stays free of the
workstation's packages."""
import ast
import json
import os
import struct

import numpy as np
import pytest

from edgec import artifacts
from edgec.errors import EdgecError

EDGEC = os.path.dirname(os.path.abspath(artifacts.__file__))


def _write_json(path, data):
    path.write_text(json.dumps(data))
    return str(path)


@pytest.mark.parametrize("content, message", [
    ({"format": "edgec-plan/0", "precisions": {"a": "fp16"}}, "is not an edgec plan"),
    ({"precisions": {"a": "fp16"}}, "is not an edgec plan"),
    ([{"a": "fp16"}], "is not an edgec plan"),
    ("fp16", "is not an edgec plan"),
    ({"format": artifacts.PLAN_FORMAT, "precisions": ["a", "fp16"]}, "is not an edgec plan"),
    ({"format": artifacts.PLAN_FORMAT, "precisions": {}}, "is not an edgec plan"),
    ({"format": artifacts.PLAN_FORMAT, "precisions": {"a": "fp16", "b": "int4"}},
     "layers \\['b'\\] have a precision other than fp32/fp16/int8 \\(found int4\\)"),
])
def test_plan_reader_refuses_what_is_not_a_plan_and_names_the_file(tmp_path, content, message):
    path = _write_json(tmp_path / "odd-plan.json", content)
    with pytest.raises(EdgecError, match=message) as caught:
        artifacts.read_plan(path)
    assert path in caught.value.message


def test_plan_reader_names_missing_and_damaged_files(tmp_path):
    missing = str(tmp_path / "nowhere.json")
    with pytest.raises(EdgecError, match="no such file") as caught:
        artifacts.read_plan(missing)
    assert missing in caught.value.message
    damaged = tmp_path / "damaged.json"
    damaged.write_text('{"format": ')
    with pytest.raises(EdgecError, match="is not valid JSON") as caught:
        artifacts.read_plan(str(damaged))
    assert str(damaged) in caught.value.message


def test_plan_reader_checks_the_precisions_the_caller_accepts(tmp_path):
    precisions = {"enc.0": "fp32", "enc.1": "fp16", "dec.0": "int8"}
    path = _write_json(tmp_path / "plan.json",
                       {"format": artifacts.PLAN_FORMAT, "precisions": precisions})
    assert artifacts.read_plan(path) == precisions
    with pytest.raises(EdgecError, match="layers \\['enc.0'\\] have a precision other than "
                                         "fp16/int8"):
        artifacts.read_plan(path, artifacts.ENGINE_LAYER_PRECISIONS)


def test_plan_saved_by_precision_plan_reads_back_identically(tmp_path):
    from edgec.quant.qdq.spec import PrecisionPlan

    rng = np.random.RandomState(0)
    layers = ["enc%d.%d" % (i, j) for i in range(4) for j in range(3)]
    precisions = {name: str(rng.choice(artifacts.ENGINE_LAYER_PRECISIONS)) for name in layers}
    plan = PrecisionPlan(precisions, {"kind": "mix", "budget": "psnr>=30"})
    path = str(tmp_path / artifacts.PLAN_JSON)
    plan.save(path)
    assert artifacts.read_plan(path) == precisions
    assert artifacts.read_plan(path, artifacts.ENGINE_LAYER_PRECISIONS) == precisions
    assert artifacts.read_plan_record(path) == plan.to_dict()
    loaded = PrecisionPlan.load(path)
    assert loaded.precisions == plan.precisions and loaded.provenance == plan.provenance


def test_precision_plan_load_keeps_the_reader_errors(tmp_path):
    from edgec.quant.qdq.spec import PrecisionPlan

    path = _write_json(tmp_path / "p.json", {"format": "other", "precisions": {"a": "fp16"}})
    with pytest.raises(EdgecError, match="is not an edgec plan"):
        PrecisionPlan.load(path)


def _bits(value):
    return struct.pack(">f", value)


def test_calibration_cache_round_trip_is_bit_exact(tmp_path):
    rng = np.random.RandomState(1)
    values = np.concatenate([rng.lognormal(-4, 3, 40), [0.0, np.finfo(np.float32).tiny,
                                                        np.finfo(np.float32).max]])
    scales = {"tensor/%d:0" % i: float(v) for i, v in enumerate(values.astype(np.float32))}
    path = str(tmp_path / artifacts.CALIB_CACHE)
    artifacts.write_calib_cache(path, scales)
    header, read = artifacts.read_calib_cache(path)
    assert header == artifacts.DEFAULT_CALIB_CACHE_HEADER
    assert sorted(read) == sorted(scales)  # names with ':' survive (the last ':' splits)
    assert all(_bits(read[name]) == _bits(scales[name]) for name in scales)
    # Writing what was read gives the same bytes: nothing is lost either way.
    again = str(tmp_path / "again.cache")
    artifacts.write_calib_cache(again, read, header)
    with open(path, "rb") as first, open(again, "rb") as second:
        assert first.read() == second.read()


def test_calibration_cache_header_handling(tmp_path):
    scales = {"x": 0.25}
    text = artifacts.format_calib_cache(scales, "TRT-100300-EntropyCalibration2")
    assert text.splitlines()[0] == "TRT-100300-EntropyCalibration2"
    assert artifacts.parse_calib_cache(text) == ("TRT-100300-EntropyCalibration2", scales)
    # TensorRT's own files may pad the header line; the header is read without it.
    header, _ = artifacts.parse_calib_cache("  " + text.replace("\n", " \n", 1))
    assert header == "TRT-100300-EntropyCalibration2"
    for bad in ("TRT-8.2-Entropy", "EntropyCalibration2", ""):
        with pytest.raises(ValueError, match="bad calibration cache header"):
            artifacts.format_calib_cache(scales, bad)
    path = tmp_path / "headless.cache"
    path.write_text(text.split("\n", 1)[1])
    with pytest.raises(EdgecError, match="is not a TensorRT calibration cache") as caught:
        artifacts.read_calib_cache(str(path))
    assert str(path) in caught.value.message


def test_calibration_cache_damage_is_named_by_file_and_line(tmp_path):
    path = tmp_path / "damaged.cache"
    path.write_text(artifacts.format_calib_cache({"a": 0.5, "b": 1.5}) + "c: 3f80\n")
    with pytest.raises(EdgecError, match="damaged.cache line 4: expected"):
        artifacts.read_calib_cache(str(path))
    path.write_text(artifacts.format_calib_cache({"a": 0.5}) + "nan: %s\n" % _bits(
        float("nan")).hex())
    with pytest.raises(EdgecError, match="line 3: tensor 'nan' has an invalid scale"):
        artifacts.read_calib_cache(str(path))
    path.write_bytes(b"\x89PNG\r\n")
    with pytest.raises(EdgecError, match="binary data"):
        artifacts.read_calib_cache(str(path))


def test_build_folder_names():
    assert artifacts.model_onnx("fp32") == artifacts.MODEL_ONNX
    quantized = [artifacts.model_onnx(p) for p in artifacts.PRECISIONS if p != "fp32"]
    assert len(set(quantized + [artifacts.MODEL_ONNX])) == len(artifacts.PRECISIONS)
    assert all(p in artifacts.model_onnx(p) and p in artifacts.engine_file(p)
               and p in artifacts.quality_file(p) for p in artifacts.PRECISIONS if p != "fp32")
    engine = artifacts.engine_file("int8")
    assert artifacts.engine_sidecar(engine) != engine
    assert artifacts.engine_sidecar(engine).startswith(engine)
    assert artifacts.QUALITY_JSON != artifacts.quality_file("fp16")


def test_bundle_carries_every_precisions_model_and_what_the_device_build_reads():
    files = artifacts.BUNDLE_FILES
    assert len(set(files)) == len(files)
    for precision in artifacts.PRECISIONS:
        assert artifacts.model_onnx(precision) in files
    for name in (artifacts.PLAN_JSON, artifacts.CALIB_CACHE, artifacts.REFERENCE_NPZ):
        assert name in files
    # Workstation-only files and the device's own outputs stay out of the bundle.
    for name in (artifacts.RANGES_JSON, artifacts.SENSITIVITY_JSON, artifacts.BUNDLE_TAR,
                 artifacts.BUNDLE_MANIFEST, artifacts.engine_file("int8")):
        assert name not in files


def test_every_format_tag_is_distinct():
    tags = [value for name, value in vars(artifacts).items() if name.endswith("_FORMAT")]
    assert len(tags) >= 8 and len(set(tags)) == len(tags)
    assert all(tag.startswith("edgec-") and tag.rsplit("/", 1)[1].isdigit() for tag in tags)


def _imports(path):
    with open(path) as handle:
        tree = ast.parse(handle.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.module


def test_device_path_does_not_import_the_workstation_packages():
    for package in ("runtime", "jetson"):
        folder = os.path.join(EDGEC, package)
        for name in sorted(os.listdir(folder)):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                assert not [m for m in _imports(path) if m.startswith("edgec.quant")], path
    edgec_imports = {m for m in _imports(artifacts.__file__) if m.startswith("edgec")}
    assert edgec_imports <= {"edgec.errors", "edgec.fileio"}
