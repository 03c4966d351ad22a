"""Where quality figures come from and what they measure: the three disjoint splits, per-sample
PSNR percentiles and the region PSNR against brute force, and budgets over them."""
import math

import numpy as np
import pytest
import torch

from edgec.errors import EdgecError
from edgec.quant.quality.budget import Budget
from edgec.quant.quality.metrics import QualitySums
from edgec.quant.quality.splits import (CALIBRATION, SELECTION, SPLITS, TEST, SampleSplits,
                                        split_all, split_indices)


class _Store(object):
    def __init__(self, count):
        self.count, self.path = count, "/data/store-%d" % count


@pytest.mark.parametrize("count,holdout", [(20, 0.2), (301, 0.2), (324, 0.5), (1000, 0.1)])
def test_splits_are_disjoint_and_cover_the_store(count, holdout):
    splits = split_all(count, holdout)
    together = np.concatenate([splits[s] for s in SPLITS])
    assert len(together) == count and len(np.unique(together)) == count
    held = count - len(splits[CALIBRATION])
    assert held == int(round(count * holdout))
    assert abs(len(splits[SELECTION]) - len(splits[TEST])) <= 1
    # The calibration split is what the two-way split always gave, so cached ranges hold.
    order = np.random.default_rng(0).permutation(count)
    assert np.array_equal(splits[CALIBRATION], np.sort(order[held:]))


def test_split_indices_limit_and_empty_split_error():
    store = _Store(40)
    test = split_indices(store, 0.2, TEST)
    assert np.array_equal(split_indices(store, 0.2, TEST, 2), test[:2])
    with pytest.raises(EdgecError) as info:
        split_indices(_Store(3), 0.2, SELECTION)  # one held out: selection gets none
    assert "/data/store-3" in str(info.value) and "selection" in str(info.value)


def test_sample_splits_are_made_once_and_read_by_every_stage(monkeypatch):
    """A command's stages read one SampleSplits: the permutation is drawn once however many
    splits are read, and each read is what the one-off look-up gives."""
    import edgec.quant.quality.splits as splits_module

    drawn = []
    real = splits_module.split_all
    monkeypatch.setattr(splits_module, "split_all", lambda *a: drawn.append(a) or real(*a))
    splits = SampleSplits(_Store(50), 0.4)
    reads = {name: splits.indices(name) for name in SPLITS}
    assert len(drawn) == 1
    for name in SPLITS:
        assert np.array_equal(reads[name], real(50, 0.4)[name])
    assert splits.describe(TEST, reads[TEST])["samples"] == len(reads[TEST])
    assert splits.describe(TEST, reads[TEST])["holdout_fraction"] == 0.4
    with pytest.raises(ValueError):
        splits.indices("training")


def _brute(reference, candidate, peak, rows):
    ref, cand = reference.double().numpy(), candidate.double().numpy()
    per_sample = [10 * math.log10(peak ** 2 / np.mean((c - r) ** 2)) for r, c in zip(ref, cand)]
    first, stop = rows
    region = np.mean((cand[:, :, first:stop] - ref[:, :, first:stop]) ** 2)
    return per_sample, 10 * math.log10(peak ** 2 / region)


@pytest.mark.parametrize("height", [32, 8], ids=["with-ssim", "too-small-for-ssim"])
def test_percentiles_and_region_psnr_against_brute_force(height):
    torch.manual_seed(0)
    reference = torch.rand(12, 3, height, 20)
    # Errors grow sample by sample and are larger in the lower half: the percentiles and the
    # region both differ from the mean figure.
    noise = torch.randn(12, 3, height, 20) * torch.linspace(0.001, 0.05, 12).reshape(12, 1, 1, 1)
    noise[:, :, height // 2:] *= 3
    candidate = reference + noise
    sums = QualitySums()
    for part in (slice(0, 5), slice(5, 12)):  # two batches
        sums.update(reference[part], candidate[part], 1.0, (0.5, 1.0))
    result = sums.result(1.0)
    per_sample, region = _brute(reference, candidate, 1.0, (height // 2, height))
    assert result["psnr_min_db"] == pytest.approx(min(per_sample), abs=1e-3)
    for q in (1, 5, 10, 25, 50):
        assert result["psnr_p%d_db" % q] == pytest.approx(np.percentile(per_sample, q), abs=1e-3)
    assert result["region_psnr_db"] == pytest.approx(region, abs=1e-3)
    assert result["region_psnr_db"] < result["psnr_db"]
    assert result["psnr_p5_db"] < result["psnr_db"] - 3
    # Checkpointed sums give the same figures (a resumed sweep).
    assert QualitySums(sums.to_dict()).result(1.0) == result


def test_budget_terms_over_the_new_figures():
    metrics = {"psnr_db": 46.0, "ssim": 0.99, "psnr_p5_db": 39.0, "max_abs_error": 0.3,
               "region_psnr_db": 41.0}
    assert Budget.parse("psnr>=45,psnr_p5>=38").holds(metrics)
    assert not Budget.parse("psnr>=45,psnr_p5>=40").holds(metrics)
    assert Budget.parse("maxerr<=0.3").holds(metrics)
    assert not Budget.parse("maxerr<=0.25").holds(metrics)
    assert not Budget.parse("region_psnr>=42").holds(metrics)
    assert Budget.parse("psnr_p5>=fp16-2").holds(metrics, {"psnr_p5_db": 40.5})
    budget = Budget.parse("maxerr <= 0.25, psnr>=40")
    assert budget.text() == "maxerr<=0.25,psnr>=40"
    assert budget.primary_metric == "max_abs_error" and budget.primary.sign == -1
    assert not Budget.parse("psnr_p5>=38").holds({"psnr_db": 50.0})  # not measured: not met
    for bad in ("psnr_p3>=38", "maxerr>=0.2", "region>=3", "psnr<=40"):
        with pytest.raises(EdgecError) as info:
            Budget.parse(bad)
        assert bad in str(info.value)


def test_region_budget_refused_for_a_model_without_a_region():
    from edgec.models.registry import get_model

    budget = Budget.parse("region_psnr>=40")
    budget.check_model("lite-wav2lip", get_model("lite-wav2lip").quality_region)
    with pytest.raises(EdgecError) as info:
        budget.check_model("liveportrait-appearance",
                           get_model("liveportrait-appearance").quality_region)
    assert "liveportrait-appearance" in str(info.value) and "region" in str(info.value)
