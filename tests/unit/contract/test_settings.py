"""The settings objects: what they resolve, and that they resolve nothing by themselves (the
contract imports no workstation package; the zoo lookup is handed to them)."""
import pytest

from edgec.settings import DEFAULT_BUDGET, ModelSource, SweepSettings


def test_a_model_source_resolves_its_entry_only_through_the_resolver_it_was_given():
    calls = []
    source = ModelSource("wav2lip", resolve_entry=lambda *a: calls.append(a) or "the entry")
    assert calls == []  # nothing resolved until read: a device command never loads the zoo
    assert source.entry == "the entry" and source.entry == "the entry"
    assert calls == [("wav2lip", [], "auto")]  # once
    with pytest.raises(RuntimeError, match="model_source"):
        ModelSource("wav2lip").entry


def test_model_source_of_the_zoo_resolves_and_keys_the_entry():
    from edgec.models import model_source

    source = model_source("lite-wav2lip")
    assert source.entry.name == "lite-wav2lip"
    assert source.key()["variants"] == source.entry.variant_key()
    assert ModelSource(onnx_path=None).entry is None  # no model name: nothing to resolve


def test_budget_text_defaults_and_is_parsed_by_quant():
    from edgec.quant.quality.budget import Budget

    assert SweepSettings(budget=None).budget_text == DEFAULT_BUDGET
    Budget.parse(SweepSettings(budget="psnr>=40,ssim>=0.99").budget_text)
