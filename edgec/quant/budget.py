"""Quality budgets for plan selection: `psnr>=35`, `ssim>=0.98`, `psnr>=fp16-0.5` (within 0.5 dB
of the all-FP16 model); several joined by commas must all hold."""
import re
from typing import Dict, List, Optional

from edgec.errors import EdgecError

_TERM = re.compile(r"^(psnr|ssim)\s*>=\s*(?:(fp16)\s*-\s*)?([0-9]*\.?[0-9]+)$")


class BudgetTerm(object):
    def __init__(self, metric: str, value: float, relative_to_fp16: bool):
        self.metric = metric
        self.value = value
        self.relative = relative_to_fp16

    def bound(self, fp16: Optional[Dict[str, float]]) -> float:
        if not self.relative:
            return self.value
        if fp16 is None or fp16.get(self._key()) is None:
            raise ValueError("a budget relative to FP16 needs the FP16 measurement")
        return float(fp16[self._key()]) - self.value

    def _key(self) -> str:
        return "psnr_db" if self.metric == "psnr" else "ssim"

    def holds(self, metrics: Dict[str, float], fp16: Optional[Dict[str, float]]) -> bool:
        value = metrics.get(self._key())
        return value is not None and value >= self.bound(fp16)

    def text(self) -> str:
        return "%s>=%s%g" % (self.metric, "fp16-" if self.relative else "", self.value)


class Budget(object):
    def __init__(self, terms: List[BudgetTerm]):
        self.terms = terms

    @classmethod
    def parse(cls, text: str) -> "Budget":
        terms = []
        for part in text.split(","):
            match = _TERM.match(part.strip().lower())
            if not match:
                raise EdgecError("--budget %r: expected terms like psnr>=35, ssim>=0.98 or "
                                 "psnr>=fp16-0.5, joined by commas" % text)
            terms.append(BudgetTerm(match.group(1), float(match.group(3)), bool(match.group(2))))
        return cls(terms)

    @property
    def primary_metric(self) -> str:
        return "psnr_db" if self.terms[0].metric == "psnr" else "ssim"

    def holds(self, metrics, fp16=None) -> bool:
        return all(term.holds(metrics, fp16) for term in self.terms)

    def bounds(self, fp16=None) -> Dict[str, float]:
        return {term.text(): term.bound(fp16) for term in self.terms}

    def text(self) -> str:
        return ",".join(term.text() for term in self.terms)
