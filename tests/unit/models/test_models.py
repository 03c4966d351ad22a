import json

import pytest
import torch

from edgec.errors import EdgecError
from edgec.models import get_model
from edgec.models.checkpoint import read_state_dict


def _models_json(run_cli):
    result = run_cli("models", "--json")
    assert result.exit_code == 0, result.output
    return {row["name"]: row for row in json.loads(result.output)}


def test_wav2lip_counts_match_reference(run_cli):
    row = _models_json(run_cli)["wav2lip"]
    assert row["params"] == 36298035
    assert round(row["macs"] / 1e9, 2) == 3.97
    assert round(row["macs_output_grid"] / 1e9, 1) == 6.2
    assert row["quantizable_layers"] == 51


def test_lite_wav2lip_counts_within_5_percent_of_paper(run_cli):
    row = _models_json(run_cli)["lite-wav2lip"]
    assert abs(row["params"] / 1.26e6 - 1) < 0.05
    assert abs(row["macs_output_grid"] / 0.216e9 - 1) < 0.05
    # Every residual conv is gone: 28 of the teacher's 51 convs are residual.
    teacher = get_model("wav2lip").build()
    student = get_model("lite-wav2lip").build()
    n_residual = sum(bool(getattr(m, "residual", False)) for m in teacher.modules())
    assert n_residual == 28
    assert not any(getattr(m, "residual", False) for m in student.modules())
    assert row["quantizable_layers"] == 51 - n_residual


def test_layers_have_unique_stable_names_in_definition_order():
    layers = get_model("wav2lip").layers()
    names = [l.name for l in layers]
    assert len(set(names)) == len(names) == 51
    assert names[0] == "enc0.0" and names[-1] == "out.1"
    assert names.index("enc6.1") < names.index("audio.0") < names.index("dec0.0")
    transposed = [l for l in layers if l.kind == "ConvTranspose"]
    assert len(transposed) == 6
    # A transposed conv costs less on its input grid than on its output grid.
    assert all(l.macs < l.macs_output_grid for l in transposed)


def test_models_table_lists_both(run_cli):
    result = run_cli("models")
    assert result.exit_code == 0
    assert "36,298,035" in result.output and "lite-wav2lip" in result.output


def test_original_checkpoint_format_loads(trained_like_checkpoints):
    entry = get_model("wav2lip")
    model = entry.build(trained_like_checkpoints["wav2lip"])
    state = read_state_dict(trained_like_checkpoints["wav2lip"])
    assert not any(k.startswith("module.") for k in state)
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_plain_state_dict_loads(tmp_path):
    entry = get_model("lite-wav2lip")
    model = entry.build()
    path = tmp_path / "plain.pth"
    torch.save(model.state_dict(), path)
    loaded = entry.build(str(path))
    assert all(torch.equal(a, b) for a, b in
               zip(model.state_dict().values(), loaded.state_dict().values()))


def test_mismatched_checkpoint_names_the_matching_model(trained_like_checkpoints):
    with pytest.raises(EdgecError) as info:
        get_model("wav2lip").build(trained_like_checkpoints["lite-wav2lip"])
    message = info.value.message
    assert trained_like_checkpoints["lite-wav2lip"] in message
    assert "missing keys" in message and "mis-shaped keys" in message
    assert "lite-wav2lip" in message.split("It matches")[1]


def test_pickled_code_is_never_executed(tmp_path):
    import os
    import pickle

    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch %s" % marker,))

    path = tmp_path / "evil.pth"
    with open(path, "wb") as handle:
        pickle.dump({"state_dict": Evil()}, handle)
    with pytest.raises(EdgecError) as info:
        read_state_dict(str(path))
    assert "weights_only" in info.value.message
    assert not marker.exists()
