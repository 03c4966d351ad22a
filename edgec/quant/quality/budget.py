"""Quality budgets for plan selection; several terms joined by commas must all hold.

- `psnr>=35`, `ssim>=0.98`: over the whole evaluation split;
- `psnr>=fp16-0.5`: within 0.5 dB of the all-FP16 model (any >= term takes `fp16-`);
- `psnr_p5>=38`: the 5th percentile of the per-sample PSNRs (the worst samples; p1, p5, p10,
  p25 and p50 are measured, see PSNR_PERCENTILES), where the mean hides a few broken
  frames;
- `maxerr<=0.25`: the largest absolute output error of any sample;
- `region_psnr>=40`: the PSNR of the region of the output the model declares (Wav2Lip family:
  the lower half of the face, the mouth it generates).
"""
import re
from typing import Dict, List, Optional

from edgec.errors import EdgecError

# Per-sample PSNR percentiles every quality result reports (terms psnr_pN).
PSNR_PERCENTILES = (1, 5, 10, 25, 50)

_AT_LEAST = re.compile(r"^(psnr|ssim|region_psnr|psnr_p(\d+))\s*>=\s*(?:(fp16)\s*-\s*)?"
                       r"([0-9]*\.?[0-9]+)$")
_AT_MOST = re.compile(r"^(maxerr)\s*<=\s*([0-9]*\.?[0-9]+)$")
_SYNTAX = ("expected terms like psnr>=35, ssim>=0.98, psnr>=fp16-0.5, psnr_p5>=38, "
           "maxerr<=0.25 or region_psnr>=40, joined by commas")


def metric_key(metric: str) -> str:
    """The result field a budget metric reads."""
    if metric == "ssim":
        return "ssim"
    if metric == "maxerr":
        return "max_abs_error"
    return metric + "_db"


class BudgetTerm(object):
    def __init__(self, metric: str, value: float, relative_to_fp16: bool = False,
                 upper: bool = False):
        self.metric = metric
        self.value = value
        self.relative = relative_to_fp16
        self.upper = upper  # an upper bound (maxerr): lower values are better

    @property
    def key(self) -> str:
        return metric_key(self.metric)

    @property
    def sign(self) -> float:
        """+1 where larger is better, -1 where smaller is."""
        return -1.0 if self.upper else 1.0

    def bound(self, fp16: Optional[Dict[str, float]]) -> float:
        if not self.relative:
            return self.value
        if fp16 is None or fp16.get(self.key) is None:
            raise ValueError("a budget relative to FP16 needs the FP16 measurement")
        return float(fp16[self.key]) - self.value

    def holds(self, metrics: Dict[str, float], fp16: Optional[Dict[str, float]]) -> bool:
        value = metrics.get(self.key)
        if value is None:
            return False
        return value <= self.bound(fp16) if self.upper else value >= self.bound(fp16)

    def text(self) -> str:
        if self.upper:
            return "%s<=%g" % (self.metric, self.value)
        return "%s>=%s%g" % (self.metric, "fp16-" if self.relative else "", self.value)


class Budget(object):
    def __init__(self, terms: List[BudgetTerm]):
        self.terms = terms

    @classmethod
    def parse(cls, text: str) -> "Budget":
        terms = []
        for part in text.split(","):
            clean = part.strip().lower()
            at_least, at_most = _AT_LEAST.match(clean), _AT_MOST.match(clean)
            if at_most:
                terms.append(BudgetTerm("maxerr", float(at_most.group(2)), upper=True))
                continue
            if not at_least:
                raise EdgecError("--budget %r: %s" % (text, _SYNTAX))
            if at_least.group(2) is not None and int(at_least.group(2)) not in PSNR_PERCENTILES:
                raise EdgecError("--budget %r: per-sample PSNR percentiles measured are %s "
                                 "(psnr_p5>=38, say), not p%s"
                                 % (text, ", ".join("p%d" % q for q in PSNR_PERCENTILES),
                                    at_least.group(2)))
            terms.append(BudgetTerm(at_least.group(1), float(at_least.group(4)),
                                    bool(at_least.group(3))))
        return cls(terms)

    @property
    def primary(self) -> BudgetTerm:
        """The first term: the sweep ranks layers by their effect on it."""
        return self.terms[0]

    @property
    def primary_metric(self) -> str:
        return self.primary.key

    def needs_region(self) -> bool:
        return any(term.metric == "region_psnr" for term in self.terms)

    def check_model(self, model_name: str, region) -> None:
        """Refuse a region term for a model that declares no region."""
        if self.needs_region() and region is None:
            raise EdgecError("--budget %s: model %s declares no quality region (region_psnr is "
                             "for the Wav2Lip family: the lower half of the face); use psnr, "
                             "psnr_pN, ssim or maxerr" % (self.text(), model_name))

    def holds(self, metrics, fp16=None) -> bool:
        return all(term.holds(metrics, fp16) for term in self.terms)

    def bounds(self, fp16=None) -> Dict[str, float]:
        return {term.text(): term.bound(fp16) for term in self.terms}

    def text(self) -> str:
        return ",".join(term.text() for term in self.terms)
